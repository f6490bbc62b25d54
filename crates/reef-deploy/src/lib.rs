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

/// The time as Go's `time.Time` marshals it.
fn go_time(t: DateTime<Utc>) -> String {
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
            let Some(data) = s.data.as_ref().and_then(|d| d.get(DATA_KEY)) else { continue };
            match Release::decode(&data.0) {
                Ok(r) if r.name == name => out.push((r, s.metadata.resource_version.clone())),
                Ok(_) => {}
                Err(e) => tracing::warn!(release = name, error = %e, "a release record cannot be read; skipped"),
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
        let secrets = self.client.secrets(namespace, "owner=helm").await?;
        let mut latest: BTreeMap<String, Release> = BTreeMap::new();
        for s in secrets {
            let Some(data) = s.data.as_ref().and_then(|d| d.get(DATA_KEY)) else { continue };
            let Ok(r) = Release::decode(&data.0) else { continue };
            if latest.get(&r.name).is_none_or(|l| l.version < r.version) {
                latest.insert(r.name.clone(), r);
            }
        }
        Ok(latest.into_values().collect())
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

    /// The latest revision, after recovering a lock a dead operation left: a `pending-*`
    /// (or `uninstalling`) record older than the lock's lifetime is marked `failed`. A pending
    /// record still within it is an operation in progress.
    async fn latest_unlocked(&self, namespace: &str, name: &str) -> Result<Vec<Release>, DeployError> {
        let mut all = self.records(namespace, name).await?;
        if let Some((last, version)) = all.last_mut()
            && last.info.status.is_pending()
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

    /// Installs a rendered chart as revision 1 of a new release (or the next revision of one
    /// uninstalled with its history kept).
    pub async fn install(&self, req: &Request, render: ReleaseRender) -> Result<Outcome, DeployError> {
        let history = self.latest_unlocked(&req.namespace, &req.name).await?;
        if let Some(last) = history.last()
            && last.info.status != Status::Uninstalled
        {
            return Err(DeployError::new(
                "release_exists",
                format!("cannot re-use a name that is still in use: release {} is {}", req.name, last.info.status),
            ));
        }
        let version = history.last().map_or(1, |r| r.version + 1);
        let now = Utc::now();
        let mut release =
            new_release(req, render.clone(), version, now, Status::PendingInstall, "Initial install underway");
        if req.create_namespace {
            self.client.ensure_namespace(&req.namespace).await?;
        }
        if !self.create_record(&release, now).await? {
            return Err(DeployError::new("operation_in_progress", format!("release {} is being installed", req.name)));
        }
        let done = self.apply_release(req, &render, &[], "install").await;
        match done {
            Ok((applied, deleted)) => {
                release.info.status = Status::Deployed;
                release.info.description = "Install complete".to_owned();
                self.update_record(&release, Utc::now()).await?;
                Ok(Outcome { release, applied, deleted })
            }
            Err(e) => {
                release.info.status = Status::Failed;
                release.info.description = format!("Release \"{}\" failed: {}", req.name, e.message);
                self.update_record(&release, Utc::now()).await?;
                if req.atomic {
                    let _ = self.uninstall(&req.namespace, &req.name, false).await;
                }
                Err(e)
            }
        }
    }

    /// Upgrades the release to a newly rendered chart: its objects are applied, and those the
    /// current revision has and the new one does not are deleted.
    pub async fn upgrade(&self, req: &Request, render: ReleaseRender) -> Result<Outcome, DeployError> {
        let history = self.latest_unlocked(&req.namespace, &req.name).await?;
        let Some(current) = history.iter().rev().find(|r| r.info.status == Status::Deployed).cloned() else {
            return Err(DeployError::new(
                "release_not_found",
                format!("release {} has no deployed revision to upgrade", req.name),
            ));
        };
        let version = history.last().map_or(1, |r| r.version + 1);
        let now = Utc::now();
        let mut release = new_release(req, render.clone(), version, now, Status::PendingUpgrade, "Preparing upgrade");
        release.info.first_deployed = current.info.first_deployed.clone();
        if !self.create_record(&release, now).await? {
            return Err(DeployError::new("operation_in_progress", format!("release {} is being upgraded", req.name)));
        }
        let old = objects_of(&current.manifest, &req.namespace)?;
        match self.apply_release(req, &render, &old, "upgrade").await {
            Ok((applied, deleted)) => {
                let mut superseded = current;
                superseded.info.status = Status::Superseded;
                self.update_record(&superseded, Utc::now()).await?;
                release.info.status = Status::Deployed;
                release.info.description = "Upgrade complete".to_owned();
                self.update_record(&release, Utc::now()).await?;
                Ok(Outcome { release, applied, deleted })
            }
            Err(e) => {
                release.info.status = Status::Failed;
                release.info.description = format!("Upgrade \"{}\" failed: {}", req.name, e.message);
                self.update_record(&release, Utc::now()).await?;
                if req.atomic {
                    let _ = self.rollback(&req.namespace, &req.name, Some(current.version)).await;
                }
                Err(e)
            }
        }
    }

    /// Rolls the release back to revision `to` (the one before the current when `None`): a
    /// new revision with that revision's chart, values and manifest.
    pub async fn rollback(&self, namespace: &str, name: &str, to: Option<u32>) -> Result<Outcome, DeployError> {
        let history = self.latest_unlocked(namespace, name).await?;
        let Some(last) = history.last() else {
            return Err(DeployError::new("release_not_found", format!("release {name} not found in {namespace}")));
        };
        let target_version = to.unwrap_or(last.version.saturating_sub(1));
        let Some(target) = history.iter().find(|r| r.version == target_version).cloned() else {
            return Err(DeployError::new(
                "revision_not_found",
                format!("release {name} has no revision {target_version}"),
            ));
        };
        let current = history.iter().rev().find(|r| r.info.status == Status::Deployed).cloned();
        let now = Utc::now();
        let mut release = target.clone();
        release.version = last.version + 1;
        release.info = Info {
            first_deployed: history.first().and_then(|r| r.info.first_deployed.clone()),
            last_deployed: Some(go_time(now)),
            deleted: None,
            description: format!("Rollback to {target_version}"),
            status: Status::PendingRollback,
            notes: target.info.notes.clone(),
            other: serde_json::Map::new(),
        };
        if !self.create_record(&release, now).await? {
            return Err(DeployError::new("operation_in_progress", format!("release {name} is being rolled back")));
        }
        let old = match &current {
            Some(c) => objects_of(&c.manifest, namespace)?,
            None => Vec::new(),
        };
        let req = Request { name: name.to_owned(), namespace: namespace.to_owned(), ..Request::default() };
        let render = render_of(&target);
        match self.apply_release(&req, &render, &old, "rollback").await {
            Ok((applied, deleted)) => {
                if let Some(mut c) = current {
                    c.info.status = Status::Superseded;
                    self.update_record(&c, Utc::now()).await?;
                }
                release.info.status = Status::Deployed;
                self.update_record(&release, Utc::now()).await?;
                Ok(Outcome { release, applied, deleted })
            }
            Err(e) => {
                release.info.status = Status::Failed;
                release.info.description = format!("Rollback \"{name}\" failed: {}", e.message);
                self.update_record(&release, Utc::now()).await?;
                Err(e)
            }
        }
    }

    /// Uninstalls the release: its pre-delete hooks, its objects (latest first), its
    /// post-delete hooks; then its records are deleted, or with `keep_history` kept with the
    /// last marked `uninstalled`.
    pub async fn uninstall(&self, namespace: &str, name: &str, keep_history: bool) -> Result<Outcome, DeployError> {
        let history = self.latest_unlocked(namespace, name).await?;
        let Some(mut last) = history.last().cloned() else {
            return Err(DeployError::new("release_not_found", format!("release {name} not found in {namespace}")));
        };
        if last.info.status == Status::Uninstalled {
            return Err(DeployError::new("release_not_found", format!("release {name} is already uninstalled")));
        }
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

    /// CRDs (install only), the `pre-<event>` hooks, the resources in order, the objects of
    /// `old` the release no longer has deleted, readiness when asked, the `post-<event>` hooks.
    async fn apply_release(
        &self,
        req: &Request,
        render: &ReleaseRender,
        old: &[ObjectRef],
        event: &str,
    ) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>), DeployError> {
        if event == "install" {
            for (path, text) in &render.crds {
                for doc in reef_helm::manifest::split_manifests(text) {
                    let object =
                        object_of(&doc).map_err(|e| DeployError::new("invalid_manifest", format!("{path}: {e}")))?;
                    if object.is_null() {
                        continue;
                    }
                    self.client.apply_object_as(&object, &req.namespace, FIELD_MANAGER).await?;
                }
            }
        }
        if !req.no_hooks {
            hooks::run(&self.client, &self.opts, req, &render.hooks, &format!("pre-{event}")).await?;
        }
        let mut applied = Vec::new();
        for r in &render.resources {
            let object = object_of(&r.content)
                .map_err(|e| DeployError::new("invalid_manifest", format!("{}: {e}", r.source)))?;
            if object.is_null() {
                continue;
            }
            let mut object = object;
            label_managed(&mut object, &req.name, &req.namespace);
            applied.push(self.client.apply_object_as(&object, &req.namespace, FIELD_MANAGER).await?);
        }
        let mut deleted = Vec::new();
        for o in old.iter().rev() {
            if !applied.iter().any(|a| same_object(a, o)) && self.client.delete_object(o).await? {
                deleted.push(o.clone());
            }
        }
        if req.wait {
            ready::wait_all(&self.client, &applied, self.opts.timeout).await?;
        }
        if !req.no_hooks {
            hooks::run(&self.client, &self.opts, req, &render.hooks, &format!("post-{event}")).await?;
        }
        Ok((applied, deleted))
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

/// What re-applying a recorded revision needs: its manifest's documents and hooks (no CRDs:
/// they are installed once, at install).
fn render_of(r: &Release) -> ReleaseRender {
    let resources = reef_helm::manifest::split_manifests(&r.manifest)
        .into_iter()
        .map(|doc| {
            let source = doc.lines().find_map(|l| l.strip_prefix("# Source: ")).unwrap_or("").to_owned();
            reef_helm::template::Resource { source, kind: String::new(), content: doc }
        })
        .collect();
    ReleaseRender {
        chart: r.chart.clone(),
        config: r.config.clone(),
        crds: Vec::new(),
        resources,
        manifest: r.manifest.clone(),
        hooks: r.hooks.clone(),
        notes: r.info.notes.clone(),
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
        let field = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
        let ns = field("/metadata/namespace");
        out.push(ObjectRef {
            api_version: field("/apiVersion"),
            kind: field("/kind"),
            namespace: Some(if ns.is_empty() { namespace.to_owned() } else { ns }),
            name: field("/metadata/name"),
        });
    }
    Ok(out)
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
