//! A fast path for [`super::unmarshal_top_keys`] and [`super::unmarshal_any`] on the YAML
//! that rendered Kubernetes manifests and values files are made of.
//!
//! Reading a manifest's head must read the whole document, because any YAML or JSON
//! conversion error anywhere in it is the document's error. The full path builds a node per
//! scalar to find out; [`top_keys`] instead checks the document line by line without
//! allocating. Then only the kept top-level entries are built: directly when the builder
//! builds them (the usual `apiVersion`, `kind` and `metadata` always), else by handing their
//! text to the full path. [`document`] checks a document the same way and builds all of it,
//! or gives up when the builder does.
//!
//! The builder builds block collections holding one-line plain and quoted scalars, flow
//! sequences of them, `{}`, and block scalars (literal and folded, with any chomping), as
//! go-yaml decodes them and JSON converts them (numbers become floats, keys become strings as
//! the full path converts them, a later duplicate key replaces an earlier one). It gives up on
//! multi-line plain and quoted scalars, and on the rare block scalar lines whose reading
//! parsers disagree on (lines of only spaces longer than the indentation, of only spaces and
//! tabs, content without a final line break).
//!
//! The subset it accepts:
//! - a root block mapping at column 0 (blank and comment lines may come first);
//! - block mappings whose keys are plain or single-line quoted scalars followed by `:` and a
//!   space or the line end; block sequences (`- x`, `- key: v` compact mappings, `-` followed
//!   by a nested node on later lines, sequences at the indentation of their parent key);
//! - values on the key's line: a plain scalar on one line (no `: `, no trailing `:`, no
//!   leading indicator), a single-line single- or double-quoted scalar (double-quoted ones
//!   with the escapes `\\ \" \n \t \r \0 \a \b \v \f \e \xHH \uHHHH` only), `{}`, `[]`, or a
//!   block scalar header (`|`, `>`, optionally `-` or `+`) whose content lines are judged by
//!   their indentation as YAML does;
//! - full-line comments and comments after a space.
//!
//! Every plain scalar is checked as the full path's decoding checks it: values that resolve to
//! NaN or an infinity, keys that resolve to null, a `uint64` or `<<` are errors (or merges)
//! there, so they are not accepted here.
//!
//! The give-up rule: at the first thing outside the subset (anchors, aliases, tags,
//! directives, document markers, `?` keys, flow mappings with content, flow sequences of
//! other than simple scalars, multi-line flow scalars, tabs outside comments and block scalar
//! content, carriage returns, control characters, the line breaks of YAML 1.1 (U+0085,
//! U+2028, U+2029), a byte-order mark, a line indented where the structure does not allow
//! it, ...), [`top_keys`] and [`document`] return `None` and the caller runs the full path,
//! which finds the error or reads the construct. So whenever the fast path answers, its
//! answer is the full path's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Resolved, resolve_plain};
use crate::value::{ListType, MapType, Value};

/// How deeply nested collections may be: far below the full path's limit, so that limit can
/// never be the difference.
const MAX_DEPTH: usize = 200;
/// The longest key accepted: YAML parsers limit simple keys to 1024 characters.
const MAX_KEY_LEN: usize = 1000;
/// The longest document accepted: each node takes at least one byte, so the full path's limit
/// on decoded nodes cannot be reached.
const MAX_LEN: usize = super::parse::MAX_DECODED_NODES / 2;

/// [`super::unmarshal_top_keys`] for a document in the subset this module reads, `None` for
/// any other document (including every document with an error).
pub fn top_keys(text: &str, keep: &dyn Fn(&str) -> bool) -> Option<Value> {
    if text.len() > MAX_LEN {
        return None;
    }
    let kept = Checker::default().run(text, keep)?;
    if kept.is_empty() {
        return Some(map_value(BTreeMap::new()));
    }
    let mut small = String::with_capacity(kept.iter().map(|(a, b)| b - a).sum());
    for &(start, end) in &kept {
        small.push_str(&text[start..end]);
    }
    if let Some(mut map) = Builder::new(&small).map(0) {
        map.retain(|k, _| keep(k));
        return Some(map_value(map));
    }
    super::parse::unmarshal_top_keys_full(&small, keep).ok().filter(|v| matches!(v, Value::Map(..)))
}

