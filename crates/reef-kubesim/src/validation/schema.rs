//! Custom resources against the `openAPIV3Schema` of their CRD's version: first pruned of
//! the fields the schema does not specify (silently, as the apiserver prunes them) and given
//! the schema's defaults, then validated, with messages phrased as kube-openapi phrases them
//! (`spec.size in body must be of type integer: "string"`).
//!
//! An object's `apiVersion`, `kind` and `metadata` are neither pruned nor checked here:
//! metadata is validated as every object's is. On update, a value that did not change is not
//! validated again (the apiserver's validation ratcheting), so a schema made stricter does not
//! lock objects that were stored before.

use serde_json::{Map, Value, json};

use super::{FieldError, Path, array_of, field, object_of, render, str_of};

/// The schema of `version` in `crd`: its `schema.openAPIV3Schema`.
fn version_schema<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
    array_of(field(crd, "spec"), "versions")
        .iter()
        .find(|v| str_of(v, "name") == version)
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .filter(|s| s.is_object())
}

/// Prunes `obj` (a custom resource of `version`) and checks it against its schema. `old` is
/// the stored object on update. Returns the errors and the paths of the fields pruned.
pub(super) fn custom_resource(
    crd: &Value,
    version: &str,
    obj: &mut Value,
    old: Option<&Value>,
) -> (Vec<FieldError>, Vec<String>) {
    let Some(schema) = version_schema(crd, version) else { return (Vec::new(), Vec::new()) };
    let mut pruned = Vec::new();
    if field(field(crd, "spec"), "preserveUnknownFields").as_bool() != Some(true) {
        prune(obj, schema, Resource::Root, "", &mut pruned);
        fill_defaults(obj, schema);
    }
    let mut errs = Vec::new();
    check(schema, obj, old, &Path::new(""), Resource::Root, &mut errs);
    (errs, pruned)
}

/// Whether a value is a whole Kubernetes object, whose `apiVersion`, `kind` and `metadata`
/// the schema does not govern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    /// The custom resource itself.
    Root,
    /// An object under `x-kubernetes-embedded-resource: true`.
    Embedded,
    /// Any other value.
    No,
}

impl Resource {
    fn of(schema: &Value) -> Resource {
        if flag(schema, "x-kubernetes-embedded-resource") { Resource::Embedded } else { Resource::No }
    }

    fn owns(self, key: &str) -> bool {
        self != Resource::No && matches!(key, "apiVersion" | "kind" | "metadata")
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    field(schema, name).as_bool() == Some(true)
}

/// Drops, at every depth, the object fields that `schema` does not specify, unless it says
/// `x-kubernetes-preserve-unknown-fields: true` there.
/// `at` is the path of `value` (`spec.items[0]`); the paths of dropped fields go to `pruned`.
fn prune(value: &mut Value, schema: &Value, resource: Resource, at: &str, pruned: &mut Vec<String>) {
    match value {
        Value::Object(map) => prune_object(map, schema, resource, at, pruned),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item, item_schema, Resource::of(item_schema), &format!("{at}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

fn prune_object(map: &mut Map<String, Value>, schema: &Value, resource: Resource, at: &str, pruned: &mut Vec<String>) {
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let properties = object_of(schema, "properties");
    let additional = schema.get("additionalProperties");
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if resource.owns(&key) {
            continue;
        }
        let property = properties.and_then(|p| p.get(&key));
        let child_schema = property.or(additional.filter(|a| a.is_object()));
        match child_schema {
            Some(s) => {
                if let Some(child) = map.get_mut(&key) {
                    prune(child, s, Resource::of(s), &child_path(at, &key), pruned);
                }
            }
            None if preserve || additional.and_then(Value::as_bool) == Some(true) => {}
            None => {
                map.remove(&key);
                pruned.push(child_path(at, &key));
            }
        }
    }
}

fn child_path(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_owned() } else { format!("{at}.{key}") }
}

/// Gives every missing property its schema's `default`, at every depth, as the apiserver
/// defaults a custom resource. A `null` in a field that is not `nullable` counts as missing:
/// it takes the default, or goes when there is none.
fn fill_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            for (key, property) in object_of(schema, "properties").into_iter().flatten() {
                let missing = map.get(key).is_none_or(|v| v.is_null() && !flag(property, "nullable"));
                if !missing {
                    continue;
                }
                match property.get("default") {
                    Some(default) => {
                        map.insert(key.clone(), default.clone());
                    }
                    None => {
                        map.remove(key);
                    }
                }
            }
            let properties = object_of(schema, "properties");
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map.iter_mut() {
                if let Some(child_schema) = properties.and_then(|p| p.get(key)).or(additional) {
                    fill_defaults(child, child_schema);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                items.iter_mut().for_each(|item| fill_defaults(item, item_schema));
            }
        }
        _ => {}
    }
}

