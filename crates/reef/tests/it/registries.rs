//! OCI registries end to end: the real CNCF distribution registry (`docker-registry`), which
//! the real helm pushes podinfo to, and reef deploying from it. Once with basic auth, once with
//! bearer tokens from a token endpoint served here (the scheme of Docker Hub, GHCR and Harbor):
//! JWTs signed with ES256 by a certificate the registry trusts, granting what was asked to the
//! right credentials and nothing to anyone else.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use reef_testkit::{REGISTRY_PASSWORD, REGISTRY_USER, RegistryAuth, missing_peer};

use crate::deployments::{local_cluster, quick_reef};
use crate::harness::Cli;

/// A token endpoint: issues JWTs for the registry, signed by a self-signed certificate's key.
struct TokenIssuer {
    key: ring::signature::EcdsaKeyPair,
    cert_der: Vec<u8>,
    cert_pem: String,
    /// Tokens issued to the right credentials.
    granted: AtomicUsize,
    /// Tokens issued, for their ids.
    issued: AtomicUsize,
}

const SERVICE: &str = "reef-registry";
const ISSUER: &str = "reef-test-issuer";

impl TokenIssuer {
    fn new() -> TokenIssuer {
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["token-issuer".to_owned()]).unwrap().self_signed(&key_pair).unwrap();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        TokenIssuer {
            key,
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            granted: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
        }
    }

    /// A token granting `access` (`[{type, name, actions}]`) to `subject`.
    fn token(&self, subject: &str, access: serde_json::Value) -> String {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)]});
        let claims = serde_json::json!({"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300,
            "nbf": now - 10, "iat": now, "jti": self.issued.fetch_add(1, Ordering::Relaxed).to_string(), "access": access});
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = self.key.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }
}

