//! The real helm driving a real public chart (`podinfo` from the chart corpus) through its
//! whole lifecycle on a simulated cluster whose controllers run: `--wait` only returns when
//! the simulated Deployment reports its pods ready, and every revision helm records is read
//! back through `helm list`, `helm status` and `helm history`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::store::ListOptions;
use reef_kubesim::{NodePool, SimConfig};
use serde_json::Value;

/// helm's own `--timeout` is 2m; the process gets a little longer before the test gives up.
const HELM_DEADLINE: Duration = Duration::from_secs(150);
const RELEASE: &str = "web";
/// podinfo's fullname for a release whose name does not contain "podinfo".
const DEPLOYMENT: &str = "web-podinfo";
/// podinfo's selector labels (`podinfo.selectorLabels`): the fullname.
const SELECTOR: &str = "app.kubernetes.io/name=web-podinfo";

/// The chart corpus (`$REEF_CHART_CORPUS`, or `../shared/charts` next to the repository).
fn chart_corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("REEF_CHART_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/charts"),
    };
    if dir.join("podinfo/Chart.yaml").is_file() {
        Some(dir)
    } else {
        reef_testkit::missing_peer("the chart corpus", "set REEF_CHART_CORPUS or place it at ../shared/charts");
        None
    }
}

/// The real helm with its home, config, cache and data directories inside `home`.
struct Helm {
    bin: PathBuf,
    home: PathBuf,
    kubeconfig: PathBuf,
}

impl Helm {
    async fn run(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(&self.bin);
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("HOME", &self.home)
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env_remove("KUBECONFIG")
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        tokio::time::timeout(HELM_DEADLINE, command.output())
            .await
            .unwrap_or_else(|_| panic!("helm {args:?} did not finish within {HELM_DEADLINE:?}"))
            .expect("run helm")
    }

    /// Runs helm, asserts it succeeded and returns its standard output.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "helm {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("helm writes UTF-8")
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("helm {args:?} -o json is not JSON ({e}): {out}"))
    }
}

struct Running {
    cluster: SimCluster,
    _dir: tempfile::TempDir,
    helm: Helm,
    chart: String,
}

async fn start() -> Option<Running> {
    let Some(bin) = reef_testkit::find_executable("helm", "REEF_HELM", &[]) else {
        reef_testkit::missing_peer("helm", "scripts/test installs it");
        return None;
    };
    let corpus = chart_corpus()?;
    let config = SimConfig { node_pools: vec![NodePool::new("pool", 2)], pod_ready_delay: Duration::from_millis(100) };
    let cluster = SimCluster::start(ClusterOptions { name: "sim".to_owned(), config, data_dir: None })
        .await
        .expect("start the simulated cluster");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).expect("write the kubeconfig");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("helm's home");
    let chart = corpus.join("podinfo").to_str().expect("UTF-8 path").to_owned();
    Some(Running { cluster, _dir: dir, helm: Helm { bin, home, kubeconfig }, chart })
}

impl Running {
    fn get(&self, group: &str, version: &str, resource: &str, name: &str) -> Option<Value> {
        let registry = self.cluster.store().registry();
        let t = registry.find(group, version, resource).expect("a known resource");
        self.cluster.store().get(&t, Some("default"), name).ok()
    }

