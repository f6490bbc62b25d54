//! `semver` and `semverCompare` with the rules of Masterminds/semver v3, which Sprig uses
//! (the Rust `semver` crate's constraint rules differ): partial versions and `x`
//! wildcards, `~`, `^`, hyphen ranges, `,` or space for AND, `||` for OR, and prereleases
//! matched only by constraints that name a prerelease (`>=1.21-0`).

use std::cmp::Ordering;
use std::rc::Rc;

use crate::func::{FuncError, FuncMap};
use crate::value::{Object, Value};

use super::sig::{STR, fixed};
use super::{fail, str_arg};

pub(super) fn register(map: &mut FuncMap) {
    map.add("semver", fixed(&[STR]), |a| {
        let v = Version::parse(&str_arg(a, 0)).ok_or_else(invalid)?;
        Ok(Value::Object(Rc::new(v)))
    });
    map.add("semverCompare", fixed(&[STR, STR]), |a| {
        let constraint = str_arg(a, 0);
        let groups = parse_constraints(&constraint)
            .ok_or_else(|| fail(format!("improper constraint: {}", super::strings::go_quote(&constraint))))?;
        let v = Version::parse(&str_arg(a, 1)).ok_or_else(invalid)?;
        Ok(Value::Bool(groups.iter().any(|g| g.iter().all(|c| c.check(&v)))))
    });
}

fn invalid() -> FuncError {
    fail("invalid semantic version")
}

