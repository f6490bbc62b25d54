//! The request and response bodies of reef's REST API, shared by the server (reef-api), the
//! typed client (reef-client) and the CLI, with the OpenAPI schemas generated from them.
//!
//! Requests reject unknown fields, so a misspelt option is an error rather than silently
//! ignored. This crate holds data shapes only: no behaviour, no dependency on other reef crates.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An error, as RFC 9457 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `https://reef.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case, and what to do about it.
    pub detail: String,
    /// A stable, machine-readable code (`not_found`, `invalid_secret`, ...).
    pub code: String,
    /// Problems with individual fields, when the input had several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
}

/// A problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    /// The field.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads metadata; never secret values.
    Viewer,
    /// Creates and changes resources.
    Member,
    /// Also reads secret values, manages members and reads the audit log.
    Admin,
    /// Everything.
    Owner,
}

/// `POST /api/v1/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Starts a single sign-on login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoStartRequest {
    /// Where the identity provider sends the browser back with the code: a loopback URL
    /// (`http://127.0.0.1:PORT/...`, which `reef login --sso` listens on) or one the server
    /// allows.
    pub redirect_uri: String,
}

/// A single sign-on login started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SsoStartResponse {
    /// The identity provider's URL to open in a browser.
    pub authorization_url: String,
    /// The login's state, which comes back with the code.
    pub state: String,
    /// When the login can no longer be finished.
    pub expires_at: DateTime<Utc>,
}

/// Finishes a single sign-on login with what the identity provider sent back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoFinishRequest {
    /// The `state` parameter.
    pub state: String,
    /// The `code` parameter.
    pub code: String,
}

impl std::fmt::Debug for SsoFinishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoFinishRequest").field("state", &self.state).finish_non_exhaustive()
    }
}

/// A session token from a password login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// The bearer token for `Authorization: Bearer ...`.
    pub token: String,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// The user's id.
    pub id: Uuid,
    /// The login name.
    pub username: String,
    /// Whether the user administers this server.
    pub server_admin: bool,
    /// Whether the user can log in with a password.
    pub has_password: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/users`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// The login name: 1 to 64 of `a-z 0-9 . _ - @`.
    pub username: String,
    /// The password (8 to 1024 characters); without one, the user logs in with tokens only.
    #[serde(default)]
    pub password: Option<String>,
    /// Whether the new user administers the server.
    #[serde(default)]
    pub server_admin: bool,
}

impl std::fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("username", &self.username)
            .field("server_admin", &self.server_admin)
            .finish_non_exhaustive()
    }
}

/// `PUT /api/v1/user/password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// The current password, required when the account has one.
    #[serde(default)]
    pub current_password: Option<String>,
    /// The new password, 8 to 1024 characters.
    pub new_password: String,
}

impl std::fmt::Debug for SetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPasswordRequest").finish_non_exhaustive()
    }
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// A label to recognise the token by.
    pub name: String,
    /// When it stops working; 90 days from now when omitted.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API token's metadata; its secret is never shown again after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// The token's id.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to within a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it authenticates now.
    pub active: bool,
}

/// A token just created, with its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The token's metadata.
    #[serde(flatten)]
    pub token: TokenView,
    /// The bearer value.
    pub secret: String,
}

/// `POST /api/v1/orgs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// The name: a DNS label (1 to 63 of `a-z 0-9 -`).
    pub name: String,
}

/// An organization, with the caller's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    /// The organization's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The caller's role in it.
    pub role: Role,
}

/// `POST /api/v1/orgs/{org}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// The user to add.
    pub username: String,
    /// The role to give.
    pub role: Role,
}

/// `PUT /api/v1/orgs/{org}/members/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// The new role.
    pub role: Role,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// The user's id.
    pub user_id: Uuid,
    /// The user's login name.
    pub username: String,
    /// The member's role.
    pub role: Role,
    /// When the user joined.
    pub joined_at: DateTime<Utc>,
}

