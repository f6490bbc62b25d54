//! Single sign-on with an OpenID Connect issuer.
//!
//! - A login runs the authorization code flow with PKCE: [`App::sso_start`] records the login
//!   (its PKCE verifier sealed) and returns the issuer's URL; the browser comes back to the
//!   caller's redirect URI with a code, which [`App::sso_finish`] exchanges. The ID token is
//!   verified; the user linked to its issuer and subject is found, or created from its claims;
//!   the user gets a session token.
//! - Machine clients present the issuer's JWT access tokens as bearer tokens; they are verified
//!   against the issuer's keys, and map to a user the same way.
//! - At each login and each new access token, the user's groups (a claim) set their roles in
//!   the organizations the group mapping names: a group left is a role lost.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reef_core::actor::Credential;
use reef_core::{Actor, OrgName, Role, TokenKind, TokenName, User, UserId, UserName};
use reef_oidc::{Oidc, OidcError};
use reef_store::StoreError;
use reef_store::orgs::MemberChange;
use reef_store::sso::SsoLogin;
use reef_store::users::NewUser;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::auth::{IssuedToken, token_hash};
use crate::{App, AppError};

/// How long a login may take between its start and its finish.
const LOGIN_TTL_MINUTES: i64 = 10;

/// One line of the group mapping: members of `group` get `role` in `org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    /// The group, as the groups claim names it.
    pub group: String,
    /// The organization.
    pub org: OrgName,
    /// The role.
    pub role: Role,
}

impl std::str::FromStr for GroupRole {
    type Err = String;

    /// `GROUP=ORG:ROLE`, e.g. `platform=default:admin`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shape = || format!("`{s}` is not GROUP=ORG:ROLE (e.g. platform=default:admin)");
        let (group, rest) = s.rsplit_once('=').ok_or_else(shape)?;
        let (org, role) = rest.split_once(':').ok_or_else(shape)?;
        if group.is_empty() {
            return Err(shape());
        }
        let org = OrgName::parse(org).map_err(|e| format!("`{s}`: {e}"))?;
        let role = match role {
            "viewer" => Role::Viewer,
            "member" => Role::Member,
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            _ => return Err(format!("`{s}`: the role must be viewer, member, admin or owner")),
        };
        Ok(GroupRole { group: group.to_owned(), org, role })
    }
}

/// Single sign-on's settings.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// The issuer.
    pub oidc: Arc<Oidc>,
    /// The claim that carries a user's groups (a list of strings, or one string).
    pub groups_claim: String,
    /// The claim a new user's login name comes from (then `email`, then `sub`).
    pub username_claim: String,
    /// Which groups give which roles.
    pub group_roles: Vec<GroupRole>,
    /// Redirect URIs a login may use besides loopback ones (`http://127.0.0.1:PORT/...`,
    /// `http://localhost:PORT/...`, `http://[::1]:PORT/...`), which a CLI listens on.
    pub redirect_uris: Vec<String>,
}

/// A login started: where to send the browser.
#[derive(Debug, Clone)]
pub struct SsoStart {
    /// The issuer's authorization URL.
    pub authorization_url: String,
    /// The login's `state`, which the browser brings back with the code.
    pub state: String,
    /// When the login can no longer be finished.
    pub expires_at: DateTime<Utc>,
}

/// A redirect URI on the loopback interface, over plain HTTP, as RFC 8252 has native
/// applications use.
fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else { return false };
    url.scheme() == "http"
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

fn oidc_error(e: OidcError) -> AppError {
    match e {
        OidcError::Unavailable { .. } => AppError::DependencyDown {
            code: "identity_provider_unavailable",
            message: format!("{e}; single sign-on cannot complete until it is back"),
        },
        OidcError::Misconfigured(_) => {
            AppError::DependencyFailed { code: "identity_provider_misconfigured", message: e.to_string() }
        }
        OidcError::Refused(_) => AppError::Unauthenticated("the identity provider refused the login"),
        OidcError::Token(e) => AppError::Unauthenticated(e.reason()),
    }
}

/// The groups in a token's claims.
fn groups(claims: &Map<String, Value>, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A login name from a claim: lowercased, with characters a name cannot hold made `-`.
fn sanitize(name: &str) -> Option<String> {
    let cleaned: String =
        name.to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@') { c } else { '-' }
            })
            .take(56)
            .collect();
    let trimmed = cleaned.trim_matches('-');
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn context(state: &str) -> String {
    format!("sso-login/{state}")
}

impl App {
    /// The application with single sign-on.
    #[must_use]
    pub fn with_sso(mut self, config: SsoConfig) -> Self {
        self.sso = Some(Arc::new(config));
        self
    }

    fn sso(&self) -> Result<&SsoConfig, AppError> {
        self.sso.as_deref().ok_or_else(|| AppError::NotAllowed {
            code: "sso_not_configured",
            message: "single sign-on is not configured on this server (--oidc-issuer)".to_owned(),
        })
    }

