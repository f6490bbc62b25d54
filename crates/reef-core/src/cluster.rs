//! Clusters: what a user asks for (a [`ClusterSpec`]), what reef records ([`Cluster`]), and
//! the states a cluster goes through, each change recorded with its cause.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{ClusterId, OrgId, WorkflowId};
use crate::name::{ClusterName, NodePoolName, SecretName};

/// Where a cluster is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterStatus {
    /// Recorded; its creation has not started.
    Pending,
    /// Being created.
    Creating,
    /// Created and healthy.
    Running,
    /// Being changed (version, node pools).
    Updating,
    /// Being deleted.
    Deleting,
    /// Deleted; kept as a record.
    Deleted,
    /// An operation on it failed (the failed step and its error say why).
    Error,
    /// Running but degraded (unreachable, nodes not ready).
    Warning,
}

impl ClusterStatus {
    /// Every status.
    pub const ALL: [ClusterStatus; 8] = [
        ClusterStatus::Pending,
        ClusterStatus::Creating,
        ClusterStatus::Running,
        ClusterStatus::Updating,
        ClusterStatus::Deleting,
        ClusterStatus::Deleted,
        ClusterStatus::Error,
        ClusterStatus::Warning,
    ];

    /// The status's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Pending => "pending",
            ClusterStatus::Creating => "creating",
            ClusterStatus::Running => "running",
            ClusterStatus::Updating => "updating",
            ClusterStatus::Deleting => "deleting",
            ClusterStatus::Deleted => "deleted",
            ClusterStatus::Error => "error",
            ClusterStatus::Warning => "warning",
        }
    }

    /// Parses a status's name.
    pub fn parse(s: &str) -> Option<Self> {
        ClusterStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a cluster may go from `self` to `to`: `pending -> creating -> running`,
    /// `running <-> updating`, `running <-> warning`, anything not deleted `-> deleting ->
    /// deleted`, and `error` from any operation, left by another operation.
    pub fn may_become(self, to: ClusterStatus) -> bool {
        use ClusterStatus::*;
        match (self, to) {
            (Deleted, _) => false,
            (_, Deleting) => self != Deleting,
            (Deleting, Deleted | Error) => true,
            (Pending, Creating | Error) => true,
            (Creating, Running | Error | Warning) => true,
            (Running | Warning | Error, Updating) => true,
            (Updating, Running | Error | Warning) => true,
            (Running, Warning) | (Warning, Running) => true,
            // A failed create that was unwound may be tried again.
            (Error, Creating) => true,
            _ => false,
        }
    }
}

impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Kubernetes version a cluster runs: `1.31` or `1.31.4`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KubernetesVersion {
    major: u32,
    minor: u32,
    patch: Option<u32>,
}

/// A Kubernetes version that does not read as `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kubernetes version {0:?}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH, as 1.31 or 1.31.4")]
pub struct InvalidVersion(pub String);

