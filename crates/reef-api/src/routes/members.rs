//! Organization members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use reef_api_types::{AddMemberRequest, MemberList, MemberView, Problem, UpdateMemberRequest};
use reef_core::UserName;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, PageParams, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_members, add_member)).routes(routes!(update_member, remove_member))
}

fn username(s: String) -> Result<UserName, ApiError> {
    UserName::parse(s).map_err(|_| ApiError::not_found("member"))
}

/// An organization's members and their roles.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), PageParams),
    responses(
        (status = 200, body = MemberList),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_members(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<MemberList>, ApiError> {
    let page = state.app.list_members(&actor, &org_ref(&org)?, &params.page()?).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(MemberList { items: page.items.into_iter().map(convert::member).collect(), next_cursor }))
}

/// Adds a user to the organization. Admins add members; only owners add owners.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, body = MemberView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_member(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let org = org_ref(&org)?;
    let name = UserName::parse(req.username).map_err(|_| ApiError::not_found("user"))?;
    let member = state.app.add_member(&actor, &org, &name, convert::role_from(req.role)).await?;
    Ok((StatusCode::CREATED, Json(convert::member(member))))
}

/// Changes a member's role.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/members/{username}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), ("username" = String, Path, description = "The member's user name")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, body = MemberView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_member(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, user)): Path<(String, String)>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<MemberView>, ApiError> {
    let org = org_ref(&org)?;
    let member = state.app.set_member_role(&actor, &org, &username(user)?, convert::role_from(req.role)).await?;
    Ok(Json(convert::member(member)))
}

/// Removes a member from the organization.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{username}", tag = "organizations", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), ("username" = String, Path, description = "The member's user name")),
    responses(
        (status = 204),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_member(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = org_ref(&org)?;
    state.app.remove_member(&actor, &org, &username(user)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
