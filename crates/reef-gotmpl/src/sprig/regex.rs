//! Regular expressions with Go's RE2 syntax. The `regex` crate implements RE2's syntax; the
//! difference that matters is that Go's `\d`, `\w`, `\s` and `\b` are ASCII-only, which
//! [`compile`] keeps by rewriting them.

use std::rc::Rc;

use regex::Regex;

use crate::func::{FuncError, FuncMap};
use crate::value::{MAX_VALUE_BYTES, Value};

use super::sig::{INT, STR, fixed};
use super::{fail, int_arg, str_arg};

/// Compiles a Go regular expression; the error text is Go's `regexp.Compile` prefix plus
/// the reason.
pub(crate) fn compile(pattern: &str) -> Result<Rc<Regex>, FuncError> {
    if let Some(re) = COMPILED.with_borrow(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let translated = translate(pattern).map_err(|reason| fail(format!("error parsing regexp: {reason}")))?;
    let re = Regex::new(&translated).map_err(|e| fail(format!("error parsing regexp: {}", go_reason(pattern, &e))))?;
    let re = Rc::new(re);
    if pattern.len() <= MAX_CACHED_PATTERN {
        COMPILED.with_borrow_mut(|c| {
            if c.len() >= MAX_COMPILED {
                c.clear();
            }
            c.insert(pattern.to_owned(), re.clone());
        });
    }
    Ok(re)
}

/// How many compiled patterns [`COMPILED`] keeps before it starts over, and the longest
/// pattern it keeps: together they bound the memory the cache can hold.
const MAX_COMPILED: usize = 32;
const MAX_CACHED_PATTERN: usize = 256;

thread_local! {
    /// Patterns compiled before, by their Go text: charts call the regex functions with the
    /// same few constant patterns again and again (Bitnami's common library on every image),
    /// and compiling is far costlier than matching. Kept behind `Rc`: a `Regex` clone shares
    /// the compiled form but starts with no match caches, and building those on every call
    /// costs more than the match itself.
    static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Rc<Regex>>> =
        std::cell::RefCell::default();
}

/// Go's `regexp/syntax` wording for why `pattern` does not parse: the error code and the
/// offending text.
fn go_reason(pattern: &str, e: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let Err(err) = regex_syntax::ast::parse::Parser::new().parse(pattern) else {
        let reason = e.to_string();
        let last = reason.lines().rev().find(|l| l.starts_with("error:")).unwrap_or("invalid");
        return format!("{}: `{pattern}`", last.trim_start_matches("error: "));
    };
    let span = err.span();
    let fragment = pattern.get(span.start.offset..span.end.offset).unwrap_or(pattern);
    let from_start = pattern.get(span.start.offset..).unwrap_or(pattern);
    let (code, text) = match err.kind() {
        K::GroupUnclosed => ("missing closing )", pattern),
        K::GroupUnopened => ("unexpected )", pattern),
        K::ClassUnclosed => ("missing closing ]", from_start),
        K::ClassRangeInvalid => ("invalid character class range", fragment),
        K::RepetitionMissing => {
            let op = match from_start.chars().next() {
                Some('{') => from_start.find('}').map_or(from_start, |end| &from_start[..=end]),
                Some(c) => &from_start[..c.len_utf8()],
                None => fragment,
            };
            ("missing argument to repetition operator", op)
        }
        K::RepetitionCountInvalid => ("invalid repeat count", fragment),
        K::EscapeUnrecognized | K::EscapeUnexpectedEof => ("invalid escape sequence", fragment),
        K::FlagUnrecognized | K::FlagUnexpectedEof | K::FlagDanglingNegation => {
            ("invalid or unsupported Perl syntax", fragment)
        }
        K::UnsupportedLookAround | K::UnsupportedBackreference => ("invalid or unsupported Perl syntax", fragment),
        K::GroupNameInvalid | K::GroupNameEmpty => ("invalid named capture", fragment),
        K::GroupNameDuplicate { .. } => ("duplicate capture group name", fragment),
        _ => {
            let reason = err.kind().to_string();
            return format!("{reason}: `{pattern}`");
        }
    };
    format!("{code}: `{text}`")
}

/// `regexp.MustCompile`'s panic text.
fn must_compile(pattern: &str) -> Result<Rc<Regex>, FuncError> {
    compile(pattern).map_err(|e| fail(format!("regexp: Compile(`{pattern}`): {e}")))
}

/// Go's Perl classes, which are ASCII-only (the `regex` crate's are Unicode): each as the
/// contents of a class, and whether it is negated.
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    Some(match c {
        'd' => ("0-9", false),
        'D' => ("0-9", true),
        'w' => ("0-9A-Za-z_", false),
        'W' => ("0-9A-Za-z_", true),
        's' => (r"\t\n\x0C\r ", false),
        'S' => (r"\t\n\x0C\r ", true),
        _ => return None,
    })
}