/// [`super::unmarshal_any`] for a document in the subset this module reads whose values the
/// builder builds (see [`Builder`]), `None` for any other document: every entry is built, as
/// the full path builds it.
pub fn document(text: &str) -> Option<Value> {
    if text.len() > MAX_LEN {
        return None;
    }
    Checker::default().run(text, &|_| false)?;
    Builder::new(text).map(0).map(map_value)
}

/// Builds the value of checked text (the kept entries, or the whole document) when it holds
/// only what the module's documentation lists, as the full path would build it; `None` for
/// anything else (multi-line plain and quoted scalars, the block scalars it leaves), which the
/// full path then decodes.
struct Builder<'a> {
    text: &'a str,
    /// The lines with content: indentation and the text after it.
    lines: Vec<(usize, &'a str)>,
    next: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        let last = (!text.ends_with('\n')).then_some(text.len());
        for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain(last) {
            let line = &text[start..end];
            start = end + 1;
            let col = indentation(line);
            if !matches!(line.as_bytes().get(col), None | Some(b'#')) {
                lines.push((col, &line[col..]));
            }
        }
        Builder { text, lines, next: 0 }
    }

    /// The mapping whose keys sit at column `indent`.
    fn map(&mut self, indent: usize) -> Option<BTreeMap<String, Value>> {
        let mut out = BTreeMap::new();
        while let Some(&(col, rest)) = self.lines.get(self.next) {
            if col < indent {
                break;
            }
            if col > indent || is_dash(rest) {
                return None;
            }
            self.next += 1;
            let (key, after) = built_key(rest)?;
            let value = self.value(after, indent, true)?;
            out.insert(key, value);
        }
        Some(out)
    }

    /// The sequence whose dashes sit at column `indent`.
    fn seq(&mut self, indent: usize) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        while let Some(&(col, rest)) = self.lines.get(self.next) {
            if col < indent || (col == indent && !is_dash(rest)) {
                break;
            }
            if col > indent {
                return None;
            }
            let after = &rest[1..];
            let v = after.trim_start_matches(' ');
            if starts_mapping(v)? {
                // A compact mapping: its first key on the dash's line.
                let key_col = col + 1 + after.len() - v.len();
                self.lines[self.next] = (key_col, v);
                out.push(map_value(self.map(key_col)?));
            } else {
                self.next += 1;
                out.push(self.value(v, indent, false)?);
            }
        }
        Some(out)
    }

    /// The value after a key or dash in a collection at column `indent`: `v` is the rest of
    /// the line after the spaces; `in_map` says whether a key holds it (where a sequence may
    /// sit at the key's indentation).
    fn value(&mut self, v: &str, indent: usize, in_map: bool) -> Option<Value> {
        if v.is_empty() || v.starts_with('#') {
            return match self.lines.get(self.next) {
                Some(&(col, rest)) if is_dash(rest) && (col > indent || (in_map && col == indent)) => {
                    Some(Value::List(self.seq(col)?.into(), ListType::Interface))
                }
                Some(&(col, rest)) if col > indent => {
                    if starts_mapping(rest)? {
                        return Some(map_value(self.map(col)?));
                    }
                    // A scalar on the line after its key or dash.
                    self.next += 1;
                    self.scalar(rest, indent)
                }
                _ => Some(Value::Nil),
            };
        }
        self.scalar(v, indent)
    }

    /// A scalar (or `{}`, a flow sequence) starting at `v`, in a collection at column
    /// `parent`.
    fn scalar(&mut self, v: &str, parent: usize) -> Option<Value> {
        if v.starts_with(['|', '>']) {
            return self.block_scalar(v, parent).map(Value::from);
        }
        built_scalar(v)
    }

    /// Where `s`, a slice of the text, starts in it.
    fn offset(&self, s: &str) -> usize {
        s.as_ptr() as usize - self.text.as_ptr() as usize
    }

    /// A block scalar from its header `v` (checked: `|` or `>`, a chomping indicator, a
    /// comment): its content is the lines after the header up to the first non-blank line
    /// indented less than the first content line, folded and chomped as go-yaml does. `None`
    /// for what is left to the full path: content reaching the end of the text without a line
    /// break, lines of spaces longer than the indentation, lines of nothing but spaces and tabs,
    /// an empty scalar that keeps its final line breaks. `parent` is the column of the
    /// collection holding it: content is indented more.
    fn block_scalar(&mut self, v: &str, parent: usize) -> Option<String> {
        let text = self.text;
        let literal = v.starts_with('|');
        let chomping = v.as_bytes().get(1).copied();
        let header = self.offset(v);
        let mut pos = header + memchr::memchr(b'\n', &text.as_bytes()[header..])? + 1;
        let mut indent = None;
        let mut out = String::new();
        // What the last content line left: its line break (not yet written), whether it
        // started with a blank, and the empty lines since.
        let mut leading_break = false;
        let mut leading_blank = false;
        let mut trailing_breaks = 0;
        while pos < text.len() {
            let end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |i| pos + i);
            let line = &text[pos..end];
            let col = indentation(line);
            if col == line.len() {
                if end == text.len() || indent.is_some_and(|n| col > n) {
                    return None;
                }
                trailing_breaks += 1;
                pos = end + 1;
                continue;
            }
            if indent.is_none() && col <= parent {
                // An empty scalar.
                break;
            }
            let n = *indent.get_or_insert(col);
            if col < n {
                break;
            }
            let content = &line[n..];
            if end == text.len() || content.trim_start_matches([' ', '\t']).is_empty() {
                return None;
            }
            let trailing_blank = content.starts_with([' ', '\t']);
            if !literal && leading_break && !leading_blank && !trailing_blank {
                // A line break between two lines of text folds into a space, or into the
                // empty lines between them.
                if trailing_breaks == 0 {
                    out.push(' ');
                }
            } else if leading_break {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\n', trailing_breaks));
            trailing_breaks = 0;
            leading_blank = trailing_blank;
            out.push_str(content);
            leading_break = true;
            pos = end + 1;
        }
        if indent.is_none() && chomping == Some(b'+') {
            return None;
        }
        if chomping != Some(b'-') && leading_break {
            out.push('\n');
        }
        if chomping == Some(b'+') {
            out.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
        while let Some(&(_, rest)) = self.lines.get(self.next)
            && self.offset(rest) < pos
        {
            self.next += 1;
        }
        Some(out)
    }
}

