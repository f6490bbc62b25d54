//! What AWS offers an account, as its APIs list it: the regions (EC2 `DescribeRegions`), the
//! instance types of a region with their vCPUs and memory (EC2 `DescribeInstanceTypes`, every
//! page), and the Kubernetes versions EKS supports (`DescribeClusterVersions`; the versions
//! reef knows when EKS does not answer it).

use reef_core::KubernetesVersion;
use reef_provider::{InstanceType, Region};

use crate::aws::{Aws, AwsError};
use crate::ec2::{self, Params};

/// The region asked which regions there are: every account has it.
pub const HOME_REGION: &str = "us-east-1";

/// The account's regions.
pub async fn regions(aws: &Aws) -> Result<Vec<Region>, AwsError> {
    let xml = ec2::call(&aws.in_region(HOME_REGION), "DescribeRegions", Params::default()).await?;
    let mut out: Vec<Region> = ec2::items(&xml, "regionInfo")
        .iter()
        .filter_map(|r| {
            Some(Region {
                name: r.get("regionName")?.to_owned(),
                description: r.get("regionEndpoint").unwrap_or("").to_owned(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The instance types of the client's region, with their vCPUs and memory.
pub async fn instance_types(aws: &Aws) -> Result<Vec<InstanceType>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = Params::default().with("MaxResults", "100");
        if let Some(t) = &token {
            params = params.with("NextToken", t);
        }
        let xml = ec2::call(aws, "DescribeInstanceTypes", params).await?;
        let Ok(doc) = roxmltree::Document::parse(&xml) else { break };
        let Some(set) = doc.root_element().children().find(|n| n.has_tag_name("instanceTypeSet")) else { break };
        for item in set.children().filter(|n| n.has_tag_name("item")) {
            let find = |path: &[&str]| {
                let mut node = item;
                for name in path {
                    node = node.children().find(|c| c.has_tag_name(*name))?;
                }
                node.text().map(str::trim).map(str::to_owned)
            };
            let (Some(name), Some(vcpus), Some(memory)) =
                (find(&["instanceType"]), find(&["vCpuInfo", "defaultVCpus"]), find(&["memoryInfo", "sizeInMiB"]))
            else {
                continue;
            };
            let (Ok(vcpus), Ok(memory_mib)) = (vcpus.parse(), memory.parse()) else { continue };
            out.push(InstanceType { name, vcpus, memory_mib, regions: vec![aws.region().to_owned()] });
        }
        token = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("nextToken"))
            .and_then(|n| n.text())
            .map(str::to_owned)
            .filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The Kubernetes versions EKS supports, oldest first, and its default; `None` when EKS does
/// not answer `DescribeClusterVersions` (an older endpoint or a stand-in).
pub async fn versions(aws: &Aws) -> Result<Option<(Vec<KubernetesVersion>, Option<KubernetesVersion>)>, AwsError> {
    let answer = match aws.rest_json_once("eks", reqwest::Method::GET, "/cluster-versions", None).await {
        Ok(v) => v,
        Err(e) if e.status == 404 || e.status == 501 || e.code == "unknown_error" => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut versions = Vec::new();
    let mut default = None;
    for v in answer["clusterVersions"].as_array().into_iter().flatten() {
        if v["versionStatus"] == "UNSUPPORTED" || v["status"] == "unsupported" {
            continue;
        }
        let Some(Ok(version)) = v["clusterVersion"].as_str().map(KubernetesVersion::parse) else { continue };
        if v["defaultVersion"].as_bool() == Some(true) {
            default = Some(version.clone());
        }
        versions.push(version);
    }
    versions.sort();
    Ok(Some((versions, default)))
}