/// A character as the `regex` crate reads it literally, in a class or out of one: letters,
/// digits and non-ASCII as they are, anything else as a hex escape (so `-`, `&&`, `~~`, `[`
/// never mean a range, a set operation or a nested class).
fn literal(c: char, out: &mut String) {
    if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// Go's `parseEscape` for a character escape (after the backslash): the character and the
/// rest of the pattern. `None` for an escape that is not a single character (`\d`, `\pL`,
/// `\b`, a bad one), which the caller handles or passes on.
fn char_escape(t: &str) -> Option<(char, &str)> {
    let mut chars = t.chars();
    let c = chars.next()?;
    let rest = chars.as_str();
    let octal = |s: &str| s.as_bytes().first().is_some_and(|b| (b'0'..=b'7').contains(b));
    match c {
        // `\1`..`\7` alone would be a backreference, which Go rejects; with another octal
        // digit after it, and `\0` always, it is an octal escape of up to three digits.
        '1'..='7' | '0' if c == '0' || octal(rest) => {
            let mut value = c as u32 - '0' as u32;
            let mut rest = rest;
            for _ in 0..2 {
                if !octal(rest) {
                    break;
                }
                value = value * 8 + u32::from(rest.as_bytes()[0] - b'0');
                rest = &rest[1..];
            }
            Some((char::from_u32(value)?, rest))
        }
        'x' => {
            if let Some(braced) = rest.strip_prefix('{') {
                let end = braced.find('}')?;
                let value = u32::from_str_radix(&braced[..end], 16).ok()?;
                Some((char::from_u32(value)?, &braced[end + 1..]))
            } else {
                let hex = rest.get(..2)?;
                Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, &rest[2..]))
            }
        }
        'a' => Some(('\u{7}', rest)),
        'f' => Some(('\u{c}', rest)),
        'n' => Some(('\n', rest)),
        'r' => Some(('\r', rest)),
        't' => Some(('\t', rest)),
        'v' => Some(('\u{b}', rest)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some((c, rest)),
        _ => None,
    }
}

/// `\p{Greek}`, `\pL`, `\P{...}` at the start of `t` (after the backslash): its text.
fn unicode_class(t: &str) -> Option<&str> {
    let rest = t.strip_prefix(['p', 'P'])?;
    if rest.starts_with('{') {
        rest.find('}').map(|end| &t[..end + 2])
    } else {
        rest.chars().next().map(|c| &t[..1 + c.len_utf8()])
    }
}

/// Whether `t` (after a `{`) is a repetition count Go accepts: `n}`, `n,}` or `n,m}`.
fn is_repeat(t: &str) -> bool {
    let Some(end) = t.find('}') else { return false };
    let (min, max) = match t[..end].split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (&t[..end], None),
    };
    // Go's `parseInt` refuses a leading zero (`{01}` is literal text).
    let digits =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !(s.len() > 1 && s.starts_with('0'));
    digits(min) && max.is_none_or(|m| m.is_empty() || digits(m))
}

