//! Reading charts from OCI registries (the distribution API, `GET /v2/...`), as `helm pull
//! oci://...` does: the tag list to pick a version, the tag's image manifest, and its chart
//! layer, checked against its digest. A registry that answers `401` says how to authenticate
//! (`WWW-Authenticate`): basic, or a bearer token fetched from its token endpoint with the
//! credentials, or anonymously without them.

use reef_helm::oci::{Challenge, Descriptor, MANIFEST, Reference, TagList, TokenAnswer};

use crate::AppError;
use crate::charts::{FETCH_TIMEOUT, MAX_FETCH_BYTES, RepoAuth, fetch_error, refused, sha256_digest};

/// The largest manifest or tag list read.
const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// The most pages of tags followed.
const MAX_TAG_PAGES: usize = 100;

/// One registry, with the credentials to use when it asks.
pub(crate) struct Registry {
    http: reqwest::Client,
    /// `https://registry` (`http://` for a registry served without TLS).
    base: String,
    auth: Option<RepoAuth>,
    /// The token the registry's token endpoint gave, once it asked for one.
    bearer: Option<String>,
    /// The registry asked for basic authentication: send it from now on.
    basic: bool,
}

impl Registry {
    pub(crate) fn new(registry: &str, plain_http: bool, auth: Option<RepoAuth>) -> Result<Registry, AppError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = format!("{}://{registry}", if plain_http { "http" } else { "https" });
        let http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build().map_err(|e| fetch_error(&base, e))?;
        Ok(Registry { http, base, auth, bearer: None, basic: false })
    }

    fn request(&self, url: &str, accept: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(url).header(reqwest::header::ACCEPT, accept);
        match (&self.bearer, &self.auth) {
            (Some(token), _) | (None, Some(RepoAuth::Token(token))) => req.bearer_auth(token),
            (None, Some(RepoAuth::Basic { username, password })) if self.basic => {
                req.basic_auth(username, Some(password))
            }
            _ => req,
        }
    }

    /// `GET path`, authenticating as the registry asks; the body, at most `limit` bytes, with
    /// the answer's `Link` header.
    async fn get(&mut self, path: &str, accept: &str, limit: usize) -> Result<(Vec<u8>, Option<String>), AppError> {
        let url = format!("{}{path}", self.base);
        let mut resp = self.request(&url, accept).send().await.map_err(|e| fetch_error(&url, e.without_url()))?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED && self.bearer.is_none() && !self.basic {
            let challenge = resp
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse);
            match challenge {
                Some(Challenge::Basic) if matches!(self.auth, Some(RepoAuth::Basic { .. })) => self.basic = true,
                Some(Challenge::Bearer { realm, service, scope }) => {
                    self.bearer = Some(self.token(&realm, service.as_deref(), scope.as_deref()).await?);
                }
                _ => return Err(refused(&url, resp.status())),
            }
            resp = self.request(&url, accept).send().await.map_err(|e| fetch_error(&url, e.without_url()))?;
        }
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(&url, status));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(AppError::invalid("chart_not_found", format!("{url} is not in the registry (404)")));
        }
        if !status.is_success() {
            return Err(fetch_error(&url, format!("it answered {status}")));
        }
        let link = resp.headers().get(reqwest::header::LINK).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(fetch_error(&url, format!("it is larger than {limit} bytes")));
        }
        let body = resp.bytes().await.map_err(|e| fetch_error(&url, e.without_url()))?;
        if body.len() > limit {
            return Err(fetch_error(&url, format!("it is larger than {limit} bytes")));
        }
        Ok((body.to_vec(), link))
    }

    /// A token from the registry's token endpoint, with the credentials when there are any.
    async fn token(&self, realm: &str, service: Option<&str>, scope: Option<&str>) -> Result<String, AppError> {
        let mut query = Vec::new();
        query.extend(service.map(|s| ("service", s)));
        query.extend(scope.map(|s| ("scope", s)));
        let mut req = self.http.get(realm).query(&query);
        match &self.auth {
            Some(RepoAuth::Basic { username, password }) => req = req.basic_auth(username, Some(password)),
            Some(RepoAuth::Token(token)) => req = req.bearer_auth(token),
            None => {}
        }
        let resp = req.send().await.map_err(|e| fetch_error(realm, e.without_url()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(realm, status));
        }
        if !status.is_success() {
            return Err(fetch_error(realm, format!("the token endpoint answered {status}")));
        }
        let body = resp.bytes().await.map_err(|e| fetch_error(realm, e.without_url()))?;
        serde_json::from_slice::<TokenAnswer>(&body)
            .ok()
            .and_then(TokenAnswer::token)
            .ok_or_else(|| fetch_error(realm, "the token endpoint gave no token"))
    }

    /// Checks that the registry answers and takes the credentials (`GET /v2/`).
    pub(crate) async fn check(&mut self) -> Result<(), AppError> {
        self.get("/v2/", "application/json", MAX_DOCUMENT_BYTES).await.map(|_| ())
    }

    /// Every tag of `repository`, following the registry's pages.
    async fn tags(&mut self, repository: &str) -> Result<Vec<String>, AppError> {
        let mut tags = Vec::new();
        let mut path = format!("/v2/{repository}/tags/list");
        for _ in 0..MAX_TAG_PAGES {
            let (body, link) = self.get(&path, "application/json", MAX_DOCUMENT_BYTES).await?;
            let page: TagList = serde_json::from_slice(&body).map_err(|e| {
                AppError::invalid("invalid_repository", format!("{}{path}: not a tag list: {e}", self.base))
            })?;
            tags.extend(page.tags.unwrap_or_default());
            // `Link: </v2/NAME/tags/list?last=...&n=...>; rel="next"`
            match link.as_deref().and_then(|l| l.split_once('<')).and_then(|(_, r)| r.split_once('>')) {
                Some((next, _)) if next.starts_with("/v2/") => path = next.to_owned(),
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// The chart layer of `reference` at `version` (a version or a constraint; the latest
    /// stable version when neither it nor the reference names one).
    pub(crate) async fn chart_layer(
        &mut self,
        reference: &Reference,
        version: Option<&str>,
    ) -> Result<Descriptor, AppError> {
        let repository = &reference.repository;
        let path = match (&reference.digest, &reference.tag, version) {
            (Some(digest), _, _) => digest.clone(),
            (None, Some(tag), Some(v)) if reef_helm::oci::tag_version(tag) != v.trim() => {
                return Err(AppError::invalid(
                    "invalid_chart",
                    format!("the reference's tag {tag} and the version {v} differ; give one of them"),
                ));
            }
            (None, Some(tag), _) => tag.clone(),
            (None, None, version) => {
                let tags = self.tags(repository).await?;
                reef_helm::oci::pick_tag(&tags, version, reference.chart_name())
                    .map_err(|e| AppError::invalid("chart_not_found", e))?
            }
        };
        let (manifest, _) =
            self.get(&format!("/v2/{repository}/manifests/{path}"), MANIFEST, MAX_DOCUMENT_BYTES).await?;
        if let Some(digest) = &reference.digest
            && sha256_digest(&manifest) != *digest
        {
            return Err(AppError::invalid(
                "chart_digest_mismatch",
                format!("the registry's manifest of {repository} does not match {digest}"),
            ));
        }
        let layer = reef_helm::oci::chart_layer(&manifest)
            .map_err(|e| AppError::invalid("invalid_chart", format!("{repository}:{path}: {e}")))?;
        if layer.size > MAX_FETCH_BYTES as u64 {
            return Err(fetch_error(
                &format!("{}/v2/{repository}/blobs/{}", self.base, layer.digest),
                format!("the chart is larger than {MAX_FETCH_BYTES} bytes"),
            ));
        }
        Ok(layer)
    }

    /// The blob `layer` of `repository`, checked against its digest.
    pub(crate) async fn blob(&mut self, repository: &str, layer: &Descriptor) -> Result<Vec<u8>, AppError> {
        let path = format!("/v2/{repository}/blobs/{}", layer.digest);
        let (data, _) = self.get(&path, "application/octet-stream", MAX_FETCH_BYTES).await?;
        if sha256_digest(&data) != layer.digest {
            return Err(AppError::invalid(
                "chart_digest_mismatch",
                format!("{}{path} does not match its digest", self.base),
            ));
        }
        Ok(data)
    }
}
