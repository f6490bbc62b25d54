//! Bad input gets a clear 4xx problem, never a 500 or a panic.

use reqwest::Method;
use serde_json::json;

use crate::harness::Reef;

async fn problem(reef: &Reef, method: Method, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let (status, text) = reef.admin().raw(method, path, body).await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {status} {text}"));
    (status, value)
}

#[tokio::test]
async fn malformed_input_gets_a_problem_with_a_stable_code() {
    let reef = Reef::start();
    let cases: Vec<(Method, &str, Option<serde_json::Value>, u16, &str)> = vec![
        (Method::POST, "/api/v1/orgs", Some(json!({"name": "x", "extra": true})), 422, "invalid_body"),
        (Method::POST, "/api/v1/orgs", Some(json!({"name": "Not A DNS Label"})), 422, "invalid_name"),
        (Method::POST, "/api/v1/orgs", Some(json!([1, 2])), 422, "invalid_body"),
        (Method::GET, "/api/v1/orgs?limit=0", None, 400, "invalid_limit"),
        (Method::GET, "/api/v1/orgs?limit=abc", None, 400, "invalid_query"),
        (Method::GET, "/api/v1/orgs?cursor=%21%21", None, 400, "invalid_cursor"),
        (Method::DELETE, "/api/v1/tokens/not-a-uuid", None, 400, "invalid_id"),
        (Method::GET, "/api/v1/orgs/default/secrets/NOT_A_NAME", None, 404, "not_found"),
        (Method::GET, "/api/v1/orgs/default/secrets?type=bogus", None, 422, "unknown_secret_type"),
        (
            Method::POST,
            "/api/v1/orgs/default/secrets",
            Some(json!({"name": "s", "type": "bogus", "values": {}})),
            422,
            "unknown_secret_type",
        ),
        (
            Method::POST,
            "/api/v1/orgs/default/members",
            Some(json!({"username": "nobody", "role": "viewer"})),
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/orgs/default/members",
            Some(json!({"username": "admin", "role": "root"})),
            422,
            "invalid_body",
        ),
        (Method::GET, "/api/v1/nothing-here", None, 404, "no_route"),
        (Method::PUT, "/api/v1/orgs", None, 405, "method_not_allowed"),
    ];
    for (method, path, body, status, code) in cases {
        let (got, problem) = problem(&reef, method.clone(), path, body).await;
        assert_eq!((got, problem["code"].as_str().unwrap_or("")), (status, code), "{method} {path}: {problem}");
        assert_eq!(problem["status"], status);
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

#[tokio::test]
async fn malformed_json_a_wrong_content_type_and_an_oversized_body_are_refused() {
    let reef = Reef::start();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/orgs", reef.url);
    let auth = format!("Bearer {}", reef.admin_token);
    let send = |body: Vec<u8>, content_type: &'static str| {
        http.post(&url).header("authorization", &auth).header("content-type", content_type).body(body).send()
    };
    let r = send(b"{\"name\": ".to_vec(), "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.text().await.unwrap().contains("malformed_json"));
    let r = send(b"{\"name\": \"a\"}".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), 415);
    // An oversized body is refused from its declared length, before it is read: the client
    // sends only the headers and the start of the body, then reads the answer.
    let answer = {
        use std::io::{Read as _, Write as _};
        let addr = reef.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /api/v1/orgs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{{\"name\": \"",
            2 * 1024 * 1024
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    let r = send(vec![0xff, 0xfe, 0x00], "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_missing_or_wrong_scheme_authorization_is_401_with_a_challenge() {
    let reef = Reef::start();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/orgs", reef.url);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = http.get(&url).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let reef = Reef::start();
    let c = reef.anonymous();
    assert_eq!(c.raw(Method::GET, "/healthz", None).await.unwrap().0, 200);
    assert_eq!(c.ready().await.unwrap().status, "ok");
    let _ = reef.admin().list_orgs(&Default::default()).await.unwrap();
    let (status, text) = c.raw(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(status, 200);
    assert!(text.contains("reef_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/orgs\""), "{text}");
    assert!(text.contains("reef_http_request_duration_seconds_bucket"), "latency is not a histogram: {text}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut reef = Reef::start();
    reef.admin().list_orgs(&Default::default()).await.unwrap();
    assert!(reef.stop(), "reef did not exit with success after SIGTERM");
}
