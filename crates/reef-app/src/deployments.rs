//! Deployments: Helm releases of charts in an organization's clusters.
//!
//! A release lives in its cluster, recorded as Helm records it (reef-deploy), so that the
//! `helm` CLI sees it; reef's database keeps only the operations that change releases. An
//! install, upgrade or rollback is a durable workflow (`deployment.install`, `.upgrade`,
//! `.rollback`) whose steps are `begin` (the chart rendered and the new revision recorded
//! `pending-*`, the release's lock), `crds` (install only), `pre_hooks`, `apply`, `wait`,
//! `post_hooks` and `finish`; each may run again after a crash. A failed run marks the
//! revision `failed`; an atomic one also uninstalls a failed install, or rolls a failed upgrade
//! back. Uninstalling is `deployment.uninstall`, one step.
//!
//! One operation at a time per release: a second answers a conflict naming the first.

use std::time::Duration;

use reef_core::{Actor, ClusterId, ClusterStatus, Operation, OrgId, OrgRef, WorkflowRun};
use reef_deploy::{Options, Releases, Request};
use reef_helm::release::Release;
use reef_helm::template::{ReleaseRender, TemplateOptions};
use reef_workflow::{StepContext, StepError, Workflow};
use serde::{Deserialize, Serialize};

pub use reef_deploy::Change;
pub use reef_helm::release::Release as HelmRelease;

use crate::cluster_access::dns_name;
use crate::cluster_workflows::{ClientError, ClusterEnv};
use crate::clusters::ClusterRef;
use crate::{App, AppError};

/// How long one call to a cluster may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest chart archive accepted.
pub const MAX_CHART_BYTES: usize = 8 << 20;

/// What to deploy: a chart and its values, and how.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySpec {
    /// The release's name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// The chart, as a `.tgz` archive (base64 in the operation's input).
    #[serde(with = "base64_bytes")]
    pub chart: Vec<u8>,
    /// Instead of `chart`: a chart of one of the organization's repositories, fetched when
    /// the deployment is asked for.
    #[serde(skip)]
    pub from_repo: Option<ChartRef>,
    /// Values files' contents (YAML), in the order given (`-f`).
    #[serde(default)]
    pub values: Vec<String>,
    /// `--set` expressions.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` expressions.
    #[serde(default)]
    pub set_string: Vec<String>,
    /// `--set-json` expressions.
    #[serde(default)]
    pub set_json: Vec<String>,
    /// Values read from the organization's secrets when the chart is rendered (only the
    /// references are kept, here and in the release's values).
    #[serde(default)]
    pub values_from: Vec<ValueFrom>,
    /// Wait until every resource is ready.
    #[serde(default)]
    pub wait: bool,
    /// Undo on failure.
    #[serde(default)]
    pub atomic: bool,
    /// Make the namespace when it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
    /// Run no hooks.
    #[serde(default)]
    pub no_hooks: bool,
    /// How long waiting (for readiness, for each hook) may take, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

impl Default for DeploySpec {
    /// Nothing to deploy yet, in `default`, with the default timeout.
    fn default() -> DeploySpec {
        DeploySpec {
            release: String::new(),
            namespace: "default".to_owned(),
            chart: Vec::new(),
            from_repo: None,
            values: Vec::new(),
            set: Vec::new(),
            set_string: Vec::new(),
            set_json: Vec::new(),
            values_from: Vec::new(),
            wait: false,
            atomic: false,
            create_namespace: false,
            no_hooks: false,
            timeout_seconds: default_timeout(),
        }
    }
}

impl std::fmt::Debug for DeploySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may hold credentials; they stay out of logs.
        f.debug_struct("DeploySpec")
            .field("release", &self.release)
            .field("namespace", &self.namespace)
            .field("chart_bytes", &self.chart.len())
            .finish_non_exhaustive()
    }
}

