//! `reef server` as the benchmarks run it: the release build, a separate process on a fresh
//! data directory, listening on a port chosen at run time; stopped when dropped.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The first start's admin API token.
    pub token: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server with `args` after its own (`--database-url ...`). The server reads
    /// `REEF_*` variables as settings: none of the benchmark's reach it.
    pub fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reef"));
        for (k, _) in std::env::vars() {
            if k.starts_with("REEF_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["server", "--listen", "127.0.0.1:0", "--log", "warn", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(args);
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("starting reef");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut url, mut token) = (String::new(), String::new());
        for line in lines.by_ref() {
            let line = line.expect("reading reef's output");
            if line.starts_with("reef_pat_") {
                token = line;
            } else if let Some(addr) = line.strip_prefix("reef listening on ") {
                url = addr.to_owned();
                break;
            }
        }
        assert!(!url.is_empty() && !token.is_empty(), "reef did not start");
        std::thread::spawn(move || for _ in lines {});
        Server { child, url, token, _dir: dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
