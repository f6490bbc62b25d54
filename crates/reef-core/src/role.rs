//! Organization roles and the operations each role may perform.
//!
//! Authorization happens in the application layer, once per operation, by asking
//! [`Role::allows`]; handlers never decide who may do what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A member's role in an organization. Roles are ordered: each may do everything the one
/// below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads metadata: the organization, its members, secrets' names and types. Never a
    /// secret's values or a kubeconfig.
    Viewer,
    /// Everything a viewer may, and creates, changes and deletes the organization's resources.
    Member,
    /// Everything a member may, and reads secret values, manages members other than owners,
    /// and reads the audit log.
    Admin,
    /// Everything, including granting or removing the owner role and deleting the organization.
    Owner,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    /// The role's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Whether a member with this role may perform `op`.
    pub fn allows(self, op: Operation) -> bool {
        self >= op.minimum_role()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role (expected one of: viewer, member, admin, owner)")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

/// Everything a caller can do inside an organization. Each operation names the least role
/// that may perform it; the audit log records operations by [`Operation::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Read the organization's metadata.
    ReadOrganization,
    /// Delete the organization and everything in it.
    DeleteOrganization,
    /// List members and their roles.
    ListMembers,
    /// Add a member, change a member's role, or remove a member.
    ManageMembers,
    /// List secrets and read their metadata (name, type, tags, versions), never values.
    ReadSecretMetadata,
    /// Read a secret's values.
    ReadSecretValues,
    /// Create, update or delete a secret.
    WriteSecrets,
    /// Read the organization's audit log.
    ReadAudit,
    /// List clusters and read their status, and read operations (their steps and errors).
    ReadClusters,
    /// Create, change or delete a cluster, and cancel an operation.
    WriteClusters,
    /// Read a cluster's kubeconfig: a credential for the cluster, never for a viewer.
    ReadKubeconfig,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 11] = [
        Operation::ReadOrganization,
        Operation::DeleteOrganization,
        Operation::ListMembers,
        Operation::ManageMembers,
        Operation::ReadSecretMetadata,
        Operation::ReadSecretValues,
        Operation::WriteSecrets,
        Operation::ReadAudit,
        Operation::ReadClusters,
        Operation::WriteClusters,
        Operation::ReadKubeconfig,
    ];

    /// The least role that may perform this operation.
    pub fn minimum_role(self) -> Role {
        match self {
            Operation::ReadOrganization
            | Operation::ListMembers
            | Operation::ReadSecretMetadata
            | Operation::ReadClusters => Role::Viewer,
            Operation::WriteSecrets | Operation::WriteClusters | Operation::ReadKubeconfig => Role::Member,
            Operation::ManageMembers | Operation::ReadSecretValues | Operation::ReadAudit => Role::Admin,
            Operation::DeleteOrganization => Role::Owner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_reads_metadata_but_never_secret_values() {
        assert!(Role::Viewer.allows(Operation::ReadSecretMetadata));
        assert!(!Role::Viewer.allows(Operation::ReadSecretValues));
        assert!(!Role::Viewer.allows(Operation::WriteSecrets));
    }

    #[test]
    fn a_member_writes_secrets_but_reads_no_values() {
        assert!(Role::Member.allows(Operation::WriteSecrets));
        assert!(!Role::Member.allows(Operation::ReadSecretValues));
    }

    #[test]
    fn a_viewer_reads_clusters_and_operations_but_changes_none() {
        assert!(Role::Viewer.allows(Operation::ReadClusters));
        assert!(!Role::Viewer.allows(Operation::WriteClusters));
    }

    #[test]
    fn a_kubeconfig_is_for_members_and_above_never_for_a_viewer() {
        for role in Role::ALL {
            assert_eq!(role.allows(Operation::ReadKubeconfig), role >= Role::Member, "{role}");
        }
    }

    #[test]
    fn a_member_creates_and_deletes_clusters() {
        assert!(Role::Member.allows(Operation::WriteClusters));
        assert!(Role::Member.allows(Operation::ReadClusters));
    }

    #[test]
    fn only_an_owner_deletes_an_organization() {
        for role in Role::ALL {
            assert_eq!(role.allows(Operation::DeleteOrganization), role == Role::Owner);
        }
    }

    #[test]
    fn every_higher_role_may_do_what_a_lower_one_may() {
        for op in Operation::ALL {
            for pair in Role::ALL.windows(2) {
                assert!(!pair[0].allows(op) || pair[1].allows(op), "{op:?}");
            }
        }
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
