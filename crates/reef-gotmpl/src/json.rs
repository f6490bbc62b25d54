//! JSON as Go's `encoding/json` writes and reads it, which is what `toJson`, `toPrettyJson`,
//! `toRawJson`, `fromJson` and `fromJsonArray` do in Helm and Sprig.
//!
//! Writing: map keys sorted by bytes, `<`, `>` and `&` escaped as `\u003c` (unless raw),
//! U+2028 and U+2029 always escaped, control characters as `\u00XX` (lowercase hex) except
//! `\b \f \n \r \t`, `[]byte` as base64, float64 in `strconv`'s shortest form with the
//! exponent form below 1e-6 and from 1e21 on (`1e-7`, `1e+21`). NaN and infinities are an
//! error (`json: unsupported value: NaN`), as in Go.
//!
//! Reading: every number becomes a float64; errors carry Go's messages
//! (`invalid character 'x' looking for beginning of value`, `unexpected end of JSON input`).

use std::collections::BTreeMap;
use std::fmt;

use crate::value::{ListType, MAX_VALUE_BYTES, Value};

/// Why a value cannot be written as JSON, with Go's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// How to write JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonStyle {
    /// Escape `<`, `>`, `&` (Go's default; `toRawJson` turns it off).
    pub escape_html: bool,
    /// `MarshalIndent(v, "", indent)`: each element on its own line, indented by this.
    pub indent: Option<&'static str>,
}

/// How deep values may nest before writing fails (a map that contains itself), and how deep
/// `encoding/json` lets input nest (`exceeded max depth`).
const MAX_DEPTH: usize = 10_000;

/// Stack kept free before a recursive step, and what is added when less is left: deep values
/// recurse on a heap-allocated stack instead of overflowing the thread's.
pub(crate) const RED_ZONE: usize = 64 * 1024;
pub(crate) const STACK_GROWTH: usize = 1024 * 1024;

/// `json.Marshal(v)`: compact, HTML-escaped.
pub fn marshal(v: &Value) -> Result<String, JsonError> {
    encode(v, JsonStyle { escape_html: true, indent: None })
}

/// Writes `v` as JSON in the given style.
pub fn encode(v: &Value, style: JsonStyle) -> Result<String, JsonError> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if let Some(indent) = style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_value(out: &mut String, v: &Value, style: JsonStyle, depth: usize) -> Result<(), JsonError> {
    stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || write_value_inner(out, v, style, depth))
}

fn write_value_inner(out: &mut String, v: &Value, style: JsonStyle, depth: usize) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError("json: unsupported value: encountered a cycle".to_owned()));
    }
    // A value that shares its parts may be exponentially larger written out.
    if out.len() > MAX_VALUE_BYTES {
        return Err(JsonError(format!("json: the document exceeds the limit of {MAX_VALUE_BYTES} bytes")));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)?),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&base64_std(b));
            out.push('"');
        }
        Value::List(items, _) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Map(m, _) => {
            let m = m.try_borrow().map_err(|_| JsonError("json: unsupported value: encountered a cycle".to_owned()))?;
            write_object(out, m.iter().map(|(k, item)| (k.as_str(), item)), style, depth)?;
        }
        Value::Object(o) => match (o.json_fields(), object_as_map(o.as_ref())) {
            (Some(fields), _) => write_object(out, fields.iter().map(|(k, item)| (*k, item)), style, depth)?,
            (None, Some(m)) => write_value(out, &m, style, depth)?,
            // Go marshals a struct by its exported fields, which objects do not list; they
            // are written as the string they print as.
            (None, None) => write_string(out, &o.display(), style.escape_html),
        },
    }
    Ok(())
}

/// A JSON object of `entries`, in their order.
fn write_object<'a>(
    out: &mut String,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a Value)>,
    style: JsonStyle,
    depth: usize,
) -> Result<(), JsonError> {
    if entries.len() == 0 {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (k, item)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, style, depth + 1);
        write_string(out, k, style.escape_html);
        out.push(':');
        if style.indent.is_some() {
            out.push(' ');
        }
        write_value(out, item, style, depth + 1)?;
    }
    newline(out, style, depth);
    out.push('}');
    Ok(())
}

/// A Go map type with methods (Helm's `.Files`) as the map it is, for the encoders.
pub fn object_as_map(o: &dyn crate::value::Object) -> Option<Value> {
    o.entries().map(Value::map)
}

/// An object as `encoding/json` sees it, as a map (whose keys are then sorted, as
/// `sigs.k8s.io/yaml` sorts them): a struct's JSON fields, or a map type's entries.
pub fn object_as_json_map(o: &dyn crate::value::Object) -> Option<Value> {
    match o.json_fields() {
        Some(fields) => Some(Value::map(fields.into_iter().map(|(k, v)| (k.to_owned(), v)))),
        None => object_as_map(o),
    }
}

