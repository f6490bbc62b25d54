//! YAML writing as go-yaml's encoder and emitter (a port of libyaml's) do it for `toYaml`
//! and `toYamlPretty`.
//!
//! `toYaml` is `sigs.k8s.io/yaml.Marshal`: the value goes through `encoding/json` first and the
//! JSON is read back by go-yaml v2 before it is written, so numbers take their JSON form
//! (a float64 that is integral prints as an integer, others in `strconv`'s `'g'` form), byte
//! slices become base64 strings, and the output wraps long strings at 80 columns with block
//! sequences not indented under their key. `toYamlPretty` is go-yaml v3's encoder with
//! `SetIndent(2)` on the value itself: floats print in `'g'` form (`1e+06`), nothing wraps,
//! and sequences are indented under their key.
//!
//! The scalar writers, the style choice and the indentation rules follow libyaml's emitter
//! (`yaml_emitter_analyze_scalar`, `yaml_emitter_select_scalar_style`, the `write_*_scalar`
//! functions and `yaml_emitter_write_indent`), which is what decides the bytes.

use std::cmp::Ordering;

use crate::format::format_float_g;
use crate::json;
use crate::value::{MAX_VALUE_BYTES, Value};

/// A node of the document to write: scalars carry their final text.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    /// An integer or float, already formatted.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Why a value could not be written (`toYaml` then returns an empty string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmitError {}

/// How deep values may nest (a map that contains itself).
const MAX_DEPTH: usize = 10_000;

/// `sigs.k8s.io/yaml.Marshal(v)`: the YAML text `toYaml` trims one trailing newline from.
pub fn marshal(v: &Value) -> Result<String, EmitError> {
    check_size(v)?;
    let node = json_node(v, 0)?;
    let mut e = Emitter::new(80, true);
    e.document(&node);
    Ok(e.out)
}

/// go-yaml v3's `Encoder` with `SetIndent(2)`: the text `toYamlPretty` trims.
pub fn marshal_pretty(v: &Value) -> Result<String, EmitError> {
    check_size(v)?;
    let node = go_node(v, 0)?;
    let mut e = Emitter::new(usize::MAX, false);
    e.document(&node);
    Ok(e.out)
}

/// A value that shares its parts may be exponentially larger written out than in memory:
/// past [`MAX_VALUE_BYTES`] it is an error, before anything is built.
fn check_size(v: &Value) -> Result<(), EmitError> {
    if v.print_size_exceeds(MAX_VALUE_BYTES, MAX_DEPTH) {
        return Err(EmitError(format!("the document exceeds the limit of {MAX_VALUE_BYTES} bytes")));
    }
    Ok(())
}

/// The entries in go-yaml's key order. The merge sort runs on indices, so entries (whole
/// subtrees) are moved once rather than copied at every level of the sort.
fn sorted(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    merge_sort(&mut order, &|a, b| key_less(&entries[*a].0, &entries[*b].0));
    let mut slots: Vec<Option<(String, Node)>> = entries.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// A stable merge sort that never panics, whatever the order says (go-yaml's key order is not
/// guaranteed to be total for odd keys, and `slice::sort_by` may panic on such an order).
fn merge_sort<T: Clone>(v: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    if v.len() <= 1 {
        return;
    }
    let mid = v.len() / 2;
    merge_sort(&mut v[..mid], less);
    merge_sort(&mut v[mid..], less);
    let left = v[..mid].to_vec();
    let right = v[mid..].to_vec();
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if less(&right[j], &left[i]) {
            v[k] = right[j].clone();
            j += 1;
        } else {
            v[k] = left[i].clone();
            i += 1;
        }
        k += 1;
    }
    for x in left[i..].iter().chain(&right[j..]) {
        v[k] = x.clone();
        k += 1;
    }
}

fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// go-yaml's `keyList.Less` for two string keys: letters sort by code point, and runs of
/// digits compare as numbers (`a2` before `a10`, `a1` before `a01`).
pub fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return units_less(a.as_bytes(), b.as_bytes());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    units_less(&ar, &br)
}

/// A character as [`key_less`] looks at it: ASCII keys are compared byte by byte, which
/// spares collecting their characters.
trait KeyUnit: Copy + Ord {
    fn is_letter(self) -> bool;
    fn is_digit(self) -> bool;
    fn is_zero(self) -> bool;
    fn code(self) -> i64;
}

impl KeyUnit for u8 {
    fn is_letter(self) -> bool {
        self.is_ascii_alphabetic()
    }
    fn is_digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn is_zero(self) -> bool {
        self == b'0'
    }
    fn code(self) -> i64 {
        i64::from(self)
    }
}

impl KeyUnit for char {
    fn is_letter(self) -> bool {
        self.is_alphabetic()
    }
    fn is_digit(self) -> bool {
        is_go_digit(self)
    }
    fn is_zero(self) -> bool {
        self == '0'
    }
    fn code(self) -> i64 {
        i64::from(self as u32)
    }
}

