//! Personal API tokens.

use chrono::{DateTime, Utc};
use reef_core::{Actor, Page, PageRequest, TokenId, TokenKind, TokenMeta, TokenName};

use crate::{App, AppError, IssuedToken};

impl App {
    /// Creates an API token for the caller. Without `expires_at` it lasts the configured
    /// default; it may not outlast the configured maximum.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: TokenName,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken, AppError> {
        let result = async {
            let now = self.now();
            let max =
                now + chrono::Duration::from_std(self.config.max_token_ttl).unwrap_or(chrono::Duration::days(730));
            let expires_at = match expires_at {
                Some(t) if t <= now => {
                    return Err(AppError::invalid("invalid_expiry", "expires_at must be in the future"));
                }
                Some(t) if t > max => {
                    return Err(AppError::invalid(
                        "invalid_expiry",
                        format!(
                            "expires_at may be at most {} days ahead",
                            self.config.max_token_ttl.as_secs() / 86_400
                        ),
                    ));
                }
                Some(t) => t,
                None => {
                    now + chrono::Duration::from_std(self.config.default_token_ttl)
                        .unwrap_or(chrono::Duration::days(90))
                }
            };
            self.issue_token(actor.user_id, TokenKind::Api, name.clone(), Some(expires_at)).await
        }
        .await;
        let target = result.as_ref().map(|t| t.meta.id.to_string()).unwrap_or_else(|_| name.to_string());
        self.record(actor, None, "token.create", "token", &target, &result).await;
        result
    }

    /// The caller's API tokens, without their secrets.
    pub async fn list_tokens(&self, actor: &Actor, page: &PageRequest) -> Result<Page<TokenMeta>, AppError> {
        Ok(self.store.tokens_of_user(actor.user_id, TokenKind::Api, page).await?)
    }

    /// Revokes one of the caller's API tokens. Another user's token is `NotFound`.
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<TokenMeta, AppError> {
        let result = async {
            let found = self.store.token_of_user(actor.user_id, id).await?;
            if found.as_ref().is_none_or(|t| t.kind != TokenKind::Api) {
                return Err(AppError::NotFound { kind: "token" });
            }
            self.store.revoke_token(actor.user_id, id, self.now()).await?;
            self.tokens.forget(id);
            self.store.token_of_user(actor.user_id, id).await?.ok_or(AppError::NotFound { kind: "token" })
        }
        .await;
        self.record(actor, None, "token.revoke", "token", &id.to_string(), &result).await;
        result
    }
}
