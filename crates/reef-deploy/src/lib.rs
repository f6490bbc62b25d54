//! Helm releases in a cluster, without the `helm` binary: install, upgrade, roll back and
//! uninstall, with each revision recorded as Helm records it (see [`reef_helm::release`]), so
//! that `helm list`, `history`, `status` and `get` read reef's releases and reef carries on
//! releases `helm` made.
//!
//! Objects are applied by server-side apply (field manager `helm`, as the helm CLI applies
//! them) in Helm's install order,
//! CRDs (`crds/`) first; an upgrade or rollback deletes what the release had and no longer
//! has; hooks run around each operation by weight, with their delete policies.
//!
//! **The release lock.** An operation first records its new revision as `pending-install`,
//! `pending-upgrade` or `pending-rollback` (or the current one as `uninstalling`): that record
//! is the lock, and a second operation on the release meanwhile is refused. Helm leaves such a
//! record behind forever when its process dies, and a person must clean it up; here a pending
//! record older than [`Options::lock_ttl`] is taken to belong to a dead operation and is marked
//! `failed`, so the next operation proceeds by itself.

mod hooks;
mod ready;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use reef_helm::release::{DATA_KEY, Info, Release, SECRET_TYPE, Status};
use reef_helm::template::ReleaseRender;
use reef_kube::{ClusterClient, KubeError, ObjectRef};
use serde_json::Value;

pub use hooks::{FailedHook, HookRun};
pub use ready::readiness;

/// The field manager of a release's objects: helm's, so that the helm CLI and reef own the
/// fields they apply alike and either carries on the other's release without conflicts.
pub const FIELD_MANAGER: &str = "helm";

/// Why a release operation did not happen. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeployError {
    /// `release_exists`, `release_not_found`, `operation_in_progress`, `revision_not_found`,
    /// `invalid_manifest`, `hook_failed`, `timeout`, or a cluster's code
    /// (`api_server_unreachable`, `unknown_kind`, ...).
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
    /// Whether trying again may succeed.
    pub transient: bool,
}

impl DeployError {
    fn new(code: &'static str, message: impl Into<String>) -> DeployError {
        DeployError { code, message: message.into(), transient: false }
    }
}

impl From<KubeError> for DeployError {
    fn from(e: KubeError) -> DeployError {
        DeployError { code: e.code, message: e.message, transient: e.transient }
    }
}

/// How operations behave.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How old a `pending-*` record must be before it counts as left by a dead operation.
    pub lock_ttl: Duration,
    /// How long to wait for resources to be ready (`wait`) and for each hook to finish.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options { lock_ttl: Duration::from_secs(600), timeout: Duration::from_secs(300) }
    }
}

/// What an install or upgrade is asked to do besides applying the chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The release's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Make the namespace when it does not exist.
    pub create_namespace: bool,
    /// Wait until every resource is ready.
    pub wait: bool,
    /// On failure, undo: an install is uninstalled, an upgrade rolled back.
    pub atomic: bool,
    /// Run no hooks.
    pub no_hooks: bool,
}

/// What an operation did, for progress and for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The revision now current.
    pub release: Release,
    /// The objects applied, in order.
    pub applied: Vec<ObjectRef>,
    /// The objects deleted because the release no longer has them.
    pub deleted: Vec<ObjectRef>,
}

/// A `lookup` for templates rendered for an install or upgrade: it reads the cluster, as
/// Helm's does (charts use it to keep a generated password across upgrades). It blocks on
/// `runtime`, so the render must run off the runtime's workers (`spawn_blocking`).
pub fn cluster_lookup(client: ClusterClient, runtime: tokio::runtime::Handle) -> reef_helm::template::Lookup {
    reef_helm::template::Lookup(std::sync::Arc::new(
        move |api_version: &str, kind: &str, namespace: &str, name: &str| {
            runtime.block_on(async {
                if name.is_empty() {
                    return client.list_objects(api_version, kind, namespace).await.map_err(|e| e.message);
                }
                let target = ObjectRef {
                    api_version: api_version.to_owned(),
                    kind: kind.to_owned(),
                    namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
                    name: name.to_owned(),
                };
                let target = client.scoped(target).await.map_err(|e| e.message)?;
                Ok(client
                    .get_object(&target)
                    .await
                    .map_err(|e| e.message)?
                    .unwrap_or_else(|| Value::Object(serde_json::Map::new())))
            })
        },
    ))
}

