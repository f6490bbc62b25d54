//! Throwaway PostgreSQL servers: the real server in a temporary directory, one per test binary.

use std::io;
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;

use crate::{display_name, find_executable, free_port, is_executable, missing_peer};

const PEER: &str = "PostgreSQL (initdb, pg_ctl)";
const HINT: &str = "scripts/test installs it with apt-get install postgresql; \
                    or set REEF_PG_BIN to the directory holding initdb";
/// The role `initdb -U` creates; trust authentication, so URLs carry no password.
const USER: &str = "reef";
/// Attempts at starting on a free port, in case another process takes the port first.
const START_ATTEMPTS: usize = 5;
/// Seconds `pg_ctl -w` waits for the server to accept connections (or to stop).
const WAIT_SECONDS: &str = "60";

/// A throwaway PostgreSQL cluster for one test process: `initdb` into a temp dir (trust auth,
/// user `reef`), `pg_ctl start` with `-k <tempdir> -p <free port> -c listen_addresses=127.0.0.1`
/// (listen on loopback TCP so sqlx can connect by URL), waits until it accepts connections (poll
/// with a deadline, no fixed sleeps), stops it (`pg_ctl stop -m immediate`) and removes the dir on Drop.
/// Finds initdb/pg_ctl via env REEF_PG_BIN (a directory), PATH, or /usr/lib/postgresql/*/bin.
///
/// PostgreSQL refuses to run as root: when the tests run as root, the server programs run as the
/// `postgres` system user (Debian's package creates it), else as `nobody`, and the temporary
/// directory belongs to that user. Client programs run as the current user.
///
/// A watchdog process (`sh`, in its own process group) holds the read end of a pipe whose write
/// end only this process has: when this process ends in any way — a normal exit that never drops
/// a static server, a panic, SIGKILL, a test runner's timeout — the pipe closes, and the watchdog
/// stops the server and removes the directory. So a server never outlives its test process.
///
/// The server runs with `fsync=off`: it is for tests, and its data is thrown away.
#[derive(Debug)]
pub struct PostgresServer {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    port: u16,
    /// uid and gid the server programs run as, when this process is root.
    run_as: Option<(u32, u32)>,
    watchdog: Option<Child>,
    /// Last, so the directory is removed after `Drop::drop` stopped the server.
    dir: TempDir,
}

impl PostgresServer {
    /// Ok(None) when the binaries are missing (after calling missing_peer, which panics if required).
    ///
    /// Blocks for the second or two that `initdb` and the start take; from async code, call it
    /// in `spawn_blocking` or use [`shared_postgres`] once.
    #[track_caller]
    pub fn start() -> io::Result<Option<PostgresServer>> {
        let Some(bin_dir) = pg_bin_dir() else {
            missing_peer(PEER, HINT);
            return Ok(None);
        };
        Self::start_in(bin_dir).map(Some)
    }

    fn start_in(bin_dir: PathBuf) -> io::Result<Self> {
        let run_as = if current_euid()? == 0 { Some(unprivileged_user()) } else { None };
        let dir = tempfile::Builder::new().prefix("reef-pg-").tempdir_in(temp_base(run_as.is_some()))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let socket_dir = dir.path().to_str().filter(|p| !p.contains(['\'', '"', '\\']));
        let Some(socket_dir) = socket_dir.map(str::to_owned) else {
            return Err(io::Error::other(format!(
                "temporary directory {} has a name pg_ctl -o cannot quote",
                dir.path().display()
            )));
        };
        let mut server = PostgresServer {
            data_dir: dir.path().join("data"),
            log_path: dir.path().join("postgres.log"),
            bin_dir,
            port: 0,
            run_as,
            watchdog: None,
            dir,
        };
        // The watchdog first: from here on nothing outlives this process.
        server.watchdog = Some(server.spawn_watchdog()?);

        let initdb = server
            .server_command("initdb")
            .arg("-D")
            .arg(&server.data_dir)
            .args(["-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()?;
        check("initdb", &initdb)?;

        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let options = format!(
                "-k '{socket_dir}' -p {port} -c listen_addresses=127.0.0.1 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            );
            // -w polls until the server accepts connections, for at most -t seconds.
            let start = server
                .server_command("pg_ctl")
                .arg("start")
                .arg("-D")
                .arg(&server.data_dir)
                .arg("-l")
                .arg(&server.log_path)
                .args(["-w", "-t", WAIT_SECONDS, "-s", "-o", &options])
                .output()?;
            if start.status.success() {
                // pg_ctl reads readiness from postmaster.pid; confirm the TCP listener itself.
                TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                    .map_err(|e| io::Error::other(format!("postgres started but 127.0.0.1:{port}: {e}")))?;
                server.port = port;
                return Ok(server);
            }
            failures.push(format!("port {port}: {}\n{}", describe("pg_ctl start", &start), log_tail(&server.log_path)));
        }
        Err(io::Error::other(format!("postgres did not start in {START_ATTEMPTS} attempts:\n{}", failures.join("\n"))))
    }

    /// Creates a fresh database with a unique name and returns its URL
    /// `postgres://reef@127.0.0.1:PORT/NAME`, so tests in one process don't share state.
    pub fn create_database(&self) -> io::Result<String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("reef_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let output = self.client_command("createdb").arg(&name).stdin(Stdio::null()).output()?;
        check("createdb", &output)?;
        Ok(self.url(&name))
    }

    /// The URL of `database` on this server: `postgres://reef@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding this server's programs (`psql`, `pg_dump`, ...).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's data directory (inside a temporary directory removed with the server).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's log, for a failing test to show.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A PostgreSQL client program (`psql`, `createdb`, ...) from this server's directory, with
    /// host, port and user set to this server's (through PGHOST, PGPORT, PGUSER).
    pub fn client_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        clean_env(&mut command);
        command.env("PGHOST", "127.0.0.1").env("PGPORT", self.port.to_string()).env("PGUSER", USER);
        command
    }

    /// A server program (initdb, pg_ctl), run unprivileged when this process is root.
    fn server_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        clean_env(&mut command);
        // Any directory it can read: initdb and pg_ctl look up the current directory.
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        self.drop_privileges(&mut command);
        command
    }

