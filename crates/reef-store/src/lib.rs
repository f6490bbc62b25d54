//! reef's persistent state: users, organizations, memberships, tokens, secrets, the audit
//! log, clusters and workflow runs, on SQLite (the embedded default) or PostgreSQL.
//!
//! One set of portable SQL serves both databases through sqlx's `Any` driver, and one set of
//! migrations, applied on start, defines the schema. Secret values reach this crate only as
//! ciphertext sealed by [`crypto::SecretCipher`]; nothing here stores a plaintext secret.
//!
//! This crate knows nothing about HTTP, authorization or providers: callers (reef-app) decide
//! who may do what and hand it typed, validated values.

pub mod audit;
pub mod chart_repos;
pub mod clusters;
pub mod crypto;
mod error;
pub mod orgs;
mod rows;
pub mod sealed;
pub mod secrets;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod workflows;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor as _;
use sqlx::SqlStr;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};

pub use error::StoreError;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (or memory, in tests).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A handle on the database. Cheap to clone; every clone shares one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/0001_foundation.sql")),
    (2, "workflows", include_str!("../migrations/0002_workflows.sql")),
    (3, "clusters", include_str!("../migrations/0003_clusters.sql")),
    (4, "cluster health", include_str!("../migrations/0004_cluster_health.sql")),
    (5, "chart repositories", include_str!("../migrations/0005_chart_repos.sql")),
    (6, "OCI registries", include_str!("../migrations/0006_oci_registries.sql")),
    (7, "secret value garbage", include_str!("../migrations/0007_secret_value_garbage.sql")),
    (8, "single sign-on", include_str!("../migrations/0008_single_sign_on.sql")),
    (9, "cluster options", include_str!("../migrations/0009_cluster_options.sql")),
];

impl Store {
    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) and applies every
    /// migration not yet applied. Several reef processes may start at once against one
    /// PostgreSQL: the migrator takes an advisory lock.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Connect)?;
        let pool_options = match backend {
            Backend::Sqlite => AnyPoolOptions::new().max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers proceed while one writer commits; a busy timeout
                    // makes concurrent writers wait instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect::<Vec<_>>();
        let mut migrator = Migrator::DEFAULT;
        migrator.migrations = Cow::Owned(migrations);
        migrator.run(&self.pool).await.map_err(StoreError::Migrate)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query; `/readyz` asks this.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
