//! The cluster workflows over the local provider and a real store (SQLite; the lifecycle test
//! also on PostgreSQL): create and delete, the two checks every workflow gets (each step run
//! twice, a failure injected at each step), a delete while a create runs, and a spec the
//! provider does not offer.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reef_app::cluster_workflows::{
    ClusterEnv, ClusterRun, DeleteRun, Providers, UpdateRun, create_kind, create_workflow, delete_kind,
    delete_workflow, update_kind, update_problems, update_workflow,
};
use reef_core::{
    Cluster, ClusterId, ClusterName, ClusterSpec, ClusterStatus, KubernetesVersion, NodePool, NodePoolName, OrgId,
    WorkflowId, WorkflowRun, WorkflowStatus,
};
use reef_provider::Provider as _;
use reef_provider_local::{LocalOptions, LocalProvider};
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_workflow::testing::{each_step_twice, failing_at, run_to_end};
use reef_workflow::{Engine, EngineOptions, Workflow};
use tempfile::TempDir;

const LIMIT: Duration = Duration::from_secs(60);

struct World {
    store: Store,
    org: OrgId,
    local: Arc<LocalProvider>,
    env: Arc<ClusterEnv>,
    engine: Arc<Engine<ClusterEnv>>,
    cipher: SecretCipher,
    dir: TempDir,
}

fn options() -> EngineOptions {
    support::engine_options(30)
}

async fn store_at(dir: &TempDir, postgres: bool) -> Option<Store> {
    let url = if postgres {
        tokio::task::spawn_blocking(|| {
            let server = reef_testkit::shared_postgres()?;
            Some(server.create_database().expect("a PostgreSQL test database"))
        })
        .await
        .unwrap()?
    } else {
        format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display())
    };
    Some(Store::connect(&url).await.unwrap())
}

async fn world_on(postgres: bool, step_delay: Duration) -> Option<World> {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir, postgres).await?;
    let (_, org) = support::owner_and_org(&store).await;
    let local = Arc::new(LocalProvider::new(LocalOptions {
        data_dir: Some(dir.path().join("clusters")),
        step_delay,
        nodes_timeout: Duration::from_secs(20),
    }));
    let mut providers = Providers::default();
    providers.add(local.clone());
    let cipher = SecretCipher::new(&[7; 32]);
    let env = Arc::new(ClusterEnv::new(store.clone(), cipher.clone(), providers));
    let workflows =
        vec![create_workflow(local.as_ref()), update_workflow(local.as_ref()), delete_workflow(local.as_ref())];
    let engine = engine_with(&store, &env, workflows);
    Some(World { store, org, local, env, engine, cipher, dir })
}

fn engine_with(store: &Store, env: &Arc<ClusterEnv>, workflows: Vec<Workflow<ClusterEnv>>) -> Arc<Engine<ClusterEnv>> {
    let mut engine = Engine::new(store.clone(), env.clone(), options());
    for wf in workflows {
        engine.register(wf);
    }
    Arc::new(engine)
}

async fn world() -> World {
    world_on(false, Duration::from_millis(1)).await.unwrap()
}

fn cluster(org: OrgId, name: &str, instance_type: &str) -> Cluster {
    let spec = ClusterSpec {
        name: ClusterName::parse(name).unwrap(),
        provider: "local".to_owned(),
        region: "local".to_owned(),
        kubernetes_version: Some(KubernetesVersion::parse("1.35").unwrap()),
        node_pools: vec![NodePool::fixed(NodePoolName::parse("workers").unwrap(), instance_type, 2)],
        secret: None,
        labels: BTreeMap::new(),
        options: Default::default(),
    };
    Cluster::pending(ClusterId::new(), org, spec, Utc::now())
}

impl World {
    async fn new_cluster(&self, name: &str) -> Cluster {
        let c = cluster(self.org, name, "small");
        self.store.insert_cluster(&c, "create requested").await.unwrap();
        c
    }

    async fn start(&self, kind: &str, subject: String, c: &Cluster) -> WorkflowId {
        let input = ClusterRun { org: self.org, cluster: c.id };
        self.engine.start(self.org, kind, &subject, &input).await.unwrap()
    }

    async fn create(&self, c: &Cluster) -> WorkflowRun {
        let id = self.start(&create_kind("local"), c.id.to_string(), c).await;
        run_to_end(&self.engine, self.org, id, LIMIT).await.unwrap()
    }

    async fn delete(&self, c: &Cluster) -> WorkflowRun {
        let id = self.start(&delete_kind("local"), format!("{}/delete", c.id), c).await;
        run_to_end(&self.engine, self.org, id, LIMIT).await.unwrap()
    }

