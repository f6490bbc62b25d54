//! ConfigMaps and Secrets: valid keys, the keys each Secret type needs, and the data of an
//! object marked `immutable: true` staying as it is.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{FieldError, Path, field, object_of, regex_error, same, str_of};

/// What an immutable object's data is told when it changes.
const IMMUTABLE: &str = "field is immutable when `immutable` is set";

/// `IsConfigMapKey`: a key of a ConfigMap or Secret, usable as a file name.
fn config_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    match key {
        "." => errs.push("must not be '.'".to_owned()),
        ".." => errs.push("must not be '..'".to_owned()),
        k if k.starts_with("..") => errs.push("must not start with '..'".to_owned()),
        _ => {}
    }
    errs
}

/// The keys of `map`, each checked as a config key at `path[key]`.
fn keys(map: Option<&Map<String, Value>>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for k in map.into_iter().flat_map(|m| m.keys()) {
        let p = path.key(k);
        errs.extend(config_key(k).into_iter().map(|m| FieldError::invalid(&p, &json!(k), &m)));
    }
    errs
}

/// A ConfigMap.
pub(super) fn config_map(cm: &Value) -> Vec<FieldError> {
    let data = object_of(cm, "data");
    let binary = object_of(cm, "binaryData");
    let mut errs = keys(data, &Path::new("data"));
    for k in data.into_iter().flat_map(|m| m.keys()) {
        if binary.is_some_and(|b| b.contains_key(k)) {
            let p = Path::new("data").key(k);
            errs.push(FieldError::invalid(&p, &json!(k), "duplicate of key present in binaryData"));
        }
    }
    errs.extend(keys(binary, &Path::new("binaryData")));
    errs
}

fn is_immutable(obj: &Value) -> bool {
    field(obj, "immutable").as_bool() == Some(true)
}

/// Whether two maps of data are the same; a missing map and an empty one are.
fn same_data(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(Map::is_empty);
    (empty(a) && empty(b)) || same(a, b)
}

/// A ConfigMap marked immutable keeps its data and its mark.
pub(super) fn config_map_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if is_immutable(current) {
        if !is_immutable(next) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), IMMUTABLE));
        }
        for key in ["data", "binaryData"] {
            if !same_data(field(current, key), field(next, key)) {
                errs.push(FieldError::forbidden(&Path::new(key), IMMUTABLE));
            }
        }
    }
    errs
}

/// The type of a Secret, `Opaque` when it names none.
fn secret_type(secret: &Value) -> &str {
    match str_of(secret, "type") {
        "" => "Opaque",
        t => t,
    }
}

/// A Secret's data as the apiserver sees it: `stringData` is merged into `data`.
fn secret_data(secret: &Value) -> Map<String, Value> {
    let mut data = object_of(secret, "data").cloned().unwrap_or_default();
    for (k, v) in object_of(secret, "stringData").into_iter().flatten() {
        data.insert(k.clone(), json!(STANDARD.encode(v.as_str().unwrap_or(""))));
    }
    data
}

/// The keys each Secret type must hold (any one of them, when `any`).
fn required_keys(kind: &str) -> (&'static [&'static str], bool) {
    match kind {
        "kubernetes.io/tls" => (&["tls.crt", "tls.key"], false),
        "kubernetes.io/dockerconfigjson" => (&[".dockerconfigjson"], false),
        "kubernetes.io/dockercfg" => (&[".dockercfg"], false),
        "kubernetes.io/ssh-auth" => (&["ssh-privatekey"], false),
        "kubernetes.io/basic-auth" => (&["username", "password"], true),
        _ => (&[], false),
    }
}

/// A Secret.
pub(super) fn secret(secret: &Value) -> Vec<FieldError> {
    let data = secret_data(secret);
    let path = Path::new("data");
    let mut errs = keys(Some(&data), &path);
    let (required, any) = required_keys(secret_type(secret));
    let missing: Vec<&str> = required.iter().copied().filter(|k| !data.contains_key(*k)).collect();
    if !missing.is_empty() && (!any || missing.len() == required.len()) {
        errs.extend(missing.into_iter().map(|k| FieldError::required(&path.key(k), "")));
    }
    if secret_type(secret) == "kubernetes.io/service-account-token" {
        let annotation = "kubernetes.io/service-account.name";
        if secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(annotation))
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            errs.push(FieldError::required(&Path::new("metadata").child("annotations").key(annotation), ""));
        }
    }
    errs
}

/// A Secret keeps its type; one marked immutable keeps its data and its mark.
pub(super) fn secret_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if secret_type(current) != secret_type(next) {
        errs.push(FieldError::immutable(&Path::new("type"), &json!(secret_type(next))));
    }
    if is_immutable(current) {
        if !is_immutable(next) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), IMMUTABLE));
        }
        if !same_data(&Value::Object(secret_data(current)), &Value::Object(secret_data(next))) {
            errs.push(FieldError::forbidden(&Path::new("data"), IMMUTABLE));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create_errors, update_errors};
    use serde_json::json;

    #[test]
    fn config_map_keys_are_file_names() {
        let cm = json!({"data": {"ok.key": "1", "bad key": "2", "..x": "3"}, "binaryData": {"ok.key": "MQ=="}});
        assert_eq!(
            create_errors("", "configmaps", cm),
            [
                "data[..x]: Invalid value: \"..x\": must not start with '..'",
                "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[ok.key]: Invalid value: \"ok.key\": duplicate of key present in binaryData",
            ]
        );
    }

    #[test]
    fn secret_keys_include_string_data_and_each_type_needs_its_keys() {
        let s = json!({"type": "kubernetes.io/tls", "stringData": {"tls.crt": "x", "a/b": "y"}});
        assert_eq!(
            create_errors("", "secrets", s),
            [
                "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[tls.key]: Required value",
            ]
        );
        assert!(
            create_errors("", "secrets", json!({"type": "kubernetes.io/basic-auth", "stringData": {"password": "p"}}))
                .is_empty()
        );
    }

    #[test]
    fn an_immutable_config_map_keeps_its_data() {
        let current = json!({"immutable": true, "data": {"a": "1"}});
        let next = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(
            update_errors("", "configmaps", current.clone(), next),
            ["data: Forbidden: field is immutable when `immutable` is set"]
        );
        assert_eq!(
            update_errors("", "configmaps", current.clone(), json!({"data": {"a": "1"}})),
            ["immutable: Forbidden: field is immutable when `immutable` is set"]
        );
        let mut labelled = current.clone();
        labelled["metadata"] = json!({"labels": {"x": "y"}});
        assert!(update_errors("", "configmaps", current, labelled).is_empty());
        assert!(update_errors("", "configmaps", json!({"data": {"a": "1"}}), json!({"data": {"a": "2"}})).is_empty());
    }

    #[test]
    fn a_secret_keeps_its_type_and_immutable_data() {
        let current = json!({"type": "Opaque", "immutable": true, "data": {"a": "MQ=="}});
        let next =
            json!({"type": "kubernetes.io/basic-auth", "immutable": true, "stringData": {"a": "2", "username": "u"}});
        assert_eq!(
            update_errors("", "secrets", current.clone(), next),
            [
                "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let same = json!({"immutable": true, "stringData": {"a": "1"}});
        assert!(update_errors("", "secrets", current, same).is_empty());
    }
}
