//! Helm's own template functions and built-in objects, as Helm 4 (4.2.3) defines them in
//! `pkg/engine`: `include`, `tpl`, `required`, `fail`, `lookup`, and the values behind
//! `.Release`, `.Chart`, `.Capabilities`, `.Template` and `.Files`; plus how Helm turns a
//! rendered template and an execution error into what `helm template` prints.
//!
//! What Helm 4 hands templates (checked with `printf "%T"` against helm 4.2.3):
//! `.Release`, `.Chart` and `.Subcharts` are `map[string]interface {}` (`.Chart` with Go's
//! field names: `Name`, `AppVersion`, ...), `.Values` and `.Template` are `common.Values`,
//! `.Capabilities` is `*common.Capabilities` and `.Files` is `engine.files`.

mod files;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::func::{FuncError, FuncMap, Param, Signature};
use crate::value::{ListType, MapType, Object, Value};

pub use files::{FileData, Files};

/// Marks an error message that Helm shows without the template's error context
/// (`required`, `fail`): `execution error at (chart/templates/x.yaml:7:4): message`.
pub const WARN_START: &str = "HELM_ERR_START";
/// The end of such a message.
pub const WARN_END: &str = "HELM_ERR_END";

/// How deep the same template may be included within itself before Helm gives up (and how
/// deep `tpl` may nest).
const RECURSION_MAX: usize = 1000;

/// Answers `lookup apiVersion kind namespace name`. `helm template` has no cluster: the
/// default answers an empty map, as Helm does.
pub type LookupFn = dyn Fn(&str, &str, &str, &str) -> Result<Value, String>;

/// Helm's functions: `include`, `tpl`, `required`, `fail` and `lookup` (with `lookup`
/// answered by `lookup`, or an empty map when `None`). Add them over Sprig's.
pub fn functions(lookup: Option<Rc<LookupFn>>) -> FuncMap {
    let mut funcs = FuncMap::new();
    let included: Rc<RefCell<HashMap<String, usize>>> = Rc::default();
    funcs.add_with_host("include", Signature::fixed(&[Param::String, Param::Any]), move |host, args| {
        let name = args[0].as_str().unwrap_or_default();
        {
            let mut counts = included.borrow_mut();
            // Most names are included many times: the map has them already.
            let n = match counts.get_mut(name) {
                Some(n) => n,
                None => counts.entry(name.to_owned()).or_insert(0),
            };
            if *n > RECURSION_MAX {
                return Err(FuncError::new(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                )));
            }
            *n += 1;
        }
        let result = host.execute_template(name, args[1].clone());
        if let Some(n) = included.borrow_mut().get_mut(name) {
            *n -= 1;
        }
        result.map(Value::from)
    });
    let tpl_depth: Rc<Cell<usize>> = Rc::default();
    funcs.add_with_host("tpl", Signature::fixed(&[Param::String, Param::Any]), move |host, args| {
        let text = args[0].as_str().unwrap_or_default().to_owned();
        // Helm's `tpl` nests without a limit (a text that renders itself overflows Go's
        // stack); here it stops as deep as `include` does.
        if tpl_depth.get() > RECURSION_MAX {
            return Err(FuncError::new(format!(
                "error during tpl function execution for {}: tpl nests deeper than {RECURSION_MAX}",
                go_quote(&text)
            )));
        }
        tpl_depth.set(tpl_depth.get() + 1);
        let result = host.execute_text("gotpl", &text, args[1].clone());
        tpl_depth.set(tpl_depth.get() - 1);
        match result {
            Ok(out) => Ok(Value::from(clean_output(&out))),
            Err(e) if is_parse_error(&e.0) => {
                Err(FuncError::new(format!("cannot parse template {}: {}", go_quote(&text), e.0)))
            }
            Err(e) => {
                Err(FuncError::new(format!("error during tpl function execution for {}: {}", go_quote(&text), e.0)))
            }
        }
    });
    funcs.add("required", Signature::fixed(&[Param::String, Param::Any]), |args| {
        let warn = args[0].as_str().unwrap_or_default();
        match &args[1] {
            Value::Nil => Err(warn_error(warn)),
            Value::String(s) if s.is_empty() => Err(warn_error(warn)),
            other => Ok(other.clone()),
        }
    });
    funcs.add("fail", Signature::fixed(&[Param::String]), |args| Err(warn_error(args[0].as_str().unwrap_or_default())));
    funcs.add("lookup", Signature::fixed(&[Param::String, Param::String, Param::String, Param::String]), move |args| {
        let s = |i: usize| args[i].as_str().unwrap_or_default().to_owned();
        match &lookup {
            Some(f) => f(&s(0), &s(1), &s(2), &s(3)).map_err(FuncError::new),
            None => Ok(Value::empty_map()),
        }
    });
    funcs
}

