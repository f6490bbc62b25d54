//! The workflows that create and delete clusters, one pair per provider: reef's own steps
//! around the provider's (see reef-provider for the provider's side of the contract).
//!
//! Create (`cluster.create.<provider>`): `begin` (the cluster becomes `creating`, after the
//! spec is checked against the provider's catalog and the provider's preflight), the
//! provider's create steps, `save_kubeconfig` (sealed like a secret; undo: forgotten),
//! `finish` (`running`, with its endpoint).
//!
//! Update (`cluster.update.<provider>`): `begin` (the change checked against the catalog and
//! the provider's capabilities, the cluster to `updating`), the provider's update steps,
//! `finish` (the new spec recorded, `running`); a failed update is undone and leaves the
//! cluster `running` as it was.
//!
//! Delete (`cluster.delete.<provider>`): `begin` (a create still going on is cancelled and
//! waited for; then `deleting`), the provider's delete steps, `finish` (the kubeconfig
//! forgotten, `deleted`). A forced delete ([`DeleteRun::force`]) goes on past provider steps
//! that fail, and its `finish` names what they left behind.
//!
//! Once a failed or cancelled run is unwound, the cluster goes to `error` with the reason
//! (`create failed: step wait_for_nodes failed: ...`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use reef_core::{Cluster, ClusterId, ClusterSpec, ClusterStatus, OrgId, SpecProblem};
use reef_provider::{Call, Catalog, Credentials, Operation, Provider, ProviderError, Retry};
use reef_store::Store;
use reef_store::clusters::ClusterUpdate;
use reef_store::secrets::SecretRef;
use reef_workflow::{ErrorKind, StepContext, StepError, Workflow};
use serde::{Deserialize, Serialize};

use crate::secret_backend::{BackendError, SecretBackend, kubeconfig_context};
use crate::vault::VaultError;
use serde_json::Value;

/// The providers a server offers, by name.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<&'static str, Arc<dyn Provider>>);

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Providers {
    /// Adds a provider, replacing one of the same name.
    pub fn add(&mut self, provider: Arc<dyn Provider>) {
        self.0.insert(provider.name(), provider);
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.0.get(name)
    }

    /// Every provider, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.0.values()
    }
}

/// What cluster workflows work with: the store, the cipher that seals kubeconfigs and opens
/// credentials, the providers, and the clients of the clusters reached.
#[derive(Debug, Clone)]
pub struct ClusterEnv {
    pub(crate) store: Store,
    pub(crate) secrets: SecretBackend,
    pub(crate) providers: Providers,
    clients: ClusterClients,
}

/// The most cluster clients kept; past it, those kept are dropped and made again as needed.
const MAX_KEPT_CLIENTS: usize = 1024;

/// Clients of the clusters reef reaches, by cluster, each with the sealed kubeconfig it was
/// made from. Keeping them spares each workflow step and request opening the kubeconfig and
/// connecting again (a TLS handshake each); a client is used only while its kubeconfig is the
/// one stored.
#[derive(Clone, Default)]
struct ClusterClients(Arc<std::sync::Mutex<std::collections::HashMap<ClusterId, KeptClient>>>);

/// A client kept for a cluster: made from the kubeconfig sealed as `sealed`, whose credentials
/// expire at `expires` (if they do).
#[derive(Clone)]
struct KeptClient {
    sealed: String,
    client: reef_kube::ClusterClient,
    expires: Option<std::time::SystemTime>,
}

/// How long before its credentials expire a kubeconfig is renewed.
const RENEW_BEFORE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Whether credentials that expire at `expires` are to be renewed now.
fn expiring(expires: Option<std::time::SystemTime>) -> bool {
    expires.is_some_and(|at| at <= std::time::SystemTime::now() + RENEW_BEFORE)
}

impl std::fmt::Debug for ClusterClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("ClusterClients").field("kept", &kept).finish()
    }
}

/// Why a cluster's client could not be had.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// Reading or opening its kubeconfig failed.
    Store(reef_store::StoreError),
    /// Its API server could not be reached with it.
    Kube(reef_kube::KubeError),
}

