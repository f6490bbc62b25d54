//! The deployment workflows against a `local` cluster, through the two checks every workflow
//! gets: each step run twice does what one run does, and a failure injected at each step
//! leaves the release failed, or with `atomic` leaves nothing at all.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reef_app::cluster_workflows::{ClusterEnv, ClusterRun, Providers, create_kind, create_workflow};
use reef_app::deployments::{
    Change, DeployRun, DeploySpec, UNINSTALL_KIND, UninstallRun, deploy_kind, deploy_workflow, uninstall_workflow,
};
use reef_core::{Cluster, ClusterId, ClusterName, ClusterSpec, NodePool, NodePoolName, OrgId, WorkflowStatus};
use reef_deploy::{Options, Releases};
use reef_helm::release::Status;
use reef_kube::{ClusterClient, ObjectRef};
use reef_provider_local::{LocalOptions, LocalProvider};
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_workflow::testing::{each_step_twice, failing_at, run_to_end};
use reef_workflow::{Engine, EngineOptions, Workflow};

const LIMIT: Duration = Duration::from_secs(60);

struct World {
    store: Store,
    org: OrgId,
    env: Arc<ClusterEnv>,
    cluster: ClusterId,
    releases: Releases,
    chart: Vec<u8>,
    _local: Arc<LocalProvider>,
    _dir: tempfile::TempDir,
}

fn options() -> EngineOptions {
    support::engine_options(3)
}

