//! reef's application layer: one method per operation.
//!
//! Every method that acts on behalf of a caller takes the caller's [`Actor`](reef_core::Actor), decides whether
//! the caller may act (roles are checked here, never in handlers), does the work through the
//! store, and records every mutating call in the audit log, whatever its outcome.
//!
//! This crate must not depend on axum, HTTP types or a database driver: reef-api adapts it to
//! HTTP, reef-store to a database.

mod audit;
mod auth;
pub mod charts;
mod cluster_access;
pub mod cluster_workflows;
mod clusters;
pub mod deployments;
mod error;
mod members;
mod membership_cache;
mod oci;
mod orgs;
pub mod secret_backend;
mod secrets;
pub mod sso;
mod token_cache;
mod tokens;
mod users;
pub mod vault;

use std::time::Duration;

use chrono::{DateTime, Utc};
use reef_store::Store;
use reef_workflow::{Engine, EngineOptions};
use secret_backend::SecretBackend;

use crate::cluster_workflows::{ClusterEnv, Providers};

pub use audit::AuditQuery;
pub use auth::{Bootstrap, IssuedToken};
pub use cluster_access::{InstalledSecret, SecretInstall};
pub use clusters::{ClusterChange, ClusterFailure, ClusterOperation, ClusterRef, OperationView};
pub use error::AppError;
pub use reef_core as core;
pub use reef_kube::{NamespaceInfo, NodeInfo};
pub use reef_provider::Catalog;
pub use reef_store::clusters::ClusterFilter;
pub use reef_store::secrets::{SecretFilter, SecretRef, SecretVersion};
pub use secrets::{NewSecret, SecretChange, SecretView};

/// Settings the application layer needs, decided once by the composition root.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a session token from a password login lasts.
    pub session_ttl: Duration,
    /// How long a new API token lasts when its creator gives no expiry.
    pub default_token_ttl: Duration,
    /// The longest an API token may last.
    pub max_token_ttl: Duration,
    /// How long an authenticated token, and a caller's membership in an organization, are
    /// remembered in this process before they are looked up again; zero looks them up on every
    /// request. A token revoked, or a membership changed, through another replica takes effect
    /// here within this time.
    pub auth_cache_ttl: Duration,
    /// Whether users may log in with a password (API tokens work either way).
    pub password_login: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl: Duration::from_secs(12 * 3600),
            default_token_ttl: Duration::from_secs(90 * 24 * 3600),
            max_token_ttl: Duration::from_secs(2 * 365 * 24 * 3600),
            auth_cache_ttl: Duration::from_secs(5),
            password_login: true,
        }
    }
}

/// The application: the store, the secret cipher, settings, and the engine that runs cluster
/// operations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    secrets: SecretBackend,
    sso: Option<std::sync::Arc<sso::SsoConfig>>,
    config: AppConfig,
    tokens: std::sync::Arc<token_cache::TokenCache>,
    memberships: std::sync::Arc<membership_cache::MembershipCache>,
    cluster_env: std::sync::Arc<ClusterEnv>,
    clusters: std::sync::Arc<Engine<ClusterEnv>>,
}

impl App {
    /// Builds the application over a store and the backend for secret values (or just the
    /// cipher, for the built-in backend). It offers no cluster provider until
    /// [`App::with_clusters`] gives it some.
    pub fn new(store: Store, secrets: impl Into<SecretBackend>, config: AppConfig) -> Self {
        let secrets = secrets.into();
        let tokens = std::sync::Arc::new(token_cache::TokenCache::new(config.auth_cache_ttl));
        let memberships = std::sync::Arc::new(membership_cache::MembershipCache::new(config.auth_cache_ttl));
        let cluster_env = std::sync::Arc::new(ClusterEnv::new(store.clone(), secrets.clone(), Providers::default()));
        let clusters = std::sync::Arc::new(Engine::new(store.clone(), cluster_env.clone(), EngineOptions::default()));
        App { store, secrets, sso: None, config, tokens, memberships, cluster_env, clusters }
    }

    /// The application with the engine that runs cluster operations. `engine` must be built
    /// over `env` (whose providers the API offers), with each provider's create and delete
    /// workflows registered ([`cluster_workflows::create_workflow`],
    /// [`cluster_workflows::delete_workflow`]); its workers are the caller's to start and stop.
    #[must_use]
    pub fn with_clusters(
        mut self,
        env: std::sync::Arc<ClusterEnv>,
        engine: std::sync::Arc<Engine<ClusterEnv>>,
    ) -> Self {
        self.cluster_env = env;
        self.clusters = engine;
        self
    }

    /// Whether the store answers; `/readyz` asks this.
    pub async fn ready(&self) -> Result<(), AppError> {
        self.store.ping().await.map_err(AppError::from)
    }

    /// The store (for the composition root's shutdown).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current time, to the millisecond: what the store keeps, so that a value returned
    /// on creation is the value read back later.
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }
}