impl ClusterEnv {
    /// The environment of cluster workflows.
    pub fn new(store: Store, secrets: impl Into<SecretBackend>, providers: Providers) -> ClusterEnv {
        ClusterEnv { store, secrets: secrets.into(), providers, clients: ClusterClients::default() }
    }

    /// A client of `cluster` through the kubeconfig reef keeps for it (`timeout` for each
    /// call); `None` when it has none (yet).
    pub(crate) async fn client(
        &self,
        org: OrgId,
        cluster: ClusterId,
        timeout: std::time::Duration,
    ) -> Result<Option<reef_kube::ClusterClient>, ClientError> {
        let Some(sealed) = self.store.cluster_kubeconfig(cluster).await.map_err(ClientError::Store)? else {
            return Ok(None);
        };
        let kept = |m: &std::collections::HashMap<ClusterId, KeptClient>| {
            m.get(&cluster).filter(|k| k.sealed == sealed && !expiring(k.expires)).map(|k| k.client.clone())
        };
        if let Some(client) = self.clients.0.lock().ok().and_then(|m| kept(&m)) {
            return Ok(Some(client));
        }
        let Some((sealed, text, expires)) = self.current_kubeconfig(org, cluster, sealed).await? else {
            return Ok(None);
        };
        let client = reef_kube::ClusterClient::connect(&text, timeout).await.map_err(ClientError::Kube)?;
        if let Ok(mut m) = self.clients.0.lock() {
            if m.len() >= MAX_KEPT_CLIENTS {
                m.clear();
            }
            m.insert(cluster, KeptClient { sealed, client: client.clone(), expires });
        }
        Ok(Some(client))
    }

    /// The kubeconfig reef keeps (`sealed`), opened, and when its credentials expire; renewed
    /// first (through the cluster's provider, and stored) when they expire within a few
    /// minutes, as a cloud's short-lived tokens do.
    async fn current_kubeconfig(
        &self,
        org: OrgId,
        cluster: ClusterId,
        sealed: String,
    ) -> Result<Option<(String, zeroize::Zeroizing<String>, Option<std::time::SystemTime>)>, ClientError> {
        let text = self.open_kubeconfig(org, cluster, &sealed).map_err(ClientError::Store)?;
        let Some(c) = self.store.cluster(org, cluster).await.map_err(ClientError::Store)? else { return Ok(None) };
        let Some(provider) = self.providers.get(&c.provider).cloned() else { return Ok(Some((sealed, text, None))) };
        let expires = provider.kubeconfig_expires(&text);
        if !expiring(expires) {
            return Ok(Some((sealed, text, expires)));
        }
        let renewal_failed = |message: String, transient: bool| {
            ClientError::Kube(reef_kube::KubeError { code: "credentials_renewal_failed", message, transient })
        };
        let credentials = match &c.secret {
            None => None,
            Some(name) => Some(
                self.credentials(org, name)
                    .await
                    .map_err(|e| renewal_failed(format!("the cluster's credentials cannot be renewed: {e}"), true))?,
            ),
        };
        let spec = spec_of(&c);
        let outputs = BTreeMap::new();
        let call =
            Call { org, cluster, spec: &spec, previous: None, credentials: credentials.as_ref(), outputs: &outputs };
        let renewed = provider.kubeconfig(call).await.map_err(|e| {
            renewal_failed(
                format!("the cluster's credentials cannot be renewed: {}", e.message),
                e.retry == reef_provider::Retry::Transient,
            )
        })?;
        let new_sealed = self.keep_kubeconfig(org, cluster, &renewed).await.map_err(ClientError::Store)?;
        tracing::debug!(%cluster, "renewed the cluster's kubeconfig before its credentials expired");
        let expires = provider.kubeconfig_expires(&renewed);
        Ok(Some((new_sealed, zeroize::Zeroizing::new(renewed), expires)))
    }

