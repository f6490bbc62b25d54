//! `pattern` and `patternProperties` are Go regular expressions (RE2 syntax, as Helm's
//! validator compiles them). Rust's `regex` reads nearly the same language; this rewrites
//! the two spellings Go accepts and Rust rejects, and words the errors of patterns Go
//! rejects as Go's `regexp/syntax` does.

use regex::Regex;

/// Compiles a Go regular expression; the error is Go's message after `error parsing regexp: `.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(e) = go_error(pattern) {
        return Err(e);
    }
    Regex::new(&translate(pattern)).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        last.strip_prefix("error: ").unwrap_or(last).to_owned()
    })
}

/// Go's spellings that Rust rejects, rewritten: a `-` right after a class escape inside a
/// class (`[\w-.]`) is a literal, and a `{` that does not start a repetition (`a{,3}`) is a
/// literal.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut class_start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let next = chars[i + 1];
            out.push(c);
            out.push(next);
            i += 2;
            if matches!(next, 'p' | 'P') && chars.get(i) == Some(&'{') {
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '}' {
                        break;
                    }
                }
            }
            let class_escape = matches!(next, 'w' | 'W' | 'd' | 'D' | 's' | 'S' | 'p' | 'P');
            if in_class && class_escape && chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                out.push_str("\\-");
                i += 1;
            }
            continue;
        }
        if in_class {
            if c == '[' && chars.get(i + 1) == Some(&':') {
                // A POSIX class, `[:alpha:]`, copied whole.
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == ']' && i >= 2 && chars[i - 2] == ':' {
                        break;
                    }
                }
                continue;
            }
            if c == ']' && i > class_start {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal.
                class_start = i + 1;
            }
            '{' if !is_repetition(&chars[i..]) => {
                out.push_str("\\{");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether `s` starts with `{n}`, `{n,}` or `{n,m}`.
fn is_repetition(s: &[char]) -> bool {
    let digits = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let n = digits(1);
    if n == 0 {
        return false;
    }
    let mut i = 1 + n;
    if s.get(i) == Some(&',') {
        i += 1;
        i += digits(i);
    }
    s.get(i) == Some(&'}')
}

/// The errors of patterns that Go rejects for a reason of its own (Perl's lookaround and
/// backreferences, which JavaScript patterns use), or that both reject, worded as Go words them.
fn go_error(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut depth = 0usize;
    let mut in_class = false;
    let mut i = 0;
    let mut class_open = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                if let Some(&d) = chars.get(i + 1)
                    && d.is_ascii_digit()
                    && d != '0'
                    && !in_class
                {
                    return Some(format!("invalid escape sequence: `\\{d}`"));
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_open = i;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                continue;
            }
            '[' if in_class && chars.get(i + 1) == Some(&':') => {
                if let Some(end) = pattern[byte_at(&chars, i)..].find(":]") {
                    i += pattern[byte_at(&chars, i)..byte_at(&chars, i) + end].chars().count() + 2;
                    continue;
                }
            }
            ']' if in_class => in_class = false,
            '(' if !in_class => {
                let rest: String = chars[i..].iter().collect();
                if rest.starts_with("(?<=") || rest.starts_with("(?<!") {
                    // Go reads a named group up to the next `>`, or to the end.
                    let end = rest.find('>').map_or(rest.len(), |e| e + 1);
                    return Some(format!("invalid named capture: `{}`", &rest[..end]));
                }
                if rest.starts_with("(?=") || rest.starts_with("(?!") {
                    return Some(format!("invalid or unsupported Perl syntax: `{}`", &rest[..3]));
                }
                depth += 1;
            }
            ')' if !in_class => {
                if depth == 0 {
                    return Some(format!("unexpected ): `{pattern}`"));
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_class {
        let from: String = chars[class_open..].iter().collect();
        return Some(format!("missing closing ]: `{from}`"));
    }
    if depth > 0 {
        return Some(format!("missing closing ): `{pattern}`"));
    }
    None
}

fn byte_at(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        compile(pattern).map(|r| r.is_match(text)).unwrap_or(false)
    }

    #[test]
    fn go_spellings_that_rust_rejects_compile() {
        assert!(matches(r"^[\w-\.]+$", "a-b.c"));
        assert!(!matches(r"^[\w-\.]+$", "a b"));
        assert!(matches(r"^a{,3}$", "a{,3}"));
        assert!(matches(r"^a{2}$", "aa"));
        assert!(matches(r"[[:alpha:]]", "x"));
        assert!(matches(r"[]a]", "]"));
    }

    #[test]
    fn patterns_go_rejects_fail_with_go_words() {
        assert_eq!(compile("(?!x)").err(), Some("invalid or unsupported Perl syntax: `(?!`".to_owned()));
        assert_eq!(compile("(?<=x)a").err(), Some("invalid named capture: `(?<=x)a`".to_owned()));
        assert_eq!(compile("(?<!x>)").err(), Some("invalid named capture: `(?<!x>`".to_owned()));
        assert_eq!(compile(r"(a)\1").err(), Some("invalid escape sequence: `\\1`".to_owned()));
        assert_eq!(compile("(a").err(), Some("missing closing ): `(a`".to_owned()));
        assert_eq!(compile("x[a").err(), Some("missing closing ]: `[a`".to_owned()));
    }
}
