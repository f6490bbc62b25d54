//! EKS, through its REST-JSON API: clusters and managed node groups.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aws::{Aws, AwsError};
use crate::ec2::{Owner, TAG_CLUSTER, TAG_ORG};

/// Where the cluster's API server can be reached from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointAccess {
    /// From the internet.
    pub public: bool,
    /// From inside the VPC.
    pub private: bool,
}

/// An EKS cluster as reef needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EksCluster {
    /// Its name in EKS.
    pub name: String,
    /// `CREATING`, `ACTIVE`, `DELETING`, `FAILED`, `UPDATING`.
    pub status: String,
    /// The API server's URL, once there is one.
    pub endpoint: Option<String>,
    /// The API server's CA certificate, base64 PEM.
    pub certificate_authority: Option<String>,
    /// The Kubernetes version (`1.31`).
    pub version: Option<String>,
}

/// A managed node group as reef needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeGroup {
    /// Its name.
    pub name: String,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, `CREATE_FAILED`, `DEGRADED`, ...
    pub status: String,
    /// Its scaling: min, max, desired.
    pub scaling: (u32, u32, u32),
    /// Its Kubernetes version.
    pub version: Option<String>,
}

/// What a node group is made as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupSpec {
    /// Its name.
    pub name: String,
    /// Instance types.
    pub instance_types: Vec<String>,
    /// Smallest, largest and wanted size.
    pub scaling: (u32, u32, u32),
    /// Spot capacity instead of on-demand.
    pub spot: bool,
    /// Node labels.
    pub labels: BTreeMap<String, String>,
    /// Node taints: key, value, EKS effect (`NO_SCHEDULE`, `NO_EXECUTE`, `PREFER_NO_SCHEDULE`).
    pub taints: Vec<(String, String, String)>,
    /// Disk size in GiB.
    pub disk_size: u32,
    /// The subnets.
    pub subnets: Vec<String>,
    /// The node role's ARN.
    pub node_role: String,
}

fn tags(owner: &Owner) -> Value {
    json!({ TAG_CLUSTER: owner.cluster, TAG_ORG: owner.org })
}

fn cluster_of(v: &Value) -> EksCluster {
    let c = &v["cluster"];
    let s = |p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_owned);
    EksCluster {
        name: s("/name").unwrap_or_default(),
        status: s("/status").unwrap_or_default(),
        endpoint: s("/endpoint"),
        certificate_authority: s("/certificateAuthority/data"),
        version: s("/version"),
    }
}

fn node_group_of(v: &Value) -> NodeGroup {
    let n = &v["nodegroup"];
    let u = |p: &str| n.pointer(p).and_then(Value::as_u64).and_then(|x| u32::try_from(x).ok()).unwrap_or(0);
    NodeGroup {
        name: n["nodegroupName"].as_str().unwrap_or_default().to_owned(),
        status: n["status"].as_str().unwrap_or_default().to_owned(),
        scaling: (u("/scalingConfig/minSize"), u("/scalingConfig/maxSize"), u("/scalingConfig/desiredSize")),
        version: n["version"].as_str().map(str::to_owned),
    }
}

