//! PersistentVolumeClaims: access modes and a storage request, and a spec that stays as it
//! was created, but for a bound claim's storage request growing.

use serde_json::{Value, json};

use super::{FieldError, Path, array_of, field, label_selector, without_nulls};
use crate::quantity;

/// The access modes of a claim, in the order the apiserver lists them.
const ACCESS_MODES: [&str; 4] = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

fn storage_request(claim: &Value) -> &Value {
    field(field(field(field(claim, "spec"), "resources"), "requests"), "storage")
}

/// A quantity's value, whether written as a string or a number.
fn quantity(value: &Value) -> Option<i128> {
    match value {
        Value::String(s) => quantity::parse_milli(s),
        Value::Number(n) => quantity::parse_milli(&n.to_string()),
        _ => None,
    }
}

/// A PersistentVolumeClaim.
pub(super) fn claim(claim: &Value) -> Vec<FieldError> {
    let spec = field(claim, "spec");
    let path = Path::new("spec");
    let modes = array_of(spec, "accessModes");
    let mut errs = Vec::new();
    if modes.is_empty() {
        errs.push(FieldError::required(&path.child("accessModes"), "at least 1 access mode is required"));
    }
    errs.extend(label_selector(field(spec, "selector"), &path.child("selector")));
    for mode in modes {
        if !mode.as_str().is_some_and(|m| ACCESS_MODES.contains(&m)) {
            errs.push(FieldError::not_supported(&path.child("accessModes"), mode, &ACCESS_MODES));
        }
    }
    if modes.len() > 1 && modes.iter().any(|m| m == "ReadWriteOncePod") {
        errs.push(FieldError::forbidden(
            &path.child("accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let storage = storage_request(claim);
    let sp = path.child("resources").key("storage");
    if storage.is_null() {
        errs.push(FieldError::required(&sp, ""));
    } else if quantity(storage).is_none_or(|q| q <= 0) {
        errs.push(FieldError::invalid(&sp, storage, "must be greater than zero"));
    }
    if let Some(mode) = spec.get("volumeMode").and_then(Value::as_str)
        && !matches!(mode, "Block" | "Filesystem")
    {
        errs.push(FieldError::not_supported(&path.child("volumeMode"), &json!(mode), &["Block", "Filesystem"]));
    }
    errs
}

/// A claim's spec may not change, but for its volume name once, its volume attributes class,
/// and, once it is bound, its storage request (which may not shrink below what it got).
pub(super) fn claim_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let mut old = without_nulls(field(current, "spec"));
    let mut new = without_nulls(field(next, "spec"));
    let bound = next.pointer("/status/phase").and_then(Value::as_str) == Some("Bound");
    for spec in [&mut old, &mut new] {
        if let Some(m) = spec.as_object_mut() {
            m.remove("volumeAttributesClassName");
            if field(field(current, "spec"), "volumeName").as_str().unwrap_or("").is_empty() {
                m.remove("volumeName");
            }
        }
        if bound && let Some(requests) = spec.pointer_mut("/resources/requests").and_then(Value::as_object_mut) {
            requests.remove("storage");
        }
    }
    let mut errs = Vec::new();
    if old != new {
        errs.push(FieldError::forbidden(
            &Path::new("spec"),
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let capacity = current.pointer("/status/capacity/storage").and_then(quantity).unwrap_or(0);
    if let (Some(before), Some(after)) = (quantity(storage_request(current)), quantity(storage_request(next)))
        && after < before
        && after <= capacity
    {
        let p = Path::new("spec").child("resources").child("requests").child("storage");
        errs.push(FieldError::forbidden(&p, "field can not be less than status.capacity"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create_errors, update_errors};
    use serde_json::{Value, json};

    fn claim(size: &str) -> Value {
        json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})
    }

    #[test]
    fn a_claim_needs_access_modes_and_storage() {
        assert_eq!(
            create_errors("", "persistentvolumeclaims", json!({"spec": {"accessModes": ["ReadWriteSometimes"]}})),
            [
                "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.resources[storage]: Required value",
            ]
        );
        assert_eq!(
            create_errors("", "persistentvolumeclaims", json!({"spec": {}})),
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value"
            ]
        );
        assert!(create_errors("", "persistentvolumeclaims", claim("1Gi")).is_empty());
    }

    #[test]
    fn a_claim_spec_is_immutable_but_a_bound_claim_may_grow() {
        let mut other_class = claim("1Gi");
        other_class["spec"]["storageClassName"] = json!("fast");
        assert_eq!(
            update_errors("", "persistentvolumeclaims", claim("1Gi"), other_class),
            [
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
            ]
        );
        assert_eq!(update_errors("", "persistentvolumeclaims", claim("1Gi"), claim("2Gi")).len(), 1);
        let mut bound = claim("1Gi");
        bound["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        let mut grown = claim("2Gi");
        grown["status"] = bound["status"].clone();
        assert!(update_errors("", "persistentvolumeclaims", bound.clone(), grown).is_empty());
        let mut shrunk = claim("512Mi");
        shrunk["status"] = bound["status"].clone();
        assert_eq!(
            update_errors("", "persistentvolumeclaims", bound, shrunk),
            ["spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"]
        );
    }
}
