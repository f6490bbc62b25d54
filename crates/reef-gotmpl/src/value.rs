//! Values as Go's `text/template` sees them when Helm renders a chart.
//!
//! Output depends on Go types, not only on data: `{{ 3.0 }}` and `{{ 3 }}` print the same, but
//! `typeOf`, `kindIs`, `%T`, `eq` and argument checking tell `int`, `int64` and `float64`
//! apart, and Helm produces each of them in a different place (YAML values decode to
//! `float64`, `--set` gives `int64`, `len` and `atoi` give `int`). So a [`Value`] carries the
//! Go type it would have in Helm.
//!
//! Maps are shared and mutable, as Go maps are: `set`, `unset`, `merge` change the map in
//! place and every holder sees it (charts rely on `$_ := set .Values "x" 1` being visible to
//! later templates). Lists are immutable and shared; functions that "change" a list make a
//! new one, as Sprig's do. A render happens on one thread, so sharing is `Rc`, not `Arc`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The map behind a Go `map[string]interface{}` (or `map[string]string`, Helm's `common.Values`):
/// keys sorted, as Go prints and ranges over them.
pub type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;

/// A Go value.
#[derive(Clone, Default)]
pub enum Value {
    /// A nil `interface{}`: a YAML `null`, a missing map key under Helm's `missingkey=zero`,
    /// an unset variable. Prints as `<no value>` (which Helm then removes from the output).
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// Go `int`: `len`, range indexes, `atoi`, `int`, `until`.
    Int(i64),
    /// `int64`: `--set` integers, Sprig arithmetic (`add`, `mul`, ...), `int64`.
    Int64(i64),
    /// `float64`: every number decoded from YAML or JSON values, `float64`, `addf`, ...
    Float(f64),
    /// `string`.
    String(Rc<str>),
    /// `[]byte`: `.Files.GetBytes`. Prints like Go prints a byte slice (`[104 105]`).
    Bytes(Rc<[u8]>),
    /// A slice.
    List(Rc<[Value]>, ListType),
    /// A map with string keys.
    Map(MapRef, MapType),
    /// A Go struct or other typed object with fields and methods: `.Chart`, `.Release`,
    /// `.Files`, `.Capabilities`, `.Template`.
    Object(Rc<dyn Object>),
}

/// The Go element type of a slice, for `typeOf`, `%T` and argument checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// `[]interface {}`: `list`, decoded YAML and JSON arrays, `append`, ...
    Interface,
    /// `[]string`: `splitList`, `keys`, `sortAlpha`, `regexFindAll`, `.Files.Lines`, ...
    String,
    /// `[]int`: `until`, `untilStep`, `seq`.
    Int,
    /// Helm's `common.VersionSet` (a `[]string` with a `Has` method): `.Capabilities.APIVersions`.
    VersionSet,
}

/// The Go type of a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`: `dict`, decoded YAML and JSON objects.
    Interface,
    /// `map[string]string`: `split`, `splitn`, `.Capabilities`-like string maps.
    String,
    /// Helm's values type (`.Values`, `.Template`), which Helm 4 prints as `common.Values` in `%T`.
    Values,
}

/// A Go struct (or named type) exposed to templates: fields, methods and how it prints.
///
/// `{{ .Files.Get "a" }}` is a method call with arguments, `{{ .Chart.Name }}` a field,
/// `{{ .Capabilities.KubeVersion }}` prints through the type's `String` method.
pub trait Object {
    /// The Go type name, as `%T` and `typeOf` print it (`*chart.Metadata`, `files`).
    fn type_name(&self) -> &str;
    /// A field (or a method that takes no arguments), `None` when there is no such name:
    /// the executor then reports `can't evaluate field X in type T`.
    fn field(&self, name: &str) -> Option<Value>;
    /// Calls the method `name` with `args`. `None` when there is no such method; `Some(Err)`
    /// when the call fails, with the message the Go method's error has.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// For a Go map type with methods (Helm's `engine.files`, what `.Files` and
    /// `.Files.Glob` return): its entries, sorted by key, which `range`, `len`, `index` and
    /// `keys` see as they see a map's. `None` (the default) for structs.
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// What `{{ . }}` and `%v` print: the `String()` method when the Go type has one,
    /// otherwise Go's struct formatting (`{a b}`).
    fn display(&self) -> String;
    /// What `fmt` prints for a copy of the value: a function's argument, an element of a list.
    /// It differs from [`Object::display`] when the Go `String` method has a pointer receiver,
    /// which only an addressable value has (a struct field reached through a pointer, as
    /// `{{ .Capabilities.KubeVersion }}` prints it).
    fn fmt_display(&self) -> String {
        self.display()
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl AsRef<str>) -> Value {
        Value::String(Rc::from(s.as_ref()))
    }

