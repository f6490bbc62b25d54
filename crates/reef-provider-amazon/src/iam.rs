//! IAM: the roles a cluster needs, the cluster's (which EKS assumes) and the nodes' (which
//! EC2 instances assume), with AWS's managed policies attached. A role is named after the
//! cluster's id and tagged as the cluster's; a role of that name that is not tagged so is
//! refused rather than taken over.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError, xml_text};
use crate::ec2::{Owner, TAG_CLUSTER, TAG_ORG};

const VERSION: &str = "2010-05-08";

/// The policies of EKS's cluster role.
pub const CLUSTER_POLICIES: &[&str] = &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];
/// The policies of EKS's node role.
pub const NODE_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

/// A role reef made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}

fn trust(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })
    .to_string()
}

async fn call(aws: &Aws, action: &str, params: &[(&str, &str)]) -> Result<String, AwsError> {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    aws.query("iam", VERSION, action, &params).await
}

/// Makes (or finds) the role `name` that `service` (`eks.amazonaws.com`) may assume, with
/// `policies` attached.
pub async fn create_role(
    aws: &Aws,
    owner: &Owner,
    name: &str,
    service: &str,
    policies: &[&str],
) -> Result<Role, AwsError> {
    let arn = match call(aws, "GetRole", &[("RoleName", name)]).await {
        Ok(xml) => {
            let tagged = call(aws, "ListRoleTags", &[("RoleName", name)]).await?;
            if !tagged.contains(&format!("<Value>{}</Value>", owner.cluster)) {
                return Err(AwsError {
                    service: "iam",
                    action: "CreateRole".to_owned(),
                    status: 409,
                    code: "EntityAlreadyExists".to_owned(),
                    message: format!("a role named {name} exists and is not this cluster's"),
                });
            }
            xml_text(&xml, "Arn").unwrap_or_default()
        }
        Err(e) if e.code == "NoSuchEntity" => {
            let document = trust(service);
            let xml = call(
                aws,
                "CreateRole",
                &[
                    ("RoleName", name),
                    ("AssumeRolePolicyDocument", &document),
                    ("Description", &format!("reef cluster {}", owner.name)),
                    ("Tags.member.1.Key", TAG_CLUSTER),
                    ("Tags.member.1.Value", &owner.cluster),
                    ("Tags.member.2.Key", TAG_ORG),
                    ("Tags.member.2.Value", &owner.org),
                ],
            )
            .await?;
            xml_text(&xml, "Arn").unwrap_or_default()
        }
        Err(e) => return Err(e),
    };
    for policy in policies {
        call(aws, "AttachRolePolicy", &[("RoleName", name), ("PolicyArn", policy)]).await?;
    }
    Ok(Role { name: name.to_owned(), arn })
}

/// Detaches the role's policies and deletes it.
pub async fn delete_role(aws: &Aws, role: &Role) -> Result<(), AwsError> {
    let attached = match call(aws, "ListAttachedRolePolicies", &[("RoleName", &role.name)]).await {
        Ok(xml) => xml,
        Err(e) if e.code == "NoSuchEntity" => return Ok(()),
        Err(e) => return Err(e),
    };
    let doc = roxmltree::Document::parse(&attached).ok();
    let arns: Vec<String> = doc
        .iter()
        .flat_map(|d| {
            d.descendants().filter(|n| n.has_tag_name("PolicyArn")).filter_map(|n| n.text()).map(str::to_owned)
        })
        .collect();
    for arn in arns {
        match call(aws, "DetachRolePolicy", &[("RoleName", &role.name), ("PolicyArn", &arn)]).await {
            Err(e) if e.code != "NoSuchEntity" => return Err(e),
            _ => {}
        }
    }
    match call(aws, "DeleteRole", &[("RoleName", &role.name)]).await {
        Err(e) if e.code != "NoSuchEntity" => Err(e),
        _ => Ok(()),
    }
}

/// Whether the role exists.
pub async fn role_exists(aws: &Aws, name: &str) -> Result<bool, AwsError> {
    match call(aws, "GetRole", &[("RoleName", name)]).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == "NoSuchEntity" => Ok(false),
        Err(e) => Err(e),
    }
}

/// The ARN of the role `name`.
pub async fn role_arn(aws: &Aws, name: &str) -> Result<String, AwsError> {
    let xml = call(aws, "GetRole", &[("RoleName", name)]).await?;
    Ok(xml_text(&xml, "Arn").unwrap_or_default())
}