/// A chart to fetch, at a version or a constraint (the latest stable when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartRef {
    /// A chart of one of the organization's repositories or registries.
    Repo {
        /// The repository.
        repo: String,
        /// The chart.
        name: String,
        /// Its version or a constraint.
        version: Option<String>,
    },
    /// A chart in an OCI registry.
    Oci {
        /// `oci://registry/path/chart[:tag][@digest]`.
        reference: String,
        /// Its version or a constraint.
        version: Option<String>,
        /// Reach the registry over HTTP rather than HTTPS.
        plain_http: bool,
    },
}

/// A value read from a field of an organization's secret when a chart is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueFrom {
    /// Where in the values it goes, dotted (`auth.password`).
    pub path: String,
    /// The secret.
    pub secret: reef_core::SecretName,
    /// Its field.
    pub key: String,
}

/// The values `from` names, read from the organization's secrets, as one values document.
async fn secret_values(env: &ClusterEnv, org: OrgId, from: &[ValueFrom]) -> Result<serde_json::Value, StepError> {
    let mut doc = serde_json::Value::Object(serde_json::Map::new());
    for v in from {
        let fields = env.credentials(org, &v.secret).await?;
        let value = fields
            .get(&v.key)
            .ok_or_else(|| StepError::permanent(format!("the secret {} has no field {}", v.secret, v.key)))?;
        let mut at = &mut doc;
        let parts: Vec<&str> = v.path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if !at.is_object() {
                *at = serde_json::Value::Object(serde_json::Map::new());
            }
            let map = at.as_object_mut().ok_or_else(|| StepError::permanent("unreachable: not an object"))?;
            if i + 1 == parts.len() {
                map.insert((*part).to_owned(), serde_json::Value::String(value.to_owned()));
                break;
            }
            at = map.entry((*part).to_owned()).or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        }
    }
    Ok(doc)
}

/// Removes the value at dotted `path` from `values`, and the maps it leaves empty.
fn remove_path(values: &mut serde_json::Map<String, serde_json::Value>, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        values.remove(*first);
        return;
    }
    if let Some(serde_json::Value::Object(child)) = values.get_mut(*first) {
        remove_path(child, rest);
        if child.is_empty() {
            values.remove(*first);
        }
    }
}

fn default_timeout() -> u64 {
    300
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The input of an install, upgrade or rollback run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRun {
    /// The organization.
    pub org: OrgId,
    /// The cluster.
    pub cluster: ClusterId,
    /// The release and, but for a rollback, the chart and values.
    pub spec: DeploySpec,
    /// For a rollback, the revision to go back to (0: the one before the latest).
    #[serde(default)]
    pub to_revision: u32,
}

/// The input of an uninstall run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UninstallRun {
    /// The organization.
    pub org: OrgId,
    /// The cluster.
    pub cluster: ClusterId,
    /// The release.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// Keep its records, the last marked `uninstalled`.
    pub keep_history: bool,
}

/// The workflow kind of a change.
pub fn deploy_kind(change: Change) -> &'static str {
    match change {
        Change::Install => "deployment.install",
        Change::Upgrade => "deployment.upgrade",
        Change::Rollback(_) => "deployment.rollback",
    }
}

/// The workflow kind of an uninstall.
pub const UNINSTALL_KIND: &str = "deployment.uninstall";

/// What the operations of a release hold: one at a time.
fn subject(cluster: ClusterId, namespace: &str, release: &str) -> String {
    format!("{cluster}/release/{namespace}/{release}")
}

fn step_error(e: reef_deploy::DeployError) -> StepError {
    if e.transient {
        StepError::transient(e.message)
    } else {
        StepError::permanent(format!("{} ({})", e.message, e.code))
    }
}

