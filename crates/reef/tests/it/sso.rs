//! Single sign-on against the real `oidc-provider`: `reef login --sso` through a browser's
//! steps (the provider's login and consent forms), users created from the ID token, groups
//! mapped to roles and taken away, the provider's JWT access tokens as bearer tokens (and
//! every kind of bad one refused), password login disabled, and the provider down.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reef_client::{Client, ClientError, PageQuery};
use reef_testkit::{OIDC_AUDIENCE, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OidcProvider, missing_peer};
use serde_json::{Value, json};

use crate::harness::{Cli, Options, Reef, command};

/// The redirect URI a test registers for itself when it acts as the client (it is never
/// fetched: the test stops at the redirect to it).
const TEST_REDIRECT: &str = "http://127.0.0.1:9/test-callback";

fn provider(accounts: &[(&str, &[&str])]) -> Option<OidcProvider> {
    // The CLI's loopback callback, on whatever port it listens on.
    let provider =
        OidcProvider::start(accounts, &["http://127.0.0.1/callback", TEST_REDIRECT]).expect("starting oidc-provider");
    if provider.is_none() {
        missing_peer("oidc-provider", "node and $REEF_OIDC_PROVIDER_MODULES; scripts/test installs it from npm");
    }
    provider
}

fn sso_args(idp: &OidcProvider, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--oidc-issuer",
        &idp.issuer,
        "--oidc-client-id",
        OIDC_CLIENT_ID,
        "--oidc-client-secret",
        OIDC_CLIENT_SECRET,
        "--oidc-scopes",
        "openid profile email groups",
        "--oidc-audience",
        OIDC_AUDIENCE,
        "--oidc-group-role",
        "platform=default:admin",
        "--oidc-group-role",
        "readers=default:viewer",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Goes through the provider's pages from `url` as a browser would, logging in as `account`
/// and consenting, and returns the first URL it is redirected to outside the provider.
async fn browser_login(issuer: &str, url: &str, account: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut next = url.to_owned();
    let mut form: Option<Vec<(&str, String)>> = None;
    for _ in 0..20 {
        let cookie = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = match form.take() {
            Some(fields) => http.post(&next).form(&fields),
            None => http.get(&next),
        };
        let response = request.header("cookie", cookie).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap();
            let location = reqwest::Url::parse(&next).unwrap().join(location).unwrap().to_string();
            if !location.starts_with(issuer) {
                return location;
            }
            next = location;
            continue;
        }
        let page = response.text().await.unwrap();
        let attr = |name: &str| {
            let start =
                page.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {page}")) + name.len() + 2;
            page[start..start + page[start..].find('"').unwrap()].to_owned()
        };
        let prompt_at = page.find("name=\"prompt\" value=\"").expect("a login or consent form") + 21;
        let prompt = page[prompt_at..prompt_at + page[prompt_at..].find('"').unwrap()].to_owned();
        next = attr("action");
        form = Some(match prompt.as_str() {
            "login" => vec![("prompt", prompt), ("login", account.to_owned()), ("password", "any".to_owned())],
            _ => vec![("prompt", prompt)],
        });
    }
    panic!("the provider's pages did not end in a redirect");
}

