//! Template functions: how Go's `text/template` sees a function (its declared parameter
//! types, which decide how arguments are checked and converted) and how reef implements one.
//!
//! Go checks each argument against the function's declared parameter type before the call:
//! `{{ upper 3 }}` fails with `wrong type for value; expected string; got int`, while
//! `{{ quote 3 }}` works because `quote` takes `...interface{}`. Matching helm byte for byte
//! (errors included) means declaring each function with the Go signature it has in Sprig or
//! Helm, and letting the executor do the checking and conversion Go does
//! (`text/template`'s `evalArg` and `validateType`).

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::value::{MAX_VALUE_BYTES, Value};

/// A declared parameter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`: anything, nil included.
    Any,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float64,
    /// `bool`.
    Bool,
    /// `[]byte`.
    Bytes,
    /// `[]interface{}`.
    List,
    /// `[]string`.
    StringList,
    /// `map[string]interface{}`.
    Map,
}

impl Param {
    /// The Go spelling, for error messages (`expected string`).
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Float64 => "float64",
            Param::Bool => "bool",
            Param::Bytes => "[]uint8",
            Param::List => "[]interface {}",
            Param::StringList => "[]string",
            Param::Map => "map[string]interface {}",
        }
    }
}

/// A function's Go signature: fixed parameters, then optionally a variadic one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The fixed parameters.
    pub params: &'static [Param],
    /// The type of `...T`, if the function is variadic.
    pub variadic: Option<Param>,
}

impl Signature {
    /// `func(a, b, ...)`.
    pub const fn fixed(params: &'static [Param]) -> Signature {
        Signature { params, variadic: None }
    }

    /// `func(a, b, rest ...T)`.
    pub const fn variadic(params: &'static [Param], rest: Param) -> Signature {
        Signature { params, variadic: Some(rest) }
    }
}

/// An error a function returns (Go's `error` result, or a recovered panic). The executor
/// reports it as `error calling NAME: MESSAGE` at the call's position, as Go does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncError(pub String);

impl FuncError {
    /// An error with Go's message.
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError(message.into())
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FuncError {}

/// What a running template offers the functions it calls: rendering another template of the
/// set (`include`), rendering a string as a template (`tpl`), and the limits that keep a
/// hostile chart from exhausting the machine.
pub trait Host {
    /// Renders the template `name` of the current set with `data` as dot.
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, FuncError>;
    /// Parses `text` as a template named `name`, which may use every template defined in
    /// the current set, and renders it with `data` as dot.
    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, FuncError>;
    /// The name of the template being executed (for `tpl`'s and `include`'s error messages).
    fn current_template(&self) -> &str;
}

/// Fails when `v` is larger than [`MAX_VALUE_BYTES`] (by [`Value::shallow_size`]).
pub(crate) fn check_size(v: &Value) -> Result<(), FuncError> {
    let size = v.shallow_size();
    if size > MAX_VALUE_BYTES {
        return Err(FuncError::new(format!("a value of {size} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes")));
    }
    Ok(())
}

/// The body of a function: checked and converted arguments in, a value or an error out.
pub type FuncBody = dyn Fn(&mut dyn Host, &[Value]) -> Result<Value, FuncError>;

/// A template function.
#[derive(Clone)]
pub struct Func {
    /// Its Go signature.
    pub signature: Signature,
    /// What it does.
    pub body: Rc<FuncBody>,
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Func").field("signature", &self.signature).finish_non_exhaustive()
    }
}

/// The functions a template can call, by name. Each has an index, fixed when it is first
/// added: a parsed template names its functions by index (see [`FuncNames`]), so a parse
/// needs only the names, and can run on another thread.
#[derive(Debug, Clone, Default)]
pub struct FuncMap {
    names: FuncNames,
    funcs: Vec<Func>,
}

/// The names of a [`FuncMap`]'s functions and their indexes: what the parser resolves a
/// function name against. Unlike the functions themselves, it can be shared between threads.
#[derive(Debug, Clone, Default)]
pub struct FuncNames(HashMap<String, usize>);

impl FuncNames {
    /// The index of the function called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.get(name).copied()
    }
}

impl FuncMap {
    /// An empty map (Go's builtins are always there; they are not in this map).
    pub fn new() -> FuncMap {
        FuncMap::default()
    }

    /// Adds (or replaces) a function that needs the [`Host`].
    pub fn add_with_host(
        &mut self,
        name: &str,
        signature: Signature,
        body: impl Fn(&mut dyn Host, &[Value]) -> Result<Value, FuncError> + 'static,
    ) {
        // No function result may exceed the value limit (functions that build text may stop
        // building once past it, leaving the rejection to this check).
        let checked = move |host: &mut dyn Host, args: &[Value]| {
            let v = body(host, args)?;
            check_size(&v)?;
            Ok(v)
        };
        self.insert(name, Func { signature, body: Rc::new(checked) });
    }

    /// Adds (or replaces) a function of its arguments alone.
    pub fn add(
        &mut self,
        name: &str,
        signature: Signature,
        body: impl Fn(&[Value]) -> Result<Value, FuncError> + 'static,
    ) {
        self.add_with_host(name, signature, move |_, args| body(args));
    }

    fn insert(&mut self, name: &str, f: Func) {
        match self.names.index(name) {
            Some(i) => self.funcs[i] = f,
            None => {
                self.names.0.insert(name.to_owned(), self.funcs.len());
                self.funcs.push(f);
            }
        }
    }

    /// Adds every function of `other`, replacing those with the same name.
    pub fn extend(&mut self, other: FuncMap) {
        let mut by_index: Vec<(usize, String)> = other.names.0.into_iter().map(|(n, i)| (i, n)).collect();
        by_index.sort_unstable_by_key(|(i, _)| *i);
        for ((_, name), f) in by_index.into_iter().zip(other.funcs) {
            self.insert(&name, f);
        }
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.names.index(name).map(|i| &self.funcs[i])
    }

    /// The function with index `index` (from [`FuncNames::index`] of this map's names).
    pub fn by_index(&self, index: usize) -> Option<&Func> {
        self.funcs.get(index)
    }

    /// The names and indexes, for resolving names where the functions cannot go.
    pub fn names_index(&self) -> &FuncNames {
        &self.names
    }

    /// Whether `name` is defined (the parser rejects calls of undefined functions, as Go's does:
    /// `function "x" not defined`).
    pub fn contains(&self, name: &str) -> bool {
        self.names.0.contains_key(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.names.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}