/// A chart with a ConfigMap, a Deployment and a pre-install Job hook, packed.
fn chart(dir: &std::path::Path) -> Vec<u8> {
    let root = dir.join("app");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(root.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\n").unwrap();
    std::fs::write(root.join("values.yaml"), "greeting: hello\nreplicas: 1\n").unwrap();
    std::fs::write(
        root.join("templates/all.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting }}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n  template:\n    metadata:\n      labels: {app: {{ .Release.Name }}}\n    spec:\n      containers:\n        - name: app\n          image: nginx\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/hook.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-prepare\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-succeeded\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: prepare\n          image: busybox\n",
    )
    .unwrap();
    reef_helm::chart::package_dir(&root).unwrap()
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display());
    let store = Store::connect(&url).await.unwrap();
    let (_, org) = support::owner_and_org(&store).await;
    let local = Arc::new(LocalProvider::new(LocalOptions {
        data_dir: Some(dir.path().join("clusters")),
        step_delay: Duration::from_millis(1),
        nodes_timeout: Duration::from_secs(20),
    }));
    let mut providers = Providers::default();
    providers.add(local.clone());
    let cipher = SecretCipher::new(&[9; 32]);
    let env = Arc::new(ClusterEnv::new(store.clone(), cipher.clone(), providers));
    let spec = ClusterSpec {
        name: ClusterName::parse("dev").unwrap(),
        provider: "local".to_owned(),
        region: "local".to_owned(),
        kubernetes_version: None,
        node_pools: vec![NodePool::fixed(NodePoolName::parse("workers").unwrap(), "small", 1)],
        secret: None,
        labels: BTreeMap::new(),
        options: Default::default(),
    };
    let c = Cluster::pending(ClusterId::new(), org, spec, Utc::now());
    store.insert_cluster(&c, "requested").await.unwrap();
    let mut e = Engine::new(store.clone(), env.clone(), options());
    e.register(create_workflow(local.as_ref()));
    let id = e.start(org, &create_kind("local"), &c.id.to_string(), &ClusterRun { org, cluster: c.id }).await.unwrap();
    assert_eq!(run_to_end(&e, org, id, LIMIT).await.unwrap().status, WorkflowStatus::Succeeded);
    let sealed = store.cluster_kubeconfig(c.id).await.unwrap().unwrap();
    let kubeconfig = cipher.open(&sealed, &format!("cluster/{org}/{}/kubeconfig", c.id)).unwrap();
    let client = ClusterClient::connect(std::str::from_utf8(&kubeconfig).unwrap(), LIMIT).await.unwrap();
    World {
        store,
        org,
        env,
        cluster: c.id,
        releases: Releases::new(client, Options::default()),
        chart: chart(dir.path()),
        _local: local,
        _dir: dir,
    }
}

impl World {
    fn spec(&self, release: &str, set: &[&str], atomic: bool) -> DeploySpec {
        use base64::Engine as _;
        let chart = base64::engine::general_purpose::STANDARD.encode(&self.chart);
        serde_json::from_value(serde_json::json!({
            "release": release,
            "namespace": "apps",
            "chart": chart,
            "set": set,
            "atomic": atomic,
            "create_namespace": true,
            "wait": true,
            "timeout_seconds": 30,
        }))
        .unwrap()
    }

    async fn run(
        &self,
        wf: Workflow<ClusterEnv>,
        kind: &str,
        subject: &str,
        input: &impl serde::Serialize,
    ) -> reef_core::WorkflowRun {
        let mut e = Engine::new(self.store.clone(), self.env.clone(), options());
        e.register(wf);
        let id = e.start(self.org, kind, subject, input).await.unwrap();
        run_to_end(&e, self.org, id, LIMIT).await.unwrap()
    }

    async fn deploy(&self, wf: Workflow<ClusterEnv>, change: Change, spec: DeploySpec) -> reef_core::WorkflowRun {
        let subject = format!("{}/release/apps/{}", self.cluster, spec.release);
        let run = DeployRun { org: self.org, cluster: self.cluster, spec, to_revision: 0 };
        self.run(wf, deploy_kind(change), &subject, &run).await
    }

    fn object(&self, kind: &str, api_version: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: Some("apps".to_owned()),
            name: name.to_owned(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_of_install_upgrade_and_uninstall_run_twice_does_what_one_run_does() {
    let w = world().await;
    let install = each_step_twice(&deploy_workflow(Change::Install));
    let run = w.deploy(install, Change::Install, w.spec("web", &[], false)).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    let history = w.releases.history("apps", "web").await.unwrap();
    assert_eq!(history.iter().map(|r| (r.version, r.info.status)).collect::<Vec<_>>(), [(1, Status::Deployed)]);
    let config = w.releases.client().get_object(&w.object("ConfigMap", "v1", "web-config")).await.unwrap().unwrap();
    assert_eq!(config["data"]["greeting"], "hello");
    // The hook ran and was deleted once it succeeded.
    assert_eq!(w.releases.client().get_object(&w.object("Job", "batch/v1", "web-prepare")).await.unwrap(), None);

    let upgrade = each_step_twice(&deploy_workflow(Change::Upgrade));
    let run = w.deploy(upgrade, Change::Upgrade, w.spec("web", &["greeting=bonjour", "replicas=2"], false)).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    let history = w.releases.history("apps", "web").await.unwrap();
    assert_eq!(
        history.iter().map(|r| (r.version, r.info.status)).collect::<Vec<_>>(),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    let config = w.releases.client().get_object(&w.object("ConfigMap", "v1", "web-config")).await.unwrap().unwrap();
    assert_eq!(config["data"]["greeting"], "bonjour");

    let uninstall = each_step_twice(&uninstall_workflow());
    let input = UninstallRun {
        org: w.org,
        cluster: w.cluster,
        release: "web".into(),
        namespace: "apps".into(),
        keep_history: false,
    };
    let run = w.run(uninstall, UNINSTALL_KIND, &format!("{}/release/apps/web", w.cluster), &input).await;
    assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
    assert_eq!(w.releases.history("apps", "web").await.unwrap_err().code, "release_not_found");
    assert_eq!(w.releases.client().get_object(&w.object("ConfigMap", "v1", "web-config")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_step_leaves_the_release_failed_or_with_atomic_nothing() {
    let w = world().await;
    let install = deploy_workflow(Change::Install);
    for (i, step) in install.steps().iter().enumerate() {
        // Atomic: nothing of the release is left, whichever step failed.
        let name = format!("atomic-{i}");
        let run = w.deploy(failing_at(&install, i), Change::Install, w.spec(&name, &[], true)).await;
        assert_eq!(run.status, WorkflowStatus::Failed, "failing at {}: {run:?}", step.name());
        assert_eq!(
            w.releases.history("apps", &name).await.unwrap_err().code,
            "release_not_found",
            "failing at {}",
            step.name()
        );
        let config = w.object("ConfigMap", "v1", &format!("{name}-config"));
        assert_eq!(w.releases.client().get_object(&config).await.unwrap(), None, "failing at {}", step.name());
        // Not atomic: once begun, the revision is failed, saying why; the lock is released.
        let name = format!("plain-{i}");
        let run = w.deploy(failing_at(&install, i), Change::Install, w.spec(&name, &[], false)).await;
        assert_eq!(run.status, WorkflowStatus::Failed);
        match w.releases.history("apps", &name).await {
            Ok(history) => {
                assert!(i > 0, "begin failed but recorded a revision");
                assert_eq!(history[0].info.status, Status::Failed, "failing at {}", step.name());
                assert!(history[0].info.description.contains("injected failure"), "{:?}", history[0].info);
            }
            Err(e) => assert_eq!((i, e.code), (0, "release_not_found")),
        }
    }
}
