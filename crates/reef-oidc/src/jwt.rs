//! Verifying a JSON Web Token (a JWS in compact form) against a set of public keys (a JWKS):
//! the signature with the key its `kid` names, then issuer, audience, expiry and not-before,
//! with a small allowance for clock skew. Signatures are checked by `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How far a token's times may be off from ours.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// Why a token was refused. The messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts, or a header or payload that is not JSON.
    #[error("{}", self.reason())]
    Malformed,
    /// An algorithm reef does not accept (`none`, HMAC, or unknown).
    #[error("the token is signed with {0}, which is not accepted")]
    Algorithm(String),
    /// No key of the issuer has the token's key id.
    #[error("{}", self.reason())]
    UnknownKey,
    /// The signature does not verify.
    #[error("{}", self.reason())]
    BadSignature,
    /// The issuer is not the configured one.
    #[error("{}", self.reason())]
    WrongIssuer,
    /// The audience does not include the configured one.
    #[error("{}", self.reason())]
    WrongAudience,
    /// The token has expired, or carries no expiry.
    #[error("{}", self.reason())]
    Expired,
    /// The token is not valid yet.
    #[error("{}", self.reason())]
    NotYetValid,
    /// The ID token's nonce is not the one the login sent.
    #[error("{}", self.reason())]
    WrongNonce,
}

impl JwtError {
    /// Why the token was refused, in a sentence that never holds the token (the algorithm's
    /// name is left out, so that it is a constant).
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::Malformed => "the token is not a well-formed JWT",
            JwtError::Algorithm(_) => "the token is signed with an algorithm that is not accepted",
            JwtError::UnknownKey => "the token is signed with a key the identity provider does not publish",
            JwtError::BadSignature => "the token's signature is not valid",
            JwtError::WrongIssuer => "the token was issued by another issuer",
            JwtError::WrongAudience => "the token is not meant for this server (audience)",
            JwtError::Expired => "the token has expired",
            JwtError::NotYetValid => "the token is not valid yet",
            JwtError::WrongNonce => "the ID token does not belong to this login",
        }
    }
}

/// One public key of a JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// The key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// The key id.
    pub kid: Option<String>,
    /// What the key is for; only `sig` keys (or keys that do not say) verify.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// The algorithm the key is for, if it says.
    pub alg: Option<String>,
    /// RSA modulus.
    pub n: Option<String>,
    /// RSA exponent.
    pub e: Option<String>,
    /// EC/OKP curve.
    pub crv: Option<String>,
    /// EC/OKP x coordinate.
    pub x: Option<String>,
    /// EC y coordinate.
    pub y: Option<String>,
}

/// A JWKS document.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// A token's header, as far as verification needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// The signing algorithm.
    pub alg: String,
    /// The key id.
    pub kid: Option<String>,
}

/// A token split into its parts, not yet verified.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The header.
    pub header: Header,
    signed: &'a str,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

/// Splits and decodes a compact JWS.
pub fn parse(token: &str) -> Result<Parsed<'_>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| JwtError::Malformed)?;
    let claims: Map<String, Value> = serde_json::from_slice(&decode(p)?).map_err(|_| JwtError::Malformed)?;
    let signed = &token[..h.len() + 1 + p.len()];
    Ok(Parsed { header, signed, signature: decode(s)?, claims })
}

/// Whether a string looks like a JWT (three base64url parts) rather than an opaque token.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
        && token
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// What a verified token must satisfy.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The issuer, exactly.
    pub issuer: &'a str,
    /// An audience the token must name.
    pub audience: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
    /// For an ID token: the nonce the login sent.
    pub nonce: Option<&'a str>,
}

fn b64(field: Option<&String>) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(field.ok_or(JwtError::UnknownKey)?).map_err(|_| JwtError::UnknownKey)
}

