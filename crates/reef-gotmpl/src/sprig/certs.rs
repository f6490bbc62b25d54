//! Keys and certificates as Sprig makes them with Go's `crypto/x509`: `genPrivateKey`,
//! `genCA`, `genCAWithKey`, `genSelfSignedCert(WithKey)`, `genSignedCert(WithKey)`,
//! `buildCustomCert`. Generated keys are RSA 2048 (4096 for `genPrivateKey "rsa"`), PEM as
//! Go writes it (`RSA PRIVATE KEY` in PKCS#1, `EC PRIVATE KEY` in SEC1, `PRIVATE KEY` in
//! PKCS#8, `DSA PRIVATE KEY` in OpenSSL's layout); certificates are SHA-256 signed, valid from
//! now for the given days, for server and client auth.

use std::net::IpAddr;
use std::rc::Rc;

use base64::Engine as _;
use crypto_bigint::{BoxedUint, ConcatenatingMul as _, Limb, NonZero, Resize as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};

use crate::func::{FuncError, FuncMap, Param};
use crate::value::{Object, Value};

use super::sig::{ANY, INT, STR, fixed};
use super::{arg, fail, int_arg, str_arg};

const LIST: Param = Param::List;

/// Sprig's `certificate` struct.
#[derive(Debug, Clone)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::from(self.cert.as_str())),
            "Key" => Some(Value::from(self.key.as_str())),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
}

/// A private key of a kind Sprig handles.
enum Key {
    Rsa(Box<rsa::PrivateKey>),
    /// P-256: the private scalar and the uncompressed public point.
    Ec {
        d: Vec<u8>,
        q: Vec<u8>,
    },
    /// Ed25519: the seed.
    Ed25519(Vec<u8>),
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// 1.2.840.113549.1.1.1.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A DER element.
pub(super) fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of a non-negative big-endian number, minimal as Go's `encoding/asn1` writes it.
pub(super) fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.get(start).is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&bytes[start..]);
    if content.is_empty() {
        content.push(0);
    }
    der(0x02, &content)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// The bytes following `marker` in `doc`.
fn after<'a>(doc: &'a [u8], marker: &[u8], len: usize) -> Option<&'a [u8]> {
    let at = doc.windows(marker.len()).position(|w| w == marker)? + marker.len();
    doc.get(at..at + len)
}

impl Key {
    /// An RSA key of `bits` bits (2048 or 4096, or 512 and 1024 in tests) with exponent
    /// 65537.
    fn generate_rsa(bits: usize) -> Result<Key, FuncError> {
        loop {
            let (p, q) = u32::try_from(bits / 2)
                .ok()
                .filter(|_| bits.is_multiple_of(2))
                .and_then(super::prime::two_primes)
                .ok_or_else(|| fail(format!("error generating rsa key: no {bits}-bit keys")))?;
            // Both primes have their top two bits set, so n has exactly `bits` bits. Primes
            // for which 65537 has no inverse are drawn again, as `rsa` does.
            let Some(d) = private_exponent(&p, &q) else { continue };
            let n = p.concatenating_mul(&q);
            return rsa::PrivateKey::from_components(n, BoxedUint::from(E), d, vec![p, q])
                .map(|key| Key::Rsa(Box::new(key)))
                .map_err(|e| fail(format!("error generating rsa key: {e}")));
        }
    }

