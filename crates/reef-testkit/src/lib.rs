//! Test support for reef's integration and end-to-end tests; a dev-dependency only, never shipped.
//!
//! reef is tested against real local stand-ins for the systems it talks to ("test peers": the
//! PostgreSQL server, helm, moto, the chart corpus, ...; see `shared/TESTING.md`). This crate finds
//! those peers, decides what a test does when one is missing ([`missing_peer`]: skip when run by
//! hand, fail when `REEF_REQUIRE_PEERS=1`, which `.ci/run` sets), hands out free ports, and runs
//! throwaway PostgreSQL servers ([`PostgresServer`], [`shared_postgres`]).
//!
//! `scripts/test` installs every peer and exports where they are (`REEF_PG_BIN`, ...).
//!
//! ```no_run
//! # fn test() {
//! let Some(pg) = reef_testkit::shared_postgres() else { return }; // skipped (or failed in CI)
//! let url = pg.create_database().expect("create database");
//! // connect to `url` (postgres://reef@127.0.0.1:PORT/NAME) ...
//! # }
//! ```

mod moto;
mod oidc;
mod openbao;
mod postgres;
mod registry;

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// A child process that is killed (SIGKILL) and reaped when dropped, or earlier by
/// [`KilledOnDrop::kill`], as an outage would stop it.
#[derive(Debug, Default)]
pub(crate) struct KilledOnDrop(Option<std::process::Child>);

impl KilledOnDrop {
    pub(crate) fn new(child: std::process::Child) -> Self {
        KilledOnDrop(Some(child))
    }

