//! Recording every mutating call, and reading the log back.

use reef_core::audit::{AuditEvent, AuditFilter, Outcome};
use reef_core::{Actor, AuditId, Operation, OrgId, OrgRef, Page, PageRequest, UserId};

use crate::{App, AppError};

/// Which audit entries to list, and which page.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// The conditions.
    pub filter: AuditFilter,
    /// The page.
    pub page: PageRequest,
}

impl App {
    /// Records how a mutating call by `actor` ended. A failure to write the entry is logged;
    /// it does not undo the call.
    pub(crate) async fn record<T>(
        &self,
        actor: &Actor,
        org: Option<OrgId>,
        operation: &str,
        target_kind: &str,
        target: &str,
        result: &Result<T, AppError>,
    ) {
        let (outcome, error_code) = match result {
            Ok(_) => (Outcome::Success, None),
            Err(e @ (AppError::Forbidden { .. } | AppError::ServerAdminRequired)) => {
                (Outcome::Denied, Some(e.code().to_owned()))
            }
            Err(e) => (Outcome::Failure, Some(e.code().to_owned())),
        };
        self.write_audit(AuditEvent {
            id: AuditId::new(),
            org_id: org,
            actor_id: Some(actor.user_id),
            actor_name: actor.username.to_string(),
            at: self.now(),
            operation: operation.to_owned(),
            target_kind: target_kind.to_owned(),
            target: target.to_owned(),
            outcome,
            error_code,
        })
        .await;
    }

    pub(crate) async fn record_system(&self, operation: &str, target_kind: &str, target: &str) {
        self.write_audit(AuditEvent {
            id: AuditId::new(),
            org_id: None,
            actor_id: None,
            actor_name: "reef".to_owned(),
            at: self.now(),
            operation: operation.to_owned(),
            target_kind: target_kind.to_owned(),
            target: target.to_owned(),
            outcome: Outcome::Success,
            error_code: None,
        })
        .await;
    }

    pub(crate) async fn record_login(&self, username: &str, user: Option<UserId>, ok: bool) {
        // The attempted name is recorded only when it is a plausible user name, so that a
        // password typed into the name field does not land in the log.
        let shown = if reef_core::UserName::parse(username).is_ok() { username } else { "<invalid name>" };
        self.write_audit(AuditEvent {
            id: AuditId::new(),
            org_id: None,
            actor_id: user,
            actor_name: shown.to_owned(),
            at: self.now(),
            operation: "session.login".to_owned(),
            target_kind: "user".to_owned(),
            target: shown.to_owned(),
            outcome: if ok { Outcome::Success } else { Outcome::Failure },
            error_code: (!ok).then(|| "invalid_credentials".to_owned()),
        })
        .await;
    }

    async fn write_audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::error!(error = %e, operation = %event.operation, "writing an audit entry failed");
        }
    }

    /// An organization's audit log, newest first. Needs the admin role.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        org: &OrgRef,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, AppError> {
        let (org, _) = self.authorize(actor, org, Operation::ReadAudit).await?;
        Ok(self.store.audit_events(org.id, &query.filter, &query.page).await?)
    }
}
