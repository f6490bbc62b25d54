//! The audit log.

use reef_core::audit::{AuditEvent, AuditFilter, Outcome};
use reef_core::{OrgId, Page, PageRequest};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_opt_str, get_str, get_time, millis, parse};
use crate::{Store, StoreError};

const COLUMNS: &str = "id, org_id, actor_id, actor_name, at, operation, target_kind, target, outcome, error_code";

fn event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: parse(&get_str(row, "id")?, "audit_events.id")?,
        org_id: get_opt_str(row, "org_id")?.map(|s| parse(&s, "audit_events.org_id")).transpose()?,
        actor_id: get_opt_str(row, "actor_id")?.map(|s| parse(&s, "audit_events.actor_id")).transpose()?,
        actor_name: get_str(row, "actor_name")?,
        at: get_time(row, "at")?,
        operation: get_str(row, "operation")?,
        target_kind: get_str(row, "target_kind")?,
        target: get_str(row, "target")?,
        outcome: Outcome::parse(&get_str(row, "outcome")?)
            .ok_or(StoreError::Corrupt { column: "audit_events.outcome" })?,
        error_code: get_opt_str(row, "error_code")?,
    })
}

impl Store {
    /// Appends an entry to the audit log.
    pub async fn record_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(e.id.to_string())
        .bind(e.org_id.map(|id| id.to_string()))
        .bind(e.actor_id.map(|id| id.to_string()))
        .bind(e.actor_name.clone())
        .bind(millis(e.at))
        .bind(e.operation.clone())
        .bind(e.target_kind.clone())
        .bind(e.target.clone())
        .bind(e.outcome.as_str())
        .bind(e.error_code.clone())
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// An organization's audit entries matching `filter`, newest first.
    pub async fn audit_events(
        &self,
        org_id: OrgId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE org_id = $1");
        let mut args = vec![Arg::Text(org_id.to_string())];
        let mut push = |sql: &mut String, cond: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&format!(" AND {cond} ${}", args.len()));
        };
        if let Some(after) = &page.after {
            push(&mut sql, "id <", Arg::Text(after.key().to_owned()));
        }
        if let Some(op) = &filter.operation {
            push(&mut sql, "operation =", Arg::Text(op.clone()));
        }
        if let Some(actor) = &filter.actor {
            push(&mut sql, "actor_name =", Arg::Text(actor.clone()));
        }
        if let Some(outcome) = filter.outcome {
            push(&mut sql, "outcome =", Arg::Text(outcome.as_str().to_owned()));
        }
        if let Some(kind) = &filter.target_kind {
            push(&mut sql, "target_kind =", Arg::Text(kind.clone()));
        }
        if let Some(since) = filter.since {
            push(&mut sql, "at >=", Arg::Int(millis(since)));
        }
        if let Some(until) = filter.until {
            push(&mut sql, "at <", Arg::Int(millis(until)));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len() + 1));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            query = match arg {
                Arg::Text(s) => query.bind(s),
                Arg::Int(n) => query.bind(n),
            };
        }
        let rows = query.bind(i64::from(page.limit) + 1).fetch_all(self.pool()).await.map_err(StoreError::from_sqlx)?;
        let items = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page.limit, |e| e.id.to_string()))
    }
}