/// The cluster `name`, if it exists.
pub async fn describe_cluster(aws: &Aws, name: &str) -> Result<Option<EksCluster>, AwsError> {
    match aws.rest_json("eks", Method::GET, &format!("/clusters/{name}"), None).await {
        Ok(v) => Ok(Some(cluster_of(&v))),
        Err(e) if e.code == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes (or finds) the cluster.
pub async fn create_cluster(
    aws: &Aws,
    owner: &Owner,
    name: &str,
    version: &str,
    role_arn: &str,
    subnets: &[String],
    access: EndpointAccess,
) -> Result<EksCluster, AwsError> {
    if let Some(found) = describe_cluster(aws, name).await? {
        return Ok(found);
    }
    let body = json!({
        "name": name,
        "version": version,
        "roleArn": role_arn,
        "resourcesVpcConfig": {
            "subnetIds": subnets,
            "endpointPublicAccess": access.public,
            "endpointPrivateAccess": access.private,
        },
        "tags": tags(owner),
    });
    match aws.rest_json("eks", Method::POST, "/clusters", Some(&body)).await {
        Ok(v) => Ok(cluster_of(&v)),
        // Made by an earlier run of this step whose answer was lost.
        Err(e) if e.code == "ResourceInUseException" => describe_cluster(aws, name).await?.ok_or(e),
        Err(e) => Err(e),
    }
}

/// Deletes the cluster (its node groups must be gone).
pub async fn delete_cluster(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws.rest_json("eks", Method::DELETE, &format!("/clusters/{name}"), None).await {
        Err(e) if e.code != "ResourceNotFoundException" => Err(e),
        _ => Ok(()),
    }
}

/// The node group `group` of the cluster, if it exists.
pub async fn describe_node_group(aws: &Aws, cluster: &str, group: &str) -> Result<Option<NodeGroup>, AwsError> {
    match aws.rest_json("eks", Method::GET, &format!("/clusters/{cluster}/node-groups/{group}"), None).await {
        Ok(v) => Ok(Some(node_group_of(&v))),
        Err(e) if e.code == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(e),
    }
}

/// The names of the cluster's node groups.
pub async fn list_node_groups(aws: &Aws, cluster: &str) -> Result<Vec<String>, AwsError> {
    match aws.rest_json("eks", Method::GET, &format!("/clusters/{cluster}/node-groups"), None).await {
        Ok(v) => {
            Ok(v["nodegroups"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect())
        }
        Err(e) if e.code == "ResourceNotFoundException" => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Makes (or finds) a managed node group.
pub async fn create_node_group(
    aws: &Aws,
    owner: &Owner,
    cluster: &str,
    spec: &NodeGroupSpec,
) -> Result<NodeGroup, AwsError> {
    if let Some(found) = describe_node_group(aws, cluster, &spec.name).await? {
        return Ok(found);
    }
    let taints: Vec<Value> =
        spec.taints.iter().map(|(key, value, effect)| json!({"key": key, "value": value, "effect": effect})).collect();
    let body = json!({
        "nodegroupName": spec.name,
        "scalingConfig": {"minSize": spec.scaling.0, "maxSize": spec.scaling.1, "desiredSize": spec.scaling.2},
        "subnets": spec.subnets,
        "instanceTypes": spec.instance_types,
        "nodeRole": spec.node_role,
        "capacityType": if spec.spot { "SPOT" } else { "ON_DEMAND" },
        "labels": spec.labels,
        "taints": taints,
        "diskSize": spec.disk_size,
        "tags": tags(owner),
    });
    match aws.rest_json("eks", Method::POST, &format!("/clusters/{cluster}/node-groups"), Some(&body)).await {
        Ok(v) => Ok(node_group_of(&v)),
        Err(e) if e.code == "ResourceInUseException" => describe_node_group(aws, cluster, &spec.name).await?.ok_or(e),
        Err(e) => Err(e),
    }
}

/// Sets a node group's scaling.
pub async fn scale_node_group(aws: &Aws, cluster: &str, group: &str, scaling: (u32, u32, u32)) -> Result<(), AwsError> {
    let body = json!({"scalingConfig": {"minSize": scaling.0, "maxSize": scaling.1, "desiredSize": scaling.2}});
    aws.rest_json("eks", Method::POST, &format!("/clusters/{cluster}/node-groups/{group}/update-config"), Some(&body))
        .await
        .map(|_| ())
}

/// Deletes a node group.
pub async fn delete_node_group(aws: &Aws, cluster: &str, group: &str) -> Result<(), AwsError> {
    match aws.rest_json("eks", Method::DELETE, &format!("/clusters/{cluster}/node-groups/{group}"), None).await {
        Err(e) if e.code != "ResourceNotFoundException" => Err(e),
        _ => Ok(()),
    }
}

/// An update EKS runs (a version upgrade): its id and status (`InProgress`, `Successful`,
/// `Failed`, `Cancelled`), and the errors of a failed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// Its id.
    pub id: String,
    /// Its status.
    pub status: String,
    /// What went wrong, when it failed.
    pub errors: Vec<String>,
}

fn update_of(v: &Value) -> Update {
    let u = &v["update"];
    Update {
        id: u["id"].as_str().unwrap_or_default().to_owned(),
        status: u["status"].as_str().unwrap_or_default().to_owned(),
        errors: u["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| format!("{}: {}", e["errorCode"].as_str().unwrap_or(""), e["errorMessage"].as_str().unwrap_or("")))
            .collect(),
    }
}

/// Starts upgrading the cluster's control plane to `version` (`1.32`).
pub async fn update_cluster_version(aws: &Aws, cluster: &str, version: &str) -> Result<Update, AwsError> {
    let body = json!({"version": version});
    aws.rest_json("eks", Method::POST, &format!("/clusters/{cluster}/updates"), Some(&body))
        .await
        .map(|v| update_of(&v))
}

/// Starts upgrading a node group to `version`.
pub async fn update_node_group_version(
    aws: &Aws,
    cluster: &str,
    group: &str,
    version: &str,
) -> Result<Update, AwsError> {
    let body = json!({"version": version});
    let path = format!("/clusters/{cluster}/node-groups/{group}/update-version");
    aws.rest_json("eks", Method::POST, &path, Some(&body)).await.map(|v| update_of(&v))
}

/// An update of the cluster, or of one of its node groups.
pub async fn describe_update(aws: &Aws, cluster: &str, id: &str, group: Option<&str>) -> Result<Update, AwsError> {
    let mut path = format!("/clusters/{cluster}/updates/{id}");
    if let Some(g) = group {
        path.push_str(&format!("?nodegroupName={g}"));
    }
    aws.rest_json("eks", Method::GET, &path, None).await.map(|v| update_of(&v))
}
