//! `.Files`: the chart's non-template files (Helm's `engine.files`, a `map[string][]byte`
//! with methods), formatted exactly as Helm's `files.go` formats them.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::value::{Object, Value};

/// A file's bytes as `.Files` reads them. A chart loader can hand in bytes it has not read
/// yet, to read them only if a template asks for them.
pub trait FileData: std::fmt::Debug {
    /// The bytes. A loader that cannot read them gives none here and fails the render itself.
    fn bytes(&self) -> Arc<[u8]>;
}

impl FileData for Arc<[u8]> {
    fn bytes(&self) -> Arc<[u8]> {
        self.clone()
    }
}

/// A chart's files by path, as templates see them.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: BTreeMap<String, Rc<dyn FileData>>,
}

impl Files {
    /// The files, by path relative to the chart (`files/a.txt`).
    pub fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Files {
        Files::shared(files.into_iter().map(|(k, v)| (k, Arc::from(v))))
    }

    /// The files, by path, sharing their contents with the caller (a chart's files are not
    /// copied for each render).
    pub fn shared(files: impl IntoIterator<Item = (String, Arc<[u8]>)>) -> Files {
        Files::lazy(files.into_iter().map(|(k, v)| (k, Rc::new(v) as Rc<dyn FileData>)))
    }

    /// The files, by path, each read when a template first asks for its bytes.
    pub fn lazy(files: impl IntoIterator<Item = (String, Rc<dyn FileData>)>) -> Files {
        Files { files: files.into_iter().collect() }
    }

    fn get_bytes(&self, name: &str) -> Arc<[u8]> {
        self.files.get(name).map_or_else(|| Arc::from(&[][..]), |f| f.bytes())
    }

    fn glob(&self, pattern: &str) -> Files {
        let glob = Glob::compile(pattern).unwrap_or_else(|| Glob(vec![Token::Super]));
        Files {
            files: self.files.iter().filter(|(k, _)| glob.matches(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }

    fn lines(&self, name: &str) -> Result<Value, String> {
        let Some(file) = self.files.get(name) else { return Ok(Value::string_list(Vec::<String>::new())) };
        let data = file.bytes();
        let s = crate::go_string::lossy(&data);
        if s.is_empty() {
            return Err("runtime error: index out of range [-1]".to_owned());
        }
        let s = s.strip_suffix('\n').unwrap_or(&s);
        Ok(Value::string_list(s.split('\n')))
    }

    /// `toYAML` of a `map[string]string` of base names, as `AsConfig` and `AsSecrets` print it.
    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let map = Value::map(self.files.iter().map(|(k, v)| {
            let base = k.rsplit('/').next().unwrap_or(k).to_owned();
            (base, Value::string(encode(&v.bytes())))
        }));
        match crate::yaml::marshal(&map) {
            Ok(text) => text.strip_suffix('\n').unwrap_or(&text).to_owned(),
            Err(_) => String::new(),
        }
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = || args.first().and_then(Value::as_str).unwrap_or_default().to_owned();
        Some(match name {
            "Get" => Ok(Value::from(crate::go_string::from_bytes(&self.get_bytes(&arg())).into_owned())),
            "GetBytes" => Ok(Value::Bytes(Rc::from(&*self.get_bytes(&arg())))),
            "Glob" => Ok(Value::Object(Rc::new(self.glob(&arg())))),
            "Lines" => self.lines(&arg()),
            "AsConfig" => Ok(Value::from(self.as_yaml(|v| crate::go_string::lossy(v).into_owned()))),
            "AsSecrets" => Ok(Value::from(self.as_yaml(crate::json::base64_std))),
            _ => return None,
        })
    }

    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(self.files.iter().map(|(k, v)| (k.clone(), Value::Bytes(Rc::from(&*v.bytes())))).collect())
    }

    fn display(&self) -> String {
        let entries: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.bytes().iter().map(u8::to_string).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", entries.join(" "))
    }
}

/// A `gobwas/glob` pattern with `/` as the separator, as `.Files.Glob` compiles it.
#[derive(Debug, Clone)]
struct Glob(Vec<Token>);

#[derive(Debug, Clone)]
enum Token {
    Lit(char),
    /// `*`: any run without `/`.
    Star,
    /// `**`: any run.
    Super,
    /// `?`: one character other than `/`.
    Any,
    /// `[...]` / `[!...]`.
    Class(Vec<(char, char)>, bool),
    /// `{a,b}`.
    Alt(Vec<Glob>),
}

impl Glob {
    fn compile(pattern: &str) -> Option<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let (g, rest) = Glob::parse(&chars, false)?;
        if !rest.is_empty() {
            return None;
        }
        Some(g)
    }

