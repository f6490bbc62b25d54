//! kube-rs, the Rust Kubernetes client, against a whole simulated cluster: typed CRUD on
//! ConfigMaps and Deployments, merge and strategic merge patches, optimistic concurrency (a
//! stale resourceVersion is a 409), `kube::runtime::watcher` following changes, and a
//! Deployment created through kube-rs rolled out by the simulated controllers.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::{NodePool, SimConfig};
use serde_json::json;

use crate::support::DEADLINE;

/// A simulated cluster (controllers running, two nodes, pods ready quickly) and a kube-rs
/// client built from its kubeconfig exactly as a user's program would.
async fn start() -> (SimCluster, Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = SimConfig { node_pools: vec![NodePool::new("pool", 2)], pod_ready_delay: Duration::from_millis(50) };
    let cluster = SimCluster::start(ClusterOptions { name: "sim".to_owned(), config, data_dir: None })
        .await
        .expect("start the simulated cluster");
    let kubeconfig = Kubeconfig::from_yaml(&cluster.kubeconfig()).expect("kube-rs parses the cluster's kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kube-rs accepts the cluster's kubeconfig");
    let client = Client::try_from(config).expect("a kube-rs client");
    (cluster, client)
}

fn configmap(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": labels.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
        },
        "data": data.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
    }))
    .expect("a ConfigMap")
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "web", "image": "nginx:1.25", "env": [{"name": "MODE", "value": "base"}]},
                    {"name": "sidecar", "image": "busybox:1.36"},
                ]},
            },
        },
    }))
    .expect("a Deployment")
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error (a Status), got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_creates_reads_lists_patches_replaces_and_deletes() {
    let (_cluster, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Create and get.
    let created = cms
        .create(&PostParams::default(), &configmap("alpha", &[("tier", "front")], &[("color", "blue")]))
        .await
        .expect("create a ConfigMap");
    let uid = created.metadata.uid.clone().expect("the server assigns a uid");
    let rv = created.metadata.resource_version.clone().expect("the server assigns a resourceVersion");
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    assert!(created.metadata.creation_timestamp.is_some(), "creationTimestamp is set");
    let got = cms.get("alpha").await.expect("get the ConfigMap");
    assert_eq!(got.metadata.uid.as_deref(), Some(uid.as_str()));
    assert_eq!(got.metadata.resource_version.as_deref(), Some(rv.as_str()));
    assert_eq!(data(&got)["color"], "blue");
    // Creating it again is a 409 AlreadyExists.
    let again = api_error(cms.create(&PostParams::default(), &configmap("alpha", &[], &[])).await);
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"), "{again:?}");
    // A missing object is a 404 NotFound, which kube-rs turns into None with get_opt.
    assert!(cms.get_opt("missing").await.expect("get_opt").is_none());
    let missing = api_error(cms.get("missing").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"), "{missing:?}");

    // List with a label selector.
    cms.create(&PostParams::default(), &configmap("beta", &[("tier", "front")], &[])).await.expect("create beta");
    cms.create(&PostParams::default(), &configmap("gamma", &[("tier", "back")], &[])).await.expect("create gamma");
    let front = cms.list(&ListParams::default().labels("tier=front")).await.expect("list tier=front");
    let mut names: Vec<_> = front.items.iter().filter_map(|c| c.metadata.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(front.metadata.resource_version.is_some_and(|v| !v.is_empty()), "a list carries a resourceVersion");
    let not_front = cms.list(&ListParams::default().labels("tier!=front,tier")).await.expect("list tier!=front");
    let names: Vec<_> = not_front.items.iter().filter_map(|c| c.metadata.name.clone()).collect();
    assert_eq!(names, ["gamma"]);
    // Paging: limit 2 then the continue token yields the third.
    let page = cms.list(&ListParams::default().limit(2)).await.expect("first page");
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().expect("a continue token");
    let rest = cms.list(&ListParams::default().limit(2).continue_token(&token)).await.expect("second page");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.metadata.continue_.as_deref().unwrap_or("").is_empty(), "the last page has no continue token");

    // A JSON merge patch: add a key, remove a key (null), and a label.
    cms.patch(
        "alpha",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"patched": "yes"}}, "data": {"size": "L"}})),
    )
    .await
    .expect("merge patch");
    let patched = cms
        .patch("alpha", &PatchParams::default(), &Patch::Merge(json!({"data": {"color": null}})))
        .await
        .expect("merge patch removing a key");
    assert_eq!(data(&patched), BTreeMap::from([("size".to_owned(), "L".to_owned())]));
    assert_eq!(patched.metadata.labels.as_ref().and_then(|l| l.get("patched")).map(String::as_str), Some("yes"));
    assert_ne!(patched.metadata.resource_version.as_deref(), Some(rv.as_str()), "a patch bumps resourceVersion");

    // Replace with the object as first read: its resourceVersion is stale now, so 409 Conflict.
    let mut stale = got.clone();
    stale.data = Some(BTreeMap::from([("color".to_owned(), "red".to_owned())]));
    let conflict = api_error(cms.replace("alpha", &PostParams::default(), &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"), "{conflict:?}");
    assert!(conflict.message.contains("the object has been modified"), "{conflict:?}");
    assert_eq!(data(&cms.get("alpha").await.expect("get")), data(&patched), "a rejected replace changes nothing");
    // With the current resourceVersion the replace succeeds.
    let mut fresh = cms.get("alpha").await.expect("get");
    fresh.data = Some(BTreeMap::from([("color".to_owned(), "red".to_owned())]));
    let replaced = cms.replace("alpha", &PostParams::default(), &fresh).await.expect("replace");
    assert_eq!(data(&replaced), BTreeMap::from([("color".to_owned(), "red".to_owned())]));

    // Strategic merge patch on a Deployment: containers merge by name, env by name.
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("shop", 1)).await.expect("create a Deployment");
    let strategic = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27", "env": [{"name": "EXTRA", "value": "1"}]},
    ]}}}});
    let patched = deploys
        .patch("shop", &PatchParams::default(), &Patch::Strategic(strategic))
        .await
        .expect("strategic merge patch");
    let containers =
        patched.spec.as_ref().and_then(|s| s.template.spec.as_ref()).map(|p| p.containers.clone()).unwrap();
    let by_name: BTreeMap<_, _> = containers.iter().map(|c| (c.name.as_str(), c)).collect();
    assert_eq!(by_name.len(), 2, "the sidecar survives a strategic merge patch: {containers:?}");
    assert_eq!(by_name["web"].image.as_deref(), Some("nginx:1.27"));
    assert_eq!(by_name["sidecar"].image.as_deref(), Some("busybox:1.36"));
    let env: Vec<_> = by_name["web"].env.iter().flatten().map(|e| (e.name.as_str(), e.value.as_deref())).collect();
    assert_eq!(env.len(), 2, "env merges by name: {env:?}");
    assert!(env.contains(&("MODE", Some("base"))) && env.contains(&("EXTRA", Some("1"))), "{env:?}");
    // The same patch as a JSON merge patch replaces the whole list.
    let merged = deploys
        .patch(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "only", "image": "nginx:1.27"},
            ]}}}})),
        )
        .await
        .expect("merge patch on a Deployment");
    let containers = merged.spec.and_then(|s| s.template.spec).map(|p| p.containers).unwrap();
    assert_eq!(containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["only"]);

    // Delete, then it is gone.
    cms.delete("alpha", &DeleteParams::default()).await.expect("delete");
    assert!(cms.get_opt("alpha").await.expect("get_opt after delete").is_none());
    let gone = api_error(cms.delete("alpha", &DeleteParams::default()).await);
    assert_eq!(gone.code, 404, "{gone:?}");
    deploys.delete("shop", &DeleteParams::default()).await.expect("delete the Deployment");
}

