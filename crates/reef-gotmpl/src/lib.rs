//! reef-gotmpl: Go's `text/template` with Sprig's and Helm's functions, rendering what
//! `helm template` renders, byte for byte. A pure library: no IO, no clock or randomness
//! except through the functions that Helm defines that way (`now`, `randAlphaNum`, ...).
//!
//! The parts:
//! - [`value`]: values with the Go types Helm gives them, and Go's truthiness;
//! - [`func`]: how functions are declared (Go signatures) and called;
//! - [`format`]: Go's `fmt` formatting of values (`%v`, and `printf`'s verbs);
//! - [`template`]: the engine's entry point, [`Templates`], over [`lex`], [`parse`] and the
//!   executor.

mod builtins;
mod exec;
pub mod format;
pub mod func;
pub mod go_string;
pub mod helm;
pub mod json;
pub mod lex;
pub mod parse;
pub mod sprig;
pub mod template;
pub mod thread;
pub mod toml;
pub mod value;
pub mod yaml;

pub use func::{Func, FuncError, FuncMap, Host, Param, Signature};
pub use template::{Error, Options, Templates};
pub use value::{ListType, MapRef, MapType, Object, Value};
