//! Server-side apply with field ownership, driven by the real kubectl and by raw requests,
//! checked against what a real API server answers (samples 09-11).

use serde_json::{Value, json};

use crate::support::{Cluster, Kubectl};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
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

async fn get(kubectl: &Kubectl) -> Value {
    let out = kubectl.ok(&["get", "deployment", "web", "-o", "json", "--show-managed-fields"]).await;
    serde_json::from_str(&out).unwrap()
}

fn manager<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"].as_array()?.iter().find(|e| e["manager"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_owns_fields_conflicts_and_forces() {
    let cluster = Cluster::start().await;
    let Some(kubectl) = cluster.kubectl() else { return };
    let args = ["apply", "--server-side", "-f", "-"];
    let out = kubectl.run_with_input(&args, DEPLOYMENT).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "deployment.apps/web serverside-applied");
    let obj = get(&kubectl).await;
    let entry = manager(&obj, "kubectl").unwrap_or_else(|| panic!("no apply entry: {obj:#}"));
    assert_eq!(entry["operation"], "Apply");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(
        entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"],
        json!({".": {}, "f:image": {}, "f:name": {},
            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}})
    );
    assert_eq!(entry["fieldsV1"]["f:spec"]["f:replicas"], json!({}));

    // A change by the same manager: no conflict, and a dropped field goes.
    let changed = DEPLOYMENT.replace("nginx:1.25", "nginx:1.26").replace("  replicas: 2\n", "");
    let out = kubectl.run_with_input(&args, &changed).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let obj = get(&kubectl).await;
    assert_eq!(obj["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
    assert!(manager(&obj, "kubectl").unwrap()["fieldsV1"]["f:spec"].get("f:replicas").is_none());

    // Another manager changing the image conflicts.
    let other = changed.replace("nginx:1.26", "nginx:1.27");
    let conflicting = ["apply", "--server-side", "--field-manager=other", "-f", "-"];
    let out = kubectl.run_with_input(&conflicting, &other).await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.template.spec.containers[name=\"nginx\"].image"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(get(&kubectl).await["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");

    // Forced, it takes the image over; the fields with equal values are shared.
    let forced = ["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"];
    let out = kubectl.run_with_input(&forced, &other).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let obj = get(&kubectl).await;
    assert_eq!(obj["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    let nginx = "k:{\"name\":\"nginx\"}";
    let mine = &manager(&obj, "kubectl").unwrap()["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][nginx];
    assert!(mine.get("f:image").is_none(), "{mine}");
    assert!(mine.get("f:name").is_some(), "{mine}");
    let theirs = &manager(&obj, "other").unwrap()["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][nginx];
    assert!(theirs.get("f:image").is_some(), "{theirs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_patches_answer_as_the_real_server_does() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let path = "/api/v1/namespaces/default/configmaps/cm2";
    let yaml = [("Content-Type", "application/apply-patch+yaml")];
    let body = |who: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm2\ndata:\n  k: {who}\n");
    let missing = http.request("PATCH", path, &yaml, body("alice").as_bytes()).await;
    assert_eq!(missing.status, 422, "{}", missing.text());

    let created = http.request("PATCH", &format!("{path}?fieldManager=alice"), &yaml, body("alice").as_bytes()).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let obj = created.json();
    let fields = &obj["metadata"]["managedFields"];
    assert_eq!(fields.as_array().unwrap().len(), 1);
    assert_eq!(fields[0]["manager"], "alice");
    assert_eq!(fields[0]["operation"], "Apply");
    assert_eq!(fields[0]["apiVersion"], "v1");
    assert_eq!(fields[0]["fieldsType"], "FieldsV1");
    assert_eq!(fields[0]["fieldsV1"], json!({"f:data": {"f:k": {}}}));

    let conflict = http.request("PATCH", &format!("{path}?fieldManager=bob"), &yaml, body("bob").as_bytes()).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"alice\": .data.k", "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".data.k"}]},
            "code": 409})
    );

    let forced =
        http.request("PATCH", &format!("{path}?fieldManager=bob&force=true"), &yaml, body("bob").as_bytes()).await;
    assert_eq!(forced.status, 200, "{}", forced.text());
    let obj = forced.json();
    assert_eq!(obj["data"], json!({"k": "bob"}));
    let fields = obj["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "alice owns nothing any more: {fields:?}");
    assert_eq!(fields[0]["manager"], "bob");
    assert_eq!(fields[0]["fieldsV1"], json!({"f:data": {"f:k": {}}}));

    // An update records what it changed, under its manager (here the user agent's first part).
    let merge = [("Content-Type", "application/merge-patch+json"), ("User-Agent", "curl/8.0")];
    let patched = http.request("PATCH", path, &merge, br#"{"data":{"k":"carol","n":"1"}}"#).await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let obj = patched.json();
    let fields = obj["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "bob lost .data.k to the update: {fields:?}");
    assert_eq!(fields[0]["manager"], "curl");
    assert_eq!(fields[0]["operation"], "Update");
    assert_eq!(fields[0]["fieldsV1"], json!({"f:data": {"f:k": {}, "f:n": {}}}));
}