    /// The providers.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// The kubeconfig reef keeps for `cluster`, opened (and renewed first when its credentials
    /// are about to expire); `None` when it has none (yet).
    pub(crate) async fn kubeconfig(
        &self,
        org: OrgId,
        cluster: ClusterId,
    ) -> Result<Option<zeroize::Zeroizing<String>>, reef_store::StoreError> {
        let Some(sealed) = self.store.cluster_kubeconfig(cluster).await? else { return Ok(None) };
        match self.current_kubeconfig(org, cluster, sealed.clone()).await {
            Ok(found) => Ok(found.map(|(_, text, _)| text)),
            Err(ClientError::Store(e)) => Err(e),
            // The kubeconfig as it is: a user may still use it for a while, or renew it later.
            Err(ClientError::Kube(e)) => {
                tracing::warn!(%cluster, error = %e.message, "the cluster's kubeconfig could not be renewed");
                self.open_kubeconfig(org, cluster, &sealed).map(Some)
            }
        }
    }

    /// Seals `kubeconfig` and keeps it as `cluster`'s; returns it sealed.
    async fn keep_kubeconfig(
        &self,
        org: OrgId,
        cluster: ClusterId,
        kubeconfig: &str,
    ) -> Result<String, reef_store::StoreError> {
        let sealed = self.secrets.cipher().seal(kubeconfig.as_bytes(), &kubeconfig_context(org, cluster))?;
        self.store.set_cluster_kubeconfig(cluster, Some(&sealed)).await?;
        Ok(sealed)
    }

    /// A sealed kubeconfig of `cluster`, opened.
    fn open_kubeconfig(
        &self,
        org: OrgId,
        cluster: ClusterId,
        sealed: &str,
    ) -> Result<zeroize::Zeroizing<String>, reef_store::StoreError> {
        let bytes = self.secrets.cipher().open(sealed, &kubeconfig_context(org, cluster))?;
        String::from_utf8(bytes.to_vec())
            .map(zeroize::Zeroizing::new)
            .map_err(|_| reef_store::StoreError::Corrupt { column: "kubeconfig" })
    }
}

/// The input of every cluster workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRun {
    /// The organization.
    pub org: OrgId,
    /// The cluster.
    pub cluster: ClusterId,
}

/// The kind of a provider's create workflow.
pub fn create_kind(provider: &str) -> String {
    format!("cluster.create.{provider}")
}

/// The kind of a provider's delete workflow.
pub fn delete_kind(provider: &str) -> String {
    format!("cluster.delete.{provider}")
}

/// The spec a cluster's record stands for.
pub fn spec_of(c: &Cluster) -> ClusterSpec {
    ClusterSpec {
        name: c.name.clone(),
        provider: c.provider.clone(),
        region: c.region.clone(),
        kubernetes_version: c.kubernetes_version.clone(),
        node_pools: c.node_pools.clone(),
        secret: c.secret.clone(),
        labels: c.labels.clone(),
        options: c.options.clone(),
    }
}

fn step_error(e: ProviderError) -> StepError {
    match e.retry {
        Retry::Transient => StepError::transient(e.to_string()),
        Retry::Permanent => StepError::permanent(e.to_string()),
    }
}

fn store_error(e: reef_store::StoreError) -> StepError {
    StepError::transient(format!("the database failed: {e}"))
}

/// Everything a provider call needs, loaded when a step runs.
struct Loaded {
    spec: ClusterSpec,
    /// For an update: the spec before it (what `spec` replaces).
    previous: Option<ClusterSpec>,
    credentials: Option<Credentials>,
    provider: Arc<dyn Provider>,
}

impl Loaded {
    fn call<'a>(&'a self, run: &ClusterRun, outputs: &'a BTreeMap<String, Value>) -> Call<'a> {
        Call {
            org: run.org,
            cluster: run.cluster,
            spec: &self.spec,
            credentials: self.credentials.as_ref(),
            previous: self.previous.as_ref(),
            outputs,
        }
    }
}

