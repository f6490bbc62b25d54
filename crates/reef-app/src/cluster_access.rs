//! What reef reads from and writes into a cluster through its kubeconfig: its nodes and
//! namespaces, an organization's secret installed as a Kubernetes Secret, and the periodic
//! health check that moves a cluster between `running` and `warning`.
//!
//! Every call opens the cluster's sealed kubeconfig, so it works the same for every provider;
//! a cluster that has none yet (still being created, or deleted) answers a conflict.

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::{Actor, Cluster, ClusterStatus, Operation, OrgId, OrgRef, SecretName};
use reef_kube::{ClusterClient, KubeError, NamespaceInfo, NodeInfo, SecretObject};
use reef_store::secrets::SecretRef;

use crate::cluster_workflows::ClientError;
use crate::clusters::ClusterRef;
use crate::{App, AppError};

/// How long one call to a cluster may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// How many clusters one round of health checks takes on at most, and checks at once.
const HEALTH_BATCH: u32 = 64;

/// A request to put an organization's secret into a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInstall {
    /// The organization's secret.
    pub secret: SecretName,
    /// The namespace it goes to (made when missing).
    pub namespace: String,
    /// The Kubernetes Secret's name; the secret's own name when `None`.
    pub name: Option<String>,
}

/// What installing a secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledSecret {
    /// The namespace.
    pub namespace: String,
    /// The Kubernetes Secret's name.
    pub name: String,
    /// Its keys: the secret's field names.
    pub keys: Vec<String>,
    /// The version of the organization's secret it holds.
    pub version: u32,
    /// Whether the Kubernetes Secret was made (rather than brought up to date).
    pub created: bool,
    /// Whether its namespace was made too.
    pub namespace_created: bool,
}

impl From<KubeError> for AppError {
    fn from(e: KubeError) -> Self {
        AppError::Cluster { code: e.code, message: e.message }
    }
}

/// Whether `s` is a Kubernetes DNS-1123 label (a namespace's name) or, with `subdomain`, a
/// DNS-1123 subdomain (a Secret's name).
pub(crate) fn dns_name(s: &str, subdomain: bool) -> bool {
    let max = if subdomain { 253 } else { 63 };
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    s.len() <= max && if subdomain { s.split('.').all(part) } else { part(s) }
}

/// Whether `key` may be a key of a Secret's data.
fn secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && key != "."
        && key != ".."
}

impl App {
    /// A client of `cluster`, through its kubeconfig.
    pub(crate) async fn cluster_client(&self, org: OrgId, cluster: &Cluster) -> Result<ClusterClient, AppError> {
        match self.cluster_env.client(org, cluster.id, CALL_TIMEOUT).await {
            Ok(Some(client)) => Ok(client),
            Ok(None) => Err(AppError::conflict(
                "no_kubeconfig",
                format!("the cluster cannot be reached yet: it is {}", cluster.status),
            )),
            Err(ClientError::Store(e)) => Err(e.into()),
            Err(ClientError::Kube(e)) => Err(e.into()),
        }
    }

    /// A cluster's nodes, read from its API server.
    pub async fn cluster_nodes(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<Vec<NodeInfo>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(org.id, cluster).await?;
        Ok(self.cluster_client(org.id, &c).await?.nodes().await?)
    }