    fn list(&self, group: &str, version: &str, resource: &str, selector: &str) -> Vec<Value> {
        let registry = self.cluster.store().registry();
        let t = registry.find(group, version, resource).expect("a known resource");
        let opts = ListOptions { label_selector: Some(selector.to_owned()), ..ListOptions::default() };
        self.cluster.store().list(&t, Some("default"), &opts).expect("list")["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The Deployment's (spec.replicas, status.readyReplicas, status.updatedReplicas).
    fn replicas(&self) -> (i64, i64, i64) {
        let d = self.get("apps", "v1", "deployments", DEPLOYMENT).expect("the chart's Deployment");
        let n = |p: &str| d.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        (n("/spec/replicas"), n("/status/readyReplicas"), n("/status/updatedReplicas"))
    }

    /// The Deployment's pods that are Running, and all of its pods.
    fn pods(&self) -> (usize, usize) {
        let pods = self.list("", "v1", "pods", SELECTOR);
        let running = pods.iter().filter(|p| p.pointer("/status/phase") == Some(&Value::from("Running"))).count();
        (running, pods.len())
    }

    /// helm history as (revision, status, description), oldest first.
    async fn history(&self) -> Vec<(i64, String, String)> {
        let history = self.helm.json(&["history", RELEASE, "-o", "json"]).await;
        history
            .as_array()
            .expect("helm history -o json is an array")
            .iter()
            .map(|r| {
                (
                    r["revision"].as_i64().expect("revision"),
                    r["status"].as_str().unwrap_or_default().to_owned(),
                    r["description"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_upgrades_rolls_back_and_uninstalls_podinfo_with_wait() {
    let Some(run) = start().await else { return };
    let helm = &run.helm;
    let chart = run.chart.as_str();

    // install --wait: returns only once the Deployment's pod is ready.
    let out = helm.ok(&["install", RELEASE, chart, "--wait", "--timeout", "2m"]).await;
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(out.contains("REVISION: 1"), "{out}");
    assert_eq!(run.replicas(), (1, 1, 1), "after install --wait the Deployment is ready");
    assert_eq!(run.pods(), (1, 1), "one running pod");
    let service = run.get("", "v1", "services", DEPLOYMENT).expect("the chart's Service");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert!(service["spec"]["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty()), "{service}");

    let list = helm.json(&["list", "-o", "json"]).await;
    let list = list.as_array().expect("helm list -o json is an array");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], RELEASE);
    assert_eq!(list[0]["namespace"], "default");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "podinfo-6.14.1");
    assert_eq!(list[0]["app_version"], "6.14.1");
    let status = helm.ok(&["status", RELEASE]).await;
    assert!(status.contains(&format!("NAME: {RELEASE}")), "{status}");
    assert!(status.contains("STATUS: deployed"), "{status}");
    assert!(status.contains("REVISION: 1"), "{status}");
    let status = helm.json(&["status", RELEASE, "-o", "json"]).await;
    assert_eq!(status["info"]["status"], "deployed", "{status}");
    assert_eq!(status["version"], 1, "{status}");

    // upgrade --wait to two replicas: both ready when helm returns.
    let out = helm.ok(&["upgrade", RELEASE, chart, "--wait", "--timeout", "2m", "--set", "replicaCount=2"]).await;
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(out.contains("REVISION: 2"), "{out}");
    assert_eq!(run.replicas(), (2, 2, 2), "after upgrade --wait both replicas are ready");
    let history = run.history().await;
    assert_eq!(
        history.iter().map(|(r, s, _)| (*r, s.as_str())).collect::<Vec<_>>(),
        [(1, "superseded"), (2, "deployed")],
        "{history:?}"
    );
    assert_eq!(history[0].2, "Install complete", "{history:?}");
    assert_eq!(history[1].2, "Upgrade complete", "{history:?}");
    let values = helm.json(&["get", "values", RELEASE, "-o", "json"]).await;
    assert_eq!(values["replicaCount"], 2, "{values}");

    // rollback to revision 1 --wait: a third revision with one replica.
    let out = helm.ok(&["rollback", RELEASE, "1", "--wait", "--timeout", "2m"]).await;
    assert!(out.contains("Rollback was a success"), "{out}");
    assert_eq!(run.replicas().0, 1, "the rollback restores one replica");
    let deadline = tokio::time::Instant::now() + HELM_DEADLINE;
    // The surplus pod goes away as the ReplicaSet scales down.
    while run.pods() != (1, 1) {
        assert!(tokio::time::Instant::now() < deadline, "pods after the rollback: {:?}", run.pods());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = run.history().await;
    assert_eq!(
        history.iter().map(|(r, s, _)| (*r, s.as_str())).collect::<Vec<_>>(),
        [(1, "superseded"), (2, "superseded"), (3, "deployed")],
        "{history:?}"
    );
    assert_eq!(history[2].2, "Rollback to 1", "{history:?}");
    let list = helm.json(&["list", "-o", "json"]).await;
    assert_eq!(list[0]["revision"], "3", "{list}");
    let records = run.list("", "v1", "secrets", &format!("owner=helm,name={RELEASE}"));
    assert_eq!(records.len(), 3, "a release record per revision");

    // uninstall --wait: the chart's objects and helm's records are gone when it returns.
    let out = helm.ok(&["uninstall", RELEASE, "--wait", "--timeout", "2m"]).await;
    assert!(out.contains(&format!("release \"{RELEASE}\" uninstalled")), "{out}");
    assert!(run.get("apps", "v1", "deployments", DEPLOYMENT).is_none(), "uninstall removed the Deployment");
    assert!(run.get("", "v1", "services", DEPLOYMENT).is_none(), "uninstall removed the Service");
    assert!(run.list("", "v1", "secrets", &format!("owner=helm,name={RELEASE}")).is_empty(), "no release records");
    let list = helm.json(&["list", "-o", "json"]).await;
    assert_eq!(list, Value::Array(vec![]), "no releases left");
    let status = helm.run(&["status", RELEASE]).await;
    assert!(!status.status.success(), "helm status of an uninstalled release fails");
    assert!(String::from_utf8_lossy(&status.stderr).contains("not found"), "{status:?}");
    // The Deployment's ReplicaSets and pods are garbage-collected after it.
    let deadline = tokio::time::Instant::now() + HELM_DEADLINE;
    loop {
        let left = (run.list("apps", "v1", "replicasets", SELECTOR).len(), run.pods().1);
        if left == (0, 0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "(replicasets, pods) left after uninstall: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
