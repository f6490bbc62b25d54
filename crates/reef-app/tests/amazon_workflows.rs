//! The cluster workflows over the amazon provider against moto's AWS, run by the real engine:
//! each step run twice makes one of everything and the delete leaves nothing; and a failure
//! injected at each create step leaves nothing in AWS and the cluster in error.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use reef_app::cluster_workflows::{
    ClusterEnv, ClusterRun, Providers, create_kind, create_workflow, delete_kind, delete_workflow,
};
use reef_app::{App, AppConfig, NewSecret};
use reef_core::actor::Credential;
use reef_core::secret::SecretValues;
use reef_core::{
    Actor, Cluster, ClusterId, ClusterName, ClusterSpec, ClusterStatus, KubernetesVersion, NodePool, NodePoolName,
    OrgId, OrgRef, SecretName, SecretType, TokenId, WorkflowStatus,
};
use reef_provider_amazon::ec2::{self, Owner};
use reef_provider_amazon::steps::eks_name;
use reef_provider_amazon::{AccessKey, AmazonOptions, AmazonProvider, Aws, Endpoints, eks, iam};
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_testkit::{Moto, missing_peer};
use reef_workflow::testing::{each_step_twice, failing_at, run_to_end};
use reef_workflow::{Engine, Workflow};

const KEY: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

