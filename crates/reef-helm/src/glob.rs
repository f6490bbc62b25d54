//! Go's `path/filepath.Match`, which `.helmignore` rules and `--show-only` use: `*` matches
//! any run of characters except `/`, `?` one character except `/`, `[a-z]` and `[^a-z]`
//! classes, and `\` escapes the next character.

/// Whether `name` matches `pattern` entirely. A malformed pattern matches nothing (Go returns
/// `ErrBadPattern`, which Helm treats as no match).
pub fn matches(pattern: &str, name: &str) -> bool {
    Pattern::new(pattern).matches(name)
}

/// A pattern prepared for matching many names.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// No special character: matches itself only (`.git`).
    Literal(String),
    /// `*` followed by a literal with no `/` (`*.tmp`): a name without `/` that ends in it.
    StarSuffix(String),
    /// Anything else, as characters for the general matcher.
    General(Vec<char>),
}

impl Pattern {
    /// Prepares `pattern`.
    pub fn new(pattern: &str) -> Pattern {
        let special = |c: char| matches!(c, '*' | '?' | '[' | '\\');
        if !pattern.contains(special) {
            return Pattern::Literal(pattern.to_owned());
        }
        if let Some(suffix) = pattern.strip_prefix('*')
            && !suffix.contains(special)
            && !suffix.contains('/')
        {
            return Pattern::StarSuffix(suffix.to_owned());
        }
        Pattern::General(pattern.chars().collect())
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Literal(literal) => literal == name,
            Pattern::StarSuffix(suffix) => !name.contains('/') && name.ends_with(suffix.as_str()),
            Pattern::General(p) => match_from(p, name).unwrap_or(false),
        }
    }
}

/// Whether a pattern is well formed (`filepath.Match(rule, "abc")` returns no error).
pub fn is_valid(pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return false;
                }
                i += 2;
            }
            '[' => match class_end(&p, i) {
                Some(end) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// The index after the class starting at `start` (`[`), or None when malformed.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            return Some(i + 1);
        }
        first = false;
        if c == '\\' {
            i += 1;
            p.get(i)?;
        }
        i += 1;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|c| *c != ']') {
            i += 1;
            if p[i] == '\\' {
                i += 1;
            }
            p.get(i)?;
            i += 1;
        }
    }
}

fn class_matches(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let end = class_end(p, start)?;
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    while i < end - 1 {
        let mut lo = p[i];
        if lo == '\\' {
            i += 1;
            lo = p[i];
        }
        i += 1;
        let mut hi = lo;
        if i < end - 1 && p[i] == '-' {
            i += 1;
            hi = p[i];
            if hi == '\\' {
                i += 1;
                hi = p[i];
            }
            i += 1;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    Some((matched != negate, end))
}

/// The first character of `n` and the rest.
fn split_first(n: &str) -> Option<(char, &str)> {
    let mut chars = n.chars();
    chars.next().map(|c| (c, chars.as_str()))
}

fn match_from(p: &[char], n: &str) -> Option<bool> {
    if p.is_empty() {
        return Some(n.is_empty());
    }
    match p[0] {
        '*' => {
            let rest = &p[1..];
            let mut tail = n;
            loop {
                if match_from(rest, tail)? {
                    return Some(true);
                }
                match split_first(tail) {
                    None | Some(('/', _)) => return Some(false),
                    Some((_, after)) => tail = after,
                }
            }
        }
        '?' => match split_first(n) {
            None | Some(('/', _)) => Some(false),
            Some((_, after)) => match_from(&p[1..], after),
        },
        '[' => {
            let (c, after) = split_first(n)?;
            let (ok, end) = class_matches(p, 0, c)?;
            if !ok || c == '/' {
                return Some(false);
            }
            match_from(&p[end..], after)
        }
        '\\' => {
            let lit = *p.get(1)?;
            match split_first(n) {
                Some((c, after)) if c == lit => match_from(&p[2..], after),
                _ => Some(false),
            }
        }
        lit => match split_first(n) {
            Some((c, after)) if c == lit => match_from(&p[1..], after),
            _ => Some(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_and_star_suffix_rules_match_as_the_general_matcher_does() {
        for (pattern, name, want) in [
            (".git", ".git", true),
            (".git", ".gitignore", false),
            ("a/b", "a/b", true),
            ("*.tmp", "x.tmp", true),
            ("*.tmp", ".tmp", true),
            ("*.tmp", "d/x.tmp", false),
            ("*.tmp", "x.tmpl", false),
            ("*~", "values.yaml~", true),
            ("*", "a", true),
            ("*", "", true),
            ("*", "a/b", false),
            ("*/x", "a/x", true),
        ] {
            assert_eq!(matches(pattern, name), want, "{pattern} {name}");
            let p: Vec<char> = pattern.chars().collect();
            assert_eq!(super::match_from(&p, name).unwrap_or(false), want, "general: {pattern} {name}");
        }
    }

    #[test]
    fn star_stops_at_slashes_as_in_go() {
        assert!(matches("templates/*.yaml", "templates/a.yaml"));
        assert!(!matches("templates/*", "templates/sub/a.yaml"));
        assert!(matches("*.txt", "notes.txt"));
        assert!(matches("a?c", "abc"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches(r"a\*", "a*"));
        assert!(!matches("a", "ab"));
    }
}