impl ClusterEnv {
    async fn load(&self, run: &ClusterRun) -> Result<Loaded, StepError> {
        let cluster = self
            .store
            .cluster(run.org, run.cluster)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StepError::permanent("the cluster no longer exists"))?;
        let provider = self
            .providers
            .get(&cluster.provider)
            .cloned()
            .ok_or_else(|| StepError::permanent(format!("this server has no provider {:?}", cluster.provider)))?;
        let credentials = match &cluster.secret {
            None => None,
            Some(name) => Some(self.credentials(run.org, name).await?),
        };
        Ok(Loaded { spec: spec_of(&cluster), previous: None, credentials, provider })
    }

    pub(crate) async fn credentials(&self, org: OrgId, name: &reef_core::SecretName) -> Result<Credentials, StepError> {
        let meta = self
            .store
            .secret(org, &SecretRef::Name(name.clone()))
            .await
            .map_err(store_error)?
            .ok_or_else(|| StepError::permanent(format!("the secret {name} does not exist")))?;
        let sealed = self
            .store
            .secret_sealed(meta.id, meta.version)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StepError::permanent(format!("the secret {name} has no values")))?;
        let fields = self.secrets.load(org, meta.id, meta.version, &sealed).await.map_err(|e| match e {
            BackendError::Vault(VaultError::Unavailable { .. }) | BackendError::NoVault => {
                StepError::transient(format!("the secret {name} cannot be read now: {e}"))
            }
            e => StepError::permanent(format!("the secret {name} cannot be read: {e}")),
        })?;
        Ok(Credentials(fields.into_inner()))
    }

    /// Moves the cluster from one of `from` to `to` with `cause`; fine when it is in `to`
    /// already (the step ran before). An error names the status it is in instead.
    async fn move_status(
        &self,
        run: &ClusterRun,
        from: &[ClusterStatus],
        to: ClusterStatus,
        cause: &str,
        operation: reef_core::WorkflowId,
    ) -> Result<(), StepError> {
        for _ in 0..3 {
            let Some(c) = self.store.cluster(run.org, run.cluster).await.map_err(store_error)? else {
                return Err(StepError::permanent("the cluster no longer exists"));
            };
            if c.status == to {
                return Ok(());
            }
            if !from.contains(&c.status) {
                return Err(StepError::permanent(format!("the cluster is {}, not {}", c.status, from[0])));
            }
            let moved = self
                .store
                .change_cluster_status(run.cluster, c.status, to, cause, Some(operation), Utc::now())
                .await
                .map_err(store_error)?;
            if moved {
                return Ok(());
            }
        }
        Err(StepError::transient("the cluster's status keeps changing"))
    }

    /// After a failed or cancelled run: the cluster goes to `to` with `cause` if it is in one
    /// of `from` (a run that failed before moving it leaves it where it was otherwise).
    async fn settle(
        &self,
        run: &ClusterRun,
        from: &[ClusterStatus],
        to: ClusterStatus,
        cause: &str,
        operation: reef_core::WorkflowId,
    ) -> Result<(), StepError> {
        let Some(c) = self.store.cluster(run.org, run.cluster).await.map_err(store_error)? else { return Ok(()) };
        if !from.contains(&c.status) {
            return Ok(());
        }
        self.move_status(run, from, to, cause, operation).await
    }

    /// Why run `run` is unwinding, for the cluster's status message.
    async fn unwind_reason(&self, org: OrgId, run: reef_core::WorkflowId) -> String {
        match self.store.workflow(org, run).await {
            Ok(Some(r)) if r.cancel_requested && r.failed_step.is_none() => "cancelled".to_owned(),
            Ok(Some(r)) => match (r.failed_step, r.error) {
                (Some(step), Some(error)) => format!("step {step} failed: {error}"),
                (_, Some(error)) => error,
                _ => "failed".to_owned(),
            },
            _ => "failed".to_owned(),
        }
    }
}

fn input(cx: &StepContext<ClusterEnv>) -> Result<ClusterRun, StepError> {
    cx.input()
}

impl ClusterEnv {
    /// Lets each provider bring back the clusters that live in this process (see
    /// [`Provider::resume`]); for a server that starts. A cluster that cannot come back is
    /// logged and left to the health checks. Returns how many were resumed.
    pub async fn resume_clusters(&self) -> usize {
        let standing = match self.store.standing_clusters().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "listing clusters to resume failed");
                return 0;
            }
        };
        let mut resumed = 0;
        for (org, cluster) in standing {
            let run = ClusterRun { org, cluster };
            let outputs = BTreeMap::new();
            let done = match self.load(&run).await {
                Ok(loaded) => loaded.provider.resume(loaded.call(&run, &outputs)).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.message),
            };
            match done {
                Ok(()) => resumed += 1,
                Err(e) => tracing::warn!(%cluster, error = %e, "a cluster could not be resumed"),
            }
        }
        resumed
    }
}

