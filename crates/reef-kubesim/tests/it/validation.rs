//! What the real kubectl prints when the simulated apiserver refuses an object, as a real
//! apiserver refuses it: a Deployment that does not select its own pods, a selector changed
//! after the fact, a custom resource that does not fit its CRD's schema (and the unknown
//! fields the apiserver prunes), and an immutable ConfigMap being changed.

use std::process::Output;

use serde_json::Value;

use crate::support::{Cluster, Kubectl};

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: LABEL
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
";

const CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: NAME
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [replicas]
            properties:
              replicas:
                type: integer
                minimum: 0
              size:
                type: integer
              color:
                type: string
                enum: [red, blue]
";

/// Writes `manifest` to `file` in the cluster's directory and applies it with `args` added.
async fn apply(cluster: &Cluster, kubectl: &Kubectl, file: &str, manifest: &str, args: &[&str]) -> Output {
    let path = cluster.dir.path().join(file);
    std::fs::write(&path, manifest).expect("write the manifest");
    let path = path.to_str().expect("a UTF-8 path").to_owned();
    let mut all = vec!["apply", "-f", path.as_str()];
    all.extend_from_slice(args);
    kubectl.run(&all).await
}

/// Asserts that kubectl failed and printed `line` as a whole line of its standard error.
fn refused_with(output: &Output, line: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "kubectl succeeded:\n{}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.lines().any(|l| l == line), "kubectl did not print\n{line}\nbut:\n{stderr}");
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "kubectl failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_whose_selector_does_not_match_its_template_is_refused() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let manifest = DEPLOYMENT.replace("LABEL", "api");
    let expected = "The Deployment \"web\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`";
    // A server-side dry run is validated like the real write, and stores nothing.
    refused_with(&apply(&cluster, &kubectl, "web.yaml", &manifest, &["--dry-run=server"]).await, expected);
    refused_with(&apply(&cluster, &kubectl, "web.yaml", &manifest, &[]).await, expected);
    let missing = kubectl.run(&["get", "deployment", "web"]).await;
    assert!(!missing.status.success(), "the refused Deployment was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_deployment_selector_is_refused() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    succeeded(&apply(&cluster, &kubectl, "web.yaml", &DEPLOYMENT.replace("LABEL", "web"), &[]).await);
    let changed = DEPLOYMENT
        .replace("app: LABEL", "app: web\n        tier: front")
        .replace("matchLabels:\n      app: web", "matchLabels:\n      app: web\n      tier: front");
    refused_with(
        &apply(&cluster, &kubectl, "web.yaml", &changed, &[]).await,
        "The Deployment \"web\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"front\"}}: field is immutable",
    );
    // Scaling, which may change, still goes through.
    succeeded(
        &apply(
            &cluster,
            &kubectl,
            "web.yaml",
            &DEPLOYMENT.replace("LABEL", "web").replace("replicas: 1", "replicas: 2"),
            &[],
        )
        .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_must_be_named_after_its_plural_and_group() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    refused_with(
        &apply(&cluster, &kubectl, "crd.yaml", &CRD.replace("NAME", "widget.example.com"), &[]).await,
        "The CustomResourceDefinition \"widget.example.com\" is invalid: metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_are_checked_against_their_schema_and_pruned() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    succeeded(&apply(&cluster, &kubectl, "crd.yaml", &CRD.replace("NAME", "widgets.example.com"), &[]).await);
    let widget = |spec: &str| format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n{spec}");

    refused_with(
        &apply(&cluster, &kubectl, "w.yaml", &widget("  replicas: 1\n  size: big\n"), &[]).await,
        "The Widget \"w\" is invalid: spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"",
    );
    refused_with(
        &apply(&cluster, &kubectl, "w.yaml", &widget("  size: 3\n"), &[]).await,
        "The Widget \"w\" is invalid: spec.replicas: Required value",
    );
    refused_with(
        &apply(&cluster, &kubectl, "w.yaml", &widget("  replicas: 1\n  color: pink\n"), &[]).await,
        "The Widget \"w\" is invalid: spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\"",
    );

    // A field the schema does not know: kubectl's default (strict field validation) has the
    // server refuse it; without validation it is dropped, not stored.
    let valid = widget("  replicas: 2\n  color: red\n  extra: surprise\n  nested:\n    deep: 1\n");
    let strict = apply(&cluster, &kubectl, "w.yaml", &valid, &[]).await;
    assert!(!strict.status.success(), "an unknown field was accepted under strict validation");
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert!(stderr.starts_with("Error from server (BadRequest): error when creating "), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(": Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.extra\", unknown field \"spec.nested\""),
        "{stderr}"
    );
    succeeded(&apply(&cluster, &kubectl, "w.yaml", &valid, &["--validate=false"]).await);
    let stored = kubectl.run(&["get", "widget", "w", "-o", "json"]).await;
    succeeded(&stored);
    let stored: Value = serde_json::from_slice(&stored.stdout).expect("kubectl prints JSON");
    assert_eq!(stored["spec"], serde_json::json!({"replicas": 2, "color": "red"}), "{stored}");
    assert_eq!(stored["metadata"]["name"], "w");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_config_map_keeps_its_data() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let config = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\nimmutable: true\ndata:\n  mode: {value}\n"
        )
    };
    succeeded(&apply(&cluster, &kubectl, "cm.yaml", &config("fast"), &[]).await);
    refused_with(
        &apply(&cluster, &kubectl, "cm.yaml", &config("slow"), &[]).await,
        "The ConfigMap \"settings\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
    );
    let mode = kubectl.ok(&["get", "configmap", "settings", "-o", "jsonpath={.data.mode}"]).await;
    assert_eq!(mode, "fast");
}
