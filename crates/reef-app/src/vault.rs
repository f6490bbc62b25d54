//! A client for the KV version 2 secrets engine of Vault or OpenBao, as a secret backend:
//! write, read and delete one path's data, and list paths. It logs in with a token or with
//! AppRole (and logs in again when the token is about to expire or is refused).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reef_core::secret::SecretValues;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

const TIMEOUT: Duration = Duration::from_secs(10);

/// How reef logs in to Vault.
#[derive(Clone)]
pub enum VaultAuth {
    /// A token given by the operator.
    Token(Zeroizing<String>),
    /// AppRole: a role id and a secret id, exchanged at `auth/approle/login` for a token.
    AppRole {
        /// The role id.
        role_id: String,
        /// The secret id.
        secret_id: Zeroizing<String>,
    },
}

impl std::fmt::Debug for VaultAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultAuth::Token(_) => f.write_str("Token(..)"),
            VaultAuth::AppRole { role_id, .. } => f.debug_struct("AppRole").field("role_id", role_id).finish(),
        }
    }
}

/// Where Vault is and how to reach its KV v2 engine.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Vault's address, e.g. `https://vault.example.com:8200`.
    pub address: String,
    /// How to log in.
    pub auth: VaultAuth,
    /// The KV v2 engine's mount path [`secret`].
    pub mount: String,
    /// The path under the mount where reef keeps values [`reef`].
    pub prefix: String,
}

/// Why a Vault call failed. Never carries a token or a value.
#[derive(Debug, Error)]
pub enum VaultError {
    /// Vault does not answer, answers 5xx, or is sealed: the call may work later.
    #[error("Vault at {address} is unavailable: {reason}")]
    Unavailable {
        /// Vault's address.
        address: String,
        /// What happened.
        reason: String,
    },
    /// Vault refused reef's credentials or the permission for the path.
    #[error("Vault refused reef access to {path} (HTTP {status}): check reef's token or AppRole and its policy")]
    Denied {
        /// The path.
        path: String,
        /// The HTTP status.
        status: u16,
    },
    /// The path holds no data.
    #[error("Vault holds nothing at {path}")]
    Missing {
        /// The path.
        path: String,
    },
    /// Vault answered something reef did not expect.
    #[error("Vault answered {path} unexpectedly: {reason}")]
    Unexpected {
        /// The path.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

struct Login {
    token: Zeroizing<String>,
    /// When to log in again; `None` for a token given by the operator.
    renew_at: Option<Instant>,
}

/// A Vault KV v2 client. Cheap to share behind an `Arc`.
pub struct Vault {
    config: VaultConfig,
    http: reqwest::Client,
    login: Mutex<Option<Login>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("config", &self.config).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AuthResponse {
    auth: AuthBody,
}

#[derive(Deserialize)]
struct AuthBody {
    client_token: String,
    lease_duration: u64,
}

#[derive(Deserialize)]
struct ReadResponse {
    data: ReadData,
}

#[derive(Deserialize)]
struct ReadData {
    data: Option<SecretValues>,
}

#[derive(Deserialize)]
struct ListResponse {
    data: ListData,
}

#[derive(Deserialize)]
struct ListData {
    keys: Vec<String>,
}

impl Vault {
    /// A client for `config`. Makes no call: the first call logs in.
    pub fn new(config: VaultConfig) -> Result<Vault, VaultError> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| VaultError::Unavailable {
            address: config.address.clone(),
            reason: format!("no HTTP client: {e}"),
        })?;
        let mut config = config;
        config.address = config.address.trim_end_matches('/').to_owned();
        config.mount = config.mount.trim_matches('/').to_owned();
        config.prefix = config.prefix.trim_matches('/').to_owned();
        Ok(Vault { config, http, login: Mutex::new(None) })
    }

    /// The engine's mount path.
    pub fn mount(&self) -> &str {
        &self.config.mount
    }

    /// The path under the mount where reef keeps values.
    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> VaultError {
        VaultError::Unavailable { address: self.config.address.clone(), reason: reason.to_string() }
    }

    async fn token(&self) -> Result<Zeroizing<String>, VaultError> {
        let mut login = self.login.lock().await;
        if let Some(l) = login.as_ref()
            && l.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(l.token.clone());
        }
        let fresh = match &self.config.auth {
            VaultAuth::Token(token) => Login { token: token.clone(), renew_at: None },
            VaultAuth::AppRole { role_id, secret_id } => {
                let url = format!("{}/v1/auth/approle/login", self.config.address);
                let body = serde_json::json!({ "role_id": role_id, "secret_id": secret_id.as_str() });
                let response = self.http.post(&url).json(&body).send().await.map_err(|e| self.unavailable(e))?;
                let status = response.status();
                if status.is_server_error() {
                    return Err(self.unavailable(format!("the AppRole login answered HTTP {status}")));
                }
                if !status.is_success() {
                    return Err(VaultError::Denied { path: "auth/approle/login".into(), status: status.as_u16() });
                }
                let auth: AuthResponse = response
                    .json()
                    .await
                    .map_err(|e| VaultError::Unexpected { path: "auth/approle/login".into(), reason: e.to_string() })?;
                // Log in again when two thirds of the token's life are gone.
                let life = Duration::from_secs(auth.auth.lease_duration.max(3));
                Login { token: Zeroizing::new(auth.auth.client_token), renew_at: Some(Instant::now() + life * 2 / 3) }
            }
        };
        let token = fresh.token.clone();
        *login = Some(fresh);
        Ok(token)
    }