impl ClusterEnv {
    /// The releases of a cluster, through the kubeconfig reef keeps for it.
    async fn releases(&self, org: OrgId, cluster: ClusterId, timeout: Duration) -> Result<Releases, StepError> {
        let client = match self.client(org, cluster, CALL_TIMEOUT).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(StepError::permanent("the cluster has no kubeconfig: it is not running")),
            Err(ClientError::Store(e)) => return Err(StepError::transient(format!("the database failed: {e}"))),
            Err(ClientError::Kube(e)) if e.transient => return Err(StepError::transient(e.message)),
            Err(ClientError::Kube(e)) => return Err(StepError::permanent(e.message)),
        };
        Ok(Releases::new(client, Options { timeout, ..Options::default() }))
    }
}

/// Renders `spec`'s chart as revision `revision` for a cluster running `kube_version`.
fn render(
    spec: &DeploySpec,
    revision: u32,
    is_upgrade: bool,
    kube_version: Option<String>,
    lookup: reef_helm::template::Lookup,
    from_secrets: &serde_json::Value,
) -> Result<ReleaseRender, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let chart = dir.path().join("chart.tgz");
    std::fs::write(&chart, &spec.chart).map_err(|e| format!("writing the chart: {e}"))?;
    let mut values_files = Vec::new();
    for (i, text) in spec.values.iter().enumerate() {
        let path = dir.path().join(format!("values-{i}.yaml"));
        std::fs::write(&path, text).map_err(|e| format!("writing values: {e}"))?;
        values_files.push(path);
    }
    // The secrets' values come after the values files, and only while rendering.
    let secrets_file = zeroize::Zeroizing::new(from_secrets.to_string());
    if !spec.values_from.is_empty() {
        let path = dir.path().join("values-from-secrets.yaml");
        std::fs::write(&path, secrets_file.as_bytes()).map_err(|e| format!("writing values: {e}"))?;
        values_files.push(path);
    }
    let opts = TemplateOptions {
        release_name: spec.release.clone(),
        chart,
        namespace: spec.namespace.clone(),
        values_files,
        set: spec.set.clone(),
        set_string: spec.set_string.clone(),
        set_json: spec.set_json.clone(),
        kube_version,
        is_upgrade,
        lookup: Some(lookup),
        ..TemplateOptions::default()
    };
    let mut rendered = reef_helm::template::render_release(&opts, revision).map_err(|e| e.to_string())?;
    for v in &spec.values_from {
        remove_path(&mut rendered.config, &v.path.split('.').collect::<Vec<_>>());
    }
    Ok(rendered)
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Begun {
    revision: u32,
}

/// What each step of a run needs: its input, the cluster's releases, the revision it made.
async fn held(cx: &StepContext<ClusterEnv>) -> Result<(DeployRun, Releases, Release), StepError> {
    let run: DeployRun = cx.input()?;
    let releases = cx.app.releases(run.org, run.cluster, Duration::from_secs(run.spec.timeout_seconds)).await?;
    let begun: Begun = cx.output("begin")?;
    let release =
        releases.revision(&run.spec.namespace, &run.spec.release, begun.revision).await.map_err(step_error)?;
    Ok((run, releases, release))
}

fn request(spec: &DeploySpec) -> Request {
    Request {
        name: spec.release.clone(),
        namespace: spec.namespace.clone(),
        create_namespace: spec.create_namespace,
        wait: spec.wait,
        atomic: spec.atomic,
        no_hooks: spec.no_hooks,
    }
}