    async fn get(&self, c: &Cluster) -> Cluster {
        self.store.cluster(self.org, c.id).await.unwrap().unwrap()
    }

    async fn kubeconfig(&self, c: &Cluster) -> Option<String> {
        let sealed = self.store.cluster_kubeconfig(c.id).await.unwrap()?;
        let context = format!("cluster/{}/{}/kubeconfig", self.org, c.id);
        Some(String::from_utf8(self.cipher.open(&sealed, &context).unwrap().to_vec()).unwrap())
    }

    /// Nothing of `c` is left: no simulated cluster running, no state on disk, no kubeconfig.
    async fn nothing_left_of(&self, c: &Cluster) {
        assert!(!self.local.running_clusters().await.contains(&c.id), "{} still runs", c.name);
        assert!(!self.dir.path().join("clusters").join(c.id.to_string()).exists(), "{} left its state", c.name);
        assert_eq!(self.store.cluster_kubeconfig(c.id).await.unwrap(), None);
    }
}

async fn lifecycle(w: &World) {
    let c = w.new_cluster("dev").await;
    let run = w.create(&c).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    let names: Vec<&str> = run.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["begin", "start_api_server", "create_node_pools", "wait_for_nodes", "save_kubeconfig", "finish"]
    );
    let got = w.get(&c).await;
    assert_eq!((got.status, got.status_message.as_str()), (ClusterStatus::Running, "created"));
    let endpoint = got.endpoint.clone().expect("an endpoint");
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let kubeconfig = w.kubeconfig(&c).await.expect("a kubeconfig");
    assert!(kubeconfig.contains(&endpoint), "{kubeconfig}");
    // Sealed: the store does not hold the kubeconfig's text.
    let sealed = w.store.cluster_kubeconfig(c.id).await.unwrap().unwrap();
    assert!(!sealed.contains("token"), "{sealed}");
    assert_eq!(w.local.running_clusters().await, [c.id]);

    let run = w.delete(&c).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    assert_eq!(w.get(&c).await.status, ClusterStatus::Deleted);
    w.nothing_left_of(&c).await;
    let log: Vec<(Option<ClusterStatus>, ClusterStatus)> =
        w.store.cluster_status_changes(c.id).await.unwrap().into_iter().map(|l| (l.from, l.to)).collect();
    use ClusterStatus::*;
    assert_eq!(
        log,
        [
            (None, Pending),
            (Some(Pending), Creating),
            (Some(Creating), Running),
            (Some(Running), Deleting),
            (Some(Deleting), Deleted)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_cluster_is_created_running_and_deleted_leaving_nothing() {
    lifecycle(&world().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_cluster_is_created_and_deleted_on_postgresql() {
    let Some(w) = world_on(true, Duration::from_millis(1)).await else { return };
    lifecycle(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_of_create_and_delete_run_twice_does_what_one_run_does() {
    let mut w = world().await;
    let create = create_workflow(w.local.as_ref());
    let delete = delete_workflow(w.local.as_ref());
    w.engine = engine_with(&w.store, &w.env, vec![each_step_twice(&create), each_step_twice(&delete)]);
    lifecycle(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_create_step_leaves_nothing_and_the_cluster_in_error() {
    let mut w = world().await;
    let create = create_workflow(w.local.as_ref());
    for (i, step) in create.steps().iter().enumerate() {
        w.engine = engine_with(&w.store, &w.env, vec![failing_at(&create, i), delete_workflow(w.local.as_ref())]);
        let c = w.new_cluster(&format!("fail-at-{i}")).await;
        let run = w.create(&c).await;
        assert_eq!(run.status, WorkflowStatus::Failed, "{run:?}");
        let got = w.get(&c).await;
        assert_eq!(got.status, ClusterStatus::Error, "failing at {}", step.name());
        assert_eq!(got.status_message, format!("create failed: step {} failed: injected failure", step.name()));
        w.nothing_left_of(&c).await;
        // A cluster in error can be deleted.
        assert_eq!(w.delete(&c).await.status, WorkflowStatus::Succeeded);
        assert_eq!(w.get(&c).await.status, ClusterStatus::Deleted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_while_creating_unwinds_the_create_then_deletes() {
    let w = world_on(false, Duration::from_millis(150)).await.unwrap();
    let engine = w.engine.clone();
    let workers = engine.spawn_workers(2);
    let c = w.new_cluster("dev").await;
    let input = ClusterRun { org: w.org, cluster: c.id };
    let create = engine.start(w.org, &create_kind("local"), &c.id.to_string(), &input).await.unwrap();
    // Somewhere in the middle of the create.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !w.local.running_clusters().await.contains(&c.id) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delete = engine.start(w.org, &delete_kind("local"), &format!("{}/delete", c.id), &input).await.unwrap();
    let delete_run = run_to_end(&engine, w.org, delete, LIMIT).await.unwrap();
    let create_run = engine.get(w.org, create).await.unwrap().unwrap();
    workers.stop().await;
    assert_eq!(create_run.status, WorkflowStatus::Cancelled, "{create_run:?}");
    assert_eq!(delete_run.status, WorkflowStatus::Succeeded, "{delete_run:?}");
    assert_eq!(w.get(&c).await.status, ClusterStatus::Deleted);
    w.nothing_left_of(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_the_provider_does_not_offer_fails_before_anything_is_made() {
    let w = world().await;
    let c = cluster(w.org, "big", "huge");
    w.store.insert_cluster(&c, "create requested").await.unwrap();
    let run = w.create(&c).await;
    assert_eq!(run.status, WorkflowStatus::Failed);
    assert_eq!(run.failed_step.as_deref(), Some("begin"));
    let got = w.get(&c).await;
    assert_eq!(got.status, ClusterStatus::Error);
    assert_eq!(
        got.status_message,
        "create failed: step begin failed: node_pools[0].instance_type: local has no instance type \"huge\""
    );
    assert!(run.steps[1..].iter().all(|s| s.attempts == 0));
    w.nothing_left_of(&c).await;
}

impl World {
    async fn update(&self, c: &Cluster, target: &reef_core::ClusterSpec) -> WorkflowRun {
        let input = UpdateRun { org: self.org, cluster: c.id, target: target.clone() };
        let id = self.engine.start(self.org, &update_kind("local"), &c.id.to_string(), &input).await.unwrap();
        run_to_end(&self.engine, self.org, id, LIMIT).await.unwrap()
    }
}

/// `c`'s spec with the workers pool at 3 nodes, a second pool and a label.
fn grown(c: &Cluster) -> reef_core::ClusterSpec {
    let mut target = reef_app::cluster_workflows::spec_of(c);
    target.node_pools[0].count = 3;
    let mut extra = target.node_pools[0].clone();
    extra.name = NodePoolName::parse("extra").unwrap();
    extra.count = 1;
    target.node_pools.push(extra);
    target.labels.insert("env".to_owned(), "prod".to_owned());
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_resizes_and_adds_pools_and_records_the_new_spec() {
    let w = world().await;
    let c = w.new_cluster("dev").await;
    assert_eq!(w.create(&c).await.status, WorkflowStatus::Succeeded);
    let target = grown(&w.get(&c).await);
    let run = w.update(&c, &target).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    let got = w.get(&c).await;
    assert_eq!((got.status, got.status_message.as_str()), (ClusterStatus::Running, "updated"));
    assert_eq!(got.node_pools, target.node_pools);
    assert_eq!(got.labels, target.labels);
    assert_eq!(w.local.ready_node_count(c.id).await, Some(4));
    let log: Vec<ClusterStatus> =
        w.store.cluster_status_changes(c.id).await.unwrap().into_iter().map(|l| l.to).collect();
    assert_eq!(&log[log.len() - 2..], [ClusterStatus::Updating, ClusterStatus::Running]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_update_step_leaves_the_cluster_running_as_it_was() {
    let mut w = world().await;
    let c = w.new_cluster("dev").await;
    assert_eq!(w.create(&c).await.status, WorkflowStatus::Succeeded);
    let before = w.get(&c).await;
    let update = update_workflow(w.local.as_ref());
    for (i, step) in update.steps().iter().enumerate() {
        w.engine = engine_with(&w.store, &w.env, vec![failing_at(&update, i)]);
        let run = w.update(&c, &grown(&before)).await;
        assert_eq!(run.status, WorkflowStatus::Failed, "{run:?}");
        let got = w.get(&c).await;
        assert_eq!(got.status, ClusterStatus::Running, "failing at {}", step.name());
        // A change refused at `begin` never touched the cluster: its message stays.
        let message = match i {
            0 => before.status_message.clone(),
            _ => format!("update failed and was undone: step {} failed: injected failure", step.name()),
        };
        assert_eq!(got.status_message, message);
        assert_eq!((got.node_pools.clone(), got.labels.clone()), (before.node_pools.clone(), before.labels.clone()));
        assert_eq!(w.local.ready_node_count(c.id).await, Some(2), "failing at {}", step.name());
    }
    // Each step run twice does what one run does.
    w.engine = engine_with(&w.store, &w.env, vec![each_step_twice(&update)]);
    assert_eq!(w.update(&c, &grown(&before)).await.status, WorkflowStatus::Succeeded);
    assert_eq!(w.local.ready_node_count(c.id).await, Some(4));
}

#[tokio::test]
async fn an_update_names_each_change_the_provider_cannot_make() {
    let w = world().await;
    let catalog = w.local.catalog().await.unwrap();
    let c = cluster(w.org, "dev", "small");
    let before = reef_app::cluster_workflows::spec_of(&c);
    assert_eq!(update_problems(&catalog, &before, &grown(&c)), []);
    let mut bad = grown(&c);
    bad.region = "elsewhere".to_owned();
    bad.kubernetes_version = Some(KubernetesVersion::parse("1.33").unwrap());
    bad.node_pools[0].instance_type = "large".to_owned();
    let fields: Vec<String> = update_problems(&catalog, &before, &bad).into_iter().map(|p| p.field).collect();
    assert_eq!(fields, ["region", "region", "node_pools[0]", "kubernetes_version"]);
}

/// The local provider, but its `stop_api_server` delete step fails for good: a cloud refusing
/// to remove something.
struct StuckDelete(Arc<LocalProvider>);

impl reef_provider::Provider for StuckDelete {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn catalog(&self) -> reef_provider::ProviderFuture<'_, reef_provider::Catalog> {
        self.0.catalog()
    }

    fn steps(&self, operation: reef_provider::Operation) -> &'static [&'static str] {
        self.0.steps(operation)
    }

    fn run<'a>(
        &'a self,
        operation: reef_provider::Operation,
        step: &'a str,
        call: reef_provider::Call<'a>,
    ) -> reef_provider::ProviderFuture<'a, serde_json::Value> {
        if (operation, step) == (reef_provider::Operation::Delete, "stop_api_server") {
            return Box::pin(async {
                Err(reef_provider::ProviderError::permanent("DependencyViolation", "the network is still in use"))
            });
        }
        self.0.run(operation, step, call)
    }

    fn undo<'a>(
        &'a self,
        operation: reef_provider::Operation,
        step: &'a str,
        call: reef_provider::Call<'a>,
        output: serde_json::Value,
    ) -> reef_provider::ProviderFuture<'a, ()> {
        self.0.undo(operation, step, call, output)
    }

    fn kubeconfig<'a>(&'a self, call: reef_provider::Call<'a>) -> reef_provider::ProviderFuture<'a, String> {
        self.0.kubeconfig(call)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_delete_goes_past_a_step_that_fails_and_names_what_it_left_behind() {
    let mut w = world().await;
    let stuck = StuckDelete(w.local.clone());
    let mut providers = Providers::default();
    providers.add(Arc::new(StuckDelete(w.local.clone())));
    w.env = Arc::new(ClusterEnv::new(w.store.clone(), w.cipher.clone(), providers));
    w.engine = engine_with(&w.store, &w.env, vec![create_workflow(&stuck), delete_workflow(&stuck)]);
    let c = w.new_cluster("dev").await;
    assert_eq!(w.create(&c).await.status, WorkflowStatus::Succeeded);

    // Not forced: the delete fails at the step, and the cluster is in error saying why.
    let run = w.delete(&c).await;
    assert_eq!((run.status, run.failed_step.as_deref()), (WorkflowStatus::Failed, Some("stop_api_server")), "{run:?}");
    let got = w.get(&c).await;
    assert_eq!(got.status, ClusterStatus::Error);
    assert!(got.status_message.contains("the network is still in use"), "{}", got.status_message);

    // Forced: the record is deleted, and its status message names what was left.
    let input = DeleteRun { org: w.org, cluster: c.id, force: true };
    let id = w.engine.start(w.org, &delete_kind("local"), &format!("{}/delete", c.id), &input).await.unwrap();
    let run = run_to_end(&w.engine, w.org, id, LIMIT).await.unwrap();
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    let got = w.get(&c).await;
    assert_eq!(got.status, ClusterStatus::Deleted);
    assert_eq!(
        got.status_message,
        "deleted by force; left behind: step stop_api_server: the network is still in use (DependencyViolation)"
    );
    assert_eq!(w.store.cluster_kubeconfig(c.id).await.unwrap(), None);
    // The API server the provider could not stop is what was left.
    assert!(w.local.running_clusters().await.contains(&c.id));
}
