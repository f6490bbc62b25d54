//! Starting reef and running its CLI.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reef_client::Client;

pub const REEF: &str = env!("CARGO_BIN_EXE_reef");

/// A running `reef server`, stopped (SIGTERM) when dropped.
pub struct Reef {
    child: Option<Child>,
    pub url: String,
    pub data_dir: PathBuf,
    /// The API token printed on first start.
    pub admin_token: String,
    pub stdout: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

/// The simulated (`local`) clusters a server keeps in its data directory.
pub fn kept_clusters(data: &Path) -> usize {
    std::fs::read_dir(data.join("clusters")).map(|d| d.count()).unwrap_or(0)
}

/// How to start reef.
#[derive(Default)]
pub struct Options {
    /// A PostgreSQL URL instead of SQLite.
    pub database_url: Option<String>,
    /// An existing data directory (a restart) instead of a fresh one.
    pub data_dir: Option<PathBuf>,
    /// Extra `reef server` arguments.
    pub args: Vec<String>,
    /// Write the server's standard error (its logs) to this file instead of the test's.
    pub stderr: Option<PathBuf>,
}

pub fn command() -> Command {
    let mut cmd = Command::new(REEF);
    // Nothing from the developer's environment leaks into the server under test.
    for (k, _) in std::env::vars() {
        if k.starts_with("REEF_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

impl Reef {
    pub fn start() -> Reef {
        Reef::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Reef {
        reef_client::ensure_crypto_provider();
        let (dir, data_dir) = match options.data_dir {
            Some(d) => (None, d),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let data = dir.path().join("data");
                (Some(dir), data)
            }
        };
        let mut cmd = command();
        cmd.args(["server", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&data_dir);
        if !options.args.iter().any(|a| a == "--log") {
            cmd.args(["--log", "warn"]);
        }
        if let Some(url) = &options.database_url {
            cmd.args(["--database-url", url]);
        }
        cmd.args(&options.args);
        let stderr = match &options.stderr {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("creating the log file")),
            None => Stdio::inherit(),
        };
        let mut child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().expect("spawning reef server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let url = loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("reef server did not report its address; output so far: {lines:?}")
            });
            if let Some(addr) = line.strip_prefix("reef listening on ") {
                break addr.to_owned();
            }
            lines.push(line);
        };
        let admin_token = lines.iter().find(|l| l.starts_with("reef_pat_")).cloned().unwrap_or_default();
        Reef { child: Some(child), url, data_dir, admin_token, stdout: lines, _dir: dir }
    }

    /// A client with the first start's admin token.
    pub fn admin(&self) -> Client {
        Client::new(&self.url, Some(self.admin_token.clone())).expect("client")
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url, None).expect("client")
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A user created by the admin, with a password, and a client logged in as them.
    pub async fn user(&self, name: &str) -> Client {
        let password = format!("pw-{name}-long-enough");
        self.admin()
            .create_user(&reef_api_types::CreateUserRequest {
                username: name.to_owned(),
                password: Some(password.clone()),
                server_admin: false,
            })
            .await
            .expect("creating a user");
        let session = self.anonymous().login(name, &password).await.expect("logging in");
        self.anonymous().with_token(session.token)
    }
}

impl Drop for Reef {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reef CLI with its own contexts file.
pub struct Cli {
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        let dir = tempfile::tempdir().expect("temp dir");
        Cli { config: dir.path().join("contexts.toml"), _dir: dir }
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// Runs `reef ARGS` with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write as _;
        let mut child = command()
            .env("REEF_CLI_CONFIG", &self.config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning reef");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writing stdin");
        child.wait_with_output().expect("running reef")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    /// Runs `reef ARGS`, asserts success and returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "reef {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs `reef ARGS -o json` and parses the output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// Runs `reef ARGS`, asserts failure and returns standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "reef {args:?} succeeded but should have failed");
        String::from_utf8(out.stderr).expect("utf-8 output")
    }
}
