//! A throwaway OpenBao server (Vault's API): `bao server -dev`, in memory, on 127.0.0.1 at a
//! port chosen at run time, with a known root token and a KV version 2 engine at `secret/`.
//! It stops when dropped, or when [`OpenBao::kill`] takes it down as an outage would.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{KilledOnDrop, find_executable, free_port, spawn_until_ready};

/// The dev server's root token.
pub const BAO_ROOT_TOKEN: &str = "reef-test-root-token";

/// A running OpenBao dev server.
#[derive(Debug)]
pub struct OpenBao {
    child: KilledOnDrop,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
}

impl OpenBao {
    /// Starts a dev server; `Ok(None)` when `bao` is not found (`$REEF_BAO` or PATH).
    pub fn start() -> io::Result<Option<OpenBao>> {
        let Some(bin) = find_executable("bao", "REEF_BAO", &[]) else { return Ok(None) };
        let dir = tempfile::tempdir()?;
        for _ in 0..5 {
            let host = format!("127.0.0.1:{}", free_port());
            let mut command = Command::new(&bin);
            command
                .args(["server", "-dev", "-dev-no-store-token"])
                .arg(format!("-dev-listen-address={host}"))
                .arg(format!("-dev-root-token-id={BAO_ROOT_TOKEN}"))
                .env("HOME", dir.path())
                .env_remove("BAO_ADDR")
                .env_remove("VAULT_ADDR");
            // Up once the log says the dev server is unsealed and ready, and it takes connections.
            let up = |log: &str| {
                log.contains("Development mode should NOT be used in production")
                    && std::net::TcpStream::connect(&host).is_ok()
            };
            if let Some(child) =
                spawn_until_ready(&mut command, &dir.path().join("bao.log"), Duration::from_secs(30), up)?
            {
                return Ok(Some(OpenBao { child, dir, address: format!("http://{host}") }));
            }
        }
        let log = std::fs::read_to_string(dir.path().join("bao.log")).unwrap_or_default();
        Err(io::Error::other(format!("OpenBao did not start: {log}")))
    }

    /// Stops the server at once, as an outage would. Everything it held is gone (the dev
    /// server keeps nothing on disk).
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Where the server's log is.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("bao.log")
    }
}