fn warn_error(message: &str) -> FuncError {
    FuncError::new(format!("{WARN_START}{message}{WARN_END}"))
}

/// Whether an error from rendering text is a parse error (`template: gotpl:1: ...`, no
/// column and no `executing`) rather than an execution error.
fn is_parse_error(message: &str) -> bool {
    if message.contains(": executing \"") {
        return false;
    }
    let Some(rest) = message.strip_prefix("template: ") else { return false };
    let Some((loc, _)) = rest.split_once(": ") else { return false };
    let parts: Vec<&str> = loc.rsplitn(3, ':').collect();
    // `name:line` (parse) versus `name:line:col` (execution).
    parts.len() >= 2
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && !(parts.len() == 3 && parts[1].bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `strconv.Quote`.
pub use crate::format::go_quote;

/// `.Release` for a render: Helm 4 passes a plain map.
#[derive(Debug, Clone, Default)]
pub struct Release {
    /// The release name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// `helm template --is-upgrade`.
    pub is_upgrade: bool,
    /// The revision (1 for `helm template`).
    pub revision: i64,
}

impl Release {
    /// The value templates see as `.Release`.
    pub fn value(&self) -> Value {
        Value::map([
            ("IsInstall".to_owned(), Value::Bool(!self.is_upgrade)),
            ("IsUpgrade".to_owned(), Value::Bool(self.is_upgrade)),
            ("Name".to_owned(), Value::string(&self.name)),
            ("Namespace".to_owned(), Value::string(&self.namespace)),
            ("Revision".to_owned(), Value::Int(self.revision)),
            ("Service".to_owned(), Value::string("Helm")),
        ])
    }
}

/// `.Template` while rendering `name` (a `common.Values`).
pub fn template_value(name: &str, base_path: &str) -> Value {
    let Value::Map(ref m, _) =
        Value::map([("BasePath".to_owned(), Value::string(base_path)), ("Name".to_owned(), Value::string(name))])
    else {
        return Value::Nil;
    };
    Value::Map(m.clone(), MapType::Values)
}

/// The Kubernetes version templates see (`.Capabilities.KubeVersion`): Helm's
/// `common.KubeVersion`, whose `String` method (on the pointer) gives the normalized version.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    /// As given, with a `v` in front (`v1.29.3-gke.100`).
    version: String,
    /// The numeric components only (`v1.29.3`), for range checks.
    normalized: String,
    major: String,
    minor: String,
}

impl KubeVersion {
    /// The default of Helm 4.2.3: v1.36.0.
    pub fn helm_default() -> KubeVersion {
        KubeVersion {
            version: "v1.36.0".to_owned(),
            normalized: "v1.36.0".to_owned(),
            major: "1".to_owned(),
            minor: "36".to_owned(),
        }
    }

    /// Parses `--kube-version` as Helm's `ParseKubeVersion` does, with Kubernetes'
    /// `version.ParseGeneric`: at least two dot-separated numbers after an optional `v`, the
    /// first without a leading zero; whatever follows them is kept in `Version` but ignored.
    /// The error is `ParseGeneric`'s.
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let trimmed = s.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let mut end = 0;
        let bytes = bare.as_bytes();
        loop {
            let digits = bytes[end..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            end += digits;
            if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                end += 1;
            } else {
                break;
            }
        }
        if end == 0 {
            return Err(format!("could not parse {} as version", go_quote(s)));
        }
        let components: Vec<&str> = bare[..end].split('.').collect();
        if components.len() < 2 {
            return Err(format!("illegal version string {}", go_quote(s)));
        }
        let mut numbers = Vec::with_capacity(components.len());
        for (i, comp) in components.iter().enumerate() {
            if i == 0 && comp.starts_with('0') && *comp != "0" {
                return Err(format!("illegal zero-prefixed version component {} in {}", go_quote(comp), go_quote(s)));
            }
            let n: u64 = comp.parse().map_err(|_| {
                format!(
                    "illegal non-numeric version component {} in {}: strconv.ParseUint: parsing {}: value out of range",
                    go_quote(comp),
                    go_quote(s),
                    go_quote(comp)
                )
            })?;
            numbers.push(n.to_string());
        }
        Ok(KubeVersion {
            version: if s.starts_with('v') { s.to_owned() } else { format!("v{s}") },
            normalized: format!("v{}", numbers.join(".")),
            major: numbers[0].clone(),
            minor: numbers[1].clone(),
        })
    }

    /// What Helm checks a chart's `kubeVersion` range against and prints: the normalized
    /// version (`v1.36.0`).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::string(&self.version)),
            "String" => Some(Value::string(&self.normalized)),
            "Major" => Some(Value::string(&self.major)),
            "Minor" => Some(Value::string(&self.minor)),
            _ => None,
        }
    }
    fn display(&self) -> String {
        self.normalized.clone()
    }
    fn fmt_display(&self) -> String {
        format!("{{{} {} {} {}}}", self.version, self.normalized, self.major, self.minor)
    }
    fn struct_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::string(&self.version)),
            ("normalizedVersion", Value::string(&self.normalized)),
            ("Major", Value::string(&self.major)),
            ("Minor", Value::string(&self.minor)),
        ])
    }
}

