//! Secret types and an organization's secrets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use reef_api_types::{
    CreateSecretRequest, Problem, SecretFieldView, SecretList, SecretTypeView, SecretVersionView, SecretView,
    UpdateSecretRequest,
};
use reef_app::{NewSecret, SecretChange, SecretFilter, SecretRef};
use reef_core::secret::SecretValues;
use reef_core::{SecretId, SecretName, SecretType};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, PageParams, org_ref};
use crate::{ApiState, convert};

pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(secret_types))
        .routes(routes!(list_secrets, create_secret))
        .routes(routes!(get_secret, update_secret, delete_secret))
        .routes(routes!(secret_versions))
}

fn secret_ref(segment: &str) -> Result<SecretRef, ApiError> {
    if let Ok(id) = segment.parse::<SecretId>() {
        return Ok(SecretRef::Id(id));
    }
    SecretName::parse(segment).map(SecretRef::Name).map_err(|_| ApiError::not_found("secret"))
}

fn secret_type(s: &str) -> Result<SecretType, ApiError> {
    s.parse::<SecretType>()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_secret_type", e.to_string()))
}

/// Every secret type and its fields.
#[utoipa::path(get, path = "/api/v1/secret-types", tag = "secrets", responses((status = 200, body = Vec<SecretTypeView>)))]
async fn secret_types() -> Json<Vec<SecretTypeView>> {
    Json(
        SecretType::ALL
            .iter()
            .map(|t| SecretTypeView {
                name: t.as_str().to_owned(),
                description: t.description().to_owned(),
                fields: t
                    .fields()
                    .iter()
                    .map(|f| SecretFieldView {
                        name: f.name.to_owned(),
                        required: f.required,
                        sensitive: f.sensitive,
                        description: f.description.to_owned(),
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// Filters for listing secrets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SecretListParams {
    /// Only secrets of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    secret_type: Option<String>,
    /// Only secrets with this tag.
    tag: Option<String>,
}

/// Creates a secret. Its fields are checked against its type; its values are encrypted.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/secrets", tag = "secrets", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id")),
    request_body = CreateSecretRequest,
    responses(
        (status = 201, body = SecretView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<CreateSecretRequest>,
) -> Result<(StatusCode, Json<SecretView>), ApiError> {
    let org = org_ref(&org)?;
    let name = SecretName::parse(req.name)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", e.to_string()))?;
    let new = NewSecret {
        name,
        secret_type: secret_type(&req.secret_type)?,
        values: SecretValues::new(req.values),
        tags: req.tags,
    };
    let meta = state.app.create_secret(&actor, &org, new).await?;
    Ok((StatusCode::CREATED, Json(convert::secret(meta, None))))
}

/// The organization's secrets: metadata only, never values.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/secrets", tag = "secrets", security(("bearer" = [])),
    params(("org" = String, Path, description = "The organization's name or id"), SecretListParams, PageParams),
    responses(
        (status = 200, body = SecretList),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_secrets(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(org): Path<String>,
    ApiQuery(filter): ApiQuery<SecretListParams>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<SecretList>, ApiError> {
    let org = org_ref(&org)?;
    let filter =
        SecretFilter { secret_type: filter.secret_type.as_deref().map(secret_type).transpose()?, tag: filter.tag };
    let page = state.app.list_secrets(&actor, &org, &filter, &params.page()?).await?;
    let next_cursor = convert::next_cursor(&page);
    Ok(Json(SecretList { items: page.items.into_iter().map(|m| convert::secret(m, None)).collect(), next_cursor }))
}

/// Whether to include values, and of which version.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RevealParams {
    /// Include the values (admins and owners only).
    #[serde(default)]
    reveal: bool,
    /// The version whose values to include; the current one by default.
    #[param(minimum = 1)]
    version: Option<u32>,
}

/// A secret's metadata, and its values with `reveal=true` (admins and owners only).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("secret" = String, Path, description = "The secret's name or id"),
        RevealParams,
    ),
    responses(
        (status = 200, body = SecretView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, secret)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<RevealParams>,
) -> Result<Json<SecretView>, ApiError> {
    let org = org_ref(&org)?;
    let view = state.app.get_secret(&actor, &org, &secret_ref(&secret)?, params.reveal, params.version).await?;
    Ok(Json(convert::secret(view.meta, view.values.map(SecretValues::into_inner))))
}

/// Changes a secret: new values make a new version; tags replace tags.
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("secret" = String, Path, description = "The secret's name or id"),
    ),
    request_body = UpdateSecretRequest,
    responses(
        (status = 200, body = SecretView),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, secret)): Path<(String, String)>,
    ApiJson(req): ApiJson<UpdateSecretRequest>,
) -> Result<Json<SecretView>, ApiError> {
    let org = org_ref(&org)?;
    let change = SecretChange {
        values: req.values.map(SecretValues::new),
        tags: req.tags,
        expected_version: req.expected_version,
    };
    let meta = state.app.update_secret(&actor, &org, &secret_ref(&secret)?, change).await?;
    Ok(Json(convert::secret(meta, None)))
}

/// Deletes a secret and all its versions; 409 while something uses it.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("secret" = String, Path, description = "The secret's name or id"),
    ),
    responses(
        (status = 204),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, secret)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = org_ref(&org)?;
    state.app.delete_secret(&actor, &org, &secret_ref(&secret)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A secret's versions, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/secrets/{secret}/versions", tag = "secrets", security(("bearer" = [])),
    params(
        ("org" = String, Path, description = "The organization's name or id"),
        ("secret" = String, Path, description = "The secret's name or id"),
    ),
    responses(
        (status = 200, body = Vec<SecretVersionView>),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
    ))]
async fn secret_versions(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path((org, secret)): Path<(String, String)>,
) -> Result<Json<Vec<SecretVersionView>>, ApiError> {
    let org = org_ref(&org)?;
    let versions = state.app.secret_versions(&actor, &org, &secret_ref(&secret)?).await?;
    Ok(Json(
        versions
            .into_iter()
            .map(|v| SecretVersionView {
                version: v.version,
                created_by: *v.created_by.as_uuid(),
                created_at: v.created_at,
            })
            .collect(),
    ))
}
