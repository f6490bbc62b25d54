//! Chart repositories of an organization: Helm's HTTP repositories (an `index.yaml` and the
//! archives it points to), with credentials from one of the organization's secrets. The index
//! is fetched when a repository is added and when it is updated (`helm repo update`); charts
//! are fetched when deployed, checked against the index's digest, and kept by digest.

use std::time::Duration;

use base64::Engine as _;
use reef_core::{Actor, Operation, OrgId, OrgRef, SecretName};
use reef_helm::repo::{Found, Index};
pub use reef_store::chart_repos::ChartRepo;
use sha2::Digest as _;

use crate::{App, AppError};

/// How long fetching an index or an archive may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest index or archive fetched.
const MAX_FETCH_BYTES: usize = 32 << 20;

/// A chart found in one of the organization's repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundChart {
    /// The repository.
    pub repo: String,
    /// The chart, at its latest version.
    pub found: Found,
}

fn fetch_error(url: &str, why: impl std::fmt::Display) -> AppError {
    AppError::Cluster { code: "repository_unreachable", message: format!("fetching {url} failed: {why}") }
}

fn valid_repo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl App {
    /// `url`'s body, with the repository's credentials: a secret with `username` and
    /// `password` is basic auth, one with `token` a bearer token.
    async fn fetch(&self, org: OrgId, url: &str, secret: Option<&SecretName>) -> Result<Vec<u8>, AppError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().map_err(|e| fetch_error(url, e))?;
        let mut req = client.get(url);
        if let Some(name) = secret {
            let fields = self
                .cluster_env
                .credentials(org, name)
                .await
                .map_err(|e| AppError::invalid("unknown_secret", e.message))?;
            req = match (fields.get("username"), fields.get("password"), fields.get("token")) {
                (Some(user), Some(password), _) => req.basic_auth(user, Some(password)),
                (_, _, Some(token)) => req.bearer_auth(token),
                _ => {
                    return Err(AppError::invalid(
                        "invalid_repository_secret",
                        format!("the secret {name} has neither username and password nor token"),
                    ));
                }
            };
        }
        let resp = req.send().await.map_err(|e| fetch_error(url, e.without_url()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(AppError::Cluster {
                code: "repository_refused",
                message: format!("{url} refused the credentials ({status}); check the repository's secret"),
            });
        }
        if !status.is_success() {
            return Err(fetch_error(url, format!("it answered {status}")));
        }
        let body = resp.bytes().await.map_err(|e| fetch_error(url, e.without_url()))?;
        if body.len() > MAX_FETCH_BYTES {
            return Err(fetch_error(url, format!("it is larger than {MAX_FETCH_BYTES} bytes")));
        }
        Ok(body.to_vec())
    }

    /// The index of the repository at `url`, with its text.
    async fn fetch_index(
        &self,
        org: OrgId,
        url: &str,
        secret: Option<&SecretName>,
    ) -> Result<(Index, String), AppError> {
        let index_url = format!("{}/index.yaml", url.trim_end_matches('/'));
        let body = self.fetch(org, &index_url, secret).await?;
        let text = String::from_utf8(body).map_err(|_| fetch_error(&index_url, "it is not text"))?;
        let index =
            Index::parse(&text).map_err(|e| AppError::invalid("invalid_repository", format!("{index_url}: {e}")))?;
        Ok((index, text))
    }

    /// Adds a chart repository: its index is fetched now, so that a wrong URL or credentials
    /// fail here.
    pub async fn add_chart_repo(
        &self,
        actor: &Actor,
        org: &OrgRef,
        name: &str,
        url: &str,
        secret: Option<SecretName>,
    ) -> Result<ChartRepo, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            if !valid_repo_name(name) {
                return Err(AppError::invalid(
                    "invalid_name",
                    "a repository's name is lower-case letters, digits, '-' and '_', at most 63",
                ));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(AppError::invalid(
                    "invalid_repository",
                    "a repository's URL starts with http:// or https:// (OCI registries are not supported yet)",
                ));
            }
            if let Some(s) = &secret {
                self.find_secret(found.id, &reef_store::secrets::SecretRef::Name(s.clone())).await?;
            }
            let (index, text) = self.fetch_index(found.id, url, secret.as_ref()).await?;
            let now = self.now();
            let repo = ChartRepo {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: found.id,
                name: name.to_owned(),
                url: url.trim_end_matches('/').to_owned(),
                secret,
                index_yaml: text,
                charts: i64::try_from(index.entries.len()).unwrap_or(i64::MAX),
                created_at: now,
                updated_at: now,
            };
            self.store.insert_chart_repo(&repo).await.map_err(|e| match e {
                reef_store::StoreError::Duplicate => {
                    AppError::conflict("name_taken", format!("a repository named `{name}` already exists"))
                }
                e => e.into(),
            })?;
            Ok(repo)
        }
        .await;
        self.record(actor, Some(found.id), "helm.repo.add", "repository", name, &result).await;
        result
    }

    /// The organization's chart repositories.
    pub async fn list_chart_repos(&self, actor: &Actor, org: &OrgRef) -> Result<Vec<ChartRepo>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        Ok(self.store.chart_repos(org.id).await?)
    }

    /// Fetches a repository's index again.
    pub async fn update_chart_repo(&self, actor: &Actor, org: &OrgRef, name: &str) -> Result<ChartRepo, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            let mut repo =
                self.store.chart_repo(found.id, name).await?.ok_or(AppError::NotFound { kind: "repository" })?;
            let (index, text) = self.fetch_index(found.id, &repo.url, repo.secret.as_ref()).await?;
            let now = self.now();
            let charts = i64::try_from(index.entries.len()).unwrap_or(i64::MAX);
            self.store.set_chart_repo_index(&repo.id, &text, charts, now).await?;
            repo.index_yaml = text;
            repo.charts = charts;
            repo.updated_at = now;
            Ok(repo)
        }
        .await;
        self.record(actor, Some(found.id), "helm.repo.update", "repository", name, &result).await;
        result
    }

    /// Forgets a repository (releases installed from it are not touched).
    pub async fn remove_chart_repo(&self, actor: &Actor, org: &OrgRef, name: &str) -> Result<(), AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            if !self.store.delete_chart_repo(found.id, name).await? {
                return Err(AppError::NotFound { kind: "repository" });
            }
            Ok(())
        }
        .await;
        self.record(actor, Some(found.id), "helm.repo.remove", "repository", name, &result).await;
        result
    }

    /// The charts of the organization's repositories whose name or description holds `term`,
    /// by repository then name.
    pub async fn search_charts(&self, actor: &Actor, org: &OrgRef, term: &str) -> Result<Vec<FoundChart>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let mut out = Vec::new();
        for repo in self.store.chart_repos(org.id).await? {
            let Ok(index) = Index::parse(&repo.index_yaml) else { continue };
            out.extend(index.search(term).into_iter().map(|found| FoundChart { repo: repo.name.clone(), found }));
        }
        Ok(out)
    }

    /// The archive of chart `name` of repository `repo` at `version` (the latest stable when
    /// `None`), from the kept archives when its digest was fetched before.
    pub(crate) async fn chart_from_repo(
        &self,
        org: OrgId,
        repo: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<Vec<u8>, AppError> {
        let repo = self.store.chart_repo(org, repo).await?.ok_or(AppError::NotFound { kind: "repository" })?;
        let index = Index::parse(&repo.index_yaml).map_err(|e| AppError::invalid("invalid_repository", e))?;
        let chosen = index.find(name, version).map_err(|e| AppError::invalid("chart_not_found", e))?;
        if !chosen.digest.is_empty()
            && let Some(kept) = self.store.chart_archive(&chosen.digest).await?
        {
            return base64::engine::general_purpose::STANDARD
                .decode(kept)
                .map_err(|_| AppError::Internal(reef_store::StoreError::Corrupt { column: "chart_archives.data" }));
        }
        let url = reef_helm::repo::archive_url(&repo.url, chosen)
            .ok_or_else(|| AppError::invalid("invalid_repository", format!("{name} {} has no URL", chosen.version)))?;
        let data = self.fetch(org, &url, repo.secret.as_ref()).await?;
        let digest = hex(&sha2::Sha256::digest(&data));
        if !chosen.digest.is_empty() && chosen.digest != digest {
            return Err(AppError::invalid(
                "chart_digest_mismatch",
                format!("{url} does not match the digest in the repository's index; update the repository"),
            ));
        }
        self.store
            .keep_chart_archive(&digest, &base64::engine::general_purpose::STANDARD.encode(&data), self.now())
            .await?;
        Ok(data)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