struct World {
    store: Store,
    org: OrgId,
    actor: Actor,
    cipher: SecretCipher,
    amazon: Arc<AmazonProvider>,
    env: Arc<ClusterEnv>,
    aws: Aws,
    _moto: Moto,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Option<World> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let Some(moto) = Moto::start().expect("starting moto") else {
            missing_peer("moto_server", "$REEF_MOTO or PATH; scripts/test installs moto[server] from PyPI");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display())).await.unwrap();
        let (user, org) = support::owner_and_org(&store).await;
        let cipher = SecretCipher::new(&[7; 32]);
        // The cluster's credentials, stored as a user would store them.
        let actor = Actor {
            user_id: user.id,
            username: user.username.clone(),
            server_admin: false,
            credential: Credential::ApiToken(TokenId::new()),
        };
        let values = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), KEY.0.to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), KEY.1.to_owned()),
        ]);
        let secret = NewSecret {
            name: SecretName::parse("aws").unwrap(),
            secret_type: SecretType::Amazon,
            values: SecretValues::new(values),
            tags: Vec::new(),
        };
        App::new(store.clone(), cipher.clone(), AppConfig::default())
            .create_secret(&actor, &OrgRef::Id(org), secret)
            .await
            .unwrap();
        let endpoints = Endpoints { all: Some(moto.endpoint.clone()) };
        let amazon = Arc::new(AmazonProvider::new(AmazonOptions {
            endpoints: endpoints.clone(),
            poll: Duration::from_millis(10),
        }));
        let mut providers = Providers::default();
        providers.add(amazon.clone());
        let env = Arc::new(ClusterEnv::new(store.clone(), cipher.clone(), providers));
        let aws = Aws::new(AccessKey::new(KEY.0, KEY.1, None), "eu-west-1", endpoints).unwrap();
        Some(World { store, org, actor, cipher, amazon, env, aws, _moto: moto, _dir: dir })
    }

    fn engine(&self, workflows: Vec<Workflow<ClusterEnv>>) -> Arc<Engine<ClusterEnv>> {
        let mut engine = Engine::new(self.store.clone(), self.env.clone(), support::engine_options(5));
        for wf in workflows {
            engine.register(wf);
        }
        Arc::new(engine)
    }

    async fn new_cluster(&self, name: &str) -> Cluster {
        let spec = ClusterSpec {
            name: ClusterName::parse(name).unwrap(),
            provider: "amazon".to_owned(),
            region: "eu-west-1".to_owned(),
            kubernetes_version: Some(KubernetesVersion::parse("1.33").unwrap()),
            node_pools: vec![NodePool::fixed(NodePoolName::parse("workers").unwrap(), "m5.large", 2)],
            secret: Some(SecretName::parse("aws").unwrap()),
            labels: BTreeMap::new(),
            options: Default::default(),
        };
        let c = Cluster::pending(ClusterId::new(), self.org, spec, Utc::now());
        self.store.insert_cluster(&c, "create requested").await.unwrap();
        c
    }

    async fn run(&self, engine: &Arc<Engine<ClusterEnv>>, kind: &str, subject: String, c: &Cluster) -> WorkflowStatus {
        let input = ClusterRun { org: self.org, cluster: c.id };
        let id = engine.start(self.org, kind, &subject, &input).await.unwrap();
        let workers = engine.spawn_workers(1);
        let run = run_to_end(engine, self.org, id, Duration::from_secs(120)).await.unwrap();
        workers.stop().await;
        run.status
    }

    async fn status(&self, c: &Cluster) -> ClusterStatus {
        self.store.cluster(self.org, c.id).await.unwrap().unwrap().status
    }

    /// Everything of `c` AWS still has.
    async fn left_in_aws(&self, c: &Cluster) -> Vec<String> {
        let owner = Owner { org: self.org.to_string(), cluster: c.id.to_string(), name: c.name.to_string() };
        let mut out: Vec<String> = ec2::tagged(&self.aws, &owner.cluster)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, id)| format!("{k} {id}"))
            .collect();
        for role in ["cluster", "nodes"] {
            if iam::role_exists(&self.aws, &format!("reef-{}-{role}", owner.cluster)).await.unwrap() {
                out.push(format!("{role} role"));
            }
        }
        if eks::describe_cluster(&self.aws, &eks_name(&owner)).await.unwrap().is_some() {
            out.push("eks cluster".to_owned());
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_run_twice_makes_one_cluster_and_the_delete_leaves_nothing() {
    let Some(w) = World::new().await else { return };
    let engine = w.engine(vec![
        each_step_twice(&create_workflow(w.amazon.as_ref())),
        each_step_twice(&delete_workflow(w.amazon.as_ref())),
    ]);
    let c = w.new_cluster("prod").await;
    assert_eq!(w.run(&engine, &create_kind("amazon"), c.id.to_string(), &c).await, WorkflowStatus::Succeeded);
    assert_eq!(w.status(&c).await, ClusterStatus::Running);
    let made = w.left_in_aws(&c).await;
    assert_eq!(made.len(), 10 + 2 + 1, "{made:#?}");
    assert!(w.store.cluster_kubeconfig(c.id).await.unwrap().is_some());

    // The kubeconfig's EKS token is about to expire (signed 14 minutes ago): reading the
    // kubeconfig renews it first, and keeps the renewed one.
    let context = format!("cluster/{}/{}/kubeconfig", w.org, c.id);
    let stored = w.store.cluster_kubeconfig(c.id).await.unwrap().unwrap();
    let text = String::from_utf8(w.cipher.open(&stored, &context).unwrap().to_vec()).unwrap();
    let old_token = text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().to_owned();
    let signed = (Utc::now() - chrono::Duration::minutes(14)).format("%Y%m%dT%H%M%SZ");
    let url = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Date={signed}&X-Amz-Expires=60",
        w.aws.endpoints().url("sts", "eu-west-1")
    );
    let stale_token = format!("k8s-aws-v1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url));
    let stale = text.replace(&old_token, &stale_token);
    assert!(
        reef_provider_amazon::provider::token_expires(&stale).unwrap()
            < std::time::SystemTime::now() + Duration::from_secs(120)
    );
    w.store.set_cluster_kubeconfig(c.id, Some(&w.cipher.seal(stale.as_bytes(), &context).unwrap())).await.unwrap();
    let app =
        App::new(w.store.clone(), w.cipher.clone(), AppConfig::default()).with_clusters(w.env.clone(), engine.clone());
    let read = app.cluster_kubeconfig(&w.actor, &OrgRef::Id(w.org), &reef_app::ClusterRef::Id(c.id)).await.unwrap();
    let fresh = reef_provider_amazon::provider::token_expires(&read).unwrap();
    assert!(fresh > std::time::SystemTime::now() + Duration::from_secs(14 * 60), "the token was renewed");
    let kept = w.store.cluster_kubeconfig(c.id).await.unwrap().unwrap();
    let kept = String::from_utf8(w.cipher.open(&kept, &context).unwrap().to_vec()).unwrap();
    assert_eq!(kept, read, "the renewed kubeconfig is the one kept");
    assert_eq!(w.run(&engine, &delete_kind("amazon"), format!("{}/delete", c.id), &c).await, WorkflowStatus::Succeeded);
    assert_eq!(w.status(&c).await, ClusterStatus::Deleted);
    assert_eq!(w.left_in_aws(&c).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_each_create_step_leaves_nothing_in_aws_and_the_cluster_in_error() {
    let Some(w) = World::new().await else { return };
    let create = create_workflow(w.amazon.as_ref());
    for (i, step) in create.steps().iter().enumerate() {
        let engine = w.engine(vec![failing_at(&create, i), delete_workflow(w.amazon.as_ref())]);
        let c = w.new_cluster(&format!("fail-{i}")).await;
        assert_eq!(w.run(&engine, &create_kind("amazon"), c.id.to_string(), &c).await, WorkflowStatus::Failed);
        assert_eq!(w.status(&c).await, ClusterStatus::Error, "failing at {}", step.name());
        assert_eq!(w.left_in_aws(&c).await, Vec::<String>::new(), "failing at {}", step.name());
    }
}