fn verify_signature(alg: &str, key: &Jwk, message: &[u8], sig: &[u8]) -> Result<(), JwtError> {
    let rsa = |params: &'static signature::RsaParameters| -> Result<(), JwtError> {
        if key.kty != "RSA" {
            return Err(JwtError::UnknownKey);
        }
        let components = RsaPublicKeyComponents { n: b64(key.n.as_ref())?, e: b64(key.e.as_ref())? };
        components.verify(params, message, sig).map_err(|_| JwtError::BadSignature)
    };
    let ec = |curve: &str, alg: &'static signature::EcdsaVerificationAlgorithm| -> Result<(), JwtError> {
        if key.kty != "EC" || key.crv.as_deref() != Some(curve) {
            return Err(JwtError::UnknownKey);
        }
        let mut point = vec![0x04];
        point.extend(b64(key.x.as_ref())?);
        point.extend(b64(key.y.as_ref())?);
        UnparsedPublicKey::new(alg, point).verify(message, sig).map_err(|_| JwtError::BadSignature)
    };
    match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "ES256" => ec("P-256", &signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => ec("P-384", &signature::ECDSA_P384_SHA384_FIXED),
        "EdDSA" => {
            if key.kty != "OKP" || key.crv.as_deref() != Some("Ed25519") {
                return Err(JwtError::UnknownKey);
            }
            UnparsedPublicKey::new(&signature::ED25519, b64(key.x.as_ref())?)
                .verify(message, sig)
                .map_err(|_| JwtError::BadSignature)
        }
        other => Err(JwtError::Algorithm(other.to_owned())),
    }
}

/// Whether `alg` is one reef verifies.
pub fn accepted_algorithm(alg: &str) -> bool {
    matches!(alg, "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "EdDSA")
}

/// The key of `keys` that `header` names: by key id, or the only signing key when the token
/// names none. `None` when there is no such key (the caller may fetch the keys again).
pub fn find_key<'k>(keys: &'k JwkSet, header: &Header) -> Option<&'k Jwk> {
    let signing = keys.keys.iter().filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"));
    match &header.kid {
        Some(kid) => signing.clone().find(|k| k.kid.as_deref() == Some(kid.as_str())),
        None => {
            let all: Vec<&Jwk> = signing.collect();
            if all.len() == 1 { Some(all[0]) } else { None }
        }
    }
}