/// A parsed version (`*semver.Version`).
#[derive(Debug, Clone)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Version {
    /// `semver.NewVersion`: `v` prefix, missing minor or patch allowed.
    fn parse(s: &str) -> Option<Version> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) => (b, m),
            None => (body, ""),
        };
        let (core, pre) = match body.split_once('-') {
            Some((c, p)) => (c, p),
            None => (body, ""),
        };
        if body.len() != s.len() - usize::from(s.starts_with('v')) - metadata.len() - usize::from(!metadata.is_empty())
        {
            return None;
        }
        if (s.contains('+') && !ident_ok(metadata)) || (body.contains('-') && !ident_ok(pre)) {
            return None;
        }
        // Numeric prerelease identifiers must not have leading zeros.
        if !pre.is_empty()
            && pre.split('.').any(|p| p.len() > 1 && p.starts_with('0') && p.chars().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            nums[i] = p.parse().ok()?;
        }
        Some(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.to_owned(),
            metadata: metadata.to_owned(),
            original: s.to_owned(),
        })
    }

    fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(&self.pre, &other.pre))
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let ord = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn field(&self, name: &str) -> Option<Value> {
        #[allow(clippy::cast_possible_wrap)]
        Some(match name {
            "Major" => Value::Int64(self.major as i64),
            "Minor" => Value::Int64(self.minor as i64),
            "Patch" => Value::Int64(self.patch as i64),
            "Prerelease" => Value::from(self.pre.as_str()),
            "Metadata" => Value::from(self.metadata.as_str()),
            "Original" => Value::from(self.original.as_str()),
            "String" => Value::from(self.display()),
            _ => return None,
        })
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let other = match args {
            [Value::Object(o)] if o.type_name() == "*semver.Version" => Version::parse(&o.display()),
            _ => None,
        };
        let ord = self.compare(&other?);
        Some(Ok(match name {
            "Compare" => Value::Int(match ord {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            }),
            "LessThan" => Value::Bool(ord == Ordering::Less),
            "GreaterThan" => Value::Bool(ord == Ordering::Greater),
            "Equal" => Value::Bool(ord == Ordering::Equal),
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// One constraint: an operator and a version, which may be partial (`dirty`).
#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(text: &str) -> Option<Constraint> {
        let text = text.trim();
        let ops: [(&str, Op); 12] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            (">", Op::Greater),
            ("<", Op::Less),
            ("=", Op::Equal),
            ("~", Op::Tilde),
            ("^", Op::Caret),
            ("", Op::Equal),
        ];
        let (op, rest) = ops.iter().find_map(|(p, op)| text.strip_prefix(p).map(|r| (*op, r)))?;
        let ver = rest.trim_start();
        let ver = ver.strip_prefix('v').unwrap_or(ver);
        let (core, tail) = match ver.find(['-', '+']) {
            Some(i) => (&ver[..i], &ver[i..]),
            None => (ver, ""),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !(is_x(p) || p.chars().all(|c| c.is_ascii_digit())))
        {
            return None;
        }
        let part = |i: usize| parts.get(i).copied().unwrap_or("");
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let normalized = if is_x(part(0)) {
            dirty = true;
            format!("0.0.0{tail}")
        } else if is_x(part(1)) || part(1).is_empty() {
            dirty = true;
            minor_dirty = true;
            format!("{}.0.0{tail}", part(0))
        } else if is_x(part(2)) || part(2).is_empty() {
            dirty = true;
            patch_dirty = true;
            format!("{}.{}.0{tail}", part(0), part(1))
        } else {
            format!("{core}{tail}")
        };
        let con = Version::parse(&normalized)?;
        Some(Constraint { op, con, dirty, minor_dirty, patch_dirty })
    }

    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op {
            Op::Equal => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::NotEqual => {
                if !self.dirty {
                    v.compare(c) != Ordering::Equal
                } else if self.minor_dirty {
                    v.major != c.major
                } else if self.patch_dirty {
                    v.major != c.major || v.minor != c.minor
                } else {
                    v.compare(c) != Ordering::Equal
                }
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major < c.major;
                }
                if self.minor_dirty {
                    return true;
                }
                if self.patch_dirty {
                    return v.minor <= c.minor;
                }
                v.compare(c) != Ordering::Greater
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        if v.minor != c.minor && !self.minor_dirty {
            return false;
        }
        true
    }
}

/// `semver.NewConstraint`: OR groups of AND-ed constraints, `None` when improper.
fn parse_constraints(text: &str) -> Option<Vec<Vec<Constraint>>> {
    let mut groups = Vec::new();
    for group in text.split("||") {
        let group = group.trim();
        let mut constraints = Vec::new();
        if group.is_empty() {
            return None;
        }
        // Tokens: operators may be separated from their version by spaces.
        let mut tokens: Vec<String> = Vec::new();
        for raw in group.split([',', ' ']).filter(|t| !t.is_empty()) {
            match tokens.last_mut() {
                Some(last) if last.chars().all(|c| "=!<>~^".contains(c)) => last.push_str(raw),
                _ => tokens.push(raw.to_owned()),
            }
        }
        let mut i = 0;
        while i < tokens.len() {
            if tokens.get(i + 1).is_some_and(|t| t == "-") {
                let low = Constraint::parse(&format!(">={}", tokens[i]))?;
                let high = Constraint::parse(&format!("<={}", tokens.get(i + 2)?))?;
                constraints.push(low);
                constraints.push(high);
                i += 3;
                continue;
            }
            constraints.push(Constraint::parse(&tokens[i])?);
            i += 1;
        }
        groups.push(constraints);
    }
    Some(groups)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn constraints_follow_masterminds_semver() {
        let cases = [
            (">1.21", "1.21.5", "false"),
            (">=1.21-0", "v1.30.0-gke.1", "true"),
            (">=1.21", "1.30.0-gke.1", "false"),
            ("~1.2", "1.2.9", "true"),
            ("^0.2.3", "0.2.9", "true"),
            ("1.2.x", "1.2.7", "true"),
            ("<1.2 || >=2", "2.1.0", "true"),
            ("=1.2", "1.2.5", "true"),
            ("!=1.2.3", "1.2.4", "true"),
            ("1.2 - 1.4.5", "1.4.5", "true"),
            ("<=1.2", "1.2.9", "true"),
            (">= 1.0, < 2", "1.5.0", "true"),
        ];
        for (c, v, want) in cases {
            assert_eq!(show("semverCompare", &[s(c), s(v)]), want, "{c} {v}");
        }
        assert_eq!(show("semverCompare", &[s("foo"), s("1.0.0")]), "ERR: improper constraint: \"foo\"");
        assert_eq!(show("semverCompare", &[s(">1"), s("x")]), "ERR: invalid semantic version");
        assert_eq!(show("semver", &[s("1.2.3.4")]), "ERR: invalid semantic version");
        assert_eq!(show("semverCompare", &[s(""), s("1.0.0")]), "ERR: improper constraint: \"\"");
        assert_eq!(show("semver", &[s("v1.2.3-rc.1+b5")]), "1.2.3-rc.1+b5");
    }
}
