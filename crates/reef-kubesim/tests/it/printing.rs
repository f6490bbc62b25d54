//! Server-side printing (`kubectl get` columns from a `Table`) and `pods/log`, against a whole
//! simulated cluster: the API server with its controllers running.

use std::process::Stdio;

use reef_kubesim::SimConfig;
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::{Cluster, DEADLINE, Kubectl, kubectl_for};

struct Running {
    cluster: SimCluster,
    _dir: tempfile::TempDir,
    kubectl: Kubectl,
}

async fn start() -> Option<Running> {
    let cluster =
        SimCluster::start(ClusterOptions { name: "sim".to_owned(), config: SimConfig::default(), data_dir: None })
            .await
            .expect("start the simulated cluster");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).expect("write the kubeconfig");
    let kubectl = kubectl_for(kubeconfig, dir.path().to_path_buf())?;
    Some(Running { cluster, _dir: dir, kubectl })
}

fn deployment(name: &str, replicas: u32, containers: &[&str]) -> String {
    let mut text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n"
    );
    for c in containers {
        text.push_str(&format!(
            "      - name: {c}\n        image: {c}:1.25\n        ports:\n        - containerPort: 80\n"
        ));
    }
    text
}

/// Waits until `kubectl get deploy NAME` reports `want` ready replicas.
async fn rolled_out(kubectl: &Kubectl, name: &str, want: u32) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let ready = kubectl.ok(&["get", "deploy", name, "-o", "jsonpath={.status.readyReplicas}"]).await;
        if ready.trim() == want.to_string() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "deployment {name} not ready in time ({ready:?})");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The rows of kubectl's table output, split on runs of two or more spaces... or single spaces