/// A built mapping as a value, taken as it is ([`Value::map`] collects its entries anew).
fn map_value(map: BTreeMap<String, Value>) -> Value {
    Value::Map(Rc::new(RefCell::new(map)), MapType::Interface)
}

/// Whether a node starting at `v` (checked) is a mapping: its first key is on this line.
fn starts_mapping(v: &str) -> Option<bool> {
    Some(match v.as_bytes().first() {
        Some(b'"' | b'\'') => matches!(scan_quoted(v)?, Some(close) if v.as_bytes().get(close) == Some(&b':')),
        Some(_) if is_plain_start(v) => scan_plain(v)?.1.is_some(),
        _ => false,
    })
}

/// A key line's key as the full path turns it into a JSON object key, and the rest of the
/// line after the `:` and its spaces.
fn built_key(rest: &str) -> Option<(String, &str)> {
    let (key, colon) = match rest.as_bytes().first() {
        Some(b'"' | b'\'') => {
            let close = scan_quoted(rest)??;
            (unquote(&rest[..close])?, close)
        }
        _ => {
            let colon = scan_plain(rest)?.1?;
            let text = rest[..colon].trim_end_matches(' ');
            // `<<` merges maps, which the builder leaves to the full path.
            let r = resolve_plain(text);
            if matches!(r, Resolved::Merge) {
                return None;
            }
            (super::parse::json_key(&r, text).ok()?, colon)
        }
    };
    Some((key, rest.get(colon + 1..)?.trim_start_matches(' ')))
}

/// A one-line scalar (or `{}`, `[]`) as the full path decodes it.
fn built_scalar(v: &str) -> Option<Value> {
    match v.as_bytes()[0] {
        b'"' | b'\'' => {
            let close = scan_quoted(v)??;
            Some(Value::from(unquote(&v[..close])?))
        }
        b'[' => {
            let mut entries = Vec::new();
            flow_entries(v, Some(&mut entries))?;
            Some(Value::List(entries.into(), ListType::Interface))
        }
        b'{' => {
            let inner = v[1..flow_collection(v)? - 1].trim_matches(' ');
            inner.is_empty().then(|| map_value(BTreeMap::new()))
        }
        _ => {
            if !is_plain_start(v) {
                return None;
            }
            let (end, colon) = scan_plain(v)?;
            if colon.is_some() {
                return None;
            }
            plain_scalar(v[..end].trim_end_matches(' '))
        }
    }
}

