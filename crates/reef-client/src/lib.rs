//! A typed client for reef's REST API: the CLI and the end-to-end tests use it, so they talk
//! to reef exactly as any other client would.

use std::collections::BTreeMap;
use std::time::Duration;

use reef_api_types::*;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{} ({}): {}", .problem.title, .problem.code, .problem.detail)]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error the server sent.
        problem: Box<Problem>,
    },
    /// The server could not be reached, or its answer could not be read.
    #[error("calling {url} failed")]
    Transport {
        /// The URL called.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The server's answer was not what the API describes.
    #[error("unexpected answer from {url}: HTTP {status}")]
    Unexpected {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
    },
}

impl ClientError {
    /// The stable error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => Some(*status),
            ClientError::Transport { .. } => None,
        }
    }
}

/// Selects ring as the process's TLS crypto provider unless one is already selected. reef
/// builds rustls without a default provider (one provider for the whole process keeps the
/// build lean); [`Client::new`] calls this, and so should anyone building another HTTP client.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for one reef server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// `limit` and `cursor` for a list call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageQuery {
    /// At most this many items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

fn seg(s: &str) -> String {
    // Path segments are names and ids ([A-Za-z0-9._@-]); anything else is percent-encoded.
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:9090`), with an optional
    /// bearer token.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|source| ClientError::Transport { url: base.to_owned(), source })?;
        Ok(Client { http, base: base.trim_end_matches('/').to_owned(), token })
    }

    /// The same server with another token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client { http: self.http.clone(), base: self.base.clone(), token: Some(token.into()) }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn send<B: Serialize + ?Sized, Q: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(q) = query {
            req = req.query(q);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|source| ClientError::Transport { url: url.clone(), source })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        match resp.json::<Problem>().await {
            Ok(problem) => Err(ClientError::Api { status, problem: Box::new(problem) }),
            Err(_) => Err(ClientError::Unexpected { url, status }),
        }
    }

    async fn json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
        let url = resp.url().to_string();
        resp.json::<T>().await.map_err(|source| ClientError::Transport { url, source })
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: Option<&Q>,
    ) -> Result<T, ClientError> {
        Self::json(self.send::<(), Q>(Method::GET, path, query, None).await?).await
    }

    async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        Self::json(self.send::<B, ()>(Method::POST, path, None, Some(body)).await?).await
    }

    async fn no_content(&self, method: Method, path: &str) -> Result<(), ClientError> {
        let resp = self.send::<(), ()>(method, path, None, None).await?;
        if resp.status() != StatusCode::NO_CONTENT {
            return Err(ClientError::Unexpected { url: resp.url().to_string(), status: resp.status().as_u16() });
        }
        Ok(())
    }

    /// Sends an arbitrary request and returns the status and body: for tests that probe the
    /// API's edges (unknown fields, bad ids, other organizations).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, String), ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|source| ClientError::Transport { url: url.clone(), source })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|source| ClientError::Transport { url, source })?;
        Ok((status, text))
    }

    /// Whether the server is ready.
    pub async fn ready(&self) -> Result<Health, ClientError> {
        self.get::<Health, ()>("/readyz", None).await
    }

    /// Starts a single sign-on login that comes back to `redirect_uri`.
    pub async fn sso_start(&self, redirect_uri: &str) -> Result<SsoStartResponse, ClientError> {
        self.post("/api/v1/login/sso/start", &SsoStartRequest { redirect_uri: redirect_uri.to_owned() }).await
    }

    /// Finishes a single sign-on login; returns a session token.
    pub async fn sso_finish(&self, state: &str, code: &str) -> Result<LoginResponse, ClientError> {
        self.post("/api/v1/login/sso/finish", &SsoFinishRequest { state: state.to_owned(), code: code.to_owned() })
            .await
    }

    /// Logs in with a password; returns a session token.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, ClientError> {
        let body = LoginRequest { username: username.to_owned(), password: password.to_owned() };
        self.post("/api/v1/login", &body).await
    }

    /// Ends the current session.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.no_content(Method::POST, "/api/v1/logout").await
    }

    /// The caller's account.
    pub async fn whoami(&self) -> Result<UserView, ClientError> {
        self.get::<_, ()>("/api/v1/user", None).await
    }

    /// Sets the caller's password.
    pub async fn set_password(&self, current: Option<&str>, new: &str) -> Result<(), ClientError> {
        let body = SetPasswordRequest { current_password: current.map(str::to_owned), new_password: new.to_owned() };
        let resp = self.send::<_, ()>(Method::PUT, "/api/v1/user/password", None, Some(&body)).await?;
        if resp.status() != StatusCode::NO_CONTENT {
            return Err(ClientError::Unexpected { url: resp.url().to_string(), status: resp.status().as_u16() });
        }
        Ok(())
    }

    /// Creates a user (server administrators only).
    pub async fn create_user(&self, req: &CreateUserRequest) -> Result<UserView, ClientError> {
        self.post("/api/v1/users", req).await
    }

    /// Creates an API token.
    pub async fn create_token(&self, req: &CreateTokenRequest) -> Result<CreatedToken, ClientError> {
        self.post("/api/v1/tokens", req).await
    }

    /// Lists the caller's API tokens.
    pub async fn list_tokens(&self, page: &PageQuery) -> Result<TokenList, ClientError> {
        self.get("/api/v1/tokens", Some(page)).await
    }

    /// Revokes an API token.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenView, ClientError> {
        Self::json(self.send::<(), ()>(Method::DELETE, &format!("/api/v1/tokens/{}", seg(id)), None, None).await?).await
    }

    /// Creates an organization.
    pub async fn create_org(&self, name: &str) -> Result<OrgView, ClientError> {
        self.post("/api/v1/orgs", &CreateOrgRequest { name: name.to_owned() }).await
    }

    /// Lists the caller's organizations.
    pub async fn list_orgs(&self, page: &PageQuery) -> Result<OrgList, ClientError> {
        self.get("/api/v1/orgs", Some(page)).await
    }

    /// One organization.
    pub async fn get_org(&self, org: &str) -> Result<OrgView, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}", seg(org)), None).await
    }

    /// Deletes an organization.
    pub async fn delete_org(&self, org: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &format!("/api/v1/orgs/{}", seg(org))).await
    }

    /// Lists an organization's members.
    pub async fn list_members(&self, org: &str, page: &PageQuery) -> Result<MemberList, ClientError> {
        self.get(&format!("/api/v1/orgs/{}/members", seg(org)), Some(page)).await
    }

    /// Adds a member.
    pub async fn add_member(&self, org: &str, username: &str, role: Role) -> Result<MemberView, ClientError> {
        let body = AddMemberRequest { username: username.to_owned(), role };
        self.post(&format!("/api/v1/orgs/{}/members", seg(org)), &body).await
    }

    /// Changes a member's role.
    pub async fn update_member(&self, org: &str, username: &str, role: Role) -> Result<MemberView, ClientError> {
        let path = format!("/api/v1/orgs/{}/members/{}", seg(org), seg(username));
        Self::json(self.send::<_, ()>(Method::PUT, &path, None, Some(&UpdateMemberRequest { role })).await?).await
    }

    /// Removes a member.
    pub async fn remove_member(&self, org: &str, username: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &format!("/api/v1/orgs/{}/members/{}", seg(org), seg(username))).await
    }

    /// Every secret type and its fields.
    pub async fn secret_types(&self) -> Result<Vec<SecretTypeView>, ClientError> {
        self.get::<_, ()>("/api/v1/secret-types", None).await
    }

    /// Creates a secret.
    pub async fn create_secret(&self, org: &str, req: &CreateSecretRequest) -> Result<SecretView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/secrets", seg(org)), req).await
    }

    /// Lists secrets (metadata only), optionally by type and tag.
    pub async fn list_secrets(
        &self,
        org: &str,
        secret_type: Option<&str>,
        tag: Option<&str>,
        page: &PageQuery,
    ) -> Result<SecretList, ClientError> {
        let mut query: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(t) = secret_type {
            query.insert("type", t.to_owned());
        }
        if let Some(t) = tag {
            query.insert("tag", t.to_owned());
        }
        if let Some(l) = page.limit {
            query.insert("limit", l.to_string());
        }
        if let Some(c) = &page.cursor {
            query.insert("cursor", c.clone());
        }
        self.get(&format!("/api/v1/orgs/{}/secrets", seg(org)), Some(&query)).await
    }

    /// A secret; with `reveal`, its values (of `version`, or the current one).
    pub async fn get_secret(
        &self,
        org: &str,
        secret: &str,
        reveal: bool,
        version: Option<u32>,
    ) -> Result<SecretView, ClientError> {
        let mut query: BTreeMap<&str, String> = BTreeMap::new();
        if reveal {
            query.insert("reveal", "true".to_owned());
        }
        if let Some(v) = version {
            query.insert("version", v.to_string());
        }
        self.get(&format!("/api/v1/orgs/{}/secrets/{}", seg(org), seg(secret)), Some(&query)).await
    }

    /// Changes a secret.
    pub async fn update_secret(
        &self,
        org: &str,
        secret: &str,
        req: &UpdateSecretRequest,
    ) -> Result<SecretView, ClientError> {
        let path = format!("/api/v1/orgs/{}/secrets/{}", seg(org), seg(secret));
        Self::json(self.send::<_, ()>(Method::PATCH, &path, None, Some(req)).await?).await
    }

    /// A secret's versions.
    pub async fn secret_versions(&self, org: &str, secret: &str) -> Result<Vec<SecretVersionView>, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/secrets/{}/versions", seg(org), seg(secret)), None).await
    }

    /// Deletes a secret.
    pub async fn delete_secret(&self, org: &str, secret: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &format!("/api/v1/orgs/{}/secrets/{}", seg(org), seg(secret))).await
    }

    /// The organization's audit log; `filters` are query parameters (`operation`, `actor`,
    /// `outcome`, `target_kind`, `since`, `until`).
    pub async fn audit(&self, org: &str, filters: &[(&str, &str)], page: &PageQuery) -> Result<AuditList, ClientError> {
        let mut query: Vec<(&str, String)> = filters.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(l) = page.limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(c) = &page.cursor {
            query.push(("cursor", c.clone()));
        }
        self.get(&format!("/api/v1/orgs/{}/audit", seg(org)), Some(&query)).await
    }

    /// What each provider of the server offers.
    pub async fn providers(&self) -> Result<Vec<ProviderView>, ClientError> {
        self.get::<_, ()>("/api/v1/providers", None).await
    }

    /// Starts creating a cluster: the cluster, `pending`, and the operation creating it.
    pub async fn create_cluster(
        &self,
        org: &str,
        req: &CreateClusterRequest,
    ) -> Result<ClusterOperationView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/clusters", seg(org)), req).await
    }

    /// Lists clusters; `filters` are query parameters (`status`, `provider`, `label` as
    /// `key=value`).
    pub async fn list_clusters(
        &self,
        org: &str,
        filters: &[(&str, &str)],
        page: &PageQuery,
    ) -> Result<ClusterList, ClientError> {
        let mut query: Vec<(&str, String)> = filters.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(l) = page.limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(c) = &page.cursor {
            query.push(("cursor", c.clone()));
        }
        self.get(&format!("/api/v1/orgs/{}/clusters", seg(org)), Some(&query)).await
    }

    /// What `provider` offers to the credentials in the organization's `secret`, in `region`,
    /// as its cloud lists it.
    pub async fn live_catalog(
        &self,
        org: &str,
        provider: &str,
        secret: Option<&str>,
        region: &str,
    ) -> Result<ProviderView, ClientError> {
        let mut query: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(s) = secret {
            query.insert("secret", s.to_owned());
        }
        query.insert("region", region.to_owned());
        self.get(&format!("/api/v1/orgs/{}/providers/{}/catalog", seg(org), seg(provider)), Some(&query)).await
    }

    /// A cluster, by name or id.
    pub async fn get_cluster(&self, org: &str, cluster: &str) -> Result<ClusterView, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/clusters/{}", seg(org), seg(cluster)), None).await
    }

    /// Starts deleting a cluster.
    pub async fn delete_cluster(&self, org: &str, cluster: &str) -> Result<ClusterOperationView, ClientError> {
        self.delete_cluster_forced(org, cluster, false).await
    }

    /// Starts deleting a cluster; with `force`, the record goes to `deleted` even when the
    /// provider cannot remove everything (the status message names what was left behind).
    pub async fn delete_cluster_forced(
        &self,
        org: &str,
        cluster: &str,
        force: bool,
    ) -> Result<ClusterOperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}", seg(org), seg(cluster));
        let query = [("force", force)];
        Self::json(self.send::<(), _>(Method::DELETE, &path, Some(&query[..]), None).await?).await
    }

    /// Every status a cluster went through, oldest first.
    pub async fn cluster_history(&self, org: &str, cluster: &str) -> Result<Vec<StatusChangeView>, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/clusters/{}/history", seg(org), seg(cluster)), None).await
    }

    /// Adds a chart repository.
    pub async fn add_chart_repo(&self, org: &str, req: &AddChartRepoRequest) -> Result<ChartRepoView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/helm/repos", seg(org)), req).await
    }

    /// The organization's chart repositories.
    pub async fn list_chart_repos(&self, org: &str) -> Result<Vec<ChartRepoView>, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/helm/repos", seg(org)), None).await
    }

    /// Fetches a repository's index again.
    pub async fn update_chart_repo(&self, org: &str, repo: &str) -> Result<ChartRepoView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/helm/repos/{}/update", seg(org), seg(repo)), &()).await
    }

    /// Forgets a chart repository.
    pub async fn remove_chart_repo(&self, org: &str, repo: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &format!("/api/v1/orgs/{}/helm/repos/{}", seg(org), seg(repo))).await
    }

    /// The charts of the organization's repositories matching `term`.
    pub async fn search_charts(&self, org: &str, term: &str) -> Result<Vec<ChartView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{}/helm/charts", seg(org)), Some(&[("q", term)][..])).await
    }

    /// Starts the same deployment in several clusters: an install, or an upgrade where the
    /// release exists.
    pub async fn deploy_to_clusters(
        &self,
        org: &str,
        req: &MultiDeployRequest,
    ) -> Result<Vec<ClusterDeployResult>, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/deployments", seg(org)), req).await
    }

    /// Starts installing a chart as a release.
    pub async fn install_release(
        &self,
        org: &str,
        cluster: &str,
        req: &DeployRequest,
    ) -> Result<OperationView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/clusters/{}/deployments", seg(org), seg(cluster)), req).await
    }

    /// What deploying would change, without changing anything.
    pub async fn diff_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        req: &DeployRequest,
    ) -> Result<DeployDiffView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}/diff", seg(org), seg(cluster), seg(release));
        self.post(&path, req).await
    }

    /// Starts upgrading a release.
    pub async fn upgrade_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        req: &DeployRequest,
    ) -> Result<OperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}", seg(org), seg(cluster), seg(release));
        Self::json(self.send::<_, ()>(Method::PUT, &path, None, Some(req)).await?).await
    }

    /// A cluster's releases, in `namespace` or everywhere.
    pub async fn list_releases(
        &self,
        org: &str,
        cluster: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<ReleaseView>, ClientError> {
        let query: Vec<(&str, &str)> = namespace.map(|n| ("namespace", n)).into_iter().collect();
        self.get(&format!("/api/v1/orgs/{}/clusters/{}/deployments", seg(org), seg(cluster)), Some(&query[..])).await
    }

    /// A release's latest revision and its objects.
    pub async fn get_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        namespace: &str,
    ) -> Result<ReleaseDetailView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}", seg(org), seg(cluster), seg(release));
        self.get(&path, Some(&[("namespace", namespace)][..])).await
    }

    /// Every revision of a release.
    pub async fn release_history(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        namespace: &str,
    ) -> Result<Vec<ReleaseView>, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}/history", seg(org), seg(cluster), seg(release));
        self.get(&path, Some(&[("namespace", namespace)][..])).await
    }

    /// Starts rolling a release back to `revision` (the one before the latest when `None`).
    pub async fn rollback_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        namespace: &str,
        revision: Option<u32>,
    ) -> Result<OperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}/rollback", seg(org), seg(cluster), seg(release));
        let query = [("namespace", namespace)];
        let body = RollbackRequest { revision };
        Self::json(self.send(Method::POST, &path, Some(&query[..]), Some(&body)).await?).await
    }

    /// Runs a release's `test` hooks.
    pub async fn test_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        namespace: &str,
    ) -> Result<ReleaseTestView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}/test", seg(org), seg(cluster), seg(release));
        Self::json(self.send::<(), _>(Method::POST, &path, Some(&[("namespace", namespace)][..]), None).await?).await
    }

    /// Starts uninstalling a release.
    pub async fn uninstall_release(
        &self,
        org: &str,
        cluster: &str,
        release: &str,
        namespace: &str,
        keep_history: bool,
    ) -> Result<OperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/deployments/{}", seg(org), seg(cluster), seg(release));
        let keep = if keep_history { "true" } else { "false" };
        let query = [("namespace", namespace), ("keep_history", keep)];
        Self::json(self.send::<(), _>(Method::DELETE, &path, Some(&query[..]), None).await?).await
    }

    /// A cluster's nodes, as its API server reports them.
    pub async fn cluster_nodes(&self, org: &str, cluster: &str) -> Result<Vec<NodeView>, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/clusters/{}/nodes", seg(org), seg(cluster)), None).await
    }

    /// A cluster's namespaces, as its API server reports them.
    pub async fn cluster_namespaces(&self, org: &str, cluster: &str) -> Result<Vec<NamespaceView>, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/clusters/{}/namespaces", seg(org), seg(cluster)), None).await
    }

    /// Puts an organization's secret into a cluster as a Kubernetes Secret.
    pub async fn install_secret(
        &self,
        org: &str,
        cluster: &str,
        req: &InstallSecretRequest,
    ) -> Result<InstalledSecretView, ClientError> {
        self.post(&format!("/api/v1/orgs/{}/clusters/{}/secrets", seg(org), seg(cluster)), req).await
    }

    /// Starts changing a cluster (version, node pools, labels).
    pub async fn update_cluster(
        &self,
        org: &str,
        cluster: &str,
        req: &UpdateClusterRequest,
    ) -> Result<ClusterOperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}", seg(org), seg(cluster));
        Self::json(self.send::<_, ()>(Method::PATCH, &path, None, Some(req)).await?).await
    }

    /// A cluster's kubeconfig (YAML).
    pub async fn cluster_kubeconfig(&self, org: &str, cluster: &str) -> Result<String, ClientError> {
        let path = format!("/api/v1/orgs/{}/clusters/{}/config", seg(org), seg(cluster));
        let resp = self.send::<(), ()>(Method::GET, &path, None, None).await?;
        let url = resp.url().to_string();
        resp.text().await.map_err(|source| ClientError::Transport { url, source })
    }

    /// An operation and its steps.
    pub async fn get_operation(&self, org: &str, id: &str) -> Result<OperationView, ClientError> {
        self.get::<_, ()>(&format!("/api/v1/orgs/{}/operations/{}", seg(org), seg(id)), None).await
    }

    /// Asks an operation to stop.
    pub async fn cancel_operation(&self, org: &str, id: &str) -> Result<OperationView, ClientError> {
        let path = format!("/api/v1/orgs/{}/operations/{}/cancel", seg(org), seg(id));
        Self::json(self.send::<(), ()>(Method::POST, &path, None, None).await?).await
    }

    /// Polls an operation until it has ended (`succeeded`, `failed` or `cancelled`), or until
    /// `timeout`, whichever comes first; returns it as last seen.
    pub async fn wait_for_operation(
        &self,
        org: &str,
        id: &str,
        timeout: Duration,
    ) -> Result<OperationView, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let op = self.get_operation(org, id).await?;
            let ended = matches!(op.status.as_str(), "succeeded" | "failed" | "cancelled");
            if ended || tokio::time::Instant::now() >= deadline {
                return Ok(op);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
