//! Kubernetes `Status` errors: the body a real API server sends with every failure, with the
//! reason and code that clients (kubectl, helm, kube-rs) branch on.

use serde_json::{Value, json};

/// A failed API call, as a Kubernetes `Status`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiStatus {
    /// The HTTP status code.
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: &'static str,
    /// The human-readable message, phrased as the real server phrases it.
    pub message: String,
    /// `details`: the object's name, group and kind (the resource, as the real server says).
    pub details: Option<Value>,
}

impl ApiStatus {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiStatus { code, reason, message: message.into(), details: None }
    }

    fn with_details(mut self, group: &str, resource: &str, name: &str) -> Self {
        let mut d = json!({"name": name, "kind": resource});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        self.details = Some(d);
        self
    }

    /// 404: `configmaps "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let what = qualified(group, resource);
        ApiStatus::new(404, "NotFound", format!("{what} \"{name}\" not found")).with_details(group, resource, name)
    }

    /// 409: `configmaps "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let what = qualified(group, resource);
        ApiStatus::new(409, "AlreadyExists", format!("{what} \"{name}\" already exists"))
            .with_details(group, resource, name)
    }

    /// 409: a stale `resourceVersion` on update.
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let what = qualified(group, resource);
        ApiStatus::new(409, "Conflict", format!("Operation cannot be fulfilled on {what} \"{name}\": {why}"))
            .with_details(group, resource, name)
    }

    /// 422: the object is invalid; `causes` are (field, message) pairs.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[(String, String)]) -> Self {
        let summary = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join(", ");
        let mut status = ApiStatus::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {summary}"));
        let mut d = json!({
            "name": name,
            "kind": kind,
            "causes": causes.iter().map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f})).collect::<Vec<_>>(),
        });
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        status.details = Some(d);
        status
    }

    /// 400: a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiStatus::new(400, "BadRequest", message)
    }

    /// 422: a patch that cannot be applied to the object.
    pub fn unprocessable_patch(message: impl Into<String>) -> Self {
        ApiStatus::new(422, "Invalid", message)
    }

    /// 401: a missing or wrong token.
    pub fn unauthorized() -> Self {
        ApiStatus::new(401, "Unauthorized", "Unauthorized")
    }

    /// 405: a verb the resource does not support.
    pub fn method_not_supported(resource: &str, verb: &str) -> Self {
        ApiStatus::new(405, "MethodNotAllowed", format!("{verb} is not supported on resources of kind \"{resource}\""))
    }

    /// 410: a watch or list from a resourceVersion that is no longer kept.
    pub fn gone(message: impl Into<String>) -> Self {
        ApiStatus::new(410, "Expired", message)
    }

    /// 415: a patch type the server does not accept.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiStatus::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// 404 for a path that names no resource.
    pub fn no_route() -> Self {
        ApiStatus::new(404, "NotFound", "the server could not find the requested resource")
    }

    /// 404 for a subresource the resource does not have.
    pub fn no_route_for(subresource: &str) -> Self {
        ApiStatus::new(404, "NotFound", format!("the server could not find the requested resource ({subresource})"))
    }

    /// 500: an internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiStatus::new(500, "InternalError", message)
    }

    /// The `Status` object sent as the response body.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_owned() } else { format!("{resource}.{group}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_object_reads_as_the_real_server_says_it() {
        let s = ApiStatus::already_exists("", "configmaps", "cm1").to_json();
        assert_eq!(s["message"], "configmaps \"cm1\" already exists");
        assert_eq!(s["reason"], "AlreadyExists");
        assert_eq!(s["code"], 409);
        assert_eq!(s["details"], json!({"name": "cm1", "kind": "configmaps"}));
    }

    #[test]
    fn a_grouped_resource_is_qualified_by_its_group() {
        let s = ApiStatus::not_found("apps", "deployments", "web");
        assert_eq!(s.message, "deployments.apps \"web\" not found");
    }
}
