//! A version upgrade against a local EKS that checks every request and answer against EKS's
//! service model (moto has no `UpdateClusterVersion` or `DescribeUpdate`): the control plane
//! first, then each node group, each waited on until EKS says it succeeded; a failed node
//! group upgrade ends the step with EKS's error.

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::KubernetesVersion;
use reef_provider_amazon::ec2::Owner;
use reef_provider_amazon::steps::{ClusterSteps, eks_name};
use reef_provider_amazon::{AccessKey, Aws, Endpoints};
use reef_testkit::missing_peer;
use serde_json::Value;

use crate::eks_stub::EksStub;
use crate::steps::spec;

const UPGRADE: &[&str] =
    &["upgrade_control_plane", "wait_for_control_plane", "upgrade_node_pools", "wait_for_node_pool_upgrades"];

async fn stub() -> Option<EksStub> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stub = EksStub::start().await;
    if stub.is_none() {
        missing_peer(
            "EKS's service model",
            "shared/specs/eks/service-2.json beside the repository, or $REEF_CLOUD_SPECS",
        );
    }
    stub
}

fn client(stub: &EksStub) -> Aws {
    let key = AccessKey::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None);
    Aws::new(key, "eu-west-1", Endpoints { all: Some(stub.url.clone()) }).unwrap()
}

fn seed(stub: &EksStub, owner: &Owner) -> String {
    let name = eks_name(owner);
    let mut state = stub.state.lock().unwrap();
    state.clusters.insert(name.clone(), ("1.31".into(), "ACTIVE".into()));
    for g in ["workers", "batch"] {
        state.node_groups.insert((name.clone(), g.into()), "1.31".into());
    }
    name
}

async fn run(steps: &ClusterSteps<'_>) -> Result<BTreeMap<String, Value>, String> {
    let mut outputs = BTreeMap::new();
    for step in UPGRADE {
        let out = steps.run_update(step, &outputs).await.map_err(|e| format!("{step}: {e}"))?;
        outputs.insert((*step).to_owned(), out);
    }
    Ok(outputs)
}

#[tokio::test]
async fn an_upgrade_goes_control_plane_first_then_node_groups_in_requests_eks_accepts() {
    let Some(stub) = stub().await else { return };
    let aws = client(&stub);
    let owner = Owner { org: "o".into(), cluster: "c-upgrade".into(), name: "prod".into() };
    let name = seed(&stub, &owner);
    let before = spec();
    let mut after = spec();
    after.kubernetes_version = Some(KubernetesVersion::parse("1.32").unwrap());
    let steps =
        ClusterSteps { aws: &aws, owner, spec: &after, previous: Some(&before), poll: Duration::from_millis(5) };
    run(&steps).await.unwrap();

    let state = stub.state.lock().unwrap();
    assert_eq!(state.problems, Vec::<String>::new(), "requests or answers the service model does not accept");
    assert_eq!(state.clusters[&name].0, "1.32");
    assert!(state.node_groups.values().all(|v| v == "1.32"), "{:?}", state.node_groups);
    let first =
        |op: &str| state.calls.iter().position(|c| c == op).unwrap_or_else(|| panic!("no {op} in {:?}", state.calls));
    assert!(first("UpdateClusterVersion") < first("DescribeUpdate"));
    // The control plane's update is looked at until it succeeds (twice in progress, then
    // done) before any node group is upgraded.
    let looks_before_nodes =
        state.calls[..first("UpdateNodegroupVersion")].iter().filter(|c| *c == "DescribeUpdate").count();
    assert_eq!(looks_before_nodes, 3, "{:?}", state.calls);
    assert_eq!(state.calls.iter().filter(|c| *c == "UpdateNodegroupVersion").count(), 2);
}

#[tokio::test]
async fn a_node_group_upgrade_that_fails_ends_the_step_with_eks_error() {
    let Some(stub) = stub().await else { return };
    let aws = client(&stub);
    let owner = Owner { org: "o".into(), cluster: "c-upgrade-fails".into(), name: "prod".into() };
    seed(&stub, &owner);
    stub.state.lock().unwrap().failing.push("batch".into());
    let mut after = spec();
    after.kubernetes_version = Some(KubernetesVersion::parse("1.32").unwrap());
    let before = spec();
    let steps =
        ClusterSteps { aws: &aws, owner, spec: &after, previous: Some(&before), poll: Duration::from_millis(5) };
    let e = run(&steps).await.unwrap_err();
    assert!(e.starts_with("wait_for_node_pool_upgrades") && e.contains("UpdateFailed"), "{e}");
    assert!(e.contains("node group batch") && e.contains("NodeCreationFailure"), "{e}");
    assert_eq!(stub.state.lock().unwrap().problems, Vec::<String>::new());
}

#[tokio::test]
async fn the_stub_refuses_what_the_service_model_does_not_have() {
    let Some(stub) = stub().await else { return };
    let aws = client(&stub);
    let owner = Owner { org: "o".into(), cluster: "c-bad".into(), name: "prod".into() };
    let name = seed(&stub, &owner);
    let bad = serde_json::json!({"version": "1.32", "colour": "blue"});
    let e = aws
        .rest_json("eks", reqwest::Method::POST, &format!("/clusters/{name}/updates"), Some(&bad))
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "InvalidParameterException"));
    let missing = serde_json::json!({});
    let e = aws
        .rest_json("eks", reqwest::Method::POST, &format!("/clusters/{name}/updates"), Some(&missing))
        .await
        .unwrap_err();
    assert!(e.message.contains("required member version"), "{e}");
    let problems = stub.state.lock().unwrap().problems.clone();
    assert!(problems.iter().any(|p| p.contains("colour is not in UpdateClusterVersionRequest")), "{problems:?}");
}

#[tokio::test]
async fn throttled_calls_are_retried_with_backoff_and_end_as_transient_when_it_lasts() {
    let Some(stub) = stub().await else { return };
    let aws = client(&stub);
    let owner = Owner { org: "o".into(), cluster: "c-throttled".into(), name: "prod".into() };
    let name = seed(&stub, &owner);
    // Throttled three times, then answered: the caller sees only the answer.
    stub.state.lock().unwrap().throttle = 3;
    let started = std::time::Instant::now();
    let cluster = reef_provider_amazon::eks::describe_cluster(&aws, &name).await.unwrap().unwrap();
    assert_eq!(cluster.version.as_deref(), Some("1.31"));
    // Backoff: 200 ms, 400 ms, 800 ms between the attempts.
    assert!(started.elapsed() >= Duration::from_millis(1400), "{:?}", started.elapsed());
    assert_eq!(stub.state.lock().unwrap().calls, ["throttled", "throttled", "throttled", "DescribeCluster"]);
    // Throttled for longer than the attempts: a transient error, which the workflow retries.
    stub.state.lock().unwrap().throttle = 10;
    let e = reef_provider_amazon::eks::describe_cluster(&aws, &name).await.unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (429, "ThrottlingException"));
    assert_eq!(e.into_provider_error().retry, reef_provider::Retry::Transient);
}

#[tokio::test]
async fn eks_versions_are_read_from_describe_cluster_versions_without_the_unsupported_ones() {
    let Some(stub) = stub().await else { return };
    let (versions, default) = reef_provider_amazon::catalog::versions(&client(&stub)).await.unwrap().unwrap();
    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["1.33", "1.34"]);
    assert_eq!(default.map(|v| v.to_string()).as_deref(), Some("1.34"));
    assert_eq!(stub.state.lock().unwrap().problems, Vec::<String>::new());
}
