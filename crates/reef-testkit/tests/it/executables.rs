//! Finding peer executables: env var, PATH, then globbed directories.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use reef_testkit::find_executable;

use crate::{child_role, rerun_as_child};

fn write_file(path: &Path, mode: u32) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, "#!/bin/sh\n").expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

const NAME: &str = "reef-testkit-fake-peer";

#[test]
fn glob_dirs_are_searched_highest_version_first_and_need_the_exec_bit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("pg");
    write_file(&root.join("9.6/bin").join(NAME), 0o755);
    write_file(&root.join("15/bin").join(NAME), 0o755);
    write_file(&root.join("16/bin").join(NAME), 0o644); // not executable
    fs::create_dir_all(root.join("17/bin")).expect("mkdir"); // no such program
    let pattern = format!("{}/*/bin", root.display());

    let found = find_executable(NAME, "REEF_TESTKIT_UNSET_VAR", &["/nonexistent/*/bin", &pattern]);
    assert_eq!(found, Some(root.join("15/bin").join(NAME)));

    let prefixed = format!("{}/1*/bin", root.display());
    assert_eq!(find_executable(NAME, "", &[&prefixed]), Some(root.join("15/bin").join(NAME)));
    let no_match = format!("{}/2*/bin", root.display());
    assert_eq!(find_executable(NAME, "", &[&no_match]), None);
}

#[test]
fn path_is_searched() {
    let sh = find_executable("sh", "REEF_TESTKIT_UNSET_VAR", &[]).expect("sh is on PATH");
    assert!(sh.ends_with("sh"), "{}", sh.display());
    assert_eq!(find_executable("reef-testkit-no-such-program", "", &["/usr/bin"]), None);
}

#[test]
fn env_var_comes_first_as_a_file_or_a_directory() {
    const VAR: &str = "REEF_TESTKIT_FAKE_PEER";
    if let Some(expected) = child_role().and_then(|role| role.strip_prefix("env=").map(PathBuf::from)) {
        // On PATH there is another `sh`; the env var wins.
        let found = find_executable("sh", VAR, &[]);
        assert_eq!(found, Some(expected));
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("bin/sh");
    write_file(&file, 0o755);

    for value in [file.clone(), tmp.path().join("bin")] {
        let role = format!("env={}", file.display());
        let out = rerun_as_child(
            "executables::env_var_comes_first_as_a_file_or_a_directory",
            &role,
            &[(VAR, value.to_str().expect("utf-8 path"))],
        );
        assert!(out.status.success(), "{VAR}={}: {out:?}", value.display());
    }

    // An env var naming no executable is passed over: PATH's sh is found.
    let path_sh = find_executable("sh", "", &[]).expect("sh on PATH");
    let out = rerun_as_child(
        "executables::env_var_comes_first_as_a_file_or_a_directory",
        &format!("env={}", path_sh.display()),
        &[(VAR, "/nonexistent/sh")],
    );
    assert!(out.status.success(), "{VAR}=/nonexistent/sh: {out:?}");
}