/// Which change a new revision makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A first install (or one over a history kept by an uninstall).
    Install,
    /// An upgrade of the deployed revision.
    Upgrade,
    /// A rollback to a revision (0: the one before the latest).
    Rollback(u32),
}

impl Change {
    /// The description of a revision this change failed to make (`Upgrade "web" failed: ...`).
    pub fn failed(self, release: &str, why: &str) -> String {
        let what = match self {
            Change::Install => "Release",
            Change::Upgrade => "Upgrade",
            Change::Rollback(_) => "Rollback",
        };
        format!("{what} \"{release}\" failed: {why}")
    }

    /// Its hook event's suffix (`install` for `pre-install`).
    pub fn event(self) -> &'static str {
        match self {
            Change::Install => "install",
            Change::Upgrade => "upgrade",
            Change::Rollback(_) => "rollback",
        }
    }
}

/// The key, in a pending revision's record, of the operation that holds it.
const OPERATION_KEY: &str = "reef_operation";

fn operation_of(r: &Release) -> Option<&str> {
    r.other.get(OPERATION_KEY).and_then(Value::as_str)
}

/// A name for an operation run in one call.
fn new_operation() -> String {
    format!("call-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default())
}

/// The time as Go's `time.Time` marshals it.
pub(crate) fn go_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The releases of one cluster.
#[derive(Debug, Clone)]
pub struct Releases {
    client: ClusterClient,
    opts: Options,
}

impl Releases {
    /// The releases of the cluster `client` reaches.
    pub fn new(client: ClusterClient, opts: Options) -> Releases {
        Releases { client, opts }
    }

    /// The cluster's client.
    pub fn client(&self) -> &ClusterClient {
        &self.client
    }

    /// Every revision of release `name` in `namespace`, oldest first (with the resource
    /// version of its record).
    async fn records(&self, namespace: &str, name: &str) -> Result<Vec<(Release, Option<String>)>, DeployError> {
        let secrets = self.client.secrets(namespace, &format!("owner=helm,name={name}")).await?;
        let mut out = Vec::new();
        for s in secrets {
            match decode(&s) {
                Some(r) if r.name == name => out.push((r, s.metadata.resource_version.clone())),
                _ => {}
            }
        }
        out.sort_by_key(|(r, _)| r.version);
        Ok(out)
    }

    /// Every revision of release `name` in `namespace`, oldest first.
    pub async fn history(&self, namespace: &str, name: &str) -> Result<Vec<Release>, DeployError> {
        let all = self.records(namespace, name).await?;
        if all.is_empty() {
            return Err(DeployError::new("release_not_found", format!("release {name} not found in {namespace}")));
        }
        Ok(all.into_iter().map(|(r, _)| r).collect())
    }

    /// The latest revision of each release in `namespace`, by name (uninstalled ones with
    /// their history kept included, as `helm list --all` shows them).
    pub async fn list(&self, namespace: &str) -> Result<Vec<Release>, DeployError> {
        Ok(latest(self.client.secrets(namespace, "owner=helm").await?))
    }

    /// Writes a new revision's record; `false` when another operation wrote it first.
    async fn create_record(&self, r: &Release, now: DateTime<Utc>) -> Result<bool, DeployError> {
        Ok(self.client.create_secret(&r.namespace, &record(r, ("createdAt", now.timestamp()), None)).await?)
    }

    /// Rewrites a revision's record.
    async fn update_record(&self, r: &Release, now: DateTime<Utc>) -> Result<(), DeployError> {
        self.client.replace_secret(&r.namespace, &record(r, ("modifiedAt", now.timestamp()), None)).await?;
        Ok(())
    }

    /// Every revision, after recovering a lock a dead operation left: a `pending-*` (or
    /// `uninstalling`) record older than the lock's lifetime is marked `failed`. A pending
    /// record still within it is an operation in progress, unless it is `operation`'s own.
    async fn latest_unlocked(
        &self,
        namespace: &str,
        name: &str,
        operation: Option<&str>,
    ) -> Result<Vec<Release>, DeployError> {
        let mut all = self.records(namespace, name).await?;
        if let Some((last, version)) = all.last_mut()
            && last.info.status.is_pending()
            && (operation.is_none() || operation_of(last) != operation)
        {
            let since = last.info.last_deployed.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let age = since.map(|t| Utc::now().signed_duration_since(t)).unwrap_or_default();
            let ttl = chrono::Duration::from_std(self.opts.lock_ttl).unwrap_or(chrono::Duration::MAX);
            if age < ttl {
                return Err(DeployError {
                    code: "operation_in_progress",
                    message: format!(
                        "another operation ({}) is in progress on release {name}; it started {}s ago",
                        last.info.status,
                        age.num_seconds()
                    ),
                    transient: true,
                });
            }
            tracing::warn!(release = name, status = %last.info.status, "recovering a release lock its operation left");
            let status = last.info.status;
            last.info.status = Status::Failed;
            last.info.description = format!("{status} was interrupted; the lock was recovered after it expired");
            let now = Utc::now();
            let rec = record(last, ("modifiedAt", now.timestamp()), version.clone());
            if !self.client.replace_secret(namespace, &rec).await? {
                return Err(DeployError {
                    code: "operation_in_progress",
                    message: format!("release {name} changed while its lock was being recovered"),
                    transient: true,
                });
            }
        }
        Ok(all.into_iter().map(|(r, _)| r).collect())
    }

    /// The first step of an install, upgrade or rollback: records the new revision as
    /// `pending-*`, which is the release's lock, and returns it. `render` makes the revision's
    /// content given its number (a rollback's comes from the revision it goes back to and
    /// `render` is not called). Run again by the same `operation` (after a crash), it returns
    /// the revision that operation recorded.
    pub async fn begin(
        &self,
        req: &Request,
        change: Change,
        operation: &str,
        render: impl FnOnce(u32) -> Result<ReleaseRender, DeployError>,
    ) -> Result<Release, DeployError> {
        let history = self.latest_unlocked(&req.namespace, &req.name, Some(operation)).await?;
        if let Some(last) = history.last()
            && last.info.status.is_pending()
            && operation_of(last) == Some(operation)
        {
            return Ok(last.clone());
        }
        let version = history.last().map_or(1, |r| r.version + 1);
        let now = Utc::now();
        let current = history.iter().rev().find(|r| r.info.status == Status::Deployed);
        let mut release = match change {
            Change::Install => {
                if let Some(last) = history.last()
                    && last.info.status != Status::Uninstalled
                {
                    return Err(DeployError::new(
                        "release_exists",
                        format!(
                            "cannot re-use a name that is still in use: release {} is {}",
                            req.name, last.info.status
                        ),
                    ));
                }
                if req.create_namespace {
                    self.client.ensure_namespace(&req.namespace).await?;
                }
                new_release(req, render(version)?, version, now, Status::PendingInstall, "Initial install underway")
            }
            Change::Upgrade => {
                let Some(current) = current else {
                    return Err(DeployError::new(
                        "release_not_found",
                        format!("release {} has no deployed revision to upgrade", req.name),
                    ));
                };
                let mut r =
                    new_release(req, render(version)?, version, now, Status::PendingUpgrade, "Preparing upgrade");
                r.info.first_deployed = current.info.first_deployed.clone();
                r
            }
            Change::Rollback(to) => {
                let to = if to == 0 { version.saturating_sub(2) } else { to };
                let Some(target) = history.iter().find(|r| r.version == to) else {
                    return Err(DeployError::new(
                        "revision_not_found",
                        format!("release {} has no revision {to}", req.name),
                    ));
                };
                let mut r = target.clone();
                r.version = version;
                r.info = Info {
                    first_deployed: history.first().and_then(|r| r.info.first_deployed.clone()),
                    last_deployed: Some(go_time(now)),
                    deleted: None,
                    description: format!("Rollback to {to}"),
                    status: Status::PendingRollback,
                    notes: target.info.notes.clone(),
                    other: serde_json::Map::new(),
                };
                r
            }
        };
        release.other.insert(OPERATION_KEY.to_owned(), Value::String(operation.to_owned()));
        if !self.create_record(&release, now).await? {
            return Err(DeployError {
                code: "operation_in_progress",
                message: format!("another operation recorded revision {version} of release {} first", req.name),
                transient: true,
            });
        }
        Ok(release)
    }

    /// The revision the next change of release `name` gets.
    pub async fn next_revision(&self, namespace: &str, name: &str) -> Result<u32, DeployError> {
        Ok(self.records(namespace, name).await?.last().map_or(1, |(r, _)| r.version + 1))
    }

    /// Revision `version` of release `name`.
    pub async fn revision(&self, namespace: &str, name: &str, version: u32) -> Result<Release, DeployError> {
        self.records(namespace, name)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .find(|r| r.version == version)
            .ok_or_else(|| DeployError::new("revision_not_found", format!("release {name} has no revision {version}")))
    }

    /// The latest revision of every release in every namespace.
    pub async fn list_all(&self) -> Result<Vec<Release>, DeployError> {
        Ok(latest(self.client.secrets_everywhere("owner=helm").await?))
    }

    /// The pending revision `operation` recorded with [`Releases::begin`].
    pub async fn held(&self, namespace: &str, name: &str, operation: &str) -> Result<Release, DeployError> {
        let history = self.records(namespace, name).await?;
        history.into_iter().map(|(r, _)| r).rev().find(|r| operation_of(r) == Some(operation)).ok_or_else(|| {
            DeployError::new("release_not_found", format!("operation {operation} holds no revision of {name}"))
        })
    }

    /// Installs the CRDs of a chart (`crds/`): before anything else, at install only.
    pub async fn install_crds(
        &self,
        namespace: &str,
        crds: &[(String, String)],
    ) -> Result<Vec<ObjectRef>, DeployError> {
        let mut out = Vec::new();
        for (path, text) in crds {
            for doc in reef_helm::manifest::split_manifests(text) {
                let object =
                    object_of(&doc).map_err(|e| DeployError::new("invalid_manifest", format!("{path}: {e}")))?;
                if !object.is_null() {
                    out.push(self.client.apply_object_as(&object, namespace, FIELD_MANAGER).await?);
                }
            }
        }
        Ok(out)
    }

    /// Runs the revision's hooks of `event` (`pre-install`, `post-upgrade`, ...).
    pub async fn run_hooks(&self, release: &Release, event: &str) -> Result<(), DeployError> {
        let req = Request { name: release.name.clone(), namespace: release.namespace.clone(), ..Request::default() };
        hooks::run(&self.client, &self.opts, &req, &release.hooks, event).await
    }

    /// Applies the revision's objects in order, then deletes those the deployed revision has
    /// and this one does not. Running it again applies the same and finds nothing more to delete.
    pub async fn apply(&self, release: &Release) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>), DeployError> {
        let mut applied = Vec::new();
        for doc in reef_helm::manifest::split_manifests(&release.manifest) {
            let mut object = object_of(&doc).map_err(|e| DeployError::new("invalid_manifest", e))?;
            if object.is_null() {
                continue;
            }
            label_managed(&mut object, &release.name, &release.namespace);
            applied.push(self.client.apply_object_as(&object, &release.namespace, FIELD_MANAGER).await?);
        }
        let history = self.records(&release.namespace, &release.name).await?;
        let deployed = history
            .iter()
            .rev()
            .map(|(r, _)| r)
            .find(|r| r.info.status == Status::Deployed && r.version != release.version);
        let mut deleted = Vec::new();
        if let Some(previous) = deployed {
            for o in objects_of(&previous.manifest, &release.namespace)?.iter().rev() {
                if !applied.iter().any(|a| same_object(a, o)) && self.client.delete_object(o).await? {
                    deleted.push(o.clone());
                }
            }
        }
        Ok((applied, deleted))
    }

    /// Waits until every object of the revision is ready, within the timeout.
    pub async fn wait_ready(&self, release: &Release) -> Result<(), DeployError> {
        let objects = objects_of(&release.manifest, &release.namespace)?;
        let mut scoped = Vec::new();
        for o in objects {
            // The manifest gives a namespace to everything; a cluster-scoped kind has none.
            let o = self.client.scoped(o).await?;
            scoped.push(o);
        }
        ready::wait_all(&self.client, &scoped, self.opts.timeout).await
    }

    /// The last step of `change`: the revision is `deployed` (described as Helm describes it:
    /// `Install complete`, `Upgrade complete`, a rollback's `Rollback to N`), and the one
    /// deployed before it `superseded`.
    pub async fn finish(&self, release: &Release, change: Change) -> Result<Release, DeployError> {
        let history = self.records(&release.namespace, &release.name).await?;
        for (r, _) in &history {
            if r.info.status == Status::Deployed && r.version != release.version {
                let mut old = r.clone();
                old.info.status = Status::Superseded;
                self.update_record(&old, Utc::now()).await?;
            }
        }
        let mut done = release.clone();
        done.info.status = Status::Deployed;
        match change {
            Change::Install => done.info.description = "Install complete".to_owned(),
            Change::Upgrade => done.info.description = "Upgrade complete".to_owned(),
            Change::Rollback(_) => {}
        }
        done.other.remove(OPERATION_KEY);
        self.update_record(&done, Utc::now()).await?;
        Ok(done)
    }

    /// Marks the revision `failed`, saying why: the lock is released.
    pub async fn fail(&self, release: &Release, description: &str) -> Result<(), DeployError> {
        let mut failed = release.clone();
        failed.info.status = Status::Failed;
        failed.info.description = description.to_owned();
        failed.other.remove(OPERATION_KEY);
        self.update_record(&failed, Utc::now()).await
    }

    /// Undoes a failed `change` (what `atomic` asks for): an install is uninstalled, an
    /// upgrade rolled back to the revision still deployed. `operation` names the undo
    /// (`<operation>-undo`).
    pub async fn undo(&self, req: &Request, change: Change, operation: &str) -> Result<(), DeployError> {
        let undo = format!("{operation}-undo");
        match change {
            Change::Install => {
                self.uninstall_as(&req.namespace, &req.name, false, &undo).await?;
            }
            Change::Upgrade => {
                let history = self.history(&req.namespace, &req.name).await?;
                if let Some(previous) = history.iter().rev().find(|r| r.info.status == Status::Deployed) {
                    let back = Request { atomic: false, ..req.clone() };
                    Box::pin(self.run(&back, Change::Rollback(previous.version), &undo, None)).await?;
                }
            }
            Change::Rollback(_) => {}
        }
        Ok(())
    }

    /// Every step of an install, upgrade or rollback in one call (`operation` names it, as
    /// for [`Releases::begin`]). On failure the revision is `failed`; with `req.atomic` an
    /// install is then uninstalled and an upgrade rolled back to the revision it replaced.
    pub async fn run(
        &self,
        req: &Request,
        change: Change,
        operation: &str,
        render: Option<ReleaseRender>,
    ) -> Result<Outcome, DeployError> {
        let crds = render.as_ref().map(|r| r.crds.clone()).unwrap_or_default();
        let release = self
            .begin(req, change, operation, |_| {
                render.ok_or_else(|| DeployError::new("invalid_manifest", "nothing to install"))
            })
            .await?;
        let event = change.event();
        let steps = async {
            if change == Change::Install {
                self.install_crds(&req.namespace, &crds).await?;
            }
            if !req.no_hooks {
                self.run_hooks(&release, &format!("pre-{event}")).await?;
            }
            let (applied, deleted) = self.apply(&release).await?;
            if req.wait {
                self.wait_ready(&release).await?;
            }
            if !req.no_hooks {
                self.run_hooks(&release, &format!("post-{event}")).await?;
            }
            Ok::<_, DeployError>((applied, deleted))
        }
        .await;
        match steps {
            Ok((applied, deleted)) => {
                let release = self.finish(&release, change).await?;
                Ok(Outcome { release, applied, deleted })
            }
            Err(e) => {
                self.fail(&release, &change.failed(&req.name, &e.message)).await?;
                if req.atomic {
                    // The undo's own failure leaves the release failed, which is what it says.
                    let _ = self.undo(req, change, operation).await;
                }
                Err(e)
            }
        }
    }

    /// Installs a rendered chart as revision 1 of a new release (or the next revision of one
    /// uninstalled with its history kept).
    pub async fn install(&self, req: &Request, render: ReleaseRender) -> Result<Outcome, DeployError> {
        self.run(req, Change::Install, &new_operation(), Some(render)).await
    }

    /// Upgrades the release to a newly rendered chart: its objects are applied, and those the
    /// current revision has and the new one does not are deleted.
    pub async fn upgrade(&self, req: &Request, render: ReleaseRender) -> Result<Outcome, DeployError> {
        self.run(req, Change::Upgrade, &new_operation(), Some(render)).await
    }

    /// Rolls the release back to revision `to` (the one before the latest when `None`): a new
    /// revision with that revision's chart, values and manifest.
    pub async fn rollback(&self, namespace: &str, name: &str, to: Option<u32>) -> Result<Outcome, DeployError> {
        let req = Request { name: name.to_owned(), namespace: namespace.to_owned(), ..Request::default() };
        self.run(&req, Change::Rollback(to.unwrap_or(0)), &new_operation(), None).await
    }

    /// Runs the deployed revision's `test` hooks (`helm test`), one by one by weight, until one
    /// fails: those that passed and the one that failed. Each test's run is recorded in the
    /// revision, as helm records it, so that `helm status` shows the test suite.
    pub async fn test(&self, namespace: &str, name: &str) -> Result<HookRun, DeployError> {
        let history = self.history(namespace, name).await?;
        let Some(deployed) = history.iter().rev().find(|r| r.info.status == Status::Deployed) else {
            return Err(DeployError::new(
                "release_not_found",
                format!("release {name} has no deployed revision to test"),
            ));
        };
        let req = Request { name: name.to_owned(), namespace: namespace.to_owned(), ..Request::default() };
        let run = hooks::run_until_failure(&self.client, &self.opts, &req, &deployed.hooks, "test").await?;
        let mut recorded = deployed.clone();
        for (index, last_run) in &run.last_runs {
            if let Some(hook) = recorded.hooks.get_mut(*index) {
                hook.last_run = last_run.clone();
            }
        }
        self.update_record(&recorded, Utc::now()).await?;
        Ok(run)
    }

    /// Uninstalls the release: its pre-delete hooks, its objects (latest first), its
    /// post-delete hooks; then its records are deleted, or with `keep_history` kept with the
    /// last marked `uninstalled`.
    pub async fn uninstall(&self, namespace: &str, name: &str, keep_history: bool) -> Result<Outcome, DeployError> {
        self.uninstall_as(namespace, name, keep_history, &new_operation()).await
    }

    /// [`Releases::uninstall`] by `operation`, which may run it again after a crash.
    pub async fn uninstall_as(
        &self,
        namespace: &str,
        name: &str,
        keep_history: bool,
        operation: &str,
    ) -> Result<Outcome, DeployError> {
        let history = self.latest_unlocked(namespace, name, Some(operation)).await?;
        let Some(mut last) = history.last().cloned() else {
            return Err(DeployError::new("release_not_found", format!("release {name} not found in {namespace}")));
        };
        if last.info.status == Status::Uninstalled {
            return Err(DeployError::new("release_not_found", format!("release {name} is already uninstalled")));
        }
        last.other.insert(OPERATION_KEY.to_owned(), Value::String(operation.to_owned()));
        last.info.status = Status::Uninstalling;
        last.info.description = "Deletion in progress (or silently failed)".to_owned();
        last.info.last_deployed = Some(go_time(Utc::now()));
        self.update_record(&last, Utc::now()).await?;
        let req = Request { name: name.to_owned(), namespace: namespace.to_owned(), ..Request::default() };
        hooks::run(&self.client, &self.opts, &req, &last.hooks, "pre-delete").await?;
        let objects = objects_of(&last.manifest, namespace)?;
        let mut deleted = Vec::new();
        for o in objects.iter().rev() {
            if self.client.delete_object(o).await? {
                deleted.push(o.clone());
            }
        }
        hooks::run(&self.client, &self.opts, &req, &last.hooks, "post-delete").await?;
        last.other.remove(OPERATION_KEY);
        if keep_history {
            last.info.status = Status::Uninstalled;
            last.info.description = "Uninstallation complete".to_owned();
            last.info.deleted = Some(go_time(Utc::now()));
            self.update_record(&last, Utc::now()).await?;
        } else {
            for r in &history {
                self.client.delete_secret(namespace, &r.storage_name()).await?;
            }
        }
        Ok(Outcome { release: last, applied: Vec::new(), deleted })
    }
}

