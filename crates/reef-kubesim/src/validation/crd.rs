//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`): a name of `<plural>.<group>`, a
//! group with a dot, a scope, exactly one storage version, a kind and a plural, and for every
//! version a structural `openAPIV3Schema` (the apiserver's `ValidateStructural`), the schema
//! that custom resources are then checked and pruned against.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{FieldError, Path, array_of, dns1035_label, dns1123_subdomain, field, object_of, str_of};

/// A CustomResourceDefinition.
pub(super) fn definition(crd: &Value) -> Vec<FieldError> {
    let spec = field(crd, "spec");
    let path = Path::new("spec");
    let names = field(spec, "names");
    let group = str_of(spec, "group");
    let plural = str_of(names, "plural");
    let mut errs = Vec::new();
    let name = crd.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            &Path::new("metadata").child("name"),
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    errs.extend(group_errors(group, &path.child("group")));
    let scope = str_of(spec, "scope");
    if scope.is_empty() {
        errs.push(FieldError::required(&path.child("scope"), ""));
    } else if !matches!(scope, "Cluster" | "Namespaced") {
        errs.push(FieldError::not_supported(&path.child("scope"), &json!(scope), &["Cluster", "Namespaced"]));
    }
    if field(spec, "preserveUnknownFields").as_bool() == Some(true) {
        errs.push(FieldError::invalid(&path.child("preserveUnknownFields"), &json!(true), "must be false"));
    }
    errs.extend(versions(spec, &path.child("versions")));
    let np = path.child("names");
    for (key, value) in [("plural", plural), ("kind", str_of(names, "kind"))] {
        if value.is_empty() {
            errs.push(FieldError::required(&np.child(key), ""));
        }
    }
    errs.extend(name_errors(names, &np));
    errs
}

fn group_errors(group: &str, path: &Path) -> Vec<FieldError> {
    if group.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let errs = dns1123_subdomain(group);
    if !errs.is_empty() {
        return vec![FieldError::invalid(path, &json!(group), &errs.join(","))];
    }
    if !group.contains('.') {
        return vec![FieldError::invalid(path, &json!(group), "should be a domain with at least one dot")];
    }
    Vec::new()
}

/// Each version: a DNS-1035 name and a structural schema; the names unique, one of them the
/// storage version.
fn versions(spec: &Value, path: &Path) -> Vec<FieldError> {
    let list = array_of(spec, "versions");
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    let mut unique = true;
    for (i, version) in list.iter().enumerate() {
        let p = path.index(i);
        let name = str_of(version, "name");
        unique &= names.insert(name);
        let name_errs = dns1035_label(name);
        if !name_errs.is_empty() {
            errs.push(FieldError::invalid(&p.child("name"), &json!(name), &name_errs.join(",")));
        }
        let sp = p.child("schema").child("openAPIV3Schema");
        match version.pointer("/schema/openAPIV3Schema").filter(|s| !s.is_null()) {
            None => errs.push(FieldError::required(&sp, "schemas are required")),
            Some(schema) => errs.extend(schema_errors(schema, &sp)),
        }
    }
    let versions_value = spec.get("versions").cloned().unwrap_or(Value::Null);
    if !unique {
        errs.push(FieldError::invalid(path, &versions_value, "must contain unique version names"));
    }
    let storage = list.iter().filter(|v| field(v, "storage").as_bool() == Some(true)).count();
    if storage != 1 {
        errs.push(FieldError::invalid(
            path,
            &versions_value,
            "must have exactly one version marked as storage version",
        ));
    }
    errs
}

/// `ValidateCustomResourceDefinitionNames`: DNS-1035 names, kinds in any case.
fn name_errors(names: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["plural", "singular"] {
        let value = str_of(names, key);
        let msgs = dns1035_label(value);
        if !value.is_empty() && !msgs.is_empty() {
            errs.push(FieldError::invalid(&path.child(key), &json!(value), &msgs.join(",")));
        }
    }
    for key in ["kind", "listKind"] {
        let value = str_of(names, key);
        let msgs = dns1035_label(&value.to_lowercase());
        if !value.is_empty() && !msgs.is_empty() {
            let detail = format!("may have mixed case, but should otherwise match: {}", msgs.join(","));
            errs.push(FieldError::invalid(&path.child(key), &json!(value), &detail));
        }
    }
    for (i, short) in array_of(names, "shortNames").iter().enumerate() {
        let short = short.as_str().unwrap_or("");
        let msgs = dns1035_label(short);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(&path.child("shortNames").index(i), &json!(short), &msgs.join(",")));
        }
    }
    errs
}

