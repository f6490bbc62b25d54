//! kubectl's workload commands against a whole simulated cluster: describe, patch in each
//! format, and cascading deletion.

use reef_kubesim::SimConfig;
use reef_kubesim::cluster::{ClusterOptions, SimCluster};

use crate::support::{DEADLINE, Kubectl, kubectl_for};

async fn start() -> Option<(SimCluster, tempfile::TempDir, Kubectl)> {
    let cluster =
        SimCluster::start(ClusterOptions { name: "sim".into(), config: SimConfig::default(), data_dir: None })
            .await
            .expect("start the simulated cluster");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).expect("write the kubeconfig");
    let kubectl = kubectl_for(kubeconfig, dir.path().to_path_buf())?;
    Some((cluster, dir, kubectl))
}

/// Polls `kubectl get ... -o jsonpath` until it prints `want`, within the deadline.
async fn eventually(kubectl: &Kubectl, args: &[&str], want: &str) {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let out = kubectl.run(args).await;
        let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if got == want {
            return;
        }
        assert!(tokio::time::Instant::now() < until, "kubectl {args:?} printed {got:?}, not {want:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kubectl_describes_patches_and_deletes_with_cascade() {
    let Some((_cluster, _dir, kubectl)) = start().await else { return };
    kubectl.ok(&["create", "deployment", "web", "--image=nginx:1.25", "--replicas=2"]).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]).await;

    let described = kubectl.ok(&["describe", "deployment", "web"]).await;
    for expected in ["Name:", "web", "Replicas:", "2 desired", "nginx:1.25", "NewReplicaSet:"] {
        assert!(described.contains(expected), "describe lacks {expected:?}:\n{described}");
    }
    let pods = kubectl.ok(&["describe", "pods", "-l", "app=web"]).await;
    assert!(pods.contains("Status:") && pods.contains("Running"), "{pods}");

    // Merge, JSON and strategic merge patches.
    kubectl
        .ok(&["patch", "deployment", "web", "--type=merge", "-p", r#"{"metadata":{"labels":{"tier":"front"}}}"#])
        .await;
    eventually(&kubectl, &["get", "deployment", "web", "-o", "jsonpath={.metadata.labels.tier}"], "front").await;
    kubectl
        .ok(&[
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#,
        ])
        .await;
    kubectl
        .ok(&[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}"#,
        ])
        .await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    eventually(&kubectl, &["get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"], "3").await;
    eventually(
        &kubectl,
        &["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}"],
        "nginx:1.26 nginx:1.26 nginx:1.26",
    )
    .await;
    let bad = kubectl
        .run(&["patch", "deployment", "web", "--type=json", "-p", r#"[{"op":"remove","path":"/spec/nothing"}]"#])
        .await;
    assert!(!bad.status.success(), "a JSON patch on a missing path succeeded");

    // Deleting with the default (background) cascade takes the ReplicaSets and pods along;
    // with --cascade=orphan they stay.
    kubectl.ok(&["delete", "deployment", "web", "--wait=true"]).await;
    eventually(&kubectl, &["get", "replicasets,pods", "-l", "app=web", "-o", "name"], "").await;

    kubectl.ok(&["create", "deployment", "kept", "--image=nginx", "--replicas=1"]).await;
    kubectl.ok(&["rollout", "status", "deployment/kept", "--timeout=60s"]).await;
    kubectl.ok(&["delete", "deployment", "kept", "--cascade=orphan"]).await;
    let left = kubectl.ok(&["get", "replicasets", "-l", "app=kept", "-o", "name"]).await;
    assert_eq!(left.lines().count(), 1, "an orphaned ReplicaSet was deleted: {left:?}");
    let owners = kubectl
        .ok(&["get", "replicasets", "-l", "app=kept", "-o", "jsonpath={.items[*].metadata.ownerReferences}"])
        .await;
    assert_eq!(owners, "", "an orphaned ReplicaSet still names its owner");

    // With --cascade=foreground the Deployment waits, marked with the foregroundDeletion
    // finalizer, until the last dependent is gone: here a pod held by a finalizer.
    kubectl.ok(&["create", "deployment", "fg", "--image=nginx", "--replicas=1"]).await;
    kubectl.ok(&["rollout", "status", "deployment/fg", "--timeout=60s"]).await;
    let pod = kubectl.ok(&["get", "pods", "-l", "app=fg", "-o", "name"]).await;
    let pod = pod.trim();
    kubectl.ok(&["patch", pod, "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]).await;
    kubectl.ok(&["delete", "deployment", "fg", "--cascade=foreground", "--wait=false"]).await;
    let finalizers = kubectl.ok(&["get", "deployment", "fg", "-o", "jsonpath={.metadata.finalizers}"]).await;
    assert_eq!(finalizers, r#"["foregroundDeletion"]"#);
    kubectl.ok(&["patch", pod, "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]).await;
    eventually(&kubectl, &["get", "deployments,replicasets,pods", "-l", "app=fg", "-o", "name"], "").await;
    let gone = kubectl.run(&["get", "deployment", "fg"]).await;
    assert!(!gone.status.success(), "the Deployment outlived its dependents");
}

#[tokio::test]
async fn kubectl_sees_endpoint_slices_and_runs_a_job_from_a_cron_job() {
    let Some((_cluster, _dir, kubectl)) = start().await else { return };
    kubectl.ok(&["create", "deployment", "api", "--image=nginx", "--replicas=2", "--port=8080"]).await;
    kubectl.ok(&["expose", "deployment", "api", "--port=80", "--target-port=8080"]).await;
    kubectl.ok(&["rollout", "status", "deployment/api", "--timeout=60s"]).await;
    let slice = ["get", "endpointslices", "-l", "kubernetes.io/service-name=api"];
    eventually(
        &kubectl,
        &[&slice[..], &["-o", "jsonpath={.items[0].endpoints[*].conditions.ready}"]].concat(),
        "true true",
    )
    .await;
    let ports = kubectl.ok(&[&slice[..], &["-o", "jsonpath={.items[0].ports[0].port}"]].concat()).await;
    assert_eq!(ports, "8080");
    let table = kubectl.ok(&slice).await;
    assert!(table.starts_with("NAME") && table.contains("IPv4") && table.contains("8080"), "{table}");
    kubectl.ok(&["delete", "service", "api"]).await;
    eventually(&kubectl, &[&slice[..], &["-o", "name"]].concat(), "").await;

    kubectl.ok(&["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *"]).await;
    let schedule = kubectl.ok(&["get", "cronjob", "tick", "-o", "jsonpath={.spec.schedule}"]).await;
    assert_eq!(schedule, "*/5 * * * *");
    kubectl.ok(&["create", "job", "tick-now", "--from=cronjob/tick"]).await;
    kubectl.ok(&["wait", "--for=condition=complete", "job/tick-now", "--timeout=60s"]).await;
    let owner = kubectl.ok(&["get", "job", "tick-now", "-o", "jsonpath={.metadata.ownerReferences[0].name}"]).await;
    assert_eq!(owner, "tick");
    // Deleting the CronJob takes its Jobs along.
    kubectl.ok(&["delete", "cronjob", "tick"]).await;
    eventually(&kubectl, &["get", "jobs", "-o", "name"], "").await;
}
