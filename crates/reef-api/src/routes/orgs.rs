//! Organizations.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use reef_api_types::{CreateOrgRequest, OrgList, OrgView, Problem};
use reef_core::OrgName;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, PageParams, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_orgs, create_org)).routes(routes!(get_org, delete_org))
}

/// Creates an organization with the caller as its owner.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organizations", security(("bearer" = [])), request_body = CreateOrgRequest, responses(
    (status = 201, body = OrgView),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn create_org(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<CreateOrgRequest>,
) -> Result<(StatusCode, Json<OrgView>), ApiError> {
    let name = OrgName::parse(req.name)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", e.to_string()))?;
    let org = state.app.create_org(&actor, name).await?;
    Ok((StatusCode::CREATED, Json(convert::org(org, reef_core::Role::Owner))))
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations", security(("bearer" = [])), params(PageParams), responses(
    (status = 200, body = OrgList),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn list_orgs(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<OrgList>, ApiError> {
    let page = state.app.list_orgs(&actor, &params.page()?).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(OrgList { items: page.items.into_iter().map(|(o, r)| convert::org(o, r)).collect(), next_cursor }))
}

/// One organization, by name or id.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    responses(
        (status = 200, body = OrgView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_org(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    let (org, role) = state.app.get_org(&actor, &org_ref(&org)?).await?;
    Ok(Json(convert::org(org, role)))
}

/// Deletes an organization and everything in it. Owners only.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    responses(
        (status = 204),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_org(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_org(&actor, &org_ref(&org)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
