//! The caller's personal API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use reef_api_types::{CreateTokenRequest, CreatedToken, Problem, TokenList, TokenView};
use reef_core::{TokenId, TokenName};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, PageParams};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

/// Creates an API token. Its secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), request_body = CreateTokenRequest, responses(
    (status = 201, body = CreatedToken),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn create_token(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name = TokenName::parse(req.name)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", e.to_string()))?;
    let issued = state.app.create_token(&actor, name, req.expires_at).await?;
    let secret = issued.secret.to_string();
    Ok((StatusCode::CREATED, Json(CreatedToken { token: convert::token(issued.meta.clone()), secret })))
}

/// The caller's API tokens, without secrets, oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), params(PageParams), responses(
    (status = 200, body = TokenList),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn list_tokens(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<TokenList>, ApiError> {
    let page = state.app.list_tokens(&actor, &params.page()?).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(TokenList { items: page.items.into_iter().map(convert::token).collect(), next_cursor }))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{token}", tag = "auth", security(("bearer" = [])),
    params(("token" = String, Path, description = "The token's id")),
    responses(
        (status = 200, body = TokenView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_token(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(token): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let id = token.parse::<TokenId>().map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    Ok(Json(convert::token(state.app.revoke_token(&actor, id).await?)))
}
