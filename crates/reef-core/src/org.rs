//! Organizations and their members.

use chrono::{DateTime, Utc};

use crate::id::{OrgId, UserId};
use crate::name::{OrgName, UserName};
use crate::role::Role;

/// An organization: the unit of ownership and isolation. Nothing in one organization is
/// visible from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The organization's id.
    pub id: OrgId,
    /// Its name, unique on the server.
    pub name: OrgName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// How a caller names an organization in a path: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    /// By id.
    Id(OrgId),
    /// By name.
    Name(OrgName),
}

impl OrgRef {
    /// Reads a path segment: a UUID is an id, anything else must be a valid name.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(id) = s.parse::<OrgId>() {
            return Some(OrgRef::Id(id));
        }
        OrgName::parse(s).ok().map(OrgRef::Name)
    }
}

/// A user's membership in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The organization.
    pub org_id: OrgId,
    /// The member.
    pub user_id: UserId,
    /// The member's login name.
    pub username: UserName,
    /// The member's role.
    pub role: Role,
    /// When the user joined.
    pub joined_at: DateTime<Utc>,
}