/// The key, in a provider's create step output, of the Kubernetes version the provider found
/// the cluster running (see [`reef_provider::Provider`]'s contract); `finish` records it.
pub const KUBERNETES_VERSION: &str = "kubernetes_version";

/// The create workflow for `provider`.
///
/// # Panics
/// When the provider has a step named like one of reef's (`begin`, `save_kubeconfig`,
/// `finish`).
pub fn create_workflow(provider: &dyn Provider) -> Workflow<ClusterEnv> {
    let kind: &'static str = Box::leak(create_kind(provider.name()).into_boxed_str());
    let mut wf = Workflow::new(kind)
        .step("begin", |cx: StepContext<ClusterEnv>| async move {
            let run = input(&cx)?;
            let loaded = cx.app.load(&run).await?;
            let no_outputs = BTreeMap::new();
            let catalog = loaded.provider.live_catalog(loaded.call(&run, &no_outputs)).await.map_err(step_error)?;
            let problems = catalog.check(&loaded.spec);
            if let Some(p) = problems.first() {
                return Err(StepError::permanent(format!("{}: {}", p.field, p.message)));
            }
            let outputs = BTreeMap::new();
            loaded.provider.preflight(loaded.call(&run, &outputs)).await.map_err(step_error)?;
            let from = [ClusterStatus::Pending, ClusterStatus::Error];
            cx.app.move_status(&run, &from, ClusterStatus::Creating, "creating", cx.run).await
        })
        .on_unwound(|cx: StepContext<ClusterEnv>| async move {
            let run = input(&cx)?;
            let reason = cx.app.unwind_reason(run.org, cx.run).await;
            let from = [ClusterStatus::Pending, ClusterStatus::Creating];
            cx.app.settle(&run, &from, ClusterStatus::Error, &format!("create failed: {reason}"), cx.run).await
        });
    for step in provider.steps(Operation::Create) {
        assert!(!["begin", "save_kubeconfig", "finish"].contains(step), "{}: step {step} is reef's", provider.name());
        let step: &'static str = step;
        wf = wf.step_with_undo(
            step,
            move |cx: StepContext<ClusterEnv>| async move {
                let run = input(&cx)?;
                let loaded = cx.app.load(&run).await?;
                let call = loaded.call(&run, cx.outputs());
                loaded.provider.run(Operation::Create, step, call).await.map_err(step_error)
            },
            move |cx: StepContext<ClusterEnv>, output: Value| async move {
                let run = input(&cx)?;
                let loaded = cx.app.load(&run).await?;
                let call = loaded.call(&run, cx.outputs());
                loaded.provider.undo(Operation::Create, step, call, output).await.map_err(step_error)
            },
        );
    }
    wf.step_with_undo(
        "save_kubeconfig",
        |cx: StepContext<ClusterEnv>| async move {
            let run = input(&cx)?;
            let loaded = cx.app.load(&run).await?;
            let kubeconfig = loaded.provider.kubeconfig(loaded.call(&run, cx.outputs())).await.map_err(step_error)?;
            cx.app.keep_kubeconfig(run.org, run.cluster, &kubeconfig).await.map_err(|e| match e {
                reef_store::StoreError::Crypto(e) => {
                    StepError::permanent(format!("sealing the kubeconfig failed: {e}"))
                }
                e => store_error(e),
            })?;
            Ok(server_of(&kubeconfig))
        },
        |cx: StepContext<ClusterEnv>, _: Option<String>| async move {
            let run = input(&cx)?;
            cx.app.store.set_cluster_kubeconfig(run.cluster, None).await.map_err(store_error)?;
            Ok(())
        },
    )
    .step("finish", |cx: StepContext<ClusterEnv>| async move {
        let run = input(&cx)?;
        // After a restart this may be the only step that runs: the provider makes sure the
        // cluster is served.
        let loaded = cx.app.load(&run).await?;
        loaded.provider.resume(loaded.call(&run, cx.outputs())).await.map_err(step_error)?;
        let endpoint: Option<String> = cx.output("save_kubeconfig")?;
        // A provider that learns the version from the cluster says so in a step's output.
        let kubernetes_version = cx
            .outputs()
            .values()
            .find_map(|out| out.get(KUBERNETES_VERSION)?.as_str().map(reef_core::KubernetesVersion::parse))
            .transpose()
            .map_err(|e| StepError::permanent(format!("the provider reported {e}")))?;
        let update = ClusterUpdate { endpoint, kubernetes_version, ..ClusterUpdate::default() };
        cx.app.store.update_cluster(run.cluster, &update, Utc::now()).await.map_err(store_error)?;
        cx.app.move_status(&run, &[ClusterStatus::Creating], ClusterStatus::Running, "created", cx.run).await
    })
}

