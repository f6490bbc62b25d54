//! Chart repositories of an organization: Helm's HTTP repositories (an `index.yaml` and the
//! archives it points to) and OCI registries (`oci://registry/path`), with credentials from one
//! of the organization's secrets. An HTTP repository's index is fetched when it is added and
//! when it is updated (`helm repo update`); a registry has no index, and is only checked then.
//! Charts are fetched when deployed, checked against their digest, and kept by digest.

use std::time::Duration;

use base64::Engine as _;
use reef_core::{Actor, Operation, OrgId, OrgRef, SecretName};
use reef_helm::repo::{Found, Index};
pub use reef_store::chart_repos::ChartRepo;
use sha2::Digest as _;

use crate::{App, AppError};

/// How long fetching an index or an archive may take.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest index or archive fetched.
pub(crate) const MAX_FETCH_BYTES: usize = 32 << 20;

/// A chart found in one of the organization's repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundChart {
    /// The repository.
    pub repo: String,
    /// The chart, at its latest version.
    pub found: Found,
}

pub(crate) fn fetch_error(url: &str, why: impl std::fmt::Display) -> AppError {
    AppError::Cluster { code: "repository_unreachable", message: format!("fetching {url} failed: {why}") }
}

/// `url` refused the credentials it was given (answering `status`).
pub(crate) fn refused(url: &str, status: reqwest::StatusCode) -> AppError {
    AppError::Cluster {
        code: "repository_refused",
        message: format!("{url} refused the credentials ({status}); check the repository's secret"),
    }
}

fn valid_repo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A repository's credentials.
pub(crate) enum RepoAuth {
    /// Basic authentication.
    Basic { username: String, password: String },
    /// A bearer token.
    Token(String),
}

/// Whether `url` names an OCI registry rather than an HTTP repository.
fn is_oci(url: &str) -> bool {
    url.starts_with("oci://")
}

impl App {
    /// The credentials in a repository's secret: `username` and `password` are basic auth,
    /// `token` a bearer token.
    async fn repo_auth(&self, org: OrgId, secret: Option<&SecretName>) -> Result<Option<RepoAuth>, AppError> {
        let Some(name) = secret else { return Ok(None) };
        let fields = self
            .cluster_env
            .credentials(org, name)
            .await
            .map_err(|e| AppError::invalid("unknown_secret", e.message))?;
        match (fields.get("username"), fields.get("password"), fields.get("token")) {
            (Some(user), Some(password), _) => {
                Ok(Some(RepoAuth::Basic { username: user.to_owned(), password: password.to_owned() }))
            }
            (_, _, Some(token)) => Ok(Some(RepoAuth::Token(token.to_owned()))),
            _ => Err(AppError::invalid(
                "invalid_repository_secret",
                format!("the secret {name} has neither username and password nor token"),
            )),
        }
    }

