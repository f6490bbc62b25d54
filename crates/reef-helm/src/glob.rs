//! Go's `path/filepath.Match`, which `.helmignore` rules and `--show-only` use: `*` matches
//! any run of characters except `/`, `?` one character except `/`, `[a-z]` and `[^a-z]`
//! classes, and `\` escapes the next character.

/// Whether `name` matches `pattern` entirely. A malformed pattern matches nothing (Go returns
/// `ErrBadPattern`, which Helm treats as no match).
pub fn matches(pattern: &str, name: &str) -> bool {
    // The common .helmignore rules, without building the general matcher's state: a literal
    // name (`.git`), and `*` followed by a literal with no `/` (`*.tmp`), which matches a
    // name without `/` that ends in that literal.
    let special = |c: char| matches!(c, '*' | '?' | '[' | '\\');
    if !pattern.contains(special) {
        return pattern == name;
    }
    if let Some(suffix) = pattern.strip_prefix('*')
        && !suffix.contains(special)
        && !suffix.contains('/')
    {
        return !name.contains('/') && name.ends_with(suffix);
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n).unwrap_or(false)
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

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    if p.is_empty() {
        return Some(n.is_empty());
    }
    match p[0] {
        '*' => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if match_from(rest, &n[i..])? {
                    return Some(true);
                }
                if i >= n.len() || n[i] == '/' {
                    return Some(false);
                }
                i += 1;
            }
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                return Some(false);
            }
            match_from(&p[1..], &n[1..])
        }
        '[' => {
            let c = *n.first()?;
            let (ok, end) = class_matches(p, 0, c)?;
            if !ok || c == '/' {
                return Some(false);
            }
            match_from(&p[end..], &n[1..])
        }
        '\\' => {
            let lit = *p.get(1)?;
            if n.first() == Some(&lit) { match_from(&p[2..], &n[1..]) } else { Some(false) }
        }
        lit => {
            if n.first() == Some(&lit) {
                match_from(&p[1..], &n[1..])
            } else {
                Some(false)
            }
        }
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
            let n: Vec<char> = name.chars().collect();
            assert_eq!(super::match_from(&p, &n).unwrap_or(false), want, "general: {pattern} {name}");
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