/// The JSON type of a value as kube-openapi names it; a whole number is an `integer`.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The type a schema wants, if it wants one.
fn expected_type(schema: &Value) -> Option<&str> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return Some("integer,string");
    }
    schema.get("type").and_then(Value::as_str).filter(|t| !t.is_empty())
}

fn type_matches(expected: &str, actual: &str) -> bool {
    expected.split(',').any(|t| t == actual || (t == "number" && actual == "integer"))
}

fn type_error(path: &Path, expected: &str, actual: &str) -> FieldError {
    FieldError::type_invalid(path, &json!(actual), &format!("{path} in body must be of type {expected}: \"{actual}\""))
}

/// Checks `value` (with `old` its stored counterpart, on update) against `schema`.
fn check(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &Path,
    resource: Resource,
    errs: &mut Vec<FieldError>,
) {
    if old == Some(value) {
        return;
    }
    if value.is_null() {
        if !flag(schema, "nullable")
            && let Some(expected) = expected_type(schema)
        {
            errs.push(type_error(path, expected, "null"));
        }
        return;
    }
    let actual = json_type(value);
    if let Some(expected) = expected_type(schema)
        && !type_matches(expected, actual)
    {
        errs.push(type_error(path, expected, actual));
        return;
    }
    match value {
        Value::Object(map) => object(schema, map, old, path, resource, errs),
        Value::Array(items) => array(schema, items, path, errs),
        Value::String(s) => string(schema, s, path, errs),
        Value::Number(_) => number(schema, value, path, errs),
        _ => {}
    }
    errs.extend(enumeration(schema, value, path));
}

/// `enum`: one of the listed values.
fn enumeration(schema: &Value, value: &Value, path: &Path) -> Option<FieldError> {
    let allowed = schema.get("enum")?.as_array()?;
    if allowed.contains(value) {
        return None;
    }
    let names: Vec<String> = allowed.iter().map(|v| v.as_str().map_or_else(|| render(v), str::to_owned)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Some(FieldError::not_supported(path, value, &names))
}

fn object(
    schema: &Value,
    map: &Map<String, Value>,
    old: Option<&Value>,
    path: &Path,
    resource: Resource,
    errs: &mut Vec<FieldError>,
) {
    for required in array_of(schema, "required").iter().filter_map(Value::as_str) {
        if !map.contains_key(required) {
            errs.push(FieldError::required(&path.child(required), ""));
        }
    }
    if resource == Resource::Embedded {
        for key in ["apiVersion", "kind"] {
            if !map.contains_key(key) {
                errs.push(FieldError::required(&path.child(key), "must not be empty"));
            }
        }
    }
    if let Some(max) = field(schema, "maxProperties").as_u64()
        && map.len() as u64 > max
    {
        errs.push(FieldError::too_many(path, map.len(), max));
    }
    if let Some(min) = field(schema, "minProperties").as_u64()
        && (map.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            path,
            &json!(map.len()),
            &format!("{path} in body should have at least {min} properties"),
        ));
    }
    let properties = object_of(schema, "properties");
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        if resource.owns(key) {
            continue;
        }
        let Some(child_schema) = properties.and_then(|p| p.get(key)).or(additional) else { continue };
        let child_old = old.and_then(|o| o.get(key));
        check(child_schema, &map[key], child_old, &path.child(key), Resource::of(child_schema), errs);
    }
}

fn array(schema: &Value, items: &[Value], path: &Path, errs: &mut Vec<FieldError>) {
    if let Some(max) = field(schema, "maxItems").as_u64()
        && items.len() as u64 > max
    {
        errs.push(FieldError::too_many(path, items.len(), max));
    }
    if let Some(min) = field(schema, "minItems").as_u64()
        && (items.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            path,
            &json!(items.len()),
            &format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, None, &path.index(i), Resource::of(item_schema), errs);
        }
    }
}

