//! Throwaway PostgreSQL servers, against the real server and its own client, psql.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reef_testkit::PostgresServer;

use crate::{child_role, rerun_as_child, text};

/// Runs `sql` with psql against the database at `url`; returns its unaligned, tuples-only output.
fn psql(server: &PostgresServer, url: &str, sql: &str) -> String {
    let out = server
        .client_command("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-d", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql -c {sql:?} on {url}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Polls until the server on `port` is gone and `dir` removed; panics after `timeout`.
fn wait_until_gone(port: u16, dir: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while accepts_connections(port) || dir.exists() {
        assert!(
            Instant::now() < deadline,
            "after {timeout:?}: port {port} accepting: {}, {} exists: {}",
            accepts_connections(port),
            dir.display(),
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn databases_are_distinct_and_reachable_by_url() {
    let Some(server) = PostgresServer::start().expect("start postgres") else {
        return;
    };
    let first = server.create_database().expect("first database");
    let second = server.create_database().expect("second database");
    let prefix = format!("postgres://reef@127.0.0.1:{}/", server.port());
    assert!(first.starts_with(&prefix), "{first}");
    assert!(second.starts_with(&prefix), "{second}");
    assert_ne!(first, second);

    assert_eq!(psql(&server, &first, "select 1"), "1");
    assert_eq!(psql(&server, &second, "select 1"), "1");
    assert_eq!(psql(&server, &first, "select current_user"), "reef");

    // State in one database is not seen from the other.
    psql(&server, &first, "create table only_here (id int); insert into only_here values (7)");
    assert_eq!(psql(&server, &first, "select id from only_here"), "7");
    assert_eq!(psql(&server, &second, "select count(*) from pg_tables where tablename = 'only_here'"), "0");
    assert_ne!(psql(&server, &first, "select current_database()"), psql(&server, &second, "select current_database()"));
}

#[test]
fn dropping_a_server_stops_it_and_removes_its_directory() {
    let Some(server) = PostgresServer::start().expect("start postgres") else {
        return;
    };
    let port = server.port();
    let data_dir = server.data_dir().to_path_buf();
    assert!(accepts_connections(port));
    assert!(data_dir.join("PG_VERSION").exists());
    drop(server);
    // Drop waits for the server to stop: no polling needed.
    assert!(!accepts_connections(port), "port {port} still accepts connections");
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
}

const SHARED_CHILD: &str = "postgres::shared_server_stops_when_the_test_process_exits";

#[test]
fn shared_server_stops_when_the_test_process_exits() {
    if child_role().as_deref() == Some("shared-server") {
        let server = reef_testkit::shared_postgres().expect("postgres is there");
        let url = server.create_database().expect("create database");
        assert_eq!(psql(server, &url, "select 1"), "1");
        println!("PORT={}", server.port());
        println!("DATA_DIR={}", server.data_dir().display());
        // The static is never dropped: only the watchdog can stop the server now.
        return;
    }
    if reef_testkit::shared_postgres().is_none() {
        return; // PostgreSQL is missing (and peers not required).
    }
    let out = rerun_as_child(SHARED_CHILD, "shared-server", &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "child: {out:?}");
    let field = |key: &str| {
        stdout
            .lines()
            // libtest may print the test's name on the same line.
            .find_map(|line| line.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_owned()
    };
    let port: u16 = field("PORT=").parse().expect("port");
    let data_dir = PathBuf::from(field("DATA_DIR="));
    let top_dir = data_dir.parent().expect("temp dir").to_path_buf();
    wait_until_gone(port, &top_dir, Duration::from_secs(30));
}

#[test]
fn shared_server_is_started_once_per_process() {
    let Some(first) = reef_testkit::shared_postgres() else {
        return;
    };
    let second = reef_testkit::shared_postgres().expect("still there");
    assert!(std::ptr::eq(first, second));
    let url = first.create_database().expect("create database");
    assert_eq!(psql(first, &url, "select 1"), "1");
}

#[test]
fn server_files_belong_to_an_unprivileged_user_when_run_as_root() {
    use std::os::unix::fs::MetadataExt;
    let Some(server) = reef_testkit::shared_postgres() else {
        return;
    };
    let owner = server.data_dir().metadata().expect("data dir").uid();
    let me = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    if me == 0 {
        assert_ne!(owner, 0, "postgres must not run as root");
    } else {
        assert_eq!(owner, me);
    }
}
