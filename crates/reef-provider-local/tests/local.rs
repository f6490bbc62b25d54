//! The local provider's steps against real simulated clusters: what they make, that each can
//! run twice, that each undo removes what its step made, and that clusters come back after a
//! restart of the process (a new provider on the same data directory).

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::{ClusterId, ClusterSpec, OrgId};
use reef_provider::{Call, Operation, Provider};
use reef_provider_local::{LocalOptions, LocalProvider};
use serde_json::Value;

fn spec() -> ClusterSpec {
    serde_json::from_value(serde_json::json!({
        "name": "dev",
        "provider": "local",
        "region": "local",
        "node_pools": [
            {"name": "web", "instance_type": "small", "count": 2, "labels": {"tier": "web"}},
            {"name": "batch", "instance_type": "large", "count": 1,
             "taints": [{"key": "batch", "value": "yes", "effect": "NoSchedule"}]}
        ]
    }))
    .unwrap()
}

fn provider(dir: &std::path::Path) -> LocalProvider {
    LocalProvider::new(LocalOptions {
        data_dir: Some(dir.to_path_buf()),
        step_delay: Duration::from_millis(1),
        nodes_timeout: Duration::from_secs(20),
    })
}

/// Runs every step of `operation` in order (each `times` times), recording outputs.
async fn run_all(
    p: &LocalProvider,
    operation: Operation,
    cluster: ClusterId,
    spec: &ClusterSpec,
    outputs: &mut BTreeMap<String, Value>,
    times: usize,
) {
    for step in p.steps(operation) {
        for _ in 0..times {
            let call = Call { org: OrgId::new(), cluster, spec, credentials: None, previous: None, outputs };
            let out = p.run(operation, step, call).await.unwrap_or_else(|e| panic!("{step}: {e}"));
            outputs.insert((*step).to_owned(), out);
        }
    }
}

fn kubeconfig_server(kubeconfig: &str) -> String {
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("the kubeconfig names its server")
        .trim_matches('"')
        .to_owned()
}

#[tokio::test]
async fn the_catalog_refuses_what_local_does_not_offer() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = provider(dir.path()).catalog().await.unwrap();
    assert_eq!(catalog.check(&spec()), []);
    let mut bad = spec();
    bad.node_pools[0].instance_type = "huge".to_owned();
    bad.region = "mars".to_owned();
    let fields: Vec<String> = catalog.check(&bad).into_iter().map(|p| p.field).collect();
    assert_eq!(fields, ["region", "node_pools[0].instance_type"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_makes_a_cluster_whose_nodes_follow_its_pools_and_that_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = ClusterId::new();
    let spec = spec();
    let mut outputs = BTreeMap::new();
    {
        let p = provider(dir.path());
        // Every step twice: each finds what its first run did.
        run_all(&p, Operation::Create, cluster, &spec, &mut outputs, 2).await;
        assert_eq!(outputs["wait_for_nodes"]["ready_nodes"], 3);
        assert_eq!(p.running_clusters().await, [cluster]);
        let call =
            Call { org: OrgId::new(), cluster, spec: &spec, credentials: None, previous: None, outputs: &outputs };
        let kubeconfig = p.kubeconfig(call).await.unwrap();
        assert_eq!(Some(kubeconfig_server(&kubeconfig)), p.endpoint(cluster).await);
        // The process stops; the cluster's state is saved.
        drop(p);
    }
    let p = provider(dir.path());
    assert!(p.running_clusters().await.is_empty());
    // Its kubeconfig brings it back, nodes and all.
    let call = Call { org: OrgId::new(), cluster, spec: &spec, credentials: None, previous: None, outputs: &outputs };
    p.kubeconfig(call).await.unwrap();
    run_all(&p, Operation::Create, cluster, &spec, &mut outputs, 1).await;
    assert_eq!(outputs["wait_for_nodes"]["ready_nodes"], 3);

    // Delete, twice over: nothing is left, not even its state.
    run_all(&p, Operation::Delete, cluster, &spec, &mut outputs, 2).await;
    assert!(p.running_clusters().await.is_empty());
    assert!(!dir.path().join(cluster.to_string()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_the_create_steps_latest_first_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path());
    let spec = spec();
    for done in 1..=p.steps(Operation::Create).len() {
        let cluster = ClusterId::new();
        let mut outputs = BTreeMap::new();
        for step in &p.steps(Operation::Create)[..done] {
            let call =
                Call { org: OrgId::new(), cluster, spec: &spec, credentials: None, previous: None, outputs: &outputs };
            let out = p.run(Operation::Create, step, call).await.unwrap();
            outputs.insert((*step).to_owned(), out);
        }
        for step in p.steps(Operation::Create)[..done].iter().rev() {
            let call =
                Call { org: OrgId::new(), cluster, spec: &spec, credentials: None, previous: None, outputs: &outputs };
            p.undo(Operation::Create, step, call, outputs[*step].clone()).await.unwrap();
            // Undos are idempotent.
            let call =
                Call { org: OrgId::new(), cluster, spec: &spec, credentials: None, previous: None, outputs: &outputs };
            p.undo(Operation::Create, step, call, outputs[*step].clone()).await.unwrap();
        }
        assert!(p.running_clusters().await.is_empty(), "after {done} steps");
        assert!(!dir.path().join(cluster.to_string()).exists(), "after {done} steps");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_resizes_adds_and_removes_pools_and_its_undo_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path());
    let cluster = ClusterId::new();
    let before = spec();
    let mut outputs = BTreeMap::new();
    run_all(&p, Operation::Create, cluster, &before, &mut outputs, 1).await;
    assert_eq!(outputs["wait_for_nodes"]["ready_nodes"], 3);

    let mut after = before.clone();
    after.node_pools[0].count = 4;
    after.node_pools.remove(1);
    let mut gpu = after.node_pools[0].clone();
    gpu.name = "gpu".parse().unwrap();
    gpu.count = 1;
    after.node_pools.push(gpu);
    let mut updated = BTreeMap::new();
    for step in p.steps(Operation::Update) {
        // Twice: each step finds what its first run did.
        for _ in 0..2 {
            let call = Call {
                org: OrgId::new(),
                cluster,
                spec: &after,
                credentials: None,
                previous: Some(&before),
                outputs: &updated,
            };
            let out = p.run(Operation::Update, step, call).await.unwrap();
            updated.insert((*step).to_owned(), out);
        }
    }
    assert_eq!(updated["wait_for_nodes"]["ready_nodes"], 5);

    // Undone, the cluster has its previous pools again.
    let call = Call {
        org: OrgId::new(),
        cluster,
        spec: &after,
        credentials: None,
        previous: Some(&before),
        outputs: &updated,
    };
    p.undo(Operation::Update, "resize_node_pools", call, updated["resize_node_pools"].clone()).await.unwrap();
    let call = Call { org: OrgId::new(), cluster, spec: &before, credentials: None, previous: None, outputs: &outputs };
    let out = p.run(Operation::Create, "wait_for_nodes", call).await.unwrap();
    assert_eq!(out["ready_nodes"], 3);
}