impl KubernetesVersion {
    /// Parses `1.31`, `1.31.4` or `v1.31.4`.
    pub fn parse(s: &str) -> Result<KubernetesVersion, InvalidVersion> {
        let bad = || InvalidVersion(s.to_owned());
        let text = s.strip_prefix('v').unwrap_or(s);
        let parts: Vec<&str> = text.split('.').collect();
        let num = |p: &str| -> Result<u32, InvalidVersion> {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        match parts.as_slice() {
            [major, minor] => Ok(KubernetesVersion { major: num(major)?, minor: num(minor)?, patch: None }),
            [major, minor, patch] => {
                Ok(KubernetesVersion { major: num(major)?, minor: num(minor)?, patch: Some(num(patch)?) })
            }
            _ => Err(bad()),
        }
    }

    /// `MAJOR.MINOR`, what providers offer versions by.
    pub fn minor_version(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Whether `self` (as offered by a provider, `1.31`) covers `wanted` (`1.31` or `1.31.4`).
    pub fn covers(&self, wanted: &KubernetesVersion) -> bool {
        self.major == wanted.major && self.minor == wanted.minor && (self.patch.is_none() || self.patch == wanted.patch)
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl TryFrom<String> for KubernetesVersion {
    type Error = InvalidVersion;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        KubernetesVersion::parse(&s)
    }
}

impl From<KubernetesVersion> for String {
    fn from(v: KubernetesVersion) -> String {
        v.to_string()
    }
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaintEffect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods are evicted too.
    NoExecute,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Taint {
    /// The key.
    pub key: String,
    /// The value (may be empty).
    #[serde(default)]
    pub value: String,
    /// The effect.
    pub effect: TaintEffect,
}

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePool {
    /// Unique within the cluster.
    pub name: NodePoolName,
    /// The provider's instance (machine) type.
    pub instance_type: String,
    /// Nodes wanted now.
    pub count: u32,
    /// The fewest nodes (the autoscaler's floor); defaults to `count`.
    #[serde(default)]
    pub min: Option<u32>,
    /// The most nodes (the autoscaler's ceiling); defaults to `count`.
    #[serde(default)]
    pub max: Option<u32>,
    /// Whether the provider's autoscaler manages the count between `min` and `max`.
    #[serde(default)]
    pub autoscaling: bool,
    /// Spot (preemptible) capacity.
    #[serde(default)]
    pub spot: bool,
    /// Labels every node of the pool gets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints every node of the pool gets.
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// Each node's disk, in GiB; the provider's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size_gib: Option<u32>,
}

/// A problem with a spec: where it is (`node_pools[1].count`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecProblem {
    /// Where, as a path into the spec.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl SpecProblem {
    /// A problem at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> SpecProblem {
        SpecProblem { field: field.into(), message: message.into() }
    }
}

impl NodePool {
    /// A pool of `count` nodes of `instance_type`, without autoscaling, spot capacity,
    /// labels, taints or a disk size of its own.
    pub fn fixed(name: NodePoolName, instance_type: impl Into<String>, count: u32) -> NodePool {
        NodePool {
            name,
            instance_type: instance_type.into(),
            count,
            min: None,
            max: None,
            autoscaling: false,
            spot: false,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            disk_size_gib: None,
        }
    }

    /// The floor: `min`, or `count`.
    pub fn min_count(&self) -> u32 {
        self.min.unwrap_or(self.count)
    }

    /// The ceiling: `max`, or `count`.
    pub fn max_count(&self) -> u32 {
        self.max.unwrap_or(self.count)
    }

    /// What is wrong with the pool on its own (not against a provider's offer), with `at`
    /// naming it (`node_pools[0]`).
    pub fn problems(&self, at: &str) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        if self.instance_type.trim().is_empty() {
            out.push(SpecProblem::new(format!("{at}.instance_type"), "an instance type is required"));
        }
        let (min, max) = (self.min_count(), self.max_count());
        if min > max {
            out.push(SpecProblem::new(format!("{at}.min"), format!("min ({min}) is above max ({max})")));
        }
        if self.count < min || self.count > max {
            out.push(SpecProblem::new(
                format!("{at}.count"),
                format!("count ({}) must be between min ({min}) and max ({max})", self.count),
            ));
        }
        if max > 1000 {
            out.push(SpecProblem::new(format!("{at}.max"), "a node pool has at most 1000 nodes"));
        }
        if self.disk_size_gib.is_some_and(|d| !(1..=16_384).contains(&d)) {
            out.push(SpecProblem::new(format!("{at}.disk_size_gib"), "a disk is 1 to 16384 GiB"));
        }
        for (i, t) in self.taints.iter().enumerate() {
            if t.key.trim().is_empty() {
                out.push(SpecProblem::new(format!("{at}.taints[{i}].key"), "a taint needs a key"));
            }
        }
        out
    }
}

/// What a user asks for: the same shape in the API, the CLI's spec files and the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The cluster's name.
    pub name: ClusterName,
    /// Which provider makes it (`local`, `import`, `amazon`, ...).
    pub provider: String,
    /// Where (a provider's region; `local` has one, `local`).
    #[serde(default)]
    pub region: String,
    /// The Kubernetes version; defaults to the provider's default.
    #[serde(default)]
    pub kubernetes_version: Option<KubernetesVersion>,
    /// The node pools (none for an imported cluster).
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    /// The organization secret with the provider's credentials (an `import` cluster's
    /// kubeconfig).
    #[serde(default)]
    pub secret: Option<SecretName>,
    /// Labels of the cluster (for filtering lists).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Settings only its provider knows (each provider's catalog lists its own), fixed at
    /// creation: for `amazon`, an existing VPC to use, IAM role ARNs, endpoint access.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl ClusterSpec {
    /// What is wrong with the spec on its own: node pools, their names, labels.
    pub fn problems(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, pool) in self.node_pools.iter().enumerate() {
            let at = format!("node_pools[{i}]");
            if !seen.insert(pool.name.as_str()) {
                out.push(SpecProblem::new(format!("{at}.name"), format!("two node pools are named {}", pool.name)));
            }
            out.extend(pool.problems(&at));
        }
        for key in self.labels.keys() {
            if key.is_empty() || key.len() > 63 {
                out.push(SpecProblem::new("labels", format!("label key {key:?} must be 1 to 63 characters")));
            }
        }
        out
    }
}

