//! reef-provider: the contract between reef and what makes clusters (`local`, `import`,
//! `amazon`, ...).
//!
//! reef runs a cluster's creation and deletion as durable workflows (reef-workflow); a
//! provider supplies the steps of those workflows by name, and reef records each step's output
//! and calls the step's undo when a later step fails. So the contract a [`Provider`] signs is
//! the contract of a workflow step:
//!
//! - Every step **MUST** be idempotent: reef may run a step again after it did its work (its
//!   worker died before the output was recorded). A step finds what an earlier run of itself
//!   made (by a name or tag derived from the cluster's id) instead of making a second one.
//! - Every create step that makes something **MUST** have an undo that removes it, given the
//!   step's output; undos **MUST** be idempotent and succeed when there is nothing left to
//!   remove. A failed or cancelled create leaves nothing behind.
//! - Errors **MUST** say whether they are worth retrying ([`ProviderError::transient`]:
//!   throttling, timeouts, 5xx) or not ([`ProviderError::permanent`]: bad credentials, missing
//!   permissions, limits, unknown instance types), with a stable code and a message that tells
//!   the user what to do. Messages **MUST NOT** hold secrets.
//! - A provider **MUST** describe what it offers ([`Catalog`]) so that a create asking for
//!   something it does not offer fails before any work starts ([`Catalog::check`]), and
//!   **SHOULD** check credentials and permissions before the first billable call
//!   ([`Provider::preflight`]).
//! - Steps **SHOULD** take a bounded time and report failures rather than wait forever: a step
//!   waiting for the cloud gives up with a transient error after a while, and is retried.
//! - A provider that offers any Kubernetes version (an empty [`Catalog::kubernetes_versions`])
//!   and has no default learns the version from the cluster: one of its create steps **MUST**
//!   then put it in its output under `kubernetes_version` (`"1.33.1"`), and reef records it.
//! - Outputs are stored as they are: they **MUST NOT** hold secrets. Credentials reach a step
//!   in [`Call::credentials`], resolved by reef when the step runs.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use reef_core::{ClusterId, ClusterSpec, KubernetesVersion, OrgId, SpecProblem};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A future a provider returns.
pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// A region a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Its name (`eu-west-1`).
    pub name: String,
    /// A description for people.
    pub description: String,
}

/// An instance (machine) type a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceType {
    /// Its name (`m6i.large`).
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory, in MiB.
    pub memory_mib: u64,
    /// The regions that have it; every region when empty.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// What a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// It makes clusters (an imported cluster is not made).
    pub create: bool,
    /// Node pools can be resized.
    pub scale_node_pool: bool,
    /// Node pools can be added and removed.
    pub add_remove_node_pool: bool,
    /// The Kubernetes version can be upgraded.
    pub upgrade_version: bool,
    /// Spot (preemptible) node pools.
    pub spot: bool,
    /// Node pools sized by the provider's autoscaler.
    pub autoscaling: bool,
}

/// What a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The provider's name.
    pub provider: String,
    /// Its regions; any region when empty.
    pub regions: Vec<Region>,
    /// Its instance types; any when empty.
    pub instance_types: Vec<InstanceType>,
    /// The Kubernetes versions it creates clusters with (`1.31`: any patch of it); any
    /// version when empty (a provider that does not choose it).
    pub kubernetes_versions: Vec<KubernetesVersion>,
    /// The version a spec without one gets.
    pub default_version: Option<KubernetesVersion>,
    /// What it can do.
    pub capabilities: Capabilities,
    /// The options a spec may set for it ([`ClusterSpec::options`]).
    #[serde(default)]
    pub options: Vec<CatalogOption>,
}

/// An option a provider takes in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogOption {
    /// Its name (`vpc_id`).
    pub name: String,
    /// What it does and what it takes.
    pub description: String,
}

