//! Reading YAML as `sigs.k8s.io/yaml.Unmarshal` does: go-yaml v2 decodes the first document
//! into Go values, which are converted to JSON and decoded by `encoding/json`.
//!
//! The event parser is `granit-parser` (a YAML 1.2 parser); the resolution of plain scalars,
//! anchors, merge keys, tags, the key conversion and the error texts are go-yaml v2's and
//! `sigs.k8s.io/yaml`'s, checked against helm.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use granit_parser::{ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, StructureStyle};

use super::{Resolved, YamlError, resolve_plain};
use crate::value::{ListType, Value};

/// A node of a parsed document, before go-yaml's decoding.
#[derive(Debug)]
enum Node {
    Scalar { value: String, plain: bool, tag: Option<String> },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

/// A document's root, or `None` for an empty document.
type Document = Option<Rc<Node>>;

/// How many nodes decoding may produce (aliases can make a small document huge).
pub(super) const MAX_DECODED_NODES: usize = 5_000_000;
/// How deep collections may nest.
const MAX_NESTING: usize = 5_000;

fn yaml_error(message: impl std::fmt::Display) -> YamlError {
    YamlError(format!("error converting YAML to JSON: yaml: {message}"))
}

/// Where go-yaml reports a position: `line N: ` or nothing for the first line.
fn with_line(line0: usize, scanner: bool, message: &str) -> YamlError {
    let line = if scanner && line0 != 0 { line0 + 1 } else { line0 };
    if line == 0 { yaml_error(message) } else { yaml_error(format!("line {line}: {message}")) }
}

/// The first line after `line0` (0-based) with something other than blanks and comments.
fn next_content_line(text: &str, line0: usize) -> Option<usize> {
    text.split('\n').enumerate().skip(line0 + 1).find_map(|(i, line)| {
        let t = line.trim();
        (!t.is_empty() && !t.starts_with('#')).then_some(i)
    })
}

/// The 0-based line of the stream end as libyaml puts it: a last line without a line break
/// counts as one more line.
fn stream_end_line(text: &str) -> usize {
    let breaks = text.matches('\n').count();
    if text.is_empty() || text.ends_with('\n') { breaks } else { breaks + 1 }
}

/// libyaml's message for a parse failure that granit reports.
fn translate(err: &ScanError, text: &str, open_flow: Option<char>) -> YamlError {
    let line0 = err.marker().line().saturating_sub(1);
    let end = stream_end_line(text);
    match err.kind() {
        // A key on a later line inside `[...]` or `{...}`: libyaml wants the separator.
        ErrorKind::MappingValueNotAllowed | ErrorKind::InvalidColonPlacement if open_flow.is_some() => {
            let close = if open_flow == Some('[') { ']' } else { '}' };
            with_line(line0, false, &format!("did not find expected ',' or '{close}'"))
        }
        ErrorKind::MappingValueNotAllowed | ErrorKind::InvalidColonPlacement => {
            with_line(line0, true, "mapping values are not allowed in this context")
        }
        ErrorKind::BlockSequenceEntryNotAllowed => {
            with_line(line0, true, "block sequence entries are not allowed in this context")
        }
        ErrorKind::MappingKeyNotAllowed => with_line(line0, true, "mapping keys are not allowed in this context"),
        ErrorKind::TabInIndentation
        | ErrorKind::TabNotAllowed
        | ErrorKind::TabInBlockIndentation
        | ErrorKind::UnexpectedCharacter { .. } => {
            with_line(line0, true, "found character that cannot start any token")
        }
        ErrorKind::UnclosedQuotedScalar | ErrorKind::UnexpectedEof => with_line(
            end.saturating_sub(usize::from(!text.ends_with('\n') && end > 0)),
            true,
            "found unexpected end of stream",
        ),
        ErrorKind::UnknownQuotedScalarEscape => with_line(line0, true, "found unknown escape character"),
        ErrorKind::InvalidQuotedScalarHexEscape => with_line(line0, true, "did not find expected hexdecimal number"),
        // libyaml notices a stale key when it scans the next token, on a later line.
        ErrorKind::SimpleKeyExpected | ErrorKind::InvalidSimpleKey => {
            with_line(next_content_line(text, line0).unwrap_or(end), true, "could not find expected ':'")
        }
        ErrorKind::ExpectedFlowSequenceSeparator => with_line(end, false, "did not find expected ',' or ']'"),
        ErrorKind::ExpectedFlowMappingSeparator => with_line(end, false, "did not find expected ',' or '}'"),
        // At the stream end libyaml wants another entry after an opening bracket, a `,` or a
        // `:`, and a separator after anything else.
        ErrorKind::UnclosedFlowCollection { open } => {
            if matches!(last_significant_char(text), Some('[' | '{' | ',' | ':')) {
                return with_line(end, false, "did not find expected node content");
            }
            let close = if *open == '[' { ']' } else { '}' };
            with_line(end, false, &format!("did not find expected ',' or '{close}'"))
        }
        ErrorKind::ExpectedBlockMappingKey => with_line(line0, false, "did not find expected key"),
        ErrorKind::ExpectedBlockSequenceEntry => with_line(line0, false, "did not find expected '-' indicator"),
        ErrorKind::ExpectedNodeContent => with_line(line0, false, "did not find expected node content"),
        ErrorKind::InvalidIndentation => with_line(line0, false, "did not find expected key"),
        ErrorKind::MisplacedFlowCollectionEnd => with_line(line0, false, "did not find expected key"),
        ErrorKind::ExpectedDocumentStart => with_line(line0, false, "did not find expected <document start>"),
        ErrorKind::MissingAnchorOrAliasName => {
            with_line(line0, true, "did not find expected alphabetic or numeric character")
        }
        ErrorKind::TabInPlainScalar => {
            // libyaml stops at the tab itself.
            let at = err.marker().index().min(text.len());
            let tab = text.get(at..).and_then(|rest| rest.find('\t')).map_or(at, |i| at + i);
            let line = text.get(..tab).map_or(line0, |before| before.matches('\n').count());
            with_line(line, true, "found a tab character that violates indentation")
        }
        other => with_line(line0, true, &other.to_string()),
    }
}

/// The last character of `text` that is neither blank nor in a comment.
fn last_significant_char(text: &str) -> Option<char> {
    text.lines().rev().find_map(|line| {
        let code = line.char_indices().find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])));
        let code = code.map_or(line, |(i, _)| &line[..i]);
        code.trim_end().chars().last()
    })
}