/// A kind of secret and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretTypeView {
    /// The type's name, as used in `type` when creating a secret.
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Its fields; empty for `generic`, which takes any.
    pub fields: Vec<SecretFieldView>,
}

/// One field of a secret type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretFieldView {
    /// The field's name.
    pub name: String,
    /// Whether a secret of this type must have it.
    pub required: bool,
    /// Whether its value is sensitive.
    pub sensitive: bool,
    /// What it holds.
    pub description: String,
}

/// `POST /api/v1/orgs/{org}/secrets`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecretRequest {
    /// The name, unique in the organization.
    pub name: String,
    /// The type (see `GET /api/v1/secret-types`).
    #[serde(rename = "type")]
    pub secret_type: String,
    /// The values by field name.
    pub values: BTreeMap<String, String>,
    /// Tags for grouping and search.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl std::fmt::Debug for CreateSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSecretRequest")
            .field("name", &self.name)
            .field("secret_type", &self.secret_type)
            .field("fields", &self.values.keys().collect::<Vec<_>>())
            .field("tags", &self.tags)
            .finish()
    }
}

/// `PATCH /api/v1/orgs/{org}/secrets/{secret}`: values replace all values (a new version);
/// tags replace all tags.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecretRequest {
    /// The new values.
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// The new tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Update only if this is still the current version.
    #[serde(default)]
    pub expected_version: Option<u32>,
}

impl std::fmt::Debug for UpdateSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSecretRequest")
            .field("fields", &self.values.as_ref().map(|v| v.keys().collect::<Vec<_>>()))
            .field("tags", &self.tags)
            .field("expected_version", &self.expected_version)
            .finish()
    }
}

/// A secret's metadata and, when asked for by an admin, its values.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    /// The secret's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub secret_type: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its field names.
    pub fields: Vec<String>,
    /// The current version.
    pub version: u32,
    /// Who created it.
    pub created_by: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the current version was written.
    pub updated_at: DateTime<Utc>,
    /// The values, only with `?reveal=true` and the admin role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for SecretView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretView")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret_type", &self.secret_type)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// One version of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretVersionView {
    /// The version number.
    pub version: u32,
    /// Who wrote it.
    pub created_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// How an audited call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// The caller's role did not allow it.
    Denied,
    /// It failed.
    Failure,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    /// The entry's id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who acted (login name), or `reef` for the server itself.
    pub actor: String,
    /// The actor's user id.
    pub actor_id: Option<Uuid>,
    /// What was done, e.g. `secret.create`.
    pub operation: String,
    /// The kind of object acted on.
    pub target_kind: String,
    /// The object acted on.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The error code when it did not succeed.
    pub error_code: Option<String>,
}

/// `GET /healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is not.
    pub status: String,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TaintEffect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods are evicted too.
    NoExecute,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaintSpec {
    /// The key.
    pub key: String,
    /// The value (may be empty).
    #[serde(default)]
    pub value: String,
    /// The effect.
    pub effect: TaintEffect,
}

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodePoolSpec {
    /// The pool's name, unique in the cluster (lowercase letters, digits and `-`).
    pub name: String,
    /// The provider's instance type (see `GET /api/v1/providers`).
    pub instance_type: String,
    /// How many nodes.
    #[schema(maximum = 1000)]
    pub count: u32,
    /// The fewest nodes autoscaling may leave; `count` when absent.
    #[serde(default)]
    #[schema(maximum = 1000)]
    pub min: Option<u32>,
    /// The most nodes autoscaling may make; `count` when absent.
    #[serde(default)]
    #[schema(maximum = 1000)]
    pub max: Option<u32>,
    /// Whether the provider's autoscaler sizes the pool.
    #[serde(default)]
    pub autoscaling: bool,
    /// Spot (preemptible) capacity.
    #[serde(default)]
    pub spot: bool,
    /// Labels of the pool's nodes.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints of the pool's nodes.
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Each node's disk, in GiB; the provider's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 16384)]
    pub disk_size_gib: Option<u32>,
}

