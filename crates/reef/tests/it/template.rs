//! `reef template`: the binary prints what `helm template` prints, and fails as helm does
//! (`Error: ...` on stderr, exit code 1). The rendering itself is tested against helm in
//! reef-helm; this checks the command's wiring and flags.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::REEF;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reef-helm/tests/fixtures")
}

/// The expected stdout of a fixture case (what helm 4.2.3 printed), without its header.
fn expected(case: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(format!("expected/{case}.out"))).unwrap();
    text.split_once('\n').unwrap().1.to_owned()
}

#[test]
fn template_prints_what_helm_template_prints() {
    let out = Command::new(REEF)
        .current_dir(fixtures().join("charts"))
        .args(["template", "web", "basic", "-f", "../values/override.yaml", "--values", "../values/second.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("basic_values_files"));
}

#[test]
fn template_show_only_and_namespace_flags_reach_the_renderer() {
    let out = Command::new(REEF)
        .current_dir(fixtures().join("charts"))
        .args(["template", "web", "basic", "-s", "templates/many.yaml", "--show-only", "templates/deployment.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("basic_show_only"));
}

#[test]
fn template_errors_go_to_stderr_as_helm_prints_them_with_exit_code_1() {
    let out = Command::new(REEF)
        .current_dir(fixtures().join("charts"))
        .args(["template", "f", "failing", "--set", "need=ok", "--set", "boom=true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: execution error at (failing/templates/a.yaml:6:8): boom was set\n\nUse --debug flag to render out invalid YAML\n"
    );
}
