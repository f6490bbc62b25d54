//! Hashes and random values: `sha1sum`, `sha256sum`, `sha512sum`, `adler32sum` (hex or
//! decimal text of the string's bytes), `uuidv4`, `randBytes` (base64 of random bytes).

use base64::Engine as _;
use rand::RngCore;
use sha2::Digest as _;

use crate::func::FuncMap;
use crate::value::Value;

use super::sig::{INT, STR, fixed};
use super::{fail, int_arg, str_arg};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Adler-32 checksum (`hash/adler32`).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("sha1sum", fixed(&[STR]), |a| {
        use sha1::Digest as _;
        Ok(Value::from(hex(&sha1::Sha1::digest(str_arg(a, 0).as_bytes()))))
    });
    map.add("sha256sum", fixed(&[STR]), |a| Ok(Value::from(hex(&sha2::Sha256::digest(str_arg(a, 0).as_bytes())))));
    map.add("sha512sum", fixed(&[STR]), |a| Ok(Value::from(hex(&sha2::Sha512::digest(str_arg(a, 0).as_bytes())))));
    map.add("adler32sum", fixed(&[STR]), |a| Ok(Value::from(adler32(str_arg(a, 0).as_bytes()).to_string())));
    map.add("uuidv4", fixed(&[]), |_| Ok(Value::from(uuid::Uuid::new_v4().to_string())));
    map.add("randBytes", fixed(&[INT]), |a| {
        let count = int_arg(a, 0);
        if count < 0 {
            return Err(fail("runtime error: makeslice: len out of range"));
        }
        let mut bytes = vec![0u8; usize::try_from(count).unwrap_or(0).min(1 << 26)];
        rand::rng().fill_bytes(&mut bytes);
        Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)))
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn hashes_match_go() {
        assert_eq!(show("sha1sum", &[s("hello")]), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        assert_eq!(
            show("sha256sum", &[s("hello")]),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(show("adler32sum", &[s("hello")]), "103547413");
        assert_eq!(show("uuidv4", &[]).len(), 36);
        assert_eq!(show("randBytes", &[i(6)]).len(), 8);
    }
}