    /// A `[]interface {}`.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect(), ListType::Interface)
    }

    /// A `[]string`.
    pub fn string_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::List(items.into_iter().map(Value::string).collect(), ListType::String)
    }

    /// A new `map[string]interface {}`.
    pub fn map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries.into_iter().collect())), MapType::Interface)
    }

    /// An empty `map[string]interface {}`.
    pub fn empty_map() -> Value {
        Value::map(std::iter::empty())
    }

    /// Go's truthiness, as `if`, `with`, `and`, `or`, `not` and `default` see it: false,
    /// zero numbers, empty strings, slices and maps, and nil are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m, _) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The Go type name, as `%T` and Sprig's `typeOf` print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_owned(),
            Value::Bool(_) => "bool".to_owned(),
            Value::Int(_) => "int".to_owned(),
            Value::Int64(_) => "int64".to_owned(),
            Value::Float(_) => "float64".to_owned(),
            Value::String(_) => "string".to_owned(),
            Value::Bytes(_) => "[]uint8".to_owned(),
            Value::List(_, ListType::Interface) => "[]interface {}".to_owned(),
            Value::List(_, ListType::String) => "[]string".to_owned(),
            Value::List(_, ListType::VersionSet) => "common.VersionSet".to_owned(),
            Value::List(_, ListType::Int) => "[]int".to_owned(),
            Value::Map(_, MapType::Interface) => "map[string]interface {}".to_owned(),
            Value::Map(_, MapType::String) => "map[string]string".to_owned(),
            Value::Map(_, MapType::Values) => "common.Values".to_owned(),
            Value::Object(o) => o.type_name().to_owned(),
        }
    }

    /// The Go kind, as Sprig's `kindOf` and `kindIs` see it: `map`, `slice`, `string`,
    /// `int`, `int64`, `float64`, `bool`, `ptr`, `struct`, `invalid` for nil.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(..) => "slice",
            Value::Map(..) => "map",
            Value::Object(o) => {
                if o.type_name().starts_with('*') {
                    "ptr"
                } else {
                    "struct"
                }
            }
        }
    }

    /// The string inside, without conversion.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "int({i})"),
            Value::Int64(i) => write!(f, "int64({i})"),
            Value::Float(x) => write!(f, "float64({x})"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "bytes({b:?})"),
            Value::List(l, t) => f.debug_list().entries(l.iter()).finish().and_then(|()| write!(f, "{t:?}")),
            Value::Map(m, _) => match m.try_borrow() {
                Ok(m) => f.debug_map().entries(m.iter()).finish(),
                Err(_) => write!(f, "map(borrowed)"),
            },
            Value::Object(o) => write!(f, "{}", o.type_name()),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::string(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Rc::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_follows_go() {
        assert!(!Value::Nil.truthy());
        assert!(!Value::Int(0).truthy());
        assert!(!Value::Float(0.0).truthy());
        assert!(!Value::string("").truthy());
        assert!(!Value::list([]).truthy());
        assert!(!Value::empty_map().truthy());
        assert!(Value::string("0").truthy());
        assert!(Value::list([Value::Nil]).truthy());
    }

    #[test]
    fn maps_are_shared_like_go_maps() {
        let m = Value::empty_map();
        let alias = m.clone();
        if let Value::Map(inner, _) = &alias {
            inner.borrow_mut().insert("k".into(), Value::Int(1));
        }
        assert!(m.truthy(), "a change through one holder is seen by the other");
    }

    #[test]
    fn type_names_are_gos() {
        assert_eq!(Value::string_list(["a"]).type_name(), "[]string");
        assert_eq!(Value::list([]).type_name(), "[]interface {}");
        assert_eq!(Value::empty_map().type_name(), "map[string]interface {}");
        assert_eq!(Value::Float(1.0).kind(), "float64");
        assert_eq!(Value::Nil.kind(), "invalid");
    }
}
