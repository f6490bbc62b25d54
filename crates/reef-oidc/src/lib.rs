//! OpenID Connect for reef: the issuer's discovery document, the authorization code flow with
//! PKCE (the authorization URL, then the code exchanged for tokens), and verification of the
//! issuer's JWTs (ID tokens, and access tokens that machine clients present) against its keys.
//!
//! The discovery document is fetched on first use and kept for an hour. The keys (JWKS) are
//! kept until a token names a key id they do not hold; then they are fetched again, at most
//! five times a minute, so that a flood of tokens with made-up key ids cannot turn into a
//! flood of requests to the issuer.

pub mod jwt;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};
use zeroize::Zeroizing;

use crate::jwt::{Expectations, JwkSet, JwtError};

const TIMEOUT: Duration = Duration::from_secs(10);
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// At most this many fetches of the keys ...
const JWKS_FETCHES: usize = 5;
/// ... in this long.
const JWKS_WINDOW: Duration = Duration::from_secs(60);

/// The issuer and reef's registration with it.
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer URL, exactly as its tokens name it.
    pub issuer: String,
    /// reef's client id.
    pub client_id: String,
    /// reef's client secret.
    pub client_secret: Zeroizing<String>,
    /// The scopes a login asks for (`openid` is always asked for).
    pub scopes: Vec<String>,
    /// The audience machine clients' access tokens must name.
    pub audience: String,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Why an OpenID Connect step failed. Never carries a token, code or secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer does not answer, or answers 5xx: the step may work later.
    #[error("the identity provider {issuer} is unavailable: {reason}")]
    Unavailable {
        /// The issuer.
        issuer: String,
        /// What happened.
        reason: String,
    },
    /// The issuer refused the step (a used or expired code, a refused client).
    #[error("the identity provider refused the login: {0}")]
    Refused(String),
    /// A token did not verify.
    #[error(transparent)]
    Token(#[from] JwtError),
    /// The issuer's documents do not fit the configuration (another issuer, no keys).
    #[error("the identity provider is misconfigured: {0}")]
    Misconfigured(String),
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What the token endpoint returns.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The ID token.
    pub id_token: Option<String>,
    /// The access token.
    pub access_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenResponse(..)")
    }
}

struct Keys {
    set: JwkSet,
    /// When the keys were fetched, within the last [`JWKS_WINDOW`]; the last is the newest.
    fetches: std::collections::VecDeque<Instant>,
    fetched: bool,
}

/// A client of one OpenID Connect issuer. Share it behind an `Arc`.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovery: RwLock<Option<(Discovery, Instant)>>,
    keys: RwLock<Keys>,
    refreshing: Mutex<()>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// 32 random bytes, base64url: for `state`, `nonce` and PKCE verifiers.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system's random source does not fail on the platforms reef runs on; if it did, an
    // all-zero token would be guessable, so fail loudly instead.
    #[allow(clippy::expect_used)]
    SystemRandom::new().fill(&mut bytes).expect("the system's random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE verifier's S256 challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()))
}