/// Whether `applied` (as the API server scoped it) and `recorded` (read from a manifest, a
/// namespace given to every object) are the same object: Helm's `isMatchingInfo`, the same
/// group, kind, name and namespace, the version aside.
fn same_object(applied: &ObjectRef, recorded: &ObjectRef) -> bool {
    let group = |v: &str| v.split_once('/').map_or("", |(g, _)| g).to_owned();
    group(&applied.api_version) == group(&recorded.api_version)
        && applied.kind == recorded.kind
        && applied.name == recorded.name
        && (applied.namespace.is_none() || applied.namespace == recorded.namespace)
}

/// Helm's ownership metadata on every object it applies, which `helm upgrade` checks before
/// taking an object over.
fn label_managed(object: &mut Value, name: &str, namespace: &str) {
    let meta = &mut object["metadata"];
    if !meta["labels"].is_object() {
        meta["labels"] = Value::Object(serde_json::Map::new());
    }
    meta["labels"]["app.kubernetes.io/managed-by"] = Value::String("Helm".to_owned());
    if !meta["annotations"].is_object() {
        meta["annotations"] = Value::Object(serde_json::Map::new());
    }
    meta["annotations"]["meta.helm.sh/release-name"] = Value::String(name.to_owned());
    meta["annotations"]["meta.helm.sh/release-namespace"] = Value::String(namespace.to_owned());
}