    async fn forget_login(&self) {
        *self.login.lock().await = None;
    }

    /// One call to `path` (under `/v1/`), logging in again once if the token is refused.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<reqwest::Response>, VaultError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let url = format!("{}/v1/{path}", self.config.address);
            let mut request = self.http.request(method.clone(), &url).header("X-Vault-Token", token.as_str());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| self.unavailable(e))?;
            let status = response.status();
            match status {
                s if s.is_success() => return Ok(Some(response)),
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED
                    if attempt == 0 && matches!(self.config.auth, VaultAuth::AppRole { .. }) =>
                {
                    self.forget_login().await;
                }
                StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
                    return Err(VaultError::Denied { path: path.to_owned(), status: status.as_u16() });
                }
                s if s.is_server_error() => {
                    return Err(self.unavailable(format!("HTTP {s} for {path}")));
                }
                s => {
                    let text = response.text().await.unwrap_or_default();
                    return Err(VaultError::Unexpected {
                        path: path.to_owned(),
                        reason: format!("HTTP {s}: {}", text.chars().take(300).collect::<String>()),
                    });
                }
            }
        }
        Err(VaultError::Denied { path: path.to_owned(), status: 403 })
    }

    /// Writes `data` as the new version of the KV path `path` (relative to the mount).
    pub async fn write(&self, path: &str, data: &BTreeMap<String, String>) -> Result<(), VaultError> {
        let api = format!("{}/data/{path}", self.config.mount);
        let body = serde_json::json!({ "data": data });
        match self.call(Method::POST, &api, Some(&body)).await? {
            Some(_) => Ok(()),
            None => Err(VaultError::Unexpected {
                path: api,
                reason: format!("no KV version 2 engine is mounted at `{}`", self.config.mount),
            }),
        }
    }

    /// Reads the latest version of the KV path `path`.
    pub async fn read(&self, path: &str) -> Result<SecretValues, VaultError> {
        let api = format!("{}/data/{path}", self.config.mount);
        let Some(response) = self.call(Method::GET, &api, None).await? else {
            return Err(VaultError::Missing { path: api });
        };
        let read: ReadResponse =
            response.json().await.map_err(|e| VaultError::Unexpected { path: api.clone(), reason: e.to_string() })?;
        // A deleted latest version reads as `data: null`.
        read.data.data.ok_or(VaultError::Missing { path: api })
    }

    /// Deletes the KV path `path` with every version of it. Deleting what is not there succeeds.
    pub async fn delete(&self, path: &str) -> Result<(), VaultError> {
        let api = format!("{}/metadata/{path}", self.config.mount);
        self.call(Method::DELETE, &api, None).await.map(|_| ())
    }

    /// The keys directly under the KV folder `path` (a folder's key ends with `/`).
    pub async fn list(&self, path: &str) -> Result<Vec<String>, VaultError> {
        let api = format!("{}/metadata/{path}", self.config.mount);
        let method = Method::from_bytes(b"LIST").map_err(|e| self.unavailable(e))?;
        match self.call(method, &api, None).await? {
            None => Ok(Vec::new()),
            Some(response) => {
                let list: ListResponse = response
                    .json()
                    .await
                    .map_err(|e| VaultError::Unexpected { path: api.clone(), reason: e.to_string() })?;
                Ok(list.data.keys)
            }
        }
    }
}