/// A one-line plain scalar's value as the full path decodes it.
fn plain_scalar(text: &str) -> Option<Value> {
    super::parse::scalar_value(resolve_plain(text), text).ok()
}

/// The text of a one-line quoted scalar, given with its quotes (checked by [`scan_quoted`]).
fn unquote(quoted: &str) -> Option<String> {
    let inner = &quoted[1..quoted.len() - 1];
    if quoted.starts_with('\'') {
        return Some(inner.replace("''", "'"));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, len: usize| -> Option<char> {
            let digits: String = chars.take(len).collect();
            char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
        };
        out.push(match e {
            '\\' => '\\',
            '"' => '"',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'e' => '\u{1b}',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            _ => return None,
        });
    }
    Some(out)
}

/// What an open block collection is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    /// A sequence; `indentless` when its dashes sit at the indentation of its parent's keys.
    Seq {
        indentless: bool,
    },
}

/// An open block collection: the column of its keys or dashes.
#[derive(Clone, Copy)]
struct Block {
    indent: usize,
    kind: Kind,
}

/// What the previous line left open.
#[derive(Clone, Copy)]
enum Pending {
    Nothing,
    /// `key:` with nothing after it, in a mapping at this indentation.
    MapValue(usize),
    /// `-` with nothing after it, in a sequence at this indentation.
    SeqEntry(usize),
    /// A plain scalar in a collection at indentation `parent`: more indented lines continue it.
    Plain {
        parent: usize,
    },
    /// A quoted scalar (`quote` is its quote) not closed on its line, in a collection at
    /// indentation `parent`: it goes on on the following lines, which must be more indented.
    Quoted {
        quote: u8,
        parent: usize,
    },
    /// A block scalar's header in a collection at indentation `parent`: content lines must be
    /// indented more. `indent` is the content's indentation once its first line is seen;
    /// `blank` the most spaces on a blank line before it.
    BlockScalar {
        parent: usize,
        indent: Option<usize>,
        blank: usize,
    },
}

#[derive(Default)]
struct Checker {
    stack: Vec<Block>,
    /// The top-level entries to hand to the full path, as byte ranges.
    kept: Vec<(usize, usize)>,
    /// The top-level entry being read: where it starts and whether it is kept.
    entry: Option<(usize, bool)>,
}

impl Checker {
    /// Checks `text` line by line: the byte ranges of the top-level entries whose key may pass
    /// `keep`, or `None` when the document is outside the subset.
    fn run(mut self, text: &str, keep: &dyn Fn(&str) -> bool) -> Option<Vec<(usize, usize)>> {
        self.stack.push(Block { indent: 0, kind: Kind::Map });
        let mut pending = Pending::Nothing;
        let mut start = 0;
        let last = (!text.ends_with('\n')).then_some(text.len());
        for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain(last) {
            pending = self.line(&text[start..end], start, pending, keep)?;
            start = end + 1;
        }
        // An empty block scalar may end the text after blank lines without spaces only.
        if let Pending::BlockScalar { indent: None, blank: 1.., .. } | Pending::Quoted { .. } = pending {
            return None;
        }
        let (first, keep) = self.entry?;
        if keep {
            self.kept.push((first, text.len()));
        }
        Some(self.kept)
    }