impl Oidc {
    /// A client for `config`. Makes no call until it is used.
    pub fn new(mut config: OidcConfig) -> Result<Oidc, OidcError> {
        config.issuer = config.issuer.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Misconfigured(format!("no HTTP client: {e}")))?;
        Ok(Oidc {
            config,
            http,
            discovery: RwLock::new(None),
            keys: RwLock::new(Keys { set: JwkSet::default(), fetches: Default::default(), fetched: false }),
            refreshing: Mutex::new(()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> OidcError {
        OidcError::Unavailable { issuer: self.config.issuer.clone(), reason: reason.to_string() }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self.http.get(url).send().await.map_err(|e| self.unavailable(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.unavailable(format!("HTTP {status} from {url}")));
        }
        response.json().await.map_err(|e| OidcError::Misconfigured(format!("{url}: {e}")))
    }

    async fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some((d, at)) = self.discovery.read().await.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let d: Discovery = self.get_json(&url).await?;
        if d.issuer.trim_end_matches('/') != self.config.issuer {
            return Err(OidcError::Misconfigured(format!(
                "the discovery document names the issuer {}, not {}",
                d.issuer, self.config.issuer
            )));
        }
        *self.discovery.write().await = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// The URL to send a browser to, to log in: the authorization code flow with PKCE (S256).
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let d = self.discovery().await?;
        let mut scopes = vec!["openid".to_owned()];
        scopes.extend(self.config.scopes.iter().filter(|s| *s != "openid").cloned());
        let mut url = reqwest::Url::parse(&d.authorization_endpoint)
            .map_err(|e| OidcError::Misconfigured(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &pkce_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code for tokens.
    pub async fn exchange(&self, code: &str, redirect_uri: &str, verifier: &str) -> Result<TokenResponse, OidcError> {
        let d = self.discovery().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let response = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(&self.config.client_id, Some(self.config.client_secret.as_str()))
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(self.unavailable(format!("the token endpoint answered HTTP {status}")));
        }
        if !status.is_success() {
            // The OAuth error code, and its description if any: no secret in either.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let error = body.get("error").and_then(Value::as_str).unwrap_or("unknown error");
            let detail = body.get("error_description").and_then(Value::as_str).unwrap_or("");
            return Err(OidcError::Refused(format!("{error} {detail}").trim().to_owned()));
        }
        response.json().await.map_err(|e| OidcError::Misconfigured(format!("token endpoint: {e}")))
    }

    /// Verifies an ID token from a login with `nonce`; returns its claims.
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Map<String, Value>, OidcError> {
        self.verify(token, &self.config.client_id, Some(nonce)).await
    }

    /// Verifies an access token a client presents as a bearer token; returns its claims.
    pub async fn verify_access_token(&self, token: &str) -> Result<Map<String, Value>, OidcError> {
        self.verify(token, &self.config.audience, None).await
    }

    async fn verify(&self, token: &str, audience: &str, nonce: Option<&str>) -> Result<Map<String, Value>, OidcError> {
        let parsed = jwt::parse(token)?;
        if !jwt::accepted_algorithm(&parsed.header.alg) {
            return Err(JwtError::Algorithm(parsed.header.alg.clone()).into());
        }
        let expect = Expectations { issuer: &self.config.issuer, audience, now: now_seconds(), nonce };
        {
            let keys = self.keys.read().await;
            if keys.fetched
                && let Some(key) = jwt::find_key(&keys.set, &parsed.header)
            {
                return Ok(parsed.verify(key, &expect)?);
            }
        }
        // Not among the keys held: fetch them again (the issuer may have rotated its keys).
        self.refresh_keys().await?;
        let keys = self.keys.read().await;
        let key = jwt::find_key(&keys.set, &parsed.header).ok_or(JwtError::UnknownKey)?;
        Ok(parsed.verify(key, &expect)?)
    }

    async fn refresh_keys(&self) -> Result<(), OidcError> {
        let asked = Instant::now();
        let _one_at_a_time = self.refreshing.lock().await;
        let fetches = {
            let mut keys = self.keys.write().await;
            keys.fetches.retain(|at| at.elapsed() < JWKS_WINDOW);
            keys.fetches.clone()
        };
        // Fetched since this request asked (by one that held the lock meanwhile), or fetched as
        // often as allowed: the keys held are the answer.
        if fetches.back().is_some_and(|at| *at >= asked) || fetches.len() >= JWKS_FETCHES {
            return Ok(());
        }
        let d = self.discovery().await?;
        let set: JwkSet = self.get_json(&d.jwks_uri).await?;
        let mut keys = self.keys.write().await;
        keys.set = set;
        keys.fetched = true;
        keys.fetches.push_back(Instant::now());
        Ok(())
    }
}
