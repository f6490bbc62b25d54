//! Semantic versions and ranges as Helm checks them (Masterminds `semver/v3`): chart versions,
//! dependency version ranges (`IsCompatibleRange`) and a chart's `kubeVersion`.

use std::cmp::Ordering;

/// A version: `1.2.3`, `v1.2`, `1.2.3-rc.1+build` (missing parts are 0, as Masterminds'
/// `NewVersion` accepts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl Version {
    /// Whether it is a pre-release (`1.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Parses leniently, as `semver.NewVersion` does; `None` when it is not a version.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, _build) = s.split_once('+').unwrap_or((s, ""));
        let (core, pre) = s.split_once('-').unwrap_or((s, ""));
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let num = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse().ok());
        Some(Version { major: num(0)?, minor: num(1)?, patch: num(2)?, pre: pre.to_owned() })
    }

    fn cmp_pre(&self, other: &Version) -> Ordering {
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let a: Vec<&str> = self.pre.split('.').collect();
                let b: Vec<&str> = other.pre.split('.').collect();
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| self.cmp_pre(other))
    }
}

/// Whether `version` satisfies the range `constraint` (Helm's `IsCompatibleRange`): false
/// when either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Some(v) = Version::parse(version) else { return false };
    let Some(ranges) = parse_constraint(constraint) else { return false };
    ranges.iter().any(|and| {
        // A prerelease matches only when a comparison in the same range names a prerelease.
        if !v.pre.is_empty() && !and.iter().any(|c| !c.version.pre.is_empty()) {
            return false;
        }
        and.iter().all(|c| c.check(&v))
    })
}

#[derive(Debug, Clone)]
struct Comparison {
    op: Op,
    version: Version,
    /// How many of major.minor.patch were given (x, X, * count as not given).
    given: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

impl Comparison {
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        match self.op {
            Op::Eq => match self.given {
                0 => true,
                1 => v.major == c.major,
                2 => v.major == c.major && v.minor == c.minor,
                _ => v == c,
            },
            Op::Ne => !(Comparison { op: Op::Eq, ..self.clone() }).check(v),
            Op::Gt => match self.given {
                0 => false,
                1 => v.major > c.major,
                2 => (v.major, v.minor) > (c.major, c.minor),
                _ => v > c,
            },
            Op::Ge => v >= c,
            Op::Lt => v < c,
            Op::Le => match self.given {
                0 => true,
                1 => v.major <= c.major,
                2 => (v.major, v.minor) <= (c.major, c.minor),
                _ => v <= c,
            },
            Op::Tilde => {
                if v < c {
                    return false;
                }
                if self.given <= 1 { v.major == c.major } else { v.major == c.major && v.minor == c.minor }
            }
            Op::Caret => {
                if v < c {
                    return false;
                }
                if c.major > 0 || self.given <= 1 {
                    v.major == c.major
                } else if c.minor > 0 || self.given == 2 {
                    v.major == 0 && v.minor == c.minor
                } else {
                    v.major == 0 && v.minor == 0 && v.patch == c.patch
                }
            }
        }
    }
}

fn parse_constraint(s: &str) -> Option<Vec<Vec<Comparison>>> {
    let mut out = Vec::new();
    for alt in s.split("||") {
        let mut and = Vec::new();
        let alt = alt.trim();
        // Hyphen ranges: `1.2 - 1.4.5`.
        if let Some((lo, hi)) = alt.split_once(" - ") {
            and.push(comparison(Op::Ge, lo.trim())?);
            and.push(comparison(Op::Le, hi.trim())?);
            out.push(and);
            continue;
        }
        let normalized = alt.replace(',', " ");
        let mut tokens = normalized.split_whitespace().peekable();
        while let Some(tok) = tokens.next() {
            let mut tok = tok.to_owned();
            // `>= 1.2` with a space after the operator.
            if tok.chars().all(|c| "<>=!~^".contains(c))
                && let Some(next) = tokens.next()
            {
                tok.push_str(next);
            }
            let (op, rest) = split_op(&tok);
            and.push(comparison(op, rest)?);
        }
        if and.is_empty() {
            return None;
        }
        out.push(and);
    }
    Some(out)
}

fn split_op(tok: &str) -> (Op, &str) {
    for (prefix, op) in [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ] {
        if let Some(rest) = tok.strip_prefix(prefix) {
            return (op, rest.trim());
        }
    }
    (Op::Eq, tok)
}

fn comparison(op: Op, v: &str) -> Option<Comparison> {
    let v = v.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let core = core.split_once('+').map_or(core, |(c, _)| c);
    let parts: Vec<&str> = core.split('.').collect();
    let mut given = 0;
    let mut nums = [0u64; 3];
    for (i, p) in parts.iter().enumerate().take(3) {
        if matches!(*p, "x" | "X" | "*") {
            break;
        }
        nums[i] = p.parse().ok()?;
        given = i + 1;
    }
    let version = Version { major: nums[0], minor: nums[1], patch: nums[2], pre: pre.to_owned() };
    Some(Comparison { op, version, given })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_as_masterminds_semver_does() {
        assert!(is_compatible_range("1.2.3", "1.2.3"));
        assert!(is_compatible_range("~1.2", "1.2.9"));
        assert!(!is_compatible_range("~1.2", "1.3.0"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(is_compatible_range(">=1.2.0, <2.0.0", "1.5.0"));
        assert!(is_compatible_range("1.x", "1.5.0"));
        assert!(is_compatible_range("*", "3.0.0"));
        assert!(is_compatible_range(">=1.19.0-0", "1.36.0"));
        assert!(!is_compatible_range(">=1.0.0", "1.1.0-rc.1"));
        assert!(is_compatible_range("1.2 - 1.4", "1.3.0"));
        assert!(!is_compatible_range("bogus", "1.0.0"));
    }
}
