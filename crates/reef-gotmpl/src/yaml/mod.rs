//! YAML as Helm reads and writes it.
//!
//! Helm reads values files and `fromYaml` text with `sigs.k8s.io/yaml`: go-yaml v2 decodes the
//! document (YAML 1.1 resolution: `yes`, `on`, `y` are booleans, `012` is octal, `1:20` a
//! string), the result is converted to JSON and decoded again by `encoding/json`. So every
//! number ends up a float64, map keys become strings (`y:` is the key `"true"`, `1.5:` the
//! key `"1.5"`), NaN and infinities are errors, and a scalar key that JSON cannot hold
//! (`~:`) fails the whole document. [`parse`] does that; [`emit`] writes YAML as `toYaml` and
//! `toYamlPretty` do.

pub mod emit;
pub mod fast;
pub mod parse;

use std::fmt;

use crate::func::{FuncMap, Param, Signature};
use crate::json::{self, JsonStyle, Target};
use crate::value::Value;

pub use emit::{marshal, marshal_pretty};
pub use parse::{
    from_yaml, from_yaml_array, json_kind, parse_values, unmarshal_any, unmarshal_any_full, unmarshal_top_keys,
    unmarshal_top_keys_full,
};

/// Why YAML text could not be read, with the message Helm prints
/// (`error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this
/// context`). [`parse_values`] adds the prefix of Helm's values loader,
/// `cannot unmarshal yaml document: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError(pub String);

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for YamlError {}

/// What go-yaml v2's `resolve` makes of a plain scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// `~`, `null`, `Null`, `NULL`, empty.
    Null,
    /// YAML 1.1 booleans: `y`, `yes`, `on`, `true` and their opposites, in three casings.
    Bool(bool),
    /// An integer that fits `int64`.
    Int(i64),
    /// An integer beyond `int64` that fits `uint64`.
    Uint(u64),
    /// A float, `.inf` and `.nan` included.
    Float(f64),
    /// A timestamp (`2001-12-14`); decoded into `interface{}` it stays the string.
    Timestamp,
    /// `<<`.
    Merge,
    /// Anything else.
    Str,
}

/// go-yaml v2's `resolve("", s)`.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => match go_parse_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Resolved::Uint(u);
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Resolved::Float(f);
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// Splits Go's base prefix off an unsigned number: (digits, radix).
fn go_radix(s: &str) -> (&str, u32) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return (&s[2..], 16),
            b'o' | b'O' => return (&s[2..], 8),
            b'b' | b'B' => return (&s[2..], 2),
            _ => return (&s[1..], 8),
        }
    }
    (s, 10)
}

