//! Clusters through the API: a `local` cluster created, followed through its operation, used
//! with the real kubectl, and deleted; specs the provider cannot make refused at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reef_api_types::{CreateClusterRequest, NodePoolSpec, UpdateClusterRequest};
use reef_client::PageQuery;
use reef_testkit::{find_executable, missing_peer};
use reqwest::Method;

use crate::harness::Reef;

const LIMIT: Duration = Duration::from_secs(120);

pub fn pool(name: &str, instance_type: &str, count: u32) -> NodePoolSpec {
    NodePoolSpec {
        name: name.to_owned(),
        instance_type: instance_type.to_owned(),
        count,
        min: None,
        max: None,
        autoscaling: false,
        spot: false,
        labels: BTreeMap::new(),
        taints: Vec::new(),
        disk_size_gib: None,
    }
}

pub fn spec(name: &str, pools: Vec<NodePoolSpec>) -> CreateClusterRequest {
    CreateClusterRequest {
        name: name.to_owned(),
        provider: "local".to_owned(),
        region: "local".to_owned(),
        kubernetes_version: None,
        node_pools: pools,
        secret: None,
        labels: BTreeMap::from([("env".to_owned(), "test".to_owned())]),
        options: Default::default(),
    }
}

fn kubectl_nodes(kubectl: &Path, kubeconfig: &Path) -> Vec<String> {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl get nodes: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_local_cluster_is_created_used_with_kubectl_and_deleted_through_the_api() {
    let kubectl = find_executable("kubectl", "REEF_KUBECTL", &[]);
    if kubectl.is_none() {
        // Fails here when peers are required; otherwise the API is still checked.
        missing_peer("kubectl", "scripts/test installs it");
    }
    let reef = Reef::start();
    let admin = reef.admin();

    let providers = admin.providers().await.unwrap();
    let local = providers.iter().find(|p| p.provider == "local").expect("the local provider");
    assert!(local.instance_types.iter().any(|t| t.name == "small"), "{local:?}");

    let req = spec("dev", vec![pool("workers", "small", 2), pool("gpu", "medium", 1)]);
    let created = admin.create_cluster("default", &req).await.unwrap();
    assert_eq!(created.cluster.status, "pending");
    assert_eq!(created.cluster.operation, Some(created.operation.id));
    let op_id = created.operation.id.to_string();
    let op = admin.wait_for_operation("default", &op_id, LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    assert!(op.steps.iter().all(|s| s.status == "done" && s.duration_ms.is_some()), "{op:?}");
    assert_eq!(op.eta_seconds, None);

    let cluster = admin.get_cluster("default", "dev").await.unwrap();
    assert_eq!((cluster.id, cluster.status.as_str()), (created.cluster.id, "running"));
    let endpoint = cluster.endpoint.clone().expect("an endpoint");
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let listed = admin.list_clusters("default", &[("label", "env=test")], &PageQuery::default()).await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [cluster.id]);
    // Several labels, all of which must match.
    let both = admin.list_clusters("default", &[("label", "env=test,env=test")], &PageQuery::default()).await.unwrap();
    assert_eq!(both.items.len(), 1, "{both:?}");
    let other = admin.list_clusters("default", &[("label", "env=test,team=x")], &PageQuery::default()).await.unwrap();
    assert!(other.items.is_empty(), "{other:?}");
    let err = admin.list_clusters("default", &[("label", "env=test,nokey")], &PageQuery::default()).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("invalid_label")), "{err:?}");
    let none = admin.list_clusters("default", &[("status", "error")], &PageQuery::default()).await.unwrap();
    assert!(none.items.is_empty(), "{none:?}");

    let kubeconfig = admin.cluster_kubeconfig("default", &cluster.id.to_string()).await.unwrap();
    assert!(kubeconfig.contains(&endpoint), "{kubeconfig}");
    if let Some(kubectl) = kubectl {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, &kubeconfig).unwrap();
        let nodes = kubectl_nodes(&kubectl, &path);
        assert_eq!(nodes.len(), 3, "{nodes:?}");
        assert_eq!(nodes.iter().filter(|n| n.contains("workers")).count(), 2, "{nodes:?}");
        assert_eq!(nodes.iter().filter(|n| n.contains("gpu")).count(), 1, "{nodes:?}");
    }

    // Update: the workers pool grows to 3, the gpu pool goes, a label changes.
    let change = UpdateClusterRequest {
        node_pools: Some(vec![pool("workers", "small", 3)]),
        labels: Some(BTreeMap::from([("env".to_owned(), "prod".to_owned())])),
        ..UpdateClusterRequest::default()
    };
    let updating = admin.update_cluster("default", "dev", &change).await.unwrap();
    let op = admin.wait_for_operation("default", &updating.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    let updated = admin.get_cluster("default", "dev").await.unwrap();
    assert_eq!((updated.status.as_str(), updated.node_pools.len()), ("running", 1), "{updated:?}");
    assert_eq!(updated.labels.get("env").map(String::as_str), Some("prod"));
    if let Some(kubectl) = find_executable("kubectl", "REEF_KUBECTL", &[]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, &kubeconfig).unwrap();
        let nodes = kubectl_nodes(&kubectl, &path);
        assert_eq!(nodes.len(), 3, "{nodes:?}");
        assert!(nodes.iter().all(|n| n.contains("workers")), "{nodes:?}");
    }
    // A change the provider cannot make is refused at once, its field named.
    let reshape =
        UpdateClusterRequest { node_pools: Some(vec![pool("workers", "large", 3)]), ..UpdateClusterRequest::default() };
    let err = admin.update_cluster("default", "dev", &reshape).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(422), Some("invalid_cluster_spec")), "{err:?}");

    let deleting = admin.delete_cluster("default", "dev").await.unwrap();
    let op = admin.wait_for_operation("default", &deleting.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    let gone = admin.get_cluster("default", &cluster.id.to_string()).await.unwrap();
    assert_eq!(gone.status, "deleted");
    let err = admin.get_cluster("default", "dev").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = admin.cluster_kubeconfig("default", &cluster.id.to_string()).await.unwrap_err();
    assert_eq!(err.code(), Some("no_kubeconfig"));
}

