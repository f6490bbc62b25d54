//! The audit log.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use reef_api_types::{AuditList, Outcome, Problem};
use reef_app::AuditQuery;
use reef_core::audit::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller, PageParams, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Only this operation, e.g. `secret.create`.
    operation: Option<String>,
    /// Only this actor's entries (login name).
    actor: Option<String>,
    /// Only this outcome.
    outcome: Option<Outcome>,
    /// Only this kind of target, e.g. `secret`.
    target_kind: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
}

/// The organization's audit log, newest first. Admins and owners only.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), AuditParams, PageParams),
    responses(
        (status = 200, body = AuditList),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn audit_log(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiQuery(filter): ApiQuery<AuditParams>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<AuditList>, ApiError> {
    let org = org_ref(&org)?;
    let filter = AuditFilter {
        operation: filter.operation,
        actor: filter.actor,
        outcome: filter.outcome.map(|o| match o {
            Outcome::Success => reef_core::audit::Outcome::Success,
            Outcome::Denied => reef_core::audit::Outcome::Denied,
            Outcome::Failure => reef_core::audit::Outcome::Failure,
        }),
        target_kind: filter.target_kind,
        since: filter.since,
        until: filter.until,
    };
    let page = state.app.audit_log(&actor, &org, &AuditQuery { filter, page: params.page()? }).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(AuditList { items: page.items.into_iter().map(convert::audit).collect(), next_cursor }))
}
