//! String functions: Go's `strings` package as Sprig exposes it (arguments reordered for
//! pipelines), goutils' abbreviation, wrapping and random strings, xstrings' case changes.

use rand::Rng;

use crate::func::FuncMap;
use crate::go_string::{byte_len, from_bytes, to_bytes};
use crate::value::{MAX_VALUE_BYTES, MapType, Value};

use super::sig::{ANY, INT, STR, fixed, variadic};
use super::{arg, fail, int_arg, str_arg, strval};

pub(super) fn register(map: &mut FuncMap) {
    map.add("hello", fixed(&[]), |_| Ok(Value::from("Hello!")));
    map.add("abbrev", fixed(&[INT, STR]), |a| Ok(Value::from(abbrev(int_arg(a, 0), &str_arg(a, 1)))));
    map.add("abbrevboth", fixed(&[INT, INT, STR]), |a| {
        let (left, right, s) = (int_arg(a, 0), int_arg(a, 1), str_arg(a, 2));
        if right < 4 || left > 0 && right < 7 {
            return Ok(Value::from(s));
        }
        Ok(Value::from(abbreviate_full(&s, left, right)))
    });
    map.add("trunc", fixed(&[INT, STR]), |a| {
        let (c, s) = (int_arg(a, 0), str_arg(a, 1));
        let len = byte_len(&s) as i64;
        let out = if c < 0 && len + c > 0 {
            byte_slice(&s, (len + c) as usize, len as usize)
        } else if c >= 0 && len > c {
            byte_slice(&s, 0, c as usize)
        } else {
            s
        };
        Ok(Value::from(out))
    });
    map.add("trim", fixed(&[STR]), |a| Ok(Value::from(str_arg(a, 0).trim_matches(is_go_space))));
    map.add("upper", fixed(&[STR]), |a| Ok(Value::from(go_upper(&str_arg(a, 0)))));
    map.add("lower", fixed(&[STR]), |a| Ok(Value::from(go_lower(&str_arg(a, 0)))));
    map.add("title", fixed(&[STR]), |a| Ok(Value::from(title(&str_arg(a, 0)))));
    map.add("untitle", fixed(&[STR]), |a| {
        // goutils' Uncapitalize: the first letter of each whitespace-separated word.
        let mut gap = true;
        let out: String = str_arg(a, 0)
            .chars()
            .map(|c| {
                let out = if gap { simple_lower(c) } else { c };
                gap = is_go_space(c);
                out
            })
            .collect();
        Ok(Value::from(out))
    });
    map.add("substr", fixed(&[INT, INT, STR]), |a| {
        substring(int_arg(a, 0), int_arg(a, 1), &str_arg(a, 2)).map(Value::from)
    });
    map.add("repeat", fixed(&[INT, STR]), |a| {
        let count = int_arg(a, 0);
        if count < 0 {
            return Err(fail("strings: negative Repeat count"));
        }
        let s = str_arg(a, 1);
        check_size((s.len() as u128) * (count as u128))?;
        Ok(Value::from(s.repeat(count as usize)))
    });
    for name in ["trimall", "trimAll"] {
        map.add(name, fixed(&[STR, STR]), |a| {
            let cutset: Vec<char> = str_arg(a, 0).chars().collect();
            Ok(Value::from(str_arg(a, 1).trim_matches(cutset.as_slice())))
        });
    }
    map.add("trimSuffix", fixed(&[STR, STR]), |a| {
        let (suffix, s) = (str_arg(a, 0), str_arg(a, 1));
        Ok(Value::from(s.strip_suffix(suffix.as_str()).unwrap_or(&s)))
    });
    map.add("trimPrefix", fixed(&[STR, STR]), |a| {
        let (prefix, s) = (str_arg(a, 0), str_arg(a, 1));
        Ok(Value::from(s.strip_prefix(prefix.as_str()).unwrap_or(&s)))
    });
    map.add("nospace", fixed(&[STR]), |a| {
        Ok(Value::from(str_arg(a, 0).chars().filter(|c| !is_go_space(*c)).collect::<String>()))
    });
    map.add("initials", fixed(&[STR]), |a| Ok(Value::from(initials(&str_arg(a, 0)))));
    map.add("randAlphaNum", fixed(&[INT]), |a| random_string(int_arg(a, 0), ALNUM).map(Value::from));
    map.add("randAlpha", fixed(&[INT]), |a| random_string(int_arg(a, 0), &ALNUM[10..]).map(Value::from));
    map.add("randNumeric", fixed(&[INT]), |a| random_string(int_arg(a, 0), &ALNUM[..10]).map(Value::from));
    map.add("randAscii", fixed(&[INT]), |a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        random_string(int_arg(a, 0), &printable).map(Value::from)
    });
    map.add("swapcase", fixed(&[STR]), |a| {
        let s = str_arg(a, 0);
        let out: String = s
            .chars()
            .map(|c| {
                if c.is_uppercase() || is_title(c) {
                    simple_lower(c)
                } else if c.is_lowercase() {
                    simple_upper(c)
                } else {
                    c
                }
            })
            .collect();
        Ok(Value::from(out))
    });
    map.add("shuffle", fixed(&[STR]), |a| {
        let mut chars: Vec<char> = str_arg(a, 0).chars().collect();
        let mut rng = rand::rng();
        for i in (1..chars.len()).rev() {
            let j = rng.random_range(0..=i);
            chars.swap(i, j);
        }
        Ok(Value::from(chars.into_iter().collect::<String>()))
    });
    map.add("snakecase", fixed(&[STR]), |a| Ok(Value::from(to_lower_case_words(&str_arg(a, 0), '_'))));
    map.add("kebabcase", fixed(&[STR]), |a| Ok(Value::from(to_lower_case_words(&str_arg(a, 0), '-'))));
    map.add("camelcase", fixed(&[STR]), |a| Ok(Value::from(camel_case(&str_arg(a, 0)))));
    map.add("wrap", fixed(&[INT, STR]), |a| Ok(Value::from(wrap_custom(&str_arg(a, 1), int_arg(a, 0), "\n", false))));
    map.add("wrapWith", fixed(&[INT, STR, STR]), |a| {
        Ok(Value::from(wrap_custom(&str_arg(a, 2), int_arg(a, 0), &str_arg(a, 1), true)))
    });
    map.add("contains", fixed(&[STR, STR]), |a| Ok(Value::Bool(str_arg(a, 1).contains(str_arg(a, 0).as_str()))));
    map.add("hasPrefix", fixed(&[STR, STR]), |a| Ok(Value::Bool(str_arg(a, 1).starts_with(str_arg(a, 0).as_str()))));
    map.add("hasSuffix", fixed(&[STR, STR]), |a| Ok(Value::Bool(str_arg(a, 1).ends_with(str_arg(a, 0).as_str()))));
    map.add("quote", variadic(&[], ANY), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(|v| go_quote(&strval(v))).collect();
        Ok(Value::from(parts.join(" ")))
    });
    map.add("squote", variadic(&[], ANY), |a| {
        let parts: Vec<String> =
            a.iter().filter(|v| !v.is_nil()).map(|v| format!("'{}'", crate::format::sprint(v))).collect();
        Ok(Value::from(parts.join(" ")))
    });
    map.add("cat", variadic(&[], ANY), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(crate::format::sprint).collect();
        Ok(Value::from(parts.join(" ")))
    });
    map.add("indent", fixed(&[INT, STR]), |a| indent(int_arg(a, 0), &str_arg(a, 1)).map(Value::from));
    map.add("nindent", fixed(&[INT, STR]), |a| {
        Ok(Value::from(format!("\n{}", indent(int_arg(a, 0), &str_arg(a, 1))?)))
    });
    map.add("replace", fixed(&[STR, STR, STR]), |a| {
        go_replace(&str_arg(a, 2), &str_arg(a, 0), &str_arg(a, 1)).map(Value::from)
    });
    map.add("plural", fixed(&[STR, STR, INT]), |a| {
        Ok(Value::from(if int_arg(a, 2) == 1 { str_arg(a, 0) } else { str_arg(a, 1) }))
    });
    map.add("split", fixed(&[STR, STR]), |a| Ok(numbered_parts(go_split(&str_arg(a, 1), &str_arg(a, 0), -1))));
    map.add("splitn", fixed(&[STR, INT, STR]), |a| {
        Ok(numbered_parts(go_split(&str_arg(a, 2), &str_arg(a, 0), int_arg(a, 1))))
    });
    map.add("splitList", fixed(&[STR, STR]), |a| Ok(Value::string_list(go_split(&str_arg(a, 1), &str_arg(a, 0), -1))));
    map.add("join", fixed(&[STR, ANY]), |a| {
        let sep = str_arg(a, 0);
        let parts = super::conversion::to_strings(arg(a, 1));
        Ok(Value::from(list_strings(&parts).join(&sep)))
    });
    map.add("sortAlpha", fixed(&[ANY]), |a| {
        let v = arg(a, 0);
        if super::slice_items(v).is_none() {
            return Ok(Value::string_list([strval(v)]));
        }
        let mut items = list_strings(&super::conversion::to_strings(v));
        items.sort();
        Ok(Value::string_list(items))
    });
}

