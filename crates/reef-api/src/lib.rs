//! reef's REST API over HTTP.
//!
//! Handlers are thin: they extract typed input, call one `reef-app` method with the caller's
//! [`Actor`](reef_core::Actor), and convert the result. Authentication is an extractor;
//! authorization happens in reef-app. Every error leaves as `application/problem+json` with a
//! stable `code`, mapped from the application's errors in one place ([`error`]).
//!
//! This crate must not touch a database driver or a provider directly.

mod convert;
pub mod error;
mod extract;
mod metrics;
mod routes;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use reef_app::App;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limit for a deployment's body, which carries a chart archive (base64).
pub const MAX_DEPLOY_BODY_BYTES: usize = 12 * 1024 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The application.
    pub app: App,
    /// Renders `/metrics`; `None` when no metrics recorder is installed.
    pub metrics: Option<PrometheusHandle>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "reef",
        description = "A control plane for Kubernetes across clouds. Every operation but login and \
                       health needs `Authorization: Bearer <token>`: an API token or a session token \
                       from `POST /api/v1/login`. Errors are `application/problem+json` with a stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Logging in, users and API tokens"),
        (name = "organizations", description = "Organizations and their members"),
        (name = "secrets", description = "Typed, encrypted, versioned secrets"),
        (name = "clusters", description = "Clusters, the operations that create and delete them, and the providers' catalogs"),
        (name = "audit", description = "The audit log of mutating calls"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("reef token").build()),
        );
    }
}

fn api_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::tokens::router())
        .merge(routes::orgs::router())
        .merge(routes::members::router())
        .merge(routes::secrets::router())
        .merge(routes::clusters::router())
        .merge(routes::deployments::router())
        .merge(routes::helm::router())
        .merge(routes::audit::router())
}

/// The OpenAPI document describing every route, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = api_router().split_for_parts();
    api
}

/// The whole HTTP application: API routes, the OpenAPI document and its docs page, health
/// and metrics endpoints, and the layers every request passes (body limit, timeout, metrics,
/// tracing).
pub fn router(state: ApiState) -> Router {
    let (routes, api) = api_router().split_for_parts();
    routes
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", api))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(error::refuse_declared_oversized_bodies))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
