//! Releases in a simulated cluster (reef-kubesim, which kubectl and helm accept), checked from
//! both sides with the real helm 4.2.3: what reef installs, upgrades, rolls back and
//! uninstalls, `helm list`, `history` and `get values` read; a release helm installed, reef
//! upgrades and uninstalls; a lock left by a dead operation is recovered; hooks run by weight
//! with their delete policies.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reef_deploy::{Options, Releases, Request};
use reef_helm::release::Status;
use reef_helm::template::{TemplateOptions, render_release};
use reef_kube::{ClusterClient, ObjectRef};
use reef_kubesim::SimConfig;
use reef_kubesim::cluster::{ClusterOptions, SimCluster};

struct World {
    sim: SimCluster,
    releases: Releases,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimCluster::start(ClusterOptions {
        name: "deploy".to_owned(),
        config: SimConfig { pod_ready_delay: Duration::from_millis(50), ..SimConfig::default() },
        data_dir: None,
    })
    .await
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig()).unwrap();
    let client = ClusterClient::connect(&sim.kubeconfig(), Duration::from_secs(10)).await.unwrap();
    let opts = Options { timeout: Duration::from_secs(30), ..Options::default() };
    World { sim, releases: Releases::new(client, opts), kubeconfig, _dir: dir }
}

fn corpus_chart(name: &str) -> Option<PathBuf> {
    match reef_testkit::chart_corpus() {
        Some(c) => Some(c.join(name)),
        None => {
            reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
            None
        }
    }
}

fn helm() -> Option<PathBuf> {
    let found = reef_testkit::helm();
    if found.is_none() {
        reef_testkit::missing_peer("helm 4.2.3", "$REEF_HELM or the reef-test-peers cache");
    }
    found
}