/// A cluster as reef records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Its id.
    pub id: ClusterId,
    /// Its organization.
    pub org_id: OrgId,
    /// Its name.
    pub name: ClusterName,
    /// The provider.
    pub provider: String,
    /// The region.
    pub region: String,
    /// The Kubernetes version it runs (or is being created with); `None` until its provider
    /// reports it, when the provider learns it from the cluster (an imported cluster).
    pub kubernetes_version: Option<KubernetesVersion>,
    /// Its node pools as last asked for.
    pub node_pools: Vec<NodePool>,
    /// The credentials secret.
    pub secret: Option<SecretName>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its provider's settings, as created.
    pub options: BTreeMap<String, String>,
    /// Where it is.
    pub status: ClusterStatus,
    /// Why it is there, for a user.
    pub status_message: String,
    /// The API server's URL, once known.
    pub endpoint: Option<String>,
    /// The operation going on, or the last one.
    pub operation: Option<WorkflowId>,
    /// The last health check, once there was one.
    pub health: Option<ClusterHealth>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Cluster {
    /// The record of a cluster `spec` asks for, in `org_id`, requested at `now`: pending,
    /// waiting to be created.
    pub fn pending(id: ClusterId, org_id: OrgId, spec: ClusterSpec, now: DateTime<Utc>) -> Cluster {
        Cluster {
            id,
            org_id,
            name: spec.name,
            provider: spec.provider,
            region: spec.region,
            kubernetes_version: spec.kubernetes_version,
            node_pools: spec.node_pools,
            secret: spec.secret,
            labels: spec.labels,
            options: spec.options,
            status: ClusterStatus::Pending,
            status_message: "waiting to be created".to_owned(),
            endpoint: None,
            operation: None,
            health: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What the last health check of a cluster found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHealth {
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// What is wrong (the API server does not answer, nodes are not ready); `None` when
    /// nothing is.
    pub problem: Option<String>,
}

/// One recorded change of a cluster's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// From.
    pub from: Option<ClusterStatus>,
    /// To.
    pub to: ClusterStatus,
    /// Why, for a user.
    pub cause: String,
    /// The operation that made it, if any.
    pub operation: Option<WorkflowId>,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_with_or_without_a_patch_and_a_v() {
        let v = KubernetesVersion::parse("v1.31.4").unwrap();
        assert_eq!(v.to_string(), "1.31.4");
        assert_eq!(v.minor_version(), "1.31");
        assert!(KubernetesVersion::parse("1.31").unwrap().covers(&v));
        assert!(!KubernetesVersion::parse("1.30").unwrap().covers(&v));
        for bad in ["", "1", "1.x", "1.31.4.5", "one.two", "1..2", "1.99999"] {
            assert!(KubernetesVersion::parse(bad).is_err(), "{bad:?}");
        }
        assert!(KubernetesVersion::parse("1.9").unwrap() < KubernetesVersion::parse("1.10").unwrap());
    }

    #[test]
    fn statuses_go_only_where_a_cluster_can_go() {
        use ClusterStatus::*;
        assert!(Pending.may_become(Creating));
        assert!(Creating.may_become(Running));
        assert!(Running.may_become(Updating) && Updating.may_become(Running));
        assert!(Creating.may_become(Deleting) && Deleting.may_become(Deleted));
        assert!(!Deleted.may_become(Running));
        assert!(!Running.may_become(Creating));
        assert!(!Deleting.may_become(Deleting));
        for s in ClusterStatus::ALL {
            assert_eq!(ClusterStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_spec_names_each_problem_with_its_place() {
        let spec: ClusterSpec = serde_json::from_value(serde_json::json!({
            "name": "dev",
            "provider": "local",
            "node_pools": [
                {"name": "a", "instance_type": "small", "count": 5, "min": 1, "max": 3},
                {"name": "a", "instance_type": "", "count": 1, "taints": [{"key": "", "effect": "NoSchedule"}]}
            ]
        }))
        .unwrap();
        let fields: Vec<String> = spec.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["node_pools[0].count", "node_pools[1].name", "node_pools[1].instance_type", "node_pools[1].taints[0].key"]
        );
    }

    #[test]
    fn specs_refuse_unknown_fields_and_bad_names() {
        let unknown = serde_json::from_value::<ClusterSpec>(serde_json::json!({
            "name": "dev", "provider": "local", "nodepools": []
        }));
        assert!(unknown.unwrap_err().to_string().contains("unknown field `nodepools`"));
        let bad = serde_json::from_value::<ClusterSpec>(serde_json::json!({"name": "Dev!", "provider": "local"}));
        assert!(bad.unwrap_err().to_string().contains("invalid cluster name"));
    }
}