/// `.Capabilities.HelmVersion`: Helm's build information.
#[derive(Debug, Clone)]
pub struct HelmVersion;

/// The fields of Helm's `version.BuildInfo`, with their values.
const HELM_VERSION: [(&str, &str); 5] = [
    ("Version", "v4.2.3"),
    ("GitCommit", "43e8b7feece8beb0fcba47059ec9b522fd929a64"),
    ("GitTreeState", "clean"),
    ("GoVersion", "go1.26.5"),
    ("KubeClientVersion", "v1.36"),
];

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        HELM_VERSION.iter().find(|(k, _)| *k == name).map(|(_, v)| Value::string(v))
    }
    fn display(&self) -> String {
        let parts: Vec<&str> = HELM_VERSION.iter().map(|(_, v)| *v).collect();
        format!("{{{}}}", parts.join(" "))
    }
    fn struct_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(HELM_VERSION.iter().map(|(k, v)| (*k, Value::string(v))).collect())
    }
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        const JSON_NAMES: [&str; 5] = ["version", "git_commit", "git_tree_state", "go_version", "kube_client_version"];
        Some(JSON_NAMES.iter().zip(HELM_VERSION).map(|(k, (_, v))| (*k, Value::string(v))).collect())
    }
}

/// The API versions Helm 4.2.3 assumes without a cluster (`.Capabilities.APIVersions`).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// The Kubernetes version.
    pub kube_version: KubeVersion,
    /// The API versions (`--api-versions` are added to Helm's defaults).
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// Helm's defaults for `helm template`, with `extra` API versions added.
    pub fn new(kube_version: KubeVersion, extra: &[String]) -> Capabilities {
        let mut api_versions: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| (*s).to_owned()).collect();
        api_versions.extend(extra.iter().cloned());
        Capabilities { kube_version, api_versions }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(self.kube_version.clone()))),
            "APIVersions" => {
                Some(Value::List(self.api_versions.iter().map(Value::string).collect(), ListType::VersionSet))
            }
            "HelmVersion" => Some(Value::Object(Rc::new(HelmVersion))),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("&{{{} [{}] {}}}", self.kube_version.fmt_display(), self.api_versions.join(" "), HelmVersion.display())
    }
}

/// Helm's post-processing of one rendered template: `<no value>` removed. A rendered CRD can
/// be megabytes; the search is memchr's vectorised one (`str::replace`'s took a tenth of
/// rendering such a chart).
pub fn clean_output(rendered: &str) -> String {
    const NO_VALUE: &str = "<no value>";
    let mut out = String::with_capacity(rendered.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(rendered.as_bytes(), NO_VALUE) {
        out.push_str(&rendered[last..at]);
        last = at + NO_VALUE.len();
    }
    out.push_str(&rendered[last..]);
    out
}

/// Rewrites an execution error of the template `filename` as Helm 4 does
/// (`reformatExecErrorMsg`): an error from `fail` or `required` becomes
/// `execution error at (LOCATION): MESSAGE`; otherwise, when every error in the chain is a
/// template error, the chain is printed one location per line:
///
/// ```text
/// chart/templates/a.yaml:1:6
///   executing "chart/templates/a.yaml" at <include "nope" .>:
///     error calling include:
/// template: no template "nope" associated with template "gotpl"
/// ```
///
/// and when it is not (an error of `tpl`, of a Sprig function), the message is kept.
pub fn rewrite_exec_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {message}");
    }
    let location = tokens[1];
    if let Some(start) = tokens[2].find(WARN_START) {
        let after = &tokens[2][start + WARN_START.len()..];
        if let Some(end) = after.rfind(WARN_END) {
            return format!("execution error at ({location}): {}", &after[..end]);
        }
    }
    traceable(message).unwrap_or_else(|| message.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Traceable<'a> {
    location: &'a str,
    message: &'a str,
    executed: String,
}

