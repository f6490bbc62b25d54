//! Single sign-on: users linked to OpenID Connect identities, and logins under way.

use chrono::{DateTime, Utc};
use reef_core::{User, UserId};

use crate::rows::millis;
use crate::users::NewUser;
use crate::{Store, StoreError};

/// A login under way, between the authorization URL and the code's exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLogin {
    /// The `state` sent to the issuer, which names the login.
    pub state: String,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// Where the issuer sends the browser back to.
    pub redirect_uri: String,
    /// When the login can no longer be finished.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// The user linked to an identity.
    pub async fn user_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<User>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
                .bind(issuer.to_owned())
                .bind(subject.to_owned())
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        match row {
            Some((id,)) => self.user_by_id(id.parse().map_err(|_| StoreError::Corrupt { column: "user_id" })?).await,
            None => Ok(None),
        }
    }

    /// Creates a user linked to an identity, atomically; [`StoreError::Duplicate`] when the
    /// name is taken or the identity is linked already.
    pub async fn create_user_with_identity(
        &self,
        new: &NewUser,
        issuer: &str,
        subject: &str,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let user = crate::users::insert_user(&mut tx, new).await?;
        sqlx::query("INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer.to_owned())
            .bind(subject.to_owned())
            .bind(new.id.to_string())
            .bind(millis(new.created_at))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(user)
    }

    /// Whether a user is linked to an identity of `issuer`.
    pub async fn user_has_identity(&self, user: UserId, issuer: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM user_identities WHERE user_id = $1 AND issuer = $2")
            .bind(user.to_string())
            .bind(issuer.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(row.is_some())
    }

    /// Records a login under way.
    pub async fn insert_sso_login(&self, login: &SsoLogin) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sso_logins (state, sealed_verifier, nonce, redirect_uri, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(login.state.clone())
        .bind(login.sealed_verifier.clone())
        .bind(login.nonce.clone())
        .bind(login.redirect_uri.clone())
        .bind(millis(login.expires_at))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Takes a login under way by its state: it can be taken once, and not after it expired.
    pub async fn take_sso_login(&self, state: &str, now: DateTime<Utc>) -> Result<Option<SsoLogin>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let row: Option<(String, String, String, i64)> =
            sqlx::query_as("SELECT sealed_verifier, nonce, redirect_uri, expires_at FROM sso_logins WHERE state = $1")
                .bind(state.to_owned())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        let Some((sealed_verifier, nonce, redirect_uri, expires_at)) = row else {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(None);
        };
        let done = sqlx::query("DELETE FROM sso_logins WHERE state = $1")
            .bind(state.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        let expires_at = crate::rows::time(expires_at, "expires_at")?;
        if done.rows_affected() == 0 || expires_at <= now {
            return Ok(None);
        }
        Ok(Some(SsoLogin { state: state.to_owned(), sealed_verifier, nonce, redirect_uri, expires_at }))
    }

    /// Deletes logins that were never finished and can no longer be.
    pub async fn purge_expired_sso_logins(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }
}
