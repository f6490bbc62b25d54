//! reef-kube against a real API server (a reef-kubesim cluster, which kubectl and helm accept):
//! reading nodes and namespaces, applying a Secret, and the error of each way a call fails.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use reef_kube::{ClusterClient, SecretObject};
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::{NodePool, SimConfig};

async fn cluster() -> SimCluster {
    let mut gpu = NodePool::new("gpu", 1);
    gpu.instance_type = "gpu.large".to_owned();
    gpu.taints = vec![serde_json::json!({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"})];
    SimCluster::start(ClusterOptions {
        name: "kube".to_owned(),
        config: SimConfig { node_pools: vec![NodePool::new("workers", 2), gpu], ..SimConfig::default() },
        data_dir: None,
    })
    .await
    .unwrap()
}

async fn client(kubeconfig: &str) -> ClusterClient {
    ClusterClient::connect(kubeconfig, Duration::from_secs(3)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_namespaces_and_health_are_read_from_the_api_server() {
    let sim = cluster().await;
    let c = client(&sim.kubeconfig()).await;
    assert_eq!(c.server().trim_end_matches('/'), sim.url().trim_end_matches('/'));
    // Nodes become Ready within a controller pass or two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let health = loop {
        let h = c.health().await.unwrap();
        if h.problem().is_none() || tokio::time::Instant::now() > deadline {
            break h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((health.nodes, health.ready_nodes, health.problem()), (3, 3, None));
    assert_eq!(health.version, reef_kubesim::KUBERNETES_VERSION);

    let nodes = c.nodes().await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["gpu-0", "workers-0", "workers-1"]);
    let gpu = &nodes[0];
    assert_eq!(gpu.node_pool.as_deref(), Some("gpu"));
    assert_eq!(gpu.instance_type.as_deref(), Some("gpu.large"));
    assert_eq!(gpu.taints, ["nvidia.com/gpu=true:NoSchedule"]);
    assert!(gpu.ready && !gpu.unschedulable);
    assert!(gpu.kubelet_version.is_some() && gpu.internal_ip.is_some() && gpu.created_at.is_some(), "{gpu:?}");
    assert!(nodes[1].taints.is_empty());

    let namespaces = c.namespaces().await.unwrap();
    let names: Vec<&str> = namespaces.iter().map(|n| n.name.as_str()).collect();
    for wanted in ["default", "kube-system"] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    assert!(namespaces.windows(2).all(|w| w[0].name < w[1].name), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_applied_with_its_namespace_and_reapplied_with_exactly_the_keys_given() {
    let sim = cluster().await;
    let c = client(&sim.kubeconfig()).await;
    let mut secret = SecretObject {
        namespace: "apps".to_owned(),
        name: "db".to_owned(),
        data: BTreeMap::from([
            ("user".to_owned(), b"reef".to_vec()),
            ("password".to_owned(), b"s3cr3t\n\0bytes".to_vec()),
        ]),
        labels: BTreeMap::from([("app.kubernetes.io/managed-by".to_owned(), "reef".to_owned())]),
        annotations: BTreeMap::from([("reef.dev/secret-version".to_owned(), "1".to_owned())]),
    };
    assert!(!format!("{secret:?}").contains("s3cr3t"), "Debug shows the values");
    let applied = c.apply_secret(&secret).await.unwrap();
    assert!(applied.created && applied.namespace_created, "{applied:?}");

    let kubeconfig = sim.kubeconfig();
    let kube = kube_client(&kubeconfig).await;
    let api = kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(kube, "apps");
    let got = api.get("db").await.unwrap();
    let data = got.data.unwrap();
    assert_eq!(data["password"].0, b"s3cr3t\n\0bytes");
    assert_eq!(got.metadata.labels.unwrap()["app.kubernetes.io/managed-by"], "reef");
    let managers: Vec<String> = got.metadata.managed_fields.unwrap().into_iter().filter_map(|m| m.manager).collect();
    assert_eq!(managers, ["reef"]);

    secret.data.remove("user");
    secret.annotations.insert("reef.dev/secret-version".to_owned(), "2".to_owned());
    let applied = c.apply_secret(&secret).await.unwrap();
    assert!(!applied.created && !applied.namespace_created, "{applied:?}");
    let got = api.get("db").await.unwrap();
    assert_eq!(got.data.unwrap().keys().collect::<Vec<_>>(), ["password"]);
    assert_eq!(got.metadata.annotations.unwrap()["reef.dev/secret-version"], "2");
}

async fn kube_client(kubeconfig: &str) -> kube::Client {
    let parsed = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(parsed, &kube::config::KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_a_call_fails_has_its_own_code() {
    let sim = cluster().await;
    let kubeconfig = sim.kubeconfig();

    let token = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().trim_matches('"').to_owned();
    let wrong = kubeconfig.replace(&token, "not-the-token");
    let e = client(&wrong).await.nodes().await.unwrap_err();
    assert_eq!((e.code, e.transient), ("credentials_refused", false), "{e}");
    assert!(!e.to_string().contains("not-the-token"), "the error shows the token: {e}");

    let e = ClusterClient::connect("this: is: not yaml: [", Duration::from_secs(1)).await.unwrap_err();
    assert_eq!((e.code, e.transient), ("kubeconfig_invalid", false), "{e}");

    let bad = SecretObject {
        namespace: "Not_A_Namespace".to_owned(),
        name: "x".to_owned(),
        data: BTreeMap::new(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    let e = client(&kubeconfig).await.apply_secret(&bad).await.unwrap_err();
    assert_eq!((e.code, e.transient), ("api_server_error", false), "{e}");

    let c = client(&kubeconfig).await;
    sim.stop().await.unwrap();
    let e = c.version().await.unwrap_err();
    assert_eq!((e.code, e.transient), ("api_server_unreachable", true), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_any_kind_are_applied_read_and_deleted() {
    let sim = cluster().await;
    let c = client(&sim.kubeconfig()).await;
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "web"}},
        "data": {"mode": "fast"},
    });
    // Into a namespace that does not exist: refused, as the API server refuses it.
    let e = c.apply_object(&config, "apps").await.unwrap_err();
    assert!(e.message.contains("namespaces \"apps\" not found"), "{e}");
    assert!(c.ensure_namespace("apps").await.unwrap());
    let applied = c.apply_object(&config, "apps").await.unwrap();
    assert_eq!(applied.to_string(), "ConfigMap apps/settings");
    let role = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader", "namespace": "ignored"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    });
    let role_ref = c.apply_object(&role, "apps").await.unwrap();
    assert_eq!(role_ref.namespace, None, "a cluster-scoped kind has no namespace");

    let got = c.get_object(&applied).await.unwrap().unwrap();
    assert_eq!(got["data"]["mode"], "fast");
    // Applied again with a change: the change is there, and reef is the manager.
    let mut changed = config.clone();
    changed["data"]["mode"] = "safe".into();
    c.apply_object(&changed, "apps").await.unwrap();
    let got = c.get_object(&applied).await.unwrap().unwrap();
    assert_eq!(got["data"]["mode"], "safe");
    assert_eq!(got["metadata"]["managedFields"][0]["manager"], "reef");

    assert!(c.delete_object(&applied).await.unwrap());
    assert!(!c.delete_object(&applied).await.unwrap(), "deleting it again finds nothing");
    assert_eq!(c.get_object(&applied).await.unwrap(), None);
    assert!(c.delete_object(&role_ref).await.unwrap());

    // A kind the server does not serve (its CRD not installed).
    let widget = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let e = c.apply_object(&widget, "apps").await.unwrap_err();
    assert_eq!((e.code, e.transient), ("unknown_kind", false), "{e}");
    let e = c.apply_object(&serde_json::json!({"kind": "ConfigMap"}), "apps").await.unwrap_err();
    assert_eq!(e.code, "invalid_object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_object_held_by_a_finalizer_is_waited_for_until_it_is_gone() {
    let sim = cluster().await;
    let c = client(&sim.kubeconfig()).await;
    c.ensure_namespace("apps").await.unwrap();
    let held = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
    });
    let target = c.apply_object(&held, "apps").await.unwrap();
    assert!(c.delete_object(&target).await.unwrap());
    let lingering = c.get_object(&target).await.unwrap().expect("held by its finalizer");
    assert!(lingering["metadata"]["deletionTimestamp"].is_string());
    let e = c.wait_for_gone(&target, Duration::from_millis(500)).await.unwrap_err();
    assert_eq!(e.code, "timeout", "{e}");
    assert!(e.message.contains("was not gone within"), "{e}");

    // The finalizer's owner lets go a little later: the wait sees the object go.
    let releaser = {
        let c = c.clone();
        let mut released = held.clone();
        released["metadata"]["finalizers"] = serde_json::json!([]);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c.apply_object(&released, "apps").await.unwrap();
        })
    };
    let started = std::time::Instant::now();
    c.wait_for_gone(&target, Duration::from_secs(20)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(c.get_object(&target).await.unwrap(), None);
    releaser.await.unwrap();
    // Gone already, and of a kind the cluster does not serve: nothing to wait for.
    c.wait_for_gone(&target, Duration::from_millis(100)).await.unwrap();
    let widget = reef_kube::ObjectRef {
        api_version: "example.com/v1".to_owned(),
        kind: "Widget".to_owned(),
        namespace: Some("apps".to_owned()),
        name: "w".to_owned(),
    };
    c.wait_for_gone(&widget, Duration::from_millis(100)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_made_once_listed_by_label_replaced_only_from_the_version_read_and_deleted() {
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let sim = cluster().await;
    let c = client(&sim.kubeconfig()).await;
    let record = |status: &str| Secret {
        metadata: ObjectMeta {
            name: Some("sh.helm.release.v1.web.v1".to_owned()),
            labels: Some(BTreeMap::from([
                ("owner".to_owned(), "helm".to_owned()),
                ("name".to_owned(), "web".to_owned()),
                ("status".to_owned(), status.to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("helm.sh/release.v1".to_owned()),
        data: Some(BTreeMap::from([("release".to_owned(), k8s_openapi::ByteString(b"H4sI".to_vec()))])),
        ..Secret::default()
    };
    assert!(c.create_secret("default", &record("pending-install")).await.unwrap());
    assert!(!c.create_secret("default", &record("pending-install")).await.unwrap(), "made twice");
    let found = c.secrets("default", "owner=helm,name=web").await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(c.secrets("default", "owner=helm,name=other").await.unwrap().is_empty());

    // Replaced from the version read: once; a second writer with the same version loses.
    let mut deployed = record("deployed");
    deployed.metadata.resource_version = found[0].metadata.resource_version.clone();
    assert!(c.replace_secret("default", &deployed).await.unwrap());
    assert!(!c.replace_secret("default", &deployed).await.unwrap(), "a stale version wins");
    let now = c.secrets("default", "owner=helm,status=deployed").await.unwrap();
    assert_eq!(now.len(), 1);

    assert!(c.delete_secret("default", "sh.helm.release.v1.web.v1").await.unwrap());
    assert!(!c.delete_secret("default", "sh.helm.release.v1.web.v1").await.unwrap());
}
