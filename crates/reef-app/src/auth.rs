//! Authentication: bearer tokens, password logins and the first start's bootstrap.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use reef_core::actor::Credential;
use reef_core::{Actor, OrgId, OrgName, TokenId, TokenKind, TokenMeta, TokenName, User, UserId, UserName};
use reef_store::StoreError;
use reef_store::users::NewUser;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{App, AppError};

const API_PREFIX: &str = "reef_pat_";
const SESSION_PREFIX: &str = "reef_ses_";

/// A token just created: its metadata and its secret, which is shown this once.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token's metadata.
    pub meta: TokenMeta,
    /// The bearer value. Never stored: only its hash is.
    pub secret: Zeroizing<String>,
}

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// The owner account.
    pub user: User,
    /// The organization `default`.
    pub org: OrgId,
    /// An API token for the owner.
    pub token: IssuedToken,
}

/// SHA-256 of a token's secret, hex: what the store keeps. Tokens carry 256 random bits, so
/// a fast hash is enough; a slow password hash would only make every request slower.
pub(crate) fn token_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn new_secret(kind: TokenKind) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    let prefix = match kind {
        TokenKind::Api => API_PREFIX,
        TokenKind::Session => SESSION_PREFIX,
    };
    Zeroizing::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

pub(crate) async fn hash_password(password: Zeroizing<String>) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|_| "salt")?;
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| "hash")
    })
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| AppError::invalid("invalid_password", "the password could not be hashed"))
}

pub(crate) async fn verify_password(password: Zeroizing<String>, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A password must be 8 to 1024 characters.
pub(crate) fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(AppError::invalid("invalid_password", "passwords are 8 to 1024 characters long"));
    }
    Ok(())
}