    /// Whether the process has exited (it is then reaped).
    pub(crate) fn exited(&mut self) -> std::io::Result<bool> {
        match &mut self.0 {
            Some(child) => Ok(child.try_wait()?.is_some()),
            None => Ok(true),
        }
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Spawns `command`, its output going to the file `log`, and waits until `ready` (given the
/// log's text so far) says it is up. `Ok(None)` when it exits first: most likely its port was
/// taken in between, and the caller tries another. An error when it is not up within `timeout`.
pub(crate) fn spawn_until_ready(
    command: &mut std::process::Command,
    log: &Path,
    timeout: Duration,
    ready: impl Fn(&str) -> bool,
) -> io::Result<Option<KilledOnDrop>> {
    let file = std::fs::File::create(log)?;
    let child = command.stdin(std::process::Stdio::null()).stdout(file.try_clone()?).stderr(file).spawn()?;
    let mut child = KilledOnDrop::new(child);
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if child.exited()? {
            return Ok(None);
        }
        if ready(&std::fs::read_to_string(log).unwrap_or_default()) {
            return Ok(Some(child));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    Err(io::Error::other(format!("{} did not start within {} s: {text}", log.display(), timeout.as_secs())))
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

pub use moto::Moto;
pub use oidc::{OIDC_AUDIENCE, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OidcProvider};
pub use openbao::{BAO_ROOT_TOKEN, OpenBao};
pub use postgres::{PostgresServer, shared_postgres};
pub use registry::{OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER, RegistryAuth};

/// True when REEF_REQUIRE_PEERS=1: a missing peer must fail the test instead of skipping it.
///
/// `true` and `yes` (any case) are accepted as well as `1`.
pub fn peers_required() -> bool {
    std::env::var("REEF_REQUIRE_PEERS")
        .is_ok_and(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Call when a peer (binary, chart corpus, ...) is missing: panics with a clear message naming the
/// peer and how to get it (`scripts/test` installs it) when peers are required; otherwise prints
/// "skipping: <peer> not found (<hint>)" to stderr and returns, so the caller can `return`.
#[track_caller]
#[expect(clippy::print_stderr, reason = "the skip notice is for the person running the tests")]
pub fn missing_peer(peer: &str, hint: &str) {
    if peers_required() {
        panic!(
            "test peer {peer} not found ({hint}), and REEF_REQUIRE_PEERS=1 requires every peer: \
             run scripts/test, which installs the test peers and exports where they are"
        );
    }
    eprintln!("skipping: {peer} not found ({hint})");
}

/// Finds an executable: first the env var `env_var` (a path), then PATH, then the extra dirs given
/// (e.g. "/usr/lib/postgresql/*/bin" — support a single `*` glob component). None if absent.
///
/// The env var may name the executable itself or a directory holding `name`; an env var that is
/// unset, empty or names no executable is passed over. Among the directories a `*` matches, the
/// highest version comes first ("16" before "15" before "9.6").
pub fn find_executable(name: &str, env_var: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    if !env_var.is_empty()
        && let Some(value) = std::env::var_os(env_var).filter(|value| !value.is_empty())
    {
        let path = PathBuf::from(value);
        let candidate = if path.is_dir() { path.join(name) } else { path };
        if is_executable(&candidate) {
            return Some(candidate);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
    extra_dirs
        .iter()
        .flat_map(|pattern| expand_glob(pattern))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The official cloud API specifications (EKS's service model, GKE's discovery document, ...):
/// `$REEF_CLOUD_SPECS`, else `shared/specs` beside the repository. None if it is not a
/// directory.
pub fn cloud_specs() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REEF_CLOUD_SPECS").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs");
    dir.is_dir().then_some(dir)
}

/// The public chart corpus: `$REEF_CHART_CORPUS`, else `shared/charts` beside the repository.
/// None if it is not a directory.
pub fn chart_corpus() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REEF_CHART_CORPUS").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/charts");
    dir.is_dir().then_some(dir)
}

/// The `helm` binary: `$REEF_HELM`, PATH, or the peer cache `scripts/test` installs it in
/// (`$XDG_CACHE_HOME` or `~/.cache`, under `reef-test-peers/kubectl-layer`).
pub fn helm() -> Option<PathBuf> {
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default()
        .join("reef-test-peers/kubectl-layer");
    let cache = cache.to_string_lossy().into_owned();
    find_executable("helm", "REEF_HELM", &[cache.as_str()])
}

/// A free TCP port on 127.0.0.1 chosen by the OS at run time (bind :0, read, drop).
///
/// Another process may take the port before the caller binds it; a server that fails to bind
/// should be retried on a new port.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("binding 127.0.0.1:0 for a free port: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("reading the bound address: {e}")).port()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, polling every 20 ms;
/// `ErrorKind::TimedOut` after `timeout`. For servers a test starts itself (reef on a free port).
pub async fn wait_for_port(port: u16, timeout: Duration) -> io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        let last = match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("nothing accepted connections on {addr} within {timeout:?}: {last}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Expands a path with at most one component holding a single `*` into the existing paths it
/// matches (a path without `*` is returned as is), highest version first.
fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let components: Vec<Component<'_>> = path.components().collect();
    let Some(star) = components.iter().position(|c| c.as_os_str().as_encoded_bytes().contains(&b'*')) else {
        return vec![path.to_path_buf()];
    };
    let mut base: PathBuf = components[..star].iter().collect();
    if base.as_os_str().is_empty() {
        base = PathBuf::from(".");
    }
    let rest: PathBuf = components[star + 1..].iter().collect();
    let glob = components[star].as_os_str().to_string_lossy();
    let Some((prefix, suffix)) = glob.split_once('*') else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix))
        .collect();
    names.sort_by(|a, b| natural_cmp(b, a));
    names.into_iter().map(|name| base.join(name).join(&rest)).filter(|p| p.exists()).collect()
}

/// Orders strings with their runs of digits compared as numbers: "9.6" < "15" < "16".
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (da, ra) = split_digits(a);
                let (db, rb) = split_digits(b);
                let (ta, tb) = (trim_zeros(da), trim_zeros(db));
                let order = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (ra, rb);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s.iter().position(|c| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    &s[start..]
}

/// The name of a path's last component, for messages.
fn display_name(path: &Path) -> String {
    path.file_name().unwrap_or(OsStr::new("?")).to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_versions_as_numbers() {
        let mut versions = vec!["9.6", "15", "16", "10", "15.2", "beta"];
        versions.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(versions, ["9.6", "10", "15", "15.2", "16", "beta"]);
        assert_eq!(natural_cmp("007", "7"), Ordering::Equal);
    }

    #[test]
    fn glob_without_star_is_the_path_itself() {
        assert_eq!(expand_glob("/no/such/dir"), [PathBuf::from("/no/such/dir")]);
    }
}
