//! API and session tokens, stored as SHA-256 hashes of their high-entropy secrets: checking
//! a token is one indexed lookup, and the table alone cannot be used to authenticate.

use chrono::{DateTime, Utc};
use reef_core::{Page, PageRequest, TokenId, TokenKind, TokenMeta, User, UserId};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_i64, get_opt_str, get_opt_time, get_parsed, get_str, get_time, millis};
use crate::{Store, StoreError};

fn token(row: &AnyRow) -> Result<TokenMeta, StoreError> {
    Ok(TokenMeta {
        id: get_parsed(row, "id")?,
        user_id: get_parsed(row, "user_id")?,
        kind: TokenKind::parse(&get_str(row, "kind")?).ok_or(StoreError::Corrupt { column: "tokens.kind" })?,
        name: get_parsed(row, "name")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_opt_time(row, "expires_at")?,
        last_used_at: get_opt_time(row, "last_used_at")?,
        revoked_at: get_opt_time(row, "revoked_at")?,
    })
}

const COLUMNS: &str = "t.id, t.user_id, t.kind, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

impl Store {
    /// Stores a new token's metadata and the hash of its secret.
    pub async fn insert_token(&self, meta: &TokenMeta, hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, kind, name, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(meta.id.to_string())
        .bind(meta.user_id.to_string())
        .bind(meta.kind.as_str())
        .bind(meta.name.as_str().to_owned())
        .bind(hash.to_owned())
        .bind(millis(meta.created_at))
        .bind(meta.expires_at.map(millis))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// The token whose secret hashes to `hash`, with its user; whether it is still active is
    /// the caller's to check.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<(TokenMeta, User)>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS}, u.username, u.server_admin, u.password_hash, u.created_at AS user_created_at \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1"
        )))
        .bind(hash.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        let meta = token(&row)?;
        let user = User {
            id: meta.user_id,
            username: get_parsed(&row, "username")?,
            server_admin: get_i64(&row, "server_admin")? != 0,
            has_password: get_opt_str(&row, "password_hash")?.is_some(),
            created_at: get_time(&row, "user_created_at")?,
        };
        Ok(Some((meta, user)))
    }

    /// Records that a token was used at `now`.
    pub async fn touch_token(&self, id: TokenId, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(millis(now))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// A user's tokens of one kind, ordered by id (oldest first).
    pub async fn tokens_of_user(
        &self,
        user: UserId,
        kind: TokenKind,
        page: &PageRequest,
    ) -> Result<Page<TokenMeta>, StoreError> {
        let after = page.after.as_ref().map(|c| c.key().to_owned()).unwrap_or_default();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tokens t WHERE t.user_id = $1 AND t.kind = $2 AND t.id > $3 ORDER BY t.id LIMIT $4"
        )))
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let items = rows.iter().map(token).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page.limit, |t| t.id.to_string()))
    }

    /// One of a user's tokens.
    pub async fn token_of_user(&self, user: UserId, id: TokenId) -> Result<Option<TokenMeta>, StoreError> {
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM tokens t WHERE t.user_id = $1 AND t.id = $2")))
                .bind(user.to_string())
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(token).transpose()
    }

    /// Revokes one of a user's tokens. `false` when the user has no such token; revoking a
    /// revoked token keeps its first revocation time.
    pub async fn revoke_token(&self, user: UserId, id: TokenId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE user_id = $2 AND id = $3")
                .bind(millis(now))
                .bind(user.to_string())
                .bind(id.to_string())
                .execute(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes session tokens that expired before `now`, returning how many.
    pub async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE kind = $1 AND expires_at < $2")
            .bind(TokenKind::Session.as_str())
            .bind(millis(now))
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }
}