/// The innermost flow bracket still open at byte `end` of `text`, by a rough scan that skips
/// quoted scalars and comments (the parser may fail before it reports the collection).
fn open_bracket(text: &str, end: usize) -> Option<char> {
    let mut open = Vec::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        if i >= end {
            break;
        }
        match (quote, c) {
            _ if comment => comment = c != '\n',
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') if matches!(prev, ' ' | '[' | '{' | ',' | ':' | '\n') => quote = Some(c),
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '[' | '{') => open.push(c),
            (None, ']' | '}') => {
                open.pop();
            }
            _ => {}
        }
        prev = c;
    }
    open.last().copied()
}

/// Where a double-quoted scalar's source uses `\/`, which YAML 1.2 allows and go-yaml v2
/// (YAML 1.1) does not.
fn yaml_1_2_escape(raw: &str) -> Option<usize> {
    escape_from(raw, 0, b'/')
}

/// The first escape `\` + `escaped` in `text` from byte `from` on, reading each backslash
/// with the character it escapes (so `\\/` is no `\/`).
fn escape_from(text: &str, from: usize, escaped: u8) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            if b[i + 1] == escaped {
                return Some(i);
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

fn anchor_name_ok(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn anchor_name_error(text: &str, at: usize) -> YamlError {
    let line = text.get(..at).map_or(0, |before| before.matches('\n').count());
    with_line(line, true, "did not find expected alphabetic or numeric character")
}

/// A flow scalar's source read as YAML 1.1 (libyaml) reads it, where U+0085, U+2028 and
/// U+2029 are line breaks: breaks fold (NEL like `\n` into a space, the others kept) and the
/// blanks around them go. Only for scalars whose source holds such a character.
fn fold_yaml_1_1(raw: &str, style: ScalarStyle) -> String {
    let inner = match style {
        ScalarStyle::SingleQuoted => raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')).unwrap_or(raw),
        ScalarStyle::DoubleQuoted => raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw),
        _ => raw,
    };
    let chars: Vec<char> = inner.chars().collect();
    let is_blank = |c: char| c == ' ' || c == '\t';
    let is_break = |c: char| matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    // A line break as libyaml's `read_line` returns it (`\r\n`, `\r` and NEL become `\n`).
    let read_line = |chars: &[char], i: &mut usize| -> char {
        let c = chars[*i];
        *i += if c == '\r' && chars.get(*i + 1) == Some(&'\n') { 2 } else { 1 };
        if matches!(c, '\u{2028}' | '\u{2029}') { c } else { '\n' }
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let mut leading_blanks = false;
        while i < chars.len() && !is_blank(chars[i]) && !is_break(chars[i]) {
            let c = chars[i];
            match style {
                ScalarStyle::SingleQuoted if c == '\'' && chars.get(i + 1) == Some(&'\'') => {
                    out.push('\'');
                    i += 2;
                }
                ScalarStyle::DoubleQuoted if c == '\\' && i + 1 < chars.len() => {
                    let e = chars[i + 1];
                    i += 2;
                    if is_break(e) {
                        i -= 1;
                        read_line(&chars, &mut i);
                        leading_blanks = true;
                        break;
                    }
                    let hex = |len: usize, i: &mut usize| -> Option<char> {
                        let digits: String = chars.get(*i..*i + len)?.iter().collect();
                        *i += len;
                        char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
                    };
                    let decoded = match e {
                        '0' => Some('\0'),
                        'a' => Some('\u{7}'),
                        'b' => Some('\u{8}'),
                        't' | '\t' => Some('\t'),
                        'n' => Some('\n'),
                        'v' => Some('\u{b}'),
                        'f' => Some('\u{c}'),
                        'r' => Some('\r'),
                        'e' => Some('\u{1b}'),
                        ' ' => Some(' '),
                        '"' => Some('"'),
                        '\'' => Some('\''),
                        '\\' => Some('\\'),
                        'N' => Some('\u{85}'),
                        '_' => Some('\u{a0}'),
                        'L' => Some('\u{2028}'),
                        'P' => Some('\u{2029}'),
                        'x' => hex(2, &mut i),
                        'u' => hex(4, &mut i),
                        'U' => hex(8, &mut i),
                        _ => None,
                    };
                    out.extend(decoded);
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        let mut whitespace = String::new();
        let mut leading_break = None;
        let mut trailing_breaks = String::new();
        while i < chars.len() && (is_blank(chars[i]) || is_break(chars[i])) {
            if is_blank(chars[i]) {
                if !leading_blanks {
                    whitespace.push(chars[i]);
                }
                i += 1;
            } else if !leading_blanks {
                whitespace.clear();
                leading_break = Some(read_line(&chars, &mut i));
                leading_blanks = true;
            } else {
                trailing_breaks.push(read_line(&chars, &mut i));
            }
        }
        if i >= chars.len() && style == ScalarStyle::Plain {
            // Blanks and breaks after a plain scalar are not part of it.
            break;
        }
        if leading_blanks {
            match leading_break {
                Some('\n') if trailing_breaks.is_empty() => out.push(' '),
                Some('\n') => out.push_str(&trailing_breaks),
                Some(b) => {
                    out.push(b);
                    out.push_str(&trailing_breaks);
                }
                None => out.push_str(&trailing_breaks),
            }
        } else {
            out.push_str(&whitespace);
        }
    }
    out
}

/// The byte offset of the first `\'` escape from the start of the line holding `index` (where
/// the parser reported an unknown escape), if there is one.
fn single_quote_escape_near(text: &str, index: usize) -> Option<usize> {
    let index = index.min(text.len());
    let line_start = text.get(..index).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
    escape_from(text, line_start, b'\'')
}

/// Reads every document of `text`: each document's root, `None` when it is empty.
fn documents(text: &str, first_only: bool) -> Result<Vec<Document>, YamlError> {
    documents_retrying(text, first_only, 64)
}

/// [`documents`], re-reading at most `retries` times after spelling a `\'` escape differently.
fn documents_retrying(text: &str, first_only: bool, retries: usize) -> Result<Vec<Document>, YamlError> {
    // libyaml rejects control characters before it parses anything.
    let plain_ascii = |b: u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7E);
    if !text.bytes().all(plain_ascii)
        && text.chars().any(|c| {
            !matches!(c as u32, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        })
    {
        return Err(yaml_error("control characters are not allowed"));
    }
    let mut options = Options::default();
    options.emit_unresolved_aliases = true;
    options.emit_comments = false;
    options.emit_anchor_events = true;
    let parser = Parser::new_from_str_with_options(text, options);
    let mut docs = Vec::new();
    // Open collections: the items read so far, with the anchor to record when they close.
    enum Open {
        Seq(Vec<Rc<Node>>, usize, bool),
        Map(Vec<Rc<Node>>, usize, bool),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut root: Document = None;
    // The brackets of the open flow collections, for error messages.
    let mut flows: Vec<char> = Vec::new();
    for next in parser {
        let (event, span) = match next {
            Ok(x) => x,
            Err(e) => {
                // libyaml (YAML 1.1) knows the escape `\'`; YAML 1.2 does not. Spell it `\x27`
                // and read again.
                if retries > 0
                    && matches!(e.kind(), ErrorKind::UnknownQuotedScalarEscape)
                    && let Some(at) = single_quote_escape_near(text, e.marker().index())
                {
                    let fixed = format!("{}\\x27{}", &text[..at], &text[at + 2..]);
                    return documents_retrying(&fixed, first_only, retries - 1);
                }
                let open = flows.last().copied().or_else(|| open_bracket(text, e.marker().index()));
                return Err(translate(&e, text, open));
            }
        };
        let node = match event {
            Event::DocumentStart(..) => {
                root = None;
                anchors.clear();
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take());
                if first_only {
                    break;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if style == ScalarStyle::DoubleQuoted
                    && let Some(raw) = span.slice(text)
                    && let Some(at) = yaml_1_2_escape(raw)
                {
                    // `\/` is an escape of YAML 1.2 only; go-yaml v2 rejects it.
                    let line = text[..span.start.index() + at].matches('\n').count();
                    return Err(with_line(line, true, "found unknown escape character"));
                }
                let mut value = value.into_owned();
                if matches!(style, ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
                    && let Some(raw) = span.slice(text)
                    && raw.contains(['\u{85}', '\u{2028}', '\u{2029}'])
                {
                    value = fold_yaml_1_1(raw, style);
                }
                let node = Rc::new(Node::Scalar {
                    value,
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| format!("{}{}", t.handle(), t.suffix())),
                });
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Anchor(_, name) => {
                // YAML 1.2 allows more in anchor names than libyaml's `[0-9A-Za-z_-]`.
                if !anchor_name_ok(&name) {
                    return Err(anchor_name_error(text, span.start.index()));
                }
                continue;
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => n.clone(),
                None => return Err(yaml_error("unknown anchor referenced")),
            },
            Event::UnresolvedAlias(name) if !anchor_name_ok(&name) => {
                return Err(anchor_name_error(text, span.start.index()));
            }
            Event::UnresolvedAlias(name) => {
                return Err(yaml_error(format!("unknown anchor '{name}' referenced")));
            }
            Event::SequenceStart(style, anchor, _) => {
                if style == StructureStyle::Flow {
                    flows.push('[');
                }
                if stack.len() >= MAX_NESTING {
                    return Err(yaml_error("exceeded max depth of 10000"));
                }
                stack.push(Open::Seq(Vec::new(), anchor, style == StructureStyle::Flow));
                continue;
            }
            Event::MappingStart(style, anchor, _) => {
                if style == StructureStyle::Flow {
                    flows.push('{');
                }
                if stack.len() >= MAX_NESTING {
                    return Err(yaml_error("exceeded max depth of 10000"));
                }
                stack.push(Open::Map(Vec::new(), anchor, style == StructureStyle::Flow));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, flow) = match stack.pop() {
                    Some(Open::Seq(items, anchor, flow)) => (Rc::new(Node::Seq(items)), anchor, flow),
                    Some(Open::Map(items, anchor, flow)) => {
                        let mut pairs = Vec::with_capacity(items.len() / 2);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        (Rc::new(Node::Map(pairs)), anchor, flow)
                    }
                    None => continue,
                };
                if flow {
                    flows.pop();
                }
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some(Open::Seq(items, ..) | Open::Map(items, ..)) => items.push(node),
            None => root = Some(node),
        }
    }
    Ok(docs)
}

const STR_TAG: &str = "tag:yaml.org,2002:str";
const BINARY_TAG: &str = "tag:yaml.org,2002:binary";

fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(s) => format!("!!{s}"),
        None => tag.to_owned(),
    }
}

fn resolved_tag(r: &Resolved) -> &'static str {
    match r {
        Resolved::Null => "tag:yaml.org,2002:null",
        Resolved::Bool(_) => "tag:yaml.org,2002:bool",
        Resolved::Int(_) | Resolved::Uint(_) => "tag:yaml.org,2002:int",
        Resolved::Float(_) => "tag:yaml.org,2002:float",
        Resolved::Timestamp => "tag:yaml.org,2002:timestamp",
        Resolved::Merge => "tag:yaml.org,2002:merge",
        Resolved::Str => STR_TAG,
    }
}

/// go-yaml v2's decoding of a scalar into `interface{}`.
fn scalar(value: &str, plain: bool, tag: Option<&str>) -> Result<Resolved, YamlError> {
    match tag {
        None if !plain => Ok(Resolved::Str),
        None => Ok(resolve_plain(value)),
        Some(STR_TAG) => Ok(Resolved::Str),
        Some(BINARY_TAG) => Ok(Resolved::Str),
        Some(
            t @ ("tag:yaml.org,2002:bool"
            | "tag:yaml.org,2002:null"
            | "tag:yaml.org,2002:int"
            | "tag:yaml.org,2002:float"
            | "tag:yaml.org,2002:timestamp"),
        ) => {
            let r = resolve_plain(value);
            let rtag = resolved_tag(&r);
            if rtag == t {
                return Ok(r);
            }
            if t == "tag:yaml.org,2002:float" {
                match r {
                    Resolved::Int(i) => return Ok(Resolved::Float(i as f64)),
                    Resolved::Uint(u) => return Ok(Resolved::Float(u as f64)),
                    _ => {}
                }
            }
            Err(yaml_error(format!("cannot decode {} `{value}` as a {}", short_tag(rtag), short_tag(t))))
        }
        // Tags go-yaml does not resolve leave the text as it is.
        Some(_) => Ok(Resolved::Str),
    }
}

/// Standard base64 decoding for `!!binary` (whitespace ignored).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' => 62,
            '/' => 63,
            '=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A float64 map key as `sigs.k8s.io/yaml` writes it: `strconv.FormatFloat(f, 'g', -1, 32)`.
pub(super) fn float_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let f32v = f as f32;
    if f32v == 0.0 {
        return if f32v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let s = format!("{:e}", f32v.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::new();
    if f32v < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
        return out;
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if exp as usize + 1 >= digits.len() {
        out.push_str(&digits);
        for _ in 0..(exp as usize + 1 - digits.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..=exp as usize]);
        out.push('.');
        out.push_str(&digits[exp as usize + 1..]);
    }
    out
}

/// Go's `%+#v` of a decoded scalar, for `sigs.k8s.io/yaml`'s key error message.
fn go_repr(r: &Resolved, text: &str) -> String {
    match r {
        Resolved::Null => "<nil>".to_owned(),
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(i) => i.to_string(),
        Resolved::Uint(u) => format!("0x{u:x}"),
        Resolved::Float(f) => crate::format::format_float_g(*f),
        _ => format!("{text:?}"),
    }
}

/// Go's `%#v` of a decoded node, as go-yaml's `invalid map key` error prints it.
fn go_sharp_v(node: &Node, depth: usize) -> String {
    if depth > 50 {
        return "...".to_owned();
    }
    match node {
        Node::Scalar { value, plain, tag } => match scalar(value, *plain, tag.as_deref()) {
            Ok(Resolved::Null) => "interface {}(nil)".to_owned(),
            Ok(r @ (Resolved::Bool(_) | Resolved::Int(_) | Resolved::Float(_))) => go_repr(&r, value),
            Ok(Resolved::Uint(u)) => format!("0x{u:x}"),
            _ => format!("{value:?}"),
        },
        Node::Seq(items) => {
            let items: Vec<String> = items.iter().map(|i| go_sharp_v(i, depth + 1)).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Node::Map(pairs) => {
            let mut items: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", go_sharp_v(k, depth + 1), go_sharp_v(v, depth + 1)))
                .collect();
            items.sort();
            format!("map[interface {{}}]interface {{}}{{{}}}", items.join(", "))
        }
    }
}

struct Decoder {
    decoded: usize,
}

/// Which entries of a mapping to build: all, none (only checked: the same errors in the same
/// order, nothing allocated for the values), or those whose key passes the test.
#[derive(Clone, Copy)]
enum Build<'k> {
    All,
    None,
    Keys(&'k dyn Fn(&str) -> bool),
}

impl Decoder {
    fn count(&mut self) -> Result<(), YamlError> {
        self.decoded += 1;
        if self.decoded > MAX_DECODED_NODES {
            return Err(yaml_error("document contains excessive aliasing"));
        }
        Ok(())
    }

    /// A node as it reaches a template: go-yaml's value, through JSON.
    fn value(&mut self, node: &Node, depth: usize) -> Result<Value, YamlError> {
        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || self.value_inner(node, depth, true))
    }

    /// [`Decoder::value`]'s checks without building the value (`Nil` stands for it).
    fn check(&mut self, node: &Node, depth: usize) -> Result<Value, YamlError> {
        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || self.value_inner(node, depth, false))
    }

    fn value_inner(&mut self, node: &Node, depth: usize, build: bool) -> Result<Value, YamlError> {
        self.count()?;
        match node {
            Node::Scalar { value, plain, tag } => {
                let r = scalar(value, *plain, tag.as_deref())?;
                if tag.as_deref() == Some(BINARY_TAG) {
                    let bytes = decode_base64(value)
                        .ok_or_else(|| yaml_error("!!binary value contains invalid base64 data"))?;
                    return Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned()));
                }
                if !build && matches!(r, Resolved::Timestamp | Resolved::Merge | Resolved::Str) {
                    return Ok(Value::Nil);
                }
                scalar_value(r, value)
            }
            Node::Seq(items) if !build => {
                for item in items {
                    self.check(item, depth + 1)?;
                }
                Ok(Value::Nil)
            }
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(item, depth + 1)?);
                }
                Ok(Value::List(out.into(), ListType::Interface))
            }
            Node::Map(_) => {
                let mut map = BTreeMap::new();
                self.mapping(node, &mut map, depth, if build { Build::All } else { Build::None })?;
                Ok(if build { Value::map(map) } else { Value::Nil })
            }
        }
    }

    /// Decodes a mapping into `out`, later keys (and merged maps) overwriting earlier ones as
    /// go-yaml v2 does.
    fn mapping(
        &mut self,
        node: &Node,
        out: &mut BTreeMap<String, Value>,
        depth: usize,
        build: Build<'_>,
    ) -> Result<(), YamlError> {
        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
            self.mapping_inner(node, out, depth, build)
        })
    }

    fn mapping_inner(
        &mut self,
        node: &Node,
        out: &mut BTreeMap<String, Value>,
        depth: usize,
        build: Build<'_>,
    ) -> Result<(), YamlError> {
        if depth > MAX_NESTING {
            return Err(yaml_error("exceeded max depth of 10000"));
        }
        let Node::Map(pairs) = node else {
            return Err(yaml_error("map merge requires map or sequence of maps as the value"));
        };
        for (k, v) in pairs {
            if let Node::Scalar { value, plain: true, tag: None } = &**k
                && value == "<<"
            {
                match &**v {
                    Node::Map(_) => self.mapping(v, out, depth + 1, build)?,
                    Node::Seq(items) => {
                        for item in items.iter().rev() {
                            self.mapping(item, out, depth + 1, build)?;
                        }
                    }
                    Node::Scalar { .. } => {
                        return Err(yaml_error("map merge requires map or sequence of maps as the value"));
                    }
                }
                continue;
            }
            let key = self.key(k, v)?;
            match build {
                Build::All => {
                    let value = self.value(v, depth + 1)?;
                    out.insert(key, value);
                }
                Build::Keys(keep) if keep(&key) => {
                    let value = self.value(v, depth + 1)?;
                    out.insert(key, value);
                }
                Build::Keys(_) | Build::None => {
                    self.check(v, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// A map key as `sigs.k8s.io/yaml` turns it into a JSON object key.
    fn key(&mut self, k: &Node, v: &Node) -> Result<String, YamlError> {
        match k {
            Node::Scalar { value, plain, tag } => {
                let r = scalar(value, *plain, tag.as_deref())?;
                let unsupported = |ty: &str, key: String| -> YamlError {
                    let shown = match v {
                        Node::Scalar { value, plain, tag } => match scalar(value, *plain, tag.as_deref()) {
                            Ok(r) => go_repr(&r, value),
                            Err(_) => format!("{value:?}"),
                        },
                        Node::Seq(_) => "[]interface {}{...}".to_owned(),
                        Node::Map(_) => "map[interface {}]interface {}{...}".to_owned(),
                    };
                    YamlError(format!(
                        "error converting YAML to JSON: unsupported map key of type: {ty}, key: {key}, value: {shown}"
                    ))
                };
                json_key(&r, value).map_err(|(ty, key)| unsupported(ty, key))
            }
            Node::Seq(_) | Node::Map(_) => Err(yaml_error(format!("invalid map key: {}", go_sharp_v(k, 0)))),
        }
    }
}

/// A resolved scalar as it reaches a template: go-yaml's value through JSON (integers become
/// floats; NaN and the infinities have no JSON form and fail). `text` is the scalar's text.
pub(super) fn scalar_value(r: Resolved, text: &str) -> Result<Value, YamlError> {
    Ok(match r {
        Resolved::Null => Value::Nil,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Float(i as f64),
        Resolved::Uint(u) => Value::Float(u as f64),
        Resolved::Float(f) if f.is_nan() => {
            return Err(YamlError("error converting YAML to JSON: json: unsupported value: NaN".to_owned()));
        }
        Resolved::Float(f) if f.is_infinite() => {
            let sign = if f > 0.0 { "+" } else { "-" };
            return Err(YamlError(format!("error converting YAML to JSON: json: unsupported value: {sign}Inf")));
        }
        Resolved::Float(f) => Value::Float(f),
        Resolved::Timestamp | Resolved::Merge | Resolved::Str => Value::from(text),
    })
}

/// A resolved map key as `sigs.k8s.io/yaml` writes it as a JSON object key. Null and `uint64`
/// keys it rejects: `Err` holds the Go type and the key as its error names them.
pub(super) fn json_key(r: &Resolved, text: &str) -> Result<String, (&'static str, String)> {
    Ok(match r {
        Resolved::Null => return Err(("%!s(<nil>)", "<nil>".to_owned())),
        Resolved::Uint(u) => return Err(("uint64", format!("0x{u:x}"))),
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(i) => i.to_string(),
        Resolved::Float(f) => float_key(*f),
        Resolved::Timestamp | Resolved::Merge | Resolved::Str => text.to_owned(),
    })
}

/// The JSON kind name `encoding/json` uses in a type error.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Nil => "null",
        _ => "number",
    }
}

fn decode(doc: &Document) -> Result<Value, YamlError> {
    match doc {
        None => Ok(Value::Nil),
        Some(node) => Decoder { decoded: 0 }.value(node, 0),
    }
}

/// `yaml.Unmarshal(text, &v)` for an `interface{}` `v`: the first document as JSON decodes it
/// (nil for an empty document).
///
/// Documents in the subset of YAML that [`super::fast`] reads and builds skip most of the work.
pub fn unmarshal_any(text: &str) -> Result<Value, YamlError> {
    match super::fast::document(text) {
        Some(value) => Ok(value),
        None => unmarshal_any_full(text),
    }
}

/// [`unmarshal_any`] without the fast path: the reference it is checked against.
pub fn unmarshal_any_full(text: &str) -> Result<Value, YamlError> {
    let docs = documents(text, true)?;
    decode(docs.first().unwrap_or(&None))
}

/// [`unmarshal_any`] for a caller that reads only some top-level keys (as Go decoding into a
/// struct does): the same result and errors, except that a top-level mapping holds only the
/// entries whose key passes `keep`. The rest is checked but never built, which makes a large
/// document several times cheaper to read.
///
/// Documents in the subset of YAML that [`super::fast`] reads skip most of the work.
pub fn unmarshal_top_keys(text: &str, keep: &dyn Fn(&str) -> bool) -> Result<Value, YamlError> {
    match super::fast::top_keys(text, keep) {
        Some(value) => Ok(value),
        None => unmarshal_top_keys_full(text, keep),
    }
}

/// [`unmarshal_top_keys`] without the fast path: the reference it is checked against.
pub fn unmarshal_top_keys_full(text: &str, keep: &dyn Fn(&str) -> bool) -> Result<Value, YamlError> {
    let docs = documents(text, true)?;
    match docs.first() {
        Some(Some(node)) if matches!(**node, Node::Map(_)) => {
            let mut d = Decoder { decoded: 0 };
            d.count()?;
            let mut map = BTreeMap::new();
            d.mapping(node, &mut map, 0, Build::Keys(keep))?;
            Ok(Value::map(map))
        }
        Some(doc) => decode(doc),
        None => Ok(Value::Nil),
    }
}

/// `yaml.Unmarshal(text, &map[string]interface{}{})`: the first document as a map (an empty
/// map for an empty document).
fn unmarshal_map(text: &str) -> Result<Value, YamlError> {
    match unmarshal_any(text)? {
        Value::Nil => Ok(Value::empty_map()),
        v @ Value::Map(..) => Ok(v),
        v => Err(YamlError(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&v)
        ))),
    }
}

