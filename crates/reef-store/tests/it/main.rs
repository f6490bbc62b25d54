//! The store suite: every test runs on a fresh SQLite file database (`<test>::on_sqlite`) and on
//! a fresh database of a throwaway PostgreSQL server (`<test>::on_postgres`; skipped with a note
//! when PostgreSQL is not installed, and failed instead when `REEF_REQUIRE_PEERS=1`).

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod support;

mod audit;
mod chart_repos;
mod clusters;
mod members;
mod migrations;
mod orgs;
mod plaintext;
mod sealed;
mod secrets;
mod sso;
mod tokens;
mod users;