    fn drop_privileges(&self, command: &mut Command) {
        if let Some((uid, gid)) = self.run_as {
            // std sets the gid, clears the supplementary groups (as root), then sets the uid.
            command.gid(gid).uid(uid);
        }
    }

    fn spawn_watchdog(&self) -> io::Result<Child> {
        // Waits for EOF on stdin (this process has the only write end, close-on-exec, so no other
        // child inherits it), then stops the server and removes the directory.
        const SCRIPT: &str = r#"while read -r _; do :; done
"$@" >/dev/null 2>&1
rm -rf -- "$REEF_PG_DIR""#;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(SCRIPT)
            .arg("reef-pg-watchdog")
            .arg(self.bin_dir.join("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "immediate", "-w", "-t", WAIT_SECONDS])
            .env("REEF_PG_DIR", self.dir.path())
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            // Holding the test's stdout/stderr open would make a test runner wait for it.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a test runner that kills the test's group spares it.
            .process_group(0);
        clean_env(&mut command);
        self.drop_privileges(&mut command);
        command.spawn()
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.data_dir.join("postmaster.pid").exists() {
            let _ = self
                .server_command("pg_ctl")
                .arg("stop")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "immediate", "-w", "-t", WAIT_SECONDS, "-s"])
                .output();
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // `dir` (a TempDir) is dropped after this and removes the directory.
    }
}

/// The PostgreSQL server shared by the tests of this test binary, started on first use; None
/// when PostgreSQL is missing (after [`missing_peer`], which panics when peers are required).
/// Each test takes its own database from it with [`PostgresServer::create_database`].
///
/// Statics are never dropped: the server's watchdog stops it and removes its directory when the
/// test process exits. Panics when PostgreSQL is there but does not start.
#[track_caller]
pub fn shared_postgres() -> Option<&'static PostgresServer> {
    static SHARED: OnceLock<PostgresServer> = OnceLock::new();
    if let Some(server) = SHARED.get() {
        return Some(server);
    }
    let Some(bin_dir) = pg_bin_dir() else {
        missing_peer(PEER, HINT);
        return None;
    };
    Some(SHARED.get_or_init(|| {
        PostgresServer::start_in(bin_dir).unwrap_or_else(|e| panic!("starting the shared PostgreSQL test server: {e}"))
    }))
}

/// The directory holding initdb, pg_ctl, postgres, createdb and psql, if there is one.
fn pg_bin_dir() -> Option<PathBuf> {
    let initdb = find_executable("initdb", "REEF_PG_BIN", &["/usr/lib/postgresql/*/bin"])?;
    // /usr/local/bin/initdb may be a link into /usr/lib/postgresql/N/bin, where the rest is.
    let initdb = initdb.canonicalize().unwrap_or(initdb);
    let dir = initdb.parent()?.to_path_buf();
    ["pg_ctl", "postgres", "createdb", "psql"].iter().all(|program| is_executable(&dir.join(program))).then_some(dir)
}

fn current_euid() -> io::Result<u32> {
    // /proc/self belongs to the process's effective uid.
    Ok(std::fs::metadata("/proc/self")?.uid())
}

/// The `postgres` system user if there is one, else `nobody`.
fn unprivileged_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    ["postgres", "nobody"]
        .iter()
        .find_map(|name| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                match fields.as_slice() {
                    [user, _, uid, gid, ..] if user == name => Some((uid.parse().ok()?, gid.parse().ok()?)),
                    _ => None,
                }
            })
        })
        .unwrap_or((65534, 65534))
}

/// Where to make the temporary directory: the usual temp dir, unless the server will run as
/// another user who cannot reach it (TMPDIR under /root, say); then /tmp.
fn temp_base(other_user: bool) -> PathBuf {
    let base = std::env::temp_dir();
    let reachable = base.ancestors().all(|dir| {
        dir.as_os_str().is_empty() || dir.metadata().is_ok_and(|meta| meta.permissions().mode() & 0o001 != 0)
    });
    if other_user && !reachable { PathBuf::from("/tmp") } else { base }
}

/// Removes the libpq variables of whoever runs the tests, so they cannot redirect our programs.
fn clean_env(command: &mut Command) {
    for var in [
        "PGDATA",
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGSSLMODE",
    ] {
        command.env_remove(var);
    }
    command.env("LC_ALL", "C");
}

fn check(what: &str, output: &Output) -> io::Result<()> {
    if output.status.success() { Ok(()) } else { Err(io::Error::other(describe(what, output))) }
}

fn describe(what: &str, output: &Output) -> String {
    format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    )
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(10)..].join("\n");
    format!("last lines of {}:\n{tail}", display_name(log))
}
