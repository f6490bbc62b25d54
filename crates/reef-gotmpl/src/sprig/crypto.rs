//! Hashes, random values and cryptography: `sha1sum`, `sha256sum`, `sha512sum`,
//! `adler32sum`, `uuidv4`, `randBytes`, `bcrypt`, `htpasswd`, `encryptAES`, `decryptAES`,
//! `genPrivateKey`, and the certificate functions (`genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `WithKey` forms, `buildCustomCert`), which make RSA 2048 keys and
//! X.509 certificates shaped like Go's `crypto/x509` ones.

use base64::Engine as _;
use rand::RngCore;
use sha2::Digest as _;

use crate::func::{FuncError, FuncMap};
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

/// The bytes of a string argument, as the Go string holds them.
fn bytes_arg(a: &[Value], i: usize) -> Vec<u8> {
    crate::go_string::to_bytes(&str_arg(a, i)).into_owned()
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("sha1sum", fixed(&[STR]), |a| {
        use sha1::Digest as _;
        Ok(Value::from(hex(&sha1::Sha1::digest(bytes_arg(a, 0)))))
    });
    map.add("sha256sum", fixed(&[STR]), |a| Ok(Value::from(hex(&sha2::Sha256::digest(bytes_arg(a, 0))))));
    map.add("sha512sum", fixed(&[STR]), |a| Ok(Value::from(hex(&sha2::Sha512::digest(bytes_arg(a, 0))))));
    map.add("adler32sum", fixed(&[STR]), |a| Ok(Value::from(adler32(&bytes_arg(a, 0)).to_string())));
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
    map.add("bcrypt", fixed(&[STR]), |a| Ok(Value::from(bcrypt(&str_arg(a, 0)))));
    map.add("htpasswd", fixed(&[STR, STR]), |a| {
        let user = str_arg(a, 0);
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        Ok(Value::from(format!("{user}:{}", bcrypt(&str_arg(a, 1)))))
    });
    map.add("encryptAES", fixed(&[STR, STR]), |a| Ok(Value::from(encrypt_aes(&str_arg(a, 0), &str_arg(a, 1)))));
    map.add("decryptAES", fixed(&[STR, STR]), |a| decrypt_aes(&str_arg(a, 0), &str_arg(a, 1)).map(Value::from));
    map.add("derivePassword", fixed(&[INT, STR, STR, STR, STR]), |a| {
        let counter = int_arg(a, 0) as u32;
        Ok(Value::from(derive_password(counter, &str_arg(a, 1), &str_arg(a, 2), &str_arg(a, 3), &str_arg(a, 4))))
    });
    super::certs::register(map);
}

/// The Master Password algorithm's templates, by password type.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// HMAC-SHA256.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha2::Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = sha2::Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Sprig's `derivePassword` (the Master Password algorithm, scrypt N=32768 r=8 p=2).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string()));
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = SEED.to_vec();
    message.extend((site.len() as u32).to_be_bytes());
    message.extend(site.as_bytes());
    message.extend(counter.to_be_bytes());
    let seed = hmac_sha256(&key, &message);
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(class);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

/// Go's `bcrypt.GenerateFromPassword(input, 10)`, `$2a$` form.
fn bcrypt(input: &str) -> String {
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".to_owned();
    }
    match bcrypt::hash_with_result(input, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// The AES-256 key Sprig derives from a password: its bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig's `encryptAES`: AES-256-CBC with PKCS#7 padding, a random IV in front, base64.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    use aes::cipher::BlockEncrypt as _;
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let padding = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut out = vec![0u8; 16];
    rand::rng().fill_bytes(&mut out);
    let mut prev: [u8; 16] = out[..16].try_into().unwrap_or([0; 16]);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in chunk.iter().enumerate() {
            block[i] = b ^ prev[i];
        }
        let mut ga = block.into();
        cipher.encrypt_block(&mut ga);
        prev = ga.into();
        out.extend_from_slice(&prev);
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// Sprig's `decryptAES`, with Go's panics for malformed input as errors.
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, FuncError> {
    use aes::cipher::BlockDecrypt as _;
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = match base64::engine::general_purpose::STANDARD.decode(crypt64) {
        Ok(c) => c,
        Err(_) => {
            let pos = crypt64
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+/=".contains(*c)))
                .map_or(crypt64.len() / 4 * 4, |(i, _)| i);
            return Err(fail(format!("illegal base64 data at input byte {pos}")));
        }
    };
    if crypt.len() < 16 {
        return Err(fail(format!("runtime error: slice bounds out of range [:16] with capacity {}", crypt.len())));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(fail("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut ga: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
        let next = ga;
        let mut block = ga.into();
        cipher.decrypt_block(&mut block);
        ga = block.into();
        for (i, b) in ga.iter().enumerate() {
            out.push(b ^ prev[i]);
        }
        prev = next;
    }
    let Some(&last) = out.last() else {
        return Err(fail("runtime error: index out of range [-1]"));
    };
    let end = out.len() as i64 - i64::from(last);
    if end < 0 {
        return Err(fail(format!("runtime error: slice bounds out of range [:{end}]")));
    }
    out.truncate(end as usize);
    Ok(String::from_utf8_lossy(&out).into_owned())
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
        assert_eq!(
            show("derivePassword", &[i(1), s("long"), s("password"), s("user"), s("example.com")]),
            "ZedaFaxcZaso9*"
        );
        assert_eq!(show("derivePassword", &[i(1), s("pin"), s("p"), s("u"), s("s")]), "2461");
        assert_eq!(show("uuidv4", &[]).len(), 36);
        assert_eq!(show("randBytes", &[i(6)]).len(), 8);
    }
}