/// A new revision's record from its render.
fn new_release(
    req: &Request,
    render: ReleaseRender,
    version: u32,
    now: DateTime<Utc>,
    status: Status,
    description: &str,
) -> Release {
    let mut other = serde_json::Map::new();
    other.insert("apply_method".to_owned(), Value::String("ssa".to_owned()));
    Release {
        name: req.name.clone(),
        info: Info {
            first_deployed: Some(go_time(now)),
            last_deployed: Some(go_time(now)),
            deleted: None,
            description: description.to_owned(),
            status,
            notes: render.notes,
            other: serde_json::Map::new(),
        },
        chart: render.chart,
        config: render.config,
        manifest: render.manifest,
        hooks: render.hooks,
        version,
        namespace: req.namespace.clone(),
        other,
    }
}

/// A YAML document as the JSON object it stands for (`Null` for an empty document), read as
/// Helm reads it (go-yaml v2 through JSON).
pub fn object_of(doc: &str) -> Result<Value, String> {
    let map = reef_helm::values::parse_values(doc)?;
    let value = reef_helm::values::to_json(&map);
    Ok(if value.as_object().is_some_and(|m| m.is_empty()) { Value::Null } else { value })
}

/// The objects a recorded manifest names; a namespaced object without a namespace is in
/// `namespace` (cluster-scoped kinds are told apart when deleting: deleting by a namespace
/// the kind does not have still finds the object).
pub fn objects_of(manifest: &str, namespace: &str) -> Result<Vec<ObjectRef>, DeployError> {
    let mut out = Vec::new();
    for doc in reef_helm::manifest::split_manifests(manifest) {
        let object = object_of(&doc).map_err(|e| DeployError::new("invalid_manifest", e))?;
        if object.is_null() {
            continue;
        }
        out.push(object_ref(&object, namespace));
    }
    Ok(out)
}