/// Runs helm against the world's cluster; its stdout.
fn run_helm(helm: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(helm).args(args).arg("--kubeconfig").arg(kubeconfig).output().unwrap();
    assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn render(chart: &Path, name: &str, set: &[&str], revision: u32) -> reef_helm::template::ReleaseRender {
    let opts = TemplateOptions {
        release_name: name.to_owned(),
        chart: chart.to_path_buf(),
        namespace: "apps".to_owned(),
        set: set.iter().map(|s| (*s).to_owned()).collect(),
        is_upgrade: revision > 1,
        ..TemplateOptions::default()
    };
    render_release(&opts, revision).unwrap()
}

fn request(name: &str) -> Request {
    Request {
        name: name.to_owned(),
        namespace: "apps".to_owned(),
        create_namespace: true,
        wait: true,
        ..Request::default()
    }
}

fn object(kind: &str, api_version: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        namespace: Some("apps".to_owned()),
        name: name.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_is_installed_upgraded_rolled_back_and_uninstalled_as_helm_sees_it() {
    let Some(chart) = corpus_chart("podinfo") else { return };
    let helm = helm();
    let w = world().await;
    let client = w.releases.client().clone();
    let service = object("Service", "v1", "web-podinfo");
    let deployment = object("Deployment", "apps/v1", "web-podinfo");

    let installed = w.releases.install(&request("web"), render(&chart, "web", &["replicaCount=2"], 1)).await.unwrap();
    assert_eq!((installed.release.version, installed.release.info.status), (1, Status::Deployed));
    assert_eq!(installed.applied, [service.clone(), deployment.clone()]);
    // Waited for: the Deployment has its 2 replicas available.
    let d = client.get_object(&deployment).await.unwrap().unwrap();
    assert_eq!(d["status"]["availableReplicas"], 2, "{d}");
    assert_eq!(d["metadata"]["annotations"]["meta.helm.sh/release-name"], "web");
    if let Some(helm) = &helm {
        let list = run_helm(helm, &w.kubeconfig, &["list", "-n", "apps", "-o", "json"]);
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert_eq!(list[0]["name"], "web");
        assert_eq!(list[0]["status"], "deployed");
        assert_eq!(list[0]["chart"], "podinfo-6.14.1");
        let values = run_helm(helm, &w.kubeconfig, &["get", "values", "web", "-n", "apps", "-o", "json"]);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&values).unwrap(), serde_json::json!({"replicaCount": 2}));
        let manifest = run_helm(helm, &w.kubeconfig, &["get", "manifest", "web", "-n", "apps"]);
        assert!(manifest.contains("# Source: podinfo/templates/deployment.yaml"), "{manifest}");
    }

    // Upgraded without the Service: it is deleted.
    let upgraded = w
        .releases
        .upgrade(&request("web"), render(&chart, "web", &["replicaCount=3", "service.enabled=false"], 2))
        .await
        .unwrap();
    assert_eq!(upgraded.release.version, 2);
    assert_eq!(upgraded.deleted, std::slice::from_ref(&service));
    assert_eq!(client.get_object(&service).await.unwrap(), None);
    let d = client.get_object(&deployment).await.unwrap().unwrap();
    assert_eq!(d["spec"]["replicas"], 3);

    // Rolled back to revision 1: the Service is back, with 2 replicas.
    let rolled = w.releases.rollback("apps", "web", Some(1)).await.unwrap();
    assert_eq!((rolled.release.version, rolled.release.info.description.as_str()), (3, "Rollback to 1"));
    assert!(client.get_object(&service).await.unwrap().is_some());
    assert_eq!(client.get_object(&deployment).await.unwrap().unwrap()["spec"]["replicas"], 2);
    let history = w.releases.history("apps", "web").await.unwrap();
    let statuses: Vec<Status> = history.iter().map(|r| r.info.status).collect();
    assert_eq!(statuses, [Status::Superseded, Status::Superseded, Status::Deployed]);
    if let Some(helm) = &helm {
        let h = run_helm(helm, &w.kubeconfig, &["history", "web", "-n", "apps", "-o", "json"]);
        let h: serde_json::Value = serde_json::from_str(&h).unwrap();
        let seen: Vec<(i64, &str, &str)> = h
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (r["revision"].as_i64().unwrap(), r["status"].as_str().unwrap(), r["description"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            seen,
            [
                (1, "superseded", "Install complete"),
                (2, "superseded", "Upgrade complete"),
                (3, "deployed", "Rollback to 1")
            ]
        );
    }

    // Uninstalled with its history kept: nothing of it is left but its records.
    let gone = w.releases.uninstall("apps", "web", true).await.unwrap();
    assert_eq!(gone.release.info.status, Status::Uninstalled);
    assert_eq!(gone.deleted, [deployment.clone(), service.clone()]);
    assert_eq!(client.get_object(&deployment).await.unwrap(), None);
    if let Some(helm) = &helm {
        let all = run_helm(helm, &w.kubeconfig, &["list", "-n", "apps", "--uninstalled", "-o", "json"]);
        let all: serde_json::Value = serde_json::from_str(&all).unwrap();
        assert_eq!(all[0]["status"], "uninstalled");
    }
    // And installed again over its history: revision 4.
    let again = w.releases.install(&request("web"), render(&chart, "web", &[], 4)).await.unwrap();
    assert_eq!(again.release.version, 4);
    let e = w.releases.install(&request("web"), render(&chart, "web", &[], 5)).await.unwrap_err();
    assert_eq!(e.code, "release_exists", "{e}");
    w.releases.uninstall("apps", "web", false).await.unwrap();
    let e = w.releases.history("apps", "web").await.unwrap_err();
    assert_eq!(e.code, "release_not_found");
    w.sim.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_helm_installed_is_upgraded_and_uninstalled_by_reef() {
    let (Some(chart), Some(helm)) = (corpus_chart("podinfo"), helm()) else { return };
    let w = world().await;
    let chart_arg = chart.to_string_lossy().into_owned();
    run_helm(&helm, &w.kubeconfig, &["install", "made-by-helm", &chart_arg, "-n", "apps", "--create-namespace"]);
    let history = w.releases.history("apps", "made-by-helm").await.unwrap();
    assert_eq!((history.len(), history[0].info.status), (1, Status::Deployed));

    let upgraded = w
        .releases
        .upgrade(&request("made-by-helm"), render(&chart, "made-by-helm", &["replicaCount=2"], 2))
        .await
        .unwrap();
    assert_eq!(upgraded.release.version, 2);
    let status = run_helm(&helm, &w.kubeconfig, &["status", "made-by-helm", "-n", "apps", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!((status["version"].as_i64(), status["info"]["status"].as_str()), (Some(2), Some("deployed")));
    // helm, in turn, rolls back what reef upgraded.
    run_helm(&helm, &w.kubeconfig, &["rollback", "made-by-helm", "1", "-n", "apps"]);
    let history = w.releases.history("apps", "made-by-helm").await.unwrap();
    assert_eq!(history.last().map(|r| (r.version, r.info.status)), Some((3, Status::Deployed)));

    w.releases.uninstall("apps", "made-by-helm", false).await.unwrap();
    for which in ["--deployed", "--uninstalled"] {
        let list = run_helm(&helm, &w.kubeconfig, &["list", "-n", "apps", which, "-q"]);
        assert_eq!(list.trim(), "", "{which}");
    }
    w.sim.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_dead_operation_is_recovered_once_it_expires() {
    let Some(chart) = corpus_chart("podinfo") else { return };
    let w = world().await;
    // An install whose process died after recording its revision: pending-install.
    let mut stuck = render(&chart, "stuck", &[], 1);
    stuck.resources.clear();
    let dead = reef_helm::release::Release {
        name: "stuck".to_owned(),
        info: reef_helm::release::Info {
            first_deployed: None,
            last_deployed: Some((chrono::Utc::now() - chrono::Duration::seconds(120)).to_rfc3339()),
            deleted: None,
            description: "Initial install underway".to_owned(),
            status: Status::PendingInstall,
            notes: String::new(),
            other: serde_json::Map::new(),
        },
        chart: stuck.chart.clone(),
        config: serde_json::Map::new(),
        manifest: String::new(),
        hooks: Vec::new(),
        version: 1,
        namespace: "apps".to_owned(),
        other: serde_json::Map::new(),
    };
    w.releases.client().ensure_namespace("apps").await.unwrap();
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(dead.storage_name()),
            labels: Some(dead.storage_labels(("createdAt", 0))),
            ..Default::default()
        },
        type_: Some(reef_helm::release::SECRET_TYPE.to_owned()),
        data: Some([("release".to_owned(), k8s_openapi::ByteString(dead.encode().into_bytes()))].into()),
        ..Default::default()
    };
    w.releases.client().create_secret("apps", &secret).await.unwrap();

    // Within the lock's lifetime (10 minutes by default), the release is busy.
    let e = w.releases.upgrade(&request("stuck"), render(&chart, "stuck", &[], 2)).await.unwrap_err();
    assert_eq!((e.code, e.transient), ("operation_in_progress", true), "{e}");
    // Past it (a minute here), the lock is recovered: revision 1 failed, and the install goes on.
    let short = Releases::new(
        w.releases.client().clone(),
        Options { lock_ttl: Duration::from_secs(60), timeout: Duration::from_secs(30) },
    );
    let e = short.upgrade(&request("stuck"), render(&chart, "stuck", &[], 2)).await.unwrap_err();
    assert_eq!(e.code, "release_not_found", "no deployed revision to upgrade: {e}");
    let history = short.history("apps", "stuck").await.unwrap();
    assert_eq!(history[0].info.status, Status::Failed);
    assert!(history[0].info.description.contains("lock was recovered"), "{:?}", history[0].info);
    let e = short.install(&request("stuck"), render(&chart, "stuck", &[], 2)).await.unwrap_err();
    assert_eq!(e.code, "release_exists", "a failed release keeps its name, as in helm: {e}");
    w.sim.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_by_weight_and_are_deleted_by_their_policies() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("hooked");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: hooked\nversion: 0.1.0\n").unwrap();
    let job = |name: &str, event: &str, weight: i32, policy: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {event}\n    helm.sh/hook-weight: \"{weight}\"\n{policy}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: run\n          image: busybox\n"
        )
    };
    let deleted_after = "    helm.sh/hook-delete-policy: hook-succeeded\n";
    std::fs::write(chart.join("templates/migrate.yaml"), job("migrate", "pre-install", 5, deleted_after)).unwrap();
    std::fs::write(chart.join("templates/prepare.yaml"), job("prepare", "pre-install", -5, "")).unwrap();
    std::fs::write(chart.join("templates/announce.yaml"), job("announce", "post-install", 0, "")).unwrap();
    std::fs::write(
        chart.join("templates/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    )
    .unwrap();
    let rendered = render(&chart, "hooked", &[], 1);
    let weights: Vec<(&str, i64)> = rendered.hooks.iter().map(|h| (h.name.as_str(), h.weight)).collect();
    assert_eq!(weights.len(), 3, "{weights:?}");
    w.releases.install(&request("hooked"), rendered).await.unwrap();
    let client = w.releases.client();
    let job_ref = |name: &str| object("Job", "batch/v1", name);
    // `migrate` ran and was deleted once it succeeded; the others stay, complete.
    assert_eq!(client.get_object(&job_ref("migrate")).await.unwrap(), None);
    for name in ["prepare", "announce"] {
        let j = client.get_object(&job_ref(name)).await.unwrap().unwrap();
        assert!(j["status"]["succeeded"].as_i64() >= Some(1), "{j}");
    }
    // The hooks are recorded in run order: by weight, then name.
    let history = w.releases.history("apps", "hooked").await.unwrap();
    let mut pre: Vec<(&str, i64)> =
        history[0].hooks.iter().filter(|h| h.events == ["pre-install"]).map(|h| (h.name.as_str(), h.weight)).collect();
    pre.sort_by_key(|(_, weight)| *weight);
    assert_eq!(pre, [("prepare", -5), ("migrate", 5)]);
    assert!(client.get_object(&object("ConfigMap", "v1", "settings")).await.unwrap().is_some());
    // Hooks are not the release's resources: uninstall leaves them (as helm does).
    w.releases.uninstall("apps", "hooked", false).await.unwrap();
    assert!(client.get_object(&job_ref("announce")).await.unwrap().is_some());
    w.sim.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_run_again_after_a_crash_holds_its_revision_and_a_failed_atomic_install_leaves_nothing() {
    use reef_deploy::Change;
    let Some(chart) = corpus_chart("podinfo") else { return };
    let w = world().await;
    let req = request("again");
    let first = w.releases.begin(&req, Change::Install, "op-1", |v| Ok(render(&chart, "again", &[], v))).await.unwrap();
    assert_eq!((first.version, first.info.status), (1, Status::PendingInstall));
    // The same operation, restarted, finds its revision; another is refused.
    let again = w.releases.begin(&req, Change::Install, "op-1", |_| panic!("not rendered twice")).await.unwrap();
    assert_eq!(again, first);
    let e = w.releases.begin(&req, Change::Install, "op-2", |v| Ok(render(&chart, "again", &[], v))).await.unwrap_err();
    assert_eq!(e.code, "operation_in_progress");
    let held = w.releases.held("apps", "again", "op-1").await.unwrap();
    w.releases.apply(&held).await.unwrap();
    w.releases.apply(&held).await.unwrap();
    let done = w.releases.finish(&held, Change::Install).await.unwrap();
    assert_eq!(done.info.status, Status::Deployed);

    // A chart with a kind the cluster does not serve fails; atomic, it is uninstalled.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("templates")).unwrap();
    std::fs::write(broken.join("Chart.yaml"), "apiVersion: v2\nname: broken\nversion: 0.1.0\n").unwrap();
    std::fs::write(
        broken.join("templates/all.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    )
    .unwrap();
    let atomic = Request { atomic: true, ..request("broken") };
    let e = w.releases.install(&atomic, render(&broken, "broken", &[], 1)).await.unwrap_err();
    assert_eq!(e.code, "unknown_kind", "{e}");
    assert_eq!(w.releases.history("apps", "broken").await.unwrap_err().code, "release_not_found");
    assert_eq!(w.releases.client().get_object(&object("ConfigMap", "v1", "first")).await.unwrap(), None);
    // Not atomic: the failed revision stays, saying why.
    w.releases.install(&request("broken"), render(&broken, "broken", &[], 1)).await.unwrap_err();
    let history = w.releases.history("apps", "broken").await.unwrap();
    assert_eq!(history[0].info.status, Status::Failed);
    assert!(history[0].info.description.starts_with("Release \"broken\" failed: "), "{:?}", history[0].info);
    w.sim.stop().await.unwrap();
}

/// The real-cluster tier: with `REEF_E2E_KUBECONFIG` naming a real cluster's kubeconfig
/// (kind, k3d, minikube, a cloud's), three corpus charts are installed there, waited for until
/// ready, upgraded with a changed value, rolled back and uninstalled, leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_charts_go_through_their_lifecycle_on_a_real_cluster() {
    let Some(path) = std::env::var_os("REEF_E2E_KUBECONFIG") else {
        eprintln!("skipped: REEF_E2E_KUBECONFIG names no cluster (the real-cluster tier)");
        return;
    };
    let Some(corpus) = reef_testkit::chart_corpus() else {
        reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let kubeconfig = std::fs::read_to_string(path).unwrap();
    let client = ClusterClient::connect(&kubeconfig, Duration::from_secs(30)).await.unwrap();
    let releases = Releases::new(client, Options { timeout: Duration::from_secs(600), ..Options::default() });
    let namespace = format!("reef-e2e-{}", std::process::id());
    for (chart, changed) in
        [("podinfo", "replicaCount=2"), ("kube-state-metrics", "replicas=2"), ("traefik", "deployment.replicas=2")]
    {
        let render = |revision: u32, set: &[&str]| {
            let opts = TemplateOptions {
                release_name: format!("e2e-{chart}"),
                chart: corpus.join(chart),
                namespace: namespace.clone(),
                set: set.iter().map(|s| (*s).to_owned()).collect(),
                is_upgrade: revision > 1,
                ..TemplateOptions::default()
            };
            render_release(&opts, revision).unwrap()
        };
        let req = Request {
            name: format!("e2e-{chart}"),
            namespace: namespace.clone(),
            create_namespace: true,
            wait: true,
            ..Request::default()
        };
        let installed = releases.install(&req, render(1, &[])).await.unwrap();
        releases.upgrade(&req, render(2, &[changed])).await.unwrap();
        releases.rollback(&namespace, &req.name, Some(1)).await.unwrap();
        releases.uninstall(&namespace, &req.name, false).await.unwrap();
        for o in &installed.applied {
            let o = releases.client().scoped(o.clone()).await.unwrap();
            releases.client().wait_for_gone(&o, Duration::from_secs(120)).await.unwrap();
        }
        eprintln!("{chart}: {} objects installed, upgraded, rolled back and uninstalled", installed.applied.len());
    }
    let ns = ObjectRef { api_version: "v1".into(), kind: "Namespace".into(), namespace: None, name: namespace };
    releases.client().delete_object(&ns).await.unwrap();
}
