//! The wire, checked against the real API server's answers (`shared/specs/kubernetes-1.28/`):
//! status codes, content types, Status bodies, discovery negotiation, watch streams.

use serde_json::json;

use crate::support::Cluster;

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_V2BETA1: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

#[tokio::test]
async fn a_request_without_the_token_gets_the_real_401_status() {
    let cluster = Cluster::start().await;
    let mut http = cluster.http();
    for token in [None, Some("wrong".to_owned())] {
        http.token = token;
        let r = http.get("/api/v1/namespaces", &[]).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.json(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        );
    }
}

#[tokio::test]
async fn discovery_answers_in_the_format_the_accept_header_asks_for() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    // What client-go sends: v2 first, then v2beta1, then plain JSON.
    let kubectl_accept = format!("{AGGREGATED_V2},{AGGREGATED_V2BETA1},application/json");
    let r = http.get("/apis", &[("Accept", &kubectl_accept)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(AGGREGATED_V2));
    let list = r.json();
    assert_eq!(list["kind"], "APIGroupDiscoveryList");
    assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2");
    let apps = list["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").expect("apps group");
    let deployments =
        apps["versions"][0]["resources"].as_array().unwrap().iter().find(|r| r["resource"] == "deployments").unwrap();
    assert_eq!(deployments["shortNames"], json!(["deploy"]));

    let r = http.get("/api", &[("Accept", &format!("{AGGREGATED_V2BETA1},application/json"))]).await;
    assert_eq!(r.header("content-type"), Some(AGGREGATED_V2BETA1));
    assert_eq!(r.json()["apiVersion"], "apidiscovery.k8s.io/v2beta1");

    let r = http.get("/api", &[("Accept", "application/json")]).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["kind"], "APIVersions");
    assert_eq!(r.json()["versions"], json!(["v1"]));

    let groups = http.get("/apis", &[]).await.json();
    assert_eq!(groups["kind"], "APIGroupList");
    let autoscaling = groups["groups"].as_array().unwrap().iter().find(|g| g["name"] == "autoscaling").unwrap();
    assert_eq!(autoscaling["preferredVersion"]["groupVersion"], "autoscaling/v2");

    let apps_v1 = http.get("/apis/apps/v1", &[]).await.json();
    assert_eq!(apps_v1["kind"], "APIResourceList");
    let names: Vec<&str> = apps_v1["resources"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.contains(&"deployments/status") && names.contains(&"deployments/scale"), "{names:?}");
    assert_eq!(http.get("/apis/apps/v7", &[]).await.status, 404);

    let version = http.get("/version", &[]).await.json();
    assert_eq!(version["gitVersion"], reef_kubesim::KUBERNETES_VERSION);
}

#[tokio::test]
async fn errors_are_status_objects_with_the_real_codes() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let r = http.get("/api/v1/namespaces/default/configmaps/nope", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "configmaps \"nope\" not found", "reason": "NotFound", "details": {"name": "nope", "kind": "configmaps"}, "code": 404})
    );
    // A namespaced path for a cluster-scoped kind, and the other way round, name nothing.
    assert_eq!(http.get("/api/v1/namespaces/default/nodes", &[]).await.status, 404);
    assert_eq!(http.get("/api/v1/configmaps/x", &[]).await.status, 404);
    // Listing a namespaced kind across namespaces is fine.
    assert_eq!(http.get("/api/v1/configmaps", &[]).await.json()["kind"], "ConfigMapList");
    assert_eq!(http.get("/apis/nothing.example/v1/things", &[]).await.status, 404);

    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"},"data":{"a":"1"}}"#;
    let created = http
        .request("POST", "/api/v1/namespaces/default/configmaps", &[("Content-Type", "application/json")], body)
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.header("content-type"), Some("application/json"));
    let again = http
        .request("POST", "/api/v1/namespaces/default/configmaps", &[("Content-Type", "application/json")], body)
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["reason"], "AlreadyExists");

    let bad_patch = http
        .request("PATCH", "/api/v1/namespaces/default/configmaps/cm1", &[("Content-Type", "text/plain")], b"{}")
        .await;
    assert_eq!(bad_patch.status, 415);
    assert_eq!(bad_patch.json()["reason"], "UnsupportedMediaType");
}