    /// Parses until the end or, inside `{}`, an unescaped `,` or `}` (returned in the rest).
    fn parse(mut p: &[char], in_alt: bool) -> Option<(Glob, &[char])> {
        let mut tokens = Vec::new();
        while let Some(&c) = p.first() {
            match c {
                ',' | '}' if in_alt => break,
                '\\' => {
                    tokens.push(Token::Lit(*p.get(1)?));
                    p = &p[2..];
                }
                '*' => {
                    if p.get(1) == Some(&'*') {
                        tokens.push(Token::Super);
                        p = &p[2..];
                    } else {
                        tokens.push(Token::Star);
                        p = &p[1..];
                    }
                }
                '?' => {
                    tokens.push(Token::Any);
                    p = &p[1..];
                }
                '[' => {
                    let end = p.iter().position(|&c| c == ']')?;
                    let body = &p[1..end];
                    let (negate, body) = match body.first() {
                        Some('!') => (true, &body[1..]),
                        _ => (false, body),
                    };
                    let mut ranges = Vec::new();
                    let mut i = 0;
                    while i < body.len() {
                        if i + 2 < body.len() && body[i + 1] == '-' {
                            ranges.push((body[i], body[i + 2]));
                            i += 3;
                        } else {
                            ranges.push((body[i], body[i]));
                            i += 1;
                        }
                    }
                    tokens.push(Token::Class(ranges, negate));
                    p = &p[end + 1..];
                }
                '{' => {
                    let mut alts = Vec::new();
                    p = &p[1..];
                    loop {
                        let (g, rest) = Glob::parse(p, true)?;
                        alts.push(g);
                        match rest.first() {
                            Some(',') => p = &rest[1..],
                            Some('}') => {
                                p = &rest[1..];
                                break;
                            }
                            _ => return None,
                        }
                    }
                    tokens.push(Token::Alt(alts));
                }
                c => {
                    tokens.push(Token::Lit(c));
                    p = &p[1..];
                }
            }
        }
        Some((Glob(tokens), p))
    }

    fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        match_tokens(&self.0, &chars)
    }
}

fn match_tokens(tokens: &[Token], s: &[char]) -> bool {
    let Some(first) = tokens.first() else { return s.is_empty() };
    let rest = &tokens[1..];
    match first {
        Token::Lit(c) => s.first() == Some(c) && match_tokens(rest, &s[1..]),
        Token::Any => s.first().is_some_and(|c| *c != '/') && match_tokens(rest, &s[1..]),
        Token::Class(ranges, negate) => {
            s.first().is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negate)
                && match_tokens(rest, &s[1..])
        }
        Token::Star => {
            for i in 0..=s.len() {
                if match_tokens(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == '/' {
                    return false;
                }
            }
            false
        }
        Token::Super => (0..=s.len()).any(|i| match_tokens(rest, &s[i..])),
        Token::Alt(alts) => alts.iter().any(|alt| {
            let mut combined = alt.0.clone();
            combined.extend_from_slice(rest);
            match_tokens(&combined, s)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files::new([
            ("files/a.txt".to_owned(), b"hello\nworld\n".to_vec()),
            ("files/sub/b.yaml".to_owned(), b"x: 1\n".to_vec()),
            ("files/empty.txt".to_owned(), Vec::new()),
        ])
    }

    fn names(f: &Files) -> Vec<String> {
        f.files.keys().cloned().collect()
    }

    // Checked with helm 4.2.3: `range $p, $c := .Files.Glob "..."`.
    #[test]
    fn glob_star_stays_in_a_directory_and_double_star_does_not() {
        let f = files();
        assert_eq!(names(&f.glob("files/*")), ["files/a.txt", "files/empty.txt"]);
        assert_eq!(names(&f.glob("files/**")), ["files/a.txt", "files/empty.txt", "files/sub/b.yaml"]);
        assert_eq!(names(&f.glob("files/{a,sub/b}.*")), ["files/a.txt", "files/sub/b.yaml"]);
        assert_eq!(names(&f.glob("files/[a-b]*")), ["files/a.txt"]);
    }

    #[test]
    fn get_and_lines_read_as_helm_reads_them() {
        let f = files();
        let get = |n: &str| f.call("Get", &[Value::string(n)]);
        assert_eq!(
            get("files/a.txt").and_then(Result::ok).and_then(|v| v.as_str().map(str::to_owned)).as_deref(),
            Some("hello\nworld\n")
        );
        assert_eq!(get("nope").and_then(Result::ok).and_then(|v| v.as_str().map(str::to_owned)).as_deref(), Some(""));
        let lines = f.call("Lines", &[Value::string("files/a.txt")]).and_then(Result::ok);
        assert_eq!(lines.map(|v| crate::format::sprint(&v)).as_deref(), Some("[hello world]"));
    }

    #[test]
    fn as_config_and_as_secrets_are_yaml_of_base_names() {
        let f = files().glob("files/*");
        let cfg = f.call("AsConfig", &[]).and_then(Result::ok);
        assert_eq!(cfg.as_ref().and_then(Value::as_str), Some("a.txt: |\n  hello\n  world\nempty.txt: \"\""));
        let sec = f.call("AsSecrets", &[]).and_then(Result::ok);
        assert_eq!(sec.as_ref().and_then(Value::as_str), Some("a.txt: aGVsbG8Kd29ybGQK\nempty.txt: \"\""));
    }
}
