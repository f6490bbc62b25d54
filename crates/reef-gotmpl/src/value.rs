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
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::rc::Rc;

/// The largest value a function may build, and the longest text printing one value may give:
/// a string's bytes, or a list's or map's entries at the size of a [`Value`] each (what the
/// entries hold was counted when it was built). Go has no such limit; it keeps a hostile
/// template (`repeat`, `until`, a string doubled in a loop) from exhausting memory, and it is
/// the default output limit ([`crate::Options::max_output_bytes`]) so that anything a chart
/// may print can be built.
pub const MAX_VALUE_BYTES: usize = 64 << 20;

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
    /// For a Go struct that `fmt` prints field by field (no `String` method on the value):
    /// its fields in declaration order under their Go names, unexported ones included, as
    /// `printf` (`%+v`, `%#v`, a verb applied to each field) and the TOML encoder see them.
    /// `None` (the default) otherwise.
    fn struct_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }
    /// The fields `encoding/json` writes, in order, under their JSON names: by default the
    /// exported ones of [`Object::struct_fields`].
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        self.struct_fields().map(|fields| fields.into_iter().filter(|(name, _)| is_exported(name)).collect())
    }
}

/// Whether a Go field name is exported (starts with an upper-case letter).
pub fn is_exported(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// Dropping a deeply nested value (a map wrapped in a map by a loop ten thousand times)
/// would recurse once per level and overflow the stack: the last owner of a list or map moves
/// the lists and maps it holds out, and they are dropped in a loop instead.
impl Drop for Value {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        take_nested(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_nested(&mut v, &mut pending);
        }
    }
}

/// Moves the lists and maps `v` holds into `pending`, when `v` is their only owner.
fn take_nested(v: &mut Value, pending: &mut Vec<Value>) {
    let nested = |x: &&mut Value| matches!(x, Value::List(..) | Value::Map(..));
    match v {
        Value::List(items, _) => {
            if let Some(items) = Rc::get_mut(items) {
                pending.extend(items.iter_mut().filter(nested).map(std::mem::take));
            }
        }
        Value::Map(m, _) => {
            if let Some(m) = Rc::get_mut(m) {
                pending.extend(m.get_mut().values_mut().filter(nested).map(std::mem::take));
            }
        }
        _ => {}
    }
}

impl Value {
    /// A nil to borrow where an argument may be missing (a `Value` has a destructor, so
    /// `&Value::Nil` is not promoted to a constant).
    pub const NIL: &'static Value = &Value::Nil;

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

    /// The memory this value adds beyond what it shares with the values it was made from:
    /// a string's or byte slice's bytes, a list's or map's entries (shallow: entries that
    /// are lists or maps are counted when they are built). What [`MAX_VALUE_BYTES`] bounds.
    pub fn shallow_size(&self) -> usize {
        let entry = std::mem::size_of::<Value>();
        match self {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::List(items, _) => items.len().saturating_mul(entry),
            Value::Map(m, _) => m.try_borrow().map_or(0, |m| m.len().saturating_mul(2 * entry)),
            _ => 0,
        }
    }

    /// Whether printing this value (by `%v`, JSON, YAML or TOML), or copying it in full,
    /// reaches more than `limit` bytes, counting each entry as often as it is reached: a list
    /// that holds another twice is printed twice. Counts what any of those prints at least (a
    /// string's bytes, a key's bytes, one per entry). Each shared list or map is measured once,
    /// so the cost is that of the value in memory, however large it prints. Entries nested
    /// deeper than `max_depth` are not counted: the encoders report those.
    pub fn print_size_exceeds(&self, limit: usize, max_depth: usize) -> bool {
        print_size(self, max_depth, &mut HashMap::new()) > limit
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

/// [`Value::print_size_exceeds`]'s measure, with the sizes of the lists and maps measured so
/// far by address.
fn print_size(v: &Value, depth_left: usize, seen: &mut HashMap<*const (), usize>) -> usize {
    let key = match v {
        Value::String(s) => return s.len(),
        Value::Bytes(b) => return b.len(),
        Value::List(items, _) => items.as_ptr().cast::<()>(),
        Value::Map(m, _) => Rc::as_ptr(m).cast::<()>(),
        _ => return 1,
    };
    if let Some(&n) = seen.get(&key) {
        return n;
    }
    if depth_left == 0 {
        return 1;
    }
    let n = stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || match v {
        Value::List(items, _) => {
            items.iter().fold(1usize, |n, x| n.saturating_add(print_size(x, depth_left - 1, seen)))
        }
        Value::Map(m, _) => match m.try_borrow() {
            Ok(m) => m.iter().fold(1usize, |n, (k, x)| {
                n.saturating_add(k.len()).saturating_add(print_size(x, depth_left - 1, seen))
            }),
            Err(_) => 1,
        },
        _ => 1,
    });
    seen.insert(key, n);
    n
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
