//! Extractors that turn a request into typed input, or into a problem+json 4xx.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use reef_core::page::{Cursor, PageRequest};
use reef_core::{Actor, OrgRef};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::ApiState;
use crate::error::ApiError;

/// The authenticated caller, from `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct Caller(pub Actor);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("send `Authorization: Bearer <token>`"))?;
        let value = header.to_str().map_err(|_| unauthenticated("the Authorization header is not valid text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated("the Authorization header must use the Bearer scheme"))?;
        Ok(Caller(state.app.authenticate(token.trim()).await?))
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", format!("authentication required: {detail}"))
}

/// A JSON body; malformed JSON, unknown fields, a wrong content type or an oversized body
/// become a problem+json 4xx.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = r.status();
    let code = match &r {
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::JsonDataError(_) => "invalid_body",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        _ => "invalid_body",
    };
    ApiError::new(status, code, r.body_text())
}

/// Query parameters; a malformed query becomes a problem+json 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(query_rejection(r)),
        }
    }
}

fn query_rejection(r: QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_query", r.body_text())
}

/// `limit` and `cursor`, for every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// At most this many items (1 to 1000; default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let after = match &self.cursor {
            Some(c) => Some(Cursor::decode(c).map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))?),
            None => None,
        };
        PageRequest::new(self.limit, after).map_err(|e| ApiError::bad_request("invalid_limit", e.to_string()))
    }
}

/// An organization path segment. A segment that cannot name any organization is a 404,
/// like one that names an organization the caller cannot see.
pub fn org_ref(segment: &str) -> Result<OrgRef, ApiError> {
    OrgRef::parse(segment).ok_or_else(|| ApiError::not_found("organization"))
}