/// The workflow of an install, an upgrade or a rollback.
pub fn deploy_workflow(change: Change) -> Workflow<ClusterEnv> {
    let event = change.event();
    Workflow::new(deploy_kind(change))
        .step("begin", move |cx: StepContext<ClusterEnv>| async move {
            let run: DeployRun = cx.input()?;
            let releases = cx.app.releases(run.org, run.cluster, Duration::from_secs(run.spec.timeout_seconds)).await?;
            let kube_version = releases.client().version().await.ok();
            let spec = run.spec.clone();
            let change = match change {
                Change::Rollback(_) => Change::Rollback(run.to_revision),
                c => c,
            };
            let operation = cx.run.to_string();
            // The chart is rendered for the revision the release gets next, off the async
            // workers (it is CPU work); a rollback renders nothing.
            let next = releases.next_revision(&spec.namespace, &spec.release).await.map_err(step_error)?;
            let rendered = if matches!(change, Change::Rollback(_)) {
                None
            } else {
                let is_upgrade = change != Change::Install;
                let lookup = reef_deploy::cluster_lookup(releases.client().clone(), tokio::runtime::Handle::current());
                let from_secrets = secret_values(&cx.app, run.org, &spec.values_from).await?;
                let done = tokio::task::spawn_blocking(move || {
                    render(&spec, next, is_upgrade, kube_version, lookup, &from_secrets)
                })
                .await
                .map_err(|e| StepError::permanent(format!("rendering the chart stopped: {e}")))?;
                Some(done.map_err(|e| StepError::permanent(format!("the chart cannot be rendered: {e}")))?)
            };
            let req = request(&run.spec);
            let release = releases
                .begin(&req, change, &operation, |revision| match rendered {
                    Some(r) if revision == next => Ok(r),
                    _ => Err(reef_deploy::DeployError {
                        code: "operation_in_progress",
                        message: format!("release {} changed while its chart was rendered", req.name),
                        transient: true,
                    }),
                })
                .await
                .map_err(step_error)?;
            Ok(Begun { revision: release.version })
        })
        .on_unwound(move |cx: StepContext<ClusterEnv>| async move {
            let run: DeployRun = cx.input()?;
            let Ok(begun) = cx.output::<Begun>("begin") else { return Ok(()) };
            let releases = cx.app.releases(run.org, run.cluster, Duration::from_secs(run.spec.timeout_seconds)).await?;
            let release =
                releases.revision(&run.spec.namespace, &run.spec.release, begun.revision).await.map_err(step_error)?;
            if !release.info.status.is_pending() {
                return Ok(());
            }
            let why = match cx.app.store.workflow(run.org, cx.run).await {
                Ok(Some(r)) => r.error.unwrap_or_else(|| "cancelled".to_owned()),
                _ => "failed".to_owned(),
            };
            releases.fail(&release, &change.failed(&run.spec.release, &why)).await.map_err(step_error)?;
            if run.spec.atomic {
                releases.undo(&request(&run.spec), change, &cx.run.to_string()).await.map_err(step_error)?;
            }
            Ok(())
        })
        .step("crds", move |cx: StepContext<ClusterEnv>| async move {
            if change != Change::Install {
                return Ok(0);
            }
            let (run, releases, _) = held(&cx).await?;
            // The chart (whose values are not `Send`) is dropped before anything is awaited.
            let crds = {
                let chart = reef_helm::chart::load_archive(&run.spec.chart).map_err(|e| StepError::permanent(e.0))?;
                reef_helm::template::chart_crds(&chart).map_err(|e| StepError::permanent(e.0))?
            };
            let done = releases.install_crds(&run.spec.namespace, &crds).await.map_err(step_error)?;
            Ok(done.len())
        })
        .step("pre_hooks", move |cx: StepContext<ClusterEnv>| async move {
            let (run, releases, release) = held(&cx).await?;
            if !run.spec.no_hooks {
                releases.run_hooks(&release, &format!("pre-{event}")).await.map_err(step_error)?;
            }
            Ok(())
        })
        .step("apply", |cx: StepContext<ClusterEnv>| async move {
            let (_, releases, release) = held(&cx).await?;
            let (applied, deleted) = releases.apply(&release).await.map_err(step_error)?;
            let names = |v: Vec<reef_kube::ObjectRef>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
            Ok(serde_json::json!({"applied": names(applied), "deleted": names(deleted)}))
        })
        .step("wait", |cx: StepContext<ClusterEnv>| async move {
            let (run, releases, release) = held(&cx).await?;
            if run.spec.wait {
                releases.wait_ready(&release).await.map_err(step_error)?;
            }
            Ok(())
        })
        .step("post_hooks", move |cx: StepContext<ClusterEnv>| async move {
            let (run, releases, release) = held(&cx).await?;
            if !run.spec.no_hooks {
                releases.run_hooks(&release, &format!("post-{event}")).await.map_err(step_error)?;
            }
            Ok(())
        })
        .step("finish", move |cx: StepContext<ClusterEnv>| async move {
            let (_, releases, release) = held(&cx).await?;
            if release.info.status == reef_helm::release::Status::Deployed {
                return Ok(());
            }
            releases.finish(&release, change).await.map_err(step_error)?;
            Ok(())
        })
}