fn units_less<T: KeyUnit>(ar: &[T], br: &[T]) -> bool {
    let zero = i64::from('0' as u32);
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_letter();
        let bl = br[i].is_letter();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i].is_zero() || br[i].is_zero() {
            let mut j = i;
            while j > 0 && ar[j - 1].is_digit() {
                j -= 1;
                if !ar[j].is_zero() {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai].code() - zero);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi].code() - zero);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// The order go-yaml writes map keys in.
pub fn key_order(a: &str, b: &str) -> Ordering {
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// The number go-yaml v2 reads back from `encoding/json`'s text of a float64, formatted
/// as go-yaml writes it: an int if it parses as one, else a float in `'g'` form.
fn json_number_to_yaml(text: &str) -> String {
    if let Ok(i) = text.parse::<i64>() {
        return i.to_string();
    }
    if let Ok(u) = text.parse::<u64>() {
        return u.to_string();
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Ok(f) => format_float_g(f),
        Err(_) => text.to_owned(),
    }
}

/// Whether libyaml's reader accepts the character (a raw DEL or C1 control in the JSON text
/// makes go-yaml fail with `control characters are not allowed`).
fn yaml_readable(c: char) -> bool {
    matches!(c as u32, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// A JSON string as go-yaml v2 reads it back from a double-quoted scalar: raw U+0085 (NEL)
/// is a line break there, and line breaks fold (`a\u0085b` becomes `a b`).
fn reread_json_string(s: &str) -> Result<String, EmitError> {
    // `encoding/json` escapes the C0 controls, so go-yaml only sees the others raw.
    if s.chars().any(|c| c >= ' ' && !yaml_readable(c)) {
        return Err(EmitError("yaml: control characters are not allowed".to_owned()));
    }
    if !s.contains('\u{85}') {
        return Ok(s.to_owned());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        // Non-blank content.
        while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '\u{85}') {
            out.push(chars[i]);
            i += 1;
        }
        let mut whitespace = String::new();
        let mut leading_blanks = false;
        let mut trailing_breaks = 0;
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\u{85}') {
            if chars[i] == '\u{85}' {
                if leading_blanks {
                    trailing_breaks += 1;
                } else {
                    whitespace.clear();
                    leading_blanks = true;
                }
            } else if !leading_blanks {
                whitespace.push(chars[i]);
            }
            i += 1;
        }
        if leading_blanks {
            if trailing_breaks == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', trailing_breaks));
            }
        } else {
            out.push_str(&whitespace);
        }
    }
    Ok(out)
}

/// The document `sigs.k8s.io/yaml.Marshal` writes: the value as `encoding/json` sees it.
fn json_node(v: &Value, depth: usize) -> Result<Node, EmitError> {
    stacker::maybe_grow(json::RED_ZONE, json::STACK_GROWTH, || json_node_inner(v, depth))
}

fn json_node_inner(v: &Value, depth: usize) -> Result<Node, EmitError> {
    if depth > MAX_DEPTH {
        return Err(EmitError("json: unsupported value: encountered a cycle".to_owned()));
    }
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Number(i.to_string()),
        Value::Float(f) => {
            let text = json::format_float(*f).map_err(|e| EmitError(e.0))?;
            Node::Number(json_number_to_yaml(&text))
        }
        Value::String(s) => Node::Str(reread_json_string(s)?),
        Value::Bytes(b) => Node::Str(json::base64_std(b)),
        Value::List(items, _) => Node::Seq(items.iter().map(|x| json_node(x, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m, _) => {
            let m = m.try_borrow().map_err(|_| EmitError("json: unsupported value: encountered a cycle".to_owned()))?;
            let mut entries = Vec::with_capacity(m.len());
            for (k, x) in m.iter() {
                // A NEL in a key is a line break inside a JSON key, which go-yaml rejects.
                if k.contains('\u{85}') {
                    return Err(EmitError("yaml: line 1: did not find expected ',' or '}'".to_owned()));
                }
                entries.push((reread_json_string(k)?, json_node(x, depth + 1)?));
            }
            Node::Map(sorted(entries))
        }
        Value::Object(o) => match json::object_as_json_map(o.as_ref()) {
            Some(m) => json_node(&m, depth + 1)?,
            None => Node::Str(reread_json_string(&o.display())?),
        },
    })
}

/// The document go-yaml v3 writes for the Go value itself.
fn go_node(v: &Value, depth: usize) -> Result<Node, EmitError> {
    stacker::maybe_grow(json::RED_ZONE, json::STACK_GROWTH, || go_node_inner(v, depth))
}

