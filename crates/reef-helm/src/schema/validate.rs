//! A JSON Schema validator that reports what Helm's validator (santhosh-tekuri/jsonschema v6)
//! reports: the same keywords per draft, the same order of checks, the same tree of errors
//! and the same words. Where Go walks a map in random order (the properties of an object),
//! reef walks it sorted by key.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use reef_gotmpl::Value;
use reef_gotmpl::format::{format_float_g, go_quote};
use regex::Regex;

use super::json::Json;
use super::{formats, goregex};

/// Where the schema document lives, as Helm registers it with the compiler.
pub const ROOT_URL: &str = "file:///values.schema.json";

/// The dialect of a schema document, from its `$schema` (2020-12 when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Draft {
    D4 = 4,
    D6 = 6,
    D7 = 7,
    D2019 = 2019,
    D2020 = 2020,
}

impl Draft {
    /// The draft a `$schema` URL names.
    fn from_url(url: &str) -> Option<Draft> {
        let u = url.trim_end_matches('#');
        let u = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"))?;
        match u {
            "json-schema.org/draft-04/schema" => Some(Draft::D4),
            "json-schema.org/draft-06/schema" => Some(Draft::D6),
            "json-schema.org/draft-07/schema" => Some(Draft::D7),
            "json-schema.org/draft/2019-09/schema" => Some(Draft::D2019),
            "json-schema.org/draft/2020-12/schema" | "json-schema.org/schema" => Some(Draft::D2020),
            _ => None,
        }
    }
}

/// One validation error: where in the values, what, and the errors it is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    location: Vec<String>,
    kind: Kind,
    causes: Vec<Error>,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Several errors of one schema.
    Group,
    /// A `$ref` whose target failed; not printed when it has a single cause.
    Reference,
    Message(String),
}

impl Error {
    fn new(location: &[String], message: String) -> Error {
        Error { location: location.to_vec(), kind: Kind::Message(message), causes: Vec::new() }
    }