/// Serves `issuer` at `http://127.0.0.1:PORT/token`: the right basic credentials get every
/// action each `scope` asks for; no credentials get a token that grants nothing; wrong ones
/// get `401`.
async fn serve_tokens(issuer: Arc<TokenIssuer>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse as _;
    let app = axum::Router::new().route(
        "/token",
        axum::routing::get(move |h: HeaderMap, axum::extract::RawQuery(query): axum::extract::RawQuery| {
            let issuer = issuer.clone();
            async move {
                let right = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"))
                );
                let (subject, grant) = match h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                    None => ("", false),
                    Some(given) if given == right => (REGISTRY_USER, true),
                    Some(_) => return StatusCode::UNAUTHORIZED.into_response(),
                };
                // scope=repository:charts/podinfo:pull,push (repeatable)
                let mut access = Vec::new();
                let url = reqwest::Url::parse(&format!("http://token/?{}", query.unwrap_or_default())).unwrap();
                for (k, v) in url.query_pairs() {
                    if k == "scope" && grant {
                        let mut parts = v.splitn(3, ':');
                        if let (Some(kind), Some(name), Some(actions)) = (parts.next(), parts.next(), parts.next()) {
                            let actions: Vec<&str> = actions.split(',').collect();
                            access.push(serde_json::json!({"type": kind, "name": name, "actions": actions}));
                        }
                    }
                }
                if grant {
                    issuer.granted.fetch_add(1, Ordering::Relaxed);
                }
                let token = issuer.token(subject, serde_json::Value::Array(access));
                axum::Json(serde_json::json!({"token": token, "access_token": token, "expires_in": 300}))
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// Runs helm with its registry logins kept in `home`; asserts success and returns what it
/// printed, standard output then standard error.
fn helm_in(helm: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new(helm)
        .args(args)
        .env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_pushed_by_helm_to_a_registry_with_basic_auth_is_deployed_from_it() {
    deployed_from_a_registry(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_pushed_by_helm_to_a_registry_with_token_auth_is_deployed_from_it() {
    let issuer = Arc::new(TokenIssuer::new());
    let (realm, server) = serve_tokens(issuer.clone()).await;
    deployed_from_a_registry(Some((realm, issuer.clone()))).await;
    assert!(issuer.granted.load(Ordering::Relaxed) > 0, "reef and helm fetched tokens");
    server.abort();
}

/// helm pushes podinfo 6.14.1 and a 7.0.0-rc.1 pre-release to a registry that asks for basic
/// auth, or with `tokens` for bearer tokens from that token endpoint; reef deploys from it.
async fn deployed_from_a_registry(tokens: Option<(String, Arc<TokenIssuer>)>) {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let Some(helm) = reef_testkit::helm() else {
        missing_peer("helm 4.2.3", "$REEF_HELM or the reef-test-peers cache");
        return;
    };
    let auth = match &tokens {
        None => RegistryAuth::Basic,
        Some((realm, issuer)) => RegistryAuth::Token {
            realm: realm.clone(),
            service: SERVICE.to_owned(),
            issuer: ISSUER.to_owned(),
            root_pem: issuer.cert_pem.clone(),
        },
    };
    let Some(registry) = reef_testkit::OciRegistry::start(&auth).unwrap() else {
        missing_peer("docker-registry (the CNCF distribution registry)", "$REEF_DOCKER_REGISTRY or PATH");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let host = registry.host.clone();
    let out = home.path().join("out");
    let chart = corpus.join("podinfo");
    let chart = chart.to_str().unwrap();
    helm_in(&helm, home.path(), &["package", chart, "-d", out.to_str().unwrap()]);
    helm_in(&helm, home.path(), &["package", chart, "--version", "7.0.0-rc.1", "-d", out.to_str().unwrap()]);
    let login = Command::new(&helm)
        .args(["registry", "login", &host, "--username", REGISTRY_USER, "--password-stdin", "--plain-http"])
        .env("HELM_REGISTRY_CONFIG", home.path().join("registry.json"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(REGISTRY_PASSWORD.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(login.success(), "helm registry login");
    let location = format!("oci://{host}/charts");
    let mut digests = Vec::new();
    for archive in ["podinfo-6.14.1.tgz", "podinfo-7.0.0-rc.1.tgz"] {
        let archive = out.join(archive);
        let pushed = helm_in(&helm, home.path(), &["push", archive.to_str().unwrap(), &location, "--plain-http"]);
        // `Digest: sha256:...`, the manifest's.
        digests.push(pushed.lines().find_map(|l| l.strip_prefix("Digest: ")).expect(&pushed).trim().to_owned());
    }

    let reef = quick_reef();
    let admin = reef.admin();
    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    for (name, password) in [("registry", REGISTRY_PASSWORD), ("wrong", "not-the-password")] {
        let creds = reef_api_types::CreateSecretRequest {
            name: name.to_owned(),
            secret_type: "password".to_owned(),
            values: [("username".to_owned(), REGISTRY_USER.to_owned()), ("password".to_owned(), password.to_owned())]
                .into(),
            tags: Vec::new(),
        };
        admin.create_secret("default", &creds).await.unwrap();
    }
    local_cluster(&admin, "dev", "small", 1).await;

    // Without the registry's credentials, the chart is refused, and nothing is deployed.
    let reference = format!("{location}/podinfo");
    let err = cli.fails(&["deploy", "dev", &reference, "--release", "anon", "--plain-http"]);
    assert!(err.contains("repository_refused"), "{err}");
    let err = cli.fails(&["repo", "add", "reg", &location, "--secret", "wrong", "--plain-http"]);
    assert!(err.contains("repository_refused") && !err.contains("not-the-password"), "{err}");
    // Over HTTPS the plain-HTTP registry does not answer.
    let err = cli.fails(&["repo", "add", "reg", &location, "--secret", "registry"]);
    assert!(err.contains("repository_unreachable"), "{err}");

    cli.ok(&["repo", "add", "reg", &location, "--secret", "registry", "--plain-http"]);
    let repos = cli.json(&["repo", "list"]);
    assert_eq!((repos[0]["url"].as_str(), repos[0]["plain_http"].as_bool()), (Some(location.as_str()), Some(true)));
    cli.ok(&["repo", "update", "reg"]);

    // `reg/podinfo` is the latest stable version; an oci:// reference under the registry's
    // location uses its credentials and plain HTTP, and picks a version by constraint.
    let installed = |release: &str, args: &[&str]| {
        let mut all = vec!["deploy", "dev"];
        all.extend_from_slice(args);
        all.extend(["--release", release, "--set", "replicaCount=1", "--wait", "-o", "json"]);
        let out = cli.run(&all);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(detail["status"], "deployed", "{detail}");
        detail["chart"].as_str().unwrap().to_owned()
    };
    assert_eq!(installed("stable", &["reg/podinfo"]), "podinfo-6.14.1");
    assert_eq!(installed("rc", &[&reference, "--version", ">=7.0.0-0"]), "podinfo-7.0.0-rc.1");
    assert_eq!(installed("tagged", &[&format!("{reference}:7.0.0-rc.1")]), "podinfo-7.0.0-rc.1");
    assert_eq!(installed("pinned", &[&format!("{reference}@{}", digests[0])]), "podinfo-6.14.1");
    let other = format!("sha256:{}", "0".repeat(64));
    let err = cli.fails(&["deploy", "dev", &format!("{reference}@{other}"), "--release", "none"]);
    assert!(err.contains("chart_not_found"), "{err}");

    let err = cli.fails(&["deploy", "dev", &reference, "--release", "none", "--version", "^9"]);
    assert!(err.contains("chart_not_found") && err.contains("no version matching"), "{err}");
    let err = cli.fails(&["deploy", "dev", &format!("{location}/nothing"), "--release", "none"]);
    assert!(err.contains("chart_not_found"), "{err}");
    let err = cli.fails(&["deploy", "dev", &format!("{reference}:6.14.1"), "--version", "7.0.0", "--release", "none"]);
    assert!(err.contains("invalid_chart"), "{err}");
    let err = cli.fails(&["deploy", "dev", "oci://Bad/Name", "--release", "none"]);
    assert!(err.contains("invalid_chart"), "{err}");
    // Registries have no index: search leaves them out.
    assert!(cli.json(&["chart", "search", "podinfo"]).as_array().unwrap().is_empty());
    cli.ok(&["repo", "remove", "reg"]);
    drop(registry);
}
