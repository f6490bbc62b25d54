//! The Amazon provider against moto's AWS server.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod catalog;
mod eks_stub;
mod network;
mod preflight;
mod steps;
mod sts;
mod upgrade;
