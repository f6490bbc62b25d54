//! The caller of an operation. Every application-layer method takes an [`Actor`] and decides
//! from it, and from the caller's membership in the target organization, whether to proceed.

use crate::id::{TokenId, UserId};
use crate::name::UserName;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user acting.
    pub user_id: UserId,
    /// The user's login name, for the audit log.
    pub username: UserName,
    /// Server administrators create users; they get no access to an organization's data
    /// unless they are also its members.
    pub server_admin: bool,
    /// How the caller proved who they are.
    pub credential: Credential,
}

/// The credential a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A personal API token.
    ApiToken(TokenId),
    /// A short-lived session token from a password or single sign-on login.
    Session(TokenId),
    /// An access token (a JWT) from the identity provider, which reef does not store.
    IssuerToken,
}

impl Credential {
    /// The id of the reef token, if the credential is one.
    pub fn token_id(self) -> Option<TokenId> {
        match self {
            Credential::ApiToken(id) | Credential::Session(id) => Some(id),
            Credential::IssuerToken => None,
        }
    }
}