    /// Starts a login that will come back to `redirect_uri`.
    pub async fn sso_start(&self, redirect_uri: &str) -> Result<SsoStart, AppError> {
        let sso = self.sso()?;
        if !(is_loopback_redirect(redirect_uri) || sso.redirect_uris.iter().any(|u| u == redirect_uri)) {
            return Err(AppError::invalid(
                "invalid_redirect_uri",
                "the redirect URI must be a loopback one (http://127.0.0.1:PORT/...) or one the server allows \
                 (--oidc-redirect-uri)",
            ));
        }
        let state = reef_oidc::random_token();
        let nonce = reef_oidc::random_token();
        let verifier = zeroize::Zeroizing::new(reef_oidc::random_token());
        let authorization_url =
            sso.oidc.authorization_url(redirect_uri, &state, &nonce, &verifier).await.map_err(oidc_error)?;
        let sealed_verifier = self
            .secrets
            .cipher()
            .seal(verifier.as_bytes(), &context(&state))
            .map_err(|e| AppError::Internal(StoreError::from(e)))?;
        let expires_at = self.now() + chrono::Duration::minutes(LOGIN_TTL_MINUTES);
        let login = SsoLogin {
            state: state.clone(),
            sealed_verifier,
            nonce,
            redirect_uri: redirect_uri.to_owned(),
            expires_at,
        };
        self.store.insert_sso_login(&login).await?;
        Ok(SsoStart { authorization_url, state, expires_at })
    }