impl Catalog {
    /// What `spec` asks for that the provider does not offer, each problem named by its field;
    /// empty when the provider can make it.
    pub fn check(&self, spec: &ClusterSpec) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        if !self.regions.is_empty() && !self.regions.iter().any(|r| r.name == spec.region) {
            let names: Vec<&str> = self.regions.iter().map(|r| r.name.as_str()).collect();
            out.push(SpecProblem::new(
                "region",
                format!("{} has no region {:?}; it has {}", self.provider, spec.region, names.join(", ")),
            ));
        }
        if let Some(version) = &spec.kubernetes_version
            && !self.kubernetes_versions.is_empty()
            && !self.kubernetes_versions.iter().any(|v| v.covers(version))
        {
            let offered: Vec<String> = self.kubernetes_versions.iter().map(ToString::to_string).collect();
            out.push(SpecProblem::new(
                "kubernetes_version",
                format!("{} does not offer Kubernetes {version}; it offers {}", self.provider, offered.join(", ")),
            ));
        }
        for key in spec.options.keys() {
            if !self.options.iter().any(|o| &o.name == key) {
                let known: Vec<&str> = self.options.iter().map(|o| o.name.as_str()).collect();
                let takes = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                out.push(SpecProblem::new(
                    format!("options.{key}"),
                    format!("{} takes no option {key:?}; it takes: {takes}", self.provider),
                ));
            }
        }
        if !spec.node_pools.is_empty() && !self.capabilities.create {
            out.push(SpecProblem::new("node_pools", format!("{} does not make node pools", self.provider)));
        }
        for (i, pool) in spec.node_pools.iter().enumerate() {
            let at = format!("node_pools[{i}]");
            match self.instance_types.iter().find(|t| t.name == pool.instance_type) {
                None if !self.instance_types.is_empty() => out.push(SpecProblem::new(
                    format!("{at}.instance_type"),
                    format!("{} has no instance type {:?}", self.provider, pool.instance_type),
                )),
                Some(t) if !t.regions.is_empty() && !t.regions.contains(&spec.region) => out.push(SpecProblem::new(
                    format!("{at}.instance_type"),
                    format!("instance type {:?} is not offered in {}", pool.instance_type, spec.region),
                )),
                _ => {}
            }
            if pool.spot && !self.capabilities.spot {
                out.push(SpecProblem::new(format!("{at}.spot"), format!("{} has no spot capacity", self.provider)));
            }
            if pool.autoscaling && !self.capabilities.autoscaling {
                out.push(SpecProblem::new(
                    format!("{at}.autoscaling"),
                    format!("{} does not autoscale node pools", self.provider),
                ));
            }
        }
        out
    }

    /// The version a cluster of `spec` gets: the spec's, else the default.
    pub fn version_for(&self, spec: &ClusterSpec) -> Option<KubernetesVersion> {
        spec.kubernetes_version.clone().or_else(|| self.default_version.clone())
    }
}

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retry {
    /// It may pass by itself.
    Transient,
    /// It will not: the user must change something.
    Permanent,
}

/// Why a provider call failed: a stable code (`InvalidClientTokenId`, `instance_type_unknown`),
/// whether to retry, and a message saying what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct ProviderError {
    /// Whether to retry.
    pub retry: Retry,
    /// A stable code.
    pub code: String,
    /// What happened and what to do; never a secret.
    pub message: String,
}

impl ProviderError {
    /// An error worth retrying.
    pub fn transient(code: impl Into<String>, message: impl Into<String>) -> ProviderError {
        ProviderError { retry: Retry::Transient, code: code.into(), message: message.into() }
    }

    /// An error that needs the user.
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> ProviderError {
        ProviderError { retry: Retry::Permanent, code: code.into(), message: message.into() }
    }
}

/// The credentials of a provider call: the fields of the cluster's secret. Redacted in
/// `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials(pub BTreeMap<String, String>);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("fields", &self.0.keys().collect::<Vec<_>>()).finish()
    }
}

impl Credentials {
    /// The field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What a step is called with.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The organization.
    pub org: OrgId,
    /// The cluster (its id names what the provider makes for it).
    pub cluster: ClusterId,
    /// What the cluster is asked to be, its version resolved (for an update, what it is
    /// being changed to).
    pub spec: &'a ClusterSpec,
    /// For an update: what the cluster was before it (what an undo goes back to).
    pub previous: Option<&'a ClusterSpec>,
    /// The cluster secret's fields, when it has one.
    pub credentials: Option<&'a Credentials>,
    /// The outputs of the steps before this one, by step name.
    pub outputs: &'a BTreeMap<String, Value>,
}

impl Call<'_> {
    /// The output of the earlier step `step`.
    pub fn output<T: serde::de::DeserializeOwned>(&self, step: &str) -> Result<T, ProviderError> {
        let value = self.outputs.get(step).ok_or_else(|| {
            ProviderError::permanent("missing_output", format!("step {step:?} has no recorded output"))
        })?;
        T::deserialize(value)
            .map_err(|e| ProviderError::permanent("unreadable_output", format!("the output of step {step:?}: {e}")))
    }
}

/// A cluster's operations as seen from one of the steps: which steps there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Making the cluster.
    Create,
    /// Changing it to [`Call::spec`] from [`Call::previous`]: node pools resized, added or
    /// removed, the Kubernetes version upgraded. Undoing an update step goes back to the
    /// previous spec.
    Update,
    /// Removing it (and everything the provider made for it).
    Delete,
}

