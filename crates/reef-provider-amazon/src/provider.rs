//! The `amazon` provider: EKS clusters made by the steps of [`crate::steps`], deleted by
//! [`ClusterSteps::delete_all`], with a kubeconfig that authenticates with EKS's token.

use std::time::Duration;

use reef_core::KubernetesVersion;
use reef_provider::{Call, Capabilities, Catalog, CatalogOption, Operation, Provider, ProviderError, ProviderFuture};
use serde_json::Value;

use crate::aws::{AccessKey, Aws, Endpoints};
use crate::ec2::Owner;
use crate::eks::EksCluster;
use crate::steps::{CREATE, ClusterSteps, StepFailure, UPDATE, eks_name};

/// The Kubernetes versions EKS offers in standard support, newest last.
const VERSIONS: &[&str] = &["1.31", "1.32", "1.33"];

/// How the provider reaches AWS.
#[derive(Debug, Clone)]
pub struct AmazonOptions {
    /// The endpoints (AWS's own unless pointed elsewhere).
    pub endpoints: Endpoints,
    /// How often wait steps ask AWS.
    pub poll: Duration,
}

impl Default for AmazonOptions {
    fn default() -> Self {
        AmazonOptions { endpoints: Endpoints::default(), poll: Duration::from_secs(15) }
    }
}

/// How long the catalog read from AWS is kept.
const CATALOG_TTL: Duration = Duration::from_secs(3600);

/// The catalogs read from AWS, by access key id and region, and when.
type Catalogs = std::sync::Mutex<std::collections::HashMap<(String, String), (Catalog, std::time::Instant)>>;

/// The `amazon` provider.
#[derive(Debug, Default)]
pub struct AmazonProvider {
    opts: AmazonOptions,
    catalogs: Catalogs,
}

const DELETE: &[&str] = &["delete_everything"];

/// The options an amazon cluster's spec takes.
pub const OPTIONS: &[(&str, &str)] = &[
    ("vpc_id", "an existing VPC to make the cluster in, instead of a new one (with subnet_ids)"),
    ("subnet_ids", "the existing VPC's subnets for the cluster and its nodes, comma-separated, in two zones or more"),
    ("cluster_role_arn", "an existing IAM role for EKS to assume, instead of a new one"),
    ("node_role_arn", "an existing IAM role for the nodes, instead of a new one"),
    ("endpoint_public_access", "whether the API server is reachable from the internet: true (default) or false"),
    ("endpoint_private_access", "whether the API server is reachable from inside the VPC: true (default) or false"),
];

fn step_error(e: StepFailure) -> ProviderError {
    match e {
        StepFailure::Aws(e) => e.into_provider_error(),
        StepFailure::Input(m) => ProviderError::permanent("bad_step_input", m),
    }
}

impl AmazonProvider {
    /// The provider.
    pub fn new(opts: AmazonOptions) -> AmazonProvider {
        AmazonProvider { opts, catalogs: Catalogs::default() }
    }

    /// A client for the call's credentials, in the spec's region (or the secret's
    /// `AWS_DEFAULT_REGION`).
    pub fn client(&self, call: &Call<'_>) -> Result<Aws, ProviderError> {
        let key = AccessKey::from_secret(call.credentials)?;
        let region = if call.spec.region.is_empty() {
            call.credentials.and_then(|c| c.get("AWS_DEFAULT_REGION")).unwrap_or_default().to_owned()
        } else {
            call.spec.region.clone()
        };
        if region.is_empty() {
            return Err(ProviderError::permanent(
                "region_missing",
                "an amazon cluster needs a region: set `region` in its spec, or AWS_DEFAULT_REGION in its secret",
            ));
        }
        Aws::new(key, &region, self.opts.endpoints.clone())
    }

    fn steps_of<'a>(&self, aws: &'a Aws, call: &Call<'a>) -> ClusterSteps<'a> {
        ClusterSteps { aws, owner: Self::owner(call), spec: call.spec, previous: call.previous, poll: self.opts.poll }
    }

    fn owner(call: &Call<'_>) -> Owner {
        Owner { org: call.org.to_string(), cluster: call.cluster.to_string(), name: call.spec.name.to_string() }
    }

    async fn run_step(&self, operation: Operation, step: &str, call: Call<'_>) -> Result<Value, ProviderError> {
        let aws = self.client(&call)?;
        let steps = self.steps_of(&aws, &call);
        match operation {
            Operation::Create => steps.run(step, call.outputs).await.map_err(step_error),
            Operation::Update => steps.run_update(step, call.outputs).await.map_err(step_error),
            Operation::Delete => {
                steps.delete_all().await.map_err(step_error)?;
                Ok(Value::Null)
            }
        }
    }
}

/// How long EKS takes a token after its signing.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// When the EKS token in `kubeconfig` stops working: [`TOKEN_LIFETIME`] after the time its
/// presigned URL was signed (`X-Amz-Date`). `None` when it holds no EKS token.
pub fn token_expires(kubeconfig: &str) -> Option<std::time::SystemTime> {
    use base64::Engine as _;
    let token = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("token: k8s-aws-v1."))?;
    let url = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let url = reqwest::Url::parse(&url).ok()?;
    let date = url.query_pairs().find(|(k, _)| k == "X-Amz-Date")?.1.into_owned();
    // 20261124T171500Z
    let digits: Vec<i64> = [
        &date.get(0..4)?,
        &date.get(4..6)?,
        &date.get(6..8)?,
        &date.get(9..11)?,
        &date.get(11..13)?,
        &date.get(13..15)?,
    ]
    .iter()
    .map(|d| d.parse().ok())
    .collect::<Option<_>>()?;
    let days = days_from_civil(digits[0], digits[1], digits[2]);
    let seconds = days * 86_400 + digits[3] * 3600 + digits[4] * 60 + digits[5];
    let signed = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?);
    Some(signed + TOKEN_LIFETIME)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A kubeconfig for an EKS cluster whose user authenticates with `token`.