/// The next event of `stream` that is not a restart (Init/InitApply/InitDone), within the deadline.
async fn next_change<S>(stream: &mut S) -> watcher::Event<ConfigMap>
where
    S: Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.next().await.expect("the watch stream continues").expect("a watch event") {
                watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::InitDone => continue,
                event => return event,
            }
        }
    })
    .await
    .expect("a watch event within the deadline")
}

/// Reads events until the watcher's initial list is complete, returning the objects listed.
async fn initial_list<S>(stream: &mut S) -> Vec<String>
where
    S: Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(DEADLINE, async {
        let mut names = Vec::new();
        loop {
            match stream.next().await.expect("the watch stream continues").expect("a watch event") {
                watcher::Event::Init => names.clear(),
                watcher::Event::InitApply(cm) => names.push(cm.metadata.name.unwrap_or_default()),
                watcher::Event::InitDone => return names,
                other => panic!("an event before the initial list completed: {other:?}"),
            }
        }
    })
    .await
    .expect("the initial list within the deadline")
}

fn name_of(event: &watcher::Event<ConfigMap>) -> (&'static str, String, BTreeMap<String, String>) {
    match event {
        watcher::Event::Apply(cm) => ("apply", cm.metadata.name.clone().unwrap_or_default(), data(cm)),
        watcher::Event::Delete(cm) => ("delete", cm.metadata.name.clone().unwrap_or_default(), data(cm)),
        other => panic!("not a change: {other:?}"),
    }
}

