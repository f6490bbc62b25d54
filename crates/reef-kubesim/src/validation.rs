//! What a real kube-apiserver refuses to store, and how it says so: the required fields of
//! the built-in kinds, the fields that may not change on update, CustomResourceDefinitions,
//! and custom resources checked against their CRD's `openAPIV3Schema` (after being pruned of
//! unknown fields and defaulted, as the apiserver prunes and defaults them).
//!
//! Every failure is a [`FieldError`]: a field path (`spec.template.spec.containers[0].image`)
//! and a message phrased as the apiserver phrases it (`Required value`, `Invalid value: "x":
//! ...`), so that kubectl, helm and kube-rs print against a simulated cluster what they print
//! against a real one. All the failures of one write come back together as one 422 `Invalid`
//! status whose `details.causes` carry the field paths.
//!
//! This is not a port of the apiserver's `validation.go`: it holds the rules users actually
//! hit. Bad values are rendered as the apiserver renders them since 1.34: numbers and booleans
//! as they are, strings quoted, anything else as JSON.
//!
//! No IO and no store access: the store hands in the object, the stored object on update, and
//! the CustomResourceDefinition of a custom resource. Besides pruning and defaulting custom
//! resources, updates are mutated in one way a real apiserver mutates them before validating:
//! a Service keeps the cluster IPs it was given.

mod config;
mod crd;
mod schema;
mod service;
mod storage;
mod workloads;

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::resource::ResourceType;
use crate::status::ApiStatus;

/// An absent field, read as JSON `null`.
static NULL: Value = Value::Null;

/// The group and resource of CustomResourceDefinitions.
const CRD_GROUP: &str = "apiextensions.k8s.io";
/// See [`CRD_GROUP`].
const CRD_RESOURCE: &str = "customresourcedefinitions";

/// The name of the CustomResourceDefinition that would define `t` (`<plural>.<group>`), or
/// `None` for the core group, which no CRD can extend.
pub(crate) fn crd_name(t: &ResourceType) -> Option<String> {
    (!t.group.is_empty()).then(|| format!("{}.{}", t.resource, t.group))
}

/// Checks an object about to be created. `crd` is the CustomResourceDefinition of `t` when
/// `t` is a custom resource; the object is then pruned of the fields its schema does not know.
pub(crate) fn validate_create(
    t: &ResourceType,
    name: &str,
    obj: &mut Value,
    crd: Option<&Value>,
    strict: bool,
) -> Result<(), ApiStatus> {
    let mut errors = object_meta(obj.get("metadata").unwrap_or(&NULL), &Path::new("metadata"));
    match crd {
        Some(crd) => {
            let (errs, unknown) = schema::custom_resource(crd, &t.version, obj, None);
            refuse_unknown(t, strict, &unknown)?;
            errors.extend(errs);
        }
        None => errors.extend(builtin(t, obj)),
    }
    into_result(t, name, errors)
}

/// Checks an update (or patch) of `current` into `next`: `next` must be valid as a whole, and
/// must not change what may not change. `crd` is as for [`validate_create`]; values of a
/// custom resource that did not change are not checked again.
pub(crate) fn validate_update(
    t: &ResourceType,
    current: &Value,
    next: &mut Value,
    crd: Option<&Value>,
    strict: bool,
) -> Result<(), ApiStatus> {
    if is(t, "", "services") {
        service::keep_allocated_ips(current, next);
    }
    let mut errors = object_meta(next.get("metadata").unwrap_or(&NULL), &Path::new("metadata"));
    match crd {
        Some(crd) => {
            let (errs, unknown) = schema::custom_resource(crd, &t.version, next, Some(current));
            refuse_unknown(t, strict, &unknown)?;
            errors.extend(errs);
        }
        None => {
            let (whole, changes) = (builtin(t, next), builtin_update(t, current, next));
            if changes_first(t) {
                errors.extend(changes);
                errors.extend(whole);
            } else {
                errors.extend(whole);
                errors.extend(changes);
            }
        }
    }
    let name = current.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    into_result(t, name, errors)
}

