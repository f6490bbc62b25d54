//! reef's domain: typed ids, validated names, organization roles and what each may do, the
//! caller of an operation ([`Actor`]), secret types and pagination.
//!
//! This crate does no IO. It must not depend on tokio, sqlx, axum, kube or any cloud SDK:
//! every other reef crate depends on it, and it depends on none of them.

pub mod actor;
pub mod audit;
pub mod cluster;
pub mod id;
pub mod name;
pub mod org;
pub mod page;
pub mod role;
pub mod secret;
pub mod secret_type;
pub mod user;
pub mod workflow;

pub use actor::Actor;
pub use cluster::{Cluster, ClusterHealth, ClusterSpec, ClusterStatus, KubernetesVersion, NodePool, SpecProblem};
pub use id::{AuditId, ClusterId, OrgId, SecretId, TokenId, UserId, WorkflowId};
pub use name::{ClusterName, InvalidName, NodePoolName, OrgName, SecretName, TokenName, UserName};
pub use org::{Member, OrgRef, Organization};
pub use page::{Cursor, Page, PageRequest};
pub use role::{Operation, Role};
pub use secret_type::SecretType;
pub use user::{TokenKind, TokenMeta, User};
pub use workflow::{StepStatus, WorkflowRun, WorkflowStatus, WorkflowStep};
