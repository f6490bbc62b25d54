//! Helm's `--set` syntax (Go's `helm.sh/helm/pkg/strvals`): `a.b=1,list[0].c=x,l={a,b}`,
//! with `\` escaping the next character, values typed as Helm types them (`--set`: `int64`,
//! `bool`, `null`, strings; `--set-string`: strings only; `--set-json`: JSON; `--set-file`:
//! the named file's content).
//!
//! This is a port of Helm's recursive-descent parser, including its quirks (`a=` sets an empty
//! string, `a.b=1` replaces a non-map `a` only by failing, indexes past the end pad with
//! nulls), because users' command lines depend on them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use reef_gotmpl::format::go_quote;
use reef_gotmpl::{MapRef, Value};

/// The largest list index `--set` accepts.
const MAX_INDEX: usize = 65536;
/// The deepest key nesting `--set` accepts.
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How a value after `=` becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `--set`: `true`/`false` (any case), `null`, integers without a leading zero as `int64`.
    Typed,
    /// `--set-string`: always a string.
    String,
    /// `--set-json`: a JSON value.
    Json,
    /// `--set-file`: the value is a path; the file's content is the value (a string).
    File,
}

/// A `--set` expression that Helm rejects; the message is Helm's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrvalsError(pub String);

impl std::fmt::Display for StrvalsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StrvalsError {}

/// Reads a `--set-file` value's file.
pub type FileReader<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

/// Parses `s` into `dest`, as `strvals.ParseInto` (and its `String`/`JSON`/`File` siblings) do.
pub fn parse_into(s: &str, dest: &MapRef, kind: ValueKind, files: &FileReader<'_>) -> Result<(), StrvalsError> {
    let mut parser = Parser { input: s.chars().collect(), pos: 0, kind, files };
    loop {
        match parser.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Error(e)) => return Err(StrvalsError(e)),
            Err(Stop::NotList) => return Err(StrvalsError("not a list".to_owned())),
        }
    }
}

/// Parses `s` into a new map (`strvals.Parse`).
pub fn parse(s: &str, kind: ValueKind) -> Result<Value, StrvalsError> {
    let map: MapRef = Rc::new(RefCell::new(BTreeMap::new()));
    parse_into(s, &map, kind, &|_| Err("no files".to_owned()))?;
    Ok(Value::Map(map, reef_gotmpl::MapType::Interface))
}

/// Why parsing stopped: Go's `io.EOF`, `ErrNotList`, or a real error.
enum Stop {
    Eof,
    NotList,
    Error(String),
}

fn err(msg: impl Into<String>) -> Stop {
    Stop::Error(msg.into())
}

struct Parser<'a> {
    input: Vec<char>,
    pos: usize,
    kind: ValueKind,
    files: &'a FileReader<'a>,
}