impl Parsed<'_> {
    /// Checks the signature with `key` and the claims against `expect`; returns the claims.
    pub fn verify(self, key: &Jwk, expect: &Expectations<'_>) -> Result<Map<String, Value>, JwtError> {
        if !accepted_algorithm(&self.header.alg) {
            return Err(JwtError::Algorithm(self.header.alg.clone()));
        }
        if key.alg.as_deref().is_some_and(|a| a != self.header.alg) {
            return Err(JwtError::UnknownKey);
        }
        verify_signature(&self.header.alg, key, self.signed.as_bytes(), &self.signature)?;
        let claims = self.claims;
        if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
            return Err(JwtError::WrongIssuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == expect.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.audience)),
            _ => false,
        };
        if !audience_ok {
            return Err(JwtError::WrongAudience);
        }
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or(JwtError::Expired)?;
        if exp + CLOCK_SKEW_SECONDS <= expect.now {
            return Err(JwtError::Expired);
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
            && nbf - CLOCK_SKEW_SECONDS > expect.now
        {
            return Err(JwtError::NotYetValid);
        }
        if let Some(nonce) = expect.nonce
            && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
        {
            return Err(JwtError::WrongNonce);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use serde_json::json;

    use super::*;

    struct Signer {
        pair: EcdsaKeyPair,
        kid: &'static str,
    }

    impl Signer {
        fn new(kid: &'static str) -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            Signer {
                pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap(),
                kid,
            }
        }

        fn jwk(&self) -> Jwk {
            let public = self.pair.public_key().as_ref();
            serde_json::from_value(json!({
                "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..]),
            }))
            .unwrap()
        }

        fn sign(&self, header: Value, claims: Value) -> String {
            let h = URL_SAFE_NO_PAD.encode(header.to_string());
            let p = URL_SAFE_NO_PAD.encode(claims.to_string());
            let message = format!("{h}.{p}");
            let sig = self.pair.sign(&SystemRandom::new(), message.as_bytes()).unwrap();
            format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }

        fn token(&self, claims: Value) -> String {
            self.sign(json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}), claims)
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn expect() -> Expectations<'static> {
        Expectations { issuer: "https://idp", audience: "reef", now: NOW, nonce: None }
    }

    fn claims() -> Value {
        json!({"iss": "https://idp", "aud": "reef", "sub": "alice", "exp": NOW + 300, "iat": NOW})
    }

    fn check(signer: &Signer, keys: &JwkSet, token: &str) -> Result<Map<String, Value>, JwtError> {
        let _ = signer;
        let parsed = parse(token)?;
        let key = find_key(keys, &parsed.header).ok_or(JwtError::UnknownKey)?;
        parsed.verify(key, &expect())
    }

    #[test]
    fn a_good_token_verifies_and_every_bad_one_is_refused_for_its_reason() {
        let signer = Signer::new("k1");
        let keys = JwkSet { keys: vec![signer.jwk()] };
        let good = signer.token(claims());
        assert_eq!(check(&signer, &keys, &good).unwrap()["sub"], "alice");
        let with = |f: fn(&mut Value)| {
            let mut c = claims();
            f(&mut c);
            check(&signer, &keys, &signer.token(c))
        };
        assert_eq!(with(|c| c["aud"] = json!(["other", "reef"])).unwrap()["sub"], "alice");
        assert_eq!(with(|c| c["iss"] = json!("https://evil")).unwrap_err(), JwtError::WrongIssuer);
        assert_eq!(with(|c| c["aud"] = json!("other")).unwrap_err(), JwtError::WrongAudience);
        assert_eq!(with(|c| c["exp"] = json!(NOW - 61)).unwrap_err(), JwtError::Expired);
        // Within the allowed skew.
        assert!(with(|c| c["exp"] = json!(NOW - 30)).is_ok());
        assert_eq!(with(|c| c.as_object_mut().unwrap().retain(|k, _| k != "exp")).unwrap_err(), JwtError::Expired);
        assert_eq!(with(|c| c["nbf"] = json!(NOW + 120)).unwrap_err(), JwtError::NotYetValid);

        // Tampered: the payload changed after signing.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c["sub"] = json!("admin");
        parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        assert_eq!(check(&signer, &keys, &parts.join(".")).unwrap_err(), JwtError::BadSignature);
        // Signed by a key the issuer does not publish, under a known or unknown id.
        let stranger = Signer::new("k2");
        assert_eq!(check(&signer, &keys, &stranger.token(claims())).unwrap_err(), JwtError::UnknownKey);
        let impostor = Signer::new("k1");
        assert_eq!(check(&signer, &keys, &impostor.token(claims())).unwrap_err(), JwtError::BadSignature);
        // `none` and HMAC are refused whatever the key.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(check(&signer, &keys, &none).unwrap_err(), JwtError::Algorithm("none".into()));
        let hs = signer.sign(json!({"alg": "HS256", "kid": "k1"}), claims());
        assert_eq!(check(&signer, &keys, &hs).unwrap_err(), JwtError::Algorithm("HS256".into()));
        assert_eq!(parse("a.b").unwrap_err(), JwtError::Malformed);
        assert!(looks_like_jwt(&good));
        assert!(!looks_like_jwt("reef_pat_abc"));
    }

    #[test]
    fn an_id_token_must_carry_the_logins_nonce() {
        let signer = Signer::new("k1");
        let keys = JwkSet { keys: vec![signer.jwk()] };
        let mut c = claims();
        c["nonce"] = json!("n-1");
        let token = signer.token(c);
        let key = find_key(&keys, &parse(&token).unwrap().header).unwrap();
        let ok = Expectations { nonce: Some("n-1"), ..expect() };
        assert!(parse(&token).unwrap().verify(key, &ok).is_ok());
        let other = Expectations { nonce: Some("n-2"), ..expect() };
        assert_eq!(parse(&token).unwrap().verify(key, &other).unwrap_err(), JwtError::WrongNonce);
    }
}
