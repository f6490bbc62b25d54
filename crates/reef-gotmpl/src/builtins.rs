//! Go's predefined template functions (`text/template/funcs.go`): `and or not len index slice
//! print printf println html js urlquery call eq ne lt le gt ge`. A function of the same name
//! in the [`crate::FuncMap`] replaces one of these, as in Go (Sprig replaces `slice`).

use std::cmp::Ordering;

use crate::format::{sprint, sprint_args, sprintf};
use crate::value::{MAX_VALUE_BYTES, MapType, Value};

/// How the executor evaluates an argument of a builtin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BParam {
    /// `reflect.Value`: anything, nil included.
    Value,
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
}

/// Arguments of a builtin: each value, with whether a nil is a typed `interface{}` nil.
pub(crate) type Args<'a> = &'a [(Value, bool)];

/// A builtin's shape and body. The body gets each argument with whether a nil was typed.
pub(crate) struct Builtin {
    /// Number of fixed parameters and whether it is variadic.
    pub arity: (usize, bool),
    /// The fixed parameters.
    pub params: &'static [BParam],
    /// The variadic parameter.
    pub rest: BParam,
    /// What it does.
    pub body: fn(Args<'_>) -> Result<Value, String>,
}

const V: BParam = BParam::Value;
const A: BParam = BParam::Any;

/// The builtin called `name`.
/// Printed text as a value, or an error past [`MAX_VALUE_BYTES`] (printing a value that
/// shares its parts stops once past the limit).
fn text(s: String) -> Result<Value, String> {
    if s.len() > MAX_VALUE_BYTES {
        return Err(format!("printed text exceeds the limit of {MAX_VALUE_BYTES} bytes"));
    }
    Ok(Value::from(s))
}

pub(crate) fn lookup(name: &str) -> Option<&'static Builtin> {
    static AND: Builtin = Builtin { arity: (1, true), params: &[V], rest: V, body: |_| Ok(Value::Nil) };
    static NOT: Builtin =
        Builtin { arity: (1, false), params: &[V], rest: V, body: |a| Ok(Value::Bool(!a[0].0.truthy())) };
    static CALL: Builtin = Builtin { arity: (1, true), params: &[V], rest: V, body: |_| Ok(Value::Nil) };
    static HTML: Builtin =
        Builtin { arity: (0, true), params: &[], rest: A, body: |a| text(html_escape(&eval_args(a))) };
    static JS: Builtin = Builtin { arity: (0, true), params: &[], rest: A, body: |a| text(js_escape(&eval_args(a))) };
    static URLQUERY: Builtin =
        Builtin { arity: (0, true), params: &[], rest: A, body: |a| text(query_escape(&eval_args(a))) };
    static INDEX: Builtin = Builtin { arity: (1, true), params: &[V], rest: V, body: index };
    static SLICE: Builtin = Builtin { arity: (1, true), params: &[V], rest: V, body: slice };
    static LEN: Builtin = Builtin { arity: (1, false), params: &[V], rest: V, body: length };
    static PRINT: Builtin = Builtin { arity: (0, true), params: &[], rest: A, body: |a| text(sprint_args(&plain(a))) };
    static PRINTLN: Builtin = Builtin {
        arity: (0, true),
        params: &[],
        rest: A,
        body: |a| {
            let parts: Vec<String> = a.iter().map(|(v, _)| sprint(v)).collect();
            text(parts.join(" ") + "\n")
        },
    };
    static PRINTF: Builtin = Builtin {
        arity: (1, true),
        params: &[BParam::Str],
        rest: A,
        body: |a| {
            let fmt = match &a[0].0 {
                Value::String(s) => s.clone(),
                _ => std::rc::Rc::from(""),
            };
            text(sprintf(&fmt, &plain(&a[1..])))
        },
    };
    static EQ: Builtin = Builtin { arity: (1, true), params: &[V], rest: V, body: |a| eq(a).map(Value::Bool) };
    static NE: Builtin =
        Builtin { arity: (2, false), params: &[V, V], rest: V, body: |a| eq(a).map(|b| Value::Bool(!b)) };
    static LT: Builtin = Builtin { arity: (2, false), params: &[V, V], rest: V, body: |a| lt(a).map(Value::Bool) };
    static LE: Builtin =
        Builtin { arity: (2, false), params: &[V, V], rest: V, body: |a| Ok(Value::Bool(lt(a)? || eq(a)?)) };
    static GT: Builtin =
        Builtin { arity: (2, false), params: &[V, V], rest: V, body: |a| Ok(Value::Bool(!(lt(a)? || eq(a)?))) };
    static GE: Builtin =
        Builtin { arity: (2, false), params: &[V, V], rest: V, body: |a| lt(a).map(|b| Value::Bool(!b)) };
    Some(match name {
        "and" | "or" => &AND,
        "not" => &NOT,
        "call" => &CALL,
        "html" => &HTML,
        "js" => &JS,
        "urlquery" => &URLQUERY,
        "index" => &INDEX,
        "slice" => &SLICE,
        "len" => &LEN,
        "print" => &PRINT,
        "println" => &PRINTLN,
        "printf" => &PRINTF,
        "eq" => &EQ,
        "ne" => &NE,
        "lt" => &LT,
        "le" => &LE,
        "gt" => &GT,
        "ge" => &GE,
        _ => return None,
    })
}

