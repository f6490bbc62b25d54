//! STS: who the credentials belong to (`GetCallerIdentity`), which is how an `amazon` secret
//! is validated: it needs no permission, so it fails only for credentials that do not work.

use crate::aws::{Aws, AwsError, xml_text};

const VERSION: &str = "2011-06-15";

/// The account and principal credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account id.
    pub account: String,
    /// The principal's ARN.
    pub arn: String,
    /// The principal's unique id.
    pub user_id: String,
}

/// Asks STS who the credentials belong to.
pub async fn caller_identity(aws: &Aws) -> Result<CallerIdentity, AwsError> {
    let xml = aws.query("sts", VERSION, "GetCallerIdentity", &[]).await?;
    let field = |name: &str| xml_text(&xml, name).unwrap_or_default();
    Ok(CallerIdentity { account: field("Account"), arn: field("Arn"), user_id: field("UserId") })
}
