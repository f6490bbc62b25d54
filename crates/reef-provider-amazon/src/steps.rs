//! The steps that make an EKS cluster, each with an undo, and the delete that finds and
//! removes everything reef made for a cluster by its tags and derived names.
//!
//! Create, in order: the VPC, subnets, internet gateway, NAT gateway, route tables, the
//! cluster's and the nodes' IAM roles, the EKS cluster, waiting for it to be ACTIVE, one
//! managed node group per node pool, and waiting for them to be ACTIVE. A step's output is
//! what its undo, and the steps after it, need.

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::ClusterSpec;
use reef_core::cluster::{NodePool, TaintEffect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aws::{Aws, AwsError};
use crate::ec2::Owner;
use crate::eks::{self, EndpointAccess, NodeGroupSpec};
use crate::iam::{self, CLUSTER_POLICIES, NODE_POLICIES, Role};
use crate::network::{self, Subnets};

/// The create steps, in order.
pub const CREATE: &[&str] = &[
    "vpc",
    "subnets",
    "internet_gateway",
    "nat_gateway",
    "routes",
    "cluster_role",
    "node_role",
    "eks_cluster",
    "wait_for_cluster",
    "node_groups",
    "wait_for_node_groups",
];

/// The update steps, in order: node pools resized, added and removed, then a version upgrade,
/// control plane first, then the node groups.
pub const UPDATE: &[&str] = &[
    "resize_node_pools",
    "add_node_pools",
    "remove_node_pools",
    "wait_for_node_pools",
    "upgrade_control_plane",
    "wait_for_control_plane",
    "upgrade_node_pools",
    "wait_for_node_pool_upgrades",
];

/// How long a wait step waits before it gives up (and is retried).
const WAIT: Duration = Duration::from_secs(20 * 60);

/// A failed step: AWS's error, or an output missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// AWS answered an error.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A step's input is missing or wrong.
    #[error("{0}")]
    Input(String),
}

/// What the steps of one cluster work with.
#[derive(Debug, Clone)]
pub struct ClusterSteps<'a> {
    /// The client, in the cluster's region.
    pub aws: &'a Aws,
    /// The tags of what is made.
    pub owner: Owner,
    /// The spec.
    pub spec: &'a ClusterSpec,
    /// For an update: the spec before it.
    pub previous: Option<&'a ClusterSpec>,
    /// How often wait steps look.
    pub poll: Duration,
}

/// The EKS cluster's name: the reef cluster's name and the start of its id (EKS names are per
/// account and region).
pub fn eks_name(owner: &Owner) -> String {
    format!("{}-{}", owner.name, owner.cluster.chars().filter(char::is_ascii_alphanumeric).take(8).collect::<String>())
}

fn role_name(owner: &Owner, what: &str) -> String {
    format!("reef-{}-{what}", owner.cluster)
}

fn output<T: DeserializeOwned>(outputs: &BTreeMap<String, Value>, step: &str) -> Result<T, StepFailure> {
    let v = outputs.get(step).ok_or_else(|| StepFailure::Input(format!("step {step} has no output")))?;
    serde_json::from_value(v.clone()).map_err(|e| StepFailure::Input(format!("the output of {step}: {e}")))
}

fn json(v: impl Serialize) -> Result<Value, StepFailure> {
    serde_json::to_value(v).map_err(|e| StepFailure::Input(e.to_string()))
}

/// Ids in a comma-separated list.
pub fn split_ids(ids: &str) -> Vec<String> {
    ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The node group for `pool`, in `subnets`, its nodes taking the role `node_role`.
fn group_spec(pool: &NodePool, subnets: Vec<String>, node_role: String) -> NodeGroupSpec {
    NodeGroupSpec {
        name: pool.name.as_str().to_owned(),
        instance_types: vec![pool.instance_type.clone()],
        scaling: scaling(pool),
        spot: pool.spot,
        labels: pool.labels.clone(),
        taints: pool.taints.iter().map(|t| (t.key.clone(), t.value.clone(), effect(&t.effect).to_owned())).collect(),
        disk_size: pool.disk_size_gib.unwrap_or(20),
        subnets,
        node_role,
    }
}

/// A pool's (min, max, desired) size.
fn scaling(pool: &NodePool) -> (u32, u32, u32) {
    (pool.min.unwrap_or(pool.count), pool.max.unwrap_or(pool.count).max(1).max(pool.count), pool.count)
}

fn effect(e: &TaintEffect) -> &'static str {
    match e {
        TaintEffect::NoSchedule => "NO_SCHEDULE",
        TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
        TaintEffect::NoExecute => "NO_EXECUTE",
    }
}