/// Helm's `fromYaml`: the first document as a map, or a map holding the error message under
/// `Error`.
pub fn from_yaml(text: &str) -> Value {
    unmarshal_map(text).unwrap_or_else(|e| Value::map([("Error".to_owned(), Value::from(e.0))]))
}

/// Helm's `fromYamlArray`: the first document as a list, or a list holding only the error
/// message.
pub fn from_yaml_array(text: &str) -> Value {
    let result = documents(text, true).and_then(|docs| match decode(docs.first().unwrap_or(&None))? {
        Value::Nil => Ok(Value::list([])),
        v @ Value::List(..) => Ok(v),
        v => Err(YamlError(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&v)
        ))),
    });
    result.unwrap_or_else(|e| Value::list([Value::from(e.0)]))
}

/// Merges `src` into `dst`: maps merge key by key, anything else replaces.
fn merge_into(dst: &mut BTreeMap<String, Value>, src: &BTreeMap<String, Value>) {
    for (k, v) in src {
        if let (Some(Value::Map(d, _)), Value::Map(s, _)) = (dst.get(k), v)
            && !Rc::ptr_eq(d, s)
        {
            let s = s.borrow();
            merge_into(&mut d.borrow_mut(), &s);
            continue;
        }
        dst.insert(k.clone(), v.clone());
    }
}