    /// A cluster's namespaces, read from its API server.
    pub async fn cluster_namespaces(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
    ) -> Result<Vec<NamespaceInfo>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(org.id, cluster).await?;
        Ok(self.cluster_client(org.id, &c).await?.namespaces().await?)
    }

    /// Puts the current version of an organization's secret into a cluster as a Kubernetes
    /// Secret (type `Opaque`, one key per field), by server-side apply: installing it again
    /// brings it up to date, keys removed from the secret included.
    ///
    /// Whoever can read the cluster's Secrets then reads the values, so this takes a role that
    /// may read secret values (admin) as well as change clusters.
    pub async fn install_secret(
        &self,
        actor: &Actor,
        org: &OrgRef,
        cluster: &ClusterRef,
        install: SecretInstall,
    ) -> Result<InstalledSecret, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let c = self.find_cluster(found.id, cluster).await?;
        let target = format!("{}/{}", c.id, install.secret);
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            self.authorize(actor, org, Operation::ReadSecretValues).await?;
            let name = install.name.clone().unwrap_or_else(|| install.secret.as_str().to_owned());
            let mut problems = Vec::new();
            if !dns_name(&install.namespace, false) {
                problems.push(("namespace", "must be a DNS label: lower-case letters, digits and '-', at most 63"));
            }
            if !dns_name(&name, true) {
                problems
                    .push(("name", "must be a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253"));
            }
            if !problems.is_empty() {
                return Err(AppError::Invalid {
                    code: "invalid_secret_install",
                    message: "the Kubernetes Secret cannot have that namespace or name".to_owned(),
                    problems: problems
                        .into_iter()
                        .map(|(f, r)| reef_core::secret_type::FieldProblem {
                            field: f.to_owned(),
                            reason: r.to_owned(),
                        })
                        .collect(),
                });
            }
            if !matches!(c.status, ClusterStatus::Running | ClusterStatus::Warning | ClusterStatus::Updating) {
                return Err(AppError::conflict(
                    "cluster_not_ready",
                    format!("the cluster is {}; secrets go into running clusters", c.status),
                ));
            }
            let meta = self.find_secret(found.id, &SecretRef::Name(install.secret.clone())).await?;
            let values = self.secret_values(&meta, meta.version).await?;
            let bad: Vec<&String> = values.expose().keys().filter(|k| !secret_key(k)).collect();
            if !bad.is_empty() {
                return Err(AppError::invalid(
                    "invalid_secret_install",
                    format!("these fields cannot be keys of a Kubernetes Secret: {bad:?}"),
                ));
            }
            let object = SecretObject {
                namespace: install.namespace.clone(),
                name: name.clone(),
                data: values.expose().iter().map(|(k, v)| (k.clone(), v.as_bytes().to_vec())).collect(),
                labels: BTreeMap::from([
                    ("app.kubernetes.io/managed-by".to_owned(), "reef".to_owned()),
                    ("reef.dev/secret".to_owned(), install.secret.as_str().to_owned()),
                ]),
                annotations: BTreeMap::from([
                    ("reef.dev/secret-id".to_owned(), meta.id.to_string()),
                    ("reef.dev/secret-version".to_owned(), meta.version.to_string()),
                ]),
            };
            let applied = self.cluster_client(found.id, &c).await?.apply_secret(&object).await?;
            Ok(InstalledSecret {
                namespace: install.namespace.clone(),
                name,
                keys: values.expose().keys().cloned().collect(),
                version: meta.version,
                created: applied.created,
                namespace_created: applied.namespace_created,
            })
        }
        .await;
        self.record(actor, Some(found.id), "cluster.secret.install", "cluster", &target, &result).await;
        result
    }

    /// One round of health checks: every running (or warning) cluster not checked within
    /// `every` is asked for its version and nodes, by this process alone even when others share
    /// the database. A cluster whose API server does not answer, or has nodes that are not
    /// ready, goes to `warning` with the reason; one in `warning` for that reason goes back to
    /// `running` once it is healthy. Returns how many clusters were checked.
    pub async fn check_cluster_health(&self, every: Duration) -> Result<usize, AppError> {
        let now = self.now();
        let before = now - chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        let due = self.store.clusters_due_for_health(before, HEALTH_BATCH).await?;
        let mut checks = tokio::task::JoinSet::new();
        for (org, id) in due {
            if !self.store.claim_health_check(id, before, now).await? {
                continue;
            }
            let app = self.clone();
            checks.spawn(async move { app.check_one(org, id).await });
        }
        let mut checked = 0;
        while let Some(done) = checks.join_next().await {
            match done {
                Ok(Ok(())) => checked += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, "a cluster health check failed"),
                Err(e) => tracing::warn!(error = %e, "a cluster health check panicked"),
            }
        }
        Ok(checked)
    }

    async fn check_one(&self, org: OrgId, id: reef_core::ClusterId) -> Result<(), AppError> {
        let Some(c) = self.store.cluster(org, id).await? else { return Ok(()) };
        let problem = match self.cluster_client(org, &c).await {
            Ok(client) => match client.health().await {
                Ok(health) => health.problem(),
                Err(e) => Some(e.message),
            },
            Err(e) => Some(e.to_string()),
        };
        let was_unhealthy = c.health.as_ref().is_some_and(|h| h.problem.is_some());
        self.store.record_health(id, problem.as_deref()).await?;
        let now = self.now();
        match (&problem, c.status) {
            (Some(p), ClusterStatus::Running) => {
                tracing::warn!(cluster = %id, problem = %p, "a cluster is unhealthy");
                self.store
                    .change_cluster_status(
                        id,
                        ClusterStatus::Running,
                        ClusterStatus::Warning,
                        &format!("unhealthy: {p}"),
                        None,
                        now,
                    )
                    .await?;
            }
            (None, ClusterStatus::Warning) if was_unhealthy => {
                tracing::info!(cluster = %id, "a cluster is healthy again");
                self.store
                    .change_cluster_status(
                        id,
                        ClusterStatus::Warning,
                        ClusterStatus::Running,
                        "healthy again",
                        None,
                        now,
                    )
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_and_keys_are_checked_as_the_api_server_checks_them() {
        for ok in ["default", "a", "team-1", &"x".repeat(63)] {
            assert!(dns_name(ok, false), "{ok}");
        }
        for bad in ["", "Team", "a.b", "-a", "a-", "a_b", &"x".repeat(64)] {
            assert!(!dns_name(bad, false), "{bad}");
        }
        assert!(dns_name("db.credentials", true));
        assert!(!dns_name("db..credentials", true));
        for ok in ["password", "tls.crt", "AWS_ACCESS_KEY_ID", "K8Sconfig", ".dockerconfigjson"] {
            assert!(secret_key(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "with space"] {
            assert!(!secret_key(bad), "{bad}");
        }
    }
}