    /// One line, starting at byte `at` of the document.
    fn line(&mut self, line: &str, at: usize, pending: Pending, keep: &dyn Fn(&str) -> bool) -> Option<Pending> {
        let col = indentation(line);
        let rest = &line[col..];
        let pending = match pending {
            Pending::BlockScalar { parent, indent, blank } => {
                match block_scalar_line(line, col, parent, indent, blank) {
                    Ok(still_open) => return still_open,
                    // A less indented line ends the scalar.
                    Err(()) => Pending::Nothing,
                }
            }
            other => other,
        };
        if rest.is_empty() {
            return Some(pending);
        }
        if rest.starts_with('#') && !matches!(pending, Pending::Quoted { .. }) {
            // A comment ends a plain scalar.
            let pending = if let Pending::Plain { .. } = pending { Pending::Nothing } else { pending };
            return clean(rest, true).then_some(pending);
        }
        if let Pending::Plain { parent } = pending
            && col > parent
        {
            return plain_continuation(rest, parent);
        }
        if let Pending::Quoted { quote, parent } = pending {
            if col <= parent || rest.starts_with('\t') {
                return None;
            }
            return match scan_quoted_from(rest, 0, quote)? {
                Some(close) => trailer(&rest[close + 1..]).map(|()| Pending::Nothing),
                None => Some(pending),
            };
        }
        if col == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
            return None;
        }
        let dash = is_dash(rest);
        // The node a `key:` or `-` left open, if this line is indented into it.
        match pending {
            Pending::MapValue(m) if col == m && dash => self.push(col, Kind::Seq { indentless: true })?,
            Pending::MapValue(parent) | Pending::SeqEntry(parent) if col > parent => {
                if dash {
                    self.push(col, Kind::Seq { indentless: false })?;
                } else {
                    // A mapping's first key, or a scalar on the line after its key or dash.
                    return self.node(rest, col, parent, Pending::Nothing);
                }
            }
            _ => {}
        }
        // Close the collections this line is outside of.
        while let Some(top) = self.stack.last() {
            let ends_indentless = top.indent == col && top.kind == (Kind::Seq { indentless: true }) && !dash;
            if top.indent > col || ends_indentless {
                self.stack.pop();
            } else {
                break;
            }
        }
        let top = *self.stack.last()?;
        if top.indent != col {
            return None;
        }
        match top.kind {
            Kind::Map => {
                if self.stack.len() == 1 {
                    self.top_level_key(rest, at, keep)?;
                }
                key_line(rest, col)
            }
            Kind::Seq { .. } => {
                if !dash {
                    return None;
                }
                self.seq_entry(&rest[1..], col)
            }
        }
    }

    /// Opens a collection at column `indent`.
    fn push(&mut self, indent: usize, kind: Kind) -> Option<()> {
        if self.stack.len() >= MAX_DEPTH {
            return None;
        }
        self.stack.push(Block { indent, kind });
        Some(())
    }

    /// Starts a top-level entry at byte `at`: it is kept when its key is quoted (the full
    /// path unquotes it), passes `keep`, or is a plain scalar the full path turns into other
    /// text (`true:`, `1.0:`).
    fn top_level_key(&mut self, rest: &str, at: usize, keep: &dyn Fn(&str) -> bool) -> Option<()> {
        let kept = match rest.as_bytes().first() {
            Some(b'"' | b'\'') => true,
            _ => {
                let (_, key) = scan_plain(rest)?;
                let key = rest[..key?].trim_end_matches(' ');
                keep(key) || !matches!(resolve_plain(key), Resolved::Str | Resolved::Timestamp)
            }
        };
        if let Some((first, true)) = self.entry {
            self.kept.push((first, at));
        }
        self.entry = Some((at, kept));
        Some(())
    }

    /// What follows a sequence's `-` at column `col`: a scalar, a compact mapping's first
    /// key, or nothing (a node on later lines, or null).
    fn seq_entry(&mut self, after: &str, col: usize) -> Option<Pending> {
        let v = after.trim_start_matches(' ');
        if v.is_empty() || v.starts_with('#') {
            return value(v, true, Pending::SeqEntry(col), col);
        }
        self.node(v, col + 1 + after.len() - v.len(), col, Pending::SeqEntry(col))
    }

    /// A node starting at column `col` of a line, `rest` being the rest of the line, in a
    /// collection at indentation `parent`: a mapping (opened here) when it is a key, else a
    /// value (`empty` when there is none).
    fn node(&mut self, rest: &str, col: usize, parent: usize, empty: Pending) -> Option<Pending> {
        let is_key = match rest.as_bytes().first() {
            Some(b'"' | b'\'') => match scan_quoted(rest)? {
                Some(close) => {
                    rest.as_bytes().get(close) == Some(&b':')
                        && matches!(rest.as_bytes().get(close + 1), None | Some(b' '))
                }
                None => false,
            },
            Some(_) if is_plain_start(rest) => match scan_plain(rest)? {
                (_, Some(_)) => true,
                (end, None) => return plain_value(rest, end, parent),
            },
            _ => false,
        };
        if !is_key {
            return value(rest, true, empty, parent);
        }
        self.push(col, Kind::Map)?;
        key_line(rest, col)
    }
}

