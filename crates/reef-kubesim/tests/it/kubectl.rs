//! The real kubectl against a simulated cluster: what a user does on day one.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::{Cluster, DEADLINE};

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("kubectl printed no JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_version_shows_the_simulated_server() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let out = json(&kubectl.ok(&["version", "-o", "json"]).await);
    assert_eq!(out["serverVersion"]["gitVersion"], reef_kubesim::KUBERNETES_VERSION);
    assert_eq!(out["serverVersion"]["major"], "1");
    let text = kubectl.ok(&["version"]).await;
    assert!(text.contains(&format!("Server Version: {}", reef_kubesim::KUBERNETES_VERSION)), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_api_resources_lists_the_builtin_kinds_with_short_names() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let out = kubectl.ok(&["api-resources"]).await;
    let row = |name: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("deployments"), ["deployments", "deploy", "apps/v1", "true", "Deployment"]);
    assert_eq!(row("namespaces"), ["namespaces", "ns", "v1", "false", "Namespace"]);
    assert_eq!(
        row("customresourcedefinitions"),
        ["customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"]
    );
    // Subresources are not resources of their own.
    assert!(!out.contains("deployments/scale"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_namespaces_shows_the_initial_namespaces() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let out = kubectl.ok(&["get", "ns"]).await;
    let names: Vec<&str> = out.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(names.contains(&ns), "{ns} missing from:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_sends_protobuf_and_the_objects_read_back_intact() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let out = kubectl
        .ok(&["create", "configmap", "settings", "--from-literal=a=1", "--from-literal=greeting=hello world"])
        .await;
    assert_eq!(out.trim(), "configmap/settings created");
    let cm = json(&kubectl.ok(&["get", "configmap", "settings", "-o", "json"]).await);
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "greeting": "hello world"}));
    assert_eq!(cm["metadata"]["namespace"], "default");

    kubectl.ok(&["create", "secret", "generic", "creds", "--from-literal=password=s3cr3t"]).await;
    let secret = json(&kubectl.ok(&["get", "secret", "creds", "-o", "json"]).await);
    assert_eq!(secret["data"]["password"], "czNjcjN0");

    kubectl.ok(&["create", "namespace", "team-a"]).await;
    kubectl.ok(&["create", "deployment", "idle", "--image=nginx:1.27", "--replicas=0", "-n", "team-a"]).await;
    let deploy = json(&kubectl.ok(&["get", "deploy", "idle", "-n", "team-a", "-o", "json"]).await);
    // A replica count of zero survives: it is a pointer field, sent even when zero.
    assert_eq!(deploy["spec"]["replicas"], 0);
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");

    // A duplicate is refused with the real server's words.
    let dup = kubectl.run(&["create", "configmap", "settings"]).await;
    assert!(!dup.status.success());
    let stderr = String::from_utf8_lossy(&dup.stderr);
    assert!(stderr.contains("configmaps \"settings\" already exists"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_creates_then_updates_a_deployment() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let out = kubectl.ok_with_input(&["apply", "-f", "-"], DEPLOYMENT).await;
    assert_eq!(out.trim(), "deployment.apps/web created");

    let yaml = kubectl.ok(&["get", "deploy", "web", "-o", "yaml"]).await;
    let obj: Value = yaml_serde::from_str(&yaml).expect("kubectl -o yaml prints YAML");
    let meta = &obj["metadata"];
    assert!(meta["uid"].as_str().is_some_and(|u| u.len() == 36), "{yaml}");
    assert!(meta["resourceVersion"].as_str().is_some_and(|rv| rv.parse::<u64>().is_ok()), "{yaml}");
    assert!(meta["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{yaml}");
    assert!(meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string(), "{yaml}");
    assert_eq!(obj["spec"]["replicas"], 2);

    let again = kubectl.ok_with_input(&["apply", "-f", "-"], DEPLOYMENT).await;
    assert_eq!(again.trim(), "deployment.apps/web unchanged");
    let changed = DEPLOYMENT.replace("nginx:1.25", "nginx:1.26");
    let out = kubectl.ok_with_input(&["apply", "-f", "-"], &changed).await;
    assert_eq!(out.trim(), "deployment.apps/web configured");
    let image = kubectl.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await;
    assert_eq!(image, "nginx:1.26");
    let rv2 = kubectl.ok(&["get", "deploy", "web", "-o", "jsonpath={.metadata.resourceVersion}"]).await;
    assert_ne!(rv2, meta["resourceVersion"].as_str().unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_and_explain_work() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n";
    let out = kubectl.ok_with_input(&["apply", "--server-side", "-f", "-"], cm).await;
    assert_eq!(out.trim(), "configmap/ssa serverside-applied");
    assert_eq!(kubectl.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data.k}"]).await, "v");

    let explain = kubectl.ok(&["explain", "deployment"]).await;
    assert!(explain.contains("KIND:") && explain.contains("Deployment"), "{explain}");
    assert!(explain.contains("apps"), "{explain}");
    for field in ["apiVersion", "kind", "metadata", "spec", "status"] {
        assert!(explain.contains(field), "{field} missing from:\n{explain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_then_select_by_label() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    kubectl.ok(&["create", "configmap", "one", "--from-literal=k=1"]).await;
    kubectl.ok(&["create", "configmap", "two", "--from-literal=k=2"]).await;
    let out = kubectl.ok(&["label", "configmap", "one", "app=x"]).await;
    assert_eq!(out.trim(), "configmap/one labeled");
    let selected = kubectl.ok(&["get", "cm", "-l", "app=x", "-o", "name"]).await;
    assert_eq!(selected.trim(), "configmap/one");
    let out = kubectl.ok(&["get", "cm", "-l", "app=x"]).await;
    assert!(out.lines().any(|l| l.starts_with("one ")), "{out}");
    assert!(!out.contains("two"), "{out}");
    let none = kubectl.run(&["get", "cm", "-l", "app=y"]).await;
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("No resources found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_removes_the_object() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    kubectl.ok(&["create", "configmap", "doomed"]).await;
    let out = kubectl.ok(&["delete", "configmap", "doomed"]).await;
    assert!(out.starts_with("configmap \"doomed\" deleted"), "{out}");
    let gone = kubectl.run(&["get", "configmap", "doomed"]).await;
    assert!(!gone.status.success());
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(stderr.contains("configmaps \"doomed\" not found"), "{stderr}");
    // Deleting a namespace takes what is in it.
    kubectl.ok(&["create", "namespace", "tmp"]).await;
    kubectl.ok(&["create", "configmap", "inside", "-n", "tmp"]).await;
    kubectl.ok(&["delete", "namespace", "tmp"]).await;
    let inside = kubectl.run(&["get", "configmap", "inside", "-n", "tmp"]).await;
    assert!(!inside.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_a_wrong_token_is_unauthorized() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    // Without cached discovery, kubectl fails at discovery, as against a real cluster.
    let out = kubectl.run(&["--token", "not-the-token", "get", "ns"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: You must be logged in to the server"), "{stderr}");
    // With discovery cached (by a run with the right token), the request itself is refused
    // and kubectl shows the Status message.
    kubectl.ok(&["get", "ns", "default"]).await;
    let out = kubectl.run(&["--token", "not-the-token", "get", "ns"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: You must be logged in to the server (Unauthorized)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_watch_sees_an_object_created_meanwhile() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    kubectl.ok(&["create", "configmap", "before"]).await;
    let mut child = kubectl
        .command(&["get", "configmaps", "--watch", "--request-timeout=10s", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl get --watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    // The initial list comes first: once it is printed, the watch follows from its
    // resource version, so nothing created from now on can be missed.
    while !seen.iter().any(|l: &String| l == "configmap/before") {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("the initial list in time")
            .expect("read");
        seen.push(line.expect("kubectl ended before listing"));
    }
    kubectl.ok(&["create", "configmap", "during", "--from-literal=x=1"]).await;
    while !seen.iter().any(|l: &String| l == "configmap/during") {
        let line =
            tokio::time::timeout_at(deadline, lines.next_line()).await.expect("the watch event in time").expect("read");
        seen.push(line.unwrap_or_else(|| panic!("the watch ended without the new object; saw {seen:?}")));
    }
    // With --request-timeout the watch ends on its own, successfully.
    let status = tokio::time::timeout_at(deadline, child.wait())
        .await
        .expect("kubectl ends at its request timeout")
        .expect("wait");
    assert!(status.success(), "kubectl get --watch exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_wait_uses_a_watch_list_with_initial_events() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    kubectl.ok(&["create", "configmap", "flag", "--from-literal=ready=no"]).await;
    let waiter = kubectl
        .command(&["wait", "--for=jsonpath={.data.ready}=yes", "configmap/flag", "--timeout=50s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl wait");
    kubectl.ok(&["patch", "configmap", "flag", "--type=merge", "-p", r#"{"data":{"ready":"yes"}}"#]).await;
    let out =
        tokio::time::timeout(DEADLINE, waiter.wait_with_output()).await.expect("kubectl wait ends").expect("wait");
    assert!(out.status.success(), "kubectl wait failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "configmap/flag condition met");
}