/// What names `object`; with no namespace of its own it is in `namespace` (a cluster-scoped
/// kind's objects are found even so: see [`ClusterClient::scoped`]).
pub(crate) fn object_ref(object: &Value, namespace: &str) -> ObjectRef {
    let field = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    let ns = field("/metadata/namespace");
    ObjectRef {
        api_version: field("/apiVersion"),
        kind: field("/kind"),
        namespace: Some(if ns.is_empty() { namespace.to_owned() } else { ns }),
        name: field("/metadata/name"),
    }
}

/// The release a record holds; `None` (logged) when it holds none that can be read.
fn decode(record: &Secret) -> Option<Release> {
    let data = record.data.as_ref()?.get(DATA_KEY)?;
    Release::decode(&data.0)
        .inspect_err(|e| {
            let name = record.metadata.name.as_deref().unwrap_or("");
            tracing::warn!(record = name, error = %e, "a release record cannot be read; skipped");
        })
        .ok()
}

/// The latest revision of each release the records hold, by namespace and name.
fn latest(records: Vec<Secret>) -> Vec<Release> {
    let mut latest: BTreeMap<(String, String), Release> = BTreeMap::new();
    for r in records.iter().filter_map(decode) {
        let key = (r.namespace.clone(), r.name.clone());
        if latest.get(&key).is_none_or(|l| l.version < r.version) {
            latest.insert(key, r);
        }
    }
    latest.into_values().collect()
}

