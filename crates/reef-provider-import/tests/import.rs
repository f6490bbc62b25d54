//! The import provider against a real API server (a reef-kubesim cluster): what it learns of a
//! cluster, and the error of each way a kubeconfig can fail.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::{ClusterId, ClusterSpec, OrgId};
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::{NodePool, SimConfig};
use reef_provider::{Call, Credentials, Operation, Provider, Retry};
use reef_provider_import::{ImportOptions, ImportProvider, KUBECONFIG_FIELD};

async fn cluster(nodes: u32) -> SimCluster {
    SimCluster::start(ClusterOptions {
        name: "existing".to_owned(),
        config: SimConfig { node_pools: vec![NodePool::new("pool", nodes)], ..SimConfig::default() },
        data_dir: None,
    })
    .await
    .unwrap()
}

fn provider() -> ImportProvider {
    ImportProvider::new(ImportOptions { timeout: Duration::from_secs(3) })
}

fn spec() -> ClusterSpec {
    serde_json::from_value(serde_json::json!({"name": "existing", "provider": "import", "secret": "prod-kubeconfig"}))
        .unwrap()
}

fn credentials(kubeconfig: &str) -> Credentials {
    Credentials(BTreeMap::from([(KUBECONFIG_FIELD.to_owned(), kubeconfig.to_owned())]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_cluster_is_checked_through_its_kubeconfig() {
    let sim = cluster(2).await;
    let p = provider();
    let kubeconfig = sim.kubeconfig();
    // Nodes become Ready within a controller pass or two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let facts = loop {
        let facts = p.check(&kubeconfig).await.unwrap();
        if facts.ready_nodes == 2 || tokio::time::Instant::now() > deadline {
            break facts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((facts.version.as_str(), facts.nodes, facts.ready_nodes), (reef_kubesim::KUBERNETES_VERSION, 2, 2));

    let spec = spec();
    let creds = credentials(&kubeconfig);
    let outputs = BTreeMap::new();
    let call = Call {
        org: OrgId::new(),
        cluster: ClusterId::new(),
        spec: &spec,
        credentials: Some(&creds),
        previous: None,
        outputs: &outputs,
    };
    p.preflight(call).await.unwrap();
    let out = p.run(Operation::Create, "check_api_server", call).await.unwrap();
    assert_eq!(out["nodes"], 2);
    assert_eq!(p.kubeconfig(call).await.unwrap(), kubeconfig);
    // Deleting an imported cluster changes nothing in it.
    assert!(p.steps(Operation::Delete).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_a_kubeconfig_fails_has_its_own_error() {
    let sim = cluster(1).await;
    let p = provider();
    let kubeconfig = sim.kubeconfig();

    let token = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().trim_matches('"').to_owned();
    let wrong = kubeconfig.replace(&token, "not-the-token");
    let e = p.check(&wrong).await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Permanent, "credentials_refused"), "{e}");
    assert!(e.message.contains("update the cluster's kubeconfig secret"), "{e}");
    assert!(!e.to_string().contains("not-the-token"), "the error shows the token: {e}");

    let e = p.check("this: is: not yaml: [").await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Permanent, "kubeconfig_invalid"), "{e}");

    sim.stop().await.unwrap();
    let e = p.check(&kubeconfig).await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Transient, "api_server_unreachable"), "{e}");

    let spec = spec();
    let outputs = BTreeMap::new();
    let call = Call {
        org: OrgId::new(),
        cluster: ClusterId::new(),
        spec: &spec,
        credentials: None,
        previous: None,
        outputs: &outputs,
    };
    let e = p.preflight(call).await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Permanent, "kubeconfig_missing"), "{e}");
    let other = Credentials(BTreeMap::from([("token".to_owned(), "x".to_owned())]));
    let call = Call { credentials: Some(&other), ..call };
    assert_eq!(p.preflight(call).await.unwrap_err().code, "kubeconfig_missing");
}

#[tokio::test]
async fn an_import_spec_with_node_pools_is_refused_before_anything_happens() {
    let catalog = provider().catalog().await.unwrap();
    assert_eq!(catalog.check(&spec()), []);
    let with_pools: ClusterSpec = serde_json::from_value(serde_json::json!({
        "name": "existing", "provider": "import", "kubernetes_version": "1.30",
        "node_pools": [{"name": "a", "instance_type": "m5.large", "count": 1}]
    }))
    .unwrap();
    let fields: Vec<String> = catalog.check(&with_pools).into_iter().map(|p| p.field).collect();
    assert_eq!(fields, ["node_pools"]);
}