/// Splits a values file into documents as Kubernetes' `YAMLReader` does for Helm 4: at lines
/// that start with `---`, which may be followed only by spaces and a comment. Empty documents
/// are dropped.
pub fn split_documents(text: &str) -> Result<Vec<&str>, YamlError> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let line_start = pos;
        pos += line.len();
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError(format!(
                    "error reading yaml document: invalid Yaml document separator: {trimmed}"
                )));
            }
            if line_start > start {
                docs.push(&text[start..line_start]);
            }
            start = pos;
        }
    }
    if pos > start {
        docs.push(&text[start..pos]);
    }
    Ok(docs)
}

/// A values file as Helm 4 reads it (`loader.LoadValues`): each document (see
/// [`split_documents`]) read by `sigs.k8s.io/yaml` into a map, later documents merged over
/// earlier ones; an empty file is an empty map. Nulls are kept (Helm's coalescing removes
/// them later). The error is Helm's: a document that does not decode says
/// `cannot unmarshal yaml document: ` first, a bad separator `error reading yaml document: `.
pub fn parse_values(text: &str) -> Result<Value, YamlError> {
    let mut out = BTreeMap::new();
    for doc in split_documents(text)? {
        let decoded = unmarshal_map(doc).map_err(|e| YamlError(format!("cannot unmarshal yaml document: {}", e.0)))?;
        if let Value::Map(ref m, _) = decoded {
            merge_into(&mut out, &m.borrow());
        }
    }
    Ok(Value::map(out))
}