/// The Secret that records `r`.
fn record(r: &Release, stamp: (&str, i64), resource_version: Option<String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(r.storage_name()),
            namespace: Some(r.namespace.clone()),
            labels: Some(r.storage_labels(stamp)),
            resource_version,
            ..ObjectMeta::default()
        },
        type_: Some(SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([(DATA_KEY.to_owned(), ByteString(r.encode().into_bytes()))])),
        ..Secret::default()
    }
}

/// What changes between two release manifests, object by object, as a reviewer reads it: each
/// object added (`+ Kind namespace/name` and its lines), removed (`- ...`) or changed
/// (`~ ...` and a line diff, `+`/`-` lines with two lines of context), in the new manifest's
/// order then the removed ones; empty when nothing changes.
pub fn diff_manifests(old: &str, new: &str) -> String {
    fn objects(manifest: &str) -> Vec<(String, String)> {
        reef_helm::manifest::split_manifests(manifest)
            .into_iter()
            .filter_map(|doc| {
                let object = object_of(&doc).ok()?;
                if object.is_null() {
                    return None;
                }
                let field = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
                let ns = field("/metadata/namespace");
                let name =
                    if ns.is_empty() { field("/metadata/name") } else { format!("{ns}/{}", field("/metadata/name")) };
                let body: String = doc.lines().filter(|l| !l.starts_with("# Source: ")).collect::<Vec<_>>().join("\n");
                Some((format!("{} {name}", field("/kind")), body))
            })
            .collect()
    }
    let before = objects(old);
    let after = objects(new);
    let mut out = String::new();
    for (key, body) in &after {
        match before.iter().find(|(k, _)| k == key) {
            None => {
                out.push_str(&format!("+ {key}\n"));
                for l in body.lines() {
                    out.push_str(&format!("+   {l}\n"));
                }
            }
            Some((_, old_body)) if old_body != body => {
                out.push_str(&format!("~ {key}\n"));
                out.push_str(&line_diff(old_body, body));
            }
            Some(_) => {}
        }
    }
    for (key, body) in &before {
        if !after.iter().any(|(k, _)| k == key) {
            out.push_str(&format!("- {key}\n"));
            for l in body.lines() {
                out.push_str(&format!("-   {l}\n"));
            }
        }
    }
    out
}

