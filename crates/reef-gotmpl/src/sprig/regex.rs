//! Regular expressions with Go's RE2 syntax. The `regex` crate implements RE2's syntax; the
//! difference that matters is that Go's `\d`, `\w`, `\s` and `\b` are ASCII-only, which
//! [`compile`] keeps by rewriting them.

use regex::Regex;

use crate::func::{FuncError, FuncMap};
use crate::value::Value;

use super::sig::{INT, STR, fixed};
use super::{fail, int_arg, str_arg};

/// Compiles a Go regular expression; the error text is Go's `regexp.Compile` prefix plus
/// the reason.
pub(crate) fn compile(pattern: &str) -> Result<Regex, FuncError> {
    Regex::new(&translate(pattern)).map_err(|e| fail(format!("error parsing regexp: {}", go_reason(pattern, &e))))
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
fn must_compile(pattern: &str) -> Result<Regex, FuncError> {
    compile(pattern).map_err(|e| fail(format!("regexp: Compile(`{pattern}`): {e}")))
}

/// Rewrites Perl classes to Go's ASCII meaning.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match n {
                    'd' => Some(("0-9", "[0-9]")),
                    'D' => Some(("", "[^0-9]")),
                    'w' => Some(("0-9A-Za-z_", "[0-9A-Za-z_]")),
                    'W' => Some(("", "[^0-9A-Za-z_]")),
                    's' => Some(("\\t\\n\\x0C\\r ", "[\\t\\n\\x0C\\r ]")),
                    'S' => Some(("", "[^\\t\\n\\x0C\\r ]")),
                    _ => None,
                };
                match (class, in_class) {
                    (Some((inside, _)), true) if !inside.is_empty() => out.push_str(inside),
                    (Some((_, outside)), false) => out.push_str(outside),
                    _ if !in_class && (n == 'b' || n == 'B') => {
                        out.push_str(&format!("(?-u:\\{n})"));
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A POSIX class like [:alpha:].
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
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
        Ok(find_all(&must_compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("mustRegexFindAll", fixed(&[STR, STR, INT]), |a| {
        Ok(find_all(&compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
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
        Ok(Value::from(re.replace_all(&str_arg(a, 1), str_arg(a, 2).as_str()).into_owned()))
    });
    map.add("mustRegexReplaceAll", fixed(&[STR, STR, STR]), |a| {
        let re = compile(&str_arg(a, 0))?;
        Ok(Value::from(re.replace_all(&str_arg(a, 1), str_arg(a, 2).as_str()).into_owned()))
    });
    map.add("regexReplaceAllLiteral", fixed(&[STR, STR, STR]), |a| {
        let re = must_compile(&str_arg(a, 0))?;
        let repl = str_arg(a, 2);
        Ok(Value::from(re.replace_all(&str_arg(a, 1), regex::NoExpand(&repl)).into_owned()))
    });
    map.add("mustRegexReplaceAllLiteral", fixed(&[STR, STR, STR]), |a| {
        let re = compile(&str_arg(a, 0))?;
        let repl = str_arg(a, 2);
        Ok(Value::from(re.replace_all(&str_arg(a, 1), regex::NoExpand(&repl)).into_owned()))
    });
    map.add("regexSplit", fixed(&[STR, STR, INT]), |a| {
        Ok(split(&must_compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
    });
    map.add("mustRegexSplit", fixed(&[STR, STR, INT]), |a| {
        Ok(split(&compile(&str_arg(a, 0))?, &str_arg(a, 1), int_arg(a, 2)))
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
}