/// A class `[...]` at the start of `t` (after the `[`), read as Go's `parseClass` reads it:
/// its translation and the rest of the pattern; `Ok(None)` when it does not parse (the
/// pattern is then compiled as it is, for the `regex` crate's error); `Err` with Go's reason
/// for a range that runs backwards, which the `regex` crate could read as a set difference.
fn translate_class(t: &str) -> Result<Option<(String, &str)>, String> {
    let mut out = String::from("[");
    let mut t = t;
    if let Some(rest) = t.strip_prefix('^') {
        out.push('^');
        t = rest;
    }
    let mut first = true;
    loop {
        if t.starts_with(']') && !first {
            out.push(']');
            return Ok(Some((out, &t[1..])));
        }
        first = false;
        if t.starts_with("[:") {
            let Some(end) = t.find(":]") else { return Ok(None) };
            out.push_str(&t[..end + 2]);
            t = &t[end + 2..];
            continue;
        }
        if let Some(rest) = t.strip_prefix('\\') {
            if let Some(class) = unicode_class(rest) {
                out.push('\\');
                out.push_str(class);
                t = &rest[class.len()..];
                continue;
            }
            if let Some((set, negated)) = rest.chars().next().and_then(perl_class) {
                out.push_str(&if negated { format!("[^{set}]") } else { set.to_owned() });
                t = &rest[1..];
                continue;
            }
        }
        let range_start = t;
        let Some((lo, rest)) = class_char(t) else { return Ok(None) };
        t = rest;
        literal(lo, &mut out);
        // `[a-]` is `a` or `-`; otherwise `-` after a character makes a range.
        if let Some(rest) = t.strip_prefix('-')
            && !rest.starts_with(']')
            && !rest.is_empty()
        {
            let Some((hi, rest)) = class_char(rest) else { return Ok(None) };
            if hi < lo {
                let text = &range_start[..range_start.len() - rest.len()];
                return Err(format!("invalid character class range: `{text}`"));
            }
            out.push('-');
            literal(hi, &mut out);
            t = rest;
        }
    }
}

/// Go's `parseClassChar`: one character of a class, escaped or not.
fn class_char(t: &str) -> Option<(char, &str)> {
    match t.strip_prefix('\\') {
        Some(rest) => char_escape(rest),
        None => {
            let c = t.chars().next()?;
            Some((c, &t[c.len_utf8()..]))
        }
    }
}

/// Rewrites a Go (RE2) pattern into the `regex` crate's syntax where the two differ: Perl
/// classes and `\b` are ASCII-only; a class takes `-` after a class escape, and `&&`, `--`
/// and `~~`, as literal characters; `\Q...\E` quotes; `\0`, `\12` are octal; `\<` and
/// `\>` are the characters; a `{` that does not start a repetition count is a literal. What
/// Go would reject is left for the `regex` crate to reject, but for a backwards class range.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut t = pattern;
    while let Some(c) = t.chars().next() {
        let rest = &t[c.len_utf8()..];
        match c {
            '\\' => {
                let Some(n) = rest.chars().next() else {
                    out.push('\\');
                    break;
                };
                let after = &rest[n.len_utf8()..];
                if let Some((set, negated)) = perl_class(n) {
                    out.push_str(&format!("[{}{set}]", if negated { "^" } else { "" }));
                    t = after;
                } else if n == 'b' || n == 'B' {
                    out.push_str(&format!("(?-u:\\{n})"));
                    t = after;
                } else if n == 'Q' {
                    let (quoted, next) = after.split_once("\\E").unwrap_or((after, ""));
                    quoted.chars().for_each(|q| literal(q, &mut out));
                    t = next;
                } else if let Some(class) = unicode_class(rest) {
                    out.push('\\');
                    out.push_str(class);
                    t = &rest[class.len()..];
                } else if let Some((ch, next)) = char_escape(rest) {
                    literal(ch, &mut out);
                    t = next;
                } else {
                    // `\A`, `\z`, or an escape Go rejects.
                    out.push('\\');
                    out.push(n);
                    t = after;
                }
            }
            '[' => match translate_class(rest)? {
                Some((class, next)) => {
                    out.push_str(&class);
                    t = next;
                }
                None => return Ok(pattern.to_owned()),
            },
            '{' if !is_repeat(rest) => {
                out.push_str(r"\{");
                t = rest;
            }
            c => {
                out.push(c);
                t = rest;
            }
        }
    }
    Ok(out)
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `ReplaceAllString` (`expand`: `$1` in `repl` is the group) or `ReplaceAllLiteralString`,
/// failing when the result could exceed [`MAX_VALUE_BYTES`]: each match adds `repl`, and
/// each `$` of it at most `s` once over all matches (the matches do not overlap).
fn replace_all(re: &Regex, s: &str, repl: &str, expand: bool) -> Result<Value, FuncError> {
    let matches = re.find_iter(s).count() as u128;
    let refs = if expand { repl.matches('$').count() as u128 } else { 0 };
    let bound = s.len() as u128 + matches * repl.len() as u128 + refs * s.len() as u128;
    if bound > MAX_VALUE_BYTES as u128 {
        return Err(fail(format!("the replacement could exceed the limit of {MAX_VALUE_BYTES} bytes")));
    }
    Ok(Value::from(if expand {
        re.replace_all(s, repl).into_owned()
    } else {
        re.replace_all(s, regex::NoExpand(repl)).into_owned()
    }))
}

