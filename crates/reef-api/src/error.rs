//! Errors as `application/problem+json` (RFC 9457): the one place where application errors
//! become HTTP statuses. Internal details are logged here and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reef_api_types::{FieldProblem, Problem};
use reef_app::AppError;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    problems: Vec<FieldProblem>,
}

impl ApiError {
    /// A client error with a stable code.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), problems: Vec::new() }
    }

    /// A 400 for input that is malformed.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// A 422 for input that does not parse, with a problem per field.
    pub fn invalid(code: &'static str, detail: impl Into<String>, problems: Vec<FieldProblem>) -> Self {
        ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, code, detail: detail.into(), problems }
    }

    /// A 404 for an object that does not exist or is not the caller's to see.
    pub fn not_found(kind: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{kind} not found"))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match &e {
            AppError::Unauthenticated(_) | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Forbidden { .. } | AppError::ServerAdminRequired | AppError::NotAllowed { .. } => {
                StatusCode::FORBIDDEN
            }
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Provider { .. } | AppError::Cluster { .. } | AppError::DependencyFailed { .. } => {
                StatusCode::BAD_GATEWAY
            }
            AppError::Unavailable(_) | AppError::DependencyDown { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) | AppError::Workflow(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match &e {
            AppError::Unavailable(source) | AppError::Internal(source) => {
                tracing::error!(code = e.code(), error = %error_chain(source), "request failed");
            }
            AppError::Workflow(source) => {
                tracing::error!(code = e.code(), error = %error_chain(source), "request failed");
            }
            AppError::DependencyDown { .. } | AppError::DependencyFailed { .. } => {
                tracing::warn!(code = e.code(), error = %e, "request failed");
            }
            _ => {}
        }
        let problems = match &e {
            AppError::Invalid { problems, .. } => {
                problems.iter().map(|p| FieldProblem { field: p.field.clone(), reason: p.reason.clone() }).collect()
            }
            _ => Vec::new(),
        };
        ApiError { status, code: e.code(), detail: e.to_string(), problems }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

impl ApiError {
    /// The problem document this error answers with (its status inside).
    pub fn problem(self) -> Problem {
        Problem {
            problem_type: format!("urn:reef:problem:{}", self.code),
            title: title(self.status),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_owned(),
            problems: self.problems,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = self.problem();
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer for a path that matches no route.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such API endpoint")
}

/// The answer for a known path with a method it does not support.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not support that method")
}

/// Refuses a request whose declared `Content-Length` exceeds [`crate::MAX_BODY_BYTES`] (for a
/// deployment, [`crate::MAX_DEPLOY_BODY_BYTES`]) before
/// reading any of its body. (Bodies without a declared length are cut off by the extractors
/// when they pass the limit.)
pub async fn refuse_declared_oversized_bodies(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // A deployment carries a chart archive.
    let limit =
        if req.uri().path().contains("/deployments") { crate::MAX_DEPLOY_BODY_BYTES } else { crate::MAX_BODY_BYTES };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request bodies are limited to {limit} bytes here"),
        ));
    }
    Ok(next.run(req).await)
}
