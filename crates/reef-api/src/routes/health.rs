//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use reef_api_types::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::ApiError;

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Whether the process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".to_owned() })
}

/// Whether reef can serve requests: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, body = Health),
    (status = 503, body = reef_api_types::Problem, content_type = "application/problem+json"),
))]
async fn readyz(State(state): State<ApiState>) -> Result<Json<Health>, ApiError> {
    state.app.ready().await?;
    Ok(Json(Health { status: "ok".to_owned() }))
}

/// Metrics in Prometheus's text format.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    match &state.metrics {
        Some(handle) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()),
        None => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], String::new()),
    }
}
