//! An organization's clusters, their operations, and the providers' catalogs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use reef_api_types::{
    ClusterList, ClusterOperationView, ClusterView, CreateClusterRequest, InstallSecretRequest, InstalledSecretView,
    NamespaceView, NodeView, OperationView, Problem, ProviderView, StatusChangeView, UpdateClusterRequest,
};
use reef_app::{ClusterFilter, ClusterRef};
use reef_core::{ClusterStatus, WorkflowId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, PageParams, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(providers))
        .routes(routes!(live_catalog))
        .routes(routes!(list_clusters, create_cluster))
        .routes(routes!(get_cluster, update_cluster, delete_cluster))
        .routes(routes!(cluster_kubeconfig))
        .routes(routes!(cluster_history))
        .routes(routes!(cluster_nodes))
        .routes(routes!(cluster_namespaces))
        .routes(routes!(install_secret))
        .routes(routes!(get_operation))
        .routes(routes!(operation_events))
        .routes(routes!(cancel_operation))
}

/// A cluster path segment: an id or a name. One that can name no cluster is a 404.
fn cluster_ref(segment: &str) -> Result<ClusterRef, ApiError> {
    ClusterRef::parse(segment).ok_or_else(|| ApiError::not_found("cluster"))
}

fn operation_id(segment: &str) -> Result<WorkflowId, ApiError> {
    segment.parse().map_err(|_| ApiError::not_found("operation"))
}

/// `GET .../providers/{provider}/catalog`: with which credentials, and where.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CatalogParams {
    /// The organization secret with the provider's credentials.
    secret: Option<String>,
    /// The region whose instance types to list.
    #[serde(default)]
    region: String,
}

/// What a provider offers to the organization's credentials, in a region, as its cloud's
/// APIs list it (for `amazon`: the account's regions, the region's instance types with vCPUs
/// and memory, EKS's versions), kept for an hour.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/providers/{provider}/catalog", tag = "clusters",
    security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"),
           ("provider" = String, Path, description = "The provider"), CatalogParams),
    responses(
        (status = 200, body = ProviderView),
        (status = 502, description = "the provider's cloud refused or failed", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn live_catalog(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, provider)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<CatalogParams>,
) -> Result<Json<ProviderView>, ApiError> {
    let org = org_ref(&org)?;
    let secret = match params.secret.as_deref() {
        None => None,
        Some(s) => Some(reef_core::SecretName::parse(s).map_err(|_| ApiError::not_found("secret"))?),
    };
    let catalog = state.app.live_catalog(&actor, &org, &provider, secret.as_ref(), &params.region).await?;
    Ok(Json(convert::provider(catalog)))
}

/// What each provider of this server offers: regions, instance types, Kubernetes versions
/// and capabilities.
#[utoipa::path(get, path = "/api/v1/providers", tag = "clusters", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ProviderView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn providers(State(state): State<ApiState>, Caller(actor): Caller) -> Result<Json<Vec<ProviderView>>, ApiError> {
    let catalogs = state.app.provider_catalogs(&actor).await?;
    Ok(Json(catalogs.into_iter().map(convert::provider).collect()))
}

/// Creates a cluster. The spec is checked against the provider's catalog before anything is
/// recorded; the answer is the cluster, `pending`, and the operation creating it.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters", tag = "clusters", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    request_body = CreateClusterRequest,
    responses(
        (status = 202, body = ClusterOperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The provider did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_cluster(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<CreateClusterRequest>,
) -> Result<(StatusCode, Json<ClusterOperationView>), ApiError> {
    let org = org_ref(&org)?;
    let spec = convert::cluster_spec(req)
        .map_err(|problems| ApiError::invalid("invalid_cluster_spec", "the cluster spec is not valid", problems))?;
    let created = state.app.create_cluster(&actor, &org, spec).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::cluster_operation(created))))
}

/// Filters for listing clusters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ClusterListParams {
    /// Only clusters in this status (`deleted` lists deleted clusters, which are left out
    /// otherwise).
    status: Option<String>,
    /// Only clusters of this provider.
    provider: Option<String>,
    /// Only clusters with these labels, as `key=value`, several separated by commas
    /// (`env=prod,team=data`).
    label: Option<String>,
}