/// A line while a block scalar is open: `Ok` with what stays open (`None` to give up), or
/// `Err` when the line is indented less than the content and so ends the scalar.
fn block_scalar_line(
    line: &str,
    col: usize,
    parent: usize,
    indent: Option<usize>,
    blank: usize,
) -> Result<Option<Pending>, ()> {
    let rest = &line[col..];
    if rest.is_empty() {
        let blank = if indent.is_none() { blank.max(col) } else { blank };
        return Ok(Some(Pending::BlockScalar { parent, indent, blank }));
    }
    match indent {
        Some(indent) if col >= indent => {
            Ok(clean(&line[indent..], true).then_some(Pending::BlockScalar { parent, indent: Some(indent), blank }))
        }
        Some(_) => Err(()),
        // A line indented no more than the collection holding the scalar ends it, empty
        // (after blank lines without spaces only).
        None if col <= parent && blank == 0 => Err(()),
        // The first content line sets the indentation; a tab right after the spaces, or a
        // longer blank line before it is left to the full path.
        None if col <= parent || blank > col || rest.starts_with('\t') || !clean(rest, true) => Ok(None),
        None => Ok(Some(Pending::BlockScalar { parent, indent: Some(col), blank })),
    }
}

/// Whether a line's content (after its indentation) is a sequence entry.
fn is_dash(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// A `key: value` line of a mapping at column `col`, `rest` starting at the key.
fn key_line(rest: &str, col: usize) -> Option<Pending> {
    let colon = match rest.as_bytes().first() {
        Some(b'"' | b'\'') => {
            let close = scan_quoted(rest)??;
            if rest.as_bytes().get(close) != Some(&b':') {
                return None;
            }
            close
        }
        _ => {
            if !is_plain_start(rest) {
                return None;
            }
            let colon = scan_plain(rest)?.1?;
            if !key_ok(rest[..colon].trim_end_matches(' ')) {
                return None;
            }
            colon
        }
    };
    if colon > MAX_KEY_LEN {
        return None;
    }
    let after = &rest[colon + 1..];
    if !after.is_empty() && !after.starts_with(' ') {
        return None;
    }
    value(after.trim_start_matches(' '), after.starts_with(' '), Pending::MapValue(col), col)
}

/// A value on the line of its key or dash: `v` is the text after the spaces that follow the
/// indicator (`spaced` when there were any), `empty` what an empty value leaves open, and
/// `parent` the indentation of the collection holding the value.
fn value(v: &str, spaced: bool, empty: Pending, parent: usize) -> Option<Pending> {
    let Some(&first) = v.as_bytes().first() else {
        return Some(empty);
    };
    match first {
        b'#' if spaced => clean(v, true).then_some(empty),
        b'|' | b'>' => {
            let header = v[1..].strip_prefix(['-', '+']).unwrap_or(&v[1..]);
            trailer(header)?;
            Some(Pending::BlockScalar { parent, indent: None, blank: 0 })
        }
        b'"' | b'\'' => match scan_quoted(v)? {
            Some(close) => {
                trailer(&v[close..])?;
                Some(Pending::Nothing)
            }
            None => Some(Pending::Quoted { quote: first, parent }),
        },
        b'[' | b'{' => {
            trailer(&v[flow_collection(v)?..])?;
            Some(Pending::Nothing)
        }
        _ if is_plain_start(v) => {
            let (end, colon) = scan_plain(v)?;
            if colon.is_some() {
                return None;
            }
            plain_value(v, end, parent)
        }
        _ => None,
    }
}

/// A plain scalar value in a collection at indentation `parent`, scanned by [`scan_plain`] up
/// to `end` (a comment after it was checked by the scan, and ends it).
fn plain_value(v: &str, end: usize, parent: usize) -> Option<Pending> {
    if !value_ok(v[..end].trim_end_matches(' ')) {
        return None;
    }
    Some(if end < v.len() { Pending::Nothing } else { Pending::Plain { parent } })
}

/// How many spaces start a line (eight at a time first: generated CRDs nest deeply).
fn indentation(line: &str) -> usize {
    let b = line.as_bytes();
    let mut col = 0;
    while b.get(col..col + 8) == Some(b"        ") {
        col += 8;
    }
    while col < b.len() && b[col] == b' ' {
        col += 1;
    }
    col
}

/// A line continuing a plain scalar (more indented than the collection holding it): any text
/// but a key (`: `, an error) or one starting with `:` (a comment ends the scalar and is
/// handled before). The folded scalar holds a space or a line break, so it is a string
/// whatever the first line looked like.
fn plain_continuation(rest: &str, parent: usize) -> Option<Pending> {
    if !rest.as_bytes()[0].is_ascii_graphic() || rest.starts_with(':') {
        return None;
    }
    let (end, colon) = scan_plain(rest)?;
    if colon.is_some() {
        return None;
    }
    Some(if end < rest.len() { Pending::Nothing } else { Pending::Plain { parent } })
}

/// A flow collection on one line: an empty one (`{}`, `[ ]`) or a sequence of single-line
/// quoted scalars and simple plain scalars (`["a", b]`). The byte after its closing bracket.
fn flow_collection(v: &str) -> Option<usize> {
    flow_entries(v, None)
}

/// [`flow_collection`], pushing the sequence's entries, as the full path decodes them, to
/// `built` when it is given.
fn flow_entries(v: &str, mut built: Option<&mut Vec<Value>>) -> Option<usize> {
    let b = v.as_bytes();
    let close = if b[0] == b'[' { b']' } else { b'}' };
    let skip_spaces = |mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let mut i = skip_spaces(1);
    if b.get(i) == Some(&close) {
        return Some(i + 1);
    }
    if close == b'}' {
        return None;
    }
    loop {
        // An entry.
        let start = i;
        match b.get(i)? {
            b'"' | b'\'' => {
                i += scan_quoted(&v[i..])??;
                if let Some(built) = built.as_deref_mut() {
                    built.push(Value::from(unquote(&v[start..i])?));
                }
            }
            c if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_') => {
                while b.get(i).is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'-')) {
                    i += 1;
                }
                if !value_ok(&v[start..i]) {
                    return None;
                }
                if let Some(built) = built.as_deref_mut() {
                    built.push(plain_scalar(&v[start..i])?);
                }
            }
            _ => return None,
        }
        i = skip_spaces(i);
        match b.get(i)? {
            b',' => i = skip_spaces(i + 1),
            b']' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// What may follow a node on its line: spaces, then nothing or a comment after a space.
fn trailer(s: &str) -> Option<()> {
    let rest = s.trim_start_matches(' ');
    if rest.is_empty() || (rest.starts_with('#') && rest.len() < s.len() && clean(rest, true)) {
        Some(())
    } else {
        None
    }
}

/// Whether a plain scalar may start `s` here: a letter, a digit, a few harmless punctuation
/// characters, or `-` or `:` followed by something other than a space.
fn is_plain_start(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => true,
        Some(b'/' | b'.' | b'_' | b'~' | b'$' | b'(' | b')' | b'+' | b'=' | b'^' | b'<' | b';' | b'\\') => true,
        Some(b'-' | b':') => matches!(b.get(1), Some(c) if c.is_ascii_graphic()),
        _ => false,
    }
}