/// Under `fieldValidation=Strict`, the fields a custom resource's schema pruned are an error,
/// worded as the apiserver's strict decoder words it.
fn refuse_unknown(t: &ResourceType, strict: bool, unknown: &[String]) -> Result<(), ApiStatus> {
    if !strict || unknown.is_empty() {
        return Ok(());
    }
    let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    Err(ApiStatus::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
        fields.join(", "),
        kind = t.kind,
        version = t.version,
    )))
}

fn is(t: &ResourceType, group: &str, resource: &str) -> bool {
    t.group == group && t.resource == resource
}

/// Whether the apiserver reports what an update may not change before what is wrong with the
/// object as a whole (it does for these kinds, and the other way round for the rest).
fn changes_first(t: &ResourceType) -> bool {
    is(t, "", "configmaps") || is(t, "", "secrets") || is(t, "", "services")
}

/// The rules of a built-in kind for any object of it.
fn builtin(t: &ResourceType, obj: &Value) -> Vec<FieldError> {
    match (t.group.as_str(), t.resource.as_str()) {
        ("", "pods") => workloads::pod(obj),
        ("apps", "deployments") => workloads::deployment(obj),
        ("apps", "replicasets") => workloads::replica_set(obj),
        ("apps", "statefulsets") => workloads::stateful_set(obj),
        ("apps", "daemonsets") => workloads::daemon_set(obj),
        ("batch", "jobs") => workloads::job(obj),
        ("batch", "cronjobs") => workloads::cron_job(obj),
        ("", "services") => service::service(obj),
        ("", "configmaps") => config::config_map(obj),
        ("", "secrets") => config::secret(obj),
        ("", "persistentvolumeclaims") => storage::claim(obj),
        (CRD_GROUP, CRD_RESOURCE) => crd::definition(obj),
        _ => Vec::new(),
    }
}

/// The rules of a built-in kind for what an update may change.
fn builtin_update(t: &ResourceType, current: &Value, next: &Value) -> Vec<FieldError> {
    match (t.group.as_str(), t.resource.as_str()) {
        ("apps", "deployments" | "replicasets" | "daemonsets") => workloads::selector_update(current, next),
        ("apps", "statefulsets") => workloads::stateful_set_update(current, next),
        ("batch", "jobs") => workloads::job_update(current, next),
        ("", "services") => service::service_update(current, next),
        ("", "configmaps") => config::config_map_update(current, next),
        ("", "secrets") => config::secret_update(current, next),
        ("", "persistentvolumeclaims") => storage::claim_update(current, next),
        (CRD_GROUP, CRD_RESOURCE) => crd::definition_update(current, next),
        _ => Vec::new(),
    }
}

fn into_result(t: &ResourceType, name: &str, errors: Vec<FieldError>) -> Result<(), ApiStatus> {
    if errors.is_empty() { Ok(()) } else { Err(invalid(t, name, errors)) }
}

/// The 422 a real apiserver answers: `Deployment.apps "web" is invalid: <error>` (or
/// `[<error>, <error>]` for several), each error also a cause with its field and reason.
fn invalid(t: &ResourceType, name: &str, errors: Vec<FieldError>) -> ApiStatus {
    let mut seen = BTreeSet::new();
    let errors: Vec<FieldError> = errors.into_iter().filter(|e| seen.insert(e.to_string())).collect();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let summary = match lines.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let qualified_kind = if t.group.is_empty() { t.kind.clone() } else { format!("{}.{}", t.kind, t.group) };
    let causes: Vec<Value> =
        errors.iter().map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field})).collect();
    let mut details = json!({"name": name, "kind": t.kind, "causes": causes});
    if !t.group.is_empty() {
        details["group"] = json!(t.group);
    }
    ApiStatus {
        code: 422,
        reason: "Invalid",
        message: format!("{qualified_kind} \"{name}\" is invalid: {summary}"),
        details: Some(details),
    }
}

