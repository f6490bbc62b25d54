//! TOML as Helm's `toToml` writes it, which is BurntSushi/toml's encoder: keys sorted by
//! bytes, plain values before tables, nested tables indented by two spaces per level, a blank
//! line before each top-level table and each `[[array of tables]]` entry, floats in `%v` form
//! with `.0` added to integral ones (`1.0`, `1e+06`), nil values skipped and an array with a
//! nil element an error (whose message `toToml` returns instead of the document).

mod decode;
pub use decode::from_toml;

use crate::format::format_float_g;
use crate::value::{MAX_VALUE_BYTES, Object, Value, is_exported};

/// Helm's `toToml`: the document, or the encoder's error message. `Err` when Helm's call fails
/// (the encoder panics on a nil value: `reflect: call of reflect.Value.Type on zero Value`).
pub fn to_toml(v: &Value) -> Result<String, String> {
    if v.is_nil() {
        return Err("reflect: call of reflect.Value.Type on zero Value".to_owned());
    }
    Ok(must_to_toml(v).unwrap_or_else(|msg| msg))
}

/// Helm's `mustToToml`: the document, or `Err` with the encoder's error message.
pub fn must_to_toml(v: &Value) -> Result<String, String> {
    if v.is_nil() {
        return Err("reflect: call of reflect.Value.Type on zero Value".to_owned());
    }
    // A value that shares its parts may be exponentially larger written out.
    if v.print_size_exceeds(MAX_VALUE_BYTES, MAX_DEPTH) {
        return Err(format!("the document exceeds the limit of {MAX_VALUE_BYTES} bytes"));
    }
    let mut e = Encoder { out: String::new() };
    e.encode(&[], v, 0)?;
    Ok(e.out)
}

const NIL_ELEMENT: &str = "toml: cannot encode array with nil element";
/// How deep tables may nest (a map that holds itself). Each table's key path is its own copy,
/// so the encoder's memory grows with the square of the depth.
const MAX_DEPTH: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nil,
    Plain,
    Table,
    ArrayOfTables,
}

fn kind(v: &Value) -> Result<Kind, String> {
    kind_at(v, 0)
}

/// A list's kind depends on its items' kinds, all the way down: past [`MAX_DEPTH`] it is an
/// error, as encoding it would be.
fn kind_at(v: &Value, depth: usize) -> Result<Kind, String> {
    if depth > MAX_DEPTH {
        return Err("toml: value nests too deeply".to_owned());
    }
    stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || kind_inner(v, depth))
}

