//! The schema document as Helm's validator reads it: an `encoding/json` decoder with
//! `UseNumber` (and its error messages), so a
//! number keeps the text it was written with (an `enum` of `1.50` prints as `1.50`), and an
//! object keeps its keys in the order written (a repeated key: the last value wins, in the
//! place of the first).

use std::borrow::Cow;

/// A decoded JSON value. Its strings borrow from the document where they can (where the
/// document is UTF-8 and they have no escape).
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'t> {
    Null,
    Bool(bool),
    /// The literal text and its value.
    Number(Cow<'t, str>, f64),
    String(Cow<'t, str>),
    Array(Vec<Json<'t>>),
    Object(Vec<(Cow<'t, str>, Json<'t>)>),
}

impl<'t> Json<'t> {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json<'t>> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(_, f) => Some(*f),
            _ => None,
        }
    }

    /// A non-negative integer (`minLength`, `maxItems`, ...).
    pub fn as_count(&self) -> Option<usize> {
        self.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as usize)
    }

    pub fn as_array(&self) -> Option<&[Json<'t>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Cow<'t, str>, Json<'t>)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }
}

/// Decodes `text`; the error is `encoding/json`'s message.
pub fn parse(text: &[u8]) -> Result<Json<'_>, String> {
    // A document that is UTF-8 throughout (as schemas are) is checked once, not string by string.
    let mut p = Parser { s: text, utf8: std::str::from_utf8(text).ok(), i: 0 };
    p.skip_ws();
    if p.i == p.s.len() {
        return Err("EOF".to_owned());
    }
    let v = p.value(0)?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err("invalid character after top-level value".to_owned());
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    /// The document as text, when it is UTF-8.
    utf8: Option<&'a str>,
    i: usize,
}

/// Eight bytes of `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The high bit of each byte of `w` that is zero, exact up to the first one (a borrow can
/// mark bytes above it).
const fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// The high bit of each byte of `w` below 0x20 (a control character), exact up to the first.
const fn control_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(0x20)) & !w & splat(0x80)
}

/// Deeper than this, `encoding/json` gives up too.
const MAX_DEPTH: usize = 10_000;

impl<'t> Parser<'t> {
    fn skip_ws(&mut self) {
        let rest = &self.s[self.i..];
        let mut n = 0;
        // Indentation (a line break, then spaces) eight spaces at a time.
        while let Some(&b) = rest.get(n)
            && matches!(b, b' ' | b'\t' | b'\n' | b'\r')
        {
            n += 1;
            while rest.get(n..n + 8) == Some(b"        ") {
                n += 8;
            }
        }
        self.i += n;
    }

    /// The length of the run of bytes at the cursor that a string holds as they are: up to
    /// the first quote, backslash or control character.
    fn plain_run(&self) -> usize {
        let rest = &self.s[self.i..];
        let mut n = 0;
        while let Some(chunk) = rest.get(n..n + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // Little-endian, so that the lowest marked byte is the first in the text.
            let w = u64::from_le_bytes(word);
            let special = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\')) | control_bytes(w);
            if special != 0 {
                return n + (special.trailing_zeros() / 8) as usize;
            }
            n += 8;
        }
        n + rest[n..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len() - n)
    }