/// A field path as the apiserver writes it: `spec.containers[0].ports[1]`, `data[key]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn new(root: &str) -> Path {
        Path(root.to_owned())
    }

    /// `path.name`.
    pub(crate) fn child(&self, name: &str) -> Path {
        if self.0.is_empty() { Path(name.to_owned()) } else { Path(format!("{}.{name}", self.0)) }
    }

    /// `path[i]`.
    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    /// `path[key]`.
    pub(crate) fn key(&self, key: &str) -> Path {
        Path(format!("{}[{key}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One failed field: apimachinery's `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The cause's machine-readable reason (`FieldValueRequired`, ...).
    pub(crate) reason: &'static str,
    /// The field path.
    pub(crate) field: String,
    /// The message without the field: `Required value`, `Invalid value: 3: must be ...`.
    pub(crate) message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl FieldError {
    fn new(reason: &'static str, field: &Path, body: String, detail: &str) -> FieldError {
        let message = if detail.is_empty() { body } else { format!("{body}: {detail}") };
        FieldError { reason, field: field.to_string(), message }
    }

    /// `Required value[: detail]`.
    pub(crate) fn required(field: &Path, detail: &str) -> FieldError {
        FieldError::new("FieldValueRequired", field, "Required value".to_owned(), detail)
    }

    /// `Invalid value: <value>[: detail]`.
    pub(crate) fn invalid(field: &Path, value: &Value, detail: &str) -> FieldError {
        FieldError::new("FieldValueInvalid", field, format!("Invalid value: {}", render(value)), detail)
    }

    /// A value of the wrong type for a schema: reads as `Invalid value: ...`.
    pub(crate) fn type_invalid(field: &Path, value: &Value, detail: &str) -> FieldError {
        FieldError::new("FieldValueTypeInvalid", field, format!("Invalid value: {}", render(value)), detail)
    }

    /// `Unsupported value: <value>: supported values: "a", "b"`.
    pub(crate) fn not_supported(field: &Path, value: &Value, supported: &[&str]) -> FieldError {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", supported.iter().map(|s| go_quote(s)).collect::<Vec<_>>().join(", "))
        };
        FieldError::new("FieldValueNotSupported", field, format!("Unsupported value: {}", render(value)), &detail)
    }

    /// `Forbidden: detail`.
    pub(crate) fn forbidden(field: &Path, detail: &str) -> FieldError {
        FieldError::new("FieldValueForbidden", field, "Forbidden".to_owned(), detail)
    }

    /// `Duplicate value: <value>`.
    pub(crate) fn duplicate(field: &Path, value: &Value) -> FieldError {
        FieldError::new("FieldValueDuplicate", field, format!("Duplicate value: {}", render(value)), "")
    }

    /// `Too long: may not be more than <max> bytes`.
    pub(crate) fn too_long(field: &Path, max: usize) -> FieldError {
        FieldError::new("FieldValueTooLong", field, "Too long".to_owned(), &format!("may not be more than {max} bytes"))
    }

    /// `Too many: <actual>: must have at most <max> items`.
    pub(crate) fn too_many(field: &Path, actual: usize, max: u64) -> FieldError {
        FieldError::new(
            "FieldValueTooMany",
            field,
            format!("Too many: {actual}"),
            &format!("must have at most {max} items"),
        )
    }

    /// `field is immutable`, with the new value.
    pub(crate) fn immutable(field: &Path, value: &Value) -> FieldError {
        FieldError::invalid(field, value, "field is immutable")
    }
}

/// A bad value as `field.Error` prints it: numbers and booleans as Go's `%v`, strings as Go's
/// `%q`, `null`, and anything else as JSON with sorted keys.
pub(crate) fn render(value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        Value::Number(n) => render_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(_) | Value::Object(_) => {
            let mut out = String::new();
            write_json(value, &mut out);
            out
        }
    }
}

fn render_number(n: &serde_json::Number) -> String {
    if n.is_f64()
        && let Some(f) = n.as_f64()
        && f.fract() == 0.0
        && f.abs() < 1e21
    {
        // Go prints a whole float64 without a decimal point.
        return format!("{f:.0}");
    }
    n.to_string()
}

/// Compact JSON with object keys in order, as Go's `json.Marshal` writes a map.
fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A string quoted as Go's `strconv.Quote` quotes it.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---- reading JSON leniently: a missing or mistyped field reads as absent ----

/// The string at `key`, or `""`.
pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The array at `key`, or an empty one.
pub(crate) fn array_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// The object at `key`, if there is one.
pub(crate) fn object_of<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// The field at `key`, or `null`.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&NULL)
}