/// `template: T: executing F at L: M` split as Helm's pattern
/// `^template: (?P<t>(?U).+): executing (?P<f>(?U).+) at (?P<l>(?U).+): (?P<m>(?U).+)(?P<n>( template:.*)?)$`
/// captures it, on a message without a newline (`.` matches none). Every group but `n` is
/// lazy, so each ends at the first occurrence of what follows it (after at least one
/// character), and `m` at the first ` template:` or at the end. Split by hand: a chain of
/// includes as deep as Helm's limit holds a thousand messages, each as long as the rest of
/// the chain, and capturing with a regex on each of them takes minutes.
struct ExecParts<'a> {
    t: &'a str,
    f: &'a str,
    l: &'a str,
    m: &'a str,
    /// What follows `L: `.
    rest: &'a str,
}

fn exec_parts(message: &str) -> Option<ExecParts<'_>> {
    let body = message.strip_prefix("template: ")?;
    let (t, after_t) = split_after_first_char(body, ": executing ")?;
    let (f, after_f) = split_after_first_char(after_t, " at ")?;
    let (l, rest) = split_after_first_char(after_f, ": ")?;
    let first = rest.chars().next()?.len_utf8();
    let m = rest[first..].find(" template:").map_or(rest, |i| &rest[..first + i]);
    Some(ExecParts { t, f, l, m, rest })
}

/// `template: T: M` split as Helm's pattern
/// `^template: (?P<t>(?U).+): (?P<m>.*)(?P<n>( template:.*)?)$` captures it (`m` is greedy,
/// so `n` is always empty), on a message without a newline.
fn without_template_parts(message: &str) -> Option<(&str, &str)> {
    split_after_first_char(message.strip_prefix("template: ")?, ": ")
}

/// Whether a message without a newline matches Helm's pattern
/// `^template: no template (?P<l>.*) associated with template (?P<f>(.*)?)$`.
fn is_no_template(message: &str) -> bool {
    message.strip_prefix("template: no template ").is_some_and(|rest| rest.contains(" associated with template "))
}

/// `s` split around the first `sep` that is not at its start: what a lazy `(.+)` followed by
/// `sep` captures.
fn split_after_first_char<'a>(s: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    let first = s.chars().next()?.len_utf8();
    let i = first + s[first..].find(sep)?;
    Some((&s[..i], &s[i + sep.len()..]))
}

/// The error chain Go would unwrap (`error calling F: %w` wraps the function's error), as
/// Helm's traceable errors; `None` when an error of the chain is not a template error.
fn traceable(message: &str) -> Option<String> {
    // Helm's patterns match no newline, and each error of the chain is the end of `message`.
    if message.contains('\n') {
        return None;
    }
    let mut chain: Vec<Traceable> = Vec::new();
    let mut current = Some(message);
    // An ExecError unwraps to an error with the same text (a duplicate, dropped), then to
    // what `error calling F: %w` wraps.
    while let Some(cur) = current.take() {
        let (t, wrapped) = if let Some(p) = exec_parts(cur) {
            let t = Traceable { location: p.t, message: p.m, executed: format!("executing {} at {}:", p.f, p.l) };
            let wrapped =
                p.rest.strip_prefix("error calling ").and_then(|r| r.split_once(": ")).map(|(_, inner)| inner);
            (t, wrapped)
        } else if let Some((location, message)) = without_template_parts(cur) {
            (Traceable { location, message, executed: String::new() }, None)
        } else if is_no_template(cur) {
            (Traceable { location: "", message: cur, executed: String::new() }, None)
        } else {
            return None;
        };
        if chain.last() != Some(&t) {
            chain.push(t);
        }
        current = wrapped;
    }
    // Each message loses the text of the message it wraps.
    let mut messages: Vec<String> = Vec::with_capacity(chain.len());
    for i in 0..chain.len() {
        match chain.get(i + 1) {
            Some(next) => messages.push(chain[i].message.replace(next.message, "")),
            None => messages.push(chain[i].message.to_owned()),
        }
    }
    let mut out = String::new();
    for (t, message) in chain.iter().zip(&messages) {
        if !t.location.is_empty() {
            out.push_str(t.location);
            out.push_str("\n  ");
        }
        if !t.executed.is_empty() {
            out.push_str(&t.executed);
            out.push_str("\n    ");
        }
        if !message.is_empty() {
            out.push_str(message);
            out.push('\n');
        }
    }
    Some(out.trim().to_owned())
}