/// The strings of a `[]string` value.
fn list_strings(v: &Value) -> Vec<String> {
    match v {
        Value::List(items, _) => items.iter().map(strval).collect(),
        _ => Vec::new(),
    }
}

/// `split`'s and `splitn`'s result: `map[string]string` keyed `_0`, `_1`, ...
fn numbered_parts(parts: Vec<String>) -> Value {
    let map = Value::map(parts.into_iter().enumerate().map(|(i, p)| (format!("_{i}"), Value::from(p))));
    match map {
        Value::Map(ref m, _) => Value::Map(m.clone(), MapType::String),
        other => other,
    }
}

/// `strings.SplitN(s, sep, n)` (`n < 0`: all parts; `n == 0`: none).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        // Split into UTF-8 sequences; the last part holds the rest.
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if out.len() + 1 == limit {
                out.push(rest.to_owned());
                return out;
            }
            let c = rest.chars().next().map_or(1, char::len_utf8);
            out.push(rest[..c].to_owned());
            rest = &rest[c..];
        }
        return out;
    }
    s.splitn(limit, sep).map(str::to_owned).collect()
}

/// `strings.Replace(s, old, new, -1)`; an empty `old` matches before every rune and at the end.
fn go_replace(s: &str, old: &str, new: &str) -> Result<String, crate::FuncError> {
    let count = if old.is_empty() { s.chars().count() + 1 } else { s.matches(old).count() };
    check_size(s.len() as u128 + count as u128 * new.len() as u128)?;
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return Ok(out);
    }
    Ok(s.replace(old, new))
}

