//! Go strings hold any bytes; reef's strings hold UTF-8. A byte that is not part of valid
//! UTF-8 (a binary file read with `.Files.Get`, what `b64dec` decodes) is kept as one
//! character of a private range, so that such a string comes back to the same bytes where
//! the bytes are what counts: `b64enc`, `b32enc` and the hashes.

use std::borrow::Cow;

/// The character that stands for the byte `0x80 + n` is `BASE + 0x80 + n`: the end of the
/// Supplementary Private Use Area-B, which text does not use.
const BASE: u32 = 0x10_FF00;

/// The bytes as text, as `String::from_utf8_lossy` makes it (bytes that are not UTF-8
/// replaced by U+FFFD), borrowed when they are UTF-8. Valid UTF-8 (nearly every chart file)
/// is checked by `str::from_utf8`, which goes through ASCII a word at a time, where
/// `from_utf8_lossy` looks at every byte.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The bytes as a string: valid UTF-8 as it is, each other byte as its stand-in character.
pub fn from_bytes(bytes: &[u8]) -> Cow<'_, str> {
    let Err(first) = std::str::from_utf8(bytes) else {
        return Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    };
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes;
    let mut err = Some(first);
    while let Some(e) = err {
        let (valid, after) = rest.split_at(e.valid_up_to());
        out.push_str(std::str::from_utf8(valid).unwrap_or_default());
        let bad = e.error_len().unwrap_or(after.len());
        for b in &after[..bad] {
            out.push(char::from_u32(BASE + u32::from(*b)).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        rest = &after[bad..];
        err = std::str::from_utf8(rest).err();
    }
    out.push_str(std::str::from_utf8(rest).unwrap_or_default());
    Cow::Owned(out)
}

/// How many bytes the Go string has (what `len` counts): each stand-in character is one.
pub fn byte_len(s: &str) -> usize {
    // Every stand-in character's UTF-8 starts with 0xF4, which plain text rarely has.
    if !s.as_bytes().contains(&0xF4) {
        return s.len();
    }
    s.len() - 3 * s.chars().filter(|c| is_stand_in(*c)).count()
}

fn is_stand_in(c: char) -> bool {
    (BASE + 0x80..=BASE + 0xFF).contains(&(c as u32))
}

/// The bytes a string stands for: its UTF-8, with each stand-in character back as its byte.
pub fn to_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.chars().any(is_stand_in) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if is_stand_in(c) {
            out.push((c as u32 - BASE) as u8);
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_come_back_from_their_string() {
        let samples: [&[u8]; 5] = [b"plain", b"BZh91AY&SY\xff\x00\x80", b"\xe2\x82", b"caf\xc3\xa9 \xc3", b""];
        for bytes in samples {
            assert_eq!(to_bytes(&from_bytes(bytes)).as_ref(), bytes, "{bytes:?}");
        }
        assert!(matches!(from_bytes(b"text"), Cow::Borrowed("text")));
        assert_eq!(from_bytes("café".as_bytes()), "café");
    }

    #[test]
    fn byte_len_counts_each_stand_in_as_one_byte() {
        let samples: [&[u8]; 5] = [b"plain", b"\xff\x00\x80a", b"\xe2\x82", "caf\u{e9} \u{100000}".as_bytes(), b""];
        for bytes in samples {
            assert_eq!(byte_len(&from_bytes(bytes)), bytes.len(), "{bytes:?}");
        }
    }
}
