//! End-to-end tests: the real `reef` binary on a free port with a fresh data directory,
//! driven through the CLI and the typed HTTP client exactly as a user would.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod access;
mod amazon;
mod clusters;
mod crash;
mod deployments;
mod flows;
mod harness;
mod isolation;
mod logs;
mod openapi;
mod raw_storage;
mod registries;
mod replicas;
mod robustness;
mod roles;
mod schemathesis;
mod secret_backends;
mod sim;
mod sso;
mod template;
mod unavailable;