/// `POST /api/v1/orgs/{org}/clusters`: the same shape as the CLI's cluster spec files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClusterRequest {
    /// The name, unique among the organization's clusters that are not deleted.
    pub name: String,
    /// The provider that makes it (see `GET /api/v1/providers`).
    pub provider: String,
    /// The provider's region.
    #[serde(default)]
    pub region: String,
    /// The Kubernetes version (`1.35` or `1.35.1`); the provider's default when absent.
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    /// The node pools.
    #[serde(default)]
    pub node_pools: Vec<NodePoolSpec>,
    /// The organization secret holding the provider's credentials.
    #[serde(default)]
    pub secret: Option<String>,
    /// Labels of the cluster, for filtering lists.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Settings only the provider knows, fixed at creation (see the provider's catalog,
    /// `options`): for `amazon`, `vpc_id` with `subnet_ids`, `cluster_role_arn`,
    /// `node_role_arn`, `endpoint_public_access`, `endpoint_private_access`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `PATCH /api/v1/orgs/{org}/clusters/{cluster}`: what to change; an absent field stays as it
/// is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClusterRequest {
    /// The Kubernetes version to upgrade to (`1.35` or `1.35.1`); never lower than the
    /// cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Every node pool the cluster is to have: a pool's count (and min, max, autoscaling)
    /// may change, pools may be added and removed; a pool's instance type, spot, labels and
    /// taints cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_pools: Option<Vec<NodePoolSpec>>,
    /// Every label the cluster is to have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterView {
    /// The cluster's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The provider that made it.
    pub provider: String,
    /// The provider's region.
    pub region: String,
    /// The Kubernetes version; absent until the provider reports it (an imported cluster
    /// before its API server has been asked).
    pub kubernetes_version: Option<String>,
    /// `pending`, `creating`, `running`, `updating`, `deleting`, `deleted`, `error` or `warning`.
    pub status: String,
    /// Why it is in that status (for `error`, the failed step and its error).
    pub status_message: String,
    /// The Kubernetes API server's URL, once created.
    pub endpoint: Option<String>,
    /// The last operation started on it.
    pub operation: Option<Uuid>,
    /// The node pools.
    pub node_pools: Vec<NodePoolSpec>,
    /// The secret with the provider's credentials.
    pub secret: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its provider's settings, as created.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// The last health check (made every few minutes for running clusters), once there was one.
    #[serde(default)]
    pub health: Option<ClusterHealthView>,
    /// For a cluster in `error` (read on its own, not in lists): the operation that failed, its
    /// failed step and error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ClusterFailureView>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its record last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change of a cluster's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChangeView {
    /// The status before; absent for the first.
    pub from: Option<String>,
    /// The status after.
    pub to: String,
    /// Why (`created`, `create failed: step wait_for_nodes failed: ...`, `unhealthy: ...`).
    pub cause: String,
    /// The operation that made the change, if one did.
    pub operation: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why a cluster is in `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterFailureView {
    /// The operation that failed or was cancelled.
    pub operation: Uuid,
    /// The step that failed; absent when the operation was cancelled.
    pub step: Option<String>,
    /// The step's error, or why the operation stopped.
    pub error: String,
}

/// What the last health check of a cluster found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterHealthView {
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// Whether the API server answered and every node was ready.
    pub healthy: bool,
    /// What was wrong, when something was.
    pub problem: Option<String>,
}

/// A node of a cluster, as its API server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    /// The node's name.
    pub name: String,
    /// Whether its `Ready` condition is `True`.
    pub ready: bool,
    /// Its roles (`node-role.kubernetes.io/<role>` labels).
    pub roles: Vec<String>,
    /// The node pool it belongs to, from the label its provider sets.
    pub node_pool: Option<String>,
    /// Its instance type (`node.kubernetes.io/instance-type`).
    pub instance_type: Option<String>,
    /// The kubelet's version.
    pub kubelet_version: Option<String>,
    /// Its first internal IP address.
    pub internal_ip: Option<String>,
    /// Whether it is cordoned.
    pub unschedulable: bool,
    /// Its taints, as `key=value:Effect`.
    pub taints: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it joined the cluster.
    pub created_at: Option<DateTime<Utc>>,
}

/// A namespace of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamespaceView {
    /// Its name.
    pub name: String,
    /// `Active` or `Terminating`.
    pub phase: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was made.
    pub created_at: Option<DateTime<Utc>>,
}

/// Puts an organization's secret into a cluster as a Kubernetes Secret (type `Opaque`, one key
/// per field of the secret). Doing it again brings the Kubernetes Secret up to date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallSecretRequest {
    /// The organization's secret, by name.
    pub secret: String,
    /// The namespace to put it in; made when missing.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The Kubernetes Secret's name [default: the secret's name].
    #[serde(default)]
    pub name: Option<String>,
}

fn default_namespace() -> String {
    "default".to_owned()
}

/// A secret installed into a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstalledSecretView {
    /// The namespace.
    pub namespace: String,
    /// The Kubernetes Secret's name.
    pub name: String,
    /// Its keys (the secret's field names; never the values).
    pub keys: Vec<String>,
    /// The version of the organization's secret it holds.
    pub version: u32,
    /// Whether the Kubernetes Secret was made, rather than brought up to date.
    pub created: bool,
    /// Whether its namespace was made too.
    pub namespace_created: bool,
}

/// Installs a chart as a release, or upgrades a release to a chart (`PUT`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The release's name (ignored by an upgrade, whose path names it).
    #[serde(default)]
    pub release: String,
    /// Its namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The chart, a `.tgz` archive, base64 (`reef deploy` packs a chart directory); or
    /// give `chart_ref`.
    #[serde(default)]
    pub chart: String,
    /// A chart of one of the organization's repositories, instead of `chart`.
    #[serde(default)]
    pub chart_ref: Option<ChartRefView>,
    /// Values files' contents (YAML), in order, as `-f` gives them.
    #[serde(default)]
    pub values: Vec<String>,
    /// `--set` expressions.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` expressions.
    #[serde(default)]
    pub set_string: Vec<String>,
    /// `--set-json` expressions.
    #[serde(default)]
    pub set_json: Vec<String>,
    /// Values taken from the organization's secrets when the chart is rendered, after the
    /// values files; never stored in the release's values (admins only).
    #[serde(default)]
    pub values_from: Vec<ValueFromSecret>,
    /// Wait until every resource is ready.
    #[serde(default)]
    pub wait: bool,
    /// Undo on failure: uninstall a failed install, roll a failed upgrade back.
    #[serde(default)]
    pub atomic: bool,
    /// Make the namespace when it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
    /// Run no hooks.
    #[serde(default)]
    pub no_hooks: bool,
    /// How long waiting for readiness, and for each hook, may take [default: 300].
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

