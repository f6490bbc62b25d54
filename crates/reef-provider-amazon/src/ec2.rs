//! EC2, through its Query API: the few calls a cluster's network needs, signed by hand rather
//! than through `aws-sdk-ec2` (minutes of build time and gigabytes of memory for a handful of
//! calls). Everything reef makes carries the tags [`TAG_CLUSTER`], [`TAG_ORG`] and [`TAG_PART`],
//! so that a step run again finds what it made the first time, and a delete removes exactly what
//! reef made.

use crate::aws::{Aws, AwsError};

const VERSION: &str = "2016-11-15";

/// The tag naming the reef cluster (its id) a resource belongs to.
pub const TAG_CLUSTER: &str = "reef.dev/cluster";
/// The tag naming the reef organization (its id).
pub const TAG_ORG: &str = "reef.dev/org";
/// The tag naming which part of the cluster's network a resource is (`vpc`, `public-a`, ...).
pub const TAG_PART: &str = "reef.dev/part";

/// The tags of everything made for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The organization's id.
    pub org: String,
    /// The cluster's id.
    pub cluster: String,
    /// The cluster's name, for the `Name` tag people see in the console.
    pub name: String,
}

/// Query parameters, built up.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// A parameter.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.push((key.into(), value.into()));
        self
    }

    /// Filter number `n` (from 1): `name` is one of `values`.
    #[must_use]
    pub fn filter(mut self, n: usize, name: &str, values: &[&str]) -> Self {
        self.0.push((format!("Filter.{n}.Name"), name.to_owned()));
        for (i, v) in values.iter().enumerate() {
            self.0.push((format!("Filter.{n}.Value.{}", i + 1), (*v).to_owned()));
        }
        self
    }

    /// The tags of `owner`'s `part`, on a resource of `resource_type` being created.
    #[must_use]
    pub fn tags(mut self, resource_type: &str, owner: &Owner, part: &str) -> Self {
        self.0.push(("TagSpecification.1.ResourceType".to_owned(), resource_type.to_owned()));
        let tags = [
            (TAG_CLUSTER, owner.cluster.clone()),
            (TAG_ORG, owner.org.clone()),
            (TAG_PART, part.to_owned()),
            ("Name", format!("reef-{}-{part}", owner.name)),
        ];
        for (i, (k, v)) in tags.iter().enumerate() {
            self.0.push((format!("TagSpecification.1.Tag.{}.Key", i + 1), (*k).to_owned()));
            self.0.push((format!("TagSpecification.1.Tag.{}.Value", i + 1), v.clone()));
        }
        self
    }
}

/// Calls an EC2 action.
pub async fn call(aws: &Aws, action: &str, params: Params) -> Result<String, AwsError> {
    aws.query("ec2", VERSION, action, &params.0).await
}

/// One `<item>` of an EC2 answer's list, as the texts of its direct children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item(Vec<(String, String)>);

impl Item {
    /// The text of the child `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The items of the list `set` (`vpcSet`, `subnetSet`, ...) at the top of an EC2 answer.
pub fn items(xml: &str, set: &str) -> Vec<Item> {
    let Ok(doc) = roxmltree::Document::parse(xml) else { return Vec::new() };
    let Some(list) = doc.root_element().children().find(|n| n.has_tag_name(set)) else { return Vec::new() };
    list.children()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            Item(
                item.children()
                    .filter(|c| c.is_element())
                    .map(|c| (c.tag_name().name().to_owned(), c.text().unwrap_or("").trim().to_owned()))
                    .collect(),
            )
        })
        .collect()
}

/// What reef makes in EC2, by kind: (resource type, describe action, list, id field).
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("vpc", "DescribeVpcs", "vpcSet", "vpcId"),
    ("subnet", "DescribeSubnets", "subnetSet", "subnetId"),
    ("internet-gateway", "DescribeInternetGateways", "internetGatewaySet", "internetGatewayId"),
    ("natgateway", "DescribeNatGateways", "natGatewaySet", "natGatewayId"),
    ("elastic-ip", "DescribeAddresses", "addressesSet", "allocationId"),
    ("route-table", "DescribeRouteTables", "routeTableSet", "routeTableId"),
];

/// Every EC2 resource that exists and is tagged as `cluster`'s: (resource type, id), sorted.
/// Asked of each kind's own Describe call (not DescribeTags, which may still list the tags of
/// what was deleted).
pub async fn tagged(aws: &Aws, cluster: &str) -> Result<Vec<(String, String)>, AwsError> {
    let mut found = Vec::new();
    for (kind, describe, set, id_field) in KINDS {
        let xml = call(aws, describe, Params::default().filter(1, &format!("tag:{TAG_CLUSTER}"), &[cluster])).await?;
        for item in items(&xml, set) {
            if matches!(item.get("state"), Some("deleted" | "failed")) {
                continue;
            }
            if let Some(id) = item.get(id_field) {
                found.push(((*kind).to_owned(), id.to_owned()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The ids of `owner`'s resources of `describe`'s kind tagged `part`, in a state other than
/// gone.
pub async fn find(
    aws: &Aws,
    describe: &str,
    set: &str,
    id_field: &str,
    cluster: &str,
    part: &str,
) -> Result<Vec<Item>, AwsError> {
    let params = Params::default().filter(1, &format!("tag:{TAG_CLUSTER}"), &[cluster]).filter(
        2,
        &format!("tag:{TAG_PART}"),
        &[part],
    );
    let xml = call(aws, describe, params).await?;
    Ok(items(&xml, set)
        .into_iter()
        .filter(|i| i.get(id_field).is_some())
        .filter(|i| !matches!(i.get("state"), Some("deleted" | "deleting" | "failed")))
        .collect())
}

/// Whether an error says the thing is already gone (so a delete has nothing to do).
pub fn is_gone(e: &AwsError) -> bool {
    e.code.ends_with(".NotFound") || e.code.ends_with("NotFound") || e.code == "InvalidAllocationID.NotFound"
}
