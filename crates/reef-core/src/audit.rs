//! The audit log: one entry for every mutating call, whether it succeeded or not.
//! Entries name what was done to what, never a secret's values.

use chrono::{DateTime, Utc};

use crate::id::{AuditId, OrgId, UserId};

/// How a mutating call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// The caller lacked the role for it.
    Denied,
    /// It failed (bad input, a conflict, an internal error).
    Failure,
}

impl Outcome {
    /// The outcome's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }

    /// Parses an outcome's name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "denied" => Some(Outcome::Denied),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The entry's id; ids order entries by time.
    pub id: AuditId,
    /// The organization acted on; `None` for server-wide operations (creating a user).
    pub org_id: Option<OrgId>,
    /// Who acted; `None` for reef itself (first-start bootstrap).
    pub actor_id: Option<UserId>,
    /// The actor's login name at the time.
    pub actor_name: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What was done, e.g. `secret.create`.
    pub operation: String,
    /// The kind of object acted on, e.g. `secret`.
    pub target_kind: String,
    /// The object acted on: its id or name.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The stable error code when it did not succeed.
    pub error_code: Option<String>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this actor (login name).
    pub actor: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only this kind of target.
    pub target_kind: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
}
