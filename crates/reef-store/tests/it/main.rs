//! The store suite: every test runs on a fresh SQLite file database (`<test>::on_sqlite`) and on
//! a fresh database of a throwaway PostgreSQL server (`<test>::on_postgres`; skipped with a note
//! when PostgreSQL is not installed, and failed instead when `REEF_REQUIRE_PEERS=1`).

mod support;

mod audit;
mod members;
mod migrations;
mod orgs;
mod plaintext;
mod secrets;
mod tokens;
mod users;
