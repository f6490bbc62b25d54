//! Typed identifiers. Each kind of object has its own id type, so a `SecretId` can never be
//! passed where an `OrgId` is expected. Ids are UUIDv7: unique without coordination between
//! replicas, and ordered by creation time, which keyset pagination relies on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, ordered after every id made before it by this process.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (read from the store).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The kind of object this id names, for error messages.
            pub const KIND: &'static str = $kind;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| InvalidId { kind: $kind })
            }
        }
    };
}

/// A string that is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id (expected a UUID)")]
pub struct InvalidId {
    /// The kind of id that was expected.
    pub kind: &'static str,
}

typed_id!(
    /// Identifies an organization.
    OrgId,
    "organization"
);
typed_id!(
    /// Identifies a user account.
    UserId,
    "user"
);
typed_id!(
    /// Identifies an API or session token (not the token's secret).
    TokenId,
    "token"
);
typed_id!(
    /// Identifies a secret within its organization.
    SecretId,
    "secret"
);
typed_id!(
    /// Identifies an audit log entry.
    AuditId,
    "audit event"
);
typed_id!(
    /// Identifies a cluster.
    ClusterId,
    "cluster"
);
typed_id!(
    /// Identifies a workflow run (what the API calls an operation).
    WorkflowId,
    "operation"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_string_form() {
        let id = SecretId::new();
        assert_eq!(id.to_string().parse::<SecretId>(), Ok(id));
    }

    #[test]
    fn ids_made_later_sort_after_earlier_ones() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn a_malformed_id_names_the_kind_expected() {
        let err = "42".parse::<ClusterlessId>().unwrap_err();
        assert_eq!(err.to_string(), "not a valid secret id (expected a UUID)");
    }

    type ClusterlessId = SecretId;
}