/// The workflow of an uninstall.
pub fn uninstall_workflow() -> Workflow<ClusterEnv> {
    Workflow::new(UNINSTALL_KIND).step("uninstall", |cx: StepContext<ClusterEnv>| async move {
        let run: UninstallRun = cx.input()?;
        let releases = cx.app.releases(run.org, run.cluster, Duration::from_secs(300)).await?;
        let done = releases.uninstall_as(&run.namespace, &run.release, run.keep_history, &cx.run.to_string()).await;
        match done {
            Ok(o) => Ok(o.deleted.iter().map(ToString::to_string).collect::<Vec<_>>()),
            // Gone already: the step ran before (and deleted the records) and is run again, or
            // someone else uninstalled it. Either way what was asked for is done. (The request
            // checked that the release existed.)
            Err(e) if e.code == "release_not_found" => Ok(Vec::new()),
            Err(e) => Err(step_error(e)),
        }
    })
}

/// What a deployment would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployDiff {
    /// The revision it would make.
    pub revision: u32,
    /// Whether it would upgrade a deployed release (rather than install).
    pub upgrade: bool,
    /// The objects it would add, change and remove.
    pub diff: String,
    /// The manifest it would record.
    pub manifest: String,
    /// The chart's notes.
    pub notes: String,
}

/// A release as a list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseView {
    /// The latest revision.
    pub release: Release,
    /// Each of its objects with why it is not ready (`None`: ready), when asked for.
    pub resources: Vec<(reef_kube::ObjectRef, Option<String>)>,
}