/// Scans a plain scalar on one line: where its text ends (before a comment; trailing spaces
/// included) and, when it is a key, the byte of its `:`. `None` for what the subset leaves
/// out: tabs, control characters, the YAML 1.1 line breaks.
fn scan_plain(s: &str) -> Option<(usize, Option<usize>)> {
    let b = s.as_bytes();
    let mut ascii = true;
    // Words of ordinary characters first.
    let mut start = 0;
    while let Some(w) = word(b, start)
        && printable_word(w)
        && !has_byte(w, b':')
        && !has_byte(w, b'#')
    {
        start += 8;
    }
    for (i, &c) in b.iter().enumerate().skip(start) {
        match c {
            b':' if matches!(b.get(i + 1), None | Some(b' ')) => {
                return (ascii || clean(&s[..i], false)).then_some((i, Some(i)));
            }
            b'#' if i > 0 && b[i - 1] == b' ' => {
                return ((ascii || clean(&s[..i], false)) && clean(&s[i..], true)).then_some((i, None));
            }
            0x20..=0x7E => {}
            0x80.. => ascii = false,
            _ => return None,
        }
    }
    (ascii || clean(s, false)).then_some((s.len(), None))
}

/// Scans a quoted scalar from its opening quote: the byte after its closing quote, or
/// `Some(None)` when it goes on on the next line.
fn scan_quoted(s: &str) -> Option<Option<usize>> {
    Some(scan_quoted_from(s, 1, s.as_bytes()[0])?.map(|close| close + 1))
}

