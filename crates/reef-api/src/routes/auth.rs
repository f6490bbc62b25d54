//! Logging in and out, the caller's account, and creating users.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use reef_api_types::{
    CreateUserRequest, LoginRequest, LoginResponse, Problem, SetPasswordRequest, SsoFinishRequest, SsoStartRequest,
    SsoStartResponse, UserView,
};
use reef_core::UserName;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(sso_start))
        .routes(routes!(sso_finish))
        .routes(routes!(logout))
        .routes(routes!(whoami))
        .routes(routes!(set_password))
        .routes(routes!(create_user))
}

/// Logs in with a user name and password; returns a short-lived session token.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn login(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let token = state.app.login(&req.username, Zeroizing::new(req.password)).await?;
    Ok(Json(LoginResponse { token: token.secret.to_string(), expires_at: token.meta.expires_at }))
}

/// Starts a single sign-on login (OpenID Connect, authorization code flow with PKCE): returns
/// the identity provider's URL to open in a browser.
#[utoipa::path(post, path = "/api/v1/login/sso/start", tag = "auth", request_body = SsoStartRequest, responses(
    (status = 200, body = SsoStartResponse),
    (status = 403, description = "single sign-on is not configured", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "the identity provider does not answer", body = Problem, content_type = "application/problem+json"),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn sso_start(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<SsoStartRequest>,
) -> Result<Json<SsoStartResponse>, ApiError> {
    let started = state.app.sso_start(&req.redirect_uri).await?;
    Ok(Json(SsoStartResponse {
        authorization_url: started.authorization_url,
        state: started.state,
        expires_at: started.expires_at,
    }))
}

/// Finishes a single sign-on login with the `state` and `code` the identity provider sent back;
/// returns a session token (the user is created on their first login).
#[utoipa::path(post, path = "/api/v1/login/sso/finish", tag = "auth", request_body = SsoFinishRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "the identity provider does not answer", body = Problem, content_type = "application/problem+json"),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn sso_finish(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<SsoFinishRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let (_, token) = state.app.sso_finish(&req.state, &req.code).await?;
    Ok(Json(LoginResponse { token: token.secret.to_string(), expires_at: token.meta.expires_at }))
}

/// Ends the session (or revokes the API token) used for this call.
#[utoipa::path(post, path = "/api/v1/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
async fn logout(State(state): State<ApiState>, Caller(actor): Caller) -> Result<StatusCode, ApiError> {
    state.app.logout(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/user", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = UserView),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
async fn whoami(State(state): State<ApiState>, Caller(actor): Caller) -> Result<Json<UserView>, ApiError> {
    Ok(Json(convert::user(state.app.whoami(&actor).await?)))
}

/// Sets the caller's password.
#[utoipa::path(put, path = "/api/v1/user/password", tag = "auth", security(("bearer" = [])), request_body = SetPasswordRequest, responses(
    (status = 204),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn set_password(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_own_password(&actor, req.current_password.map(Zeroizing::new), Zeroizing::new(req.new_password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a user account. Server administrators only.
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", security(("bearer" = [])), request_body = CreateUserRequest, responses(
    (status = 201, body = UserView),
    (status = "4XX", body = Problem, content_type = "application/problem+json"),
))]
async fn create_user(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let username = UserName::parse(req.username)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", e.to_string()))?;
    let user = state.app.create_user(&actor, username, req.password.map(Zeroizing::new), req.server_admin).await?;
    Ok((StatusCode::CREATED, Json(convert::user(user))))
}