    /// `url`'s body, with the repository's credentials.
    async fn fetch(&self, org: OrgId, url: &str, secret: Option<&SecretName>) -> Result<Vec<u8>, AppError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().map_err(|e| fetch_error(url, e))?;
        let req = match self.repo_auth(org, secret).await? {
            Some(RepoAuth::Basic { username, password }) => client.get(url).basic_auth(username, Some(password)),
            Some(RepoAuth::Token(token)) => client.get(url).bearer_auth(token),
            None => client.get(url),
        };
        let resp = req.send().await.map_err(|e| fetch_error(url, e.without_url()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(url, status));
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

    /// Checks that the registry of an OCI repository answers and takes its credentials.
    async fn check_registry(
        &self,
        org: OrgId,
        url: &str,
        secret: Option<&SecretName>,
        plain_http: bool,
    ) -> Result<(), AppError> {
        let (registry, _) = reef_helm::oci::location(url).map_err(|e| {
            AppError::invalid("invalid_repository", format!("{url} is not an OCI registry's location: {e}"))
        })?;
        crate::oci::Registry::new(registry, plain_http, self.repo_auth(org, secret).await?)?.check().await
    }

    /// Adds a chart repository: an HTTP repository's index is fetched now, and an OCI
    /// registry is asked whether it takes the credentials, so that a wrong URL or credentials
    /// fail here. `plain_http` reaches a registry over HTTP rather than HTTPS.
    pub async fn add_chart_repo(
        &self,
        actor: &Actor,
        org: &OrgRef,
        name: &str,
        url: &str,
        secret: Option<SecretName>,
        plain_http: bool,
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
            if !(url.starts_with("http://") || url.starts_with("https://") || is_oci(url)) {
                return Err(AppError::invalid(
                    "invalid_repository",
                    "a repository's URL starts with http:// or https://, or a registry's with oci://",
                ));
            }
            if plain_http && !is_oci(url) {
                return Err(AppError::invalid(
                    "invalid_repository",
                    "plain_http is for OCI registries; an HTTP repository's URL says http:// or https://",
                ));
            }
            if let Some(s) = &secret {
                self.find_secret(found.id, &reef_store::secrets::SecretRef::Name(s.clone())).await?;
            }
            let (index, text) = if is_oci(url) {
                self.check_registry(found.id, url, secret.as_ref(), plain_http).await?;
                (Index::default(), String::new())
            } else {
                self.fetch_index(found.id, url, secret.as_ref()).await?
            };
            let now = self.now();
            let repo = ChartRepo {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: found.id,
                name: name.to_owned(),
                url: url.trim_end_matches('/').to_owned(),
                secret,
                plain_http,
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

    /// Fetches a repository's index again; a registry is checked again.
    pub async fn update_chart_repo(&self, actor: &Actor, org: &OrgRef, name: &str) -> Result<ChartRepo, AppError> {
        let (found, _) = self.authorize(actor, org, Operation::ReadClusters).await?;
        let result = async {
            self.authorize(actor, org, Operation::WriteClusters).await?;
            let mut repo =
                self.store.chart_repo(found.id, name).await?.ok_or(AppError::NotFound { kind: "repository" })?;
            let (index, text) = if is_oci(&repo.url) {
                self.check_registry(found.id, &repo.url, repo.secret.as_ref(), repo.plain_http).await?;
                (Index::default(), String::new())
            } else {
                self.fetch_index(found.id, &repo.url, repo.secret.as_ref()).await?
            };
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
    /// by repository then name. Registries have no index to search, and are left out.
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
        if is_oci(&repo.url) {
            let reference = format!("{}/{name}", repo.url.trim_end_matches('/'));
            return self.chart_from_oci(org, &reference, version, repo.plain_http).await;
        }
        let index = Index::parse(&repo.index_yaml).map_err(|e| AppError::invalid("invalid_repository", e))?;
        let chosen = index.find(name, version).map_err(|e| AppError::invalid("chart_not_found", e))?;
        if !chosen.digest.is_empty()
            && let Some(kept) = self.kept_archive(&chosen.digest).await?
        {
            return Ok(kept);
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
        self.keep_archive(&digest, &data).await?;
        Ok(data)
    }
}

impl App {
    /// The archive of chart `chart`.
    pub(crate) async fn fetch_chart(
        &self,
        org: OrgId,
        chart: &crate::deployments::ChartRef,
    ) -> Result<Vec<u8>, AppError> {
        match chart {
            crate::deployments::ChartRef::Repo { repo, name, version } => {
                self.chart_from_repo(org, repo, name, version.as_deref()).await
            }
            crate::deployments::ChartRef::Oci { reference, version, plain_http } => {
                self.chart_from_oci(org, reference, version.as_deref(), *plain_http).await
            }
        }
    }

    /// The archive of the chart at OCI reference `reference` (`oci://registry/path/chart`,
    /// with an optional tag or digest) at `version`, from the kept archives when its digest
    /// was fetched before. The credentials and `plain_http` of the organization's registry
    /// whose location holds the reference (the longest) are used; without one, the registry
    /// is read anonymously, over HTTP when `plain_http`.
    pub(crate) async fn chart_from_oci(
        &self,
        org: OrgId,
        reference: &str,
        version: Option<&str>,
        plain_http: bool,
    ) -> Result<Vec<u8>, AppError> {
        let parsed = reef_helm::oci::Reference::parse(reference).map_err(|e| AppError::invalid("invalid_chart", e))?;
        let repo = self
            .store
            .chart_repos(org)
            .await?
            .into_iter()
            .filter(|r| is_oci(&r.url) && parsed.is_under(&r.url))
            .max_by_key(|r| r.url.len());
        let plain_http = plain_http || repo.as_ref().is_some_and(|r| r.plain_http);
        let auth = self.repo_auth(org, repo.as_ref().and_then(|r| r.secret.as_ref())).await?;
        let mut registry = crate::oci::Registry::new(&parsed.registry, plain_http, auth)?;
        let layer = registry.chart_layer(&parsed, version).await?;
        let digest = layer.digest.trim_start_matches("sha256:");
        if let Some(kept) = self.kept_archive(digest).await? {
            return Ok(kept);
        }
        let data = registry.blob(&parsed.repository, &layer).await?;
        self.keep_archive(digest, &data).await?;
        Ok(data)
    }

    /// The chart archive of SHA-256 `digest` (hex), if one was fetched before.
    async fn kept_archive(&self, digest: &str) -> Result<Option<Vec<u8>>, AppError> {
        let Some(kept) = self.store.chart_archive(digest).await? else { return Ok(None) };
        base64::engine::general_purpose::STANDARD
            .decode(kept)
            .map(Some)
            .map_err(|_| AppError::Internal(reef_store::StoreError::Corrupt { column: "chart_archives.data" }))
    }

    /// Keeps a fetched chart archive under its SHA-256 `digest` (hex).
    async fn keep_archive(&self, digest: &str, data: &[u8]) -> Result<(), AppError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        Ok(self.store.keep_chart_archive(digest, &encoded, self.now()).await?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:HEX` of `data`, as OCI digests are written.
pub(crate) fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex(&sha2::Sha256::digest(data)))
}