    fn generate_ec() -> Result<Key, FuncError> {
        let pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| fail(format!("failed to generate private key: {e}")))?;
        let doc = pair.serialize_der();
        let d = after(&doc, &[0x02, 0x01, 0x01, 0x04, 0x20], 32);
        let q = after(&doc, &[0x03, 0x42, 0x00], 65);
        match (d, q) {
            (Some(d), Some(q)) => Ok(Key::Ec { d: d.to_vec(), q: q.to_vec() }),
            _ => Err(fail("failed to generate private key: unexpected key encoding")),
        }
    }

    fn generate_ed25519() -> Result<Key, FuncError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| fail(format!("failed to generate private key: {e}")))?;
        let seed = after(doc.as_ref(), &[0x04, 0x22, 0x04, 0x20], 32)
            .ok_or_else(|| fail("failed to generate private key: unexpected key encoding"))?;
        Ok(Key::Ed25519(seed.to_vec()))
    }

    /// Go's `x509.MarshalECPrivateKey`.
    fn sec1(d: &[u8], q: &[u8]) -> Vec<u8> {
        let mut bits = vec![0u8];
        bits.extend_from_slice(q);
        seq(&[der(0x02, &[1]), der(0x04, d), der(0xa0, &der(0x06, OID_P256)), der(0xa1, &der(0x03, &bits))])
    }

    /// PKCS#8 DER, for signing.
    fn pkcs8(&self) -> Result<Vec<u8>, FuncError> {
        Ok(match self {
            Key::Rsa(k) => match rsa_pkcs1(k) {
                Some(pkcs1) => {
                    seq(&[der(0x02, &[0]), seq(&[der(0x06, OID_RSA_ENCRYPTION), der(0x05, &[])]), der(0x04, &pkcs1)])
                }
                None => {
                    k.to_pkcs8_der().map_err(|e| fail(format!("error creating certificate: {e}")))?.as_bytes().to_vec()
                }
            },
            Key::Ec { d, q } => seq(&[
                der(0x02, &[0]),
                seq(&[der(0x06, OID_EC_PUBLIC_KEY), der(0x06, OID_P256)]),
                der(0x04, &Key::sec1(d, q)),
            ]),
            Key::Ed25519(seed) => seq(&[der(0x02, &[0]), seq(&[der(0x06, OID_ED25519)]), der(0x04, &der(0x04, seed))]),
        })
    }

    /// Go's `pemBlockForKey`, encoded.
    fn pem(&self) -> Result<String, FuncError> {
        Ok(match self {
            Key::Rsa(k) => match rsa_pkcs1(k) {
                Some(der) => pem_encode("RSA PRIVATE KEY", &der),
                None => {
                    let der = k.to_pkcs1_der().map_err(|e| fail(format!("error pem-encoding key: {e}")))?;
                    pem_encode("RSA PRIVATE KEY", der.as_bytes())
                }
            },
            Key::Ec { d, q } => pem_encode("EC PRIVATE KEY", &Key::sec1(d, q)),
            Key::Ed25519(_) => pem_encode("PRIVATE KEY", &self.pkcs8()?),
        })
    }

    fn key_pair(&self) -> Result<KeyPair, FuncError> {
        let alg = match self {
            Key::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
            Key::Ec { .. } => &rcgen::PKCS_ECDSA_P256_SHA256,
            Key::Ed25519(_) => &rcgen::PKCS_ED25519,
        };
        let der = self.pkcs8()?;
        KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), alg)
            .map_err(|e| fail(format!("error creating certificate: {e}")))
    }
}

/// A two-prime RSA key as PKCS #1 DER (Go's `x509.MarshalPKCS1PrivateKey`); `None` for a key
/// of more primes, or without its CRT values. The same bytes as `rsa`'s `to_pkcs1_der`, which
/// took 0.05 ms for a 2048-bit key, several times a certificate.
fn rsa_pkcs1(k: &rsa::PrivateKey) -> Option<Vec<u8>> {
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
    let int = |x: &BoxedUint| der_integer(&x.to_be_bytes());
    let [p, q] = k.primes() else { return None };
    let qinv = k.qinv()?.retrieve();
    Some(seq(&[
        der(0x02, &[0]),
        int(k.n().as_ref()),
        int(k.e()),
        int(k.d()),
        int(p.as_ref()),
        int(q.as_ref()),
        int(k.dp()?),
        int(k.dq()?),
        int(&qinv),
    ]))
}

/// The public exponent of the RSA keys made here (Go's too).
const E: u64 = 65_537;

/// The private exponent of an RSA key with odd primes `p` and `q` and exponent [`E`]:
/// E⁻¹ mod (p−1)(q−1), the exponent `rsa`'s `from_primes` computes, or `None` when E divides
/// (p−1)(q−1). E is a small prime, so the inverse is (1 + k·φ)/E for the k below E with
/// k·φ ≡ −1 (mod E): one multiplication and two passes over the limbs, where a general inverse
/// modulo the even φ took most of the 0.37 ms `from_primes` spent.
fn private_exponent(p: &BoxedUint, q: &BoxedUint) -> Option<BoxedUint> {
    let e = NonZero::new(Limb(E)).expect("65537 is not zero");
    let one = BoxedUint::one();
    let phi = (p - &one).concatenating_mul(&(q - &one));
    let r = phi.rem_limb(e).0;
    if r == 0 {
        return None;
    }
    // r⁻¹ mod E, by Fermat's little theorem (E is prime).
    let (mut inverse, mut base, mut exp) = (1u64, r, E - 2);
    while exp > 0 {
        if exp & 1 == 1 {
            inverse = inverse * base % E;
        }
        base = base * base % E;
        exp >>= 1;
    }
    // k·φ + 1 fits one more limb than φ; divided by E it is below φ again.
    let k = BoxedUint::from(E - inverse);
    let (d, rem) = (phi.concatenating_mul(&k) + &one).div_rem_limb(e);
    debug_assert_eq!(rem, Limb::ZERO);
    Some(d.resize(phi.bits_precision()))
}

