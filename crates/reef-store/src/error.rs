use thiserror::Error;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL names no supported database.
    #[error("unsupported database URL: expected sqlite:// or postgres://")]
    UnsupportedUrl,
    /// The database could not be reached.
    #[error("connecting to the database failed")]
    Connect(#[source] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("applying database migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A row with the same unique key exists.
    #[error("an object with the same name already exists")]
    Duplicate,
    /// The database is unreachable or overloaded right now.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A query failed.
    #[error("a database query failed")]
    Query(#[source] sqlx::Error),
    /// A row holds a value this version of reef cannot read.
    #[error("the database holds a malformed value in {column}")]
    Corrupt {
        /// Where the value was.
        column: &'static str,
    },
    /// Sealing or opening a secret failed.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
}

impl StoreError {
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => StoreError::Unavailable(err),
            _ => StoreError::Query(err),
        }
    }
}
