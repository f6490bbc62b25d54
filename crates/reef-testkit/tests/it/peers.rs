//! What a test does when its peer is missing: skip by hand, fail when peers are required.

use crate::{child_role, rerun_as_child, text};

const THIS: &str = "peers::missing_peer_skips_by_hand_and_fails_when_peers_are_required";

#[test]
fn missing_peer_skips_by_hand_and_fails_when_peers_are_required() {
    if child_role().as_deref() == Some("missing-peer") {
        reef_testkit::missing_peer("frobnicator", "apt-get install frobnicator");
        println!("returned from missing_peer");
        return;
    }

    for value in ["", "0"] {
        let out = rerun_as_child(THIS, "missing-peer", &[("REEF_REQUIRE_PEERS", value)]);
        assert!(out.status.success(), "REEF_REQUIRE_PEERS={value:?}: {out:?}");
        assert!(
            text(&out.stderr).contains("skipping: frobnicator not found (apt-get install frobnicator)"),
            "{}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("returned from missing_peer"));
    }

    for value in ["1", "true"] {
        let out = rerun_as_child(THIS, "missing-peer", &[("REEF_REQUIRE_PEERS", value)]);
        assert!(!out.status.success(), "REEF_REQUIRE_PEERS={value}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("frobnicator not found (apt-get install frobnicator)") && stderr.contains("scripts/test"),
            "{stderr}"
        );
        assert!(!text(&out.stdout).contains("returned from missing_peer"));
    }
}

#[test]
fn peers_required_follows_the_environment() {
    if let Some(role) = child_role().filter(|role| role.starts_with("required=")) {
        assert_eq!(reef_testkit::peers_required().to_string(), role["required=".len()..]);
        return;
    }
    for (value, expected) in [("1", true), ("yes", true), ("0", false), ("", false)] {
        let out = rerun_as_child(
            "peers::peers_required_follows_the_environment",
            &format!("required={expected}"),
            &[("REEF_REQUIRE_PEERS", value)],
        );
        assert!(out.status.success(), "REEF_REQUIRE_PEERS={value:?}: {out:?}");
    }
}