/// Go's `pem.EncodeToMemory`: 64-column base64 between the armour lines.
fn pem_encode(kind: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// Go's `pem.Decode`: the first block's type and bytes.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let kind_end = rest.find("-----")?;
    let kind = &rest[..kind_end];
    let body = &rest[kind_end + 5..];
    let end_marker = format!("-----END {kind}-----");
    let end = body.find(&end_marker)?;
    let b64: String = body[..end]
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((kind.to_owned(), bytes))
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_private_key(text: &str) -> Result<Key, String> {
    let (kind, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if kind == "PRIVATE KEY" {
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(&der) {
            return Ok(Key::Rsa(Box::new(k)));
        }
        if let Some(seed) = after(&der, &[0x04, 0x22, 0x04, 0x20], 32)
            && der.windows(OID_ED25519.len()).any(|w| w == OID_ED25519)
        {
            return Ok(Key::Ed25519(seed.to_vec()));
        }
        if let (Some(d), Some(q)) =
            (after(&der, &[0x02, 0x01, 0x01, 0x04, 0x20], 32), after(&der, &[0x03, 0x42, 0x00], 65))
        {
            return Ok(Key::Ec { d: d.to_vec(), q: q.to_vec() });
        }
        return Err("decoding PEM as PKCS#8: x509: failed to parse private key".to_owned());
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {kind}"));
    };
    match prefix {
        "RSA" => rsa::PrivateKey::from_pkcs1_der(&der)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => match (after(&der, &[0x02, 0x01, 0x01, 0x04, 0x20], 32), after(&der, &[0x03, 0x42, 0x00], 65)) {
            (Some(d), Some(q)) => Ok(Key::Ec { d: d.to_vec(), q: q.to_vec() }),
            _ => Err("parsing EC private key from PEM: x509: failed to parse EC private key".to_owned()),
        },
        _ => Err(format!("invalid private key type {kind}")),
    }
}

/// Go's `getBaseCertTemplate`: names, validity, usages.
fn base_params(cn: &str, ips: &Value, dns: &Value, days: i64) -> Result<CertificateParams, FuncError> {
    let mut params = CertificateParams::default();
    let mut serial = [0u8; 16];
    {
        use rand::RngCore as _;
        rand::rng().fill_bytes(&mut serial);
    }
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    params.distinguished_name = name;
    for ip in super::slice_items(ips).unwrap_or_default() {
        let Value::String(s) = &ip else {
            return Err(fail(format!("error parsing ip: {} is not a string", crate::format::sprint(&ip))));
        };
        let addr: IpAddr = s.parse().map_err(|_| fail(format!("error parsing ip: {s}")))?;
        params.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in super::slice_items(dns).unwrap_or_default() {
        let Value::String(s) = &name else {
            return Err(fail(format!(
                "error processing alternate dns name: {} is not a string",
                crate::format::sprint(&name)
            )));
        };
        let dns = s.to_string().try_into().map_err(|e| fail(format!("error creating certificate: {e}")))?;
        params.subject_alt_names.push(SanType::DnsName(dns));
    }
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::days(days);
    params.key_usages = vec![KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.is_ca = IsCa::ExplicitNoCa;
    Ok(params)
}

fn certificate(cert: &rcgen::Certificate, key: &Key) -> Result<Value, FuncError> {
    Ok(Value::Object(Rc::new(Certificate { cert: pem_encode("CERTIFICATE", cert.der()), key: key.pem()? })))
}

fn generate_ca(cn: &str, days: i64, key: &Key) -> Result<Value, FuncError> {
    let mut params = base_params(cn, &Value::Nil, &Value::Nil, days)?;
    params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pair = key.key_pair()?;
    let cert = params.self_signed(&pair).map_err(|e| fail(format!("error creating certificate: {e}")))?;
    certificate(&cert, key)
}

fn self_signed(a: &[Value], key: &Key) -> Result<Value, FuncError> {
    let params = base_params(&str_arg(a, 0), arg(a, 1), arg(a, 2), int_arg(a, 3))?;
    let pair = key.key_pair()?;
    let cert = params.self_signed(&pair).map_err(|e| fail(format!("error creating certificate: {e}")))?;
    certificate(&cert, key)
}

/// The CA a `genSignedCert` call names.
fn ca_arg(v: &Value) -> Result<(String, String), FuncError> {
    match v {
        Value::Object(o) if o.type_name() == "sprig.certificate" => {
            let get = |f: &str| match o.field(f) {
                Some(Value::String(ref s)) => s.to_string(),
                _ => String::new(),
            };
            Ok((get("Cert"), get("Key")))
        }
        other => Err(fail(format!("wrong type for value; expected sprig.certificate; got {}", other.type_name()))),
    }
}

fn signed(a: &[Value], key: &Key) -> Result<Value, FuncError> {
    let (ca_cert, ca_key) = ca_arg(arg(a, 4))?;
    let (kind, _) = pem_decode(&ca_cert).ok_or_else(|| fail("unable to decode certificate"))?;
    if kind != "CERTIFICATE" {
        return Err(fail("error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate"));
    }
    let signer_key = parse_private_key(&ca_key).map_err(|e| fail(format!("error parsing private key: {e}")))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, signer_key.key_pair()?)
        .map_err(|e| fail(format!("error parsing certificate: decodedSignerCert.Bytes: {e}")))?;
    let params = base_params(&str_arg(a, 0), arg(a, 1), arg(a, 2), int_arg(a, 3))?;
    let pair = key.key_pair()?;
    let cert = params.signed_by(&pair, &issuer).map_err(|e| fail(format!("error creating certificate: {e}")))?;
    certificate(&cert, key)
}

fn key_arg(text: &str) -> Result<Key, FuncError> {
    parse_private_key(text).map_err(|e| fail(format!("parsing private key: {e}")))
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("genPrivateKey", fixed(&[STR]), |a| {
        let typ = str_arg(a, 0);
        let key = match typ.as_str() {
            "" | "rsa" => Key::generate_rsa(4096),
            "ecdsa" => Key::generate_ec(),
            "ed25519" => Key::generate_ed25519(),
            "dsa" => return Ok(Value::from(pem_encode("DSA PRIVATE KEY", &super::dsa::DsaKey::generate().der()))),
            _ => return Ok(Value::from(format!("Unknown type {typ}"))),
        };
        Ok(Value::from(match key.and_then(|k| k.pem()) {
            Ok(pem) => pem,
            Err(e) => e.0,
        }))
    });
    map.add("genCA", fixed(&[STR, INT]), |a| generate_ca(&str_arg(a, 0), int_arg(a, 1), &Key::generate_rsa(2048)?));
    map.add("genCAWithKey", fixed(&[STR, INT, STR]), |a| {
        generate_ca(&str_arg(a, 0), int_arg(a, 1), &key_arg(&str_arg(a, 2))?)
    });
    map.add("genSelfSignedCert", fixed(&[STR, LIST, LIST, INT]), |a| self_signed(a, &Key::generate_rsa(2048)?));
    map.add("genSelfSignedCertWithKey", fixed(&[STR, LIST, LIST, INT, STR]), |a| {
        self_signed(a, &key_arg(&str_arg(a, 4))?)
    });
    map.add("genSignedCert", fixed(&[STR, LIST, LIST, INT, ANY]), |a| signed(a, &Key::generate_rsa(2048)?));
    map.add("genSignedCertWithKey", fixed(&[STR, LIST, LIST, INT, ANY, STR]), |a| signed(a, &key_arg(&str_arg(a, 5))?));
    map.add("buildCustomCert", fixed(&[STR, STR]), |a| {
        let engine = base64::engine::general_purpose::STANDARD;
        let cert = engine.decode(str_arg(a, 0)).map_err(|_| fail("unable to decode base64 certificate"))?;
        let key = engine.decode(str_arg(a, 1)).map_err(|_| fail("unable to decode base64 private key"))?;
        let (cert, key) = (String::from_utf8_lossy(&cert).into_owned(), String::from_utf8_lossy(&key).into_owned());
        let Some((_, der)) = pem_decode(&cert) else {
            return Err(fail("unable to decode certificate"));
        };
        if der.first() != Some(&0x30) {
            return Err(fail("error parsing certificate: decodedCert.Bytes: x509: malformed certificate"));
        }
        let parsed = parse_private_key(&key).map_err(|e| fail(format!("error parsing private key: {e}")))?;
        Issuer::from_ca_cert_pem(&cert, parsed.key_pair()?)
            .map_err(|e| fail(format!("error parsing certificate: decodedCert.Bytes: {e}")))?;
        Ok(Value::Object(Rc::new(Certificate { cert, key })))
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn field(v: &Value, name: &str) -> String {
        match v {
            Value::Object(o) => o.field(name).map(|f| crate::format::sprint(&f)).unwrap_or_default(),
            _ => String::new(),
        }
    }

    #[test]
    fn a_ca_signs_a_certificate_with_go_shaped_pem() {
        let ca = call("genCA", &[s("ca"), i(30)]).expect("CA");
        assert!(field(&ca, "Cert").starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(field(&ca, "Key").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let leaf = call("genSignedCert", &[s("x"), l(&[s("10.0.0.1")]), l(&[s("x.svc")]), i(30), ca]).expect("signed");
        assert!(field(&leaf, "Cert").starts_with("-----BEGIN CERTIFICATE-----\n"));
        let ec = call("genPrivateKey", &[s("ecdsa")]).expect("ec");
        let ec = crate::format::sprint(&ec);
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE"), "{ec}");
        let with_key = call("genSelfSignedCertWithKey", &[s("x"), Value::Nil, Value::Nil, i(1), s(&ec)])
            .expect("self-signed with an EC key");
        assert_eq!(field(&with_key, "Key"), ec);
    }

    #[test]
    fn rsa_keys_have_the_requested_size_and_exponent_and_check_out() {
        use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
        for bits in [512, 1024, 2048] {
            let Ok(Key::Rsa(key)) = Key::generate_rsa(bits) else { panic!("an RSA key of {bits} bits") };
            assert_eq!(key.n().as_ref().bit_width() as usize, bits, "modulus size");
            assert_eq!(key.e(), &BoxedUint::from(65_537u64));
            assert_eq!(key.primes().len(), 2);
            assert!(key.validate().is_ok(), "{bits}-bit key validates");
        }
    }

    #[test]
    fn the_private_exponent_is_the_one_rsa_computes() {
        use rsa::traits::PrivateKeyParts as _;
        for bits in [256, 512, 1024] {
            let (p, q) = super::super::prime::two_primes(bits).expect("primes");
            let theirs = rsa::PrivateKey::from_primes(vec![p.clone(), q.clone()], BoxedUint::from(E));
            match (private_exponent(&p, &q), theirs) {
                (Some(d), Ok(key)) => assert_eq!(&d, key.d(), "{bits}-bit primes"),
                (None, Err(_)) => {}
                (ours, theirs) => panic!("{bits}-bit primes: ours {ours:?}, rsa's {:?}", theirs.map(|k| k.d().clone())),
            }
        }
        // No inverse when 65537 divides p − 1 (whether p is prime does not matter to the check).
        assert_eq!(private_exponent(&BoxedUint::from(6 * E + 1), &BoxedUint::from(7u64)), None);
    }

    #[test]
    fn integers_are_minimal_twos_complement() {
        assert_eq!(der_integer(&[0]), vec![0x02, 0x01, 0x00]);
        assert_eq!(der_integer(&[0, 0, 0x7f]), vec![0x02, 0x01, 0x7f]);
        assert_eq!(der_integer(&[0, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
    }

    #[test]
    fn rsa_keys_encode_as_rsa_encodes_them() {
        for bits in [512, 1024, 2048] {
            let key = Key::generate_rsa(bits).expect("a key");
            let Key::Rsa(k) = &key else { panic!("an RSA key") };
            let pkcs1 = rsa_pkcs1(k).expect("two primes");
            assert_eq!(pkcs1, k.to_pkcs1_der().expect("rsa encodes it").as_bytes(), "{bits} bits, PKCS #1");
            assert_eq!(
                key.pkcs8().expect("pkcs8"),
                k.to_pkcs8_der().expect("rsa encodes it").as_bytes(),
                "{bits} bits, PKCS #8"
            );
            // And it reads back.
            let back = rsa::PrivateKey::from_pkcs1_der(&pkcs1).expect("rsa reads it");
            assert_eq!(&back, &**k);
        }
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn bad_inputs_fail_with_sprigs_messages() {
        assert_eq!(
            show("genCAWithKey", &[s("ca"), i(30), s("not a key")]),
            "ERR: parsing private key: no PEM data in input"
        );
        assert_eq!(show("buildCustomCert", &[s("bad"), s("bad")]), "ERR: unable to decode base64 certificate");
        assert_eq!(show("genPrivateKey", &[s("nope")]), "Unknown type nope");
    }
}
