//! Sprig's functions as Helm exposes them: Sprig's `TxtFuncMap` without `env` and
//! `expandenv`, which Helm removes. Each function is declared with the Go signature Sprig
//! gives it, so the executor checks and converts arguments as Go does, and behaves like
//! Sprig's Go code in the edge cases charts meet: nil, wrong types, empty lists, negative
//! counts. Where Sprig's Go code panics, the function fails with the panic's text, which
//! is what Go's `text/template` reports (`error calling first: Cannot find first on type
//! string`).
//!
//! The JSON and YAML functions (`toJson`, `fromJson`, ...) and Helm's own functions are not
//! here; they live with the codecs and in `helm`.

mod certs;
mod conversion;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod dsa;
mod encoding;
#[cfg(test)]
mod end_to_end;
mod lists;
mod math;
mod paths;
mod prime;
mod reflect;
mod regex;
mod semver;
mod strings;

pub(crate) use dates::toml_time;

use crate::func::{FuncError, FuncMap, Param, Signature};
use crate::value::Value;

/// Every Sprig function Helm exposes, except the JSON ones (which the codec provides).
pub fn functions() -> FuncMap {
    let mut map = FuncMap::new();
    strings::register(&mut map);
    conversion::register(&mut map);
    math::register(&mut map);
    lists::register(&mut map);
    dicts::register(&mut map);
    defaults::register(&mut map);
    reflect::register(&mut map);
    regex::register(&mut map);
    encoding::register(&mut map);
    paths::register(&mut map);
    semver::register(&mut map);
    dates::register(&mut map);
    crypto::register(&mut map);
    map
}

/// Shorthands for declaring signatures.
pub(crate) mod sig {
    use super::{Param, Signature};

    pub const ANY: Param = Param::Any;
    pub const STR: Param = Param::String;
    pub const INT: Param = Param::Int;

    pub const fn fixed(params: &'static [Param]) -> Signature {
        Signature::fixed(params)
    }

    pub const fn variadic(params: &'static [Param], rest: Param) -> Signature {
        Signature::variadic(params, rest)
    }
}

/// The argument at `i`, nil when missing (the executor guarantees the declared count).
pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(Value::NIL)
}

/// A `string` argument.
pub(crate) fn str_arg(args: &[Value], i: usize) -> String {
    match arg(args, i) {
        Value::String(s) => s.to_string(),
        other => strval(other),
    }
}

/// An `int` argument.
pub(crate) fn int_arg(args: &[Value], i: usize) -> i64 {
    match arg(args, i) {
        Value::Int(n) | Value::Int64(n) => *n,
        other => conversion::to_int64(other),
    }
}

/// Sprig's `strval`: strings as they are, byte slices as text, objects through their
/// `String` method, everything else as `%v` prints it.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => crate::format::sprint(other),
    }
}

/// The items of a Go slice or array (reflect kinds Slice and Array), `None` otherwise.
pub(crate) fn slice_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(items, _) => Some(items.to_vec()),
        Value::Bytes(b) => Some(b.iter().map(|&x| Value::Int(i64::from(x))).collect()),
        _ => None,
    }
}

/// The error Go reports when Sprig calls `reflect.TypeOf(nil).Kind()`.
pub(crate) const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// `reflect.TypeOf(v).Kind()` as Sprig's messages print it; a nil dereference for nil.
pub(crate) fn kind_of(v: &Value) -> Result<&'static str, FuncError> {
    if v.is_nil() { Err(FuncError::new(NIL_DEREF)) } else { Ok(v.kind()) }
}

/// `reflect.DeepEqual`: equal types and equal contents.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x, tx), Value::List(y, ty)) => {
            tx == ty && x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x, tx), Value::Map(y, ty)) => {
            if tx != ty {
                return false;
            }
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => x.type_name() == y.type_name() && x.display() == y.display(),
        _ => false,
    }
}

/// A function error with Go's message.
pub(crate) fn fail(message: impl Into<String>) -> FuncError {
    FuncError::new(message)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Calling functions through the map, as the executor will.
    use super::*;

    /// A host for functions that do not use it.
    pub struct NoHost;

    impl crate::func::Host for NoHost {
        fn execute_template(&mut self, _: &str, _: Value) -> Result<String, FuncError> {
            Err(FuncError::new("no host"))
        }
        fn execute_text(&mut self, _: &str, _: &str, _: Value) -> Result<String, FuncError> {
            Err(FuncError::new("no host"))
        }
        fn current_template(&self) -> &str {
            "test"
        }
    }

    thread_local! {
        static FUNCS: FuncMap = functions();
    }

    /// Calls `name` with `args`.
    pub fn call(name: &str, args: &[Value]) -> Result<Value, FuncError> {
        FUNCS.with(|f| {
            let func = f.get(name).unwrap_or_else(|| panic!("{name} is not defined"));
            (func.body)(&mut NoHost, args)
        })
    }

    /// Calls `name` and prints the result as `{{ }}` would (`%v`).
    pub fn show(name: &str, args: &[Value]) -> String {
        match call(name, args) {
            Ok(v) => crate::format::sprint(&v),
            Err(e) => format!("ERR: {e}"),
        }
    }

    /// The signature `name` is declared with.
    pub fn signature(name: &str) -> Signature {
        FUNCS.with(|f| f.get(name).map(|f| f.signature).unwrap_or_else(|| panic!("{name}")))
    }

    pub fn s(v: &str) -> Value {
        Value::string(v)
    }

    pub fn i(v: i64) -> Value {
        Value::Int(v)
    }

    pub fn f(v: f64) -> Value {
        Value::Float(v)
    }

    pub fn l(items: &[Value]) -> Value {
        Value::list(items.iter().cloned())
    }

    pub fn d(entries: &[(&str, Value)]) -> Value {
        Value::map(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::signature;
    use crate::func::{Param, Signature};

    /// The executor checks arguments against these, so they must be Sprig's Go signatures.
    #[test]
    fn signatures_are_sprigs() {
        let s = Signature::fixed;
        assert_eq!(signature("upper"), s(&[Param::String]));
        assert_eq!(signature("indent"), s(&[Param::Int, Param::String]));
        assert_eq!(signature("default"), Signature::variadic(&[Param::Any], Param::Any));
        assert_eq!(signature("add"), Signature::variadic(&[], Param::Any));
        assert_eq!(signature("ternary"), s(&[Param::Any, Param::Any, Param::Bool]));
        assert_eq!(signature("merge"), Signature::variadic(&[Param::Map], Param::Map));
        assert_eq!(signature("round"), Signature::variadic(&[Param::Any, Param::Int], Param::Float64));
    }
}