fn indent(spaces: i64, v: &str) -> Result<String, crate::FuncError> {
    if spaces < 0 {
        return Err(fail("strings: negative Repeat count"));
    }
    let lines = v.bytes().filter(|&b| b == b'\n').count() as u128 + 1;
    check_size(v.len() as u128 + lines * spaces as u128)?;
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

/// Fails when a string of `len` bytes would exceed [`MAX_VALUE_BYTES`].
fn check_size(len: u128) -> Result<(), crate::FuncError> {
    if len > MAX_VALUE_BYTES as u128 {
        return Err(fail(format!("a string of {len} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes")));
    }
    Ok(())
}

/// Go's `s[start:end]`, on the bytes the string stands for (`go_string`).
fn byte_slice(s: &str, start: usize, end: usize) -> String {
    from_bytes(&to_bytes(s)[start..end]).into_owned()
}

/// Sprig's `substring`, with Go's slice-bounds panics as errors.
fn substring(start: i64, end: i64, s: &str) -> Result<String, crate::FuncError> {
    let len = byte_len(s) as i64;
    if start < 0 {
        if end < 0 {
            return Err(fail(format!("runtime error: slice bounds out of range [:{end}]")));
        }
        if end > len {
            return Err(fail(format!("runtime error: slice bounds out of range [:{end}] with length {len}")));
        }
        return Ok(byte_slice(s, 0, end as usize));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(fail(format!("runtime error: slice bounds out of range [{start}:{len}]")));
        }
        return Ok(byte_slice(s, start as usize, len as usize));
    }
    if start > end {
        return Err(fail(format!("runtime error: slice bounds out of range [{start}:{end}]")));
    }
    Ok(byte_slice(s, start as usize, end as usize))
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
        || (c > '\u{ff}' && c.is_whitespace())
}

/// Go's `unicode.ToTitle` for the letters whose title case is not their upper case.
fn title_case(c: char) -> char {
    match c {
        '\u{1c4}'..='\u{1c6}' => '\u{1c5}',
        '\u{1c7}'..='\u{1c9}' => '\u{1c8}',
        '\u{1ca}'..='\u{1cc}' => '\u{1cb}',
        '\u{1f1}'..='\u{1f3}' => '\u{1f2}',
        c => simple_upper(c),
    }
}