/// The delete workflow for `provider`.
///
/// # Panics
/// When the provider has a step named like one of reef's (`begin`, `finish`).
pub fn delete_workflow(provider: &dyn Provider) -> Workflow<ClusterEnv> {
    let kind: &'static str = Box::leak(delete_kind(provider.name()).into_boxed_str());
    let mut wf = Workflow::new(kind)
        .step("begin", |cx: StepContext<ClusterEnv>| async move {
            let run = input(&cx)?;
            // A create (or update) still going on is cancelled first, and waited for: it
            // unwinds what it made.
            if let Some(other) =
                cx.app.store.active_workflow(run.org, &run.cluster.to_string()).await.map_err(store_error)?
            {
                cx.app.store.request_cancel(run.org, other, Utc::now()).await.map_err(store_error)?;
                return Err(StepError::transient(format!("waiting for operation {other} to stop")));
            }
            let from = [
                ClusterStatus::Pending,
                ClusterStatus::Creating,
                ClusterStatus::Running,
                ClusterStatus::Updating,
                ClusterStatus::Error,
                ClusterStatus::Warning,
            ];
            cx.app.move_status(&run, &from, ClusterStatus::Deleting, "deleting", cx.run).await
        })
        .on_unwound(|cx: StepContext<ClusterEnv>| async move {
            let run = input(&cx)?;
            let reason = cx.app.unwind_reason(run.org, cx.run).await;
            let cause = format!("delete failed: {reason}");
            cx.app.settle(&run, &[ClusterStatus::Deleting], ClusterStatus::Error, &cause, cx.run).await
        });
    for step in provider.steps(Operation::Delete) {
        assert!(!["begin", "finish"].contains(step), "{}: step {step} is reef's", provider.name());
        let step: &'static str = step;
        wf = wf.step(step, move |cx: StepContext<ClusterEnv>| async move {
            let run: DeleteRun = cx.input()?;
            let done = async {
                let loaded = cx.app.load(&run.base()).await?;
                let call = loaded.call(&run.base(), cx.outputs());
                loaded.provider.run(Operation::Delete, step, call).await.map_err(step_error)
            }
            .await;
            match done {
                // Forced: what the step could not remove is recorded, and the delete goes on.
                Err(e) if run.force && (e.kind == ErrorKind::Permanent || cx.attempt >= FORCE_ATTEMPTS) => {
                    Ok(serde_json::json!({ LEFT_BEHIND: e.message }))
                }
                done => done,
            }
        });
    }
    wf.step("finish", |cx: StepContext<ClusterEnv>| async move {
        let run: DeleteRun = cx.input()?;
        cx.app.store.set_cluster_kubeconfig(run.cluster, None).await.map_err(store_error)?;
        let left: Vec<String> = cx
            .outputs()
            .iter()
            .filter_map(|(step, out)| Some(format!("step {step}: {}", out.get(LEFT_BEHIND)?.as_str()?)))
            .collect();
        let cause = if left.is_empty() {
            "deleted".to_owned()
        } else {
            format!("deleted by force; left behind: {}", left.join("; "))
        };
        cx.app.move_status(&run.base(), &[ClusterStatus::Deleting], ClusterStatus::Deleted, &cause, cx.run).await
    })
}

/// The input of a delete run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRun {
    /// The organization.
    pub org: OrgId,
    /// The cluster.
    pub cluster: ClusterId,
    /// Whether a provider step that fails for good (or still fails after
    /// [`FORCE_ATTEMPTS`] attempts) is recorded as having left something behind instead of
    /// failing the delete: the record goes to `deleted` either way, its status message naming
    /// what was left.
    #[serde(default)]
    pub force: bool,
}