/// Rewrites a parse error of the template `filename` as Helm does (`cleanupParseError`):
/// `parse error at (LOCATION): MESSAGE`.
pub fn rewrite_parse_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {message}");
    }
    format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_output_removes_each_no_value_once_left_to_right() {
        for text in
            ["", "a", "<no value>", "x<no value>y<no value>", "<no <no value>value>", "<no valu", "é<no value>é"]
        {
            assert_eq!(clean_output(text), text.replace("<no value>", ""), "{text:?}");
        }
    }

    // The expectations are helm 4.2.3's output for the same templates.
    #[test]
    fn fail_and_required_errors_lose_their_context() {
        let msg = "template: c4/templates/a.yaml:1:6: executing \"c4/templates/a.yaml\" at <fail \"boom\">: error calling fail: HELM_ERR_STARTboomHELM_ERR_END";
        assert_eq!(
            rewrite_exec_error("c4/templates/a.yaml", msg),
            "execution error at (c4/templates/a.yaml:1:6): boom"
        );
        let multi =
            "template: a:1:2: executing \"a\" at <x>: error calling required: HELM_ERR_STARTmulti\nlineHELM_ERR_END";
        assert_eq!(rewrite_exec_error("a", multi), "execution error at (a:1:2): multi\nline");
    }

    #[test]
    fn nested_template_errors_are_printed_one_location_per_line() {
        let msg = "template: c4/templates/a.yaml:1:6: executing \"c4/templates/a.yaml\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\"";
        assert_eq!(
            rewrite_exec_error("c4/templates/a.yaml", msg),
            "c4/templates/a.yaml:1:6\n  executing \"c4/templates/a.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
        );
        let nil = "template: p/templates/all.yaml:8:26: executing \"p/templates/all.yaml\" at <.Subcharts.sub.Values.replicas>: nil pointer evaluating interface {}.Values";
        assert_eq!(
            rewrite_exec_error("p/templates/all.yaml", nil),
            "p/templates/all.yaml:8:26\n  executing \"p/templates/all.yaml\" at <.Subcharts.sub.Values.replicas>:\n    nil pointer evaluating interface {}.Values"
        );
        let tpl = "template: a:1:6: executing \"a\" at <tpl \"x\" .>: error calling tpl: error during tpl function execution for \"x\": boom";
        assert_eq!(rewrite_exec_error("a", tpl), tpl, "an error that is not a template error is kept");
    }

    /// `--kube-version V` with `{{ .Capabilities.KubeVersion }}|{{ printf "%v" .Capabilities.KubeVersion }}`,
    /// and the errors after `invalid kube version 'V': `, as helm 4.2.3 printed them.
    #[test]
    fn kube_versions_parse_and_print_as_helm_does() {
        let shown = |s: &str| match KubeVersion::parse(s) {
            Ok(v) => format!("{}|{}", v.display(), v.fmt_display()),
            Err(e) => e,
        };
        assert_eq!(shown("1.30"), "v1.30|{v1.30 v1.30 1 30}");
        assert_eq!(shown("1.2.3.4"), "v1.2.3.4|{v1.2.3.4 v1.2.3.4 1 2}");
        assert_eq!(shown("1.02.3"), "v1.2.3|{v1.02.3 v1.2.3 1 2}");
        assert_eq!(shown("v1.30.0-rc.1"), "v1.30.0|{v1.30.0-rc.1 v1.30.0 1 30}");
        assert_eq!(shown("1.30.x"), "v1.30|{v1.30.x v1.30 1 30}");
        assert_eq!(shown("v1.29.3-gke.100+meta"), "v1.29.3|{v1.29.3-gke.100+meta v1.29.3 1 29}");
        assert_eq!(shown("1"), r#"illegal version string "1""#);
        assert_eq!(shown("01.2"), r#"illegal zero-prefixed version component "01" in "01.2""#);
        assert_eq!(shown("banana"), r#"could not parse "banana" as version"#);
        assert_eq!(
            shown("1.99999999999999999999"),
            r#"illegal non-numeric version component "99999999999999999999" in "1.99999999999999999999": strconv.ParseUint: parsing "99999999999999999999": value out of range"#
        );
        let v = KubeVersion::parse("v1.29.3-gke.100").expect("valid");
        assert_eq!(
            v.field("GitVersion").and_then(|m| m.as_str().map(str::to_owned)).as_deref(),
            Some("v1.29.3-gke.100")
        );
        assert_eq!(v.normalized(), "v1.29.3");
    }

    /// The hand-written splits capture what Helm's patterns capture.
    #[test]
    fn error_splits_capture_what_helms_patterns_capture() {
        let exec = regex::Regex::new(
            r"^template: (?P<t>(?U).+): executing (?P<f>(?U).+) at (?P<l>(?U).+): (?P<m>(?U).+)(?P<n>( template:.*)?)$",
        )
        .expect("valid");
        let without_template =
            regex::Regex::new(r"^template: (?P<t>(?U).+): (?P<m>.*)(?P<n>( template:.*)?)$").expect("valid");
        let no_template = regex::Regex::new(r"^template: no template (?P<l>.*) associated with template (?P<f>(.*)?)$")
            .expect("valid");
        let messages = [
            "template: a:1:2: executing \"a\" at <include \"b\" .>: error calling include: template: b:1:3: executing \"b\" at <x>: boom",
            "template: a:1:2: executing \"a\" at <.x>: nil pointer evaluating interface {}.y",
            "template: : executing : executing x at  at y: : z",
            "template: é: executing é at é: é template: t",
            "template: a: executing b at c: d template:",
            "template: a: executing b at c: template: x",
            "template: a: executing b at c: ",
            "template: a: executing b at c:",
            "template: a: executing b at : c",
            "template: a: executing  at c: d",
            "template: a: executing b at c: d: e template: f template: g",
            "template: a: b: c",
            "template: a: ",
            "template: : a",
            "template: a:",
            "template: no template \"x\" associated with template \"y\"",
            "template: no template  associated with template ",
            "template: no template associated with template \"y\"",
            "not a template error",
            "",
        ];
        fn group<'h>(c: &regex::Captures<'h>, name: &str) -> &'h str {
            c.name(name).map_or("", |g| g.as_str())
        }
        for message in messages {
            let got = exec_parts(message).map(|p| {
                let rest_start = message.len() - p.rest.len();
                (p.t, p.f, p.l, p.m, rest_start)
            });
            let want = exec.captures(message).map(|c| {
                let l = c.name("l").map_or(0, |g| g.end());
                (group(&c, "t"), group(&c, "f"), group(&c, "l"), group(&c, "m"), l + 2)
            });
            assert_eq!(got, want, "{message:?}");
            let want = without_template
                .captures(message)
                .map(|c| (c.name("t").map_or("", |g| g.as_str()), c.name("m").map_or("", |g| g.as_str())));
            assert_eq!(without_template_parts(message), want, "{message:?}");
            assert_eq!(is_no_template(message), no_template.is_match(message), "{message:?}");
        }
    }

    /// Helm's include limit: 1000 levels of one template, each wrapping the message of the
    /// level it includes, are rewritten in well under a second.
    #[test]
    fn a_thousand_nested_include_errors_are_rewritten_quickly() {
        let level = "template: c/templates/_helpers.tpl:1:22: executing \"loop\" at <include \"loop\" .>: error calling include: ";
        let mut message = level.repeat(1000);
        message.push_str("template: no template \"x\" associated with template \"gotpl\"");
        let start = std::time::Instant::now();
        let rewritten = rewrite_exec_error("c/templates/a.yaml", &message);
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "took {:?}", start.elapsed());
        assert!(rewritten.starts_with(
            "c/templates/_helpers.tpl:1:22\n  executing \"loop\" at <include \"loop\" .>:\n    error calling include:\n"
        ));
        assert!(rewritten.ends_with("\ntemplate: no template \"x\" associated with template \"gotpl\""));
    }

    #[test]
    fn tpl_parse_errors_are_told_from_execution_errors() {
        assert!(is_parse_error("template: gotpl:1: missing value for if"));
        assert!(!is_parse_error("template: gotpl:2:10: executing \"gotpl\" at <.Values.x.y>: nil pointer"));
    }
}
