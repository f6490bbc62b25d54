//! Helm releases in an organization's clusters: install, upgrade, roll back, uninstall, and
//! reading them as the cluster records them.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use reef_api_types::{
    ClusterDeployResult, DeployDiffView, DeployRequest, FailedTestView, MultiDeployRequest, OperationView, Problem,
    ReleaseDetailView, ReleaseResourceView, ReleaseTestView, ReleaseView, RollbackRequest,
};
use reef_app::ClusterRef;
use reef_app::deployments::{Change, DeploySpec};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(deploy_to_clusters))
        .routes(routes!(list_deployments, install))
        .routes(routes!(get_deployment, upgrade, uninstall))
        .routes(routes!(history))
        .routes(routes!(rollback))
        .routes(routes!(diff))
        .routes(routes!(test))
        .layer(DefaultBodyLimit::max(crate::MAX_DEPLOY_BODY_BYTES))
}

fn cluster_ref(segment: &str) -> Result<ClusterRef, ApiError> {
    ClusterRef::parse(segment).ok_or_else(|| ApiError::not_found("cluster"))
}

/// Which namespace.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NamespaceParams {
    /// The release's namespace [default: `default`].
    namespace: Option<String>,
}

/// The namespace a request gives, or `default`.
fn namespace_or_default(namespace: Option<String>) -> String {
    namespace.unwrap_or_else(|| "default".to_owned())
}

/// Which namespaces a list covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this namespace [default: every namespace].
    namespace: Option<String>,
}

/// How to uninstall.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UninstallParams {
    /// The release's namespace [default: `default`].
    namespace: Option<String>,
    /// Keep the release's records, the last marked `uninstalled` (`helm uninstall --keep-history`).
    #[serde(default)]
    keep_history: bool,
}

/// The chart a request names: `oci`, or `repo` and `name`.
fn chart_ref(r: reef_api_types::ChartRefView) -> Result<reef_app::deployments::ChartRef, ApiError> {
    use reef_app::deployments::ChartRef;
    match r.oci {
        Some(reference) if r.repo.is_empty() && r.name.is_empty() => {
            Ok(ChartRef::Oci { reference, version: r.version, plain_http: r.plain_http })
        }
        None if !r.repo.is_empty() && !r.name.is_empty() => {
            Ok(ChartRef::Repo { repo: r.repo, name: r.name, version: r.version })
        }
        _ => Err(ApiError::invalid(
            "invalid_chart",
            "`chart_ref` names either `oci` (an oci:// reference) or `repo` and `name`",
            vec![reef_api_types::FieldProblem {
                field: "chart_ref".to_owned(),
                reason: "give `oci`, or `repo` and `name`".to_owned(),
            }],
        )),
    }
}

fn spec(req: DeployRequest, release: Option<String>) -> Result<DeploySpec, ApiError> {
    let chart = base64::engine::general_purpose::STANDARD.decode(req.chart.trim()).map_err(|_| {
        ApiError::invalid(
            "invalid_chart",
            "`chart` must be a chart archive (.tgz) in base64",
            vec![reef_api_types::FieldProblem { field: "chart".to_owned(), reason: "not base64".to_owned() }],
        )
    })?;
    let from_repo = req.chart_ref.map(chart_ref).transpose()?;
    Ok(DeploySpec {
        release: release.unwrap_or(req.release),
        namespace: req.namespace,
        chart,
        from_repo,
        values: req.values,
        set: req.set,
        set_string: req.set_string,
        set_json: req.set_json,
        values_from: req
            .values_from
            .into_iter()
            .map(|v| {
                let secret = reef_core::SecretName::parse(&v.secret).map_err(|_| ApiError::not_found("secret"))?;
                Ok(reef_app::deployments::ValueFrom { path: v.path, secret, key: v.key })
            })
            .collect::<Result<_, ApiError>>()?,
        wait: req.wait,
        atomic: req.atomic,
        create_namespace: req.create_namespace,
        no_hooks: req.no_hooks,
        timeout_seconds: req.timeout_seconds.unwrap_or(300),
    })
}

/// The releases of a cluster, the latest revision of each, as the cluster records them
/// (so releases the `helm` CLI made are listed too).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ListParams,
    ),
    responses(
        (status = 200, body = Vec<ReleaseView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster's API server did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_deployments(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Vec<ReleaseView>>, ApiError> {
    let org = org_ref(&org)?;
    let all = state.app.list_deployments(&actor, &org, &cluster_ref(&cluster)?, params.namespace.as_deref()).await?;
    Ok(Json(all.into_iter().map(convert::release).collect()))
}

/// Installs a chart as a new release; `202` with the operation (`begin`, `crds`,
/// `pre_hooks`, `apply`, `wait`, `post_hooks`, `finish`). A release of that name still in use
/// fails the operation, as in Helm; one with an operation going on is `409`.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
    ),
    request_body = DeployRequest,
    responses(
        (status = 202, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn install(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster)): Path<(String, String)>,
    ApiJson(req): ApiJson<DeployRequest>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let org = org_ref(&org)?;
    let run = state.app.deploy(&actor, &org, &cluster_ref(&cluster)?, Change::Install, spec(req, None)?).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::operation(run, None))))
}