/// A float64 as `encoding/json` writes it: `strconv`'s shortest digits, in `%f` form from
/// 1e-6 up to 1e21 and in exponent form (`1e+21`, `1e-7`) outside.
pub fn format_float(f: f64) -> Result<String, JsonError> {
    if f.is_nan() {
        return Err(JsonError("json: unsupported value: NaN".to_owned()));
    }
    if f.is_infinite() {
        let sign = if f > 0.0 { "+" } else { "-" };
        return Err(JsonError(format!("json: unsupported value: {sign}Inf")));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` gives the shortest digits and `e-7`; Go writes `e-7` and `e+21`.
        let s = format!("{f:e}");
        return Ok(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    // `{}` prints the shortest round-tripping digits in plain decimal, as `'f', -1` does.
    let s = format!("{f}");
    Ok(if s == "-0" { "-0".to_owned() } else { s })
}

/// Appends `s` as a JSON string literal the way Go escapes it.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding, as `encoding/json` writes a `[]byte`.
pub fn base64_std(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What `json.Unmarshal` into a typed Go value expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `interface{}`: anything.
    Any,
    /// `map[string]interface{}`: an object (or `null`, which leaves the map empty).
    Map,
    /// `[]interface{}`: an array (or `null`).
    List,
}

/// `json.Unmarshal(text, &target)`: the decoded value, numbers as float64, or Go's error
/// message. `null` decodes to nil for [`Target::Any`] and to an empty map or list otherwise.
pub fn unmarshal(text: &str, target: Target) -> Result<Value, JsonError> {
    let mut p = Reader { s: text.as_bytes(), i: 0 };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(p.invalid("after top-level value"));
    }
    let kind = match &v {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    };
    match (target, &v) {
        (Target::Any, _) | (Target::Map, Value::Map(..)) | (Target::List, Value::List(..)) => Ok(v),
        (Target::Map, Value::Nil) => Ok(Value::empty_map()),
        (Target::List, Value::Nil) => Ok(Value::list([])),
        (Target::Map, _) => {
            Err(JsonError(format!("json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")))
        }
        (Target::List, _) => {
            Err(JsonError(format!("json: cannot unmarshal {kind} into Go value of type []interface {{}}")))
        }
    }
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

/// Go's `quoteChar`: how the scanner names an unexpected byte.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        c if c.is_ascii() && !c.is_ascii_control() => format!("'{}'", char::from(c)),
        0x7f => "'\\x7f'".to_owned(),
        c if c.is_ascii() => {
            let q = format!("{:?}", char::from(c));
            match c {
                b'\n' => "'\\n'".to_owned(),
                b'\r' => "'\\r'".to_owned(),
                b'\t' => "'\\t'".to_owned(),
                0x07 => "'\\a'".to_owned(),
                0x08 => "'\\b'".to_owned(),
                0x0c => "'\\f'".to_owned(),
                0x0b => "'\\v'".to_owned(),
                _ => {
                    let _ = q;
                    format!("'\\x{c:02x}'")
                }
            }
        }
        // A byte of a multi-byte character: Go quotes the byte as a rune, U+0080..U+00FF.
        c => format!("'{}'", char::from(c)),
    }
}

impl Reader<'_> {
    fn eof(&self) -> JsonError {
        JsonError("unexpected end of JSON input".to_owned())
    }

    fn invalid(&self, context: &str) -> JsonError {
        match self.s.get(self.i) {
            None => self.eof(),
            Some(&c) => JsonError(format!("invalid character {} {context}", quote_char(c))),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || self.value_inner(depth))
    }

    fn value_inner(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth >= MAX_DEPTH && matches!(self.peek(), Some(b'[' | b'{')) {
            return Err(self.invalid("exceeded max depth"));
        }
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::from(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        for (k, &expected) in word.as_bytes().iter().enumerate() {
            match self.peek() {
                None => return Err(self.eof()),
                Some(c) if c == expected => self.i += 1,
                Some(_) => {
                    let _ = k;
                    return Err(self.invalid(&format!("in literal {word} (expecting '{}')", char::from(expected))));
                }
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.invalid("in numeric literal")),
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.invalid("after decimal point in numeric literal")),
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.invalid("in exponent of numeric literal")),
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(JsonError(format!("json: cannot unmarshal number {text} into Go value of type float64"))),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut n = 0;
        for _ in 0..4 {
            let c = self.peek().ok_or_else(|| self.eof())?;
            let d = char::from(c).to_digit(16).ok_or_else(|| self.invalid("in \\u hexadecimal character escape"))?;
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.eof())?;
            match c {
                b'"' => {
                    self.i += 1;
                    // Invalid UTF-8 in input cannot reach here from a `&str`.
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    let e = self.peek().ok_or_else(|| self.eof())?;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(self.invalid("in string escape code")),
                    };
                    self.i += 1;
                    if let Some(b) = simple {
                        out.push(b);
                        continue;
                    }
                    let mut r = self.hex4()?;
                    if (0xD800..0xDC00).contains(&r) {
                        // A surrogate pair, when the next escape completes it.
                        let save = self.i;
                        if self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                            self.i += 2;
                            match self.hex4() {
                                Ok(lo) if (0xDC00..0xE000).contains(&lo) => {
                                    r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                                }
                                _ => {
                                    self.i = save;
                                    r = 0xFFFD;
                                }
                            }
                        } else {
                            r = 0xFFFD;
                        }
                    }
                    let ch = char::from_u32(r).unwrap_or('\u{FFFD}');
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.invalid("in string literal")),
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::List(items.into(), ListType::Interface));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::List(items.into(), ListType::Interface));
                }
                Some(_) => return Err(self.invalid("after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.i += 1;
        let mut map = BTreeMap::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b'"') => {}
                Some(_) => return Err(self.invalid("looking for beginning of object key string")),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b':') => self.i += 1,
                Some(_) => return Err(self.invalid("after object key")),
            }
            self.skip_ws();
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                None => return Err(self.eof()),
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                Some(_) => return Err(self.invalid("after object key:value pair")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values_fixture() -> Value {
        Value::map([
            ("e".to_owned(), Value::empty_map()),
            ("f".to_owned(), Value::list([1.5, 1e21, 1e-7, 0.000001, 100.0, 1e20].map(Value::Float))),
            ("h".to_owned(), Value::from("<a&b>")),
            ("l".to_owned(), Value::list([])),
            ("u".to_owned(), Value::from("x\u{2028}y\u{1}\t\u{8}\u{c}\r\n\"\u{7f}")),
        ])
    }

    // Expected strings from helm 4.2.3: `{{ toJson .Values }}`, `{{ toRawJson .Values }}`,
    // `{{ toPrettyJson .Values }}` over the same values.
    #[test]
    fn to_json_matches_helm() {
        assert_eq!(
            marshal(&values_fixture()).unwrap(),
            "{\"e\":{},\"f\":[1.5,1e+21,1e-7,0.000001,100,100000000000000000000],\"h\":\"\\u003ca\\u0026b\\u003e\",\"l\":[],\"u\":\"x\\u2028y\\u0001\\t\\b\\f\\r\\n\\\"\u{7f}\"}"
        );
    }

    #[test]
    fn to_raw_json_does_not_escape_html() {
        let s = encode(&values_fixture(), JsonStyle { escape_html: false, indent: None }).unwrap();
        assert!(s.contains("\"h\":\"<a&b>\""), "{s}");
    }

    #[test]
    fn to_pretty_json_matches_helm() {
        let s = encode(&values_fixture(), JsonStyle { escape_html: true, indent: Some("  ") }).unwrap();
        assert_eq!(
            s,
            "{\n  \"e\": {},\n  \"f\": [\n    1.5,\n    1e+21,\n    1e-7,\n    0.000001,\n    100,\n    100000000000000000000\n  ],\n  \"h\": \"\\u003ca\\u0026b\\u003e\",\n  \"l\": [],\n  \"u\": \"x\\u2028y\\u0001\\t\\b\\f\\r\\n\\\"\u{7f}\"\n}"
        );
    }

    #[test]
    fn nan_is_an_error() {
        assert_eq!(marshal(&Value::Float(f64::NAN)).unwrap_err().0, "json: unsupported value: NaN");
        assert_eq!(marshal(&Value::Float(f64::INFINITY)).unwrap_err().0, "json: unsupported value: +Inf");
    }

    #[test]
    fn bytes_are_base64() {
        assert_eq!(marshal(&Value::Bytes(b"hello".as_slice().into())).unwrap(), "\"aGVsbG8=\"");
        assert_eq!(base64_std(b""), "");
        assert_eq!(base64_std(b"ab"), "YWI=");
    }

    // Error texts from helm 4.2.3's `fromJson`.
    #[test]
    fn decode_errors_are_gos() {
        for (input, want) in [
            ("{\"a\":1,", "unexpected end of JSON input"),
            ("[1]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("{}x", "invalid character 'x' after top-level value"),
            ("\"ab", "unexpected end of JSON input"),
            ("{\"a\":tru}", "invalid character '}' in literal true (expecting 'e')"),
            ("{\"a\":1.}", "invalid character '}' after decimal point in numeric literal"),
            ("{\"a\":\"\\x\"}", "invalid character 'x' in string escape code"),
            ("", "unexpected end of JSON input"),
            ("{\"a\":01}", "invalid character '1' after object key:value pair"),
        ] {
            assert_eq!(unmarshal(input, Target::Map).unwrap_err().0, want, "{input}");
        }
        assert_eq!(
            unmarshal("{}", Target::List).unwrap_err().0,
            "json: cannot unmarshal object into Go value of type []interface {}"
        );
    }

    #[test]
    fn decode_gives_float64_numbers() {
        let v = unmarshal("{\"a\":1, \"b\":[1,2.5,\"x\"]}", Target::Map).unwrap();
        assert_eq!(crate::format::sprint(&v), "map[a:1 b:[1 2.5 x]]");
        let v = unmarshal("[1,\"\\u00e9\"]", Target::List).unwrap();
        assert_eq!(crate::format::sprint(&v), "[1 é]");
        assert!(!unmarshal("null", Target::Map).unwrap().truthy());
    }
}