impl std::fmt::Debug for DeployRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployRequest")
            .field("release", &self.release)
            .field("namespace", &self.namespace)
            .field("chart_bytes", &self.chart.len())
            .finish_non_exhaustive()
    }
}

/// A chart of one of the organization's repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRefView {
    /// The repository's name (with `name`).
    #[serde(default)]
    pub repo: String,
    /// The chart's name in the repository.
    #[serde(default)]
    pub name: String,
    /// Instead of `repo` and `name`: a chart in an OCI registry,
    /// `oci://registry/path/chart[:tag][@sha256:digest]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<String>,
    /// Reach the `oci` reference's registry over HTTP rather than HTTPS; also when the
    /// organization's registry holding the reference was added with `plain_http`.
    #[serde(default)]
    pub plain_http: bool,
    /// A version or a constraint (`^1.2`) [default: the latest stable version].
    #[serde(default)]
    pub version: Option<String>,
}

/// Adds a chart repository: a Helm HTTP repository, or an OCI registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddChartRepoRequest {
    /// Its name in the organization (`bitnami`).
    pub name: String,
    /// An HTTP repository's URL, where `index.yaml` is; or an OCI registry's location,
    /// `oci://registry[/path]`, whose charts are `oci://registry/path/CHART`.
    pub url: String,
    /// An organization's secret with its credentials: `username` and `password` (basic
    /// auth), or `token` (bearer). A registry's credentials are also used for the `oci://`
    /// references that lie under its location.
    #[serde(default)]
    pub secret: Option<String>,
    /// Reach the OCI registry over HTTP rather than HTTPS (`helm --plain-http`).
    #[serde(default)]
    pub plain_http: bool,
}

