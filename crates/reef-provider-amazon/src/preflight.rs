//! Before a create makes anything: the credentials work (STS), the region exists for the
//! account, every node pool's instance type is offered in it, and, where the account lets
//! reef ask, IAM's policy simulator says the credentials may do what the create does.

use reef_core::ClusterSpec;
use reef_provider::ProviderError;

use crate::aws::{Aws, AwsError};
use crate::catalog::HOME_REGION;
use crate::ec2::{self, Params};
use crate::sts;

/// What a create does, as IAM actions.
pub const CREATE_ACTIONS: &[&str] = &[
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateInternetGateway",
    "ec2:AllocateAddress",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateTags",
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "iam:PassRole",
    "eks:CreateCluster",
    "eks:CreateNodegroup",
];

/// Runs the checks; the first that fails ends the create before it starts.
pub async fn check(aws: &Aws, spec: &ClusterSpec) -> Result<(), ProviderError> {
    // The region first, asked of a region that exists: a call to one that does not would only
    // fail to connect.
    let home = aws.in_region(HOME_REGION);
    // STS says precisely what is wrong with credentials (an unknown key, a wrong secret).
    let identity = sts::caller_identity(&home).await.map_err(AwsError::into_provider_error)?;
    let regions: Vec<String> = crate::catalog::regions(aws)
        .await
        .map_err(AwsError::into_provider_error)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    if !regions.iter().any(|r| r == aws.region()) {
        return Err(ProviderError::permanent(
            "region_unknown",
            format!(
                "the region {} does not exist or is not enabled for this account; its regions are: {}",
                aws.region(),
                regions.join(", ")
            ),
        ));
    }

    let mut wanted: Vec<&str> = spec.node_pools.iter().map(|p| p.instance_type.as_str()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    if !wanted.is_empty() {
        let params = Params::default().with("LocationType", "region").filter(1, "instance-type", &wanted);
        let xml =
            ec2::call(aws, "DescribeInstanceTypeOfferings", params).await.map_err(AwsError::into_provider_error)?;
        let offered: Vec<String> = ec2::items(&xml, "instanceTypeOfferingSet")
            .iter()
            .filter_map(|o| o.get("instanceType").map(str::to_owned))
            .collect();
        let missing: Vec<&str> = wanted.iter().copied().filter(|t| !offered.iter().any(|o| o == t)).collect();
        if !missing.is_empty() {
            return Err(ProviderError::permanent(
                "instance_type_unknown",
                format!(
                    "the instance types {} are not offered in {}: choose others for those node pools",
                    missing.join(", "),
                    aws.region()
                ),
            ));
        }
    }

    eks_offered(aws).await?;
    check_options(aws, spec).await?;
    simulate(aws, &identity.arn).await
}

/// Whether EKS is offered in the client's region, as AWS's public SSM parameters
/// (`/aws/service/global-infrastructure/services/eks/regions/<region>`) say.
async fn eks_offered(aws: &Aws) -> Result<(), ProviderError> {
    let name = format!("/aws/service/global-infrastructure/services/eks/regions/{}", aws.region());
    let answer =
        aws.in_region(HOME_REGION).json_rpc("ssm", "AmazonSSM.GetParameter", &serde_json::json!({"Name": name})).await;
    eks_answer(aws.region(), answer)
}

fn eks_answer(region: &str, answer: Result<serde_json::Value, AwsError>) -> Result<(), ProviderError> {
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.code == "ParameterNotFound" => Err(ProviderError::permanent(
            "eks_not_offered",
            format!("Amazon EKS is not offered in the region {region}: choose a region that has it"),
        )),
        // The account may not read the public parameters: the create finds out itself.
        Err(e) if e.code == "AccessDeniedException" => Ok(()),
        Err(e) => Err(e.into_provider_error()),
    }
}

fn invalid(key: &str, message: String) -> ProviderError {
    ProviderError::permanent("option_invalid", format!("options.{key}: {message}"))
}