/// `value` without its `null` fields, at any depth: `x: null` and no `x` are the same to the
/// apiserver, which decodes both into the zero value.
pub(crate) fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Whether two values are the same once `null` fields are dropped.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    without_nulls(a) == without_nulls(b)
}

// ---- names, labels and annotations ----

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
/// The most a whole object's annotations may hold.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `RegexError`: a rule, its examples and the regular expression.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!("{msg} (e.g. {}regex used for validation is '{fmt}')", examples.join(" or "))
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn matches_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| is_label_char(b) || b == b'-')
        && s.bytes().next().is_some_and(is_label_char)
        && s.bytes().last().is_some_and(is_label_char)
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !matches_dns1123_label(s) {
        if matches_dns1123_subdomain(s) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !matches_dns1123_subdomain(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label`: a DNS label that starts with a letter.
pub(crate) fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !(matches_dns1123_label(s) && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        ));
    }
    errs
}

fn matches_label_name(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    !s.is_empty()
        && s.bytes().all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().next().is_some_and(alnum)
        && s.bytes().last().is_some_and(alnum)
}

/// `IsQualifiedName`: a label key, an optional DNS subdomain prefix and a name.
pub(crate) fn qualified_name(key: &str) -> Vec<String> {
    let name_rule = || {
        regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_KEY_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(dns1123_subdomain(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            return vec![format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_rule()
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !matches_label_name(name) {
        errs.push(format!("name part {}", name_rule()));
    }
    errs
}

/// `IsValidLabelValue`.
pub(crate) fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !value.is_empty() && !matches_label_name(value) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `ValidateLabels`: every key a qualified name, every value a label value; all reported at
/// `path` itself.
pub(crate) fn labels(labels: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = labels.as_object() else { return errs };
    for (k, v) in map {
        errs.extend(qualified_name(k).into_iter().map(|m| FieldError::invalid(path, &json!(k), &m)));
        if let Some(v) = v.as_str() {
            errs.extend(label_value(v).into_iter().map(|m| FieldError::invalid(path, &json!(v), &m)));
        }
    }
    errs
}

/// `ValidateAnnotations`: keys are qualified names (in any case), and all of them together
/// hold at most 256 KiB.
pub(crate) fn annotations(annotations: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = annotations.as_object() else { return errs };
    let mut size = 0;
    for (k, v) in map {
        errs.extend(qualified_name(&k.to_lowercase()).into_iter().map(|m| FieldError::invalid(path, &json!(k), &m)));
        size += k.len() + v.as_str().map_or(0, str::len);
    }
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// The parts of `ValidateObjectMeta` the store does not check already: labels, annotations
/// and owner references.
fn object_meta(meta: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = labels(field(meta, "labels"), &path.child("labels"));
    errs.extend(annotations(field(meta, "annotations"), &path.child("annotations")));
    let refs = path.child("ownerReferences");
    for r in array_of(meta, "ownerReferences") {
        let api_version = str_of(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        for (key, value, empty) in [
            ("apiVersion", api_version, version.is_empty()),
            ("kind", str_of(r, "kind"), str_of(r, "kind").is_empty()),
            ("name", str_of(r, "name"), str_of(r, "name").is_empty()),
            ("uid", str_of(r, "uid"), str_of(r, "uid").is_empty()),
        ] {
            if empty {
                let what = if key == "apiVersion" { "version" } else { key };
                errs.push(FieldError::invalid(&refs.child(key), &json!(value), &format!("{what} must not be empty")));
            }
        }
    }
    errs
}

/// `ValidateNonnegativeField`, for an optional integer field.
pub(crate) fn nonnegative(value: &Value, path: &Path) -> Vec<FieldError> {
    match value.as_i64() {
        Some(n) if n < 0 => vec![FieldError::invalid(path, value, "must be greater than or equal to 0")],
        _ => Vec::new(),
    }
}

// ---- label selectors ----

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Requirement {
    key: String,
    operator: String,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels.get(&self.key).and_then(Value::as_str);
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            "Exists" => value.is_some(),
            _ => value.is_none(),
        }
    }
}

/// A `metav1.LabelSelector` as `LabelSelectorAsSelector` reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selection {
    /// No selector at all: selects nothing.
    Nothing,
    /// An empty selector: selects everything.
    Everything,
    /// Labels that must match.
    Requirements(Vec<Requirement>),
}

impl Selection {
    /// Reads a selector; `None` when it cannot be read (an unknown operator, `In` without
    /// values, ...).
    pub(crate) fn of(selector: &Value) -> Option<Selection> {
        if selector.is_null() {
            return Some(Selection::Nothing);
        }
        let mut reqs = Vec::new();
        for (k, v) in object_of(selector, "matchLabels").into_iter().flatten() {
            reqs.push(Requirement { key: k.clone(), operator: "In".to_owned(), values: vec![v.as_str()?.to_owned()] });
        }
        for e in array_of(selector, "matchExpressions") {
            let values: Vec<String> =
                array_of(e, "values").iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<_>>()?;
            let operator = str_of(e, "operator");
            let ok = match operator {
                "In" | "NotIn" => !values.is_empty(),
                "Exists" | "DoesNotExist" => values.is_empty(),
                _ => false,
            };
            if !ok {
                return None;
            }
            reqs.push(Requirement { key: str_of(e, "key").to_owned(), operator: operator.to_owned(), values });
        }
        Some(if reqs.is_empty() { Selection::Everything } else { Selection::Requirements(reqs) })
    }

    /// Whether objects with `labels` are selected.
    pub(crate) fn matches(&self, labels: &Value) -> bool {
        let empty = Map::new();
        let labels = labels.as_object().unwrap_or(&empty);
        match self {
            Selection::Nothing => false,
            Selection::Everything => true,
            Selection::Requirements(reqs) => reqs.iter().all(|r| r.matches(labels)),
        }
    }
}

/// `ValidateLabelSelector`: label keys and values, and each expression's operator and values.
pub(crate) fn label_selector(selector: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = labels(field(selector, "matchLabels"), &path.child("matchLabels"));
    for (i, e) in array_of(selector, "matchExpressions").iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = array_of(e, "values");
        match str_of(e, "operator") {
            "In" | "NotIn" if values.is_empty() => errs
                .push(FieldError::required(&p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                &p.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                errs.push(FieldError::invalid(&p.child("operator"), &json!(other), "not a valid selector operator"))
            }
        }
        let key = str_of(e, "key");
        errs.extend(qualified_name(key).into_iter().map(|m| FieldError::invalid(&p.child("key"), &json!(key), &m)));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            errs.extend(
                label_value(v).into_iter().map(|m| FieldError::invalid(&p.child("values").index(j), &json!(v), &m)),
            );
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Registry;
    use crate::store::{Patch, Store, WriteOptions};

    pub(super) fn t(group: &str, resource: &str) -> ResourceType {
        Registry::default()
            .all()
            .into_iter()
            .find(|t| t.group == group && t.resource == resource)
            .unwrap_or_else(|| panic!("{group}/{resource} is built in"))
    }

    /// The errors of creating `obj` as a `group`/`resource`, as `field: message` lines.
    pub(super) fn create_errors(group: &str, resource: &str, mut obj: Value) -> Vec<String> {
        let t = t(group, resource);
        match validate_create(&t, "x", &mut obj, None, false) {
            Ok(()) => Vec::new(),
            Err(status) => causes(&status),
        }
    }

    /// The errors of updating `current` into `next`.
    pub(super) fn update_errors(group: &str, resource: &str, current: Value, mut next: Value) -> Vec<String> {
        let t = t(group, resource);
        match validate_update(&t, &current, &mut next, None, false) {
            Ok(()) => Vec::new(),
            Err(status) => causes(&status),
        }
    }

    pub(super) fn causes(status: &ApiStatus) -> Vec<String> {
        let details = status.details.clone().unwrap_or_default();
        details["causes"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| format!("{}: {}", c["field"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn one_error_reads_as_the_apiserver_writes_it() {
        let t = t("apps", "deployments");
        let status = invalid(&t, "web", vec![FieldError::required(&Path::new("spec").child("selector"), "")]);
        assert_eq!(status.code, 422);
        assert_eq!(status.reason, "Invalid");
        assert_eq!(status.message, "Deployment.apps \"web\" is invalid: spec.selector: Required value");
        let body = status.to_json();
        assert_eq!(body["details"]["kind"], "Deployment");
        assert_eq!(body["details"]["group"], "apps");
        assert_eq!(
            body["details"]["causes"][0],
            json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"})
        );
    }

    #[test]
    fn several_errors_are_bracketed_and_each_is_said_once() {
        let t = t("", "pods");
        let e = FieldError::required(&Path::new("spec").child("containers"), "");
        let status = invalid(&t, "p", vec![e.clone(), e, FieldError::forbidden(&Path::new("spec"), "no")]);
        assert_eq!(status.message, "Pod \"p\" is invalid: [spec.containers: Required value, spec: Forbidden: no]");
        assert_eq!(causes(&status).len(), 2);
    }

    #[test]
    fn bad_values_render_as_go_prints_them() {
        assert_eq!(render(&json!("a\"b")), "\"a\\\"b\"");
        assert_eq!(render(&json!(3)), "3");
        assert_eq!(render(&json!(2.0)), "2");
        assert_eq!(render(&json!(1.5)), "1.5");
        assert_eq!(render(&json!(true)), "true");
        assert_eq!(render(&Value::Null), "null");
        assert_eq!(render(&json!({"z": 1, "a": [1, "x"]})), "{\"a\":[1,\"x\"],\"z\":1}");
    }

    #[test]
    fn label_keys_and_values_are_checked_with_the_apiserver_messages() {
        let errs = labels(&json!({"bad key": "ok", "app": "-no", "example.com/": "v"}), &Path::new("metadata.labels"));
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "metadata.labels: Invalid value: \"-no\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "metadata.labels: Invalid value: \"example.com/\": name part must be non-empty",
                "metadata.labels: Invalid value: \"example.com/\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ]
        );
        let long = "a".repeat(64);
        assert_eq!(qualified_name(&long), ["name part must be no more than 63 characters"]);
        assert!(labels(&json!({"app.kubernetes.io/name": "web", "x": ""}), &Path::new("l")).is_empty());
    }

    #[test]
    fn annotation_keys_may_have_any_case_but_not_any_character() {
        assert!(annotations(&json!({"Example.com/Key": "v"}), &Path::new("a")).is_empty());
        let errs = annotations(&json!({"a b": "v"}), &Path::new("metadata.annotations"));
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].to_string().starts_with("metadata.annotations: Invalid value: \"a b\": name part must consist")
        );
        let huge = annotations(&json!({"k": "x".repeat(300 * 1024)}), &Path::new("metadata.annotations"));
        assert_eq!(huge[0].to_string(), "metadata.annotations: Too long: may not be more than 262144 bytes");
    }

    #[test]
    fn every_kind_checks_its_labels_on_create() {
        let errs = create_errors("", "configmaps", json!({"metadata": {"name": "x", "labels": {"a": "b c"}}}));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("metadata.labels: Invalid value: \"b c\": a valid label must be"), "{errs:?}");
    }

    #[test]
    fn owner_references_need_a_version_kind_name_and_uid() {
        let obj =
            json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/", "kind": "ReplicaSet", "name": "r"}]}});
        assert_eq!(
            create_errors("", "configmaps", obj),
            [
                "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty",
                "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty",
            ]
        );
    }

    #[test]
    fn selectors_validate_their_expressions() {
        let sel = json!({"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]}, {"key": "c", "operator": "Near"}]});
        let lines: Vec<String> =
            label_selector(&sel, &Path::new("spec.selector")).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator",
            ]
        );
        assert_eq!(Selection::of(&sel), None);
    }

    /// A store with the Widget CRD (`example.com/v1`, a status subresource, an integer
    /// `spec.size` and a boolean `status.ready`).
    fn store_with_widgets() -> (Store, ResourceType) {
        let s = Store::new();
        let crds = s.registry().find("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}});
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true, "storage": true,
            "subresources": {"status": {}}, "schema": {"openAPIV3Schema": schema}}]}});
        s.create(&crds, None, crd, &WriteOptions::default()).unwrap();
        let widgets = s.registry().find("example.com", "v1", "widgets").unwrap();
        (s, widgets)
    }

    #[test]
    fn the_store_prunes_custom_resources_and_checks_their_status_updates() {
        let (s, widgets) = store_with_widgets();
        let w = json!({"metadata": {"name": "w"}, "spec": {"size": 1, "colour": "red"}});
        let created = s.create(&widgets, Some("default"), w, &WriteOptions::default()).unwrap();
        assert_eq!(created["spec"], json!({"size": 1}));
        let mut bad = created.clone();
        bad["status"] = json!({"ready": "yes"});
        let err = s.update(&widgets, Some("default"), "w", bad, Some("status"), &WriteOptions::default()).unwrap_err();
        assert_eq!(
            err.message,
            "Widget.example.com \"w\" is invalid: status.ready: Invalid value: \"string\": status.ready in body must be of type boolean: \"string\""
        );
        let mut good = created;
        good["status"] = json!({"ready": true, "phase": "Up"});
        let stored = s.update(&widgets, Some("default"), "w", good, Some("status"), &WriteOptions::default()).unwrap();
        assert_eq!(stored["status"], json!({"ready": true}));
    }

    #[test]
    fn the_store_validates_dry_runs_and_patches() {
        let s = Store::new();
        let cms = s.registry().find("", "v1", "configmaps").unwrap();
        let dry = WriteOptions { dry_run: true, ..WriteOptions::default() };
        let bad = json!({"metadata": {"name": "c"}, "data": {"no/slash": "x"}});
        assert_eq!(s.create(&cms, Some("default"), bad, &dry).unwrap_err().code, 422);
        let frozen = json!({"metadata": {"name": "c"}, "immutable": true, "data": {"a": "1"}});
        s.create(&cms, Some("default"), frozen, &WriteOptions::default()).unwrap();
        let patch = Patch::Merge(json!({"data": {"a": "2"}}));
        let err = s.patch(&cms, Some("default"), "c", patch, None, &WriteOptions::default()).unwrap_err();
        assert_eq!(
            err.message,
            "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
        );
        assert_eq!(s.get(&cms, Some("default"), "c").unwrap()["data"]["a"], "1");
    }

    #[test]
    fn selections_match_labels_as_label_selectors_do() {
        let sel = Selection::of(
            &json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}),
        );
        let sel = sel.unwrap_or(Selection::Nothing);
        assert!(sel.matches(&json!({"app": "web"})));
        assert!(!sel.matches(&json!({"app": "web", "tier": "db"})));
        assert_eq!(Selection::of(&Value::Null), Some(Selection::Nothing));
        assert_eq!(Selection::of(&json!({})), Some(Selection::Everything));
    }
}