#[tokio::test]
async fn patches_dry_runs_and_server_side_apply_over_http() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"},"data":{"a":"1"}}"#;
    http.request("POST", "/api/v1/namespaces/default/configmaps", &[("Content-Type", "application/json")], cm).await;
    let merged = http
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm1",
            &[("Content-Type", "application/merge-patch+json")],
            br#"{"data":{"b":"2"}}"#,
        )
        .await;
    assert_eq!(merged.status, 200);
    assert_eq!(merged.json()["data"], json!({"a": "1", "b": "2"}));

    let dry = http
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            &[("Content-Type", "application/json")],
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}"#,
        )
        .await;
    assert_eq!(dry.status, 201);
    assert!(dry.json()["metadata"].get("resourceVersion").is_none());
    assert_eq!(http.get("/api/v1/namespaces/default/configmaps/dry", &[]).await.status, 404);

    let apply = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm2\ndata:\n  k: alice\n";
    let no_manager = http
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm2",
            &[("Content-Type", "application/apply-patch+yaml")],
            apply,
        )
        .await;
    assert_eq!(no_manager.status, 422);
    let applied = http
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm2?fieldManager=alice",
            &[("Content-Type", "application/apply-patch+yaml")],
            apply,
        )
        .await;
    assert_eq!(applied.status, 201, "{}", applied.text());
    assert_eq!(applied.json()["data"]["k"], "alice");
    let reapplied = http
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm2?fieldManager=alice",
            &[("Content-Type", "application/apply-patch+yaml")],
            apply,
        )
        .await;
    assert_eq!(reapplied.status, 200);

    let deleted = http
        .request(
            "DELETE",
            "/api/v1/namespaces/default/configmaps/cm1",
            &[("Content-Type", "application/json")],
            br#"{"propagationPolicy":"Background"}"#,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["status"], "Success");
    assert_eq!(deleted.json()["details"]["name"], "cm1");
}

#[tokio::test]
async fn a_watch_streams_one_json_event_per_line_until_its_timeout() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w1"},"data":{"x":"1"}}"#;
    let created = http
        .request("POST", "/api/v1/namespaces/default/configmaps", &[("Content-Type", "application/json")], cm)
        .await
        .json();
    let rv: u64 = created["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    http.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/w1",
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"data":{"x":"2"}}"#,
    )
    .await;
    http.request("DELETE", "/api/v1/namespaces/default/configmaps/w1", &[], b"").await;
    // Watching from before the create replays the three changes, then ends after
    // timeoutSeconds with a bookmark.
    let path = format!(
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={}&allowWatchBookmarks=true&timeoutSeconds=1",
        rv - 1
    );
    let r = http.get(&path, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("{\"type\":")), "{text}");
    let events: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"], "{text}");
    assert_eq!(events[1]["object"]["data"]["x"], "2");

    // The /watch/ path form, for one object by name.
    let r = http.get("/api/v1/watch/namespaces/default/configmaps/w1?timeoutSeconds=1", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "");
}

#[tokio::test]
async fn openapi_documents_describe_every_kind() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    let index = http.get("/openapi/v3", &[]).await.json();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().expect("apps/v1 in the v3 index");
    let doc = http.get(url, &[]).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.0.0");
    let deployment = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    assert!(
        http.get("/openapi/v3/api/v1", &[]).await.json()["components"]["schemas"]
            .get("io.k8s.api.core.v1.ConfigMap")
            .is_some()
    );

    // client-go asks for the protobuf form only.
    let proto = http.get("/openapi/v2", &[("Accept", reef_kubesim::openapi::V2_PROTOBUF)]).await;
    assert_eq!(proto.status, 200);
    assert_eq!(proto.header("content-type"), Some(reef_kubesim::openapi::V2_PROTOBUF_CONTENT_TYPE));
    assert!(proto.body.starts_with(b"\x0a\x032.0"), "field 1 (swagger) comes first");
    assert!(proto.body.windows(b"io.k8s.api.apps.v1.Deployment".len()).any(|w| w == b"io.k8s.api.apps.v1.Deployment"));
    assert_eq!(http.get("/openapi/v2", &[("Accept", "text/html")]).await.status, 406);
    let v2 = http.get("/openapi/v2", &[("Accept", "application/json")]).await;
    assert_eq!(v2.status, 200);
    assert_eq!(v2.json()["swagger"], "2.0");
    assert!(v2.json()["definitions"].get("io.k8s.api.core.v1.Pod").is_some());
}

#[tokio::test]
async fn a_protobuf_body_is_decoded_like_client_go_sends_it() {
    let cluster = Cluster::start().await;
    let http = cluster.http();
    use reef_kubesim::protobuf::{Writer, envelope};
    let mut w = Writer::default();
    w.msg(1, |m| {
        m.str(1, "from-proto").str(3, "").msg(8, |_| {});
    });
    w.msg(2, |e| {
        e.str(1, "k").str(2, "v");
    });
    let body = envelope("v1", "ConfigMap", &w.buf);
    let r = http
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "application/vnd.kubernetes.protobuf")],
            &body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["data"], json!({"k": "v"}));
    let unknown = envelope("example.com/v1", "Widget", &[]);
    let r = http
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "application/vnd.kubernetes.protobuf")],
            &unknown,
        )
        .await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn a_stopped_server_refuses_connections() {
    let cluster = Cluster::start().await;
    let port = cluster.server.port();
    assert_eq!(cluster.http().get("/healthz", &[]).await.text(), "ok");
    cluster.server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err());
}
