//! A cluster reached through its kubeconfig: an existing cluster (a reef-kubesim API server,
//! which kubectl and helm accept) imported through the API, its nodes and namespaces read, an
//! organization's secret installed into it and checked with the real kubectl, and its health
//! followed while its API server goes away and comes back. The real-cluster tier runs the
//! import against the cluster `REEF_E2E_KUBECONFIG` names.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reef_api_types::{
    ClusterView, CreateClusterRequest, CreateSecretRequest, InstallSecretRequest, Role, UpdateSecretRequest,
};
use reef_client::Client;
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::{NodePool, SimConfig};
use reef_testkit::{find_executable, missing_peer};

use crate::harness::{Options, Reef};

const LIMIT: Duration = Duration::from_secs(60);

async fn existing_cluster(data: &Path) -> SimCluster {
    SimCluster::start(ClusterOptions {
        name: "existing".to_owned(),
        config: SimConfig { node_pools: vec![NodePool::new("pool", 2)], ..SimConfig::default() },
        data_dir: Some(data.to_path_buf()),
    })
    .await
    .unwrap()
}

/// Imports the cluster `kubeconfig` reaches as `name`, with its kubeconfig kept in a secret,
/// and waits until it is running.
pub async fn import(client: &Client, name: &str, kubeconfig: &str) -> ClusterView {
    let secret = CreateSecretRequest {
        name: format!("{name}-kubeconfig"),
        secret_type: "kubeconfig".to_owned(),
        values: BTreeMap::from([("K8Sconfig".to_owned(), kubeconfig.to_owned())]),
        tags: Vec::new(),
    };
    client.create_secret("default", &secret).await.unwrap();
    let spec = CreateClusterRequest {
        name: name.to_owned(),
        provider: "import".to_owned(),
        region: String::new(),
        kubernetes_version: None,
        node_pools: Vec::new(),
        secret: Some(secret.name.clone()),
        labels: BTreeMap::new(),
        options: Default::default(),
    };
    let created = client.create_cluster("default", &spec).await.unwrap();
    let op = client.wait_for_operation("default", &created.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    let cluster = client.get_cluster("default", name).await.unwrap();
    assert_eq!(cluster.status, "running", "{cluster:?}");
    // The version is what the API server reports.
    assert!(cluster.kubernetes_version.is_some(), "{cluster:?}");
    cluster
}

/// Reads the imported cluster's nodes and namespaces through reef's API; every cluster has a
/// node and the `default` and `kube-system` namespaces.
pub async fn nodes_and_namespaces(client: &Client, name: &str) -> (Vec<String>, Vec<String>) {
    let nodes: Vec<String> = client.cluster_nodes("default", name).await.unwrap().into_iter().map(|n| n.name).collect();
    assert!(!nodes.is_empty());
    let namespaces: Vec<String> =
        client.cluster_namespaces("default", name).await.unwrap().into_iter().map(|n| n.name).collect();
    for wanted in ["default", "kube-system"] {
        assert!(namespaces.iter().any(|n| n == wanted), "{namespaces:?}");
    }
    (nodes, namespaces)
}

/// Waits until the cluster is in `status`.
async fn until_status(client: &Client, name: &str, status: &str) -> ClusterView {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let c = client.get_cluster("default", name).await.unwrap();
        if c.status == status {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "never {status}: {c:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `kubectl get secret` of `namespace/name`: its data, decoded, and its labels.
fn kubectl_secret(kubectl: &Path, kubeconfig: &str, namespace: &str, name: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&path)
        .args(["get", "secret", name, "-n", namespace, "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "kubectl get secret: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn decoded(secret: &serde_json::Value) -> BTreeMap<String, String> {
    use base64::Engine as _;
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
            (k.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_cluster_is_read_given_a_secret_and_watched_for_health() {
    let kubectl = find_executable("kubectl", "REEF_KUBECTL", &[]);
    if kubectl.is_none() {
        missing_peer("kubectl", "scripts/test installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = existing_cluster(&dir.path().join("existing")).await;
    let kubeconfig = sim.kubeconfig();
    let reef = Reef::start_with(Options {
        args: ["--cluster-health-seconds", "1"].map(str::to_owned).to_vec(),
        ..Options::default()
    });
    let admin = reef.admin();
    let imported = import(&admin, "existing", &kubeconfig).await;
    assert_eq!(imported.kubernetes_version.as_deref(), reef_kubesim::KUBERNETES_VERSION.strip_prefix('v'));

    let (nodes, _) = nodes_and_namespaces(&admin, "existing").await;
    assert_eq!(nodes, ["pool-0", "pool-1"]);
    let detail = admin.cluster_nodes("default", "existing").await.unwrap();
    assert!(detail.iter().all(|n| n.node_pool.as_deref() == Some("pool") && n.kubelet_version.is_some()), "{detail:?}");

    // An organization's secret, installed as a Kubernetes Secret in a namespace made for it.
    let db = CreateSecretRequest {
        name: "db".to_owned(),
        secret_type: "generic".to_owned(),
        values: BTreeMap::from([
            ("user".to_owned(), "app".to_owned()),
            ("password".to_owned(), "correct horse".to_owned()),
        ]),
        tags: Vec::new(),
    };
    admin.create_secret("default", &db).await.unwrap();
    let req = InstallSecretRequest { secret: "db".to_owned(), namespace: "apps".to_owned(), name: None };
    let done = admin.install_secret("default", "existing", &req).await.unwrap();
    assert!(done.created && done.namespace_created && done.version == 1, "{done:?}");
    assert_eq!(done.keys, ["password", "user"]);
    if let Some(kubectl) = &kubectl {
        let got = kubectl_secret(kubectl, &kubeconfig, "apps", "db");
        assert_eq!(decoded(&got), db.values);
        assert_eq!(got["type"], "Opaque");
        assert_eq!(got["metadata"]["labels"]["app.kubernetes.io/managed-by"], "reef");
    }
    // Installed again after a change: the new version, with exactly its keys.
    let change = UpdateSecretRequest {
        values: Some(BTreeMap::from([("password".to_owned(), "battery staple".to_owned())])),
        tags: None,
        expected_version: None,
    };
    admin.update_secret("default", "db", &change).await.unwrap();
    let req = InstallSecretRequest { name: Some("db-credentials".to_owned()), ..req };
    admin.install_secret("default", "existing", &req).await.unwrap();
    let done = admin.install_secret("default", "existing", &req).await.unwrap();
    assert!(!done.created && !done.namespace_created && done.version == 2, "{done:?}");
    if let Some(kubectl) = &kubectl {
        let got = kubectl_secret(kubectl, &kubeconfig, "apps", "db-credentials");
        assert_eq!(decoded(&got), BTreeMap::from([("password".to_owned(), "battery staple".to_owned())]));
    }
    // Bad input is named; members and viewers may not put secret values into a cluster.
    let bad = InstallSecretRequest { namespace: "Not_A_Namespace".to_owned(), ..req.clone() };
    let e = admin.install_secret("default", "existing", &bad).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(422), Some("invalid_secret_install")), "{e}");
    let missing = InstallSecretRequest { secret: "nope".to_owned(), ..req.clone() };
    assert_eq!(admin.install_secret("default", "existing", &missing).await.unwrap_err().status(), Some(404));
    for role in [Role::Member, Role::Viewer] {
        let name = format!("a-{}", format!("{role:?}").to_lowercase());
        let user = reef.user(&name).await;
        admin.add_member("default", &name, role).await.unwrap();
        let e = user.install_secret("default", "existing", &req).await.unwrap_err();
        assert_eq!(e.status(), Some(403), "{role:?}: {e}");
        // Reading nodes is fine for every role.
        assert_eq!(user.cluster_nodes("default", "existing").await.unwrap().len(), 2);
    }

    // The API server goes away: the health check says so, and reads name the cause.
    sim.stop().await.unwrap();
    let warned = until_status(&admin, "existing", "warning").await;
    assert!(warned.status_message.starts_with("unhealthy: "), "{warned:?}");
    assert!(!warned.health.as_ref().unwrap().healthy, "{warned:?}");
    let e = admin.cluster_nodes("default", "existing").await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(502), Some("api_server_unreachable")), "{e}");
    // It comes back on the same address: the cluster is running again.
    let sim = existing_cluster(&dir.path().join("existing")).await;
    let back = until_status(&admin, "existing", "running").await;
    assert_eq!(back.status_message, "healthy again");
    assert!(back.health.unwrap().healthy);

    // Deleting an imported cluster forgets it and changes nothing in it.
    let deleting = admin.delete_cluster("default", "existing").await.unwrap();
    let op = admin.wait_for_operation("default", &deleting.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    if let Some(kubectl) = &kubectl {
        kubectl_secret(kubectl, &kubeconfig, "apps", "db");
    }
    sim.stop().await.unwrap();
}

/// The real-cluster tier: import the cluster `REEF_E2E_KUBECONFIG` names and read its nodes and
/// namespaces through reef's API. Without the variable there is nothing to run against.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_cluster_is_imported_and_read_through_the_api() {
    let Some(path) = std::env::var_os("REEF_E2E_KUBECONFIG") else {
        eprintln!("skipped: REEF_E2E_KUBECONFIG names no cluster (the real-cluster tier)");
        return;
    };
    let kubeconfig = std::fs::read_to_string(&path).unwrap();
    let reef = Reef::start();
    let admin = reef.admin();
    let cluster = import(&admin, "e2e", &kubeconfig).await;
    let (nodes, namespaces) = nodes_and_namespaces(&admin, "e2e").await;
    eprintln!(
        "{}: Kubernetes {}, nodes {nodes:?}, namespaces {namespaces:?}",
        cluster.name,
        cluster.kubernetes_version.unwrap_or_default()
    );
    let deleting = admin.delete_cluster("default", "e2e").await.unwrap();
    let op = admin.wait_for_operation("default", &deleting.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_refused_credentials_ends_in_error_naming_the_step_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let sim = existing_cluster(&dir.path().join("existing")).await;
    let kubeconfig = sim.kubeconfig();
    let token = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().trim_matches('"').to_owned();
    let reef = Reef::start();
    let admin = reef.admin();
    let secret = CreateSecretRequest {
        name: "stale".to_owned(),
        secret_type: "kubeconfig".to_owned(),
        values: BTreeMap::from([("K8Sconfig".to_owned(), kubeconfig.replace(&token, "revoked-token"))]),
        tags: Vec::new(),
    };
    admin.create_secret("default", &secret).await.unwrap();
    let spec = CreateClusterRequest {
        name: "stale".to_owned(),
        provider: "import".to_owned(),
        region: String::new(),
        kubernetes_version: None,
        node_pools: Vec::new(),
        secret: Some("stale".to_owned()),
        labels: BTreeMap::new(),
        options: Default::default(),
    };
    let created = admin.create_cluster("default", &spec).await.unwrap();
    let op = admin.wait_for_operation("default", &created.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "failed", "{op:?}");
    let got = admin.get_cluster("default", "stale").await.unwrap();
    assert_eq!(got.status, "error", "{got:?}");
    let failure = got.failure.expect("a cluster in error says why");
    assert_eq!((failure.operation, failure.step.as_deref()), (created.operation.id, Some("check_api_server")));
    assert!(failure.error.contains("credentials_refused"), "{failure:?}");
    assert!(!failure.error.contains("revoked-token"), "the error shows the token: {failure:?}");
    // Lists leave it out; the cluster read on its own has it.
    let listed = admin.list_clusters("default", &[], &reef_client::PageQuery::default()).await.unwrap();
    assert!(listed.items[0].failure.is_none());
    sim.stop().await.unwrap();
}