async fn watcher_follows_changes(config: watcher::Config) {
    let (_cluster, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &configmap("before", &[("watched", "yes")], &[("n", "0")]))
        .await
        .expect("create a ConfigMap before the watch");
    cms.create(&PostParams::default(), &configmap("ignored", &[], &[])).await.expect("create an unlabelled one");

    let mut stream = watcher(cms.clone(), config.labels("watched=yes")).boxed();
    assert_eq!(initial_list(&mut stream).await, ["before"], "the initial list honours the label selector");

    cms.create(&PostParams::default(), &configmap("live", &[("watched", "yes")], &[("n", "1")])).await.expect("create");
    assert_eq!(
        name_of(&next_change(&mut stream).await),
        ("apply", "live".to_owned(), [("n".into(), "1".into())].into())
    );

    cms.patch("live", &PatchParams::default(), &Patch::Merge(json!({"data": {"n": "2"}}))).await.expect("patch");
    assert_eq!(
        name_of(&next_change(&mut stream).await),
        ("apply", "live".to_owned(), [("n".into(), "2".into())].into())
    );

    // A change to an object the selector does not match is not seen; the next one that is
    // matched arrives next.
    cms.patch("ignored", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "y"}}))).await.expect("patch");
    cms.delete("before", &DeleteParams::default()).await.expect("delete");
    assert_eq!(
        name_of(&next_change(&mut stream).await),
        ("delete", "before".to_owned(), [("n".into(), "0".into())].into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_follows_changes_after_a_list() {
    watcher_follows_changes(watcher::Config::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_follows_changes_with_streaming_lists() {
    // sendInitialEvents=true: the initial state arrives as events on the watch itself.
    watcher_follows_changes(watcher::Config::default().streaming_lists()).await;
}

/// A real API server filters a watch on the object before and after each change: an object
/// relabelled out of a label selector arrives as DELETED, one relabelled into it as ADDED.
/// Without that, kube-rs reflectors (and `kubectl get -w -l`) keep objects that no longer match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_sees_objects_leave_and_enter_its_selector() {
    let (_cluster, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &configmap("mover", &[("watched", "yes")], &[])).await.expect("create");
    let list = cms.list(&ListParams::default().labels("watched=yes")).await.expect("list");
    let rv = list.metadata.resource_version.expect("a list resourceVersion");
    let mut events = cms.watch(&WatchParams::default().labels("watched=yes"), &rv).await.expect("watch").boxed();
    let mut next = async || {
        tokio::time::timeout(DEADLINE, events.next())
            .await
            .expect("a watch event within the deadline")
            .expect("the watch continues")
            .expect("a watch event")
    };

    cms.patch("mover", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"watched": "no"}}})))
        .await
        .expect("relabel out of the selector");
    let event = next().await;
    assert!(matches!(event, WatchEvent::Deleted(_)), "an object leaving the selector is DELETED: {event:?}");

    cms.patch("mover", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"watched": "yes"}}})))
        .await
        .expect("relabel into the selector");
    let event = next().await;
    assert!(matches!(event, WatchEvent::Added(_)), "an object entering the selector is ADDED: {event:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_created_with_kube_rs_rolls_out() {
    let (cluster, client) = start().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deploys.create(&PostParams::default(), &deployment("rollout", 3)).await.expect("create a Deployment");

    let available = |want: i32| {
        move |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref()).and_then(|s| s.available_replicas).is_some_and(|n| n == want)
        }
    };
    let done =
        tokio::time::timeout(DEADLINE, kube::runtime::wait::await_condition(deploys.clone(), "rollout", available(3)))
            .await
            .expect("3 replicas available within the deadline")
            .expect("await_condition");
    let status = done.and_then(|d| d.status).expect("a status");
    assert_eq!(status.ready_replicas, Some(3), "{status:?}");
    assert_eq!(status.replicas, Some(3), "{status:?}");

    // The pods exist, belong to the Deployment and are spread over the two nodes' capacity.
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let listed = pods.list(&ListParams::default().labels("app=rollout")).await.expect("list pods");
    assert_eq!(listed.items.len(), 3);
    for pod in &listed.items {
        let status = pod.status.as_ref().expect("pod status");
        assert_eq!(status.phase.as_deref(), Some("Running"), "{pod:?}");
        assert!(pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some(), "the pod is scheduled");
    }

    // Scaling through kube-rs is followed too.
    deploys
        .patch("rollout", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 1}})))
        .await
        .expect("scale down");
    tokio::time::timeout(DEADLINE, kube::runtime::wait::await_condition(deploys.clone(), "rollout", available(1)))
        .await
        .expect("scaled down within the deadline")
        .expect("await_condition");
    drop(cluster);
}

/// A cluster that keeps its state in a directory keeps who it is across a restart: the same
/// CA, token and (when free) port, so a kubeconfig given out before still works, and what was
/// stored is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_cluster_answers_its_old_kubeconfig_with_its_old_objects() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let options = || ClusterOptions {
        name: "kept".to_owned(),
        config: SimConfig::default(),
        data_dir: Some(dir.path().join("kept")),
    };
    let client_for = |kubeconfig: String| async move {
        let kubeconfig = Kubeconfig::from_yaml(&kubeconfig).unwrap();
        Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap())
            .unwrap()
    };
    let first = SimCluster::start(options()).await.unwrap();
    let kubeconfig = first.kubeconfig();
    let api: Api<ConfigMap> = Api::namespaced(client_for(kubeconfig.clone()).await, "default");
    api.create(&PostParams::default(), &configmap("kept", &[], &[("a", "1")])).await.unwrap();
    first.stop().await.unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("kept/server.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the identity file holds the CA key and the token");
    }
    let again = SimCluster::start(options()).await.unwrap();
    assert_eq!(again.kubeconfig(), kubeconfig, "same CA, token and port");
    let api: Api<ConfigMap> = Api::namespaced(client_for(kubeconfig).await, "default");
    assert_eq!(data(&api.get("kept").await.unwrap()), BTreeMap::from([("a".to_owned(), "1".to_owned())]));
    again.stop().await.unwrap();
}
