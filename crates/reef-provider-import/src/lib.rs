//! The `import` provider: a cluster that exists already, reached with the kubeconfig in the
//! cluster's secret (a `kubeconfig` secret, field `K8Sconfig`). Creating it checks that its API
//! server answers with those credentials (`/version` and the nodes); deleting it only
//! forgets it: reef never changes an imported cluster's infrastructure.

use std::time::Duration;

use reef_core::KubernetesVersion;
use reef_kube::{ClusterClient, KubeError};
use reef_provider::{Call, Capabilities, Catalog, Credentials, Operation, Provider, ProviderError, ProviderFuture};
use serde_json::{Value, json};

/// The secret field that holds the kubeconfig.
pub const KUBECONFIG_FIELD: &str = "K8Sconfig";

/// What an imported cluster's API server says about it: its version and nodes.
pub type Facts = reef_kube::Health;

/// How the import provider behaves.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// How long a call to the cluster may take before it counts as not answering.
    pub timeout: Duration,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions { timeout: Duration::from_secs(15) }
    }
}

/// The import provider.
#[derive(Debug, Clone, Default)]
pub struct ImportProvider {
    opts: ImportOptions,
}

const CREATE: &[&str] = &["check_api_server"];
const NO_STEPS: &[&str] = &[];

fn kubeconfig_of(credentials: Option<&Credentials>) -> Result<&str, ProviderError> {
    let credentials = credentials.ok_or_else(|| {
        ProviderError::permanent(
            "kubeconfig_missing",
            "an imported cluster needs a kubeconfig secret (`secret` in its spec)",
        )
    })?;
    credentials.get(KUBECONFIG_FIELD).ok_or_else(|| {
        ProviderError::permanent(
            "kubeconfig_missing",
            format!("the cluster's secret has no {KUBECONFIG_FIELD} field; use a secret of type kubeconfig"),
        )
    })
}

fn provider_error(e: KubeError) -> ProviderError {
    let message = match e.code {
        "credentials_refused" | "forbidden" => format!("{}; update the cluster's kubeconfig secret", e.message),
        _ => e.message,
    };
    if e.transient { ProviderError::transient(e.code, message) } else { ProviderError::permanent(e.code, message) }
}

impl ImportProvider {
    /// The import provider.
    pub fn new(opts: ImportOptions) -> ImportProvider {
        ImportProvider { opts }
    }

    /// Asks the cluster `kubeconfig` reaches for its version and nodes.
    pub async fn check(&self, kubeconfig: &str) -> Result<Facts, ProviderError> {
        let client = ClusterClient::connect(kubeconfig, self.opts.timeout).await.map_err(provider_error)?;
        client.health().await.map_err(provider_error)
    }
}

/// The version in a `gitVersion`, without what distributions add (`v1.29.6-eks-a5ec690`,
/// `v1.30.2+k3s1` are 1.29.6 and 1.30.2).
fn version_of(git_version: &str) -> Result<KubernetesVersion, reef_core::cluster::InvalidVersion> {
    let plain = git_version.split(['-', '+']).next().unwrap_or(git_version);
    KubernetesVersion::parse(plain)
}

impl Provider for ImportProvider {
    fn name(&self) -> &'static str {
        "import"
    }

    fn catalog(&self) -> ProviderFuture<'_, Catalog> {
        Box::pin(async {
            Ok(Catalog {
                provider: "import".to_owned(),
                regions: Vec::new(),
                instance_types: Vec::new(),
                kubernetes_versions: Vec::new(),
                default_version: None,
                capabilities: Capabilities::default(),
                options: Vec::new(),
            })
        })
    }

    fn preflight<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, ()> {
        Box::pin(async move { kubeconfig_of(call.credentials).map(|_| ()) })
    }

    fn steps(&self, operation: Operation) -> &'static [&'static str] {
        match operation {
            Operation::Create => CREATE,
            // reef changes nothing in an imported cluster (its labels are reef's alone).
            Operation::Update | Operation::Delete => NO_STEPS,
        }
    }

    fn run<'a>(&'a self, operation: Operation, step: &'a str, call: Call<'a>) -> ProviderFuture<'a, Value> {
        Box::pin(async move {
            match (operation, step) {
                (Operation::Create, "check_api_server") => {
                    let facts = self.check(kubeconfig_of(call.credentials)?).await?;
                    let version = version_of(&facts.version).map_err(|_| {
                        ProviderError::permanent(
                            "version_unreadable",
                            format!(
                                "the API server reports version {:?}, which is not MAJOR.MINOR.PATCH",
                                facts.version
                            ),
                        )
                    })?;
                    Ok(json!({
                        "version": facts.version,
                        "kubernetes_version": version.to_string(),
                        "nodes": facts.nodes,
                        "ready_nodes": facts.ready_nodes,
                    }))
                }
                _ => {
                    Err(ProviderError::permanent("unknown_step", format!("import has no {operation:?} step {step:?}")))
                }
            }
        })
    }

    fn kubeconfig<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, String> {
        Box::pin(async move { kubeconfig_of(call.credentials).map(str::to_owned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_from_what_distributions_report() {
        for (git, version) in [
            ("v1.35.0", "1.35.0"),
            ("v1.29.6-eks-a5ec690", "1.29.6"),
            ("v1.30.2+k3s1", "1.30.2"),
            ("v1.31.1-gke.1146000", "1.31.1"),
        ] {
            assert_eq!(version_of(git).unwrap().to_string(), version, "{git}");
        }
        assert!(version_of("unknown").is_err());
    }
}