pub fn kubeconfig(cluster: &EksCluster, token: &str) -> String {
    let name = &cluster.name;
    let server = cluster.endpoint.as_deref().unwrap_or_default();
    let ca = cluster.certificate_authority.as_deref().unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {ca}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    \
         user: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user:\n    token: {token}\n"
    )
}

impl Provider for AmazonProvider {
    fn name(&self) -> &'static str {
        "amazon"
    }

    fn catalog(&self) -> ProviderFuture<'_, Catalog> {
        Box::pin(async { Ok(static_catalog()) })
    }

    fn live_catalog<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, Catalog> {
        Box::pin(async move {
            let aws = self.client(&call)?;
            let key = (aws.key().id().to_owned(), aws.region().to_owned());
            if let Some((catalog, at)) = self.catalogs.lock().ok().and_then(|m| m.get(&key).cloned())
                && at.elapsed() < CATALOG_TTL
            {
                return Ok(catalog);
            }
            let mut catalog = static_catalog();
            catalog.regions = crate::catalog::regions(&aws).await.map_err(|e| e.into_provider_error())?;
            catalog.instance_types = crate::catalog::instance_types(&aws).await.map_err(|e| e.into_provider_error())?;
            if let Some((versions, default)) =
                crate::catalog::versions(&aws).await.map_err(|e| e.into_provider_error())?
                && !versions.is_empty()
            {
                catalog.default_version = default.or_else(|| versions.last().cloned());
                catalog.kubernetes_versions = versions;
            }
            if let Ok(mut m) = self.catalogs.lock() {
                m.insert(key, (catalog.clone(), std::time::Instant::now()));
            }
            Ok(catalog)
        })
    }

    fn preflight<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let aws = self.client(&call)?;
            crate::preflight::check(&aws, call.spec).await
        })
    }

    fn steps(&self, operation: Operation) -> &'static [&'static str] {
        match operation {
            Operation::Create => CREATE,
            Operation::Update => UPDATE,
            Operation::Delete => DELETE,
        }
    }

    fn run<'a>(&'a self, operation: Operation, step: &'a str, call: Call<'a>) -> ProviderFuture<'a, Value> {
        Box::pin(self.run_step(operation, step, call))
    }

    fn undo<'a>(
        &'a self,
        operation: Operation,
        step: &'a str,
        call: Call<'a>,
        output: Value,
    ) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let aws = self.client(&call)?;
            let steps = self.steps_of(&aws, &call);
            match operation {
                Operation::Create => steps.undo(step, &output, call.outputs).await.map_err(step_error),
                Operation::Update => steps.undo_update(step, &output).await.map_err(step_error),
                Operation::Delete => Ok(()),
            }
        })
    }

    fn kubeconfig_expires(&self, kubeconfig: &str) -> Option<std::time::SystemTime> {
        token_expires(kubeconfig)
    }

    fn kubeconfig<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            let aws = self.client(&call)?;
            let name = eks_name(&Self::owner(&call));
            let cluster = crate::eks::describe_cluster(&aws, &name)
                .await
                .map_err(|e| e.into_provider_error())?
                .ok_or_else(|| ProviderError::permanent("cluster_missing", format!("EKS has no cluster {name}")))?;
            let token = aws.eks_token(&name).map_err(|e| e.into_provider_error())?;
            Ok(kubeconfig(&cluster, &token))
        })
    }
}

/// What the provider offers before it has asked AWS: any region and instance type, the
/// versions reef knows, its capabilities and options.
fn static_catalog() -> Catalog {
    let versions: Vec<KubernetesVersion> = VERSIONS.iter().filter_map(|v| KubernetesVersion::parse(v).ok()).collect();
    Catalog {
        provider: "amazon".to_owned(),
        // Any region and instance type: a create or update asks AWS (the live catalog), and
        // the preflight asks about the ones a spec names.
        regions: Vec::new(),
        instance_types: Vec::new(),
        default_version: versions.last().cloned(),
        kubernetes_versions: versions,
        capabilities: Capabilities {
            create: true,
            scale_node_pool: true,
            add_remove_node_pool: true,
            upgrade_version: true,
            spot: true,
            autoscaling: false,
        },
        options: OPTIONS
            .iter()
            .map(|(name, description)| CatalogOption {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_expiry_is_fifteen_minutes_after_its_signing() {
        use base64::Engine as _;
        let url = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Date=20261124T171500Z&X-Amz-Expires=60";
        let token = format!("k8s-aws-v1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url));
        let cluster = EksCluster {
            name: "c".into(),
            status: "ACTIVE".into(),
            endpoint: None,
            certificate_authority: None,
            version: None,
        };
        let expires = token_expires(&kubeconfig(&cluster, &token)).unwrap();
        // 2026-11-24T17:30:00Z
        assert_eq!(expires.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), 1_795_541_400);
        assert_eq!(token_expires("users:\n- name: x\n  user:\n    token: abc\n"), None);
    }
}
