use reef_core::Role;
use reef_core::secret_type::FieldProblem;
use reef_store::StoreError;
use thiserror::Error;

/// Why an operation did not happen. Each variant has a stable [`code`](AppError::code) that
/// API clients can match on; messages are for people and never contain a secret.
#[derive(Debug, Error)]
pub enum AppError {
    /// No valid credential came with the call.
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// A login's user name or password is wrong (which of the two is not said).
    #[error("invalid user name or password")]
    InvalidCredentials,
    /// The object does not exist, or the caller may not know that it does.
    #[error("{kind} not found")]
    NotFound {
        /// What kind of object.
        kind: &'static str,
    },
    /// The caller's role does not allow the operation.
    #[error("your role in this organization ({role}) does not allow this; it needs {needed}")]
    Forbidden {
        /// The caller's role.
        role: Role,
        /// The least role that would do.
        needed: Role,
    },
    /// The server's configuration does not allow this (a disabled login method, say).
    #[error("{message}")]
    NotAllowed {
        /// The stable code, e.g. `password_login_disabled`.
        code: &'static str,
        /// Why, and what to do instead.
        message: String,
    },
    /// Only a server administrator may do this.
    #[error("only a server administrator may do this")]
    ServerAdminRequired,
    /// The operation conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: &'static str,
        /// What conflicts, and what to do.
        message: String,
    },
    /// The input is well-formed but not acceptable.
    #[error("{message}")]
    Invalid {
        /// The stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// Problems with individual fields, if any.
        problems: Vec<FieldProblem>,
    },
    /// A provider did not answer as it should; the call may succeed later.
    #[error("the provider {provider} failed: {message}")]
    Provider {
        /// The provider.
        provider: String,
        /// What it said (never a credential).
        message: String,
    },
    /// A cluster's API server did not do what reef asked (it does not answer, refuses the
    /// kubeconfig, or answers an error); `code` says which.
    #[error("{message}")]
    Cluster {
        /// The stable code: `api_server_unreachable`, `credentials_refused`, `forbidden`,
        /// `api_server_error` or `kubeconfig_invalid`.
        code: &'static str,
        /// What happened (never a credential).
        message: String,
    },
    /// A service reef depends on for this call (the secret backend, the identity provider)
    /// does not answer; the call may succeed later. Calls that do not need it still work.
    #[error("{message}")]
    DependencyDown {
        /// The stable code, e.g. `secret_backend_unavailable`.
        code: &'static str,
        /// Which service, and what happened (never a credential).
        message: String,
    },
    /// A service reef depends on answered, but refused or failed the call.
    #[error("{message}")]
    DependencyFailed {
        /// The stable code, e.g. `secret_backend_refused`.
        code: &'static str,
        /// Which service, what it said, and what to do (never a credential).
        message: String,
    },
    /// The database cannot be reached right now; the call may succeed later.
    #[error("the database is unavailable; try again later")]
    Unavailable(#[source] StoreError),
    /// Something that should not happen did; details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] StoreError),
    /// The workflow engine refused to start or drive an operation in a way that should not
    /// happen (a provider without its workflows, say); details are logged, not returned.
    #[error("internal error")]
    Workflow(#[source] reef_workflow::EngineError),
}

impl AppError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::NotFound { .. } => "not_found",
            AppError::Forbidden { .. } => "forbidden",
            AppError::ServerAdminRequired => "server_admin_required",
            AppError::Conflict { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Cluster { code, .. }
            | AppError::DependencyDown { code, .. }
            | AppError::NotAllowed { code, .. }
            | AppError::DependencyFailed { code, .. } => code,
            AppError::Provider { .. } => "provider_failed",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) | AppError::Workflow(_) => "internal",
        }
    }

    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid { code, message: message.into(), problems: Vec::new() }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Connect(_) => AppError::Unavailable(e),
            StoreError::Duplicate => AppError::conflict("already_exists", "an object with that name already exists"),
            _ => AppError::Internal(e),
        }
    }
}