    /// The error tree as the library prints it under its top line, one `- at '...': ...`
    /// line per error, indented two spaces per level.
    fn display(&self, out: &mut String, mut indent: usize) {
        let skip = self.kind == Kind::Reference && self.causes.len() == 1;
        if !skip {
            out.push('\n');
            for _ in 1..indent {
                out.push_str("  ");
            }
            out.push_str("- at ");
            out.push_str(&quote(&json_pointer(&self.location)));
            out.push_str(": ");
            match &self.kind {
                Kind::Group | Kind::Reference => out.push_str("validation failed"),
                Kind::Message(m) => out.push_str(m),
            }
            indent += 1;
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

/// The errors of a failed validation as Helm prints them: one line per error, each ending
/// in a newline.
pub fn render_errors(err: &Error) -> String {
    let mut out = String::new();
    let top: &[Error] = if err.kind == Kind::Group { &err.causes } else { std::slice::from_ref(err) };
    for e in top {
        e.display(&mut out, 1);
    }
    let mut text = out.strip_prefix('\n').unwrap_or(&out).to_owned();
    text.push('\n');
    text
}

fn json_pointer(tokens: &[String]) -> String {
    tokens.iter().map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1"))).collect()
}

/// The library's single-quoted form of a string: Go's `%q` with the quote characters swapped.
pub fn quote(s: &str) -> String {
    let q = go_quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn join_quoted(items: &[String]) -> String {
    items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
}

/// `%d` through golang.org/x/text's English printer: thousands separated by commas.
fn print_int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    out.push_str(&group_thousands(&digits));
    out
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `%v` of a float64 through golang.org/x/text's English printer: `%g`'s choice between
/// plain and exponent form, thousands separated by commas, and an exponent written
/// `×10⁰⁶`.
fn print_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format_float_g(f);
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(mantissa);
        out.push_str("×10");
        if exp < 0 {
            out.push('⁻');
        }
        let e = exp.unsigned_abs();
        let e = if e < 10 { format!("0{e}") } else { e.to_string() };
        for d in e.chars() {
            out.push(match d {
                '0' => '⁰',
                '1' => '¹',
                '2' => '²',
                '3' => '³',
                '4' => '⁴',
                '5' => '⁵',
                '6' => '⁶',
                '7' => '⁷',
                '8' => '⁸',
                _ => '⁹',
            });
        }
        return out;
    }
    let plain = format!("{}", f.abs());
    let (int, frac) = plain.split_once('.').map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
    out.push_str(&group_thousands(int));
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// `%v` of a primitive in the library's messages (`value must be ...`).
fn display_json(j: &Json<'_>) -> String {
    match j {
        Json::String(s) => quote(s),
        Json::Number(text, _) => text.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Null => "<nil>".to_owned(),
        Json::Array(_) | Json::Object(_) => "value".to_owned(),
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Float(f) => format_float_g(*f),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Nil => "<nil>".to_owned(),
        _ => "value".to_owned(),
    }
}

/// The JSON type of a value, as the library names it in `got ...`.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(..) => "array",
        Value::Map(..) => "object",
        Value::Bytes(_) | Value::Object(_) => "invalid",
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Int(i) | Value::Int64(i) => Some(*i as f64),
        _ => None,
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::Int64(_) => true,
        Value::Float(f) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    }
}

/// A number as an exact decimal `m × 10^e`, from its shortest form (what the library's
/// `big.Rat` of `fmt.Sprint(v)` holds).
fn decimal(f: f64) -> Option<(i128, i32)> {
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let m: i128 = format!("{int}{frac}").parse().ok()?;
    Some((m, exp - frac.len() as i32))
}

/// Whether `a / b` is an integer, computed on exact decimals.
fn is_multiple(a: f64, b: f64) -> bool {
    if b == 0.0 {
        return false;
    }
    if let (Some((am, ae)), Some((bm, be))) = (decimal(a), decimal(b)) {
        let shift = ae - be;
        let pow = |n: u32| 10i128.checked_pow(n);
        if shift >= 0 {
            if let Some(num) = pow(shift as u32).and_then(|p| am.checked_mul(p)) {
                return num % bm == 0;
            }
        } else if let Some(den) = pow(shift.unsigned_abs()).and_then(|p| bm.checked_mul(p)) {
            return am % den == 0;
        }
    }
    (a / b).fract() == 0.0
}

fn types_of<'s>(s: &'s Json<'_>) -> Vec<&'s str> {
    match s.get("type") {
        Some(Json::String(t)) => vec![&**t],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

const TYPE_ORDER: [&str; 7] = ["null", "boolean", "number", "integer", "string", "array", "object"];

fn json_equals(v: &Value, j: &Json<'_>) -> bool {
    match (v, j) {
        (Value::Nil, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::String(a), Json::String(b)) => **a == **b,
        (Value::List(items, _), Json::Array(js)) => {
            items.len() == js.len() && items.iter().zip(js).all(|(a, b)| json_equals(a, b))
        }
        (Value::Map(m, _), Json::Object(js)) => {
            let m = m.borrow();
            m.len() == js.len() && js.iter().all(|(k, jv)| m.get(&**k).is_some_and(|v| json_equals(v, jv)))
        }
        (v, Json::Number(_, b)) => number(v).is_some_and(|a| a == *b),
        _ => false,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x, _), Value::List(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q))
        }
        (Value::Map(x, _), Value::Map(y, _)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Resolves a reference `r` against the base URL `base` (RFC 3986, section 5.2).
fn join_url(base: &str, r: &str) -> String {
    let scheme_end = |s: &str| {
        s.find(':').filter(|&i| i > 0 && s[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
    };
    if scheme_end(r).is_some() {
        return r.to_owned();
    }
    let (base_no_frag, _) = base.split_once('#').unwrap_or((base, ""));
    if r.is_empty() {
        return base_no_frag.to_owned();
    }
    if r.starts_with('#') {
        return format!("{base_no_frag}{r}");
    }
    let Some(se) = scheme_end(base_no_frag) else {
        return r.to_owned();
    };
    let scheme = &base_no_frag[..se + 1];
    let rest = &base_no_frag[se + 1..];
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let slash = after.find('/').unwrap_or(after.len());
            (format!("//{}", &after[..slash]), &after[slash..])
        }
        None => (String::new(), rest),
    };
    if r.starts_with("//") {
        return format!("{scheme}{r}");
    }
    let (r_path, r_tail) = match r.find(['?', '#']) {
        Some(i) => (&r[..i], &r[i..]),
        None => (r, ""),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let merged = if r_path.starts_with('/') {
        r_path.to_owned()
    } else if r_path.is_empty() {
        path.to_owned()
    } else {
        match path.rfind('/') {
            Some(i) => format!("{}{}", &path[..=i], r_path),
            None => format!("/{r_path}"),
        }
    };
    format!("{scheme}{authority}{}{r_tail}", remove_dot_segments(&merged))
}

fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Percent-decodes a URL fragment.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn node_id(s: &Json<'_>) -> usize {
    std::ptr::from_ref(s) as usize
}

/// A compiled schema document: its draft, and every schema resource and anchor in it by URL.
#[derive(Debug)]
pub struct Schema<'a> {
    root: &'a Json<'a>,
    draft: Draft,
    /// The base URL of each subschema that sets one (by the node's address).
    bases: HashMap<usize, String>,
    /// Schema resources (`$id`) and anchors (`$anchor`, `$id: "#name"`), by absolute URL.
    resources: HashMap<String, &'a Json<'a>>,
    regexes: RefCell<HashMap<String, Result<Rc<Regex>, String>>>,
}

/// Keywords whose value is a schema, a map of schemas, a list of schemas (`items` is either).
const SCHEMA_VALUES: [&str; 12] = [
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "items",
    "contentSchema",
];
const SCHEMA_MAPS: [&str; 6] =
    ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"];
const SCHEMA_LISTS: [&str; 5] = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];

/// Keywords whose values are data, not schemas: `$id`s inside are not identifiers.
const DATA_KEYWORDS: [&str; 5] = ["enum", "const", "default", "examples", "description"];

impl<'a> Schema<'a> {
    /// Compiles the document `root`. Fails, as Helm does offline, on a `$schema` that is not a
    /// draft it knows (Helm would fetch it).
    pub fn compile(root: &'a Json<'a>) -> Result<Schema<'a>, String> {
        let draft = match root.get("$schema").and_then(Json::as_str) {
            None => Draft::D2020,
            Some(url) => Draft::from_url(url).ok_or_else(|| remote_error(url))?,
        };
        let mut schema =
            Schema { root, draft, bases: HashMap::new(), resources: HashMap::new(), regexes: RefCell::default() };
        schema.resources.insert(ROOT_URL.to_owned(), root);
        schema.bases.insert(node_id(root), ROOT_URL.to_owned());
        schema.check_keywords(root, &mut Vec::new(), &mut Vec::new())?;
        let mut references = Vec::new();
        schema.index(root, ROOT_URL, &mut references);
        // Helm compiles the whole document first: a reference that leads nowhere fails even
        // when no value reaches it.
        for (base, reference) in references {
            schema.resolve(&base, reference).map_err(|e| match e {
                ValidateError::Compile(m) => m,
                ValidateError::Invalid(_) => String::new(),
            })?;
        }
        Ok(schema)
    }

    fn index(&mut self, node: &'a Json<'a>, base: &str, references: &mut Vec<(String, &'a str)>) {
        match node {
            Json::Object(members) => {
                // The base changes only where a schema sets an `$id`.
                let mut own_base: Option<String> = None;
                let id_key = if self.draft == Draft::D4 { "id" } else { "$id" };
                let has_ref = members.iter().any(|(k, _)| k == "$ref");
                if let Some(id) = node.get(id_key).and_then(Json::as_str)
                    && !(has_ref && self.draft < Draft::D2019)
                {
                    if let Some(anchor) = id.strip_prefix('#') {
                        self.resources.insert(format!("{base}#{anchor}"), node);
                    } else {
                        let url = join_url(base, id);
                        let url = url.split_once('#').map_or(url.as_str(), |(u, _)| u).to_owned();
                        self.resources.insert(url.clone(), node);
                        self.bases.insert(node_id(node), url.clone());
                        own_base = Some(url);
                    }
                }
                let base = own_base.as_deref().unwrap_or(base);
                if let Some(anchor) = node.get("$anchor").and_then(Json::as_str) {
                    self.resources.insert(format!("{base}#{anchor}"), node);
                }
                if let Some(anchor) = node.get("$dynamicAnchor").and_then(Json::as_str) {
                    self.resources.insert(format!("{base}#{anchor}"), node);
                }
                for kw in ["$ref", "$recursiveRef", "$dynamicRef"] {
                    if let Some(r) = node.get(kw).and_then(Json::as_str) {
                        references.push((base.to_owned(), r));
                    }
                }
                for (k, v) in members {
                    if !DATA_KEYWORDS.contains(&&**k) {
                        self.index(v, base, references);
                    }
                }
            }
            Json::Array(items) => {
                for v in items {
                    self.index(v, base, references);
                }
            }
            _ => {}
        }
    }

    /// Validates `values`; the error is the tree of what failed.
    pub fn validate(&self, values: &Value) -> Result<(), ValidateError> {
        let mut vd = Validator { schema: self, location: Vec::new(), chain: Vec::new() };
        vd.apply(self.root, ROOT_URL, values)?.map_err(ValidateError::Invalid)
    }

    /// The schema a `$ref` names, with its base URL.
    fn resolve(&self, base: &str, reference: &str) -> Result<(&'a Json<'a>, String), ValidateError> {
        let url = join_url(base, reference);
        let (doc, frag) = url.split_once('#').unwrap_or((url.as_str(), ""));
        let frag = percent_decode(frag);
        let Some(&resource) = self.resources.get(doc) else {
            return Err(ValidateError::Compile(remote_error(doc)));
        };
        if frag.is_empty() {
            return Ok((resource, doc.to_owned()));
        }
        if !frag.starts_with('/') {
            return match self.resources.get(&format!("{doc}#{frag}")) {
                Some(&node) => Ok((node, self.base_of(node).unwrap_or(doc).to_owned())),
                None => Err(ValidateError::Compile(format!("anchor {} not found", quote(&url)))),
            };
        }
        let mut node = resource;
        let mut node_base = doc.to_owned();
        for tok in frag[1..].split('/') {
            let tok = tok.replace("~1", "/").replace("~0", "~");
            let next = match node {
                Json::Object(_) => node.get(&tok),
                Json::Array(items) => tok.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            let Some(next) = next else {
                return Err(ValidateError::Compile(format!("json-pointer in {} not found", go_quote(&url))));
            };
            node = next;
            if let Some(b) = self.base_of(node) {
                node_base = b.to_owned();
            }
        }
        Ok((node, node_base))
    }

    fn base_of(&self, node: &Json<'_>) -> Option<&str> {
        self.bases.get(&node_id(node)).map(String::as_str)
    }

    /// A pattern, compiled once (every pattern was checked when the schema was compiled).
    /// Shared, not cloned: a `Regex` clone starts with empty match caches and would rebuild
    /// them for every value checked.
    fn regex(&self, pattern: &str) -> Result<Rc<Regex>, ValidateError> {
        let mut cache = self.regexes.borrow_mut();
        let compiled = cache.entry(pattern.to_owned()).or_insert_with(|| goregex::compile(pattern).map(Rc::new));
        compiled.clone().map_err(|e| ValidateError::Compile(format!("{} is not valid regex: {e}", quote(pattern))))
    }

    /// Helm checks a schema against its draft's metaschema before using it. reef checks what
    /// breaks it most often (a keyword's value of the wrong type, an unknown type name, a
    /// regular expression Go cannot compile) and reports the first such mistake as that check
    /// does: from 2019-09 on, under an `'allOf' failed` line per enclosing schema, as those
    /// metaschemas are made of vocabularies. `path` is where `node` sits in the document and
    /// `enclosing` the length of `path` at each schema around it; the JSON pointers are
    /// written out only for an error.
    fn check_keywords(
        &self,
        node: &'a Json<'a>,
        path: &mut Vec<Step<'a>>,
        enclosing: &mut Vec<usize>,
    ) -> Result<(), String> {
        let Json::Object(members) = node else {
            if matches!(node, Json::Bool(_)) {
                return Ok(());
            }
            let msg = format!("got {}, want boolean or object", json_type(node));
            return Err(self.metaschema_error(path, enclosing, &[(0, pointer(path), msg)]));
        };
        enclosing.push(path.len());
        for (k, v) in members {
            if let Some(lines) = self.keyword_mistake(k, v) {
                path.push(Step::Key(k));
                let at = pointer(path);
                let lines: Vec<(usize, String, String)> = lines
                    .into_iter()
                    .map(|(depth, index, msg)| match index {
                        None => (depth, at.clone(), msg),
                        Some(i) => (depth, format!("{at}/{i}"), msg),
                    })
                    .collect();
                return Err(self.metaschema_error(path, enclosing, &lines));
            }
        }
        for (p, _) in node.get("patternProperties").and_then(Json::as_object).unwrap_or(&[]) {
            if let Err(e) = goregex::compile(p) {
                let cause = format!("{} is not valid regex: error parsing regexp: {e}", quote(p));
                let lines =
                    [(0, String::new(), format!("invalid propertyName {}", quote(p))), (1, String::new(), cause)];
                return Err(self.metaschema_error(path, enclosing, &lines));
            }
        }
        for (k, v) in members {
            path.push(Step::Key(k));
            match (&**k, v) {
                (k, Json::Object(subs)) if SCHEMA_MAPS.contains(&k) => {
                    for (name, sub) in subs {
                        if k == "dependencies" && matches!(sub, Json::Array(_)) {
                            continue;
                        }
                        path.push(Step::Key(name));
                        self.check_keywords(sub, path, enclosing)?;
                        path.pop();
                    }
                }
                (k, Json::Array(subs)) if SCHEMA_LISTS.contains(&k) => {
                    for (i, sub) in subs.iter().enumerate() {
                        path.push(Step::Index(i));
                        self.check_keywords(sub, path, enclosing)?;
                        path.pop();
                    }
                }
                (k, sub) if SCHEMA_VALUES.contains(&k) => self.check_keywords(sub, path, enclosing)?,
                _ => {}
            }
            path.pop();
        }
        enclosing.pop();
        Ok(())
    }

    /// What the metaschema says of keyword `k` with value `v`, if it is wrong: lines of
    /// (depth below the keyword's schema, the index in `v` the line is about or none for the
    /// keyword itself, message).
    fn keyword_mistake(&self, k: &str, v: &Json<'_>) -> Option<Vec<(usize, Option<usize>, String)>> {
        let draft = self.draft;
        let one = |msg: String| Some(vec![(0, None, msg)]);
        let want = |t: &str| format!("got {}, want {t}", json_type(v));
        match k {
            "type" => {
                let valid = |t: &Json<'_>| t.as_str().is_some_and(|t| TYPE_ORDER.contains(&t));
                let enum_msg =
                    "value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'";
                match v {
                    // The metaschema's list form: at least one item, no two equal, each
                    // one of the names (an enum, so an item of another type gets the
                    // enum's message too).
                    Json::Array(items) => {
                        let mut errors: Vec<(Option<usize>, String)> = Vec::new();
                        if items.is_empty() {
                            errors.push((None, "minItems: got 0, want 1".to_owned()));
                        }
                        if let Some((j, i)) = first_equal_pair(items) {
                            errors.push((None, format!("items at {} and {} are equal", print_int(j), print_int(i))));
                        }
                        for (i, item) in items.iter().enumerate() {
                            if !valid(item) {
                                errors.push((Some(i), enum_msg.to_owned()));
                            }
                        }
                        let mut lines = vec![(0, None, "'anyOf' failed".to_owned()), (1, None, enum_msg.to_owned())];
                        match errors.len() {
                            0 => return None,
                            1 => lines.extend(errors.into_iter().map(|(at, msg)| (1, at, msg))),
                            _ => {
                                lines.push((1, None, "validation failed".to_owned()));
                                lines.extend(errors.into_iter().map(|(at, msg)| (2, at, msg)));
                            }
                        }
                        Some(lines)
                    }
                    v if valid(v) => None,
                    _ => Some(vec![
                        (0, None, "'anyOf' failed".to_owned()),
                        (1, None, enum_msg.to_owned()),
                        (1, None, want("array")),
                    ]),
                }
            }
            "minLength" | "minItems" | "minProperties" | "maxLength" | "maxItems" | "maxProperties" => {
                let msg = match v {
                    Json::Number(_, f) if f.fract() != 0.0 => want("integer"),
                    Json::Number(_, f) if *f < 0.0 => format!("minimum: got {}, want 0", print_float(*f)),
                    Json::Number(..) => return None,
                    _ => want("integer"),
                };
                // Before 2019-09 the minimums are an `allOf` of the integer and its default.
                if draft < Draft::D2019 && k.starts_with("min") {
                    return Some(vec![(0, None, "'allOf' failed".to_owned()), (1, None, msg)]);
                }
                one(msg)
            }
            "minimum" | "maximum" => (!matches!(v, Json::Number(..))).then(|| want("number")).and_then(one),
            "exclusiveMinimum" | "exclusiveMaximum" if draft == Draft::D4 => {
                (!matches!(v, Json::Bool(_))).then(|| want("boolean")).and_then(one)
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                (!matches!(v, Json::Number(..))).then(|| want("number")).and_then(one)
            }
            "multipleOf" => match v {
                Json::Number(_, f) if *f <= 0.0 => one(format!("exclusiveMinimum: got {}, want 0", print_float(*f))),
                Json::Number(..) => None,
                _ => one(want("number")),
            },
            "required" => match v {
                Json::Array(items) => items
                    .iter()
                    .position(|i| i.as_str().is_none())
                    .map(|i| vec![(0, Some(i), format!("got {}, want string", json_type(&items[i])))]),
                _ => one(want("array")),
            },
            "enum" | "allOf" | "anyOf" | "oneOf" | "prefixItems" => match v {
                Json::Array(items) if items.is_empty() && k != "enum" => one("minItems: got 0, want 1".to_owned()),
                Json::Array(_) => None,
                _ => one(want("array")),
            },
            "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas" => {
                (!matches!(v, Json::Object(_))).then(|| want("object")).and_then(one)
            }
            "uniqueItems" => (!matches!(v, Json::Bool(_))).then(|| want("boolean")).and_then(one),
            "pattern" => match v {
                Json::String(p) => goregex::compile(p)
                    .err()
                    .map(|e| vec![(0, None, format!("{} is not valid regex: error parsing regexp: {e}", quote(p)))]),
                _ => one(want("string")),
            },
            _ => None,
        }
    }

    fn metaschema_error(&self, path: &[Step], enclosing: &[usize], lines: &[(usize, String, String)]) -> String {
        let meta = match self.draft {
            Draft::D4 => "http://json-schema.org/draft-04/schema#",
            Draft::D6 => "http://json-schema.org/draft-06/schema#",
            Draft::D7 => "http://json-schema.org/draft-07/schema#",
            Draft::D2019 => "https://json-schema.org/draft/2019-09/schema#",
            Draft::D2020 => "https://json-schema.org/draft/2020-12/schema#",
        };
        let mut out = format!(
            "{} is not valid against metaschema: jsonschema validation failed with {}",
            go_quote(&format!("{ROOT_URL}#")),
            quote(meta)
        );
        let mut line = |depth: usize, at: &str, message: &str| {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
            out.push_str(&format!("- at {}: {message}", quote(at)));
        };
        let mut depth = 0;
        if self.draft >= Draft::D2019 {
            for &len in enclosing {
                line(depth, &pointer(&path[..len]), "'allOf' failed");
                depth += 1;
            }
        }
        for (d, at, message) in lines {
            line(depth + d, at, message);
        }
        out
    }
}

fn escape_token(t: &str) -> String {
    t.replace('~', "~0").replace('/', "~1")
}

/// The first two equal items as `uniqueItems` finds them: the first item equal to an
/// earlier one, and the first such earlier one, as (earlier, later).
fn first_equal_pair(items: &[Json<'_>]) -> Option<(i64, i64)> {
    (1..items.len()).find_map(|i| (0..i).find(|&j| same_json(&items[j], &items[i])).map(|j| (j as i64, i as i64)))
}

/// JSON equality: numbers by value, objects whatever the order of their members.
fn same_json(a: &Json<'_>, b: &Json<'_>) -> bool {
    match (a, b) {
        (Json::Number(_, x), Json::Number(_, y)) => x == y,
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// One step from a schema into a keyword's value: a member's name or an item's index.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The JSON pointer of a path of steps (`/properties/a~1b/items/0`).
fn pointer(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        out.push('/');
        match step {
            Step::Key(k) => out.push_str(&escape_token(k)),
            Step::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// The JSON type of a schema document's value, as the metaschema check names it.
fn json_type(j: &Json<'_>) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(..) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Helm loads a remote schema over HTTP; reef never fetches, and says so where Helm
/// would report a failed download.
fn remote_error(url: &str) -> String {
    format!("failing loading {}: reef does not fetch remote schemas", go_quote(url))
}

/// Why values could not be validated.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidateError {
    /// The values break the schema.
    Invalid(Error),
    /// The schema itself cannot be used; the message is the whole text Helm prints.
    Compile(String),
}

struct Validator<'s, 'a> {
    schema: &'s Schema<'a>,
    location: Vec<String>,
    /// The schemas being applied, with the depth of the value each applies to: a schema that
    /// comes back to itself on the same value is a reference cycle.
    chain: Vec<(usize, usize)>,
}

type Outcome = Result<(), Error>;

/// Errors collected while applying one schema.
struct Errors(Vec<Error>);

impl Errors {
    fn add(&mut self, r: Outcome) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }
}

impl<'a> Validator<'_, 'a> {
    fn draft(&self) -> Draft {
        self.schema.draft
    }

    fn err(&self, message: String) -> Error {
        Error::new(&self.location, message)
    }

    /// Applies schema `s` (whose base URL is `base`, unless it sets its own) to `v`. The
    /// outer error is a schema that cannot be used, the inner one what `v` breaks.
    fn apply(&mut self, s: &'a Json<'a>, base: &str, v: &Value) -> Result<Outcome, ValidateError> {
        let schema = self.schema;
        let base = schema.base_of(s).unwrap_or(base);
        match s {
            Json::Bool(false) => return Ok(Err(self.err("false schema".to_owned()))),
            Json::Object(_) => {}
            _ => return Ok(Ok(())),
        }
        let id = node_id(s);
        let depth = self.location.len();
        for &(prev, d) in self.chain.iter().rev() {
            if d != depth {
                break;
            }
            if prev == id {
                return Err(ValidateError::Compile(format!(
                    "{} resolves to itself causing reference cycle",
                    go_quote(base)
                )));
            }
        }
        self.chain.push((id, depth));
        let r = self.apply_object(s, base, v);
        self.chain.pop();
        r
    }

    fn apply_object(&mut self, s: &'a Json<'a>, base: &str, v: &Value) -> Result<Outcome, ValidateError> {
        let draft = self.draft();
        let get = |k: &str| s.get(k);

        // Before 2019-09, `$ref` stands alone: its siblings are ignored.
        if draft < Draft::D2019
            && let Some(r) = get("$ref").and_then(Json::as_str)
        {
            return self.validate_ref(base, r, v);
        }

        let t = type_of(v);
        let types = types_of(s);
        if !types.is_empty() {
            let matched = types.contains(&t) || (t == "number" && types.contains(&"integer") && is_integer(v));
            if !matched {
                let mut want: Vec<&str> = TYPE_ORDER.iter().copied().filter(|n| types.contains(n)).collect();
                want.dedup();
                return Ok(Err(self.err(format!("got {t}, want {}", want.join(" or ")))));
            }
        }
        if draft >= Draft::D6
            && let Some(c) = get("const")
            && !json_equals(v, c)
        {
            let msg = match c {
                Json::Array(_) | Json::Object(_) => "'const' failed".to_owned(),
                c => format!("value must be {}", display_json(c)),
            };
            return Ok(Err(self.err(msg)));
        }
        if let Some(Json::Array(items)) = get("enum")
            && !items.iter().any(|j| json_equals(v, j))
        {
            let primitive = items.iter().all(|j| !matches!(j, Json::Array(_) | Json::Object(_)));
            let msg = if !primitive {
                "'enum' failed".to_owned()
            } else if items.len() == 1 {
                format!("value must be {}", display_json(&items[0]))
            } else {
                format!("value must be one of {}", items.iter().map(display_json).collect::<Vec<_>>().join(", "))
            };
            return Ok(Err(self.err(msg)));
        }
        if draft <= Draft::D7
            && let (Some(name), Value::String(text)) = (get("format").and_then(Json::as_str), v)
        {
            let result = if name == "regex" {
                goregex::compile(text).map(|_| ()).map_err(|e| format!("error parsing regexp: {e}"))
            } else {
                formats::check(name, text)
            };
            if let Err(e) = result {
                return Ok(Err(self.err(format!("{} is not valid {name}: {e}", display_value(v)))));
            }
        }

        let mut errors = Errors(Vec::new());
        if let Some(r) = get("$ref").and_then(Json::as_str) {
            errors.add(self.validate_ref(base, r, v)?);
        }
        match v {
            Value::Map(..) => self.object_keywords(s, base, v, &mut errors)?,
            Value::List(..) => self.array_keywords(s, base, v, &mut errors)?,
            Value::String(text) => self.string_keywords(s, text, &mut errors)?,
            Value::Int(_) | Value::Int64(_) | Value::Float(_) => self.number_keywords(s, v, &mut errors),
            _ => {}
        }
        if draft >= Draft::D2019 {
            for kw in ["$recursiveRef", "$dynamicRef"] {
                if let Some(r) = get(kw).and_then(Json::as_str) {
                    errors.add(self.validate_ref(base, r, v)?);
                }
            }
        }
        self.conditional_keywords(s, base, v, &mut errors)?;
        if draft >= Draft::D2019 {
            self.unevaluated_keywords(s, base, v, &mut errors)?;
        }
        Ok(match errors.0.len() {
            0 => Ok(()),
            1 => Err(errors.0.remove(0)),
            _ => Err(Error { location: self.location.clone(), kind: Kind::Group, causes: errors.0 }),
        })
    }

    fn validate_ref(&mut self, base: &str, r: &str, v: &Value) -> Result<Outcome, ValidateError> {
        let (target, target_base) = self.schema.resolve(base, r)?;
        Ok(match self.apply(target, &target_base, v)? {
            Ok(()) => Ok(()),
            Err(e) => {
                let causes = if e.kind == Kind::Group { e.causes } else { vec![e] };
                Err(Error { location: self.location.clone(), kind: Kind::Reference, causes })
            }
        })
    }

    /// Applies `s` to the value at `location/token`.
    fn apply_at(&mut self, s: &'a Json<'a>, base: &str, v: &Value, token: String) -> Result<Outcome, ValidateError> {
        self.location.push(token);
        let r = self.apply(s, base, v);
        self.location.pop();
        r
    }

    fn object_keywords(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        errors: &mut Errors,
    ) -> Result<(), ValidateError> {
        let Value::Map(m, _) = v else { return Ok(()) };
        let obj = m.borrow();
        let draft = self.draft();
        if let Some(n) = s.get("minProperties").and_then(Json::as_count)
            && obj.len() < n
        {
            errors.0.push(self.err(format!(
                "minProperties: got {}, want {}",
                print_int(obj.len() as i64),
                print_int(n as i64)
            )));
        }
        if let Some(n) = s.get("maxProperties").and_then(Json::as_count)
            && obj.len() > n
        {
            errors.0.push(self.err(format!(
                "maxProperties: got {}, want {}",
                print_int(obj.len() as i64),
                print_int(n as i64)
            )));
        }
        if let Some(Json::Array(req)) = s.get("required") {
            let missing = missing_keys(&obj, req);
            match missing.len() {
                0 => {}
                1 => errors.0.push(self.err(format!("missing property {}", quote(&missing[0])))),
                _ => errors.0.push(self.err(format!("missing properties {}", join_quoted(&missing)))),
            }
        }
        if let Some(Json::Object(deps)) = s.get("dependencies") {
            for (prop, dep) in deps {
                if !obj.contains_key(&**prop) {
                    continue;
                }
                match dep {
                    Json::Array(names) => self.require_dependents(&obj, prop, names, errors),
                    dep => errors.add(self.apply(dep, base, v)?),
                }
            }
        }
        let properties = s.get("properties").and_then(Json::as_object).unwrap_or(&[]);
        let patterns = s.get("patternProperties").and_then(Json::as_object).unwrap_or(&[]);
        let additional = s.get("additionalProperties");
        let mut extra: Vec<String> = Vec::new();
        for (name, value) in obj.iter() {
            let mut evaluated = false;
            if let Some((_, ps)) = properties.iter().find(|(k, _)| k == name) {
                evaluated = true;
                errors.add(self.apply_at(ps, base, value, name.clone())?);
            }
            for (pattern, ps) in patterns {
                if self.schema.regex(pattern)?.is_match(name) {
                    evaluated = true;
                    errors.add(self.apply_at(ps, base, value, name.clone())?);
                }
            }
            if !evaluated && let Some(a) = additional {
                match a {
                    Json::Bool(false) => extra.push(name.clone()),
                    Json::Bool(true) => {}
                    a => errors.add(self.apply_at(a, base, value, name.clone())?),
                }
            }
        }
        if !extra.is_empty() {
            errors.0.push(self.err(format!("additional properties {} not allowed", join_quoted(&extra))));
        }
        if draft == Draft::D4 {
            return Ok(());
        }
        if let Some(names) = s.get("propertyNames") {
            for name in obj.keys() {
                // The library checks a name as a document of its own and reports it at ''.
                let saved = std::mem::take(&mut self.location);
                let r = self.apply(names, base, &Value::String(name.as_str().into()));
                self.location = saved;
                if let Err(e) = r? {
                    let causes = if e.kind == Kind::Group { e.causes } else { vec![e] };
                    errors.0.push(Error {
                        location: Vec::new(),
                        kind: Kind::Message(format!("invalid propertyName {}", quote(name))),
                        causes,
                    });
                }
            }
        }
        if draft < Draft::D2019 {
            return Ok(());
        }
        if let Some(Json::Object(deps)) = s.get("dependentSchemas") {
            for (prop, dep) in deps {
                if obj.contains_key(&**prop) {
                    errors.add(self.apply(dep, base, v)?);
                }
            }
        }
        if let Some(Json::Object(deps)) = s.get("dependentRequired") {
            for (prop, names) in deps {
                if !obj.contains_key(&**prop) {
                    continue;
                }
                self.require_dependents(&obj, prop, names.as_array().unwrap_or(&[]), errors);
            }
        }
        Ok(())
    }

    /// `dependentRequired` (and `dependencies` with a list): `prop` is present, so each of
    /// `names` must be too.
    fn require_dependents(&self, obj: &BTreeMap<String, Value>, prop: &str, names: &[Json<'_>], errors: &mut Errors) {
        let missing = missing_keys(obj, names);
        if !missing.is_empty() {
            errors.0.push(self.err(format!(
                "properties {} required, if {} exists",
                join_quoted(&missing),
                quote(prop)
            )));
        }
    }

    fn array_keywords(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        errors: &mut Errors,
    ) -> Result<(), ValidateError> {
        let Value::List(items, _) = v else { return Ok(()) };
        let draft = self.draft();
        let n = items.len();
        if let Some(min) = s.get("minItems").and_then(Json::as_count)
            && n < min
        {
            errors.0.push(self.err(format!("minItems: got {}, want {}", print_int(n as i64), print_int(min as i64))));
        }
        if let Some(max) = s.get("maxItems").and_then(Json::as_count)
            && n > max
        {
            errors.0.push(self.err(format!("maxItems: got {}, want {}", print_int(n as i64), print_int(max as i64))));
        }
        if s.get("uniqueItems") == Some(&Json::Bool(true)) && n > 1 {
            'outer: for i in 1..n {
                for j in 0..i {
                    if values_equal(&items[i], &items[j]) {
                        errors.0.push(self.err(format!(
                            "items at {} and {} are equal",
                            print_int(j as i64),
                            print_int(i as i64)
                        )));
                        break 'outer;
                    }
                }
            }
        }
        if draft < Draft::D2020 {
            let mut evaluated = 0;
            match s.get("items") {
                Some(Json::Array(tuple)) => {
                    evaluated = n.min(tuple.len());
                    for (i, item) in items.iter().take(evaluated).enumerate() {
                        errors.add(self.apply_at(&tuple[i], base, item, i.to_string())?);
                    }
                }
                Some(each) => {
                    for (i, item) in items.iter().enumerate() {
                        errors.add(self.apply_at(each, base, item, i.to_string())?);
                    }
                    evaluated = n;
                }
                None => {}
            }
            match s.get("additionalItems") {
                Some(Json::Bool(false)) if evaluated != n && matches!(s.get("items"), Some(Json::Array(_))) => {
                    errors.0.push(
                        self.err(format!("last {} additionalItem(s) not allowed", print_int((n - evaluated) as i64))),
                    );
                }
                Some(Json::Bool(_)) | None => {}
                Some(extra) if matches!(s.get("items"), Some(Json::Array(_))) => {
                    for (i, item) in items.iter().enumerate().skip(evaluated) {
                        errors.add(self.apply_at(extra, base, item, i.to_string())?);
                    }
                }
                Some(_) => {}
            }
        } else {
            let prefix = s.get("prefixItems").and_then(Json::as_array).unwrap_or(&[]);
            let evaluated = n.min(prefix.len());
            for (i, item) in items.iter().take(evaluated).enumerate() {
                errors.add(self.apply_at(&prefix[i], base, item, i.to_string())?);
            }
            if let Some(each) = s.get("items") {
                // The library reports these items at their index after the prefix.
                for (i, item) in items.iter().skip(evaluated).enumerate() {
                    errors.add(self.apply_at(each, base, item, i.to_string())?);
                }
            }
        }
        if draft >= Draft::D6
            && let Some(contains) = s.get("contains")
        {
            let mut failures = Vec::new();
            let mut matched = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match self.apply_at(contains, base, item, i.to_string())? {
                    Ok(()) => matched.push(i),
                    Err(e) => failures.push(e),
                }
            }
            let min = if draft >= Draft::D2019 { s.get("minContains").and_then(Json::as_count) } else { None };
            let max = if draft >= Draft::D2019 { s.get("maxContains").and_then(Json::as_count) } else { None };
            let at = |m: &[usize]| m.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
            if let Some(min) = min {
                if matched.len() < min {
                    let msg = if matched.is_empty() {
                        format!(
                            "min {} items required to match contains schema, but none matched",
                            print_int(min as i64)
                        )
                    } else {
                        format!(
                            "min {} items required to match contains schema, but matched {} items at {}",
                            print_int(min as i64),
                            print_int(matched.len() as i64),
                            at(&matched)
                        )
                    };
                    errors.0.push(Error {
                        location: self.location.clone(),
                        kind: Kind::Message(msg),
                        causes: failures,
                    });
                }
            } else if matched.is_empty() {
                errors.0.push(Error {
                    location: self.location.clone(),
                    kind: Kind::Message("no items match contains schema".to_owned()),
                    causes: failures,
                });
            }
            if let Some(max) = max
                && matched.len() > max
            {
                errors.0.push(self.err(format!(
                    "max {} items required to match contains schema, but matched {} items at {}",
                    print_int(max as i64),
                    print_int(matched.len() as i64),
                    at(&matched)
                )));
            }
        }
        Ok(())
    }

    fn string_keywords(&mut self, s: &'a Json<'a>, text: &str, errors: &mut Errors) -> Result<(), ValidateError> {
        let len = text.chars().count();
        if let Some(min) = s.get("minLength").and_then(Json::as_count)
            && len < min
        {
            errors.0.push(self.err(format!(
                "minLength: got {}, want {}",
                print_int(len as i64),
                print_int(min as i64)
            )));
        }
        if let Some(max) = s.get("maxLength").and_then(Json::as_count)
            && len > max
        {
            errors.0.push(self.err(format!(
                "maxLength: got {}, want {}",
                print_int(len as i64),
                print_int(max as i64)
            )));
        }
        if let Some(pattern) = s.get("pattern").and_then(Json::as_str)
            && !self.schema.regex(pattern)?.is_match(text)
        {
            errors.0.push(self.err(format!("{} does not match pattern {}", quote(text), quote(pattern))));
        }
        Ok(())
    }

    fn number_keywords(&mut self, s: &'a Json<'a>, v: &Value, errors: &mut Errors) {
        let Some(n) = number(v) else { return };
        let draft = self.draft();
        let num = |k: &str| s.get(k).and_then(Json::as_f64);
        let flag = |k: &str| s.get(k) == Some(&Json::Bool(true));
        let (mut minimum, mut maximum) = (num("minimum"), num("maximum"));
        let (mut ex_min, mut ex_max) = (None, None);
        if draft == Draft::D4 {
            if flag("exclusiveMinimum") {
                ex_min = minimum.take();
            }
            if flag("exclusiveMaximum") {
                ex_max = maximum.take();
            }
        } else {
            ex_min = num("exclusiveMinimum");
            ex_max = num("exclusiveMaximum");
        }
        let mut check = |name: &str, want: Option<f64>, fails: fn(f64, f64) -> bool| {
            if let Some(w) = want
                && fails(n, w)
            {
                errors.0.push(self.err(format!("{name}: got {}, want {}", print_float(n), print_float(w))));
            }
        };
        check("minimum", minimum, |n, w| n < w);
        check("maximum", maximum, |n, w| n > w);
        check("exclusiveMinimum", ex_min, |n, w| n <= w);
        check("exclusiveMaximum", ex_max, |n, w| n >= w);
        check("multipleOf", num("multipleOf"), |n, w| !is_multiple(n, w));
    }

    fn conditional_keywords(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        errors: &mut Errors,
    ) -> Result<(), ValidateError> {
        if let Some(not) = s.get("not")
            && self.apply(not, base, v)?.is_ok()
        {
            errors.0.push(self.err("'not' failed".to_owned()));
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            let mut failures = Vec::new();
            for sub in all {
                if let Err(e) = self.apply(sub, base, v)? {
                    failures.push(e);
                }
            }
            if !failures.is_empty() {
                errors.0.push(Error {
                    location: self.location.clone(),
                    kind: Kind::Message("'allOf' failed".to_owned()),
                    causes: failures,
                });
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let mut failures = Vec::new();
            let mut matched = false;
            for sub in any {
                match self.apply(sub, base, v)? {
                    Ok(()) => {
                        matched = true;
                        break;
                    }
                    Err(e) => failures.push(e),
                }
            }
            if !matched {
                errors.0.push(Error {
                    location: self.location.clone(),
                    kind: Kind::Message("'anyOf' failed".to_owned()),
                    causes: failures,
                });
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let mut failures = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, sub) in one.iter().enumerate() {
                match self.apply(sub, base, v)? {
                    Err(e) => {
                        if matched.is_none() {
                            failures.push(e);
                        }
                    }
                    Ok(()) => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.0.push(self.err(format!(
                                "'oneOf' failed, subschemas {}, {} matched",
                                print_int(first as i64),
                                print_int(i as i64)
                            )));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.0.push(Error {
                    location: self.location.clone(),
                    kind: Kind::Message("'oneOf' failed, none matched".to_owned()),
                    causes: failures,
                });
            }
        }
        if self.draft() >= Draft::D7
            && let Some(cond) = s.get("if")
        {
            let branch = if self.apply(cond, base, v)?.is_ok() { s.get("then") } else { s.get("else") };
            if let Some(branch) = branch {
                errors.add(self.apply(branch, base, v)?);
            }
        }
        Ok(())
    }

    fn unevaluated_keywords(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        errors: &mut Errors,
    ) -> Result<(), ValidateError> {
        match v {
            Value::Map(m, _) => {
                let Some(rest) = s.get("unevaluatedProperties") else { return Ok(()) };
                let mut seen = BTreeSet::new();
                self.evaluated_properties(s, base, v, &mut seen)?;
                let obj = m.borrow();
                for (name, value) in obj.iter() {
                    if !seen.contains(name) {
                        errors.add(self.apply_at(rest, base, value, name.clone())?);
                    }
                }
            }
            Value::List(items, _) => {
                let Some(rest) = s.get("unevaluatedItems") else { return Ok(()) };
                let mut seen = BTreeSet::new();
                self.evaluated_items(s, base, v, &mut seen)?;
                for (i, item) in items.iter().enumerate() {
                    if !seen.contains(&i) {
                        errors.add(self.apply_at(rest, base, item, i.to_string())?);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The subschemas of `s` that apply to `v` itself and that it passes: those whose
    /// evaluated properties and items count for `unevaluated*`.
    fn passing_subschemas(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
    ) -> Result<Vec<(&'a Json<'a>, String)>, ValidateError> {
        let mut out = Vec::new();
        if let Some(r) = s.get("$ref").and_then(Json::as_str) {
            let (t, tb) = self.schema.resolve(base, r)?;
            if self.apply(t, &tb, v)?.is_ok() {
                out.push((t, tb));
            }
        }
        for kw in ["allOf", "anyOf", "oneOf"] {
            for sub in s.get(kw).and_then(Json::as_array).unwrap_or(&[]) {
                if self.apply(sub, base, v)?.is_ok() {
                    out.push((sub, base.to_owned()));
                }
            }
        }
        if let Some(cond) = s.get("if") {
            if self.apply(cond, base, v)?.is_ok() {
                out.push((cond, base.to_owned()));
                if let Some(t) = s.get("then") {
                    out.push((t, base.to_owned()));
                }
            } else if let Some(e) = s.get("else") {
                out.push((e, base.to_owned()));
            }
        }
        if let (Some(Json::Object(deps)), Value::Map(m, _)) = (s.get("dependentSchemas"), v) {
            for (prop, dep) in deps {
                if m.borrow().contains_key(&**prop) {
                    out.push((dep, base.to_owned()));
                }
            }
        }
        Ok(out)
    }

    fn evaluated_properties(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        seen: &mut BTreeSet<String>,
    ) -> Result<(), ValidateError> {
        let Value::Map(m, _) = v else { return Ok(()) };
        let names: Vec<String> = m.borrow().keys().cloned().collect();
        if s.get("additionalProperties").is_some() {
            seen.extend(names.iter().cloned());
        }
        if let Some(props) = s.get("properties").and_then(Json::as_object) {
            seen.extend(names.iter().filter(|n| props.iter().any(|(k, _)| k == *n)).cloned());
        }
        for (pattern, _) in s.get("patternProperties").and_then(Json::as_object).unwrap_or(&[]) {
            let re = self.schema.regex(pattern)?;
            seen.extend(names.iter().filter(|n| re.is_match(n)).cloned());
        }
        for (sub, sub_base) in self.passing_subschemas(s, base, v)? {
            self.evaluated_properties(sub, &sub_base, v, seen)?;
            if sub.get("unevaluatedProperties").is_some() {
                seen.extend(names.iter().cloned());
            }
        }
        Ok(())
    }

    fn evaluated_items(
        &mut self,
        s: &'a Json<'a>,
        base: &str,
        v: &Value,
        seen: &mut BTreeSet<usize>,
    ) -> Result<(), ValidateError> {
        let Value::List(items, _) = v else { return Ok(()) };
        let n = items.len();
        let draft = self.draft();
        let prefix = if draft >= Draft::D2020 {
            s.get("prefixItems").and_then(Json::as_array).map_or(0, <[Json<'_>]>::len)
        } else {
            match s.get("items") {
                Some(Json::Array(t)) => t.len(),
                _ => 0,
            }
        };
        seen.extend(0..prefix.min(n));
        let all = if draft >= Draft::D2020 {
            s.get("items").is_some()
        } else {
            matches!(s.get("items"), Some(j) if !matches!(j, Json::Array(_))) || s.get("additionalItems").is_some()
        };
        if all {
            seen.extend(0..n);
        }
        if let Some(contains) = s.get("contains") {
            for (i, item) in items.iter().enumerate() {
                if self.apply_at(contains, base, item, i.to_string())?.is_ok() {
                    seen.insert(i);
                }
            }
        }
        for (sub, sub_base) in self.passing_subschemas(s, base, v)? {
            self.evaluated_items(sub, &sub_base, v, seen)?;
            if sub.get("unevaluatedItems").is_some() {
                seen.extend(0..n);
            }
        }
        Ok(())
    }
}

/// The names among `names` (JSON strings) that `obj` lacks, in order.
fn missing_keys(obj: &BTreeMap<String, Value>, names: &[Json<'_>]) -> Vec<String> {
    names.iter().filter_map(Json::as_str).filter(|k| !obj.contains_key(*k)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_the_english_printer_prints_them() {
        assert_eq!(print_float(1000.0), "1,000");
        assert_eq!(print_float(123456.5), "123,456.5");
        assert_eq!(print_float(-1234.5), "-1,234.5");
        assert_eq!(print_float(0.0001), "0.0001");
        assert_eq!(print_float(0.00001), "1×10⁻⁰⁵");
        assert_eq!(print_float(1234567.0), "1.234567×10⁰⁶");
        assert_eq!(print_float(1e22), "1×10²²");
        assert_eq!(print_int(1234), "1,234");
        assert_eq!(print_int(-5), "-5");
    }

    #[test]
    fn multiples_are_exact_on_decimals() {
        assert!(is_multiple(0.3, 0.1));
        assert!(is_multiple(10.0, 2.5));
        assert!(!is_multiple(3.0, 2.0));
    }

    #[test]
    fn references_resolve_like_urls() {
        assert_eq!(join_url(ROOT_URL, "#/definitions/a"), "file:///values.schema.json#/definitions/a");
        assert_eq!(join_url("http://x.io/a/b.json", "c.json#/d"), "http://x.io/a/c.json#/d");
        assert_eq!(join_url("http://x.io/a/b.json", "../c.json"), "http://x.io/c.json");
        assert_eq!(join_url(ROOT_URL, "https://example.com/s.json"), "https://example.com/s.json");
    }

    #[test]
    fn quotes_swap_double_for_single() {
        assert_eq!(quote("a\"b'c\n"), "'a\"b\\'c\\n'");
    }
}
