//! Two reef servers sharing one PostgreSQL database run the operations started through either
//! of them between them: 100 cluster creates, each run exactly once.

use std::time::Duration;

use reef_api_types::CreateClusterRequest;
use reef_client::Client;
use reef_testkit::{missing_peer, shared_postgres};

use crate::harness::{Options, Reef, kept_clusters};

const CREATES: usize = 100;

fn spec(name: &str) -> CreateClusterRequest {
    crate::clusters::spec(name, vec![crate::clusters::pool("workers", "small", 1)])
}

#[tokio::test]
async fn two_servers_on_one_postgresql_run_each_of_100_creates_exactly_once() {
    let Some(pg) = shared_postgres() else {
        missing_peer("PostgreSQL", "scripts/test installs it");
        return;
    };
    let url = pg.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Replicas share the database and the master key.
    let key = dir.path().join("master.key");
    let server = |name: &str| {
        Reef::start_with(Options {
            database_url: Some(url.clone()),
            data_dir: Some(dir.path().join(name)),
            args: vec![
                "--master-key-file".to_owned(),
                key.display().to_string(),
                "--local-step-delay-ms".to_owned(),
                "0".to_owned(),
            ],
            ..Options::default()
        })
    };
    let a = server("a");
    let b = server("b");
    let token = a.admin_token.clone();
    let clients = [Client::new(&a.url, Some(token.clone())).unwrap(), Client::new(&b.url, Some(token)).unwrap()];

    let mut operations = Vec::new();
    for i in 0..CREATES {
        let created = clients[i % 2].create_cluster("default", &spec(&format!("c{i}"))).await.unwrap();
        operations.push(created.operation.id.to_string());
    }
    for (i, id) in operations.iter().enumerate() {
        let op = clients[i % 2].wait_for_operation("default", id, Duration::from_secs(300)).await.unwrap();
        assert_eq!(op.status, "succeeded", "{op:?}");
        assert!(op.steps.iter().all(|s| s.attempts == 1), "a step ran twice: {op:?}");
    }
    // Each cluster was made once, by one of the two, and both did some.
    let (made_a, made_b) = (kept_clusters(&a.data_dir), kept_clusters(&b.data_dir));
    assert_eq!(made_a + made_b, CREATES, "a made {made_a}, b made {made_b}");
    assert!(made_a > 0 && made_b > 0, "a made {made_a}, b made {made_b}");
}
