//! An organization's chart repositories and the charts in them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use reef_api_types::{AddChartRepoRequest, ChartRepoView, ChartView, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, org_ref};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_repos, add_repo))
        .routes(routes!(remove_repo))
        .routes(routes!(update_repo))
        .routes(routes!(search_charts))
}

fn repo_view(r: reef_app::charts::ChartRepo) -> ChartRepoView {
    ChartRepoView {
        name: r.name,
        url: r.url,
        secret: r.secret.map(|s| s.to_string()),
        plain_http: r.plain_http,
        charts: r.charts,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The organization's chart repositories.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/helm/repos", tag = "deployments", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    responses(
        (status = 200, body = Vec<ChartRepoView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_repos(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
) -> Result<Json<Vec<ChartRepoView>>, ApiError> {
    let repos = state.app.list_chart_repos(&actor, &org_ref(&org)?).await?;
    Ok(Json(repos.into_iter().map(repo_view).collect()))
}

/// Adds a chart repository or an OCI registry; a repository's index is fetched now, and a
/// registry is asked whether it takes the credentials, so that a wrong URL or credentials fail
/// here (`502 repository_unreachable` or `repository_refused`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/helm/repos", tag = "deployments", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    request_body = AddChartRepoRequest,
    responses(
        (status = 201, body = ChartRepoView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The repository did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_repo(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<AddChartRepoRequest>,
) -> Result<(StatusCode, Json<ChartRepoView>), ApiError> {
    let secret = match req.secret {
        Some(s) => Some(reef_core::SecretName::parse(&s).map_err(|_| ApiError::not_found("secret"))?),
        None => None,
    };
    let repo = state.app.add_chart_repo(&actor, &org_ref(&org)?, &req.name, &req.url, secret, req.plain_http).await?;
    Ok((StatusCode::CREATED, Json(repo_view(repo))))
}

/// Forgets a chart repository (releases installed from it stay).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/helm/repos/{repo}", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("repo" = String, Path, description = "The repository's name"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_repo(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, repo)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.app.remove_chart_repo(&actor, &org_ref(&org)?, &repo).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fetches a repository's index again (`helm repo update`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/helm/repos/{repo}/update", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("repo" = String, Path, description = "The repository's name"),
    ),
    responses(
        (status = 200, body = ChartRepoView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The repository did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_repo(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, repo)): Path<(String, String)>,
) -> Result<Json<ChartRepoView>, ApiError> {
    let repo = state.app.update_chart_repo(&actor, &org_ref(&org)?, &repo).await?;
    Ok(Json(repo_view(repo)))
}

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// Words in the chart's name or description [default: every chart].
    q: Option<String>,
}

/// The charts of the organization's repositories, at their latest version.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/helm/charts", tag = "deployments", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), SearchParams),
    responses(
        (status = 200, body = Vec<ChartView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search_charts(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<Vec<ChartView>>, ApiError> {
    let found = state.app.search_charts(&actor, &org_ref(&org)?, params.q.as_deref().unwrap_or("")).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|f| ChartView {
                repo: f.repo,
                name: f.found.latest.name,
                version: f.found.latest.version,
                app_version: f.found.latest.app_version,
                description: f.found.latest.description,
                versions: f.found.versions,
            })
            .collect(),
    ))
}