fn find_all(re: &Regex, s: &str, n: i64) -> Value {
    let limit = if n < 0 { usize::MAX } else { n as usize };
    Value::string_list(re.find_iter(s).take(limit).map(|m| m.as_str().to_owned()))
}

/// Go's `Regexp.Split`.
fn split(re: &Regex, s: &str, n: i64) -> Value {
    if n == 0 {
        return Value::List(Vec::new().into(), crate::value::ListType::String);
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return Value::string_list([""]);
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut parts: Vec<String> = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s).take(limit) {
        if n > 0 && parts.len() == limit - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            parts.push(s[beg..end].to_owned());
        }
        beg = m.end();
    }
    if end != s.len() {
        parts.push(s[beg..].to_owned());
    }
    Value::string_list(parts)
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("regexMatch", fixed(&[STR, STR]), |a| {
        Ok(Value::Bool(compile(&str_arg(a, 0)).is_ok_and(|re| re.is_match(&str_arg(a, 1)))))
    });
    map.add("mustRegexMatch", fixed(&[STR, STR]), |a| {
        Ok(Value::Bool(compile(&str_arg(a, 0))?.is_match(&str_arg(a, 1))))
    });
    map.add("regexFindAll", fixed(&[STR, STR, INT]), |a| {
        Ok(find_all(&*must_compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("mustRegexFindAll", fixed(&[STR, STR, INT]), |a| {
        Ok(find_all(&*compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("regexFind", fixed(&[STR, STR]), |a| {
        let s = str_arg(a, 1);
        Ok(Value::from(must_compile(&str_arg(a, 0))?.find(&s).map_or("", |m| m.as_str())))
    });
    map.add("mustRegexFind", fixed(&[STR, STR]), |a| {
        let s = str_arg(a, 1);
        Ok(Value::from(compile(&str_arg(a, 0))?.find(&s).map_or("", |m| m.as_str())))
    });
    map.add("regexReplaceAll", fixed(&[STR, STR, STR]), |a| {
        let re = must_compile(&str_arg(a, 0))?;
        replace_all(&re, &str_arg(a, 1), &str_arg(a, 2), true)
    });
    map.add("mustRegexReplaceAll", fixed(&[STR, STR, STR]), |a| {
        let re = compile(&str_arg(a, 0))?;
        replace_all(&re, &str_arg(a, 1), &str_arg(a, 2), true)
    });
    map.add("regexReplaceAllLiteral", fixed(&[STR, STR, STR]), |a| {
        let re = must_compile(&str_arg(a, 0))?;
        replace_all(&re, &str_arg(a, 1), &str_arg(a, 2), false)
    });
    map.add("mustRegexReplaceAllLiteral", fixed(&[STR, STR, STR]), |a| {
        let re = compile(&str_arg(a, 0))?;
        replace_all(&re, &str_arg(a, 1), &str_arg(a, 2), false)
    });
    map.add("regexSplit", fixed(&[STR, STR, INT]), |a| {
        Ok(split(&*must_compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("mustRegexSplit", fixed(&[STR, STR, INT]), |a| {
        Ok(split(&*compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("regexQuoteMeta", fixed(&[STR]), |a| Ok(Value::from(quote_meta(&str_arg(a, 0)))));
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        assert_eq!(show("regexFindAll", &[s(r"\d+"), s("a12b٣4"), i(-1)]), "[12 4]");
        assert_eq!(show("regexFindAll", &[s(r"[\d.]+"), s("v1.2 x"), i(-1)]), "[1.2]");
        assert_eq!(show("regexMatch", &[s(r"^\w+$"), s("héllo")]), "false");
        assert_eq!(show("regexReplaceAll", &[s("a(x*)b"), s("-ab-axxb-"), s("${1}W")]), "-W-xxW-");
        assert_eq!(show("regexReplaceAllLiteral", &[s("a(x*)b"), s("-ab-"), s("$1")]), "-$1-");
        assert_eq!(show("regexSplit", &[s("z+"), s("pizza"), i(-1)]), "[pi a]");
        assert_eq!(
            show("mustRegexMatch", &[s("a{2,1}"), s("x")]),
            "ERR: error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            show("mustRegexMatch", &[s("*"), s("x")]),
            "ERR: error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(show("mustRegexMatch", &[s("("), s("x")]), "ERR: error parsing regexp: missing closing ): `(`");
        assert_eq!(show("regexQuoteMeta", &[s("1.5-2.0?")]), r"1\.5-2\.0\?");
    }

    /// Whether Go's `regexp.MatchString(pattern, text)` is true, through `regexMatch`.
    fn matches(pattern: &str, text: &str) -> bool {
        match show("mustRegexMatch", &[s(pattern), s(text)]).as_str() {
            "true" => true,
            "false" => false,
            other => panic!("{pattern}: {other}"),
        }
    }

    /// What Go's `regexp/syntax` reads where the `regex` crate's syntax differs
    /// (`parseClass`, `parseEscape`, `parseRepeat` and `\Q...\E` in Go's `parse.go`).
    #[test]
    fn go_syntax_is_read_as_go_reads_it() {
        // A `-` after a class escape, a POSIX class or a range is a literal.
        assert!(matches(r"^[\w-\.]+$", "a-b.c_d"));
        assert!(!matches(r"^[\w-\.]+$", "a b"));
        assert!(matches(r"^[[:alpha:]-9]+$", "ab-9"));
        assert!(matches(r"^[a-c-e]+$", "a-e"));
        assert!(!matches(r"^[a-c-e]+$", "d"));
        assert!(matches(r"^[a-]+$", "a-"));
        // `&&`, `--` and `~~` are characters, not set operations.
        assert!(matches(r"^[a&&b]+$", "a&b"));
        assert!(matches(r"^[a~~b]+$", "~"));
        assert_eq!(
            show("mustRegexMatch", &[s(r"[ab--c]"), s("x")]),
            "ERR: error parsing regexp: invalid character class range: `b--`"
        );
        // Negated Perl classes inside a class, and `]` first in a class.
        assert!(matches(r"^[\D]+$", "ab"));
        assert!(!matches(r"^[\D]+$", "a1"));
        assert!(matches(r"^[]a]+$", "]a"));
        assert!(matches(r"^[^]a]+$", "b"));
        // `{` that starts no repetition count is a literal.
        assert!(matches(r"^a{$", "a{"));
        assert!(matches(r"^a{x}$", "a{x}"));
        assert!(matches(r"^a{,2}$", "a{,2}"));
        assert!(matches(r"^a{01}$", "a{01}"));
        assert!(matches(r"^a{2}$", "aa"));
        // `\Q...\E` quotes; octal, hex and punctuation escapes are characters.
        assert!(matches(r"^\Q.*+\E$", ".*+"));
        assert!(!matches(r"^\Q.*\E$", "ab"));
        assert!(matches(r"^\101\x42\x{43}\0$", "ABC\0"));
        assert!(matches(r"^\<a\>$", "<a>"));
        assert!(matches(r"^[\<\-]+$", "<-"));
        // Unicode classes pass through, in a class or out of one.
        assert!(matches(r"^\p{Greek}[\pL\d]$", "αb"));
        // What Go rejects is still rejected.
        assert_eq!(
            show("mustRegexMatch", &[s(r"[z-a]"), s("x")]),
            "ERR: error parsing regexp: invalid character class range: `z-a`"
        );
    }
}
