//! User accounts.

use chrono::{DateTime, Utc};
use reef_core::{User, UserId, UserName};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_i64, get_opt_str, get_parsed, get_time, millis};
use crate::{Store, StoreError};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The new user's id.
    pub id: UserId,
    /// The login name.
    pub username: UserName,
    /// The argon2id hash of the password, in PHC string form; `None` disables password login.
    pub password_hash: Option<String>,
    /// Whether the user administers the server.
    pub server_admin: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, username, password_hash, server_admin, created_at";

fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: get_parsed(row, "id")?,
        username: get_parsed(row, "username")?,
        server_admin: get_i64(row, "server_admin")? != 0,
        has_password: get_opt_str(row, "password_hash")?.is_some(),
        created_at: get_time(row, "created_at")?,
    })
}

impl Store {
    /// Creates a user; [`StoreError::Duplicate`] when the name is taken.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let mut conn = self.pool().acquire().await.map_err(StoreError::from_sqlx)?;
        insert_user(&mut conn, new).await
    }

    /// The number of users; zero before the first start's bootstrap.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await.map_err(StoreError::from_sqlx)?;
        Ok(row.0)
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(user).transpose()
    }

    /// A user by login name.
    pub async fn user_by_name(&self, name: &UserName) -> Result<Option<User>, StoreError> {
        Ok(self.user_credentials(name).await?.map(|(u, _)| u))
    }

    /// A user and their password hash, for a password login.
    pub async fn user_credentials(&self, name: &UserName) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE username = $1")))
            .bind(name.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        match row {
            Some(row) => Ok(Some((user(&row)?, get_opt_str(&row, "password_hash")?))),
            None => Ok(None),
        }
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.to_owned())
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }
}

/// Inserts a user on `conn` (a connection, or a transaction's).
pub(crate) async fn insert_user(conn: &mut sqlx::AnyConnection, new: &NewUser) -> Result<User, StoreError> {
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, server_admin, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.id.to_string())
    .bind(new.username.as_str().to_owned())
    .bind(new.password_hash.clone())
    .bind(i64::from(new.server_admin))
    .bind(millis(new.created_at))
    .execute(conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(User {
        id: new.id,
        username: new.username.clone(),
        server_admin: new.server_admin,
        has_password: new.password_hash.is_some(),
        created_at: new.created_at,
    })
}