/// A hash of a random password, verified against when a login names no existing user, so
/// that the answer takes as long as for a wrong password.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl App {
    /// On the first start (no users yet), creates the owner account `admin`, the organization
    /// `default` and an API token for the owner. Returns `None` on later starts. Safe when
    /// several replicas start at once: only one bootstraps.
    pub async fn bootstrap(&self) -> Result<Option<Bootstrap>, AppError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let now = self.now();
        let username = UserName::parse("admin").map_err(|e| AppError::invalid("invalid_name", e.to_string()))?;
        let new = NewUser { id: UserId::new(), username, password_hash: None, server_admin: true, created_at: now };
        let user = match self.store.create_user(&new).await {
            Ok(user) => user,
            Err(StoreError::Duplicate) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let org_name = OrgName::parse("default").map_err(|e| AppError::invalid("invalid_name", e.to_string()))?;
        let org = self.store.create_org(OrgId::new(), &org_name, user.id, now).await?;
        let name = TokenName::parse("first start").map_err(|e| AppError::invalid("invalid_name", e.to_string()))?;
        let token = self.issue_token(user.id, TokenKind::Api, name, None).await?;
        self.record_system("server.bootstrap", "user", user.username.as_str()).await;
        Ok(Some(Bootstrap { user, org: org.id, token }))
    }

    pub(crate) async fn issue_token(
        &self,
        user: UserId,
        kind: TokenKind,
        name: TokenName,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken, AppError> {
        let secret = new_secret(kind);
        let meta = TokenMeta {
            id: TokenId::new(),
            user_id: user,
            kind,
            name,
            created_at: self.now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.store.insert_token(&meta, &token_hash(&secret)).await?;
        Ok(IssuedToken { meta, secret })
    }

    /// Identifies the caller from a bearer token: an API token or a session token.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor, AppError> {
        if !(bearer.starts_with(API_PREFIX) || bearer.starts_with(SESSION_PREFIX)) {
            if self.sso.is_some() && reef_oidc::jwt::looks_like_jwt(bearer) {
                return self.authenticate_issuer_token(bearer).await;
            }
            return Err(AppError::Unauthenticated("the bearer token is not a reef token"));
        }
        if bearer.len() > 128 {
            return Err(AppError::Unauthenticated("the bearer token is not a reef token"));
        }
        let hash = token_hash(bearer);
        let now = self.now();
        if let Some(actor) = self.tokens.get(&hash, now) {
            return Ok(actor);
        }
        let Some((meta, user)) = self.store.token_by_hash(&hash).await? else {
            return Err(AppError::Unauthenticated("the token is unknown or was revoked"));
        };
        if meta.revoked_at.is_some() {
            return Err(AppError::Unauthenticated("the token is unknown or was revoked"));
        }
        if !meta.is_active(now) {
            return Err(AppError::Unauthenticated("the token has expired"));
        }
        // Record use at most once a minute: a write on every request would serialize
        // readers behind SQLite's single writer.
        if meta.last_used_at.is_none_or(|t| now - t > chrono::Duration::seconds(60)) {
            self.store.touch_token(meta.id, now).await?;
        }
        let credential = match meta.kind {
            TokenKind::Api => Credential::ApiToken(meta.id),
            TokenKind::Session => Credential::Session(meta.id),
        };
        let actor = Actor { user_id: user.id, username: user.username, server_admin: user.server_admin, credential };
        self.tokens.insert(hash, actor.clone(), meta.expires_at);
        Ok(actor)
    }

    /// Logs a user in with a password and returns a short-lived session token.
    pub async fn login(&self, username: &str, password: Zeroizing<String>) -> Result<IssuedToken, AppError> {
        if !self.config.password_login {
            return Err(AppError::NotAllowed {
                code: "password_login_disabled",
                message: "password login is disabled on this server: log in with single sign-on (`reef login --sso`) \
                          or an API token"
                    .to_owned(),
            });
        }
        let found = match UserName::parse(username) {
            Ok(name) => self.store.user_credentials(&name).await?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some((user, Some(hash))) => (Some(user), hash),
            _ => (None, self.dummy_hash().await?),
        };
        let ok = verify_password(password, hash).await;
        let user = match (user, ok) {
            (Some(user), true) => user,
            _ => {
                self.record_login(username, None, false).await;
                return Err(AppError::InvalidCredentials);
            }
        };
        let name = TokenName::parse("password login").map_err(|e| AppError::invalid("invalid_name", e.to_string()))?;
        let ttl = chrono::Duration::from_std(self.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
        let token = self.issue_token(user.id, TokenKind::Session, name, Some(self.now() + ttl)).await?;
        self.record_login(username, Some(user.id), true).await;
        Ok(token)
    }

    /// Ends the caller's session (or revokes the API token it used). An identity provider's
    /// access token cannot be ended by reef: it stops working when it expires.
    pub async fn logout(&self, actor: &Actor) -> Result<(), AppError> {
        let Some(token) = actor.credential.token_id() else {
            return Err(AppError::conflict(
                "not_revocable",
                "this is the identity provider's access token: reef cannot end it; it stops working when it expires",
            ));
        };
        let result =
            self.store.revoke_token(actor.user_id, token, self.now()).await.map(|_| ()).map_err(AppError::from);
        self.tokens.forget(token);
        self.record(actor, None, "session.logout", "token", &token.to_string(), &result).await;
        result
    }

    async fn dummy_hash(&self) -> Result<String, AppError> {
        if let Some(h) = DUMMY_HASH.get() {
            return Ok(h.clone());
        }
        let mut random = [0u8; 18];
        rand::rng().fill_bytes(&mut random);
        let h = hash_password(Zeroizing::new(URL_SAFE_NO_PAD.encode(random))).await?;
        Ok(DUMMY_HASH.get_or_init(|| h).clone())
    }
}

impl App {
    /// Deletes session tokens that have expired, and single sign-on logins never finished;
    /// run periodically.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AppError> {
        self.store.purge_expired_sso_logins(self.now()).await?;
        Ok(self.store.purge_expired_sessions(self.now()).await?)
    }
}