impl DeleteRun {
    fn base(&self) -> ClusterRun {
        ClusterRun { org: self.org, cluster: self.cluster }
    }
}

/// How many attempts a forced delete gives a step whose error may pass.
pub const FORCE_ATTEMPTS: u32 = 3;

/// The key, in a delete step's output, of what a forced delete left behind.
const LEFT_BEHIND: &str = "left_behind";

/// The input of an update run: the cluster and what it is to become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRun {
    /// The organization.
    pub org: OrgId,
    /// The cluster.
    pub cluster: ClusterId,
    /// The spec it is changed to.
    pub target: ClusterSpec,
}

/// The kind of a provider's update workflow.
pub fn update_kind(provider: &str) -> String {
    format!("cluster.update.{provider}")
}

/// What is wrong with changing a cluster from `previous` to `target` with a provider that
/// offers `catalog`: what the catalog does not offer, what cannot change (name, provider,
/// region, secret), what the provider cannot do (resize, add or remove pools, upgrade), and a
/// downgrade.
pub fn update_problems(catalog: &Catalog, previous: &ClusterSpec, target: &ClusterSpec) -> Vec<SpecProblem> {
    let mut out = target.problems();
    out.extend(catalog.check(target));
    let fixed = [
        ("name", previous.name.as_str() != target.name.as_str()),
        ("provider", previous.provider != target.provider),
        ("region", previous.region != target.region),
        ("secret", previous.secret != target.secret),
    ];
    for (field, changed) in fixed {
        if changed {
            out.push(SpecProblem::new(field, format!("a cluster's {field} cannot change")));
        }
    }
    let caps = catalog.capabilities;
    let old: BTreeMap<&str, &reef_core::NodePool> = previous.node_pools.iter().map(|p| (p.name.as_str(), p)).collect();
    let new: BTreeMap<&str, &reef_core::NodePool> = target.node_pools.iter().map(|p| (p.name.as_str(), p)).collect();
    let added_or_removed = old.keys().any(|k| !new.contains_key(k)) || new.keys().any(|k| !old.contains_key(k));
    if added_or_removed && !caps.add_remove_node_pool {
        out.push(SpecProblem::new("node_pools", format!("{} cannot add or remove node pools", catalog.provider)));
    }
    for (i, pool) in target.node_pools.iter().enumerate() {
        let Some(before) = old.get(pool.name.as_str()) else { continue };
        let resized = (before.count, before.min, before.max, before.autoscaling)
            != (pool.count, pool.min, pool.max, pool.autoscaling);
        if resized && !caps.scale_node_pool {
            out.push(SpecProblem::new(
                format!("node_pools[{i}]"),
                format!("{} cannot resize node pools", catalog.provider),
            ));
        }
        let reshaped = (&before.instance_type, before.spot, &before.labels, &before.taints)
            != (&pool.instance_type, pool.spot, &pool.labels, &pool.taints);
        if reshaped {
            out.push(SpecProblem::new(
                format!("node_pools[{i}]"),
                "a node pool's instance type, spot, labels and taints cannot change; add a new pool instead",
            ));
        }
    }
    if let (Some(from), Some(to)) = (&previous.kubernetes_version, &target.kubernetes_version)
        && from != to
    {
        if to < from {
            out.push(SpecProblem::new("kubernetes_version", format!("Kubernetes cannot go down from {from} to {to}")));
        } else if !caps.upgrade_version {
            out.push(SpecProblem::new("kubernetes_version", format!("{} cannot upgrade Kubernetes", catalog.provider)));
        }
    }
    out
}