fn go_type_of(v: &Value) -> String {
    match v {
        Value::Nil => "nil".to_owned(),
        other => other.type_name(),
    }
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.input.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    /// Reads until one of `stop` (consumed), honouring `\` escapes. `Err(Eof)` carries what was read.
    fn runes_until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(next) => v.push(next),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn typed(&self, rs: &str) -> Result<Value, Stop> {
        match self.kind {
            ValueKind::String | ValueKind::Json => Ok(Value::string(rs)),
            ValueKind::Typed => Ok(typed_val(rs)),
            ValueKind::File => (self.files)(rs).map(Value::from).map_err(Stop::Error),
        }
    }

    fn key(&mut self, data: &MapRef, nested: usize) -> Result<(), Stop> {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    return Err(Stop::Eof);
                }
                Err(err(format!("key {} has no value", go_quote(&k))))
            }
            Some('[') => {
                let i = self.key_index().map_err(|e| match e {
                    Stop::Error(m) => err(format!("error parsing index: {m}")),
                    other => other,
                })?;
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Vec::new(),
                    Some(Value::List(ref l, _)) => l.to_vec(),
                    Some(other) => {
                        return Err(err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type_of(&other)
                        )));
                    }
                };
                let (list, result) = self.list_item(list, i, nested);
                set(data, &k, Value::list(list));
                result
            }
            Some('=') => {
                if self.kind == ValueKind::Json {
                    if self.empty_val() {
                        set(data, &k, Value::Nil);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(list) => {
                        set(data, &k, Value::list(list));
                        Ok(())
                    }
                    Err(Stop::Eof) => {
                        set(data, &k, Value::string(""));
                        Err(Stop::Eof)
                    }
                    Err(Stop::NotList) => {
                        let rs = self.val();
                        let v = self.typed(&rs)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, Value::string(""));
                Err(err(format!("key {} has no value (cannot end with ,)", go_quote(&k))))
            }
            Some(_) => {
                // '.'
                let nested = nested + 1;
                if nested > MAX_NESTED_NAME_LEVEL {
                    return Err(err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner: MapRef = match existing {
                    None => Rc::new(RefCell::new(BTreeMap::new())),
                    Some(Value::Map(ref m, _)) => m.clone(),
                    Some(other) => {
                        return Err(err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type_of(&other)
                        )));
                    }
                };
                let result = self.key(&inner, nested);
                let empty = inner.borrow().is_empty();
                if result.is_ok() && empty {
                    return Err(err(format!("key map {} has no value", go_quote(&k))));
                }
                if !empty {
                    set(data, &k, Value::Map(inner, reef_gotmpl::MapType::Interface));
                }
                result
            }
        }
    }

    fn key_index(&mut self) -> Result<usize, Stop> {
        let (v, last) = self.runes_until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        match v.parse::<i64>() {
            Ok(i) if i < 0 => Err(err(format!("negative {i} index not allowed"))),
            Ok(i) => Ok(i as usize),
            Err(_) => Err(err(format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(&v)))),
        }
    }

    /// Go's `listItem`: returns the (possibly changed) list and how parsing went.
    fn list_item(&mut self, mut list: Vec<Value>, i: usize, nested: usize) -> (Vec<Value>, Result<(), Stop>) {
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (list, Err(err(format!("unexpected data at end of array index: {}", go_quote(&k)))));
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                if self.kind == ValueKind::Json {
                    if self.empty_val() {
                        return set_index(list, i, Value::Nil);
                    }
                    let v = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return (list, Err(e)),
                    };
                    let (list, r) = set_index(list, i, v);
                    if r.is_err() {
                        return (list, r);
                    }
                    self.empty_val();
                    return (list, Ok(()));
                }
                match self.val_list() {
                    Ok(vl) => set_index(list, i, Value::list(vl)),
                    Err(Stop::Eof) => set_index(list, i, Value::string("")),
                    Err(Stop::NotList) => {
                        let rs = self.val();
                        match self.typed(&rs) {
                            Ok(v) => set_index(list, i, v),
                            Err(e) => (list, Err(e)),
                        }
                    }
                    Err(e) => (list, Err(e)),
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(Stop::Error(m)) => return (list, Err(err(format!("error parsing index: {m}")))),
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i) {
                    Some(Value::List(l, _)) => l.to_vec(),
                    Some(Value::Nil) | None => Vec::new(),
                    Some(other) => {
                        let msg = format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type_of(other)
                        );
                        return (list, Err(err(msg)));
                    }
                };
                let (inner, r) = self.list_item(current, next, nested);
                if r.is_err() {
                    return (list, r);
                }
                set_index(list, i, Value::list(inner))
            }
            Some(_) => {
                // '.'
                let inner: MapRef = match list.get(i) {
                    Some(Value::Map(m, _)) => m.clone(),
                    Some(_) => {
                        let m: MapRef = Rc::new(RefCell::new(BTreeMap::new()));
                        list[i] = Value::Map(m.clone(), reef_gotmpl::MapType::Interface);
                        m
                    }
                    None => Rc::new(RefCell::new(BTreeMap::new())),
                };
                if let Err(e) = self.key(&inner, nested) {
                    return (list, Err(e));
                }
                set_index(list, i, Value::Map(inner, reef_gotmpl::MapType::Interface))
            }
        }
    }

    /// Consumes blanks up to a comma or the end (true: the value is empty); stops before
    /// anything else (false).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    /// Decodes one JSON value from the rest of the input, as Go's `json.Decoder` does.
    fn json_value(&mut self) -> Result<Value, Stop> {
        let rest: String = self.input[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let consumed = stream.byte_offset();
                self.pos += rest[..consumed].chars().count();
                Ok(crate::values::from_json(&v))
            }
            Some(Err(e)) => Err(err(e.to_string())),
            None => Err(err("unexpected end of JSON input")),
        }
    }

    fn val(&mut self) -> String {
        self.runes_until(&[',']).0
    }

    fn val_list(&mut self) -> Result<Vec<Value>, Stop> {
        match self.read() {
            None => return Err(Stop::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(Stop::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                None => return Err(err("list must terminate with '}'")),
                Some('}') => {
                    match self.read() {
                        Some(',') | None => {}
                        Some(_) => self.unread(),
                    }
                    list.push(self.typed(&rs)?);
                    return Ok(list);
                }
                Some(_) => list.push(self.typed(&rs)?),
            }
        }
    }
}

