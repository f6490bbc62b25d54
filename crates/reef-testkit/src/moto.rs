//! A throwaway AWS: moto's server (`moto_server`), which speaks the real AWS APIs (EC2, IAM,
//! STS, EKS, ...) for every service at one address, on 127.0.0.1 at a port chosen at run time,
//! in memory. It loads AWS's managed IAM policies, and stops when dropped.

use std::io;
use std::process::Command;
use std::time::Duration;

use crate::{KilledOnDrop, find_executable, free_port, spawn_until_ready};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    _child: KilledOnDrop,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`: the endpoint of every service.
    pub endpoint: String,
}

impl Moto {
    /// Starts a server that takes any credentials; `Ok(None)` when `moto_server` is not found
    /// (`$REEF_MOTO` or PATH).
    pub fn start() -> io::Result<Option<Moto>> {
        Moto::launch(None)
    }

    /// Starts a server that checks credentials and IAM permissions as AWS does, after its
    /// first `free_actions` calls (which set up users and keys).
    pub fn start_with_auth(free_actions: u32) -> io::Result<Option<Moto>> {
        Moto::launch(Some(free_actions))
    }

    fn launch(free_actions: Option<u32>) -> io::Result<Option<Moto>> {
        let Some(bin) = find_executable("moto_server", "REEF_MOTO", &[]) else { return Ok(None) };
        let dir = tempfile::tempdir()?;
        for _ in 0..5 {
            let port = free_port();
            let mut command = Command::new(&bin);
            if let Some(n) = free_actions {
                command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("HOME", dir.path());
            let up = |_: &str| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if let Some(child) =
                spawn_until_ready(&mut command, &dir.path().join("moto.log"), Duration::from_secs(60), up)?
            {
                return Ok(Some(Moto { _child: child, dir, endpoint: format!("http://127.0.0.1:{port}") }));
            }
        }
        let log = std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default();
        Err(io::Error::other(format!("moto did not start: {log}")))
    }

    /// Where the server's log is.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("moto.log")
    }
}
