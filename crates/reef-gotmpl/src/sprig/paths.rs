//! Paths (Go's `path` and, on Linux identical, `path/filepath`), URLs (`urlParse`,
//! `urlJoin` with Go's `net/url` rules) and `getHostByName`.

use std::collections::BTreeMap;

use crate::func::{FuncError, FuncMap, Param};
use crate::value::Value;

use super::sig::{STR, fixed};
use super::{fail, str_arg};

pub(super) fn register(map: &mut FuncMap) {
    for (name, os) in [("base", "osBase"), ("dir", "osDir"), ("clean", "osClean"), ("ext", "osExt")] {
        let f = match name {
            "base" => base,
            "dir" => dir,
            "clean" => clean,
            _ => ext,
        };
        map.add(name, fixed(&[STR]), move |a| Ok(Value::from(f(&str_arg(a, 0)))));
        map.add(os, fixed(&[STR]), move |a| Ok(Value::from(f(&str_arg(a, 0)))));
    }
    for name in ["isAbs", "osIsAbs"] {
        map.add(name, fixed(&[STR]), |a| Ok(Value::Bool(str_arg(a, 0).starts_with('/'))));
    }
    map.add("urlParse", fixed(&[STR]), |a| url_parse(&str_arg(a, 0)));
    map.add("urlJoin", fixed(&[Param::Map]), |a| Ok(Value::from(url_join(super::arg(a, 0)))));
    // A render has no network: the lookup fails, and Sprig returns its empty result.
    map.add("getHostByName", fixed(&[STR]), |_| Ok(Value::from("")));
}

/// Go's `path.Clean`.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_owned();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// Go's `path.Dir`.
fn dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    clean(&path[..cut])
}

/// Go's `path.Ext`.
fn ext(path: &str) -> String {
    for (i, c) in path.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return path[i..].to_owned();
        }
    }
    String::new()
}

/// The parts of a URL as Go's `url.Parse` splits them.
#[derive(Debug, Default)]
struct Url {
    scheme: String,
    opaque: String,
    userinfo: Option<String>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let bad = s.get(i..(i + 3).min(s.len())).unwrap_or("%");
                return Err(format!("invalid URL escape {:?}", bad));
            };
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn parse_url(raw: &str) -> Result<Url, String> {
    let mut url = Url::default();
    let (rest, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    url.fragment = unescape(fragment)?;
    let mut rest = rest.to_owned();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && candidate.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            url.scheme = candidate.to_ascii_lowercase();
            rest = rest[colon + 1..].to_owned();
        } else if colon == 0 {
            return Err("missing protocol scheme".to_owned());
        }
    }
    if let Some((before, query)) = rest.split_once('?') {
        url.raw_query = query.to_owned();
        rest = before.to_owned();
    }
    if !rest.starts_with('/') && !url.scheme.is_empty() {
        url.opaque = rest;
        return Ok(url);
    }
    if rest.starts_with("//") && (!url.scheme.is_empty() || !rest.starts_with("///")) {
        let after = &rest[2..];
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        let path = &after[end..];
        let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_part.starts_with('[') && !host_part.contains(']') {
            return Err("missing ']' in host".to_owned());
        }
        match authority.rsplit_once('@') {
            Some((user, host)) => {
                url.userinfo = Some(user.to_owned());
                url.host = unescape(host)?;
            }
            None => url.host = unescape(authority)?,
        }
        rest = path.to_owned();
    }
    url.path = unescape(&rest)?;
    Ok(url)
}

fn hostname(host: &str) -> String {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or("").to_owned();
    }
    host.split(':').next().unwrap_or("").to_owned()
}

fn url_parse(raw: &str) -> Result<Value, FuncError> {
    let url = parse_url(raw).map_err(|e| fail(format!("unable to parse url: parse {raw:?}: {e}")))?;
    let mut dict = BTreeMap::new();
    dict.insert("scheme".to_owned(), Value::from(url.scheme));
    dict.insert("hostname".to_owned(), Value::from(hostname(&url.host)));
    dict.insert("host".to_owned(), Value::from(url.host));
    dict.insert("path".to_owned(), Value::from(url.path));
    dict.insert("query".to_owned(), Value::from(url.raw_query));
    dict.insert("opaque".to_owned(), Value::from(url.opaque));
    dict.insert("fragment".to_owned(), Value::from(url.fragment));
    let userinfo = url.userinfo.map(|u| user_string(&u)).unwrap_or_default();
    dict.insert("userinfo".to_owned(), Value::from(userinfo));
    Ok(Value::map(dict))
}

/// Go's `Userinfo.String` of raw `user:password` text: each part unescaped, then escaped.
fn user_string(raw: &str) -> String {
    let (user, password) = match raw.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (raw, None),
    };
    let user = unescape(user).unwrap_or_else(|_| user.to_owned());
    let mut out = escape(&user, Mode::UserPassword);
    if let Some(p) = password {
        let p = unescape(p).unwrap_or_else(|_| p.to_owned());
        out.push(':');
        out.push_str(&escape(&p, Mode::UserPassword));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host {
        return !b"!$&'()*+,;=:[]<>\"-._~".contains(&c);
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => c == b'@' || c == b'/' || c == b'?' || c == b':',
            _ => false,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Sprig's `urlJoin`: Go's `URL.String` of the parts in the dictionary.
fn url_join(d: &Value) -> String {
    let get = |key: &str| -> String {
        match d {
            Value::Map(m, _) => match m.borrow().get(key) {
                Some(Value::String(s)) => s.to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    };
    let (scheme, host, path, query) = (get("scheme"), get("host"), get("path"), get("query"));
    let (opaque, fragment, userinfo) = (get("opaque"), get("fragment"), get("userinfo"));
    let user = (!userinfo.is_empty()).then(|| user_string(&userinfo));
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || user.is_some() {
            if !host.is_empty() || !path.is_empty() || user.is_some() {
                out.push_str("//");
            }
            if let Some(u) = &user {
                out.push_str(u);
                out.push('@');
            }
            out.push_str(&escape(&host, Mode::Host));
        }
        let escaped = escape(&path, Mode::Path);
        if !escaped.is_empty() && !escaped.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        if out.is_empty() && escaped.split('/').next().is_some_and(|seg| seg.contains(':')) {
            out.push_str("./");
        }
        out.push_str(&escaped);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&fragment, Mode::Fragment));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn paths_follow_go() {
        assert_eq!(show("clean", &[s("a//b/../c/.")]), "a/c");
        assert_eq!(show("clean", &[s("/../x")]), "/x");
        assert_eq!(show("base", &[s("/a/b/")]), "b");
        assert_eq!(show("dir", &[s("a/b/c")]), "a/b");
        assert_eq!(show("dir", &[s("abc")]), ".");
        assert_eq!(show("ext", &[s("a/b.tar.gz")]), ".gz");
        assert_eq!(show("isAbs", &[s("/x")]), "true");
    }

    #[test]
    fn urls_follow_go() {
        let parsed = call("urlParse", &[s("https://u:p@example.com:8443/a%20b?x=1#frag")]).expect("parses");
        assert_eq!(
            crate::format::sprint(&parsed),
            "map[fragment:frag host:example.com:8443 hostname:example.com opaque: path:/a b \
             query:x=1 scheme:https userinfo:u:p]"
        );
        assert_eq!(show("urlJoin", &[parsed]), "https://u:p@example.com:8443/a%20b?x=1#frag");
        assert_eq!(
            show("urlParse", &[s("http://[::1")]),
            "ERR: unable to parse url: parse \"http://[::1\": missing ']' in host"
        );
    }
}
