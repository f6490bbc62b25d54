//! The real helm against a simulated cluster: install, upgrade and uninstall a small chart,
//! with helm keeping its release records (Secrets, sent as protobuf) in the cluster.

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;

use reef_kubesim::store::ListOptions;
use reef_kubesim::{SimServer, Store};

use crate::support::DEADLINE;

const CHART: &str = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  greeting: {{ .Values.greeting | default "hello" | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"#;

async fn helm(helm: &Path, home: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(helm);
    command
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(DEADLINE, command.output()).await.expect("helm finishes").expect("helm runs");
    assert!(
        out.status.success(),
        "helm {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_upgrades_and_uninstalls_a_chart() {
    let Some(helm_bin) = reef_testkit::find_executable("helm", "REEF_HELM", &[]) else {
        reef_testkit::missing_peer("helm", "scripts/test installs it");
        return;
    };
    let store = Arc::new(Store::new());
    let server = SimServer::start(store.clone()).await.expect("start the server");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("sim")).expect("kubeconfig");
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).expect("chart directory");
    std::fs::write(chart.join("Chart.yaml"), CHART).expect("Chart.yaml");
    std::fs::write(chart.join("templates/all.yaml"), TEMPLATE).expect("template");
    let chart = chart.to_str().expect("UTF-8 path");
    let registry = store.registry();
    let configmaps = registry.find("", "v1", "configmaps").expect("configmaps");
    let deployments = registry.find("apps", "v1", "deployments").expect("deployments");
    let secrets = registry.find("", "v1", "secrets").expect("secrets");
    let releases = || {
        let opts = ListOptions { label_selector: Some("owner=helm,name=demo".into()), ..ListOptions::default() };
        store.list(&secrets, Some("default"), &opts).expect("list secrets")["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    let out = helm(&helm_bin, dir.path(), &kubeconfig, &["install", "demo", chart]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("STATUS: deployed"));
    let cm = store.get(&configmaps, Some("default"), "demo-settings").expect("the chart's ConfigMap");
    assert_eq!(cm["data"]["greeting"], "hello");
    store.get(&deployments, Some("default"), "demo-web").expect("the chart's Deployment");
    assert_eq!(releases().len(), 1, "one release record");

    helm(&helm_bin, dir.path(), &kubeconfig, &["upgrade", "demo", chart, "--set", "greeting=hi"]).await;
    let cm = store.get(&configmaps, Some("default"), "demo-settings").expect("the ConfigMap after the upgrade");
    assert_eq!(cm["data"]["greeting"], "hi");
    assert_eq!(releases().len(), 2, "a record per revision");
    let list = helm(&helm_bin, dir.path(), &kubeconfig, &["list", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("helm list -o json");
    assert_eq!(list[0]["name"], "demo");
    assert_eq!(list[0]["revision"], "2");
    assert_eq!(list[0]["status"], "deployed");

    helm(&helm_bin, dir.path(), &kubeconfig, &["uninstall", "demo"]).await;
    assert!(store.get(&configmaps, Some("default"), "demo-settings").is_err());
    assert!(store.get(&deployments, Some("default"), "demo-web").is_err());
    assert!(releases().is_empty(), "the release records are gone");
}