/// A maker of clusters. See the crate documentation for the contract.
pub trait Provider: Send + Sync + 'static {
    /// The provider's name (`local`), as in specs.
    fn name(&self) -> &'static str;

    /// What it offers.
    fn catalog(&self) -> ProviderFuture<'_, Catalog>;

    /// What it offers to the credentials and region of `call` (a cloud's regions, instance
    /// types and versions, as its APIs list them), checked again before a create or an update
    /// starts. The default: [`Provider::catalog`].
    fn live_catalog<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, Catalog> {
        let _ = call;
        self.catalog()
    }

    /// Checks, before anything is made, that the credentials work and may do what `call`'s
    /// spec needs. The default checks nothing.
    fn preflight<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, ()> {
        let _ = call;
        Box::pin(async { Ok(()) })
    }

    /// The names of the steps of `operation`, in order.
    fn steps(&self, operation: Operation) -> &'static [&'static str];

    /// Runs step `step` of `operation`; its output is recorded for later steps and its undo.
    fn run<'a>(&'a self, operation: Operation, step: &'a str, call: Call<'a>) -> ProviderFuture<'a, Value>;

    /// Undoes step `step` of `operation`, given its output. The default has nothing to undo
    /// (a step that only reads or waits).
    fn undo<'a>(
        &'a self,
        operation: Operation,
        step: &'a str,
        call: Call<'a>,
        output: Value,
    ) -> ProviderFuture<'a, ()> {
        let _ = (operation, step, call, output);
        Box::pin(async { Ok(()) })
    }

    /// Makes sure the cluster is served as `call`'s spec says: called when reef starts, for
    /// each cluster of this provider that exists (running, in warning or in error; `call` then
    /// has no step outputs), and as a create or an update finishes (after a restart, reef's
    /// `finish` may be the only step that runs again). A provider whose clusters live in the
    /// reef process brings the cluster back here; it **MUST** be idempotent. The default does
    /// nothing (a cloud's clusters do not depend on reef running).
    fn resume<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, ()> {
        let _ = call;
        Box::pin(async { Ok(()) })
    }

    /// A kubeconfig for the cluster made by the create steps (whose outputs `call` has), with
    /// credentials a user can use. reef keeps it encrypted, never in an output.
    fn kubeconfig<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, String>;

    /// When the credentials in a kubeconfig this provider made stop working, if they do (a
    /// cloud's short-lived token); reef asks for a new kubeconfig ([`Provider::kubeconfig`])
    /// before then. The default: never.
    fn kubeconfig_expires(&self, kubeconfig: &str) -> Option<std::time::SystemTime> {
        let _ = kubeconfig;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            provider: "test".to_owned(),
            regions: vec![Region { name: "eu".into(), description: "Europe".into() }],
            instance_types: vec![
                InstanceType { name: "small".into(), vcpus: 2, memory_mib: 4096, regions: vec![] },
                InstanceType { name: "gpu".into(), vcpus: 8, memory_mib: 65536, regions: vec!["us".into()] },
            ],
            kubernetes_versions: vec![KubernetesVersion::parse("1.31").unwrap()],
            default_version: Some(KubernetesVersion::parse("1.31").unwrap()),
            capabilities: Capabilities { create: true, autoscaling: true, ..Capabilities::default() },
            options: Vec::new(),
        }
    }

    fn spec(json: serde_json::Value) -> ClusterSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_spec_within_the_offer_has_no_problem() {
        let s = spec(serde_json::json!({
            "name": "dev", "provider": "test", "region": "eu", "kubernetes_version": "1.31.2",
            "node_pools": [{"name": "a", "instance_type": "small", "count": 2, "autoscaling": true}]
        }));
        assert_eq!(catalog().check(&s), []);
        assert_eq!(catalog().version_for(&s).unwrap().to_string(), "1.31.2");
    }

    #[test]
    fn each_thing_not_offered_is_named() {
        let s = spec(serde_json::json!({
            "name": "dev", "provider": "test", "region": "mars", "kubernetes_version": "1.20",
            "node_pools": [
                {"name": "a", "instance_type": "huge", "count": 1, "spot": true},
                {"name": "b", "instance_type": "gpu", "count": 1}
            ]
        }));
        let problems = catalog().check(&s);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "region",
                "kubernetes_version",
                "node_pools[0].instance_type",
                "node_pools[0].spot",
                "node_pools[1].instance_type"
            ]
        );
        assert_eq!(problems[0].message, "test has no region \"mars\"; it has eu");
        assert_eq!(problems[1].message, "test does not offer Kubernetes 1.20; it offers 1.31");
    }

    #[test]
    fn an_option_the_provider_does_not_take_is_named_with_those_it_takes() {
        let s = spec(serde_json::json!({
            "name": "dev", "provider": "test", "region": "eu",
            "options": {"vpc_id": "vpc-1", "colour": "blue"}
        }));
        let mut c = catalog();
        let problems = c.check(&s);
        assert_eq!(problems.len(), 2);
        assert_eq!(
            (problems[0].field.as_str(), problems[0].message.as_str()),
            ("options.colour", "test takes no option \"colour\"; it takes: none")
        );
        c.options.push(CatalogOption { name: "vpc_id".into(), description: "a VPC".into() });
        let problems = c.check(&s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].message, "test takes no option \"colour\"; it takes: vpc_id");
    }

    #[test]
    fn credentials_do_not_show_their_values() {
        let c = Credentials(BTreeMap::from([("secret_key".to_owned(), "hunter2".to_owned())]));
        let shown = format!("{c:?}");
        assert!(shown.contains("secret_key") && !shown.contains("hunter2"), "{shown}");
    }
}