fn kind_inner(v: &Value, depth: usize) -> Result<Kind, String> {
    if let Value::Object(o) = v
        && object_entries(o.as_ref()).is_some()
    {
        return Ok(Kind::Table);
    }
    Ok(match v {
        Value::Nil => Kind::Nil,
        Value::Map(..) => Kind::Table,
        Value::List(items, _) if !items.is_empty() => {
            let mut all_tables = true;
            for item in items.iter() {
                match kind_at(item, depth + 1)? {
                    Kind::Nil => return Err(NIL_ELEMENT.to_owned()),
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables { Kind::ArrayOfTables } else { Kind::Plain }
        }
        _ => Kind::Plain,
    })
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_text(k: &str) -> String {
    if is_bare_key(k) { k.to_owned() } else { quoted(k) }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+inf" } else { "-inf" }.to_owned();
    }
    let s = format_float_g(f);
    if s.contains(['.', 'e']) { s } else { s + ".0" }
}

struct Encoder {
    out: String,
}

impl Encoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, key: &[String]) {
        for _ in 1..key.len() {
            self.out.push_str("  ");
        }
    }

    fn header(key: &[String]) -> String {
        key.iter().map(|k| key_text(k)).collect::<Vec<_>>().join(".")
    }

    fn encode(&mut self, key: &[String], v: &Value, depth: usize) -> Result<(), String> {
        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || self.encode_inner(key, v, depth))
    }

    fn encode_inner(&mut self, key: &[String], v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("toml: value nests too deeply".to_owned());
        }
        match kind(v)? {
            Kind::Nil => Ok(()),
            Kind::Plain => self.key_value(key, v, false, depth),
            Kind::ArrayOfTables => {
                let Value::List(items, _) = v else { return Ok(()) };
                if key.is_empty() {
                    return Err("toml: top-level values must be Go maps or structs".to_owned());
                }
                for item in items.iter() {
                    self.newline();
                    self.indent(key);
                    self.out.push_str(&format!("[[{}]]", Self::header(key)));
                    self.newline();
                    self.map(key, item, false, depth)?;
                }
                Ok(())
            }
            Kind::Table => {
                if key.len() == 1 {
                    self.newline();
                }
                if !key.is_empty() {
                    self.indent(key);
                    self.out.push_str(&format!("[{}]", Self::header(key)));
                    self.newline();
                }
                self.map(key, v, false, depth)
            }
        }
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool, depth: usize) -> Result<(), String> {
        match key.last() {
            Some(last) => {
                self.indent(key);
                self.out.push_str(&key_text(last));
                self.out.push_str(" = ");
                self.element(v, depth)?;
                if !inline {
                    self.newline();
                }
            }
            None => self.element(v, depth)?,
        }
        Ok(())
    }

    fn element(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || self.element_inner(v, depth))
    }

    fn element_inner(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("toml: value nests too deeply".to_owned());
        }
        match v {
            Value::Nil => return Err(NIL_ELEMENT.to_owned()),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => self.out.push_str(&float_text(*f)),
            Value::String(s) => self.out.push_str(&quoted(s)),
            Value::Object(o) => match object_entries(o.as_ref()) {
                Some(_) => self.map(&[], v, true, depth + 1)?,
                None => self.out.push_str(&quoted(&o.display())),
            },
            Value::Bytes(b) => {
                let items: Vec<String> = b.iter().map(u8::to_string).collect();
                self.out.push('[');
                self.out.push_str(&items.join(", "));
                self.out.push(']');
            }
            Value::List(items, _) => {
                // Checks for nil elements first, as the encoder does.
                kind(v)?;
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.element(item, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Map(..) => self.map(&[], v, true, depth + 1)?,
        }
        Ok(())
    }

    fn map(&mut self, key: &[String], v: &Value, inline: bool, depth: usize) -> Result<(), String> {
        // A map's entries come sorted, a struct's fields in their order.
        let entries: Vec<(String, Value)> = match v {
            Value::Map(m, _) => m
                .try_borrow()
                .map_err(|_| "toml: value nests too deeply".to_owned())?
                .iter()
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect(),
            Value::Object(o) => object_entries(o.as_ref()).unwrap_or_default(),
            _ => return Ok(()),
        };
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, x) in &entries {
            match kind(x)? {
                Kind::Table | Kind::ArrayOfTables => sub.push((k, x)),
                _ => direct.push((k, x)),
            }
        }
        if inline {
            self.out.push('{');
        }
        let groups = [(direct, !sub.is_empty()), (sub, false)];
        for (group, trailing_comma) in groups {
            let n = group.len();
            for (i, (k, x)) in group.into_iter().enumerate() {
                if x.is_nil() {
                    continue;
                }
                if inline {
                    self.key_value(std::slice::from_ref(k), x, true, depth + 1)?;
                    if trailing_comma || i != n - 1 {
                        self.out.push_str(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k.clone());
                    self.encode(&child, x, depth + 1)?;
                }
            }
        }
        if inline {
            self.out.push('}');
        }
        Ok(())
    }
}