/// The same deployment to several clusters at once: in each, an install, or an upgrade where
/// the release exists; `202` with each cluster's operation, or why it did not start there.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/deployments", tag = "deployments", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    request_body = MultiDeployRequest,
    responses(
        (status = 202, body = Vec<ClusterDeployResult>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deploy_to_clusters(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<MultiDeployRequest>,
) -> Result<(StatusCode, Json<Vec<ClusterDeployResult>>), ApiError> {
    let org = org_ref(&org)?;
    // A name no cluster can have is looked up as an id no cluster has: that cluster's result
    // is then `not_found`, like any other missing one.
    let refs: Vec<ClusterRef> = req
        .clusters
        .iter()
        .map(|c| ClusterRef::parse(c).unwrap_or_else(|| ClusterRef::Id(reef_core::ClusterId::new())))
        .collect();
    let results = state.app.deploy_to_clusters(&actor, &org, &refs, spec(req.deployment, None)?).await?;
    let out = req
        .clusters
        .into_iter()
        .zip(results)
        .map(|(cluster, r)| match r {
            Ok((change, run)) => ClusterDeployResult {
                cluster,
                change: Some(if change == Change::Install { "install" } else { "upgrade" }.to_owned()),
                operation: Some(convert::operation(run, None)),
                error: None,
            },
            Err(e) => {
                ClusterDeployResult { cluster, change: None, operation: None, error: Some(ApiError::from(e).problem()) }
            }
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// A release's latest revision, with each of its objects and whether it is ready.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
        NamespaceParams,
    ),
    responses(
        (status = 200, body = ReleaseDetailView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster's API server did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_deployment(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<NamespaceParams>,
) -> Result<Json<ReleaseDetailView>, ApiError> {
    let org = org_ref(&org)?;
    let ns = namespace_or_default(params.namespace);
    let view = state.app.get_deployment(&actor, &org, &cluster_ref(&cluster)?, &ns, &release).await?;
    let resources = view
        .resources
        .into_iter()
        .map(|(o, why)| ReleaseResourceView {
            api_version: o.api_version,
            kind: o.kind,
            namespace: o.namespace,
            name: o.name,
            ready: why.is_none(),
            reason: why,
        })
        .collect();
    Ok(Json(ReleaseDetailView { release: convert::release(view.release), resources }))
}

/// Upgrades a release to a chart and values; `202` with the operation. What the release had
/// and no longer has is deleted.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
    ),
    request_body = DeployRequest,
    responses(
        (status = 202, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn upgrade(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiJson(req): ApiJson<DeployRequest>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let org = org_ref(&org)?;
    let spec = spec(req, Some(release))?;
    let run = state.app.deploy(&actor, &org, &cluster_ref(&cluster)?, Change::Upgrade, spec).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::operation(run, None))))
}

/// Uninstalls a release; `202` with the operation.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
        UninstallParams,
    ),
    responses(
        (status = 202, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn uninstall(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<UninstallParams>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let org = org_ref(&org)?;
    let ns = namespace_or_default(params.namespace);
    let run = state
        .app
        .uninstall_deployment(&actor, &org, &cluster_ref(&cluster)?, &ns, &release, params.keep_history)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(convert::operation(run, None))))
}

/// Every revision of a release, oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/history", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
        NamespaceParams,
    ),
    responses(
        (status = 200, body = Vec<ReleaseView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn history(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<NamespaceParams>,
) -> Result<Json<Vec<ReleaseView>>, ApiError> {
    let org = org_ref(&org)?;
    let ns = namespace_or_default(params.namespace);
    let all = state.app.deployment_history(&actor, &org, &cluster_ref(&cluster)?, &ns, &release).await?;
    Ok(Json(all.into_iter().map(convert::release).collect()))
}

/// Rolls a release back to a revision (the one before the latest by default): a new revision
/// with that one's chart, values and objects; `202` with the operation.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/rollback", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
        NamespaceParams,
    ),
    request_body = RollbackRequest,
    responses(
        (status = 202, body = OperationView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rollback(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<NamespaceParams>,
    ApiJson(req): ApiJson<RollbackRequest>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let org = org_ref(&org)?;
    let ns = namespace_or_default(params.namespace);
    let run = state
        .app
        .rollback_deployment(&actor, &org, &cluster_ref(&cluster)?, &ns, &release, req.revision.unwrap_or(0))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(convert::operation(run, None))))
}

/// What installing or upgrading the release with this chart and these values would change,
/// without changing anything (a dry run): each object added, changed (with its lines) or removed
/// against the deployed revision.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/diff", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
    ),
    request_body = DeployRequest,
    responses(
        (status = 200, body = DeployDiffView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn diff(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiJson(req): ApiJson<DeployRequest>,
) -> Result<Json<DeployDiffView>, ApiError> {
    let org = org_ref(&org)?;
    let d = state.app.diff_deployment(&actor, &org, &cluster_ref(&cluster)?, spec(req, Some(release))?).await?;
    Ok(Json(DeployDiffView {
        revision: d.revision,
        change: if d.upgrade { "upgrade" } else { "install" }.to_owned(),
        diff: d.diff,
        manifest: d.manifest,
        notes: d.notes,
    }))
}

/// Runs the `test` hooks of the release's deployed revision (`helm test`), one by one until
/// one fails: the tests that passed and the one that failed. A failed test is a result
/// (`200` with `failed`), not an error.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/test", tag = "deployments", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("cluster" = String, Path, description = "The cluster's name or id"),
        ("release" = String, Path, description = "The release's name"),
        NamespaceParams,
    ),
    responses(
        (status = 200, body = ReleaseTestView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The cluster did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn test(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, cluster, release)): Path<(String, String, String)>,
    ApiQuery(params): ApiQuery<NamespaceParams>,
) -> Result<Json<ReleaseTestView>, ApiError> {
    let org = org_ref(&org)?;
    let ns = namespace_or_default(params.namespace);
    let run = state.app.test_deployment(&actor, &org, &cluster_ref(&cluster)?, &ns, &release).await?;
    Ok(Json(ReleaseTestView {
        passed: run.passed.iter().map(ToString::to_string).collect(),
        failed: run.failed.map(|f| FailedTestView { test: f.hook.to_string(), reason: f.reason }),
    }))
}