fn check_names(release: &str, namespace: &str) -> Result<(), AppError> {
    let mut problems = Vec::new();
    // Helm's release names: DNS subdomains of at most 53 characters.
    if !(release.len() <= 53 && dns_name(release, true)) {
        problems.push(reef_core::secret_type::FieldProblem {
            field: "release".to_owned(),
            reason: "must be lower-case letters, digits, '-' and '.', at most 53, as Helm requires".to_owned(),
        });
    }
    if !dns_name(namespace, false) {
        problems.push(reef_core::secret_type::FieldProblem {
            field: "namespace".to_owned(),
            reason: "must be a DNS label: lower-case letters, digits and '-', at most 63".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid {
            code: "invalid_deployment",
            message: "the release cannot be named so".to_owned(),
            problems,
        })
    }
}

fn deploy_error(e: reef_deploy::DeployError) -> AppError {
    match e.code {
        "release_not_found" | "revision_not_found" => AppError::NotFound { kind: "release" },
        _ => AppError::Cluster { code: e.code, message: e.message },
    }
}

impl App {
    /// A running cluster of the organization, for a deployment.
    async fn deployable(&self, org: OrgId, cluster: &ClusterRef) -> Result<reef_core::Cluster, AppError> {
        let c = self.find_cluster(org, cluster).await?;
        if !matches!(c.status, ClusterStatus::Running | ClusterStatus::Warning | ClusterStatus::Updating) {
            return Err(AppError::conflict(
                "cluster_not_ready",
                format!("the cluster is {}; charts are deployed to running clusters", c.status),
            ));
        }
        Ok(c)
    }

    /// Starts installing (`Change::Install`) or upgrading (`Change::Upgrade`) a release.
    pub async fn deploy(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        change: Change,
        mut spec: DeploySpec,
    ) -> Result<WorkflowRun, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let target = format!("{}/{}", spec.namespace, spec.release);
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            let c = self.deployable(found.id, cluster).await?;
            check_names(&spec.release, &spec.namespace)?;
            if spec.chart.is_empty() == spec.from_repo.is_none() {
                return Err(AppError::invalid(
                    "invalid_chart",
                    "give either `chart` (an archive) or `chart_ref` (a repository's or a registry's chart)",
                ));
            }
            if let Some(r) = spec.from_repo.take() {
                spec.chart = self.fetch_chart(found.id, &r).await?;
            }
            if !spec.values_from.is_empty() {
                // The values end up readable in the cluster: as installing a secret does.
                self.authorize(actor, org, Operation::ReadSecretValues).await?;
                for v in &spec.values_from {
                    let meta =
                        self.find_secret(found.id, &reef_store::secrets::SecretRef::Name(v.secret.clone())).await?;
                    if !meta.fields.contains(&v.key) || v.path.split('.').any(str::is_empty) {
                        return Err(AppError::invalid(
                            "invalid_values_from",
                            format!(
                                "values_from: the secret {} has no field {:?}, or the path {:?} is empty",
                                v.secret, v.key, v.path
                            ),
                        ));
                    }
                }
            }
            if spec.chart.len() > MAX_CHART_BYTES {
                return Err(AppError::invalid(
                    "chart_too_large",
                    format!("a chart archive may be {MAX_CHART_BYTES} bytes at most"),
                ));
            }
            // The chart must load, so that a broken one fails here and not in a step.
            if let Err(e) = reef_helm::chart::load_archive(&spec.chart) {
                return Err(AppError::invalid("invalid_chart", format!("the chart cannot be read: {}", e.0)));
            }
            let run = DeployRun { org: found.id, cluster: c.id, spec, to_revision: 0 };
            self.start_operation(
                found.id,
                deploy_kind(change),
                &subject(c.id, &run.spec.namespace, &run.spec.release),
                &run,
            )
            .await
        }
        .await;
        let action = if change == Change::Install { "deployment.install" } else { "deployment.upgrade" };
        self.record(actor, Some(found.id), action, "release", &target, &result).await;
        result
    }

    /// What deploying `spec` would change, without changing anything: the chart rendered for
    /// the release's next revision (reading the cluster for `lookup`, as a deployment does),
    /// and the difference from the deployed revision's objects ([`reef_deploy::diff_manifests`]).
    pub async fn diff_deployment(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        mut spec: DeploySpec,
    ) -> Result<DeployDiff, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        // Rendering reads the cluster's objects (lookup), Secrets included.
        self.authorize(actor, org, Operation::WriteClusters).await?;
        let c = self.deployable(found.id, cluster).await?;
        check_names(&spec.release, &spec.namespace)?;
        if let Some(r) = spec.from_repo.take() {
            spec.chart = self.fetch_chart(found.id, &r).await?;
        }
        if !spec.values_from.is_empty() {
            self.authorize(actor, org, Operation::ReadSecretValues).await?;
        }
        let releases = self.releases_of(found.id, &c).await?;
        let history = match releases.history(&spec.namespace, &spec.release).await {
            Ok(h) => h,
            Err(e) if e.code == "release_not_found" => Vec::new(),
            Err(e) => return Err(deploy_error(e)),
        };
        let deployed = history.iter().rev().find(|r| r.info.status == reef_helm::release::Status::Deployed);
        let revision = history.last().map_or(1, |r| r.version + 1);
        let is_upgrade = deployed.is_some();
        let kube_version = releases.client().version().await.ok();
        let lookup = reef_deploy::cluster_lookup(releases.client().clone(), tokio::runtime::Handle::current());
        let from_secrets = secret_values(&self.cluster_env, found.id, &spec.values_from)
            .await
            .map_err(|e| AppError::invalid("invalid_values_from", e.message))?;
        let rendered = tokio::task::spawn_blocking(move || {
            render(&spec, revision, is_upgrade, kube_version, lookup, &from_secrets)
        })
        .await
        .map_err(|e| AppError::invalid("render_failed", format!("rendering stopped: {e}")))?
        .map_err(|e| AppError::invalid("render_failed", e))?;
        let diff = reef_deploy::diff_manifests(deployed.map_or("", |r| r.manifest.as_str()), &rendered.manifest);
        Ok(DeployDiff { revision, upgrade: is_upgrade, diff, manifest: rendered.manifest, notes: rendered.notes })
    }

    /// Starts the same deployment in each of `clusters`: an install, or an upgrade where the
    /// release exists (and is not uninstalled). A repository's chart is fetched once. Each
    /// cluster's result stands alone: one that fails to start does not stop the others.
    pub async fn deploy_to_clusters(
        &self,
        actor: &Actor,
        org: &OrgRef,
        clusters: &[ClusterRef],
        mut spec: DeploySpec,
    ) -> Result<Vec<Result<(Change, WorkflowRun), AppError>>, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        self.authorize(actor, org, Operation::WriteClusters).await?;
        if clusters.is_empty() || clusters.len() > 50 {
            return Err(AppError::invalid("invalid_deployment", "name between 1 and 50 clusters"));
        }
        if spec.chart.is_empty()
            && let Some(r) = spec.from_repo.take()
        {
            spec.chart = self.fetch_chart(found.id, &r).await?;
        }
        let mut out = Vec::new();
        for cluster in clusters {
            let change = async {
                let c = self.deployable(found.id, cluster).await?;
                let releases = self.releases_of(found.id, &c).await?;
                Ok::<_, AppError>(match releases.history(&spec.namespace, &spec.release).await {
                    Ok(h) if h.last().is_some_and(|r| r.info.status != reef_helm::release::Status::Uninstalled) => {
                        Change::Upgrade
                    }
                    Ok(_) => Change::Install,
                    Err(e) if e.code == "release_not_found" => Change::Install,
                    Err(e) => return Err(deploy_error(e)),
                })
            }
            .await;
            let started = match change {
                Ok(change) => self.deploy(actor, org, cluster, change, spec.clone()).await.map(|run| (change, run)),
                Err(e) => Err(e),
            };
            out.push(started);
        }
        Ok(out)
    }

    /// Starts rolling a release back to `revision` (0: the one before the latest).
    pub async fn rollback_deployment(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: &str,
        release: &str,
        revision: u32,
    ) -> Result<WorkflowRun, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            check_names(release, namespace)?;
            let c = self.deployable(found.id, cluster).await?;
            // A rollback takes the chart and values of the revision it goes back to.
            let spec =
                DeploySpec { release: release.to_owned(), namespace: namespace.to_owned(), ..DeploySpec::default() };
            let run = DeployRun { org: found.id, cluster: c.id, spec, to_revision: revision };
            let kind = deploy_kind(Change::Rollback(revision));
            self.start_operation(found.id, kind, &subject(c.id, namespace, release), &run).await
        }
        .await;
        self.record(
            actor,
            Some(found.id),
            "deployment.rollback",
            "release",
            &format!("{namespace}/{release}"),
            &result,
        )
        .await;
        result
    }

    /// Starts uninstalling a release.
    pub async fn uninstall_deployment(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: &str,
        release: &str,
        keep_history: bool,
    ) -> Result<WorkflowRun, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            check_names(release, namespace)?;
            let c = self.deployable(found.id, cluster).await?;
            // It must exist, so that a typo answers 404 rather than an operation that fails.
            self.releases_of(found.id, &c).await?.history(namespace, release).await.map_err(deploy_error)?;
            let run = UninstallRun {
                org: found.id,
                cluster: c.id,
                release: release.to_owned(),
                namespace: namespace.to_owned(),
                keep_history,
            };
            self.start_operation(found.id, UNINSTALL_KIND, &subject(c.id, namespace, release), &run).await
        }
        .await;
        self.record(
            actor,
            Some(found.id),
            "deployment.uninstall",
            "release",
            &format!("{namespace}/{release}"),
            &result,
        )
        .await;
        result
    }

    /// Starts a deployment operation, one at a time per `subject`, and returns it.
    async fn start_operation(
        &self,
        org: OrgId,
        kind: &str,
        subject: &str,
        input: &impl Serialize,
    ) -> Result<WorkflowRun, AppError> {
        let id = self.clusters.start(org, kind, subject, input).await?;
        self.clusters.get(org, id).await?.ok_or(AppError::NotFound { kind: "operation" })
    }

    /// The caller's role and the releases of a cluster of the organization, for reading them.
    async fn readable_releases(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<(reef_core::Role, Releases), AppError> {
        let (org, role) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(org.id, cluster).await?;
        Ok((role, self.releases_of(org.id, &c).await?))
    }

    async fn releases_of(&self, org: OrgId, c: &reef_core::Cluster) -> Result<Releases, AppError> {
        let client = self.cluster_client(org, c).await?;
        Ok(Releases::new(client, Options::default()))
    }

    /// The releases of a cluster (the latest revision of each), in `namespace` or everywhere.
    pub async fn list_deployments(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: Option<&str>,
    ) -> Result<Vec<Release>, AppError> {
        let (role, releases) = self.readable_releases(actor, org, cluster).await?;
        let mut all = match namespace {
            Some(ns) => releases.list(ns).await,
            None => releases.list_all().await,
        }
        .map_err(deploy_error)?;
        for r in &mut all {
            hide(r, role);
        }
        Ok(all)
    }

    /// A release's latest revision and the readiness of each of its objects.
    pub async fn get_deployment(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: &str,
        release: &str,
    ) -> Result<ReleaseView, AppError> {
        let (role, releases) = self.readable_releases(actor, org, cluster).await?;
        let history = releases.history(namespace, release).await.map_err(deploy_error)?;
        let Some(mut latest) = history.into_iter().last() else { return Err(AppError::NotFound { kind: "release" }) };
        let mut resources = Vec::new();
        for o in reef_deploy::objects_of(&latest.manifest, namespace).map_err(deploy_error)? {
            let o = releases.client().scoped(o).await?;
            let state = match releases.client().get_object(&o).await? {
                Some(obj) => reef_deploy::readiness(&obj),
                None => Some("missing".to_owned()),
            };
            resources.push((o, state));
        }
        hide(&mut latest, role);
        Ok(ReleaseView { release: latest, resources })
    }

    /// Runs the `test` hooks of a release's deployed revision (`helm test`), one by one, until
    /// one fails: the hooks that passed and the one that failed, with why.
    pub async fn test_deployment(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: &str,
        release: &str,
    ) -> Result<reef_deploy::HookRun, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            let c = self.deployable(found.id, cluster).await?;
            self.releases_of(found.id, &c).await?.test(namespace, release).await.map_err(deploy_error)
        }
        .await;
        self.record(actor, Some(found.id), "deployment.test", "release", &format!("{namespace}/{release}"), &result)
            .await;
        result
    }

    /// Every revision of a release, oldest first.
    pub async fn deployment_history(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<Release>, AppError> {
        let (role, releases) = self.readable_releases(actor, org, cluster).await?;
        let mut history = releases.history(namespace, release).await.map_err(deploy_error)?;
        for r in &mut history {
            hide(r, role);
        }
        Ok(history)
    }
}

/// A viewer does not see a release's values, which may hold credentials (members and above
/// may read the cluster's kubeconfig, and with it the release records).
fn hide(r: &mut Release, role: reef_core::Role) {
    if !role.allows(Operation::ReadKubeconfig) {
        r.config = serde_json::Map::new();
    }
    // The chart's files are not part of any view.
    r.chart = serde_json::json!({"metadata": r.chart.get("metadata").cloned().unwrap_or_default()});
}