fn plain(a: &[(Value, bool)]) -> Vec<Value> {
    a.iter().map(|(v, _)| v.clone()).collect()
}

/// Go's `evalArgs`: one string argument as is, anything else through `fmt.Sprint`, after
/// `printableValue` has turned each nil into the string `<no value>` (so no space separates it
/// from a neighbour, as `fmt.Sprint` puts spaces only between two non-strings).
fn eval_args(a: &[(Value, bool)]) -> String {
    if let [(Value::String(s), _)] = a {
        return s.to_string();
    }
    let printable: Vec<Value> =
        a.iter().map(|(v, _)| if matches!(v, Value::Nil) { Value::from("<no value>") } else { v.clone() }).collect();
    sprint_args(&printable)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    const HEX: &[u8] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let b = c as usize;
                out.push_str("\\u00");
                out.push(HEX[b >> 4] as char);
                out.push(HEX[b & 15] as char);
            }
            c if (c as u32) >= 0x80 && !crate::format::is_go_printable(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn length(a: &[(Value, bool)]) -> Result<Value, String> {
    let n = match &a[0].0 {
        Value::Nil => {
            return Err(if a[0].1 {
                "len of nil pointer".to_owned()
            } else {
                "reflect: call of reflect.Value.Type on zero Value".to_owned()
            });
        }
        Value::String(s) => crate::go_string::byte_len(s),
        Value::Bytes(b) => b.len(),
        Value::List(l, _) => l.len(),
        Value::Map(m, _) => m.borrow().len(),
        Value::Object(o) => match o.entries() {
            Some(entries) => entries.len(),
            None => return Err(format!("len of type {}", o.type_name())),
        },
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index_arg(index: &Value, cap: usize, inclusive: bool) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".to_owned()),
        other => return Err(format!("cannot index slice/array with type {}", other.type_name())),
    };
    if x < 0 || x > cap as i64 {
        return Err(format!("index out of range: {x}"));
    }
    if !inclusive && x == cap as i64 {
        // Go's check lets this through to reflect, which panics.
        return Err("reflect: slice index out of range".to_owned());
    }
    Ok(x as usize)
}

fn index(a: &[(Value, bool)]) -> Result<Value, String> {
    let mut item = a[0].0.clone();
    if item.is_nil() {
        return Err("index of untyped nil".to_owned());
    }
    for (idx, _) in &a[1..] {
        item = match &item {
            Value::Nil => return Err("index of nil pointer".to_owned()),
            Value::List(l, _) => l[index_arg(idx, l.len(), false)?].clone(),
            Value::Bytes(b) => Value::Int(i64::from(b[index_arg(idx, b.len(), false)?])),
            Value::String(s) => {
                let bytes = crate::go_string::to_bytes(s);
                let i = index_arg(idx, bytes.len(), false).map_err(|e| e.replace("slice index", "string index"))?;
                Value::Int(i64::from(bytes[i]))
            }
            Value::Map(m, mt) => {
                let key = match idx {
                    Value::String(k) => k.clone(),
                    Value::Nil => return Err("value is nil; should be of type string".to_owned()),
                    other => return Err(format!("value has type {}; should be string", other.type_name())),
                };
                match m.borrow().get(&*key) {
                    Some(v) => v.clone(),
                    None if *mt == MapType::String => Value::string(""),
                    None => Value::Nil,
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(a: &[(Value, bool)]) -> Result<Value, String> {
    let item = &a[0].0;
    let indexes = &a[1..];
    if item.is_nil() {
        return Err("slice of untyped nil".to_owned());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_owned());
            }
            crate::go_string::byte_len(s)
        }
        Value::List(l, _) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, (index, _)) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len, true)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => {
            Value::from(crate::go_string::from_bytes(&crate::go_string::to_bytes(s)[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l, t) => Value::List(l[idx[0]..idx[1]].iter().cloned().collect(), *t),
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn comparable(v: &Value) -> bool {
    !matches!(v, Value::List(..) | Value::Map(..) | Value::Bytes(_))
}

fn eq(a: &[(Value, bool)]) -> Result<bool, String> {
    let arg1 = &a[0].0;
    if a.len() < 2 {
        return Err("missing argument for comparison".to_owned());
    }
    let k1 = basic_kind(arg1);
    for (arg, _) in &a[1..] {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            if !arg1.is_nil() && !arg.is_nil() {
                return Err(format!("incompatible types for comparison: {} and {}", arg1.type_name(), arg.type_name()));
            }
            false
        } else {
            match k1 {
                Kind::Bool => matches!((arg1, arg), (Value::Bool(x), Value::Bool(y)) if x == y),
                Kind::Float => float_of(arg1) == float_of(arg),
                Kind::Int => int_of(arg1) == int_of(arg),
                Kind::String => arg1.as_str() == arg.as_str(),
                Kind::Invalid => true,
                Kind::Other => {
                    if arg1.type_name() != arg.type_name() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            sprintf("%s", std::slice::from_ref(arg1)),
                            arg1.type_name(),
                            arg.type_name(),
                            sprint(arg)
                        ));
                    }
                    if !comparable(arg) {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            sprintf("%s", std::slice::from_ref(arg)),
                            arg.type_name()
                        ));
                    }
                    match (arg1, arg) {
                        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
                        _ => false,
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &[(Value, bool)]) -> Result<bool, String> {
    let (arg1, arg2) = (&a[0].0, &a[1].0);
    let k1 = basic_kind(arg1);
    let k2 = basic_kind(arg2);
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err("invalid type for comparison".to_owned());
    }
    if k1 != k2 {
        return Err(format!("incompatible types for comparison: {} and {}", arg1.type_name(), arg2.type_name()));
    }
    Ok(match k1 {
        Kind::Float => float_of(arg1).partial_cmp(&float_of(arg2)) == Some(Ordering::Less),
        Kind::Int => int_of(arg1) < int_of(arg2),
        Kind::String => arg1.as_str() < arg2.as_str(),
        _ => return Err("invalid type for comparison".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers_match_go() {
        assert_eq!(html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;");
        assert_eq!(js_escape("a'b\"c<d>=&\n"), "a\\'b\\\"c\\u003Cd\\u003E\\u003D\\u0026\\u000A");
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn comparisons_follow_go_kinds() {
        let t = |a: Value, b: Value| eq(&[(a, false), (b, false)]);
        assert_eq!(t(Value::Int(1), Value::Int64(1)), Ok(true));
        assert!(t(Value::Int(1), Value::Float(1.0)).is_err());
        assert_eq!(t(Value::Nil, Value::string("a")), Ok(false));
        assert_eq!(t(Value::Nil, Value::Nil), Ok(true));
    }
}
