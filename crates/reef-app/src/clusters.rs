//! Clusters and the operations that create and delete them.
//!
//! A create is checked in full before anything is recorded: the spec on its own, the provider
//! named, the provider's catalog (region, version, instance types, capabilities) and the
//! credentials secret. Only then is the cluster recorded `pending` and its create run started
//! (see [`crate::cluster_workflows`]); the run's id is the operation the caller follows.

use std::time::Duration;

use reef_core::secret_type::FieldProblem;
use reef_core::{
    Actor, Cluster, ClusterId, ClusterName, ClusterSpec, ClusterStatus, Operation, OrgId, OrgRef, Page, PageRequest,
    SpecProblem, WorkflowId, WorkflowRun,
};
use reef_provider::Catalog;
use reef_store::clusters::{ClusterFilter, ClusterUpdate};
use reef_store::secrets::SecretRef;
use reef_workflow::EngineError;

use crate::cluster_workflows::{
    ClusterRun, DeleteRun, UpdateRun, create_kind, delete_kind, spec_of, update_kind, update_problems,
};
use crate::{App, AppError};

/// A cluster, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRef {
    /// By id (a deleted cluster is still found).
    Id(ClusterId),
    /// By name (only a cluster that is not deleted).
    Name(ClusterName),
}

impl ClusterRef {
    /// Reads a path segment: a UUID is an id, anything else must be a valid name.
    pub fn parse(s: &str) -> Option<ClusterRef> {
        if let Ok(id) = s.parse::<ClusterId>() {
            return Some(ClusterRef::Id(id));
        }
        ClusterName::parse(s).ok().map(ClusterRef::Name)
    }
}

/// An operation and how long it probably still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationView {
    /// The run, with its steps.
    pub run: WorkflowRun,
    /// The estimate, from the durations of the same steps in earlier runs; `None` when there is
    /// none yet or the operation has ended.
    pub remaining: Option<Duration>,
}

/// Why a cluster is in `error`: the operation that failed (or was cancelled), and its failed
/// step and error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFailure {
    /// The operation.
    pub operation: WorkflowId,
    /// The step that failed; `None` when the operation was cancelled.
    pub step: Option<String>,
    /// The step's error, or why the operation stopped.
    pub error: String,
}

/// What an update changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterChange {
    /// The Kubernetes version to upgrade to.
    pub kubernetes_version: Option<reef_core::KubernetesVersion>,
    /// All the node pools the cluster is to have: pools resized, added or removed.
    pub node_pools: Option<Vec<reef_core::NodePool>>,
    /// All the labels the cluster is to have.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// A cluster and the operation that was started on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOperation {
    /// The cluster as recorded when the operation started.
    pub cluster: Cluster,
    /// The operation.
    pub operation: WorkflowRun,
}

fn invalid_spec(message: impl Into<String>, problems: Vec<SpecProblem>) -> AppError {
    AppError::Invalid {
        code: "invalid_cluster_spec",
        message: message.into(),
        problems: problems.into_iter().map(|p| FieldProblem { field: p.field, reason: p.message }).collect(),
    }
}

fn cluster_key(c: &Cluster) -> String {
    c.id.to_string()
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Busy { running, .. } => AppError::conflict(
                "operation_running",
                format!("operation {running} is still running on this cluster; wait for it or cancel it"),
            ),
            EngineError::Store(e) => e.into(),
            e => AppError::Workflow(e),
        }
    }
}

impl App {
    pub(crate) async fn find_cluster(&self, org: OrgId, cluster: &ClusterRef) -> Result<Cluster, AppError> {
        let found = match cluster {
            ClusterRef::Id(id) => self.store.cluster(org, *id).await?,
            ClusterRef::Name(name) => self.store.cluster_by_name(org, name).await?,
        };
        found.ok_or(AppError::NotFound { kind: "cluster" })
    }

    async fn catalog_of(&self, provider: &dyn reef_provider::Provider) -> Result<Catalog, AppError> {
        provider
            .catalog()
            .await
            .map_err(|e| AppError::Provider { provider: provider.name().to_owned(), message: e.message })
    }