/// What the encoder writes for an object as a table: a struct's exported fields in their
/// order, or a map type's entries (sorted).
fn object_entries(o: &dyn Object) -> Option<Vec<(String, Value)>> {
    match o.struct_fields() {
        Some(fields) => {
            Some(fields.into_iter().filter(|(k, _)| is_exported(k)).map(|(k, v)| (k.to_owned(), v)).collect())
        }
        None => o.entries(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_toml_ok(v: &Value) -> String {
        to_toml(v).unwrap()
    }
    use crate::yaml::parse_values;

    // Expected outputs from helm 4.2.3 `{{ toToml .Values }}` over the same values.yaml.
    #[test]
    fn to_toml_matches_helm() {
        let values = parse_values(
            "a: 1\nf: 1.5\nbig: 1e21\ns: \"he said \\\"hi\\\"\\n\\ttab é \\u0001\"\nb: true\n\"key with space\": x\nl: [1, \"two\", 3.5]\ne: []\nem: {}\nt:\n  x: 1\n  sub:\n    y: 2\n    deep:\n      z: 3\n  arr: [a]\ntl:\n- k: 1\n  m: {q: 1}\n- k: 2\nmixed: [1, {a: 1}]\nnested: [[1, 2], [\"a\"]]\n",
        )
        .unwrap();
        assert_eq!(
            to_toml_ok(&values),
            "a = 1.0\nb = true\nbig = 1e+21\ne = []\nf = 1.5\n\"key with space\" = \"x\"\nl = [1.0, \"two\", 3.5]\nmixed = [1.0, {a = 1.0}]\nnested = [[1.0, 2.0], [\"a\"]]\ns = \"he said \\\"hi\\\"\\n\\ttab é \\u0001\"\n\n[em]\n\n[t]\n  arr = [\"a\"]\n  x = 1.0\n  [t.sub]\n    true = 2.0\n    [t.sub.deep]\n      z = 3.0\n\n[[tl]]\n  k = 1.0\n  [tl.m]\n    q = 1.0\n\n[[tl]]\n  k = 2.0\n"
        );
    }

    #[test]
    fn floats_and_top_level_values_match_helm() {
        let values =
            parse_values("a: [1000000, 1e20, 1e-7, 0.5, 123456789, 1234567.5, 0.0001, 0.00001, -1.5e300, 2.5e-5]\n")
                .unwrap();
        assert_eq!(
            to_toml_ok(&values),
            "a = [1e+06, 1e+20, 1e-07, 0.5, 1.23456789e+08, 1.2345675e+06, 0.0001, 1e-05, -1.5e+300, 2.5e-05]\n"
        );
        assert_eq!(to_toml_ok(&Value::list([Value::Int(1), Value::Int(2)])), "[1, 2]");
        assert_eq!(to_toml_ok(&Value::from("x")), "\"x\"");
    }

    #[test]
    fn nil_array_elements_and_odd_keys_match_helm() {
        let m = |entries: Vec<(&str, Value)>| Value::map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)));
        assert_eq!(to_toml_ok(&m(vec![("k", Value::list([Value::Int(1), Value::Nil]))])), NIL_ELEMENT);
        assert_eq!(
            to_toml_ok(&m(vec![("k", Value::list([m(vec![("a", Value::Int(1))]), Value::Int(2)]))])),
            "k = [{a = 1}, 2]\n"
        );
        assert_eq!(
            to_toml_ok(&m(vec![
                ("a.b", Value::Int(1)),
                ("", Value::Int(2)),
                ("x-y_z", Value::Int(3)),
                ("é", Value::Int(4))
            ])),
            "\"\" = 2\n\"a.b\" = 1\nx-y_z = 3\n\"é\" = 4\n"
        );
        assert_eq!(
            to_toml_ok(&m(vec![("k", Value::list([Value::list([m(vec![("a", Value::Int(1))])])]))])),
            "k = [[{a = 1}]]\n"
        );
        assert_eq!(to_toml_ok(&m(vec![("k", Value::empty_map()), ("j", m(vec![("x", Value::Nil)]))])), "[j]\n\n[k]\n");
        assert_eq!(
            to_toml_ok(&m(vec![(
                "a",
                Value::list([m(vec![("b", Value::Int(1))]), m(vec![("c", m(vec![("d", Value::Int(1))]))])])
            )])),
            "[[a]]\n  b = 1\n\n[[a]]\n  [a.c]\n    d = 1\n"
        );
    }
}
