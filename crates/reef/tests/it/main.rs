//! End-to-end tests: the real `reef` binary on a free port with a fresh data directory,
//! driven through the CLI and the typed HTTP client exactly as a user would.

mod flows;
mod harness;
mod isolation;
mod openapi;
mod raw_storage;
mod robustness;
mod roles;
mod schemathesis;