fn string(schema: &Value, s: &str, path: &Path, errs: &mut Vec<FieldError>) {
    let length = s.chars().count() as u64;
    if let Some(max) = field(schema, "maxLength").as_u64()
        && length > max
    {
        errs.push(FieldError::too_long(path, usize::try_from(max).unwrap_or(usize::MAX)));
    }
    if let Some(min) = field(schema, "minLength").as_u64()
        && length < min
    {
        errs.push(FieldError::invalid(path, &json!(s), &format!("{path} in body should be at least {min} chars long")));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Ok(re) = regex::Regex::new(pattern)
        && !re.is_match(s)
    {
        errs.push(FieldError::invalid(path, &json!(s), &format!("{path} in body should match '{pattern}'")));
    }
}

fn number(schema: &Value, value: &Value, path: &Path, errs: &mut Vec<FieldError>) {
    let Some(v) = value.as_f64() else { return };
    let bound = |key: &str| schema.get(key).filter(|b| b.is_number());
    if let Some(max) = bound("maximum")
        && let Some(m) = max.as_f64()
    {
        let exclusive = flag(schema, "exclusiveMaximum");
        if (exclusive && v >= m) || v > m {
            let relation = if exclusive { "less than" } else { "less than or equal to" };
            errs.push(FieldError::invalid(
                path,
                value,
                &format!("{path} in body should be {relation} {}", render(max)),
            ));
        }
    }
    if let Some(min) = bound("minimum")
        && let Some(m) = min.as_f64()
    {
        let exclusive = flag(schema, "exclusiveMinimum");
        if (exclusive && v <= m) || v < m {
            let relation = if exclusive { "greater than" } else { "greater than or equal to" };
            errs.push(FieldError::invalid(
                path,
                value,
                &format!("{path} in body should be {relation} {}", render(min)),
            ));
        }
    }
    if let Some(multiple) = bound("multipleOf")
        && let Some(m) = multiple.as_f64().filter(|m| *m > 0.0)
        && (v / m).fract() != 0.0
    {
        errs.push(FieldError::invalid(
            path,
            value,
            &format!("{path} in body should be a multiple of {}", render(multiple)),
        ));
    }
    let fits = match str_of(schema, "format") {
        "int32" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        "int64" => value.as_i64().is_some(),
        _ => true,
    };
    if !fits {
        let format = str_of(schema, "format");
        errs.push(FieldError::invalid(
            path,
            value,
            &format!("{path} in body must be of type {format}: \"{}\"", render(value)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(schema: Value) -> Value {
        json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]}})
    }

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["replicas"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "replicas": {"type": "integer", "format": "int32"},
            "color": {"type": "string", "enum": ["red", "blue"]},
            "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
            "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "exclusiveMaximum": true, "maximum": 1},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
            "port": {"x-kubernetes-int-or-string": true},
            "note": {"type": "string", "nullable": true},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}})
    }

    fn errors(mut obj: Value) -> (Vec<String>, Value) {
        let errs = custom_resource(&crd(widget_schema()), "v1", &mut obj, None);
        (errs.0.iter().map(ToString::to_string).collect(), obj)
    }

    fn widget(spec: Value) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "annotations": {"a": "b"}}, "spec": spec})
    }

    #[test]
    fn a_valid_widget_passes_untouched() {
        let obj =
            widget(json!({"replicas": 1, "size": 3, "color": "red", "port": "http", "note": null, "env": {"A": "1"},
            "template": {"apiVersion": "v1", "kind": "Pod", "spec": {"x": 1}}}));
        let (errs, pruned) = errors(obj.clone());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(pruned, obj);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_with_the_types_named() {
        let (errs, _) = errors(widget(json!({"replicas": 1, "size": "string"})));
        assert_eq!(
            errs,
            ["spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""]
        );
        let (errs, _) = errors(widget(json!({"replicas": 1, "port": true, "tags": [1]})));
        assert_eq!(
            errs,
            [
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
                "spec.tags[0]: Invalid value: \"integer\": spec.tags[0] in body must be of type string: \"integer\"",
            ]
        );
    }

    #[test]
    fn a_missing_required_field_is_required() {
        let (errs, _) = errors(widget(json!({"size": 2})));
        assert_eq!(errs, ["spec.replicas: Required value"]);
    }

    #[test]
    fn enums_bounds_lengths_patterns_and_counts_are_checked() {
        let (errs, _) =
            errors(widget(json!({"replicas": 3_000_000_000u64, "color": "pink", "size": 11, "name": "Abcdef",
            "ratio": 1, "tags": ["a", "b", "c"]})));
        assert_eq!(
            errs,
            [
                "spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\"",
                "spec.name: Too long: may not be more than 5 bytes",
                "spec.name: Invalid value: \"Abcdef\": spec.name in body should match '^[a-z]+$'",
                "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
                "spec.replicas: Invalid value: 3000000000: spec.replicas in body must be of type int32: \"3000000000\"",
                "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
                "spec.tags: Too many: 3: must have at most 2 items",
            ]
        );
        let (errs, _) = errors(widget(json!({"replicas": 1, "size": 0, "name": "a", "tags": [], "ratio": 0})));
        assert_eq!(
            errs,
            [
                "spec.name: Invalid value: \"a\": spec.name in body should be at least 2 chars long",
                "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
                "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
                "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
            ]
        );
    }

    #[test]
    fn a_null_field_goes_unless_nullable_but_a_null_value_is_refused() {
        let (errs, obj) = errors(widget(json!({"replicas": null, "note": null, "env": {"A": null}})));
        assert_eq!(
            errs,
            [
                "spec.replicas: Required value",
                "spec.env.A: Invalid value: \"null\": spec.env.A in body must be of type string: \"null\"",
            ]
        );
        assert_eq!(obj["spec"]["note"], Value::Null);
        assert!(obj["spec"].get("replicas").is_none());
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["mode"], "properties": {
            "mode": {"type": "string", "default": "fast"},
            "limits": {"type": "object", "default": {}, "properties": {"cpu": {"type": "integer", "default": 2}}}}}}});
        let mut obj = json!({"metadata": {"name": "w"}, "spec": {}});
        assert!(custom_resource(&crd(schema), "v1", &mut obj, None).0.is_empty());
        assert_eq!(obj["spec"], json!({"mode": "fast", "limits": {"cpu": 2}}));
    }

    #[test]
    fn unknown_fields_are_pruned_but_preserved_where_the_schema_says() {
        let obj = widget(json!({"replicas": 1, "unknown": {"a": 1}, "extra": {"anything": [1, 2]},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "free": true}}));
        let mut with_status = obj.clone();
        with_status["status"] = json!({"ready": true, "phase": "Running"});
        with_status["other"] = json!(1);
        let (errs, pruned) = errors(with_status);
        assert!(errs.is_empty(), "{errs:?}");
        assert!(pruned["spec"].get("unknown").is_none());
        assert_eq!(pruned["spec"]["extra"], json!({"anything": [1, 2]}));
        assert_eq!(pruned["spec"]["template"]["free"], true);
        assert_eq!(pruned["status"], json!({"ready": true}));
        assert!(pruned.get("other").is_none());
        assert_eq!(pruned["metadata"], obj["metadata"]);
        assert_eq!(pruned["apiVersion"], "example.com/v1");
        let mut again = obj.clone();
        again["spec"]["list"] = json!([{"known": 1, "stray": 2}]);
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "list": {"type": "array", "items": {"type": "object", "properties": {"known": {"type": "integer"}}}}}}}});
        let (_, paths) = custom_resource(&crd(schema), "v1", &mut again, None);
        assert_eq!(paths, ["spec.extra", "spec.list[0].stray", "spec.replicas", "spec.template", "spec.unknown"]);
    }

    #[test]
    fn an_embedded_resource_needs_an_api_version_and_kind() {
        let (errs, _) = errors(widget(json!({"replicas": 1, "template": {"spec": {}}})));
        assert_eq!(
            errs,
            [
                "spec.template.apiVersion: Required value: must not be empty",
                "spec.template.kind: Required value: must not be empty"
            ]
        );
    }

    #[test]
    fn unchanged_values_are_not_checked_again_on_update() {
        let old = widget(json!({"replicas": 1, "size": 50}));
        let mut next = old.clone();
        next["metadata"]["labels"] = json!({"a": "b"});
        assert!(custom_resource(&crd(widget_schema()), "v1", &mut next, Some(&old)).0.is_empty());
        next["spec"]["size"] = json!(60);
        assert_eq!(custom_resource(&crd(widget_schema()), "v1", &mut next, Some(&old)).0.len(), 1);
    }

    #[test]
    fn a_version_without_a_schema_is_not_checked() {
        let mut obj = widget(json!({"anything": 1}));
        assert!(custom_resource(&crd(widget_schema()), "v2", &mut obj, None).0.is_empty());
        assert_eq!(obj["spec"]["anything"], 1);
    }
}