/// Whether `c` is a title-case letter (Unicode Lt).
fn is_title(c: char) -> bool {
    matches!(c, '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}')
        || ('\u{1f88}'..='\u{1faf}').contains(&c) && (c as u32 & 0xf) >= 8
        || matches!(c, '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn simple_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// `strings.ToUpper`: rune by rune, with single-rune mappings.
pub(crate) fn go_upper(s: &str) -> String {
    s.chars().map(simple_upper).collect()
}

/// `strings.ToLower`.
pub(crate) fn go_lower(s: &str) -> String {
    s.chars().map(simple_lower).collect()
}

/// `strings.Title`: the first letter of each word in title case.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_case(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `Initials`: the first byte of each whitespace-separated word.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for b in s.bytes() {
        let c = char::from(b);
        if is_go_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_owned();
    }
    abbreviate_full(s, 0, width)
}

/// goutils' `AbbreviateFull` (its errors give an empty string).
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> String {
    let len = byte_len(s) as i64;
    if s.is_empty() || max_width < 4 {
        return String::new();
    }
    if len <= max_width {
        return s.to_owned();
    }
    // Go's integers wrap.
    let mut offset = offset.min(len);
    if len.wrapping_sub(offset) < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return format!("{}...", byte_slice(s, 0, (max_width - 3) as usize));
    }
    if max_width < 7 {
        return String::new();
    }
    if offset.wrapping_add(max_width - 3) < len {
        let rest = byte_slice(s, offset as usize, len as usize);
        return format!("...{}", abbreviate_full(&rest, 0, max_width - 3));
    }
    format!("...{}", byte_slice(s, (len - (max_width - 3)) as usize, len as usize))
}