    /// The bytes from `start` to `end` as a string, bytes that are not UTF-8 replaced.
    fn text(&self, start: usize, end: usize) -> Cow<'t, str> {
        // Both ends are next to ASCII bytes, so on character boundaries.
        match self.utf8.and_then(|t| t.get(start..end)) {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(reef_gotmpl::go_string::lossy(&self.s[start..end]).into_owned()),
        }
    }

    /// The character at the cursor as `encoding/json` quotes it in errors.
    fn describe(&self) -> String {
        let rest = std::str::from_utf8(&self.s[self.i..]).unwrap_or("\u{fffd}");
        match rest.chars().next() {
            Some('\'') => "'\\''".to_owned(),
            Some('"') => "'\"'".to_owned(),
            Some(c) if (c as u32) < 0x20 => format!("'\\x{:02x}'", c as u32),
            Some(c) => format!("'{c}'"),
            None => "''".to_owned(),
        }
    }

    fn eof_or<T>(&self, what: &str) -> Result<T, String> {
        if self.i >= self.s.len() {
            Err("unexpected EOF".to_owned())
        } else {
            Err(format!("invalid character {} {what}", self.describe()))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'t>, String> {
        if depth > MAX_DEPTH {
            return Err("exceeded max depth".to_owned());
        }
        self.skip_ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.eof_or("looking for beginning of value"),
        }
    }

    fn literal(&mut self, word: &str, v: Json<'t>) -> Result<Json<'t>, String> {
        for (k, b) in word.bytes().enumerate() {
            if self.s.get(self.i) != Some(&b) {
                let ctx = format!("in literal {word} (expecting '{}')", b as char);
                return if k == 0 { self.eof_or("looking for beginning of value") } else { self.eof_or(&ctx) };
            }
            self.i += 1;
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Json<'t>, String> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.eof_or("in numeric literal"),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return self.eof_or("after decimal point in numeric literal");
            }
            self.digits();
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return self.eof_or("in exponent of numeric literal");
            }
            self.digits();
        }
        // Only ASCII digits, signs, `.` and exponents were read.
        let text = self.text(start, self.i);
        let f = text.parse::<f64>().unwrap_or(f64::NAN);
        Ok(Json::Number(text, f))
    }

    fn digits(&mut self) {
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn string(&mut self) -> Result<Cow<'t, str>, String> {
        self.i += 1;
        // Most strings have no escape: up to the first quote, backslash or control
        // character, the bytes are the string's own.
        let plain = self.plain_run();
        let rest = &self.s[self.i..];
        if rest.get(plain) == Some(&b'"') {
            let text = self.text(self.i, self.i + plain);
            self.i += plain + 1;
            return Ok(text);
        }
        let mut out: Vec<u8> = rest[..plain].to_vec();
        self.i += plain;
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err("unexpected EOF".to_owned());
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(Cow::Owned(String::from_utf8_lossy(&out).into_owned()));
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return Err("unexpected EOF".to_owned());
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.i -= 1;
                            return self.eof_or("in string escape code");
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..0x20 => return self.eof_or("in string literal"),
                _ => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0u32;
        for _ in 0..4 {
            let Some(d) = self.s.get(self.i).and_then(|b| (*b as char).to_digit(16)) else {
                return self.eof_or("in \\u hexadecimal character escape");
            };
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }

    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i) == Some(&b'\\') && self.s.get(self.i + 1) == Some(&b'u')
        {
            let save = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.i = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    fn array(&mut self, depth: usize) -> Result<Json<'t>, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return self.eof_or("after array element"),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'t>, String> {
        self.i += 1;
        let mut members: Vec<(Cow<'t, str>, Json<'t>)> = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.i) != Some(&b'"') {
                return self.eof_or("looking for beginning of object key string");
            }
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.i) != Some(&b':') {
                return self.eof_or("after object key");
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = v,
                None => members.push((key, v)),
            }
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                _ => return self.eof_or("after object key:value pair"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_objects_their_order() {
        let v = parse(br#"{"b": 1.50, "a": [true, null, "x\u00e9"], "b": 2}"#).unwrap_or(Json::Null);
        let Json::Object(m) = &v else { panic!("not an object: {v:?}") };
        assert_eq!(m[0], ("b".into(), Json::Number("2".into(), 2.0)));
        assert_eq!(m[1].1, Json::Array(vec![Json::Bool(true), Json::Null, Json::String("xé".into())]));
    }

    #[test]
    fn errors_are_encoding_json_messages() {
        assert_eq!(parse(b" ").unwrap_err(), "EOF");
        assert_eq!(parse(b"[\"a\"").unwrap_err(), "unexpected EOF");
        assert_eq!(
            parse(b"{\"a\": 1,}").unwrap_err(),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(parse(b"{\"a\" 1}").unwrap_err(), "invalid character '1' after object key");
        assert_eq!(parse(b"{} x").unwrap_err(), "invalid character after top-level value");
        assert_eq!(parse(b"{\"a\": tru}").unwrap_err(), "invalid character '}' in literal true (expecting 'e')");
    }

    // The scan for the end of a string reads eight bytes at a time: a quote, backslash,
    // control character or non-ASCII character at any place in a word, at any length.
    #[test]
    fn strings_read_the_same_wherever_their_special_characters_fall() {
        for len in 0..20 {
            for at in 0..len {
                for special in ["\"", "\\", "\n", "é", "\u{1}", "😀"] {
                    let text: String = (0..len).map(|i| if i == at { special } else { "a" }).collect();
                    let encoded = serde_json::to_string(&text).unwrap_or_default();
                    let doc = format!("[  {encoded}          ,\n        {encoded}]");
                    let v = parse(doc.as_bytes()).unwrap_or(Json::Null);
                    assert_eq!(
                        v,
                        Json::Array(vec![Json::String(text.clone().into()), Json::String(text.clone().into())]),
                        "{doc}"
                    );
                }
                let raw = format!("\"{}\u{1}{}\"", "a".repeat(at), "a".repeat(len - at));
                assert_eq!(parse(raw.as_bytes()).unwrap_err(), "invalid character '\\x01' in string literal");
            }
        }
        let latin1 = parse(b"[\"caf\xe9\", 1]").unwrap_or(Json::Null);
        let number = Json::Number("1".into(), 1.0);
        assert_eq!(latin1, Json::Array(vec![Json::String("caf\u{fffd}".into()), number]));
    }
}
