//! Release records as the real helm 4.2.3 wrote them (`tests/fixtures/releases`, made by
//! `regenerate.sh` there: `helm install` then `helm upgrade` of the corpus's podinfo against a
//! simulated cluster) read by reef, written back without losing a field, and the chart reef
//! stores in a release equal to the one helm stores.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use reef_helm::release::{Release, Status, chart_json, storage_name};

fn fixture(revision: u32) -> Release {
    let path = super::crate_dir().join(format!("tests/fixtures/releases/podinfo-helm-4.2.3-v{revision}.txt"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Release::decode(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn releases_helm_wrote_are_read_with_their_status_values_manifest_and_hooks() {
    let (v1, v2) = (fixture(1), fixture(2));
    assert_eq!((v1.name.as_str(), v1.version, v1.info.status), ("demo", 1, Status::Superseded));
    assert_eq!((v2.version, v2.info.status, v2.info.description.as_str()), (2, Status::Deployed, "Upgrade complete"));
    assert_eq!(v2.namespace, "default");
    assert_eq!(serde_json::Value::Object(v2.config.clone()), serde_json::json!({"replicaCount": 3}));
    assert_eq!((v2.chart_label(), v2.app_version()), ("podinfo-6.14.1".to_owned(), "6.14.1"));
    assert!(v2.manifest.starts_with("---\n# Source: podinfo/templates/service.yaml\n"), "{}", v2.manifest);
    assert!(v2.info.notes.contains("port-forward"), "{}", v2.info.notes);
    assert!(v2.info.first_deployed.as_deref().is_some_and(|t| t.starts_with("20")), "{:?}", v2.info);
    assert_eq!(v2.hooks.len(), 3);
    assert!(v2.hooks.iter().all(|h| h.events == ["test"] && h.path.starts_with("podinfo/templates/tests/")));
    // What reef does not model is kept: Helm 4's apply method.
    assert_eq!(v2.other["apply_method"], "ssa");
    assert_eq!(v2.storage_name(), "sh.helm.release.v1.demo.v2");
}

#[test]
fn a_release_written_back_keeps_every_field_helm_wrote() {
    for revision in [1, 2] {
        let release = fixture(revision);
        let again = Release::decode(release.encode().as_bytes()).unwrap();
        assert_eq!(again, release);
        // Field by field, as JSON: nothing dropped or added.
        let path = super::crate_dir().join(format!("tests/fixtures/releases/podinfo-helm-4.2.3-v{revision}.txt"));
        let original = decode_json(&std::fs::read(path).unwrap());
        assert_eq!(decode_json(release.encode().as_bytes()), original);
    }
}

fn decode_json(data: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    use std::io::Read as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(data.trim_ascii()).unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut json).unwrap();
    serde_json::from_slice(&json).unwrap()
}

#[test]
fn the_chart_reef_stores_is_the_chart_helm_stores() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let chart = reef_helm::chart::load(&corpus.join("podinfo")).unwrap();
    let ours = chart_json(&chart).unwrap();
    let helms = fixture(1).chart;
    assert_eq!(ours["metadata"], helms["metadata"]);
    assert_eq!(ours["values"], helms["values"]);
    for part in ["templates", "files"] {
        let files = |v: &serde_json::Value| -> BTreeMap<String, String> {
            v[part]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_owned(), f["data"].as_str().unwrap().to_owned()))
                .collect()
        };
        assert_eq!(files(&ours), files(&helms), "{part}");
    }
}

#[test]
fn storage_names_and_labels_are_helms() {
    let release = fixture(2);
    assert_eq!(storage_name("web", 12), "sh.helm.release.v1.web.v12");
    let labels = release.storage_labels(("createdAt", 1_795_517_294));
    let want: BTreeMap<String, String> =
        [("name", "demo"), ("owner", "helm"), ("status", "deployed"), ("version", "2"), ("createdAt", "1795517294")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(labels, want);
    assert!(Status::PendingUpgrade.is_pending() && !Status::Deployed.is_pending());
    assert!(Release::decode(b"not base64!").is_err());
}

#[test]
fn a_release_rendered_by_reef_is_the_release_helm_made() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    // Revision 2 of the fixture: `helm upgrade demo podinfo --set replicaCount=3`.
    let opts = reef_helm::template::TemplateOptions {
        release_name: "demo".to_owned(),
        chart: corpus.join("podinfo"),
        namespace: "default".to_owned(),
        set: vec!["replicaCount=3".to_owned()],
        is_upgrade: true,
        ..Default::default()
    };
    let ours = reef_helm::template::render_release(&opts, 2).unwrap();
    let helms = fixture(2);
    assert_eq!(ours.manifest, helms.manifest);
    assert_eq!(ours.notes, helms.info.notes);
    assert_eq!(ours.config, helms.config);
    // The test pods' names end in 5 random characters (`randAlphaNum 5`).
    let hooks = |hs: &[reef_helm::release::Hook]| -> Vec<(String, String, String, Vec<String>, i64, String)> {
        hs.iter()
            .map(|h| {
                let random = &h.name[h.name.len() - 5..];
                let name = h.name.replace(random, "?????");
                let manifest = h.manifest.replace(random, "?????");
                (name, h.kind.clone(), h.path.clone(), h.events.clone(), h.weight, manifest)
            })
            .collect()
    };
    assert_eq!(hooks(&ours.hooks), hooks(&helms.hooks));
    let kinds: Vec<&str> = ours.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["Service", "Deployment"]);
    // The chart as helm keeps it: its own values, not the values the render coalesced.
    assert_eq!(ours.chart["values"], helms.chart["values"]);
    assert_eq!(ours.chart["metadata"], helms.chart["metadata"]);
}
