//! reef-testkit's integration tests: the helpers against the real PostgreSQL server and real
//! processes.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

mod executables;
mod peers;
mod ports;
mod postgres;

use std::process::{Command, Output};

/// Set in the environment of a test that this test binary runs again as a child process.
const CHILD_ROLE: &str = "REEF_TESTKIT_CHILD_ROLE";

/// The role this process plays in a test that re-runs itself, if any.
fn child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// Runs the test `name` (its full path, `module::test`) of this test binary again as a child
/// process, with `role` in its environment (see [`child_role`]) and `envs` set, and returns its
/// output once it has exited.
fn rerun_as_child(name: &str, role: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut command = Command::new(exe);
    command.args([name, "--exact", "--nocapture", "--test-threads=1"]).env(CHILD_ROLE, role);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("running this test binary again");
    // A misspelt name would run no test and succeed.
    assert!(text(&output.stdout).contains("running 1 test"), "{name} did not run in the child: {output:?}");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