#[tokio::test]
async fn a_spec_that_cannot_be_made_is_refused_with_a_problem_per_field() {
    let reef = Reef::start();
    let admin = reef.admin();
    let body = serde_json::json!({
        "name": "Not A Name",
        "provider": "local",
        "node_pools": [{"name": "workers", "instance_type": "small", "count": 1}],
    });
    let (status, text) = admin.raw(Method::POST, "/api/v1/orgs/default/clusters", Some(body)).await.unwrap();
    assert_eq!(status, 422, "{text}");
    let problem: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["code"], "invalid_cluster_spec");
    assert_eq!(problem["problems"][0]["field"], "name", "{problem}");

    let err = admin.create_cluster("default", &spec("dev", vec![pool("workers", "huge", 1)])).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(422), Some("invalid_cluster_spec")));
    let reef_client::ClientError::Api { problem, .. } = err else { panic!("not a problem answer: {err}") };
    assert_eq!(problem.problems[0].field, "node_pools[0].instance_type");

    let mut elsewhere = spec("dev", vec![pool("workers", "small", 1)]);
    elsewhere.provider = "nowhere".to_owned();
    let err = admin.create_cluster("default", &elsewhere).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(422), Some("unknown_provider")));

    // Nothing was recorded.
    let all = admin.list_clusters("default", &[], &PageQuery::default()).await.unwrap();
    assert!(all.items.is_empty(), "{all:?}");
}

#[tokio::test]
async fn a_viewer_sees_a_cluster_but_not_its_kubeconfig_and_another_organization_sees_nothing() {
    let reef = Reef::start();
    let admin = reef.admin();
    let viewer = reef.user("vera").await;
    admin.add_member("default", "vera", reef_api_types::Role::Viewer).await.unwrap();
    let outsider = reef.user("otto").await;
    outsider.create_org("elsewhere").await.unwrap();

    let created = admin.create_cluster("default", &spec("dev", vec![pool("workers", "small", 1)])).await.unwrap();
    let op = admin.wait_for_operation("default", &created.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");

    assert_eq!(viewer.get_cluster("default", "dev").await.unwrap().status, "running");
    let err = viewer.cluster_kubeconfig("default", "dev").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(403), Some("forbidden")));
    let err = viewer.create_cluster("default", &spec("other", vec![pool("workers", "small", 1)])).await.unwrap_err();
    assert_eq!(err.status(), Some(403));

    let id = created.cluster.id.to_string();
    let op = created.operation.id.to_string();
    for org in ["default", "elsewhere"] {
        assert_eq!(outsider.get_cluster(org, &id).await.unwrap_err().status(), Some(404));
        assert_eq!(outsider.cluster_kubeconfig(org, &id).await.unwrap_err().status(), Some(404));
        assert_eq!(outsider.get_operation(org, &op).await.unwrap_err().status(), Some(404));
        assert_eq!(outsider.delete_cluster(org, &id).await.unwrap_err().status(), Some(404));
    }
}

