//! User accounts and their tokens.

use chrono::{DateTime, Utc};

use crate::id::{TokenId, UserId};
use crate::name::{TokenName, UserName};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The login name.
    pub username: UserName,
    /// Whether the user administers this reef server (creates users).
    pub server_admin: bool,
    /// Whether the user can log in with a password.
    pub has_password: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A personal API token, long-lived, created and revoked by its owner.
    Api,
    /// A session token from a password login, short-lived.
    Session,
}

impl TokenKind {
    /// The kind's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }

    /// Parses the kind's name in the store.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(TokenKind::Api),
            "session" => Some(TokenKind::Session),
            _ => None,
        }
    }
}

/// A token's metadata. The token's secret is shown once, at creation, and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMeta {
    /// The token's id.
    pub id: TokenId,
    /// Whose token it is.
    pub user_id: UserId,
    /// API or session token.
    pub kind: TokenKind,
    /// The label its owner gave it.
    pub name: TokenName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used to authenticate, to within a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenMeta {
    /// Whether the token authenticates at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}