    /// Records that operation `id` (just started) works on `cluster`, and returns both.
    async fn with_operation(
        &self,
        org: OrgId,
        mut cluster: Cluster,
        id: WorkflowId,
    ) -> Result<ClusterOperation, AppError> {
        let update = ClusterUpdate { operation: Some(id), ..ClusterUpdate::default() };
        self.store.update_cluster(cluster.id, &update, self.now()).await?;
        cluster.operation = Some(id);
        let operation = self.operation(org, id).await?;
        Ok(ClusterOperation { cluster, operation })
    }

    async fn operation(&self, org: OrgId, id: WorkflowId) -> Result<WorkflowRun, AppError> {
        self.clusters.get(org, id).await?.ok_or(AppError::NotFound { kind: "operation" })
    }

    /// Checks `spec` against itself, its provider's catalog and the organization's secrets,
    /// and returns the Kubernetes version the cluster gets (`None`: the provider learns it).
    async fn check_spec(
        &self,
        org: OrgId,
        spec: &ClusterSpec,
    ) -> Result<Option<reef_core::KubernetesVersion>, AppError> {
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(invalid_spec("the cluster spec is not valid", problems));
        }
        let Some(provider) = self.cluster_env.providers().get(&spec.provider) else {
            let offered: Vec<&str> = self.cluster_env.providers().iter().map(|p| p.name()).collect();
            let message = format!("this server has no provider {:?}; it has: {}", spec.provider, offered.join(", "));
            return Err(AppError::Invalid {
                code: "unknown_provider",
                message: message.clone(),
                problems: vec![FieldProblem { field: "provider".to_owned(), reason: message }],
            });
        };
        let catalog = self.catalog_of(provider.as_ref()).await?;
        let problems = catalog.check(spec);
        if !problems.is_empty() {
            return Err(invalid_spec(format!("{} cannot make this cluster", spec.provider), problems));
        }
        // A provider that offers any version and has no default learns it from the cluster.
        let version = catalog.version_for(spec);
        if version.is_none() && !catalog.kubernetes_versions.is_empty() {
            return Err(invalid_spec(
                "a Kubernetes version is needed",
                vec![SpecProblem::new("kubernetes_version", format!("{} has no default version", spec.provider))],
            ));
        }
        if let Some(secret) = &spec.secret
            && self.store.secret(org, &SecretRef::Name(secret.clone())).await?.is_none()
        {
            return Err(AppError::Invalid {
                code: "unknown_secret",
                message: format!("the organization has no secret named `{secret}`"),
                problems: vec![FieldProblem { field: "secret".to_owned(), reason: "no such secret".to_owned() }],
            });
        }
        Ok(version)
    }

    /// Creates a cluster: checks the spec, records the cluster `pending` and starts its create
    /// operation.
    pub async fn create_cluster(
        &self,
        actor: &Actor,
        org: &OrgRef,
        spec: ClusterSpec,
    ) -> Result<ClusterOperation, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let name = spec.name.clone();
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            let version = self.check_spec(found.id, &spec).await?;
            let taken = || AppError::conflict("name_taken", format!("a cluster named `{name}` already exists"));
            if self.store.cluster_by_name(found.id, &spec.name).await?.is_some() {
                return Err(taken());
            }
            let now = self.now();
            let cluster =
                Cluster::pending(ClusterId::new(), found.id, ClusterSpec { kubernetes_version: version, ..spec }, now);
            self.store.insert_cluster(&cluster, "requested").await.map_err(|e| match e {
                reef_store::StoreError::Duplicate => taken(),
                e => e.into(),
            })?;
            let run = ClusterRun { org: found.id, cluster: cluster.id };
            let started =
                self.clusters.start(found.id, &create_kind(&cluster.provider), &cluster_key(&cluster), &run).await;
            let id = match started {
                Ok(id) => id,
                Err(e) => {
                    let cause = "create failed: the operation could not be started";
                    let at = self.now();
                    let _ = self
                        .store
                        .change_cluster_status(
                            cluster.id,
                            ClusterStatus::Pending,
                            ClusterStatus::Error,
                            cause,
                            None,
                            at,
                        )
                        .await;
                    return Err(e.into());
                }
            };
            self.with_operation(found.id, cluster, id).await
        }
        .await;
        self.record(actor, Some(found.id), "cluster.create", "cluster", name.as_str(), &result).await;
        result
    }

    /// An organization's clusters (deleted ones only when the filter asks for them).
    pub async fn list_clusters(
        &self,
        actor: &Actor,
        org: &OrgRef,
        filter: &ClusterFilter,
        page: &PageRequest,
    ) -> Result<Page<Cluster>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        Ok(self.store.clusters(org.id, filter, page).await?)
    }

    /// A cluster, by id or name.
    pub async fn get_cluster(&self, actor: &Actor, org: &OrgRef, cluster: &ClusterRef) -> Result<Cluster, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        self.find_cluster(org.id, cluster).await
    }

    /// A cluster, by id or name, and, when it is in `error`, the operation that put it there
    /// with its failed step and error.
    pub async fn describe_cluster(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<(Cluster, Option<ClusterFailure>), AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(org.id, cluster).await?;
        let failure = match (c.status, c.operation) {
            (ClusterStatus::Error, Some(id)) => self.clusters.get(org.id, id).await?.and_then(|run| {
                let error = match (run.status, run.error) {
                    (reef_core::WorkflowStatus::Failed, Some(error)) => error,
                    (reef_core::WorkflowStatus::Cancelled, error) => error.unwrap_or_else(|| "cancelled".to_owned()),
                    _ => return None,
                };
                Some(ClusterFailure { operation: id, step: run.failed_step, error })
            }),
            _ => None,
        };
        Ok((c, failure))
    }

    /// Every status a cluster went through, oldest first, each with its cause and operation.
    pub async fn cluster_history(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<Vec<reef_core::cluster::StatusChange>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(org.id, cluster).await?;
        Ok(self.store.cluster_status_changes(c.id).await?)
    }

    /// Starts deleting a cluster. A create still going on is cancelled by the delete, which
    /// waits for it to unwind; a delete already going on answers a conflict naming it. With
    /// `force`, the record goes to `deleted` even when the provider cannot remove everything,
    /// and its status message says what was left behind.
    pub async fn delete_cluster(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        force: bool,
    ) -> Result<ClusterOperation, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(found.id, cluster).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            if c.status == ClusterStatus::Deleted {
                return Err(AppError::conflict("cluster_deleted", "the cluster is deleted already"));
            }
            let run = DeleteRun { org: found.id, cluster: c.id, force };
            let subject = format!("{}/delete", c.id);
            let id = self.clusters.start(found.id, &delete_kind(&c.provider), &subject, &run).await?;
            self.with_operation(found.id, c.clone(), id).await
        }
        .await;
        self.record(actor, Some(found.id), "cluster.delete", "cluster", &c.id.to_string(), &result).await;
        result
    }

    /// Starts changing a cluster: its Kubernetes version, node pools (resized, added, removed)
    /// or labels. The change is checked against the provider's catalog and capabilities
    /// before anything starts; a cluster that is not running (or in warning or error) cannot
    /// change, and one with an operation going on answers a conflict naming it.
    pub async fn update_cluster(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        change: ClusterChange,
    ) -> Result<ClusterOperation, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(found.id, cluster).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            if !matches!(c.status, ClusterStatus::Running | ClusterStatus::Warning | ClusterStatus::Error) {
                return Err(AppError::conflict(
                    "cluster_not_ready",
                    format!("the cluster is {}; it can change once it is running", c.status),
                ));
            }
            let previous = spec_of(&c);
            let mut target = previous.clone();
            if let Some(v) = change.kubernetes_version {
                target.kubernetes_version = Some(v);
            }
            if let Some(pools) = change.node_pools {
                target.node_pools = pools;
            }
            if let Some(labels) = change.labels {
                target.labels = labels;
            }
            let Some(provider) = self.cluster_env.providers().get(&c.provider).cloned() else {
                return Err(AppError::invalid(
                    "unknown_provider",
                    format!("this server has no provider {:?}", c.provider),
                ));
            };
            let catalog = self.catalog_of(provider.as_ref()).await?;
            let problems = update_problems(&catalog, &previous, &target);
            if !problems.is_empty() {
                return Err(invalid_spec("the cluster cannot change that way", problems));
            }
            let run = UpdateRun { org: found.id, cluster: c.id, target };
            let id = self.clusters.start(found.id, &update_kind(&c.provider), &c.id.to_string(), &run).await?;
            self.with_operation(found.id, c.clone(), id).await
        }
        .await;
        self.record(actor, Some(found.id), "cluster.update", "cluster", &c.id.to_string(), &result).await;
        result
    }

    /// A cluster's kubeconfig: a credential, so members and above only, and every read is
    /// recorded in the audit log.
    pub async fn cluster_kubeconfig(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<String, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(found.id, cluster).await?;
        let result = async {
            self.authorize(actor, org, Operation::ReadKubeconfig).await?;
            let Some(kubeconfig) = self.cluster_env.kubeconfig(found.id, c.id).await? else {
                return Err(AppError::conflict(
                    "no_kubeconfig",
                    format!("the cluster has no kubeconfig: it is {}", c.status),
                ));
            };
            Ok(kubeconfig.to_string())
        }
        .await;
        self.record(actor, Some(found.id), "cluster.kubeconfig", "cluster", &c.id.to_string(), &result).await;
        result
    }

    /// An operation of the organization, with its steps and an estimate of the time it still
    /// needs.
    pub async fn get_operation(&self, actor: &Actor, org: &OrgRef, id: WorkflowId) -> Result<OperationView, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let run = self.operation(org.id, id).await?;
        let remaining = self.clusters.estimate_remaining(&run).await?;
        Ok(OperationView { run, remaining })
    }

    /// The operation once it differs from `seen` (a step started, ended or was undone, its
    /// status changed), or as it is after `timeout`: what progress streams are made of.
    pub async fn wait_for_operation(
        &self,
        actor: &Actor,
        org: &OrgRef,
        id: WorkflowId,
        seen: Option<&WorkflowRun>,
        timeout: Duration,
    ) -> Result<OperationView, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let run = self.clusters.wait_for_change(org.id, id, seen, timeout).await?;
        let run = run.ok_or(AppError::NotFound { kind: "operation" })?;
        let remaining = self.clusters.estimate_remaining(&run).await?;
        Ok(OperationView { run, remaining })
    }

    /// Asks an operation to stop: the step running finishes, then what it did is undone.
    pub async fn cancel_operation(&self, actor: &Actor, org: &OrgRef, id: WorkflowId) -> Result<WorkflowRun, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let run = self.operation(found.id, id).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            if !self.clusters.cancel(found.id, id).await? {
                return Err(AppError::conflict(
                    "operation_ended",
                    format!("the operation has ended ({}); there is nothing to cancel", run.status.as_str()),
                ));
            }
            self.operation(found.id, id).await
        }
        .await;
        self.record(actor, Some(found.id), "operation.cancel", "operation", &id.to_string(), &result).await;
        result
    }

    /// What each provider of this server offers, by provider name.
    /// What `provider` offers to the organization's credentials in `secret`, in `region`, as
    /// the provider's cloud lists it (its regions, that region's instance types, its versions).
    /// Members and above: the call uses the organization's credentials.
    pub async fn live_catalog(
        &self,
        actor: &Actor,
        org: &OrgRef,
        provider: &str,
        secret: Option<&reef_core::SecretName>,
        region: &str,
    ) -> Result<Catalog, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::WriteClusters).await?;
        let provider =
            self.cluster_env.providers().get(provider).cloned().ok_or(AppError::NotFound { kind: "provider" })?;
        let credentials =
            match secret {
                None => None,
                Some(name) => {
                    self.find_secret(found.id, &reef_store::secrets::SecretRef::Name(name.clone())).await?;
                    Some(self.cluster_env.credentials(found.id, name).await.map_err(|e| AppError::Provider {
                        provider: provider.name().to_owned(),
                        message: e.to_string(),
                    })?)
                }
            };
        let spec = ClusterSpec {
            name: reef_core::ClusterName::parse("catalog")
                .map_err(|e| AppError::invalid("invalid_name", e.to_string()))?,
            provider: provider.name().to_owned(),
            region: region.to_owned(),
            kubernetes_version: None,
            node_pools: Vec::new(),
            secret: secret.cloned(),
            labels: std::collections::BTreeMap::new(),
            options: std::collections::BTreeMap::new(),
        };
        let outputs = std::collections::BTreeMap::new();
        let call = reef_provider::Call {
            org: found.id,
            cluster: reef_core::ClusterId::new(),
            spec: &spec,
            previous: None,
            credentials: credentials.as_ref(),
            outputs: &outputs,
        };
        provider
            .live_catalog(call)
            .await
            .map_err(|e| AppError::Provider { provider: provider.name().to_owned(), message: e.message })
    }

    /// What each provider of this server offers.
    pub async fn provider_catalogs(&self, _actor: &Actor) -> Result<Vec<Catalog>, AppError> {
        let mut out = Vec::new();
        for provider in self.cluster_env.providers().iter() {
            out.push(self.catalog_of(provider.as_ref()).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use reef_core::actor::Credential;
    use reef_core::{KubernetesVersion, NodePool, NodePoolName, OrgName, Role, TokenId, UserId, UserName};
    use reef_provider_local::{LocalOptions, LocalProvider};
    use reef_store::Store;
    use reef_store::crypto::SecretCipher;
    use reef_store::users::NewUser;
    use reef_workflow::{Backoff, Engine, EngineOptions, Workers};

    use super::*;
    use crate::AppConfig;
    use crate::cluster_workflows::{ClusterEnv, Providers, create_workflow, delete_workflow};

    struct World {
        app: App,
        owner: Actor,
        org: OrgRef,
        workers: Workers,
        _dir: tempfile::TempDir,
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display());
        let store = Store::connect(&url).await.unwrap();
        let cipher = SecretCipher::new(&[3u8; 32]);
        let local = Arc::new(LocalProvider::new(LocalOptions {
            data_dir: Some(dir.path().join("clusters")),
            step_delay: Duration::from_millis(1),
            nodes_timeout: Duration::from_secs(20),
        }));
        let mut providers = Providers::default();
        providers.add(local.clone());
        let env = Arc::new(ClusterEnv::new(store.clone(), cipher.clone(), providers));
        let options = EngineOptions {
            poll: Duration::from_millis(20),
            retry: Backoff { first: Duration::from_millis(20), max: Duration::from_millis(200), attempts: 30 },
            ..EngineOptions::default()
        };
        let mut engine = Engine::new(store.clone(), env.clone(), options);
        engine.register(create_workflow(local.as_ref()));
        engine.register(delete_workflow(local.as_ref()));
        let engine = Arc::new(engine);
        let workers = engine.spawn_workers(2);
        let app = App::new(store, cipher, AppConfig::default()).with_clusters(env, engine);
        let boot = app.bootstrap().await.unwrap().unwrap();
        let owner = app.authenticate(&boot.token.secret).await.unwrap();
        let org = OrgRef::Name(OrgName::parse("default").unwrap());
        World { app, owner, org, workers, _dir: dir }
    }

    impl World {
        /// A user who is not a member of any organization yet.
        async fn user(&self, name: &str) -> Actor {
            let new = NewUser {
                id: UserId::new(),
                username: UserName::parse(name).unwrap(),
                password_hash: None,
                server_admin: false,
                created_at: self.app.now(),
            };
            self.app.store.create_user(&new).await.unwrap();
            Actor {
                user_id: new.id,
                username: new.username,
                server_admin: false,
                credential: Credential::ApiToken(TokenId::new()),
            }
        }

        async fn member(&self, name: &str, role: Role) -> Actor {
            let actor = self.user(name).await;
            self.app.add_member(&self.owner, &self.org, &actor.username, role).await.unwrap();
            actor
        }

        async fn wait(&self, id: WorkflowId) -> WorkflowRun {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let op = self.app.get_operation(&self.owner, &self.org, id).await.unwrap();
                if op.run.status.is_final() {
                    return op.run;
                }
                assert!(tokio::time::Instant::now() < deadline, "operation {id} did not end: {:?}", op.run);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    fn spec(name: &str, instance_type: &str) -> ClusterSpec {
        ClusterSpec {
            name: ClusterName::parse(name).unwrap(),
            provider: "local".to_owned(),
            region: "local".to_owned(),
            kubernetes_version: None,
            node_pools: vec![NodePool::fixed(NodePoolName::parse("workers").unwrap(), instance_type, 2)],
            secret: None,
            labels: BTreeMap::from([("team".to_owned(), "core".to_owned())]),
            options: Default::default(),
        }
    }

    fn fields(e: &AppError) -> Vec<String> {
        match e {
            AppError::Invalid { problems, .. } => problems.iter().map(|p| p.field.clone()).collect(),
            _ => Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_cluster_is_created_read_opened_and_deleted_through_its_operations() {
        let w = world().await;
        let created = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap();
        assert_eq!(created.cluster.status, ClusterStatus::Pending);
        assert_eq!(created.cluster.operation, Some(created.operation.id));
        assert_eq!(created.cluster.kubernetes_version, Some(KubernetesVersion::parse("1.35").unwrap()));
        let run = w.wait(created.operation.id).await;
        assert_eq!(run.status, reef_core::WorkflowStatus::Succeeded, "{run:?}");

        let by_name = ClusterRef::Name(ClusterName::parse("dev").unwrap());
        let got = w.app.get_cluster(&w.owner, &w.org, &by_name).await.unwrap();
        assert_eq!((got.id, got.status), (created.cluster.id, ClusterStatus::Running));
        let endpoint = got.endpoint.clone().unwrap();
        let kubeconfig = w.app.cluster_kubeconfig(&w.owner, &w.org, &by_name).await.unwrap();
        assert!(kubeconfig.contains(&endpoint), "{kubeconfig}");

        let filter = ClusterFilter {
            labels: BTreeMap::from([("team".to_owned(), "core".to_owned())]),
            ..ClusterFilter::default()
        };
        let page = PageRequest { limit: 10, after: None };
        let listed = w.app.list_clusters(&w.owner, &w.org, &filter, &page).await.unwrap();
        assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [got.id]);

        let deleting = w.app.delete_cluster(&w.owner, &w.org, &by_name, false).await.unwrap();
        let run = w.wait(deleting.operation.id).await;
        assert_eq!(run.status, reef_core::WorkflowStatus::Succeeded, "{run:?}");
        let gone = w.app.get_cluster(&w.owner, &w.org, &ClusterRef::Id(got.id)).await.unwrap();
        assert_eq!(gone.status, ClusterStatus::Deleted);
        let err = w.app.get_cluster(&w.owner, &w.org, &by_name).await.unwrap_err();
        assert_eq!(err.code(), "not_found");
        w.workers.stop().await;
    }

    #[tokio::test]
    async fn a_viewer_reads_clusters_but_neither_creates_one_nor_reads_a_kubeconfig() {
        let w = world().await;
        let viewer = w.member("viewer", Role::Viewer).await;
        let err = w.app.create_cluster(&viewer, &w.org, spec("dev", "small")).await.unwrap_err();
        assert_eq!(err.code(), "forbidden");

        let created = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap();
        let id = ClusterRef::Id(created.cluster.id);
        assert_eq!(w.app.get_cluster(&viewer, &w.org, &id).await.unwrap().id, created.cluster.id);
        w.app.get_operation(&viewer, &w.org, created.operation.id).await.unwrap();
        w.wait(created.operation.id).await;
        let err = w.app.cluster_kubeconfig(&viewer, &w.org, &id).await.unwrap_err();
        assert_eq!(err.code(), "forbidden");
        let err = w.app.delete_cluster(&viewer, &w.org, &id, false).await.unwrap_err();
        assert_eq!(err.code(), "forbidden");
        let err = w.app.cancel_operation(&viewer, &w.org, created.operation.id).await.unwrap_err();
        assert_eq!(err.code(), "forbidden");

        let member = w.member("member", Role::Member).await;
        assert!(w.app.cluster_kubeconfig(&member, &w.org, &id).await.is_ok());
        w.workers.stop().await;
    }

    #[tokio::test]
    async fn another_organization_gets_404_for_clusters_and_operations() {
        let w = world().await;
        let created = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap();
        let outsider = w.user("outsider").await;
        let theirs = w.app.create_org(&outsider, OrgName::parse("other").unwrap()).await.unwrap();
        let id = ClusterRef::Id(created.cluster.id);
        let op = created.operation.id;

        // Not a member of the cluster's organization.
        assert_eq!(w.app.get_cluster(&outsider, &w.org, &id).await.unwrap_err().code(), "not_found");
        assert_eq!(w.app.get_operation(&outsider, &w.org, op).await.unwrap_err().code(), "not_found");
        // Through their own organization, the cluster and the operation do not exist.
        let their_org = OrgRef::Id(theirs.id);
        assert_eq!(w.app.get_cluster(&outsider, &their_org, &id).await.unwrap_err().code(), "not_found");
        assert_eq!(w.app.cluster_kubeconfig(&outsider, &their_org, &id).await.unwrap_err().code(), "not_found");
        assert_eq!(w.app.delete_cluster(&outsider, &their_org, &id, false).await.unwrap_err().code(), "not_found");
        assert_eq!(w.app.get_operation(&outsider, &their_org, op).await.unwrap_err().code(), "not_found");
        assert_eq!(w.app.cancel_operation(&outsider, &their_org, op).await.unwrap_err().code(), "not_found");
        let page = PageRequest { limit: 10, after: None };
        let listed = w.app.list_clusters(&outsider, &their_org, &ClusterFilter::default(), &page).await.unwrap();
        assert!(listed.items.is_empty());
        w.wait(op).await;
        w.workers.stop().await;
    }

    #[tokio::test]
    async fn a_create_the_provider_cannot_make_is_refused_before_anything_is_recorded() {
        let w = world().await;
        let mut unknown = spec("dev", "small");
        unknown.provider = "nowhere".to_owned();
        let err = w.app.create_cluster(&w.owner, &w.org, unknown).await.unwrap_err();
        assert_eq!((err.code(), fields(&err)), ("unknown_provider", vec!["provider".to_owned()]));

        let err = w.app.create_cluster(&w.owner, &w.org, spec("dev", "huge")).await.unwrap_err();
        assert_eq!(err.code(), "invalid_cluster_spec");
        assert_eq!(fields(&err), ["node_pools[0].instance_type"]);

        let mut too_few = spec("dev", "small");
        too_few.node_pools[0].min = Some(3);
        too_few.node_pools[0].max = Some(5);
        let err = w.app.create_cluster(&w.owner, &w.org, too_few).await.unwrap_err();
        assert_eq!((err.code(), fields(&err)), ("invalid_cluster_spec", vec!["node_pools[0].count".to_owned()]));

        let mut no_secret = spec("dev", "small");
        no_secret.secret = Some(reef_core::SecretName::parse("missing").unwrap());
        let err = w.app.create_cluster(&w.owner, &w.org, no_secret).await.unwrap_err();
        assert_eq!((err.code(), fields(&err)), ("unknown_secret", vec!["secret".to_owned()]));

        let page = PageRequest { limit: 10, after: None };
        let filter = ClusterFilter { include_deleted: true, ..ClusterFilter::default() };
        assert!(w.app.list_clusters(&w.owner, &w.org, &filter, &page).await.unwrap().items.is_empty());
        w.workers.stop().await;
    }

    #[tokio::test]
    async fn a_taken_name_and_a_second_delete_are_conflicts_naming_what_holds_them() {
        let w = world().await;
        let created = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap();
        let err = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap_err();
        assert_eq!(err.code(), "name_taken");

        let id = ClusterRef::Id(created.cluster.id);
        let deleting = w.app.delete_cluster(&w.owner, &w.org, &id, false).await.unwrap();
        let err = w.app.delete_cluster(&w.owner, &w.org, &id, false).await.unwrap_err();
        let run = w.app.get_operation(&w.owner, &w.org, deleting.operation.id).await.unwrap().run;
        if !run.status.is_final() {
            assert_eq!(err.code(), "operation_running");
            assert!(err.to_string().contains(&deleting.operation.id.to_string()), "{err}");
        }
        let run = w.wait(deleting.operation.id).await;
        assert_eq!(run.status, reef_core::WorkflowStatus::Succeeded, "{run:?}");
        let err = w.app.delete_cluster(&w.owner, &w.org, &id, false).await.unwrap_err();
        assert_eq!(err.code(), "cluster_deleted");
        // The name is free again once the cluster is deleted.
        let again = w.app.create_cluster(&w.owner, &w.org, spec("dev", "small")).await.unwrap();
        w.wait(again.operation.id).await;
        w.workers.stop().await;
    }
}