    /// Finishes a login: exchanges the code the browser brought back with `state`, and returns
    /// a session token for the user the ID token names (created on their first login).
    pub async fn sso_finish(&self, state: &str, code: &str) -> Result<(User, IssuedToken), AppError> {
        let sso = self.sso()?;
        let Some(login) = self.store.take_sso_login(state, self.now()).await? else {
            return Err(AppError::Unauthenticated(
                "the login is unknown, was finished already or expired; start again",
            ));
        };
        let verifier = self
            .secrets
            .cipher()
            .open(&login.sealed_verifier, &context(state))
            .map_err(|e| AppError::Internal(StoreError::from(e)))?;
        let verifier = String::from_utf8_lossy(&verifier).into_owned();
        let tokens = sso.oidc.exchange(code, &login.redirect_uri, &verifier).await.map_err(oidc_error)?;
        let id_token =
            tokens.id_token.ok_or(AppError::Unauthenticated("the identity provider returned no ID token"))?;
        let claims = sso.oidc.verify_id_token(&id_token, &login.nonce).await.map_err(oidc_error)?;
        let user = self.sso_user(sso, &claims).await?;
        let name = TokenName::parse("single sign-on").map_err(|e| AppError::invalid("invalid_name", e.to_string()))?;
        let ttl = chrono::Duration::from_std(self.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
        let token = self.issue_token(user.id, TokenKind::Session, name, Some(self.now() + ttl)).await?;
        self.record_login(user.username.as_str(), Some(user.id), true).await;
        Ok((user, token))
    }

    /// Identifies a caller by an access token of the identity provider.
    pub(crate) async fn authenticate_issuer_token(&self, bearer: &str) -> Result<Actor, AppError> {
        let sso = self.sso()?;
        let hash = token_hash(bearer);
        let now = self.now();
        if let Some(actor) = self.tokens.get(&hash, now) {
            return Ok(actor);
        }
        let claims = sso.oidc.verify_access_token(bearer).await.map_err(oidc_error)?;
        let user = self.sso_user(sso, &claims).await?;
        let actor = Actor {
            user_id: user.id,
            username: user.username,
            server_admin: user.server_admin,
            credential: Credential::IssuerToken,
        };
        let expires_at = claims.get("exp").and_then(Value::as_i64).and_then(|s| DateTime::from_timestamp(s, 0));
        self.tokens.insert(hash, actor.clone(), expires_at);
        Ok(actor)
    }

    /// The user a verified token's claims name, created on first sight, with their roles set
    /// from the token's groups.
    async fn sso_user(&self, sso: &SsoConfig, claims: &Map<String, Value>) -> Result<User, AppError> {
        let issuer = sso.oidc.config().issuer.as_str();
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(AppError::Unauthenticated("the token names no subject (sub)"))?;
        let user = match self.store.user_by_identity(issuer, subject).await? {
            Some(user) => user,
            None => self.create_sso_user(sso, issuer, subject, claims).await?,
        };
        self.apply_group_roles(sso, &user, &groups(claims, &sso.groups_claim)).await?;
        Ok(user)
    }

    async fn create_sso_user(
        &self,
        sso: &SsoConfig,
        issuer: &str,
        subject: &str,
        claims: &Map<String, Value>,
    ) -> Result<User, AppError> {
        // A name the claims suggest; if it is taken (by a local user, or another identity),
        // the user gets it with a suffix from the identity instead: an identity provider must
        // never be able to log in as an existing account by naming it.
        let suggested = [sso.username_claim.as_str(), "email", "sub"]
            .iter()
            .find_map(|c| claims.get(*c).and_then(Value::as_str).and_then(sanitize))
            .unwrap_or_else(|| "user".to_owned());
        let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
        let suffix: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
        for candidate in [suggested.clone(), format!("{suggested}-{suffix}")] {
            let Ok(username) = UserName::parse(&candidate) else { continue };
            let new = NewUser {
                id: UserId::new(),
                username,
                password_hash: None,
                server_admin: false,
                created_at: self.now(),
            };
            match self.store.create_user_with_identity(&new, issuer, subject).await {
                Ok(user) => {
                    self.record_system("user.create", "user", user.username.as_str()).await;
                    return Ok(user);
                }
                Err(StoreError::Duplicate) => {
                    // Another request may just have created this very identity.
                    if let Some(user) = self.store.user_by_identity(issuer, subject).await? {
                        return Ok(user);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::conflict("username_taken", "no free login name for this identity; ask an administrator"))
    }

    /// Sets the user's role in every organization the mapping names from their groups: the
    /// highest role a group gives, or none (the membership is removed).
    async fn apply_group_roles(&self, sso: &SsoConfig, user: &User, groups: &[String]) -> Result<(), AppError> {
        let mut wanted: BTreeMap<&OrgName, Option<Role>> = BTreeMap::new();
        for line in &sso.group_roles {
            let entry = wanted.entry(&line.org).or_insert(None);
            if groups.contains(&line.group) {
                *entry = Some(entry.map_or(line.role, |r| r.max(line.role)));
            }
        }
        for (org_name, role) in wanted {
            let Some(org) = self.store.org_by_name(org_name).await? else {
                tracing::warn!(org = %org_name, "the single sign-on group mapping names an organization that does not exist");
                continue;
            };
            let current = self.store.member(org.id, user.id).await?.map(|m| m.role);
            if current == role {
                continue;
            }
            let outcome = match (current, role) {
                (None, Some(role)) => {
                    self.store.add_member(org.id, user.id, role, self.now()).await.map(|()| MemberChange::Done)
                }
                (Some(_), Some(role)) => self.store.set_member_role(org.id, user.id, role).await,
                (Some(_), None) => self.store.remove_member(org.id, user.id).await,
                (None, None) => continue,
            };
            match outcome {
                Ok(MemberChange::LastOwner) => {
                    tracing::warn!(org = %org_name, user = %user.username, "groups would leave the organization without an owner; the role is kept");
                }
                Ok(_) | Err(StoreError::Duplicate) => {}
                Err(e) => return Err(e.into()),
            }
            self.memberships.forget_org(org.id);
            let change = match role {
                Some(r) => format!("{}:{}", user.username, r.as_str()),
                None => format!("{}:none", user.username),
            };
            self.record_system("member.sso_sync", "member", &change).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_mapping_line_reads_group_org_and_role() {
        let line: GroupRole = "platform=default:admin".parse().unwrap();
        assert_eq!((line.group.as_str(), line.org.as_str(), line.role), ("platform", "default", Role::Admin));
        // A group may itself hold `=`: the last one splits.
        assert_eq!("a=b=team:viewer".parse::<GroupRole>().unwrap().group, "a=b");
        assert!("platform".parse::<GroupRole>().is_err());
        assert!("platform=default".parse::<GroupRole>().is_err());
        assert!("platform=default:root".parse::<GroupRole>().unwrap_err().contains("viewer, member, admin or owner"));
        assert!("=default:admin".parse::<GroupRole>().is_err());
    }

    #[test]
    fn only_loopback_http_redirects_are_taken_without_configuration() {
        assert!(is_loopback_redirect("http://127.0.0.1:53123/callback"));
        assert!(is_loopback_redirect("http://localhost:8080/cb"));
        assert!(is_loopback_redirect("http://[::1]:8080/cb"));
        assert!(!is_loopback_redirect("https://evil.example/cb"));
        assert!(!is_loopback_redirect("http://127.0.0.1.evil.example/cb"));
        assert!(!is_loopback_redirect("http://user@127.0.0.1:1/cb"));
        assert!(!is_loopback_redirect("not a url"));
    }

    #[test]
    fn names_from_claims_become_valid_login_names() {
        assert_eq!(sanitize("Alice Smith").as_deref(), Some("alice-smith"));
        assert_eq!(sanitize("bob@example.com").as_deref(), Some("bob@example.com"));
        assert_eq!(sanitize("***"), None);
        assert!(UserName::parse(sanitize(&"x".repeat(200)).unwrap()).is_ok());
    }
}