/// Scans a quoted scalar's text from byte `i` of `s` (after the opening quote, or at the
/// start of a continuation line): the byte of the closing quote, or `Some(None)` when the
/// line ends first. `None` for what the subset leaves out: tabs, control characters, the YAML
/// 1.1 line breaks, a `\` at the line end, escapes other than the module's list.
fn scan_quoted_from(s: &str, mut i: usize, quote: u8) -> Option<Option<usize>> {
    let b = s.as_bytes();
    while i < b.len() {
        match b[i] {
            b'\'' if quote == b'\'' => {
                if b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return clean(&s[..i], false).then_some(Some(i));
            }
            b'"' if quote == b'"' => return clean(&s[..i], false).then_some(Some(i)),
            b'\\' if quote == b'"' => {
                let len = match b.get(i + 1)? {
                    b'\\' | b'"' | b'n' | b't' | b'r' | b'0' | b'a' | b'b' | b'v' | b'f' | b'e' => 0,
                    b'x' => 2,
                    b'u' => 4,
                    _ => return None,
                };
                let digits = s.get(i + 2..i + 2 + len)?;
                if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                    return None;
                }
                // Surrogates are no characters.
                if len == 4 && matches!(u32::from_str_radix(digits, 16), Ok(0xD800..=0xDFFF)) {
                    return None;
                }
                i += 2 + len;
            }
            _ => i += 1,
        }
    }
    clean(s, false).then_some(None)
}

/// Whether `s` holds only characters the subset reads as the full path does: printable ASCII
/// (and tabs where `tabs`), and non-ASCII characters YAML allows other than U+0085, U+2028,
/// U+2029 (line breaks in YAML 1.1) and U+FEFF.
fn clean(s: &str, tabs: bool) -> bool {
    let b = s.as_bytes();
    let mut start = 0;
    while let Some(w) = word(b, start)
        && printable_word(w)
    {
        start += 8;
    }
    // What comes before `start` is ASCII, so `start` is a character boundary.
    let (b, s) = (&b[start..], &s[start..]);
    if b.iter().all(|&c| matches!(c, 0x20..=0x7E) || (tabs && c == b'\t')) {
        return true;
    }
    s.chars().all(|c| match c {
        '\t' => tabs,
        ' '..='~' => true,
        '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' => false,
        c => matches!(c as u32, 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF),
    })
}

/// The eight bytes of `b` from `at` as a word, if there are eight.
fn word(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether every byte of `w` is printable ASCII (0x20 to 0x7E): no byte below 0x20 and none
/// above 0x7E (the "hasless" and "hasmore" bit tricks, exact for whether such a byte exists).
fn printable_word(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH_BITS;
    let above_tilde = (w.wrapping_add(ONES) | w) & HIGH_BITS;
    below_space | above_tilde == 0
}

/// Whether some byte of `w` is `byte`.
fn has_byte(w: u64, byte: u8) -> bool {
    let x = w ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH_BITS != 0
}

/// Whether a plain value decodes without error: NaN and infinities have no JSON form. Only
/// the keywords (`.nan`, `-.Inf`, ...) and numbers with an exponent or hundreds of digits
/// can resolve to them.
fn value_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let may_be_special = match b[0] {
        b'.' | b'+' | b'-' => true,
        b'0'..=b'9' => s.len() > 300 || b.iter().any(|&c| c == b'e' || c == b'E'),
        _ => false,
    };
    !may_be_special || !matches!(resolve_plain(s), Resolved::Float(f) if !f.is_finite())
}

/// Whether a plain key is an ordinary JSON object key: null and `uint64` keys are errors in
/// the full path, `<<` merges. Only the null keywords, `<<`, and numbers of 16 characters or
/// more (an integer beyond `int64`) can resolve to those.
fn key_ok(s: &str) -> bool {
    let may_be_special = match s.as_bytes()[0] {
        b'~' | b'n' | b'N' | b'<' => true,
        b'0'..=b'9' | b'+' => s.len() >= 16,
        _ => false,
    };
    !may_be_special || !matches!(resolve_plain(s), Resolved::Null | Resolved::Uint(_) | Resolved::Merge)
}

#[cfg(test)]
mod tests;
