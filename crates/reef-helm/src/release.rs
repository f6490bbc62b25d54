//! Releases as Helm 3 and 4 store them, so that the `helm` CLI and reef read each other's:
//! one Secret per revision, named `sh.helm.release.v1.<name>.v<revision>`, of type
//! `helm.sh/release.v1`, labelled `name`, `owner=helm`, `status` and `version`, whose
//! `release` data is the release as JSON, gzipped, then base64 (Helm's `encodeRelease`).
//!
//! A release read from a cluster keeps every field it had, known here or not: reef rewrites a
//! release `helm` wrote (to mark it superseded, say) without losing what it does not model.
//! Times are kept as the RFC 3339 text Go writes; this crate does no IO and keeps no clock.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chart::{Chart, File, LoadError, Metadata};

/// The Secret type of a release record.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// The data key of a release record.
pub const DATA_KEY: &str = "release";

/// A release's status, as Helm names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not known.
    Unknown,
    /// Deployed: the current revision.
    Deployed,
    /// Uninstalled, its history kept.
    Uninstalled,
    /// Replaced by a later revision.
    Superseded,
    /// Failed.
    Failed,
    /// Being uninstalled.
    Uninstalling,
    /// Being installed.
    PendingInstall,
    /// Being upgraded.
    PendingUpgrade,
    /// Being rolled back.
    PendingRollback,
}

impl Status {
    /// Helm's name (`pending-install`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation holds the release (`pending-*`, `uninstalling`).
    pub fn is_pending(self) -> bool {
        matches!(self, Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback | Status::Uninstalling)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `info` of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// When the release was first deployed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "time_or_empty")]
    pub first_deployed: Option<String>,
    /// When this revision was deployed.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "time_or_empty")]
    pub last_deployed: Option<String>,
    /// When it was uninstalled.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "time_or_empty")]
    pub deleted: Option<String>,
    /// What happened, for people (`Install complete`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The status.
    pub status: Status,
    /// The rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Fields reef does not model, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Go writes an unset time as `"0001-01-01T00:00:00Z"` or leaves it out; older releases have
/// `""`. Both read as none.
fn time_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty() && !s.starts_with("0001-01-01")))
}

/// A hook: a document of the chart annotated `helm.sh/hook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// Its kind.
    #[serde(default)]
    pub kind: String,
    /// The template it came from (`chart/templates/job.yaml`).
    #[serde(default)]
    pub path: String,
    /// The document.
    #[serde(default)]
    pub manifest: String,
    /// The events it runs on (`pre-install`, `test`, ...).
    #[serde(default)]
    pub events: Vec<String>,
    /// Its last run.
    #[serde(default)]
    pub last_run: Value,
    /// Its weight: lower runs first.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    /// When it is deleted (`before-hook-creation`, `hook-succeeded`, `hook-failed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// Fields reef does not model, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A release: one revision of a chart installed under a name in a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// The release's name.
    pub name: String,
    /// Its status and history entry.
    pub info: Info,
    /// The chart, as Helm serialises it (metadata, templates, values, schema, files).
    #[serde(default)]
    pub chart: Value,
    /// The values the user gave (not the chart's defaults).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
    /// The rendered objects that are not hooks, in install order, each `---\n# Source: ...`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The hooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// The revision, from 1.
    pub version: u32,
    /// The namespace.
    pub namespace: String,
    /// Fields reef does not model (`apply_method`, ...), kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Why a release record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the release record cannot be read: {0}")]
pub struct DecodeError(String);

impl Release {
    /// The name of the Secret that holds this revision.
    pub fn storage_name(&self) -> String {
        storage_name(&self.name, self.version)
    }

    /// The labels of the Secret that holds this revision; `stamp` is `("createdAt", unix
    /// seconds)` for a new record or `("modifiedAt", ...)` for a rewritten one, as Helm sets.
    pub fn storage_labels(&self, stamp: (&str, i64)) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("name".to_owned(), self.name.clone()),
            ("owner".to_owned(), "helm".to_owned()),
            ("status".to_owned(), self.info.status.as_str().to_owned()),
            ("version".to_owned(), self.version.to_string()),
            (stamp.0.to_owned(), stamp.1.to_string()),
        ])
    }

    /// The record's `release` data: JSON, gzipped, base64 (the Secret's data then encodes it
    /// once more, as for any Secret).
    pub fn encode(&self) -> String {
        // Serialising plain data to a Vec cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&json);
        let zipped = gz.finish().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(zipped)
    }

    /// Reads a record's `release` data, gzipped or (as before Helm 3.1) not.
    pub fn decode(data: &[u8]) -> Result<Release, DecodeError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(data.trim_ascii())
            .map_err(|e| DecodeError(format!("not base64: {e}")))?;
        let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| DecodeError(format!("not gzip: {e}")))?;
            out
        } else {
            raw
        };
        serde_json::from_slice(&json).map_err(|e| DecodeError(format!("not a release: {e}")))
    }

    /// The chart's name and version (`nginx-1.2.3`), as `helm list` shows them.
    pub fn chart_label(&self) -> String {
        let meta = &self.chart["metadata"];
        format!("{}-{}", meta["name"].as_str().unwrap_or(""), meta["version"].as_str().unwrap_or(""))
    }

    /// The chart's `appVersion`.
    pub fn app_version(&self) -> &str {
        self.chart["metadata"]["appVersion"].as_str().unwrap_or("")
    }
}