/// A chart repository of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChartRepoView {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// The secret with its credentials.
    pub secret: Option<String>,
    /// An OCI registry reached over HTTP rather than HTTPS.
    #[serde(default)]
    pub plain_http: bool,
    /// How many charts its index lists (0 for an OCI registry, which has no index).
    pub charts: i64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When its index was last fetched.
    pub updated_at: DateTime<Utc>,
}

/// A chart found in the organization's repositories, at its latest version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChartView {
    /// The repository (`reef deploy CLUSTER repo/name`).
    pub repo: String,
    /// The chart's name.
    pub name: String,
    /// Its latest stable version.
    pub version: String,
    /// Its app version.
    pub app_version: String,
    /// Its description.
    pub description: String,
    /// How many versions the repository has.
    pub versions: usize,
}

/// A value taken from a field of an organization's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueFromSecret {
    /// Where in the values it goes, dotted (`auth.password`).
    pub path: String,
    /// The secret's name.
    pub secret: String,
    /// The secret's field.
    pub key: String,
}

/// The same deployment to several clusters at once: each is installed, or upgraded where the
/// release exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiDeployRequest {
    /// The clusters, by name or id.
    pub clusters: Vec<String>,
    /// The deployment.
    pub deployment: DeployRequest,
}

/// What a deployment to several clusters started in one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterDeployResult {
    /// The cluster, as the request named it.
    pub cluster: String,
    /// `install` or `upgrade`, when it started.
    pub change: Option<String>,
    /// The operation, when it started.
    pub operation: Option<OperationView>,
    /// Why it did not start.
    pub error: Option<Problem>,
}

/// What a deployment would change (a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeployDiffView {
    /// The revision it would make.
    pub revision: u32,
    /// `install` or `upgrade`.
    pub change: String,
    /// Each object it would add (`+`), change (`~`, with its lines) or remove (`-`).
    pub diff: String,
    /// The manifest it would record.
    pub manifest: String,
    /// The chart's notes.
    pub notes: String,
}

/// The `test` hooks of a release that ran: run one by one by weight until one fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseTestView {
    /// Each test that passed, as `Kind namespace/name`, in the order they ran.
    pub passed: Vec<String>,
    /// The test that failed, if one did; the tests after it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailedTestView>,
}

/// A release's test that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedTestView {
    /// The test, as `Kind namespace/name`.
    pub test: String,
    /// Why: `failed` (its pod or Job failed), or that it did not finish in time.
    pub reason: String,
}

/// Rolls a release back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The revision to go back to [default: the one before the latest].
    #[serde(default)]
    pub revision: Option<u32>,
}

/// A revision of a release, as Helm records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseView {
    /// The release's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The revision.
    pub revision: u32,
    /// `deployed`, `superseded`, `failed`, `uninstalled`, `pending-install`, ...
    pub status: String,
    /// The chart (`podinfo-6.14.1`).
    pub chart: String,
    /// The chart's app version.
    pub app_version: String,
    /// When this revision was deployed.
    pub updated: Option<String>,
    /// What happened (`Install complete`, `Upgrade "web" failed: ...`).
    pub description: String,
    /// The chart's rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// The values given (members and above only; a viewer gets none).
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// An object of a release and whether it is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseResourceView {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// Its namespace (absent for a cluster-scoped kind).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Whether it is ready (`helm install --wait`'s judgement).
    pub ready: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
}