fn go_node_inner(v: &Value, depth: usize) -> Result<Node, EmitError> {
    if depth > MAX_DEPTH {
        return Err(EmitError("encountered a cycle".to_owned()));
    }
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Number(i.to_string()),
        Value::Float(f) => Node::Number(match format_float_g(*f).as_str() {
            "+Inf" => ".inf".to_owned(),
            "-Inf" => "-.inf".to_owned(),
            "NaN" => ".nan".to_owned(),
            s => s.to_owned(),
        }),
        Value::String(s) => Node::Str(s.to_string()),
        Value::Bytes(b) => Node::Seq(b.iter().map(|x| Node::Number(x.to_string())).collect()),
        Value::List(items, _) => Node::Seq(items.iter().map(|x| go_node(x, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m, _) => {
            let m = m.try_borrow().map_err(|_| EmitError("encountered a cycle".to_owned()))?;
            let mut entries = Vec::with_capacity(m.len());
            for (k, x) in m.iter() {
                entries.push((k.clone(), go_node(x, depth + 1)?));
            }
            Node::Map(sorted(entries))
        }
        Value::Object(o) => match json::object_as_map(o.as_ref()) {
            Some(m) => go_node(&m, depth + 1)?,
            None => Node::Str(o.display()),
        },
    })
}

/// The scalar styles go-yaml and libyaml choose between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable`.
fn is_printable(c: char) -> bool {
    match c as u32 {
        0x0A | 0x20..=0x7E => true,
        0xA0..=0xD7FF => true,
        0xE000..=0xFFFD => c != '\u{FEFF}',
        // go-yaml checks lead bytes up to 0xEF only: characters beyond the BMP are escaped.
        _ => false,
    }
}

/// `v3` is go-yaml v3's variant, which lets tabs into literal blocks.
fn analyze(value: &str, v3: bool) -> Analysis {
    analyze_word(value).unwrap_or_else(|| analyze_full(value, v3))
}

/// What [`analyze_full`] finds for most scalars a chart writes (names, paths, versions,
/// image references, words separated by spaces), read without decoding characters: a value
/// of ASCII letters, digits, spaces and `_ . / + = ( ) ; ~ $ ^ -` that does not start with a
/// space, `-` or `...` and does not end with a space has no indicator, break, tab or special
/// character, so every style is allowed; a `:` inside it, not followed by a space, is a flow
/// indicator only (`image:tag` is plain in block context). `None` for anything else.
fn analyze_word(value: &str) -> Option<Analysis> {
    let b = value.as_bytes();
    let (&first, &last) = (b.first()?, b.last()?);
    let word = |c: u8| c.is_ascii_alphanumeric() || b"_./+=();~$^".contains(&c);
    if !word(first) || last == b' ' || value.starts_with("...") {
        return None;
    }
    let mut flow_indicator = false;
    for (i, &c) in b.iter().enumerate() {
        if word(c) || c == b'-' || c == b' ' {
            continue;
        }
        if c == b':' && b.get(i + 1).is_some_and(|&n| n != b' ') {
            flow_indicator = true;
            continue;
        }
        return None;
    }
    Some(Analysis {
        multiline: false,
        flow_plain_allowed: !flow_indicator,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    })
}