/// The checks of one version's schema: what the apiserver refuses in any schema, then the
/// structural rules (sorted, as the apiserver sorts them).
fn schema_errors(schema: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    openapi(schema, path, &mut errs);
    let mut structural_errs = Vec::new();
    structural(schema, Level::Root, path, &mut structural_errs);
    structural_errs.sort_by_key(ToString::to_string);
    errs.extend(structural_errs);
    errs
}

/// The schemas nested in `schema`, with their paths: properties, items, additional properties.
fn nested<'a>(schema: &'a Value, path: &Path) -> Vec<(&'a Value, Path, Level)> {
    let mut out = Vec::new();
    let mut props: Vec<(&String, &Value)> = object_of(schema, "properties").into_iter().flatten().collect();
    props.sort_by_key(|(k, _)| *k);
    for (k, v) in props {
        out.push((v, path.child("properties").key(k), Level::Field));
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        out.push((items, path.child("items"), Level::Item));
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        out.push((additional, path.child("additionalProperties"), Level::Field));
    }
    out
}

/// What the apiserver refuses in any CRD schema.
fn openapi(schema: &Value, path: &Path, errs: &mut Vec<FieldError>) {
    if schema.get("$ref").is_some() {
        errs.push(FieldError::forbidden(&path.child("$ref"), "$ref is not supported"));
    }
    if field(schema, "uniqueItems").as_bool() == Some(true) {
        errs.push(FieldError::forbidden(
            &path.child("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    let additional = field(schema, "additionalProperties");
    let has_properties = object_of(schema, "properties").is_some_and(|p| !p.is_empty());
    if has_properties && (additional.is_object() || additional.as_bool() == Some(false)) {
        errs.push(FieldError::forbidden(
            &path.child("additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if field(schema, "x-kubernetes-preserve-unknown-fields").as_bool() == Some(false) {
        errs.push(FieldError::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            &json!(false),
            "must be true or undefined",
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Err(e) = regex::Regex::new(pattern)
    {
        // The regex crate explains over several lines; the apiserver's Go regexp in one.
        let text = e.to_string();
        let why = text.lines().last().unwrap_or("").trim().trim_start_matches("error: ");
        errs.push(FieldError::invalid(
            &path.child("pattern"),
            &json!(pattern),
            &format!("must be a valid regular expression, but isn't: error parsing regexp: {why}"),
        ));
    }
    for (child, child_path, _) in nested(schema, path) {
        openapi(child, &child_path, errs);
    }
}

/// Where a schema sits, which decides what its `type` may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

fn flag(schema: &Value, name: &str) -> bool {
    field(schema, name).as_bool() == Some(true)
}

/// `ValidateStructural`: every specified field and item has a type (or is int-or-string, or
/// preserves unknown fields), the root is an object, arrays have items, and the root's
/// metadata says nothing but `name` and `generateName`.
fn structural(schema: &Value, level: Level, path: &Path, errs: &mut Vec<FieldError>) {
    let kind = str_of(schema, "type");
    let int_or_string = flag(schema, "x-kubernetes-int-or-string");
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(schema, "x-kubernetes-embedded-resource");
    if kind == "array" && schema.get("items").is_none_or(Value::is_null) {
        errs.push(FieldError::required(&path.child("items"), "must be specified"));
    }
    for (child, child_path, child_level) in nested(schema, path) {
        structural(child, child_level, &child_path, errs);
    }
    if level == Level::Root && !field(schema, "additionalProperties").is_null() {
        errs.push(FieldError::forbidden(&path.child("additionalProperties"), "must not be used at the root"));
    }
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            &json!(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    junctors(schema, path, errs);
    if embedded && kind != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if kind.is_empty() {
            FieldError::required(&path.child("type"), detail)
        } else {
            FieldError::invalid(&path.child("type"), &json!(kind), detail)
        });
    } else if kind.is_empty() && !int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(&path.child("type"), detail));
    }
    if level == Level::Root && !kind.is_empty() && kind != "object" {
        errs.push(FieldError::invalid(&path.child("type"), &json!(kind), "must be object at the root"));
    }
    if level == Level::Root || embedded {
        errs.extend(root_fields(schema, path, level == Level::Root));
    }
    if embedded && !preserve && object_of(schema, "properties").is_none_or(Map::is_empty) {
        errs.push(FieldError::required(
            &path.child("properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// The `kind`, `apiVersion` and `metadata` of an object's schema (the root, or an embedded
/// resource): strings and an object, and at the root a metadata that only restricts the name.
fn root_fields(schema: &Value, path: &Path, root: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let props = object_of(schema, "properties");
    let prop = |name: &str| props.and_then(|p| p.get(name));
    let pp = path.child("properties");
    for (name, wanted) in [("kind", "string"), ("apiVersion", "string"), ("metadata", "object")] {
        if let Some(p) = prop(name) {
            let kind = str_of(p, "type");
            if kind != wanted {
                errs.push(FieldError::invalid(&pp.key(name).child("type"), &json!(kind), &format!("must be {wanted}")));
            }
        }
    }
    if root && let Some(meta) = prop("metadata") {
        let names_only =
            object_of(meta, "properties").is_none_or(|p| p.keys().all(|k| k == "name" || k == "generateName"));
        let extra = meta.as_object().is_some_and(|m| m.keys().any(|k| k != "type" && k != "properties"));
        if !names_only || extra {
            errs.push(FieldError::forbidden(
                &pp.key("metadata"),
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    errs
}

/// The value validations under `anyOf`, `allOf`, `oneOf` and `not` may not specify what the
/// structure is (types, defaults, ...): only constrain values. The int-or-string pattern
/// (`anyOf: [{type: integer}, {type: string}]`) is the exception.
fn junctors(schema: &Value, path: &Path, errs: &mut Vec<FieldError>) {
    let int_or_string_pattern = |list: &Value| {
        list.as_array()
            .is_some_and(|l| l.len() == 2 && l[0] == json!({"type": "integer"}) && l[1] == json!({"type": "string"}))
    };
    let mut nested_schemas: Vec<(&Value, Path)> = Vec::new();
    for junctor in ["anyOf", "allOf", "oneOf"] {
        let list = field(schema, junctor);
        if junctor == "anyOf" && int_or_string_pattern(list) {
            continue;
        }
        for (i, s) in array_of(schema, junctor).iter().enumerate() {
            if junctor == "allOf" && i == 0 && int_or_string_pattern(field(s, "anyOf")) {
                continue;
            }
            nested_schemas.push((s, path.child(junctor).index(i)));
        }
    }
    if let Some(not) = schema.get("not").filter(|n| n.is_object()) {
        nested_schemas.push((not, path.child("not")));
    }
    for (s, p) in nested_schemas {
        forbidden_in_junctor(s, &p, errs);
    }
}

fn forbidden_in_junctor(schema: &Value, path: &Path, errs: &mut Vec<FieldError>) {
    for (key, detail) in [
        ("type", "must be empty to be structural"),
        ("additionalProperties", "must be undefined to be structural"),
        ("default", "must be undefined to be structural"),
        ("title", "must be empty to be structural"),
        ("description", "must be empty to be structural"),
        ("nullable", "must be false to be structural"),
        ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
        ("x-kubernetes-embedded-resource", "must be false to be structural"),
        ("x-kubernetes-int-or-string", "must be false to be structural"),
    ] {
        let set = match schema.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        if set {
            errs.push(FieldError::forbidden(&path.child(key), detail));
        }
    }
    for (child, child_path, _) in nested(schema, path) {
        forbidden_in_junctor(child, &child_path, errs);
    }
}

/// What an established CRD may not change: its group, plural, scope and kind.
pub(super) fn definition_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let path = Path::new("spec");
    let mut errs = Vec::new();
    for (pointer, p) in [
        ("/spec/scope", path.child("scope")),
        ("/spec/names/kind", path.child("names").child("kind")),
        ("/spec/group", path.child("group")),
        ("/spec/names/plural", path.child("names").child("plural")),
    ] {
        let old = current.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let new = next.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        if old != new {
            errs.push(FieldError::immutable(&p, &json!(new)));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create_errors, update_errors};
    use serde_json::{Value, json};

    const G: &str = "apiextensions.k8s.io";
    const R: &str = "customresourcedefinitions";

    fn crd(schema: Value) -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]}})
    }

    #[test]
    fn a_good_definition_passes() {
        let schema = json!({"type": "object", "properties": {"metadata": {"type": "object"}, "spec": {"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}});
        assert_eq!(create_errors(G, R, crd(schema)), Vec::<String>::new());
    }

    #[test]
    fn the_name_is_the_plural_dot_the_group() {
        let mut c = crd(json!({"type": "object"}));
        c["metadata"]["name"] = json!("widget.example.com");
        assert_eq!(
            create_errors(G, R, c),
            ["metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"]
        );
    }

    #[test]
    fn a_definition_needs_one_storage_version_a_scope_and_names() {
        let c = json!({"metadata": {"name": ".example"}, "spec": {"group": "example", "scope": "Global", "names": {}, "versions": []}});
        assert_eq!(
            create_errors(G, R, c),
            [
                "spec.group: Invalid value: \"example\": should be a domain with at least one dot",
                "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"",
                "spec.versions: Invalid value: []: must have exactly one version marked as storage version",
                "spec.names.plural: Required value",
                "spec.names.kind: Required value",
            ]
        );
        let mut two = crd(json!({"type": "object"}));
        let version = two["spec"]["versions"][0].clone();
        if let Some(versions) = two["spec"]["versions"].as_array_mut() {
            versions.push(version);
        }
        let errs = create_errors(G, R, two);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].ends_with(": must contain unique version names"), "{errs:?}");
        assert!(errs[1].ends_with(": must have exactly one version marked as storage version"), "{errs:?}");
    }

    #[test]
    fn every_version_needs_a_schema() {
        let mut c = crd(Value::Null);
        if let Some(v) = c["spec"]["versions"][0].as_object_mut() {
            v.remove("schema");
        }
        assert_eq!(
            create_errors(G, R, c),
            ["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]
        );
    }

    #[test]
    fn a_schema_must_be_structural() {
        let schema = json!({"properties": {"spec": {"properties": {"list": {"type": "array"}}}}});
        assert_eq!(
            create_errors(G, R, crd(schema)),
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified",
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
                "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
            ]
        );
        assert_eq!(
            create_errors(G, R, crd(json!({"type": "string"}))),
            ["spec.versions[0].schema.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"]
        );
    }

    #[test]
    fn a_schema_may_not_mix_properties_and_additional_properties_or_constrain_metadata() {
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}});
        assert_eq!(
            create_errors(G, R, crd(schema)),
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
                "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ]
        );
    }

    #[test]
    fn a_pattern_must_be_a_regular_expression() {
        let schema = json!({"type": "object", "properties": {"name": {"type": "string", "pattern": "^(a"}}});
        assert_eq!(
            create_errors(G, R, crd(schema)),
            [
                "spec.versions[0].schema.openAPIV3Schema.properties[name].pattern: Invalid value: \"^(a\": must be a valid regular expression, but isn't: error parsing regexp: unclosed group"
            ]
        );
    }

    #[test]
    fn group_plural_scope_and_kind_stay() {
        let current = crd(json!({"type": "object"}));
        let mut next = current.clone();
        next["spec"]["scope"] = json!("Cluster");
        assert_eq!(
            update_errors(G, R, current.clone(), next),
            ["spec.scope: Invalid value: \"Cluster\": field is immutable"]
        );
        let mut next = current.clone();
        next["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"] = json!({"spec": {"type": "object"}});
        assert!(update_errors(G, R, current, next).is_empty());
    }
}
