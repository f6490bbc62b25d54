//! The workflow engine against a real store: every test runs on a fresh SQLite file database
//! (`<test>::on_sqlite`) and a fresh PostgreSQL database (`<test>::on_postgres`; skipped with a
//! note when PostgreSQL is not installed, failed instead when `REEF_REQUIRE_PEERS=1`).
//!
//! The workflow under test makes "resources" in a toy cloud held in memory, so that what a run
//! leaves behind can be checked exactly.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod engine;
mod support;