#[tokio::test]
async fn the_cli_creates_a_cluster_from_a_spec_file_waits_for_it_and_deletes_it() {
    let reef = Reef::start();
    let cli = crate::harness::Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("cluster.yaml");
    std::fs::write(
        &spec,
        "name: dev\nprovider: local\nregion: local\nnode_pools:\n  - name: workers\n    instance_type: small\n    count: 2\nlabels: {env: cli}\n",
    )
    .unwrap();

    let out = cli.run(&["cluster", "create", "-f", spec.to_str().unwrap(), "--wait", "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The progress names every step as it ends.
    for step in ["begin", "start_api_server", "create_node_pools", "wait_for_nodes", "save_kubeconfig", "finish"] {
        assert!(stderr.contains(step), "{step} missing from the progress:\n{stderr}");
    }
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["status"], "running", "{created}");

    let listed = cli.json(&["cluster", "list", "--label", "env=cli"]);
    assert_eq!(listed["items"][0]["name"], "dev", "{listed}");
    let table = cli.ok(&["cluster", "list"]);
    assert!(table.contains("dev") && table.contains("running"), "{table}");
    let got = cli.json(&["cluster", "get", "dev"]);
    assert_eq!(got["id"], created["id"]);
    let operation = got["operation"].as_str().unwrap().to_owned();
    let op = cli.json(&["operation", "get", &operation]);
    assert_eq!(op["status"], "succeeded", "{op}");

    let kubeconfig = dir.path().join("kubeconfig");
    cli.ok(&["cluster", "kubeconfig", "dev", "-f", kubeconfig.to_str().unwrap()]);
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(text.contains(got["endpoint"].as_str().unwrap()), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(cli.ok(&["cluster", "kubeconfig", "dev"]), text);

    let err = cli.fails(&["cluster", "create", "-f", spec.to_str().unwrap()]);
    assert!(err.contains("name_taken") || err.contains("already exists"), "{err}");

    let change = dir.path().join("change.yaml");
    std::fs::write(&change, "node_pools:\n  - name: workers\n    instance_type: small\n    count: 3\n").unwrap();
    let out = cli.run(&["cluster", "update", "dev", "-f", change.to_str().unwrap(), "--wait", "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resize_node_pools"), "{stderr}");
    let changed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changed["node_pools"][0]["count"], 3, "{changed}");
    // `operation watch` follows an operation (here one that has ended) to its end.
    let update_op = changed["operation"].as_str().unwrap().to_owned();
    let watched = cli.run(&["operation", "watch", &update_op]);
    assert!(watched.status.success(), "{}", String::from_utf8_lossy(&watched.stderr));
    assert!(String::from_utf8_lossy(&watched.stdout).contains("resize_node_pools"));

    // Nodes and namespaces, read from the cluster's API server.
    let nodes = cli.ok(&["cluster", "nodes", "dev"]);
    assert_eq!(nodes.lines().filter(|l| l.starts_with("workers-") && l.contains("Ready")).count(), 3, "{nodes}");
    let namespaces = cli.json(&["cluster", "namespaces", "dev"]);
    assert!(namespaces.as_array().unwrap().iter().any(|n| n["name"] == "kube-system"), "{namespaces}");
    // A secret of the organization, installed into the cluster.
    cli.ok(&["secret", "create", "token", "--type", "generic", "--field", "token=abc"]);
    let installed = cli.json(&["cluster", "install-secret", "dev", "token", "--namespace", "apps"]);
    assert_eq!((installed["namespace"].as_str(), installed["keys"][0].as_str()), (Some("apps"), Some("token")));

    let history = cli.json(&["cluster", "history", "dev"]);
    let moves: Vec<(&str, &str)> =
        history.as_array().unwrap().iter().map(|c| (c["to"].as_str().unwrap(), c["cause"].as_str().unwrap())).collect();
    assert_eq!(
        moves,
        [
            ("pending", "requested"),
            ("creating", "creating"),
            ("running", "created"),
            ("updating", "updating"),
            ("running", "updated")
        ]
    );

    let out = cli.run(&["cluster", "delete", "dev", "--wait", "--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Deleted cluster `dev`."));
    let gone = cli.json(&["cluster", "get", created["id"].as_str().unwrap()]);
    assert_eq!(gone["status"], "deleted", "{gone}");
    let err = cli.fails(&["operation", "cancel", &operation]);
    assert!(err.contains("operation_ended") || err.contains("ended"), "{err}");
}

#[tokio::test]
async fn an_operation_streams_its_progress_as_server_sent_events_until_it_ends() {
    let reef = Reef::start();
    let admin = reef.admin();
    let created = admin.create_cluster("default", &spec("streamed", vec![pool("workers", "small", 1)])).await.unwrap();
    let url = format!("{}/api/v1/orgs/default/operations/{}/events", reef.url, created.operation.id);
    let http = reqwest::Client::new();
    let resp = http.get(&url).bearer_auth(&reef.admin_token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    // The stream closes by itself once the operation has ended.
    let body = tokio::time::timeout(LIMIT, resp.text()).await.expect("the stream ends").unwrap();
    let events: Vec<serde_json::Value> = body
        .split("\n\n")
        .filter(|block| block.lines().any(|l| l == "event: operation"))
        .map(|block| {
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).expect("data");
            serde_json::from_str(data).unwrap()
        })
        .collect();
    assert!(events.len() >= 3, "{body}");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "succeeded", "{last}");
    // Each event shows at least as many steps done as the one before.
    let done = |e: &serde_json::Value| e["steps"].as_array().unwrap().iter().filter(|s| s["status"] == "done").count();
    assert!(events.windows(2).all(|w| done(&w[0]) <= done(&w[1])), "{body}");
    assert_eq!(done(last), 6);

    // Another organization's caller, or an unknown operation, gets 404 before any stream.
    let unknown = format!("{}/api/v1/orgs/default/operations/{}/events", reef.url, reef_core::WorkflowId::new());
    let resp = http.get(&unknown).bearer_auth(&reef.admin_token).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}