impl ClusterSteps<'_> {
    /// Runs create step `step` with the outputs of the steps before it.
    pub async fn run(&self, step: &str, outputs: &BTreeMap<String, Value>) -> Result<Value, StepFailure> {
        let (aws, owner) = (self.aws, &self.owner);
        let network_given = self.option("vpc_id").is_some();
        match step {
            // The user's network, or role, is used as it is: nothing is made, nothing undone.
            "vpc" | "subnets" | "internet_gateway" | "nat_gateway" | "routes" if network_given => Ok(Value::Null),
            "cluster_role" if self.option("cluster_role_arn").is_some() => Ok(Value::Null),
            "node_role" if self.option("node_role_arn").is_some() => Ok(Value::Null),
            "vpc" => json(network::create_vpc(aws, owner).await?),
            "subnets" => json(network::create_subnets(aws, owner, &output(outputs, "vpc")?).await?),
            "internet_gateway" => json(network::create_internet_gateway(aws, owner, &output(outputs, "vpc")?).await?),
            "nat_gateway" => json(network::create_nat_gateway(aws, owner, &output(outputs, "subnets")?).await?),
            "routes" => json(
                network::create_routes(
                    aws,
                    owner,
                    &output(outputs, "vpc")?,
                    &output(outputs, "subnets")?,
                    &output(outputs, "internet_gateway")?,
                    &output(outputs, "nat_gateway")?,
                )
                .await?,
            ),
            "cluster_role" => json(
                iam::create_role(aws, owner, &role_name(owner, "cluster"), "eks.amazonaws.com", CLUSTER_POLICIES)
                    .await?,
            ),
            "node_role" => json(
                iam::create_role(aws, owner, &role_name(owner, "nodes"), "ec2.amazonaws.com", NODE_POLICIES).await?,
            ),
            "eks_cluster" => {
                let role = self.role_arn(outputs, "cluster_role", "cluster_role_arn")?;
                let all = self.subnets(outputs, true)?;
                let version = self
                    .spec
                    .kubernetes_version
                    .as_ref()
                    .map(reef_core::KubernetesVersion::minor_version)
                    .ok_or_else(|| StepFailure::Input("the spec has no Kubernetes version".to_owned()))?;
                let access = EndpointAccess {
                    public: self.flag("endpoint_public_access")?,
                    private: self.flag("endpoint_private_access")?,
                };
                json(eks::create_cluster(aws, owner, &eks_name(owner), &version, &role, &all, access).await?)
            }
            "wait_for_cluster" => json(self.wait_for_cluster().await?),
            "node_groups" => {
                let role = self.role_arn(outputs, "node_role", "node_role_arn")?;
                let subnets = self.subnets(outputs, false)?;
                let mut made = Vec::new();
                for pool in &self.spec.node_pools {
                    let spec = group_spec(pool, subnets.clone(), role.clone());
                    made.push(eks::create_node_group(aws, owner, &eks_name(owner), &spec).await?.name);
                }
                json(made)
            }
            "wait_for_node_groups" => {
                self.wait_for_node_groups().await?;
                Ok(Value::Null)
            }
            other => Err(StepFailure::Input(format!("no create step {other}"))),
        }
    }

    /// Undoes create step `step`, given its output.
    pub async fn undo(
        &self,
        step: &str,
        output_value: &Value,
        outputs: &BTreeMap<String, Value>,
    ) -> Result<(), StepFailure> {
        let aws = self.aws;
        match step {
            "vpc" => network::delete_vpc(aws, &from(output_value.clone())?).await?,
            "subnets" => network::delete_subnets(aws, &from(output_value.clone())?).await?,
            "internet_gateway" => {
                network::delete_internet_gateway(aws, &output(outputs, "vpc")?, &from(output_value.clone())?).await?;
            }
            "nat_gateway" => network::delete_nat_gateway(aws, &from(output_value.clone())?).await?,
            "routes" => network::delete_routes(aws, &from(output_value.clone())?).await?,
            "cluster_role" | "node_role" => iam::delete_role(aws, &from(output_value.clone())?).await?,
            "eks_cluster" => {
                eks::delete_cluster(aws, &eks_name(&self.owner)).await?;
                self.wait_for_cluster_gone().await?;
            }
            "node_groups" => {
                let name = eks_name(&self.owner);
                let groups: Vec<String> = from(output_value.clone())?;
                for g in &groups {
                    eks::delete_node_group(aws, &name, g).await?;
                }
                self.wait_for_node_groups_gone().await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn wait_for_cluster(&self) -> Result<eks::EksCluster, StepFailure> {
        let name = eks_name(&self.owner);
        let deadline = Deadline::new("the EKS cluster to be ACTIVE");
        loop {
            match eks::describe_cluster(self.aws, &name).await? {
                Some(c) if c.status == "ACTIVE" => return Ok(c),
                Some(c) if c.status == "FAILED" => {
                    return Err(failed(
                        "CreateCluster",
                        "ClusterFailed",
                        format!("EKS reports the cluster {name} as FAILED"),
                    ));
                }
                _ => deadline.wait(self.poll).await?,
            }
        }
    }

    async fn wait_for_cluster_gone(&self) -> Result<(), StepFailure> {
        let name = eks_name(&self.owner);
        let deadline = Deadline::new("the EKS cluster to be deleted");
        while eks::describe_cluster(self.aws, &name).await?.is_some() {
            deadline.wait(self.poll).await?;
        }
        Ok(())
    }

    async fn wait_for_node_groups(&self) -> Result<(), StepFailure> {
        let name = eks_name(&self.owner);
        let deadline = Deadline::new("the node groups to be ACTIVE");
        for pool in &self.spec.node_pools {
            let group = pool.name.as_str();
            loop {
                match eks::describe_node_group(self.aws, &name, group).await? {
                    Some(g) if g.status == "ACTIVE" => break,
                    Some(g) if g.status.ends_with("FAILED") => {
                        let message = format!("EKS reports the node group {group} as {}", g.status);
                        return Err(failed("CreateNodegroup", "NodegroupFailed", message));
                    }
                    _ => deadline.wait(self.poll).await?,
                }
            }
        }
        Ok(())
    }

    async fn wait_for_node_groups_gone(&self) -> Result<(), StepFailure> {
        let name = eks_name(&self.owner);
        let deadline = Deadline::new("the node groups to be deleted");
        while !eks::list_node_groups(self.aws, &name).await?.is_empty() {
            deadline.wait(self.poll).await?;
        }
        Ok(())
    }

    fn previous(&self) -> Result<&ClusterSpec, StepFailure> {
        self.previous.ok_or_else(|| StepFailure::Input("an update without the previous spec".to_owned()))
    }

    /// The node group made for `pool`, in the cluster's private subnets with the node role,
    /// both found by their tags and names.
    async fn node_group_spec(&self, pool: &NodePool) -> Result<NodeGroupSpec, StepFailure> {
        let subnets = match self.option("subnet_ids") {
            Some(ids) => split_ids(ids),
            None => network::private_subnets(self.aws, &self.owner.cluster).await?,
        };
        let role = match self.option("node_role_arn") {
            Some(arn) => arn.to_owned(),
            None => iam::role_arn(self.aws, &role_name(&self.owner, "nodes")).await?,
        };
        Ok(group_spec(pool, subnets, role))
    }

    /// An option of the spec, when set.
    fn option(&self, key: &str) -> Option<&str> {
        self.spec.options.get(key).map(String::as_str).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A true/false option; true when not set.
    fn flag(&self, key: &str) -> Result<bool, StepFailure> {
        match self.option(key) {
            None | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(StepFailure::Input(format!("the option {key} is true or false, not {other:?}"))),
        }
    }

    /// The ARN of the role `step` made, or the one the option `key` names.
    fn role_arn(&self, outputs: &BTreeMap<String, Value>, step: &str, key: &str) -> Result<String, StepFailure> {
        match self.option(key) {
            Some(arn) => Ok(arn.to_owned()),
            None => Ok(output::<Role>(outputs, step)?.arn),
        }
    }

    /// The subnets of the cluster (`all`: public and private) or of its nodes (private): those
    /// made, or those the option `subnet_ids` names.
    fn subnets(&self, outputs: &BTreeMap<String, Value>, all: bool) -> Result<Vec<String>, StepFailure> {
        if let Some(ids) = self.option("subnet_ids") {
            return Ok(split_ids(ids));
        }
        let made: Subnets = output(outputs, "subnets")?;
        Ok(if all { made.public.iter().chain(&made.private).cloned().collect() } else { made.private })
    }

    /// Runs update step `step`: from [`ClusterSteps::previous`] to [`ClusterSteps::spec`].
    pub async fn run_update(&self, step: &str, outputs: &BTreeMap<String, Value>) -> Result<Value, StepFailure> {
        let (aws, name) = (self.aws, eks_name(&self.owner));
        let previous = self.previous()?;
        let before = |pool: &NodePool| previous.node_pools.iter().find(|p| p.name == pool.name).cloned();
        match step {
            "resize_node_pools" => {
                let mut resized = Vec::new();
                for pool in &self.spec.node_pools {
                    if let Some(old) = before(pool)
                        && scaling(&old) != scaling(pool)
                    {
                        eks::scale_node_group(aws, &name, pool.name.as_str(), scaling(pool)).await?;
                        resized.push(pool.name.as_str().to_owned());
                    }
                }
                json(resized)
            }
            "add_node_pools" => {
                let mut added = Vec::new();
                for pool in self.spec.node_pools.iter().filter(|p| before(p).is_none()) {
                    let spec = self.node_group_spec(pool).await?;
                    added.push(eks::create_node_group(aws, &self.owner, &name, &spec).await?.name);
                }
                json(added)
            }
            "remove_node_pools" => {
                let mut removed = Vec::new();
                for pool in
                    previous.node_pools.iter().filter(|p| !self.spec.node_pools.iter().any(|n| n.name == p.name))
                {
                    eks::delete_node_group(aws, &name, pool.name.as_str()).await?;
                    removed.push(pool.name.as_str().to_owned());
                }
                json(removed)
            }
            "wait_for_node_pools" => {
                let removed: Vec<String> = output(outputs, "remove_node_pools")?;
                self.wait_for_node_groups().await?;
                let deadline = Deadline::new("removed node groups to be deleted");
                while eks::list_node_groups(aws, &name).await?.iter().any(|g| removed.contains(g)) {
                    deadline.wait(self.poll).await?;
                }
                Ok(Value::Null)
            }
            "upgrade_control_plane" => {
                if !self.version_changes()? {
                    return Ok(Value::Null);
                }
                let target = self.target_version()?;
                let current = eks::describe_cluster(aws, &name)
                    .await?
                    .ok_or_else(|| StepFailure::Input(format!("EKS has no cluster {name}")))?;
                if current.version.as_deref() == Some(target.as_str()) {
                    return Ok(Value::Null);
                }
                json(eks::update_cluster_version(aws, &name, &target).await?)
            }
            "wait_for_control_plane" => {
                if let Some(update) = outputs.get("upgrade_control_plane").filter(|v| !v.is_null()) {
                    let update: eks::Update = from(update.clone())?;
                    self.wait_for_update(&update.id, None).await?;
                }
                Ok(Value::Null)
            }
            "upgrade_node_pools" => {
                let mut started = BTreeMap::new();
                if !self.version_changes()? {
                    return json(started);
                }
                let target = self.target_version()?;
                for pool in &self.spec.node_pools {
                    let group = pool.name.as_str();
                    let current = eks::describe_node_group(aws, &name, group).await?;
                    if current.as_ref().and_then(|g| g.version.as_deref()) == Some(target.as_str()) {
                        continue;
                    }
                    let update = eks::update_node_group_version(aws, &name, group, &target).await?;
                    started.insert(group.to_owned(), update.id);
                }
                json(started)
            }
            "wait_for_node_pool_upgrades" => {
                let started: BTreeMap<String, String> = output(outputs, "upgrade_node_pools")?;
                for (group, id) in &started {
                    self.wait_for_update(id, Some(group)).await?;
                }
                Ok(Value::Null)
            }
            other => Err(StepFailure::Input(format!("no update step {other}"))),
        }
    }

    /// Undoes update step `step`: back to the previous spec where EKS allows it. A version
    /// upgrade cannot be undone (EKS does not downgrade); node pools go back to their sizes,
    /// added ones are removed and removed ones made again.
    pub async fn undo_update(&self, step: &str, output_value: &Value) -> Result<(), StepFailure> {
        let (aws, name) = (self.aws, eks_name(&self.owner));
        let previous = self.previous()?;
        match step {
            "resize_node_pools" => {
                let resized: Vec<String> = from(output_value.clone())?;
                for pool in previous.node_pools.iter().filter(|p| resized.iter().any(|r| r == p.name.as_str())) {
                    eks::scale_node_group(aws, &name, pool.name.as_str(), scaling(pool)).await?;
                }
            }
            "add_node_pools" => {
                let added: Vec<String> = from(output_value.clone())?;
                for group in &added {
                    eks::delete_node_group(aws, &name, group).await?;
                }
                let deadline = Deadline::new("added node groups to be deleted");
                while eks::list_node_groups(aws, &name).await?.iter().any(|g| added.contains(g)) {
                    deadline.wait(self.poll).await?;
                }
            }
            "remove_node_pools" => {
                let removed: Vec<String> = from(output_value.clone())?;
                for pool in previous.node_pools.iter().filter(|p| removed.iter().any(|r| r == p.name.as_str())) {
                    let spec = self.node_group_spec(pool).await?;
                    eks::create_node_group(aws, &self.owner, &name, &spec).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the update changes the Kubernetes version (its minor: EKS picks patches).
    fn version_changes(&self) -> Result<bool, StepFailure> {
        let before = self.previous()?.kubernetes_version.as_ref().map(reef_core::KubernetesVersion::minor_version);
        Ok(before != Some(self.target_version()?))
    }

    fn target_version(&self) -> Result<String, StepFailure> {
        self.spec
            .kubernetes_version
            .as_ref()
            .map(reef_core::KubernetesVersion::minor_version)
            .ok_or_else(|| StepFailure::Input("the spec has no Kubernetes version".to_owned()))
    }

    async fn wait_for_update(&self, id: &str, group: Option<&str>) -> Result<(), StepFailure> {
        let name = eks_name(&self.owner);
        let deadline = Deadline::new("the version upgrade to finish");
        loop {
            let update = eks::describe_update(self.aws, &name, id, group).await?;
            match update.status.as_str() {
                "Successful" => return Ok(()),
                "Failed" | "Cancelled" => {
                    let what = group.map_or_else(|| "the control plane".to_owned(), |g| format!("node group {g}"));
                    let message =
                        format!("EKS's upgrade of {what} ended {}: {}", update.status, update.errors.join("; "));
                    return Err(failed("UpdateVersion", "UpdateFailed", message));
                }
                _ => deadline.wait(self.poll).await?,
            }
        }
    }

    /// Deletes everything reef made for the cluster, found by its derived names and tags, in
    /// the reverse order of its making. Succeeds when nothing is left.
    pub async fn delete_all(&self) -> Result<(), StepFailure> {
        let aws = self.aws;
        let name = eks_name(&self.owner);
        if eks::describe_cluster(aws, &name).await?.is_some() {
            for group in eks::list_node_groups(aws, &name).await? {
                eks::delete_node_group(aws, &name, &group).await?;
            }
            self.wait_for_node_groups_gone().await?;
            eks::delete_cluster(aws, &name).await?;
            self.wait_for_cluster_gone().await?;
        }
        for what in ["nodes", "cluster"] {
            let role = Role { name: role_name(&self.owner, what), arn: String::new() };
            iam::delete_role(aws, &role).await?;
        }
        network::delete_all(aws, &self.owner.cluster).await?;
        Ok(())
    }
}

/// When a wait gives up.
struct Deadline {
    at: tokio::time::Instant,
    what: &'static str,
}

impl Deadline {
    fn new(what: &'static str) -> Deadline {
        Deadline { at: tokio::time::Instant::now() + WAIT, what }
    }

    /// Waits `poll` before the next look, or fails (to be retried) once the wait is over.
    async fn wait(&self, poll: Duration) -> Result<(), StepFailure> {
        if tokio::time::Instant::now() > self.at {
            let message = format!("still waiting for {} after {} minutes", self.what, WAIT.as_secs() / 60);
            return Err(failed(self.what, "timeout", message));
        }
        tokio::time::sleep(poll).await;
        Ok(())
    }
}

fn failed(action: &str, code: &str, message: String) -> StepFailure {
    StepFailure::Aws(AwsError { service: "eks", action: action.to_owned(), status: 0, code: code.to_owned(), message })
}

fn from<T: DeserializeOwned>(v: Value) -> Result<T, StepFailure> {
    serde_json::from_value(v).map_err(|e| StepFailure::Input(format!("an output: {e}")))
}