/// goutils' `WrapCustom`.
fn wrap_custom(s: &str, wrap_length: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wrap_length = wrap_length.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > wrap_length {
        // Past the limit the executor rejects the result; stop building it.
        if out.len() > MAX_VALUE_BYTES {
            break;
        }
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (wrap_length + offset + 1).min(len);
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(space) = space.map(|p| p + offset) {
            out.extend_from_slice(&b[offset..space]);
            out.extend_from_slice(newline.as_bytes());
            offset = space + 1;
        } else if wrap_long_words {
            let end = wrap_length + offset;
            out.extend_from_slice(&b[offset..end]);
            out.extend_from_slice(newline.as_bytes());
            offset += wrap_length;
        } else {
            let end = wrap_length + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(index) => {
                    let space = index + end;
                    out.extend_from_slice(&b[offset..space]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = space + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// Characters goutils draws random strings from: digits, then letters.
const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn random_string(count: i64, chars: &[u8]) -> Result<String, crate::FuncError> {
    if count <= 0 {
        return Ok(String::new());
    }
    check_size(count as u128)?;
    let mut rng = rand::rng();
    Ok((0..count).map(|_| char::from(chars[rng.random_range(0..chars.len())])).collect())
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_go_space(c)
}

/// xstrings' `ToCamelCase`.
fn camel_case(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut r0 = None;
    let mut first_upper = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = Some(simple_upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else { return out };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = simple_upper(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = simple_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordKind {
    Alpha,
    Number,
    Connector,
    Punct,
}

/// Splits for snake and kebab case: words at case changes (`HTTPServer` is `HTTP` and
/// `Server`), numbers, connectors (`-`, `_`, spaces) and other punctuation.
fn words(s: &str) -> Vec<(WordKind, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<(WordKind, String)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_connector(c) {
            out.push((WordKind::Connector, c.to_string()));
            i += 1;
        } else if c.is_numeric() {
            let start = i;
            while i < chars.len() && chars[i].is_numeric() {
                i += 1;
            }
            out.push((WordKind::Number, chars[start..i].iter().collect()));
        } else if c.is_alphabetic() {
            let start = i;
            if c.is_uppercase() {
                let mut j = i;
                while j < chars.len() && chars[j].is_uppercase() {
                    j += 1;
                }
                if j - i > 1 {
                    // An acronym; its last capital starts the next word when a lower follows.
                    let end = if j < chars.len() && chars[j].is_lowercase() { j - 1 } else { j };
                    out.push((WordKind::Alpha, chars[start..end].iter().collect()));
                    i = end;
                    continue;
                }
                i += 1;
            }
            while i < chars.len() && chars[i].is_alphabetic() && !chars[i].is_uppercase() {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push((WordKind::Alpha, chars[start..i].iter().collect()));
        } else {
            out.push((WordKind::Punct, c.to_string()));
            i += 1;
        }
    }
    out
}

/// xstrings' `ToSnakeCase` / `ToKebabCase`: lower-case words joined by `connector`.
fn to_lower_case_words(s: &str, connector: char) -> String {
    let words = words(s);
    let mut out = String::new();
    let mut need_sep = false;
    let mut i = 0;
    while i < words.len() {
        let (kind, word) = &words[i];
        match kind {
            WordKind::Connector => {
                out.push(connector);
                need_sep = false;
            }
            WordKind::Punct => {
                out.push_str(word);
                need_sep = false;
            }
            WordKind::Number => {
                let next_lower = words
                    .get(i + 1)
                    .is_some_and(|(k, w)| *k == WordKind::Alpha && w.chars().next().is_some_and(char::is_lowercase));
                if next_lower {
                    if need_sep {
                        out.push(connector);
                    }
                    out.push_str(word);
                    out.push_str(&go_lower(&words[i + 1].1));
                    i += 1;
                } else {
                    out.push_str(word);
                }
                need_sep = true;
            }
            WordKind::Alpha => {
                if need_sep {
                    out.push(connector);
                }
                out.push_str(&go_lower(word));
                need_sep = true;
            }
        }
        i += 1;
    }
    out
}

pub(crate) use crate::format::go_quote;

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Value;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn case_changes_match_xstrings() {
        let cases = [
            ("camelcase", "http_server", "HttpServer"),
            ("camelcase", "HTTP_SERVER", "HttpServer"),
            ("camelcase", "foo-bar baz", "FooBarBaz"),
            ("camelcase", "_foo_bar", "_FooBar"),
            ("camelcase", "fooBar", "FooBar"),
            ("camelcase", "a", "A"),
            ("camelcase", "__a__b", "__A_B"),
            ("snakecase", "FirstName", "first_name"),
            ("snakecase", "HTTPServer", "http_server"),
            ("snakecase", "firstName2Go", "first_name2_go"),
            ("snakecase", "foo-bar baz", "foo_bar_baz"),
            ("snakecase", "ID", "id"),
            ("snakecase", "a1b", "a_1b"),
            ("snakecase", "v1.2Beta", "v1.2_beta"),
            ("snakecase", "__x", "__x"),
            ("snakecase", "Abc123Def", "abc123_def"),
            ("snakecase", "abc123", "abc123"),
            ("snakecase", "ABC123def", "abc_123def"),
            ("kebabcase", "FirstName", "first-name"),
            ("kebabcase", "HTTPServer", "http-server"),
            ("kebabcase", "foo_bar", "foo-bar"),
        ];
        for (func, input, want) in cases {
            assert_eq!(show(func, &[s(input)]), want, "{func} {input:?}");
        }
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn goutils_functions_match() {
        let text = s("hello world foo barbazqux x");
        assert_eq!(show("wrap", &[i(5), text.clone()]), "hello\nworld\nfoo\nbarbazqux\nx");
        assert_eq!(show("wrapWith", &[i(5), s("\t"), text]), "hello\tworld\tfoo\tbarba\tzqux\tx");
        assert_eq!(show("abbrev", &[i(5), s("hello world")]), "he...");
        assert_eq!(show("abbrevboth", &[i(5), i(10), s("1234567890abcdefghij")]), "...6789...");
        assert_eq!(show("initials", &[s("hello big  world")]), "hbw");
        assert_eq!(show("title", &[s("hello wORLD-foo_bar x.y")]), "Hello WORLD-Foo_bar X.Y");
        assert_eq!(show("untitle", &[s("Hello World")]), "hello world");
        assert_eq!(show("swapcase", &[s("Hello World")]), "hELLO wORLD");
        assert_eq!(show("nospace", &[s(" a b\tc ")]), "abc");
        assert_eq!(show("title", &[s("ǆemal")]), "ǅemal");
        assert_eq!(show("upper", &[s("ß straße")]), "ß STRAßE");
        assert_eq!(show("lower", &[s("İ")]), "i");
        assert_eq!(show("swapcase", &[s("ǅ")]), "ǆ");
        assert_eq!(show("indent", &[i(-1), s("a")]), "ERR: strings: negative Repeat count");
        assert_eq!(show("substr", &[i(-1), i(-1), s("abc")]), "ERR: runtime error: slice bounds out of range [:-1]");
    }

    #[test]
    fn quote_skips_nil_and_escapes_like_go() {
        assert_eq!(show("quote", &[s("a\"b\n"), Value::Nil, i(3)]), "\"a\\\"b\\n\" \"3\"");
        assert_eq!(show("squote", &[s("x"), Value::Nil]), "'x'");
        assert_eq!(show("cat", &[s("a"), Value::Nil, i(1)]), "a 1");
    }
}