/// `reef login --sso` against `reef`, finished in a "browser" as `account`.
async fn cli_login(reef: &Reef, cli: &Cli, idp: &OidcProvider, account: &str) -> String {
    let mut child = command()
        .args(["login", "--sso", "--no-browser", "--url", &reef.url, "--name", account])
        .env("REEF_CLI_CONFIG", cli.config_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        let line = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("reef login --sso printed no URL");
        if let Some(url) = line.trim().strip_prefix(&format!("{}/auth?", idp.issuer)) {
            break format!("{}/auth?{url}", idp.issuer);
        }
    };
    let callback = browser_login(&idp.issuer, &url, account).await;
    assert!(callback.starts_with("http://127.0.0.1:") && callback.contains("/callback?code="), "{callback}");
    // The browser lands on the CLI's page.
    let page = reqwest::get(&callback).await.unwrap().text().await.unwrap();
    assert!(page.contains("Logged in to reef"), "{page}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "reef login --sso failed: {}", rx.try_iter().collect::<Vec<_>>().join("\n"));
    String::from_utf8(out.stdout).unwrap()
}

async fn default_members(reef: &Reef) -> BTreeMap<String, String> {
    let page = reef.admin().list_members("default", &PageQuery::default()).await.unwrap();
    page.items.into_iter().map(|m| (m.username, format!("{:?}", m.role).to_lowercase())).collect()
}

fn code(e: ClientError) -> (u16, String, String) {
    match e {
        ClientError::Api { status, problem } => (status, problem.code, problem.detail),
        e => panic!("expected an API error, got {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_login_creates_the_user_and_their_groups_set_their_roles() {
    let Some(idp) = provider(&[("alice", &["platform"]), ("bob", &["readers", "unrelated"])]) else { return };
    let reef = Reef::start_with(Options { args: sso_args(&idp, &[]), ..Options::default() });
    let cli = Cli::new();

    let out = cli_login(&reef, &cli, &idp, "alice").await;
    assert!(out.contains("as `alice`"), "{out}");
    // The context saved works: alice is an admin of `default` through her group.
    let whoami = cli.ok(&["--context", "alice", "user", "whoami", "-o", "json"]);
    assert!(whoami.contains("\"alice\""), "{whoami}");
    cli.ok(&["--context", "alice", "audit"]);
    cli_login(&reef, &cli, &idp, "bob").await;
    let members = default_members(&reef).await;
    assert_eq!(
        (members.get("alice").map(String::as_str), members.get("bob").map(String::as_str)),
        (Some("admin"), Some("viewer"))
    );
    // A viewer may not read the audit log.
    assert!(!cli.run(&["--context", "bob", "audit"]).status.success());

    // Alice leaves the group: at her next login, the role is gone; her account stays.
    idp.set_groups("alice", &[]).unwrap();
    cli_login(&reef, &cli, &idp, "alice").await;
    assert_eq!(default_members(&reef).await.get("alice"), None);
    cli.ok(&["--context", "alice", "user", "whoami"]);
    // Bob joins `platform`: admin now.
    idp.set_groups("bob", &["platform", "readers"]).unwrap();
    cli_login(&reef, &cli, &idp, "bob").await;
    assert_eq!(default_members(&reef).await.get("bob").map(String::as_str), Some("admin"));

    // A redirect URI that is neither loopback nor allowed is refused.
    let e = reef.anonymous().sso_start("https://evil.example/callback").await.unwrap_err();
    assert_eq!(code(e).1, "invalid_redirect_uri");
    // A code may be used once, and a login finished once.
    let started = reef.anonymous().sso_start(TEST_REDIRECT).await.unwrap();
    let callback = browser_login(&idp.issuer, &started.authorization_url, "alice").await;
    let code_param =
        reqwest::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    reef.anonymous().sso_finish(&started.state, &code_param).await.unwrap();
    let again = reef.anonymous().sso_finish(&started.state, &code_param).await.unwrap_err();
    assert_eq!(code(again).0, 401);
}

/// Signs `claims` as a JWT with the provider's own key, or with `key` (an ES256 key of no
/// issuer) when given.
fn sign(idp: &OidcProvider, claims: &Value, header_kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": header_kid});
    let message =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let key = ring::signature::RsaKeyPair::from_pkcs8(&idp.signing_key_pkcs8).unwrap();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message.as_bytes(), &mut signature)
        .unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn es256_stranger(claims: &Value) -> String {
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let header = json!({"alg": "ES256", "kid": "not-the-providers"});
    let message =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(&rng, message.as_bytes()).unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// An access token the provider issues to `account` after a login (authorization code flow
/// with PKCE, the test acting as the client).
async fn user_access_token(idp: &OidcProvider, account: &str) -> String {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut url = reqwest::Url::parse(&format!("{}/auth", idp.issuer)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", OIDC_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile groups")
        .append_pair("redirect_uri", TEST_REDIRECT)
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let callback = browser_login(&idp.issuer, url.as_str(), account).await;
    let code = reqwest::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    token_request(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", TEST_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await
}

async fn token_request(idp: &OidcProvider, form: &[(&str, &str)]) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .basic_auth(OIDC_CLIENT_ID, Some(OIDC_CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {body}")).to_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_access_tokens_are_bearer_tokens_and_bad_ones_are_refused_for_their_reason() {
    let Some(mut idp) = provider(&[("carol", &["platform"])]) else { return };
    let reef = Reef::start_with(Options {
        args: sso_args(&idp, &["--disable-password-login", "--auth-cache-seconds", "0"]),
        ..Options::default()
    });

    // A machine client's token (client credentials): a user named after the client.
    let machine =
        token_request(&idp, &[("grant_type", "client_credentials"), ("resource", OIDC_AUDIENCE), ("scope", "api")])
            .await;
    let me = Client::new(&reef.url, Some(machine.clone())).unwrap().whoami().await.unwrap();
    assert_eq!(me.username, OIDC_CLIENT_ID);
    // The provider rotates its signing key: reef, holding the old key, fetches the keys again
    // when a token names the new one.
    let old_kid = idp.signing_key_id.clone();
    idp.restart_with_a_new_key().unwrap();
    assert_ne!(idp.signing_key_id, old_kid);
    let rotated =
        token_request(&idp, &[("grant_type", "client_credentials"), ("resource", OIDC_AUDIENCE), ("scope", "api")])
            .await;
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(rotated.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], json!(idp.signing_key_id));
    assert_eq!(Client::new(&reef.url, Some(rotated)).unwrap().whoami().await.unwrap().username, OIDC_CLIENT_ID);

    // A user's token: carol, admin of `default` through `platform`.
    let carol = Client::new(&reef.url, Some(user_access_token(&idp, "carol").await)).unwrap();
    assert_eq!(carol.whoami().await.unwrap().username, "carol");
    carol.list_members("default", &PageQuery::default()).await.unwrap();
    // Out of the group: her next token carries no role.
    idp.set_groups("carol", &[]).unwrap();
    let carol = Client::new(&reef.url, Some(user_access_token(&idp, "carol").await)).unwrap();
    assert_eq!(code(carol.list_members("default", &PageQuery::default()).await.unwrap_err()).0, 404);
    assert_eq!(default_members(&reef).await.get("carol"), None);

    // Tokens the provider would not have issued, each refused with its reason.
    let issuer = idp.issuer.clone();
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": issuer, "aud": OIDC_AUDIENCE, "sub": "carol", "exp": now() + 300, "iat": now()});
        f(&mut c);
        c
    };
    let kid = idp.signing_key_id.clone();
    let valid = sign(&idp, &claims(&|_| {}), &kid);
    Client::new(&reef.url, Some(valid.clone())).unwrap().whoami().await.unwrap();
    let mut tampered: Vec<String> = valid.split('.').map(str::to_owned).collect();
    tampered[1] = URL_SAFE_NO_PAD.encode(claims(&|c| c["sub"] = json!("admin")).to_string());
    let cases = [
        ("expired", sign(&idp, &claims(&|c| c["exp"] = json!(now() - 120)), &kid), "has expired"),
        ("wrong audience", sign(&idp, &claims(&|c| c["aud"] = json!("https://other.test")), &kid), "audience"),
        ("wrong issuer", sign(&idp, &claims(&|c| c["iss"] = json!("https://evil.test")), &kid), "another issuer"),
        ("unknown key", es256_stranger(&claims(&|_| {})), "does not publish"),
        ("tampered", tampered.join("."), "signature is not valid"),
    ];
    for (what, token, reason) in cases {
        let e = Client::new(&reef.url, Some(token)).unwrap().whoami().await.unwrap_err();
        let (status, c, detail) = code(e);
        assert_eq!((status, c.as_str()), (401, "unauthenticated"), "{what}");
        assert!(detail.contains(reason), "{what}: {detail}");
    }

    // Password login is disabled; the first start's API token works.
    let e = reef.anonymous().login("admin", "whatever-password").await.unwrap_err();
    assert_eq!(code(e).1, "password_login_disabled");
    reef.admin().whoami().await.unwrap();

    // The provider down: logins answer 503; tokens signed with a key reef holds still work,
    // and reef's own tokens; a server that never fetched the provider's keys answers 503.
    // A login whose browser part is done when the provider goes down: it cannot be finished.
    let started = reef.anonymous().sso_start(TEST_REDIRECT).await.unwrap();
    let callback = browser_login(&idp.issuer, &started.authorization_url, "carol").await;
    let code_param =
        reqwest::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    idp.kill();
    let e = reef.anonymous().sso_finish(&started.state, &code_param).await.unwrap_err();
    assert_eq!(code(e).1, "identity_provider_unavailable");
    let fresh = sign(&idp, &claims(&|c| c["jti"] = json!("fresh")), &kid);
    Client::new(&reef.url, Some(fresh.clone())).unwrap().whoami().await.unwrap();
    reef.admin().list_orgs(&PageQuery::default()).await.unwrap();
    let other = Reef::start_with(Options { args: sso_args(&idp, &[]), ..Options::default() });
    let e = other.anonymous().sso_start(TEST_REDIRECT).await.unwrap_err();
    assert_eq!(code(e).1, "identity_provider_unavailable");
    let e = Client::new(&other.url, Some(fresh)).unwrap().whoami().await.unwrap_err();
    let (status, c, _) = code(e);
    assert_eq!((status, c.as_str()), (503, "identity_provider_unavailable"));
    other.admin().list_orgs(&PageQuery::default()).await.unwrap();
}