/// The spec's options: an existing VPC with at least two of its subnets in two zones, role
/// ARNs that exist, true/false flags.
async fn check_options(aws: &Aws, spec: &ClusterSpec) -> Result<(), ProviderError> {
    let option = |key: &str| spec.options.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    for key in ["endpoint_public_access", "endpoint_private_access"] {
        if let Some(v) = option(key)
            && !matches!(v, "true" | "false")
        {
            return Err(invalid(key, format!("{v:?} is not true or false")));
        }
    }
    if option("endpoint_public_access") == Some("false") && option("endpoint_private_access") == Some("false") {
        return Err(invalid("endpoint_private_access", "the API server must be reachable from somewhere".to_owned()));
    }
    match (option("vpc_id"), option("subnet_ids")) {
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid("vpc_id", "an existing VPC takes both vpc_id and subnet_ids".to_owned()));
        }
        (Some(vpc), Some(ids)) => {
            let ids = crate::steps::split_ids(ids);
            let mut params = Params::default();
            for (i, id) in ids.iter().enumerate() {
                params = params.with(format!("SubnetId.{}", i + 1), id);
            }
            let xml = match ec2::call(aws, "DescribeSubnets", params).await {
                Ok(xml) => xml,
                Err(e) if ec2::is_gone(&e) => {
                    return Err(invalid("subnet_ids", format!("a subnet does not exist: {}", e.message)));
                }
                Err(e) => return Err(e.into_provider_error()),
            };
            let found = ec2::items(&xml, "subnetSet");
            let mut zones: Vec<&str> = found.iter().filter_map(|s| s.get("availabilityZone")).collect();
            zones.sort_unstable();
            zones.dedup();
            if found.len() < ids.len() || found.iter().any(|s| s.get("vpcId") != Some(vpc)) {
                return Err(invalid("subnet_ids", format!("every subnet must exist and be in {vpc}")));
            }
            if zones.len() < 2 {
                return Err(invalid("subnet_ids", "EKS needs subnets in at least two availability zones".to_owned()));
            }
        }
    }
    for key in ["cluster_role_arn", "node_role_arn"] {
        if let Some(arn) = option(key) {
            let name = arn.rsplit('/').next().unwrap_or_default();
            if !arn.starts_with("arn:aws") || !arn.contains(":role/") {
                return Err(invalid(key, format!("{arn:?} is not an IAM role ARN")));
            }
            if !crate::iam::role_exists(aws, name).await.map_err(AwsError::into_provider_error)? {
                return Err(invalid(key, format!("the role {name} does not exist in this account")));
            }
        }
    }
    Ok(())
}

/// The text of `node`'s child `name`.
fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text())
}

/// Asks IAM's policy simulator whether `principal` may do [`CREATE_ACTIONS`]. An account (or a
/// stand-in) that does not let reef ask is not an error: the steps then meet any missing
/// permission themselves, and unwind.
async fn simulate(aws: &Aws, principal: &str) -> Result<(), ProviderError> {
    // Assumed-role sessions cannot be simulated; their role can, but the ARN differs: skip.
    if principal.contains(":assumed-role/") {
        return Ok(());
    }
    let mut params = vec![("PolicySourceArn".to_owned(), principal.to_owned())];
    for (i, action) in CREATE_ACTIONS.iter().enumerate() {
        params.push((format!("ActionNames.member.{}", i + 1), (*action).to_owned()));
    }
    let xml = match aws.query_once("iam", "2010-05-08", "SimulatePrincipalPolicy", &params).await {
        Ok(xml) => xml,
        Err(e) => {
            tracing::info!(code = %e.code, "IAM policy simulation is not available; permissions are checked by the steps");
            return Ok(());
        }
    };
    let Ok(doc) = roxmltree::Document::parse(&xml) else { return Ok(()) };
    let denied: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("member") && child_text(*n, "EvalActionName").is_some())
        .filter(|n| child_text(*n, "EvalDecision") != Some("allowed"))
        .filter_map(|n| child_text(n, "EvalActionName").map(str::to_owned))
        .collect();
    if denied.is_empty() {
        Ok(())
    } else {
        Err(ProviderError::permanent(
            "permission_missing",
            format!(
                "{principal} may not do {}: grant these actions to it before creating a cluster",
                denied.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_without_eks_is_named_as_such() {
        let missing = AwsError {
            service: "ssm",
            action: "AmazonSSM.GetParameter".into(),
            status: 400,
            code: "ParameterNotFound".into(),
            message: String::new(),
        };
        let e = eks_answer("ap-nowhere-9", Err(missing)).unwrap_err();
        assert_eq!((e.code.as_str(), e.retry), ("eks_not_offered", reef_provider::Retry::Permanent));
        assert!(e.message.contains("ap-nowhere-9"), "{}", e.message);
        assert!(eks_answer("eu-west-1", Ok(serde_json::json!({"Parameter": {"Value": "eu-west-1"}}))).is_ok());
    }
}