fn set(data: &MapRef, key: &str, val: Value) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_owned(), val);
}

fn set_index(mut list: Vec<Value>, index: usize, val: Value) -> (Vec<Value>, Result<(), Stop>) {
    if index > MAX_INDEX {
        return (list, Err(err(format!("index of {index} is greater than maximum supported index of {MAX_INDEX}"))));
    }
    if list.len() <= index {
        list.resize(index + 1, Value::Nil);
    }
    list[index] = val;
    (list, Ok(()))
}

/// `--set`'s typing of a value: `true`/`false`/`null` in any case, `0`, and integers not
/// starting with `0` become `int64`; everything else stays a string (`1.5`, `01`, `1e3`).
pub fn typed_val(val: &str) -> Value {
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if val == "0" {
        return Value::Int64(0);
    }
    if !val.is_empty() && !val.starts_with('0') {
        // Go's strconv.ParseInt accepts a sign and, with base 10, `_`-free digits only.
        let digits = val.strip_prefix(['+', '-']).unwrap_or(val);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = val.parse::<i64>()
        {
            return Value::Int64(i);
        }
    }
    Value::string(val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reef_gotmpl::format::sprint;

    fn set_str(s: &str) -> String {
        match parse(s, ValueKind::Typed) {
            Ok(v) => format!("{} {:?}", sprint(&v), v),
            Err(e) => format!("error: {e}"),
        }
    }

    fn typed(s: &str) -> String {
        match parse(s, ValueKind::Typed) {
            Ok(v) => sprint(&v),
            Err(e) => format!("error: {e}"),
        }
    }

    // Each expectation below was checked with helm 4.2.3:
    // `helm template x chart --set '...'` of a template printing `{{ .Values }}`.
    #[test]
    fn set_types_integers_as_int64_and_keeps_other_numbers_as_strings() {
        let v = parse("a=5,b=01,c=1.5,d=TRUE,e=null,f=0,g=-3,h=", ValueKind::Typed).expect("parses");
        let Value::Map(ref m, _) = v else { panic!("a map") };
        let m = m.borrow();
        assert!(matches!(m["a"], Value::Int64(5)));
        assert_eq!(m["b"].as_str(), Some("01"));
        assert_eq!(m["c"].as_str(), Some("1.5"));
        assert!(matches!(m["d"], Value::Bool(true)));
        assert!(m["e"].is_nil());
        assert!(matches!(m["f"], Value::Int64(0)));
        assert!(matches!(m["g"], Value::Int64(-3)));
        assert_eq!(m["h"].as_str(), Some(""));
    }

    #[test]
    fn set_builds_nested_maps_and_lists() {
        assert_eq!(typed("a.b.c=1,a.d=x"), "map[a:map[b:map[c:1] d:x]]");
        assert_eq!(typed("l[1]=x"), "map[l:[<nil> x]]");
        assert_eq!(typed("l[0].n=1,l[0].m=2"), "map[l:[map[m:2 n:1]]]");
        assert_eq!(typed("l={a,b,3}"), "map[l:[a b 3]]");
        assert_eq!(typed("m[0][1]=z"), "map[m:[[<nil> z]]]");
    }

    #[test]
    fn set_honours_backslash_escapes() {
        assert_eq!(typed(r"a=x\,y,b\.c=1"), "map[a:x,y b.c:1]");
    }

    #[test]
    fn set_string_keeps_everything_a_string() {
        let v = parse("a=5,b=true", ValueKind::String).expect("parses");
        assert_eq!(set_str("a=5").split(' ').next(), Some("map[a:5]"));
        let Value::Map(ref m, _) = v else { panic!("a map") };
        assert_eq!(m.borrow()["a"].as_str(), Some("5"));
        assert_eq!(m.borrow()["b"].as_str(), Some("true"));
    }

    #[test]
    fn set_json_decodes_json_values() {
        let v = parse(r#"a={"b":[1,"x"]},c=null,d=2"#, ValueKind::Json).expect("parses");
        assert_eq!(sprint(&v), "map[a:map[b:[1 x]] c:<nil> d:2]");
        let Value::Map(ref m, _) = v else { panic!("a map") };
        assert!(matches!(m.borrow()["d"], Value::Float(_)), "JSON numbers are float64");
    }

    #[test]
    fn set_errors_read_as_helms() {
        assert_eq!(typed("a"), r#"error: key "a" has no value"#);
        assert_eq!(typed("a,b=1"), r#"error: key "a" has no value (cannot end with ,)"#);
        assert_eq!(
            typed("a=1,a.b=2"),
            "error: unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        assert_eq!(typed("l={a,b"), "error: list must terminate with '}'");
    }
}