/// The update workflow for `provider`: `begin` (the change checked again, the cluster to
/// `updating`), the provider's update steps (undone back to the previous spec), `finish` (the
/// new spec recorded, `running`). An update that fails is undone and leaves the cluster
/// `running` as it was, its status message saying why.
///
/// # Panics
/// When the provider has a step named like one of reef's (`begin`, `finish`).
pub fn update_workflow(provider: &dyn Provider) -> Workflow<ClusterEnv> {
    let kind: &'static str = Box::leak(update_kind(provider.name()).into_boxed_str());
    let mut wf = Workflow::new(kind)
        .step("begin", |cx: StepContext<ClusterEnv>| async move {
            let run: UpdateRun = cx.input()?;
            let loaded = cx.app.load_update(&run).await?;
            let no_outputs = BTreeMap::new();
            let call = loaded.call(&run.base(), &no_outputs);
            let catalog = loaded.provider.live_catalog(call).await.map_err(step_error)?;
            let previous = loaded.previous.as_ref().unwrap_or(&loaded.spec);
            if let Some(p) = update_problems(&catalog, previous, &loaded.spec).first() {
                return Err(StepError::permanent(format!("{}: {}", p.field, p.message)));
            }
            let from = [ClusterStatus::Running, ClusterStatus::Warning, ClusterStatus::Error];
            cx.app.move_status(&run.base(), &from, ClusterStatus::Updating, "updating", cx.run).await
        })
        .on_unwound(|cx: StepContext<ClusterEnv>| async move {
            let run: UpdateRun = cx.input()?;
            let reason = cx.app.unwind_reason(run.org, cx.run).await;
            let cause = format!("update failed and was undone: {reason}");
            cx.app.settle(&run.base(), &[ClusterStatus::Updating], ClusterStatus::Running, &cause, cx.run).await
        });
    for step in provider.steps(Operation::Update) {
        assert!(!["begin", "finish"].contains(step), "{}: step {step} is reef's", provider.name());
        let step: &'static str = step;
        wf = wf.step_with_undo(
            step,
            move |cx: StepContext<ClusterEnv>| async move {
                let run: UpdateRun = cx.input()?;
                let loaded = cx.app.load_update(&run).await?;
                let call = loaded.call(&run.base(), cx.outputs());
                loaded.provider.run(Operation::Update, step, call).await.map_err(step_error)
            },
            move |cx: StepContext<ClusterEnv>, output: Value| async move {
                let run: UpdateRun = cx.input()?;
                let loaded = cx.app.load_update(&run).await?;
                let call = loaded.call(&run.base(), cx.outputs());
                loaded.provider.undo(Operation::Update, step, call, output).await.map_err(step_error)
            },
        );
    }
    wf.step("finish", |cx: StepContext<ClusterEnv>| async move {
        let run: UpdateRun = cx.input()?;
        // After a restart this may be the only step that runs: the provider makes sure the
        // cluster is served, as it now is.
        let loaded = cx.app.load_update(&run).await?;
        loaded.provider.resume(loaded.call(&run.base(), cx.outputs())).await.map_err(step_error)?;
        let update = ClusterUpdate {
            kubernetes_version: run.target.kubernetes_version.clone(),
            node_pools: Some(run.target.node_pools.clone()),
            labels: Some(run.target.labels.clone()),
            ..ClusterUpdate::default()
        };
        cx.app.store.update_cluster(run.cluster, &update, Utc::now()).await.map_err(store_error)?;
        cx.app.move_status(&run.base(), &[ClusterStatus::Updating], ClusterStatus::Running, "updated", cx.run).await
    })
}

impl UpdateRun {
    fn base(&self) -> ClusterRun {
        ClusterRun { org: self.org, cluster: self.cluster }
    }
}

impl ClusterEnv {
    /// What an update step needs: the target spec (its version defaulting to the cluster's)
    /// and the cluster's spec as recorded, which the update replaces.
    async fn load_update(&self, run: &UpdateRun) -> Result<Loaded, StepError> {
        let mut loaded = self.load(&run.base()).await?;
        let previous = std::mem::replace(&mut loaded.spec, run.target.clone());
        if loaded.spec.kubernetes_version.is_none() {
            loaded.spec.kubernetes_version = previous.kubernetes_version.clone();
        }
        loaded.previous = Some(previous);
        Ok(loaded)
    }
}

/// The API server named in a kubeconfig (its first cluster's `server`).
fn server_of(kubeconfig: &str) -> Option<String> {
    kubeconfig.lines().find_map(|l| {
        let value = l.trim().strip_prefix("server:")?.trim().trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_owned())
    })
}
