//! The `reef` binary: `reef server` runs the control plane; every other subcommand is a
//! client of a running server. This is reef's composition root: the only place that reads
//! the environment and configuration, and builds and wires every dependency.

#![allow(clippy::print_stderr)] // A command-line program reports errors on stderr.

mod cli;
mod config;
mod server;

use std::process::ExitCode;

use clap::Parser;

// glibc's malloc showed up high in profiles of the request path under load (arena lock
// contention and consolidation); mimalloc is built for many small, short-lived allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One TLS crypto provider for every client in the process (database, HTTP).
    reef_client::ensure_crypto_provider();
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
