//! schemathesis fuzzes every operation in the OpenAPI document against the live server with
//! a valid token: no response may be a 5xx or break the documented schema.

use std::process::Command;

use reef_testkit::{find_executable, missing_peer};

use crate::harness::Reef;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(st) = find_executable("schemathesis", "REEF_SCHEMATHESIS", &[]) else {
        missing_peer("schemathesis", "scripts/test installs it in a venv");
        return;
    };
    let reef = Reef::start();
    let workdir = tempfile::tempdir().unwrap();
    let out = Command::new(st)
        .current_dir(workdir.path())
        .args(["run", &format!("{}/api/v1/openapi.json", reef.url)])
        .args(["--header", &format!("Authorization: Bearer {}", reef.admin_token)])
        .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance"])
        .args(["--max-examples", "25", "--seed", "1", "--workers", "2"])
        // Logging out would revoke the token the rest of the run uses.
        .args(["--exclude-path", "/api/v1/logout"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("passed") || stdout.contains("Passed") || stdout.contains("PASSED"), "{stdout}");
}