/// The lines of `new` that differ from `old`, by their longest common subsequence, with two
/// lines of context around each change (`  ...` between the runs shown).
fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // What goes comes before what replaces it.
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| ops.iter().enumerate().any(|(n, (op, _))| *op != ' ' && n.abs_diff(k) <= 2);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if *op == ' ' && !near(k) {
            if !skipped {
                out.push_str("    ...\n");
                skipped = true;
            }
            continue;
        }
        skipped = false;
        out.push_str(&format!("{op}   {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_objects_added_removed_and_changed_with_their_lines() {
        let old = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k1: one\n  k2: two\n  k3: three\n  k4: four\n  k5: five\n  k6: six\n---\n# Source: c/templates/gone.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: gone\n";
        let new = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k1: one\n  k2: two\n  k3: three\n  k4: FOUR\n  k5: five\n  k6: six\n---\n# Source: c/templates/new.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: fresh\n  namespace: apps\n";
        let diff = diff_manifests(old, new);
        assert_eq!(
            diff,
            "~ ConfigMap a\n    ...\n      k2: two\n      k3: three\n-     k4: four\n+     k4: FOUR\n      k5: five\n      k6: six\n+ Secret apps/fresh\n+   apiVersion: v1\n+   kind: Secret\n+   metadata:\n+     name: fresh\n+     namespace: apps\n- Service gone\n-   apiVersion: v1\n-   kind: Service\n-   metadata:\n-     name: gone\n"
        );
        assert_eq!(diff_manifests(new, new), "");
    }
}