/// libyaml's `yaml_emitter_analyze_scalar`, character by character.
fn analyze_full(value: &str, v3: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut chars = value.chars().peekable();
    let mut preceded_by_whitespace = true;
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if v3 && c == '\t' {
            tab_characters = true;
        } else if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            if first {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if first {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c);
        first = false;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tab_characters || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Whether a plain scalar with this text would read back as something other than a string
/// (go-yaml's `resolve` plus its base-60 float check), so that it must be quoted.
fn needs_quotes(s: &str) -> bool {
    match super::resolve_plain(s) {
        super::Resolved::Str => is_base60_float(s),
        // `<<` resolves to the merge tag only as a key; both go-yamls write it plain.
        super::Resolved::Merge => false,
        _ => true,
    }
}

/// go-yaml's `isBase60Float`: `1:20`, `-1:30:00.5`, quoted on output for YAML 1.1 readers.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let c = b[0];
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let mut i = usize::from(c == b'+' || c == b'-');
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [d0, d1] => (b'0'..=b'5').contains(d0) && d1.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A port of the parts of libyaml's emitter that block-style documents use.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: isize,
    best_width: usize,
    /// go-yaml v2 writes a block sequence that is a mapping value at the key's indentation.
    indentless_sequences: bool,
}

impl Emitter {
    fn new(best_width: usize, indentless_sequences: bool) -> Emitter {
        Emitter {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
            indent: -1,
            best_width,
            indentless_sequences,
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) -> isize {
        let saved = self.indent;
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
        saved
    }

    fn document(&mut self, node: &Node) {
        self.node(node, false, false);
        self.indent = -1;
        self.write_indent();
    }

    /// Whether libyaml would write this key as a simple key (`key: value`).
    fn is_simple_key(&self, node: &Node) -> bool {
        match node {
            Node::Str(s) => !analyze(s, !self.indentless_sequences).multiline && s.len() <= 128,
            Node::Seq(items) => items.is_empty(),
            Node::Map(entries) => entries.is_empty(),
            _ => true,
        }
    }

    fn node(&mut self, node: &Node, mapping_context: bool, simple_key: bool) {
        stacker::maybe_grow(json::RED_ZONE, json::STACK_GROWTH, || self.node_inner(node, mapping_context, simple_key));
    }

    fn node_inner(&mut self, node: &Node, mapping_context: bool, simple_key: bool) {
        match node {
            Node::Null => self.scalar("null", Style::Plain, simple_key),
            Node::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, simple_key),
            Node::Number(n) => self.scalar(n, Style::Plain, simple_key),
            Node::Str(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if needs_quotes(s) {
                    Style::Double
                } else {
                    Style::Plain
                };
                self.scalar(s, style, simple_key);
            }
            Node::Seq(items) if items.is_empty() => self.write_indicator("[]", true, false, false),
            Node::Map(entries) if entries.is_empty() => self.write_indicator("{}", true, false, false),
            Node::Seq(items) => {
                let indentless = self.indentless_sequences && mapping_context && !self.indention;
                let saved = self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, false, false);
                }
                self.indent = saved;
            }
            Node::Map(entries) => {
                let saved = self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let key = Node::Str(k.clone());
                    if self.is_simple_key(&key) {
                        self.node(&key, true, true);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(&key, true, false);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(v, true, false);
                }
                self.indent = saved;
            }
        }
    }

    fn scalar(&mut self, value: &str, requested: Style, simple_key: bool) {
        let a = analyze(value, !self.indentless_sequences);
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            // Everything here is written in block context.
            if !a.block_plain_allowed || (value.is_empty() && simple_key) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        let saved = self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.indent = saved;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        if !value.contains(' ') {
            // Nothing to break at: the text as it is.
            self.out.push_str(value);
            self.column += value.chars().count();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut chars = value.chars().peekable();
        let mut spaces = false;
        while let Some(c) = chars.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && chars.peek() != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break_char(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i != chars.len() - 1
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break_char(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        // go-yaml's `is_bom` looks at the start of the string, not at the current position:
        // a string that starts with U+FEFF has every character escaped.
        let bom = value.starts_with('\u{FEFF}');
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let v = c as u32;
                        let text = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        for t in text.chars() {
                            self.put(t);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i != 0 && i != chars.len() - 1 {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., prev, _] if is_break(*prev) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break_char(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod key_order_tests {
    use super::{key_less, units_less};

    #[test]
    fn ascii_keys_compare_bytewise_as_their_characters_compare() {
        let keys = [
            "a", "a1", "a01", "a10", "a2", "b", "B", "_x", "x_", "0", "00", "1.5", "10", "a-b", "ab", "", "z9z", "z10a",
        ];
        for a in keys {
            for b in keys {
                let ac: Vec<char> = a.chars().collect();
                let bc: Vec<char> = b.chars().collect();
                assert_eq!(key_less(a, b), units_less(&ac, &bc), "{a} {b}");
            }
        }
        assert!(key_less("a2", "a10"));
        assert!(key_less("a1", "a01"));
        assert!(key_less("B", "a"));
    }
}

#[cfg(test)]
mod analysis_tests {
    use proptest::prelude::*;

    use super::{analyze_full, analyze_word};

    proptest! {
        #[test]
        fn the_word_reading_agrees_with_the_full_one(value in "[a-zA-Z0-9_./+=();~$^ :#,?\\[\\]{}&*!|>'\"%@`\t\n-]{0,12}") {
            if let Some(fast) = analyze_word(&value) {
                prop_assert_eq!(fast, analyze_full(&value, false), "{:?}", value);
                prop_assert_eq!(fast, analyze_full(&value, true), "{:?}", value);
            }
        }

        #[test]
        fn the_word_reading_agrees_on_colons_dots_dashes_and_spaces(value in "[a:. #-]{1,8}") {
            if let Some(fast) = analyze_word(&value) {
                prop_assert_eq!(fast, analyze_full(&value, false), "{:?}", value);
            }
        }
    }

    #[test]
    fn common_values_take_the_word_reading() {
        for v in ["nginx", "docker.io/bitnami/redis:7.2", "1.2.3", "a b c", "/data", "x-y_z", "ClusterIP", "a:b"] {
            assert!(analyze_word(v).is_some(), "{v}");
        }
        for v in ["", " a", "a ", "-a", "...", "a: b", "a:", ":a", "a#b", "a\nb", "é"] {
            assert!(analyze_word(v).is_none(), "{v:?}");
        }
    }
}
