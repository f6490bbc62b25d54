//! User accounts.

use reef_core::{Actor, User, UserId, UserName};
use reef_store::users::NewUser;
use zeroize::Zeroizing;

use crate::auth::{check_password, hash_password, verify_password};
use crate::{App, AppError};

impl App {
    /// The caller's own account.
    pub async fn whoami(&self, actor: &Actor) -> Result<User, AppError> {
        self.store.user_by_id(actor.user_id).await?.ok_or(AppError::Unauthenticated("the account no longer exists"))
    }

    /// Creates a user account. Server administrators only.
    pub async fn create_user(
        &self,
        actor: &Actor,
        username: UserName,
        password: Option<Zeroizing<String>>,
        server_admin: bool,
    ) -> Result<User, AppError> {
        let result = async {
            if !actor.server_admin {
                return Err(AppError::ServerAdminRequired);
            }
            let password_hash = match password {
                Some(p) => {
                    check_password(&p)?;
                    Some(hash_password(p).await?)
                }
                None => None,
            };
            let new = NewUser {
                id: UserId::new(),
                username: username.clone(),
                password_hash,
                server_admin,
                created_at: self.now(),
            };
            self.store.create_user(&new).await.map_err(|e| match e {
                reef_store::StoreError::Duplicate => {
                    AppError::conflict("name_taken", format!("a user named `{username}` already exists"))
                }
                e => e.into(),
            })
        }
        .await;
        self.record(actor, None, "user.create", "user", username.as_str(), &result).await;
        result
    }

    /// Sets the caller's password. When the account has one, the current password must be given.
    pub async fn set_own_password(
        &self,
        actor: &Actor,
        current: Option<Zeroizing<String>>,
        new: Zeroizing<String>,
    ) -> Result<(), AppError> {
        let result = async {
            check_password(&new)?;
            let (_, hash) = self
                .store
                .user_credentials(&actor.username)
                .await?
                .ok_or(AppError::Unauthenticated("the account no longer exists"))?;
            if let Some(hash) = hash {
                let current = current.ok_or_else(|| {
                    AppError::invalid("current_password_required", "give the current password to change it")
                })?;
                if !verify_password(current, hash).await {
                    return Err(AppError::InvalidCredentials);
                }
            }
            let hash = hash_password(new).await?;
            self.store.set_password_hash(actor.user_id, &hash).await?;
            Ok(())
        }
        .await;
        self.record(actor, None, "user.set_password", "user", actor.username.as_str(), &result).await;
        result
    }
}