/// `strconv.ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_uint(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let (digits, radix) = go_radix(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `strconv.ParseInt(s, 0, 64)` (underscores already removed).
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 { Some((u as i128).wrapping_neg() as i64) } else { None }
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms YAML scalars reach it with.
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')) {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    Some(f)
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml v2's `parseTimestamp`: `2006-1-2`, `2006-1-2 15:4:5.999999999`,
/// `2006-1-2T15:4:5.999999999Z07:00` (and lowercase `t`), as Go's `time.Parse` accepts them.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max_len: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max_len {
            *i += 1;
        }
        if *i == start { None } else { std::str::from_utf8(&b[start..*i]).ok()?.parse().ok() }
    };
    let Some(month) = num(&mut i, 2) else { return false };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else { return false };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let with_zone = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(h) = num(&mut i, 2) else { return false };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 2) else { return false };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 2) else { return false };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        let start = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if !with_zone {
        return i == b.len();
    }
    match &b[i..] {
        b"Z" => true,
        [sign, h1, h2, b':', m1, m2] if (*sign == b'+' || *sign == b'-') => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// Helm's `toYaml`: the YAML of `v` without its final newline, or `""` when it cannot be
/// written (a NaN, a control character go-yaml rejects).
pub fn to_yaml(v: &Value) -> String {
    match marshal(v) {
        Ok(s) => s.strip_suffix('\n').map(str::to_owned).unwrap_or(s),
        Err(_) => String::new(),
    }
}

/// The text of a `sigs.k8s.io/yaml.Marshal` error: `encoding/json`'s are wrapped, go-yaml's
/// (from reading the JSON back) are not.
fn marshal_error_text(e: &emit::EmitError) -> String {
    if e.0.starts_with("json: ") { format!("error marshaling into JSON: {}", e.0) } else { e.0.clone() }
}

/// Helm's `toYamlPretty`: go-yaml v3 with 2-space indentation, sequences indented.
pub fn to_yaml_pretty(v: &Value) -> String {
    match marshal_pretty(v) {
        Ok(s) => s.strip_suffix('\n').map(str::to_owned).unwrap_or(s),
        Err(_) => String::new(),
    }
}

/// The encoding functions, as Helm's engine defines them (Helm's `toJson` and `fromJson`
/// replace Sprig's; `toToml`, `toYaml`, `fromYaml` and the array forms are Helm's).
pub fn functions() -> FuncMap {
    let mut f = FuncMap::new();
    let any = Signature::fixed(&[Param::Any]);
    let string = Signature::fixed(&[Param::String]);
    let arg_str = |args: &[Value]| args.first().and_then(Value::as_str).unwrap_or("").to_owned();
    let arg = |args: &[Value]| args.first().cloned().unwrap_or(Value::Nil);

    f.add("toYaml", any, move |args| Ok(Value::from(to_yaml(&arg(args)))));
    f.add("toYamlPretty", any, move |args| Ok(Value::from(to_yaml_pretty(&arg(args)))));
    f.add("fromYaml", string, move |args| Ok(from_yaml(&arg_str(args))));
    f.add("fromYamlArray", string, move |args| Ok(from_yaml_array(&arg_str(args))));
    f.add("fromToml", string, move |args| Ok(crate::toml::from_toml(&arg_str(args))));
    f.add("toToml", any, move |args| crate::toml::to_toml(&arg(args)).map(Value::from).map_err(crate::FuncError::new));
    // Helm's must forms fail with the encoder's error instead of swallowing it.
    f.add("mustToYaml", any, move |args| {
        let s = marshal(&arg(args)).map_err(|e| crate::FuncError::new(marshal_error_text(&e)))?;
        Ok(Value::from(s.strip_suffix('\n').unwrap_or(&s)))
    });
    f.add("mustToToml", any, move |args| {
        crate::toml::must_to_toml(&arg(args)).map(Value::from).map_err(crate::FuncError::new)
    });

    // Helm's toJson swallows errors; Sprig's mustToJson reports them.
    f.add("toJson", any, move |args| Ok(Value::from(json::marshal(&arg(args)).unwrap_or_default())));
    f.add("mustToJson", any, move |args| {
        json::marshal(&arg(args)).map(Value::from).map_err(|e| crate::FuncError::new(e.0))
    });
    let pretty = JsonStyle { escape_html: true, indent: Some("  ") };
    f.add("toPrettyJson", any, move |args| Ok(Value::from(json::encode(&arg(args), pretty).unwrap_or_default())));
    f.add("mustToPrettyJson", any, move |args| {
        json::encode(&arg(args), pretty).map(Value::from).map_err(|e| crate::FuncError::new(e.0))
    });
    let raw = JsonStyle { escape_html: false, indent: None };
    // Sprig's toRawJson panics on an error; the executor reports a panic as the call's error.
    f.add("toRawJson", any, move |args| {
        json::encode(&arg(args), raw).map(Value::from).map_err(|e| crate::FuncError::new(e.0))
    });
    f.add("mustToRawJson", any, move |args| {
        json::encode(&arg(args), raw).map(Value::from).map_err(|e| crate::FuncError::new(e.0))
    });
    f.add("fromJson", string, move |args| {
        Ok(json::unmarshal(&arg_str(args), Target::Map)
            .unwrap_or_else(|e| Value::map([("Error".to_owned(), Value::from(e.0))])))
    });
    f.add("fromJsonArray", string, move |args| {
        Ok(json::unmarshal(&arg_str(args), Target::List).unwrap_or_else(|e| Value::list([Value::from(e.0)])))
    });
    f.add("mustFromJson", string, move |args| {
        json::unmarshal(&arg_str(args), Target::Any).map_err(|e| crate::FuncError::new(e.0))
    });
    f
}

#[cfg(test)]
mod tests;