/// A release's latest revision and its objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseDetailView {
    /// The latest revision.
    #[serde(flatten)]
    pub release: ReleaseView,
    /// Its objects, in install order.
    pub resources: Vec<ReleaseResourceView>,
}

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OperationStepView {
    /// The step's name.
    pub name: String,
    /// `pending`, `running`, `done`, `failed`, `undoing` or `undone`.
    pub status: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// Its last error.
    pub error: Option<String>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long it took, in milliseconds, once ended.
    pub duration_ms: Option<i64>,
}

/// An operation: a long-running change (creating or deleting a cluster) and its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OperationView {
    /// The operation's id.
    pub id: Uuid,
    /// What it does (`cluster.create.local`).
    pub kind: String,
    /// What it acts on (a cluster's id; `<id>/delete` for a delete).
    pub subject: String,
    /// `pending`, `running`, `unwinding`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The step that failed.
    pub failed_step: Option<String>,
    /// Whether it was asked to stop.
    pub cancel_requested: bool,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// About how many seconds it still needs, from the durations of the same steps in
    /// earlier operations; absent when there is no estimate or it has ended.
    pub eta_seconds: Option<u64>,
    /// Its steps, in order.
    pub steps: Vec<OperationStepView>,
}

/// A cluster and the operation started on it (`202 Accepted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterOperationView {
    /// The cluster.
    pub cluster: ClusterView,
    /// The operation: follow it at `GET /api/v1/orgs/{org}/operations/{id}`.
    pub operation: OperationView,
}

/// A region a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegionView {
    /// Its name.
    pub name: String,
    /// A description.
    pub description: String,
}

/// An instance type a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstanceTypeView {
    /// Its name.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory, in MiB.
    pub memory_mib: u64,
    /// The regions that have it; every region when empty.
    pub regions: Vec<String>,
}

/// What a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CapabilitiesView {
    /// It makes clusters.
    pub create: bool,
    /// Node pools can be resized.
    pub scale_node_pool: bool,
    /// Node pools can be added and removed.
    pub add_remove_node_pool: bool,
    /// The Kubernetes version can be upgraded.
    pub upgrade_version: bool,
    /// Spot node pools.
    pub spot: bool,
    /// Autoscaled node pools.
    pub autoscaling: bool,
}

/// What a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderView {
    /// The provider's name, as a cluster spec names it.
    pub provider: String,
    /// Its regions.
    pub regions: Vec<RegionView>,
    /// Its instance types.
    pub instance_types: Vec<InstanceTypeView>,
    /// The Kubernetes versions it makes clusters with.
    pub kubernetes_versions: Vec<String>,
    /// The version a spec without one gets.
    pub default_version: Option<String>,
    /// What it can do.
    pub capabilities: CapabilitiesView,
    /// The options a cluster spec may set for it (`options`).
    #[serde(default)]
    pub options: Vec<ProviderOptionView>,
}

/// An option a provider takes in a cluster spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderOptionView {
    /// Its name.
    pub name: String,
    /// What it does and what it takes.
    pub description: String,
}

macro_rules! list_type {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            /// The items of this page.
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; absent on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

list_type!(
    /// A page of organizations.
    OrgList,
    OrgView
);
list_type!(
    /// A page of members.
    MemberList,
    MemberView
);
list_type!(
    /// A page of API tokens.
    TokenList,
    TokenView
);
list_type!(
    /// A page of secrets.
    SecretList,
    SecretView
);
list_type!(
    /// A page of audit log entries.
    AuditList,
    AuditEventView
);
list_type!(
    /// A page of clusters.
    ClusterList,
    ClusterView
);