/// The organization's clusters, oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters", tag = "clusters", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), ClusterListParams, PageParams),
    responses(
        (status = 200, body = ClusterList),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_clusters(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<ClusterListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<ClusterList>, ApiError> {
    let org = org_ref(&org)?;
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => Some(ClusterStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                "status must be one of pending, creating, running, updating, deleting, deleted, error, warning",
            )
        })?),
    };
    let mut filter = ClusterFilter { status, provider: params.provider, ..ClusterFilter::default() };
    for label in params.label.iter().flat_map(|l| l.split(',')) {
        let (key, value) = label.split_once('=').ok_or_else(|| {
            ApiError::bad_request("invalid_label", "label must be key=value, several separated by commas")
        })?;
        filter.labels.insert(key.to_owned(), value.to_owned());
    }
    let page = state.app.list_clusters(&actor, &org, &filter, &page.page()?).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(ClusterList { items: page.items.into_iter().map(convert::cluster).collect(), next_cursor }))
}

/// A cluster, by name or id (a deleted cluster is found by its id only).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    responses(
        (status = 200, body = ClusterView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_cluster(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
) -> Result<Json<ClusterView>, ApiError> {
    let org = org_ref(&org)?;
    let found = state.app.describe_cluster(&actor, &org, &cluster_ref(&cluster)?).await?;
    Ok(Json(convert::cluster_described(found)))
}

/// Starts changing a cluster: its Kubernetes version, node pools or labels (202 with the
/// operation). A change the provider cannot make is 422 with a problem per field; a cluster
/// that is not running, or has an operation going on, is 409.
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/clusters/{cluster}", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    request_body = UpdateClusterRequest,
    responses(
        (status = 202, body = ClusterOperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_cluster(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
    ApiJson(req): ApiJson<UpdateClusterRequest>,
) -> Result<(StatusCode, Json<ClusterOperationView>), ApiError> {
    let org = org_ref(&org)?;
    let change = convert::cluster_change(req)
        .map_err(|problems| ApiError::invalid("invalid_cluster_spec", "the change is not valid", problems))?;
    let updating = state.app.update_cluster(&actor, &org, &cluster_ref(&cluster)?, change).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::cluster_operation(updating))))
}

/// How to delete a cluster.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeleteParams {
    /// Mark the cluster deleted even when the provider cannot remove everything; the cluster's
    /// status message then names what was left behind.
    #[serde(default)]
    force: bool,
}

/// Starts deleting a cluster. A create still going on is cancelled and unwound first; a
/// delete already going on answers 409 with its operation's id.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/clusters/{cluster}", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        DeleteParams,
    ),
    responses(
        (status = 202, body = ClusterOperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_cluster(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> Result<(StatusCode, Json<ClusterOperationView>), ApiError> {
    let org = org_ref(&org)?;
    let deleting = state.app.delete_cluster(&actor, &org, &cluster_ref(&cluster)?, params.force).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::cluster_operation(deleting))))
}

