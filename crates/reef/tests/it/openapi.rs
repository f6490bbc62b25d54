//! The OpenAPI document: generated from the code, checked in as `openapi.json`, served live.

use reqwest::Method;

use crate::harness::Reef;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");

fn generated() -> String {
    let mut json = reef_api::openapi().to_pretty_json().expect("serializing the OpenAPI document");
    json.push('\n');
    json
}

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    let generated = generated();
    if std::env::var_os("REEF_UPDATE_OPENAPI").is_some() {
        std::fs::write(CHECKED_IN, &generated).expect("writing openapi.json");
        return;
    }
    let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
    assert!(
        checked_in == generated,
        "openapi.json is out of date with the code: run `REEF_UPDATE_OPENAPI=1 cargo test -p reef --test it openapi` and commit it"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_every_route_secured_but_login_and_health() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let open = [
        "/api/v1/login",
        "/api/v1/login/sso/start",
        "/api/v1/login/sso/finish",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/secret-types",
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op.get("security").is_some();
            assert_eq!(secured, !open.contains(&path.as_str()), "{method} {path}: security is {secured}");
        }
    }
}

#[tokio::test]
async fn the_server_serves_the_document_and_a_docs_page_that_needs_no_internet() {
    let reef = Reef::start();
    let client = reef.anonymous();
    let (status, served) = client.raw(Method::GET, "/api/v1/openapi.json", None).await.unwrap();
    assert_eq!(status, 200);
    let served: serde_json::Value = serde_json::from_str(&served).unwrap();
    let generated: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served, generated);

    let (status, page) = client.raw(Method::GET, "/api/v1/docs/", None).await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("swagger"), "{page}");
    assert!(!page.contains("https://"), "the docs page loads something from the internet:\n{page}");
    let (status, js) = client.raw(Method::GET, "/api/v1/docs/swagger-ui-bundle.js", None).await.unwrap();
    assert_eq!(status, 200);
    assert!(js.len() > 100_000, "the Swagger UI bundle is not served from the binary");
}