/// The name of the Secret that holds revision `version` of release `name`.
pub fn storage_name(name: &str, version: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// A chart as Helm serialises it in a release: its own files, not its dependencies' (Helm
/// keeps only the top chart).
pub fn chart_json(c: &Chart) -> Result<Value, LoadError> {
    let files = |fs: &[File]| -> Result<Value, LoadError> {
        let encoded: Result<Vec<Value>, LoadError> = fs
            .iter()
            .map(|f| {
                Ok(serde_json::json!({
                    "name": f.name,
                    "data": base64::engine::general_purpose::STANDARD.encode(&f.data.get()?[..]),
                }))
            })
            .collect();
        Ok(Value::Array(encoded?))
    };
    Ok(serde_json::json!({
        "metadata": metadata_json(&c.metadata),
        "lock": Value::Null,
        "templates": files(&c.templates)?,
        "values": crate::values::to_json(&c.values),
        "schema": c.schema.as_ref().map(|s| Value::String(base64::engine::general_purpose::STANDARD.encode(s))),
        "files": files(&c.files)?,
    }))
}

/// Chart.yaml as Go's `json.Marshal` of Helm's `Metadata` writes it: empty fields left out.
fn metadata_json(m: &Metadata) -> Value {
    let mut out = Map::new();
    let mut text = |key: &str, v: &str| {
        if !v.is_empty() {
            out.insert(key.to_owned(), Value::String(v.to_owned()));
        }
    };
    text("name", &m.name);
    text("home", &m.home);
    text("version", &m.version);
    text("description", &m.description);
    text("icon", &m.icon);
    text("apiVersion", &m.api_version);
    text("condition", &m.condition);
    text("tags", &m.tags);
    text("appVersion", &m.app_version);
    text("kubeVersion", &m.kube_version);
    text("type", &m.chart_type);
    if !m.sources.is_empty() {
        out.insert("sources".to_owned(), serde_json::json!(m.sources));
    }
    if !m.keywords.is_empty() {
        out.insert("keywords".to_owned(), serde_json::json!(m.keywords));
    }
    if !m.maintainers.is_empty() {
        let people: Vec<Value> = m
            .maintainers
            .iter()
            .map(|p| {
                let mut o = Map::new();
                for (k, v) in [("name", &p.name), ("email", &p.email), ("url", &p.url)] {
                    if !v.is_empty() {
                        o.insert(k.to_owned(), Value::String(v.clone()));
                    }
                }
                Value::Object(o)
            })
            .collect();
        out.insert("maintainers".to_owned(), Value::Array(people));
    }
    if m.deprecated {
        out.insert("deprecated".to_owned(), Value::Bool(true));
    }
    if !m.annotations.is_empty() {
        out.insert("annotations".to_owned(), serde_json::json!(m.annotations));
    }
    if !m.dependencies.is_empty() {
        let deps: Vec<Value> = m
            .dependencies
            .iter()
            .map(|d| {
                let mut o = Map::new();
                o.insert("name".to_owned(), Value::String(d.name.clone()));
                if !d.version.is_empty() {
                    o.insert("version".to_owned(), Value::String(d.version.clone()));
                }
                o.insert("repository".to_owned(), Value::String(d.repository.clone()));
                if !d.condition.is_empty() {
                    o.insert("condition".to_owned(), Value::String(d.condition.clone()));
                }
                if !d.tags.is_empty() {
                    o.insert("tags".to_owned(), serde_json::json!(d.tags));
                }
                if d.enabled {
                    o.insert("enabled".to_owned(), Value::Bool(true));
                }
                if !d.alias.is_empty() {
                    o.insert("alias".to_owned(), Value::String(d.alias.clone()));
                }
                Value::Object(o)
            })
            .collect();
        out.insert("dependencies".to_owned(), Value::Array(deps));
    }
    Value::Object(out)
}
