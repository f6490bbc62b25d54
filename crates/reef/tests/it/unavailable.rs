//! When the database goes away, reef says so: 503 with a clear code for what needs it,
//! liveness still answers, and nothing is a 500.

use reef_testkit::{PostgresServer, missing_peer};
use reqwest::Method;

use crate::harness::{Options, Reef};

#[tokio::test]
async fn a_lost_database_gets_503_from_readiness_and_the_api_but_liveness_answers() {
    let pg = match PostgresServer::start() {
        Ok(Some(pg)) => pg,
        Ok(None) => {
            missing_peer("PostgreSQL", "scripts/test installs it");
            return;
        }
        Err(e) => panic!("starting PostgreSQL failed: {e}"),
    };
    let url = pg.create_database().unwrap();
    let reef = Reef::start_with(Options { database_url: Some(url), ..Default::default() });
    let client = reef.admin();
    assert_eq!(client.ready().await.unwrap().status, "ok");
    drop(pg);

    let anonymous = reef.anonymous();
    assert_eq!(anonymous.raw(Method::GET, "/healthz", None).await.unwrap().0, 200);
    // Every call waits out the pool's connection timeout, so they go out together. The token
    // was cached before the database went away, so the API calls reach their queries.
    let paths = ["/readyz", "/api/v1/orgs", "/api/v1/orgs/default/secrets", "/api/v1/user"];
    let calls = paths.map(|path| {
        let client = client.clone();
        tokio::spawn(async move { (path, client.raw(Method::GET, path, None).await.unwrap()) })
    });
    for call in calls {
        let (path, (status, body)) = call.await.unwrap();
        assert_eq!(status, 503, "{path}: {body}");
        assert!(body.contains("\"unavailable\""), "{path}: {body}");
    }
}