/// The cluster's kubeconfig (YAML), for kubectl and helm. Members and above; never viewers.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/config", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    responses(
        (status = 200, body = String, content_type = "application/yaml"),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cluster_kubeconfig(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = org_ref(&org)?;
    let kubeconfig = state.app.cluster_kubeconfig(&actor, &org, &cluster_ref(&cluster)?).await?;
    let mut response = kubeconfig.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Every status the cluster went through, oldest first, each with its cause and the operation
/// that made it.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/history", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    responses(
        (status = 200, body = Vec<StatusChangeView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cluster_history(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
) -> Result<Json<Vec<StatusChangeView>>, ApiError> {
    let org = org_ref(&org)?;
    let history = state.app.cluster_history(&actor, &org, &cluster_ref(&cluster)?).await?;
    Ok(Json(history.into_iter().map(convert::status_change).collect()))
}

/// The cluster's nodes, as its API server reports them.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/nodes", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    responses(
        (status = 200, body = Vec<NodeView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster's API server did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cluster_nodes(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
) -> Result<Json<Vec<NodeView>>, ApiError> {
    let org = org_ref(&org)?;
    let nodes = state.app.cluster_nodes(&actor, &org, &cluster_ref(&cluster)?).await?;
    Ok(Json(nodes.into_iter().map(convert::node).collect()))
}

/// The cluster's namespaces, as its API server reports them.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/namespaces", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    responses(
        (status = 200, body = Vec<NamespaceView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster's API server did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cluster_namespaces(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
) -> Result<Json<Vec<NamespaceView>>, ApiError> {
    let org = org_ref(&org)?;
    let namespaces = state.app.cluster_namespaces(&actor, &org, &cluster_ref(&cluster)?).await?;
    Ok(Json(namespaces.into_iter().map(convert::namespace).collect()))
}

/// Puts an organization's secret into the cluster as a Kubernetes Secret, by server-side apply
/// (field manager `reef`): installing it again brings it up to date. Whoever reads the
/// cluster's Secrets then reads the values, so this needs the admin role.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters/{cluster}/secrets", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    request_body = InstallSecretRequest,
    responses(
        (status = 200, body = InstalledSecretView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster's API server did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn install_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
    ApiJson(req): ApiJson<InstallSecretRequest>,
) -> Result<Json<InstalledSecretView>, ApiError> {
    let org = org_ref(&org)?;
    let secret = reef_core::SecretName::parse(&req.secret).map_err(|_| ApiError::not_found("secret"))?;
    let install = reef_app::SecretInstall { secret, namespace: req.namespace, name: req.name };
    let installed = state.app.install_secret(&actor, &org, &cluster_ref(&cluster)?, install).await?;
    Ok(Json(convert::installed_secret(installed)))
}

/// An operation: its status, each step with its start, end, attempts and error, and an
/// estimate of the time it still needs.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/operations/{id}", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("id" = String, Path, description = "The operation's id"),
    ),
    responses(
        (status = 200, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_operation(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Json<OperationView>, ApiError> {
    let org = org_ref(&org)?;
    let found = state.app.get_operation(&actor, &org, operation_id(&id)?).await?;
    Ok(Json(convert::operation(found.run, found.remaining)))
}

/// The operation's progress as server-sent events: an `operation` event (the operation as
/// `GET .../operations/{id}` shows it) at once, then one each time it changes, the last when it
/// has ended; then the stream closes. Comments keep an idle connection open.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/operations/{id}/events", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("id" = String, Path, description = "The operation's id"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/event-stream",
            description = "`event: operation` with an OperationView as `data`, once per change"),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn operation_events(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    /// How long one wait for a change lasts before it is asked again (the stream stays open).
    const WAIT: std::time::Duration = std::time::Duration::from_secs(15);
    let org = org_ref(&org)?;
    let id = operation_id(&id)?;
    // The first view answers 404 (or 403) before the stream starts.
    let first = state.app.wait_for_operation(&actor, &org, id, None, std::time::Duration::ZERO).await?;
    // Each item: the view to send, then the next one (none once the operation has ended).
    let stream = futures_util::stream::unfold(Some(first), move |step| {
        let (state, actor, org) = (state.clone(), actor.clone(), org.clone());
        async move {
            let view = step?;
            let ended = view.run.status.is_final();
            let event =
                Event::default().event("operation").json_data(convert::operation(view.run.clone(), view.remaining));
            let next = if ended {
                None
            } else {
                let mut seen = view.run.clone();
                loop {
                    match state.app.wait_for_operation(&actor, &org, id, Some(&seen), WAIT).await {
                        Ok(v) if v.run == seen => seen = v.run,
                        Ok(v) => break Some(v),
                        Err(e) => {
                            tracing::warn!(operation = %id, error = %e, "an operation's event stream stopped");
                            break None;
                        }
                    }
                }
            };
            Some((event.map_err(std::io::Error::other), next))
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// Asks an operation to stop: the step running finishes, then the steps done are undone
/// (follow it until it is `cancelled`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/operations/{id}/cancel", tag = "clusters", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("id" = String, Path, description = "The operation's id"),
    ),
    responses(
        (status = 202, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_operation(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let org = org_ref(&org)?;
    let run = state.app.cancel_operation(&actor, &org, operation_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::operation(run, None))))
}