/// where no cell holds one.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines().map(|l| l.split_whitespace().map(str::to_owned).collect()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_prints_the_real_servers_columns() {
    let Some(run) = start().await else { return };
    let kubectl = &run.kubectl;
    kubectl.ok_with_input(&["apply", "-f", "-"], &deployment("web", 3, &["nginx"])).await;
    kubectl.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]).await;
    rolled_out(kubectl, "web", 3).await;

    let out = kubectl.ok(&["get", "pods"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert_eq!(table.len(), 4, "{out}");
    for row in &table[1..] {
        assert!(row[0].starts_with("web-"), "{out}");
        assert_eq!(row[1..4], ["1/1", "Running", "0"], "{out}");
    }
    let wide = kubectl.ok(&["get", "pods", "-o", "wide"]).await;
    let table = rows(&wide);
    assert_eq!(table[0][..7], ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"], "{wide}");
    assert!(table[1][5].starts_with("10.244."), "{wide}");
    assert_eq!(table[1][6], "default-0", "{wide}");

    let out = kubectl.ok(&["get", "deploy"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{out}");
    assert_eq!(table[1][..4], ["web", "3/3", "3", "3"], "{out}");

    let out = kubectl.ok(&["get", "rs"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "DESIRED", "CURRENT", "READY", "AGE"], "{out}");
    assert_eq!(table[1][1..4], ["3", "3", "3"], "{out}");

    let out = kubectl.ok(&["get", "nodes"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], "{out}");
    assert_eq!(table[1][..3], ["default-0", "Ready", "<none>"], "{out}");
    assert_eq!(table[1][4], reef_kubesim::KUBERNETES_VERSION, "{out}");

    let ip = kubectl.ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]).await;
    assert!(ip.starts_with("10.96."), "{ip}");
    let out = kubectl.ok(&["get", "svc", "web"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], "{out}");
    assert_eq!(table[1][..5], ["web", "ClusterIP", ip.as_str(), "<none>", "80/TCP"], "{out}");

    let out = kubectl.ok(&["get", "ns", "default"]).await;
    assert_eq!(rows(&out)[1][..2], ["default", "Active"], "{out}");

    kubectl.ok(&["create", "configmap", "settings", "--from-literal=a=1", "--from-literal=b=2"]).await;
    let out = kubectl.ok(&["get", "cm", "settings"]).await;
    assert_eq!(rows(&out)[0], ["NAME", "DATA", "AGE"], "{out}");
    assert_eq!(rows(&out)[1][..2], ["settings", "2"], "{out}");

    kubectl.ok(&["create", "secret", "generic", "creds", "--from-literal=password=x"]).await;
    let out = kubectl.ok(&["get", "secret", "creds"]).await;
    assert_eq!(rows(&out)[0], ["NAME", "TYPE", "DATA", "AGE"], "{out}");
    assert_eq!(rows(&out)[1][..3], ["creds", "Opaque", "1"], "{out}");

    let out = kubectl.ok(&["get", "events"]).await;
    if let Some(header) = rows(&out).first() {
        assert_eq!(header[..], ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{out}");
    }

    // Labels as columns are kubectl's own work, from the row's object metadata.
    let out = kubectl.ok(&["get", "deploy", "-L", "app", "--show-labels"]).await;
    assert!(rows(&out)[0].contains(&"LABELS".to_owned()), "{out}");

    // Sorting needs the whole object in each row (includeObject=Object).
    let out = kubectl.ok(&["get", "pods", "--sort-by=.metadata.name"]).await;
    let names: Vec<String> = rows(&out)[1..].iter().map(|r| r[0].clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "{out}");
    drop(run.cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_answers_list_and_get_with_include_object() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"one"},"data":{"k":"v"}}"#;
    let created = http
        .request("POST", "/api/v1/namespaces/default/configmaps", &[("Content-Type", "application/json")], body)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let list = http.get("/api/v1/namespaces/default/configmaps", &[("Accept", accept)]).await.json();
    assert_eq!(list["kind"], "Table");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()), "{list}");
    let names: Vec<&str> =
        list["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Name", "Data", "Age"]);
    assert_eq!(list["columnDefinitions"][0]["format"], "name");
    assert_eq!(list["columnDefinitions"][1]["priority"], 0);
    assert_eq!(list["rows"][0]["cells"][0], "one");
    assert_eq!(list["rows"][0]["cells"][1], 1);
    assert_eq!(list["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(list["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["rows"][0]["object"]["metadata"]["name"], "one");
    assert!(list["rows"][0]["object"].get("data").is_none());

    let get =
        http.get("/api/v1/namespaces/default/configmaps/one?includeObject=Object", &[("Accept", accept)]).await.json();
    assert_eq!(get["kind"], "Table");
    assert_eq!(get["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(get["rows"][0]["object"]["kind"], "ConfigMap");
    assert_eq!(get["rows"][0]["object"]["data"]["k"], "v");

    let none = http.get("/api/v1/namespaces/default/configmaps?includeObject=None", &[("Accept", accept)]).await.json();
    assert!(none["rows"][0].get("object").is_none(), "{none}");

    let beta = http
        .get(
            "/api/v1/namespaces/default/configmaps",
            &[("Accept", "application/json;as=Table;v=v1beta1;g=meta.k8s.io")],
        )
        .await
        .json();
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    // Plain JSON when not asked for a Table.
    let plain = http.get("/api/v1/namespaces/default/configmaps", &[("Accept", "application/json")]).await.json();
    assert_eq!(plain["kind"], "ConfigMapList");
    let bad = http.get("/api/v1/namespaces/default/configmaps?includeObject=All", &[("Accept", accept)]).await;
    assert_eq!(bad.status, 400);

    // Wide-only columns have priority 1; a pod's log with no node is refused, a missing pod 404.
    let pods = http.get("/api/v1/namespaces/default/pods", &[("Accept", accept)]).await.json();
    let wide: Vec<(&str, i64)> = pods["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        wide[..7],
        [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1), ("Node", 1)]
    );
    let missing = http.get("/api/v1/namespaces/default/pods/ghost/log", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["reason"], "NotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_watch_prints_table_rows() {
    let Some(run) = start().await else { return };
    let kubectl = &run.kubectl;
    kubectl.ok(&["create", "configmap", "before"]).await;
    let mut child = kubectl
        .command(&["get", "configmaps", "--watch", "--request-timeout=10s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl get --watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !seen.iter().any(|l| l.starts_with("before ")) {
        let line = tokio::time::timeout_at(deadline, lines.next_line()).await.expect("the list in time").expect("read");
        seen.push(line.expect("kubectl ended before listing"));
    }
    assert!(seen[0].starts_with("NAME") && seen[0].contains("DATA"), "{seen:?}");
    kubectl.ok(&["create", "configmap", "during", "--from-literal=x=1", "--from-literal=y=2"]).await;
    while !seen.iter().any(|l| l.starts_with("during ")) {
        let line =
            tokio::time::timeout_at(deadline, lines.next_line()).await.expect("the event in time").expect("read");
        seen.push(line.unwrap_or_else(|| panic!("the watch ended without the new object; saw {seen:?}")));
    }
    let during = seen.iter().find(|l| l.starts_with("during ")).expect("during");
    assert_eq!(during.split_whitespace().nth(1), Some("2"), "{seen:?}");
    let status = tokio::time::timeout_at(deadline, child.wait())
        .await
        .expect("kubectl ends at its request timeout")
        .expect("wait");
    assert!(status.success(), "kubectl get --watch exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_shows_the_simulated_container_log() {
    let Some(run) = start().await else { return };
    let kubectl = &run.kubectl;
    kubectl.ok_with_input(&["apply", "-f", "-"], &deployment("web", 1, &["nginx"])).await;
    kubectl.ok_with_input(&["apply", "-f", "-"], &deployment("pair", 1, &["nginx", "sidecar"])).await;
    rolled_out(kubectl, "web", 1).await;
    rolled_out(kubectl, "pair", 1).await;

    let out = kubectl.ok(&["logs", "deploy/web"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with(" nginx started: image nginx:1.25"), "{out}");
    assert!(lines[1].ends_with(" nginx listening on :80/TCP"), "{out}");
    assert!(lines[2].ends_with(" nginx ready"), "{out}");

    let out = kubectl.ok(&["logs", "deploy/web", "--tail=1", "--timestamps"]).await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.ends_with(" nginx ready\n"), "{out}");

    // Several containers: kubectl picks the first (and says so); the API wants a name.
    let out = kubectl.ok(&["logs", "deploy/pair", "-c", "sidecar"]).await;
    assert!(out.contains("sidecar started: image sidecar:1.25"), "{out}");
    let pod = kubectl.ok(&["get", "pods", "-l", "app=pair", "-o", "jsonpath={.items[0].metadata.name}"]).await;
    let raw = kubectl.run(&["get", "--raw", &format!("/api/v1/namespaces/default/pods/{pod}/log")]).await;
    assert!(!raw.status.success());
    let stderr = String::from_utf8_lossy(&raw.stderr);
    assert!(
        stderr.contains(&format!("a container name must be specified for pod {pod}, choose one of: [nginx sidecar]")),
        "{stderr}"
    );
    let wrong = kubectl.run(&["logs", &pod, "-c", "nope"]).await;
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains(&format!("container nope is not valid for pod {pod}")), "{stderr}");

    let missing = kubectl.run(&["logs", "ghost"]).await;
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("pods \"ghost\" not found"), "{stderr}");
}
