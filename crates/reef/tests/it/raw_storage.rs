//! Secret values never reach the database, the logs or the audit log in plaintext: after
//! storing secrets through the API, the raw SQLite files and every PostgreSQL table are
//! searched for the values.

use reef_api_types::{CreateSecretRequest, UpdateSecretRequest};
use reef_testkit::{missing_peer, shared_postgres};

use crate::harness::{Options, Reef};

const MARKERS: [&str; 3] = ["MARKER-pw-7f3a9c", "MARKER-token-51d0e2", "MARKER-rotated-c4b8aa"];

async fn store_secrets(reef: &Reef) {
    let admin = reef.admin();
    admin
        .create_secret(
            "default",
            &CreateSecretRequest {
                name: "db".into(),
                secret_type: "password".into(),
                values: [("username".to_owned(), "app".to_owned()), ("password".to_owned(), MARKERS[0].to_owned())]
                    .into(),
                tags: vec![],
            },
        )
        .await
        .unwrap();
    admin
        .create_secret(
            "default",
            &CreateSecretRequest {
                name: "do".into(),
                secret_type: "digitalocean".into(),
                values: [("DO_TOKEN".to_owned(), format!("dop_v1_{}", MARKERS[1]))].into(),
                tags: vec![],
            },
        )
        .await
        .unwrap();
    let values = [("username".to_owned(), "app".to_owned()), ("password".to_owned(), MARKERS[2].to_owned())].into();
    admin
        .update_secret("default", "db", &UpdateSecretRequest { values: Some(values), ..Default::default() })
        .await
        .unwrap();
    // The values are really there, readable through the API.
    let v = admin.get_secret("default", "db", true, None).await.unwrap();
    assert_eq!(v.values.unwrap()["password"], MARKERS[2]);
}

fn assert_no_marker(haystack: &[u8], place: &str) {
    for m in MARKERS {
        assert!(!haystack.windows(m.len()).any(|w| w == m.as_bytes()), "{m} found in plaintext in {place}");
    }
}

#[tokio::test]
async fn no_secret_value_is_stored_in_plaintext_in_sqlite() {
    let mut reef = Reef::start();
    store_secrets(&reef).await;
    // A control: a value deliberately stored in the clear (a tag) IS found by the same scan.
    reef.admin()
        .update_secret(
            "default",
            "do",
            &UpdateSecretRequest { tags: Some(vec!["control-tag-93e1".into()]), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(reef.stop());
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&reef.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("reef.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert_no_marker(&bytes, &name);
            all.extend(bytes);
        }
    }
    assert!(all.windows(16).any(|w| w == b"control-tag-93e1"), "the scan cannot find even plaintext");
}

#[tokio::test]
async fn no_secret_value_is_stored_in_plaintext_in_postgresql() {
    let Some(pg) = shared_postgres() else {
        missing_peer("PostgreSQL", "scripts/test installs it");
        return;
    };
    let url = pg.create_database().unwrap();
    let mut reef = Reef::start_with(Options { database_url: Some(url.clone()), ..Default::default() });
    store_secrets(&reef).await;
    assert!(reef.stop());
    let database = url.rsplit('/').next().unwrap();
    let tables = pg
        .client_command("psql")
        .args([
            "-At",
            "-d",
            database,
            "-c",
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        ])
        .output()
        .unwrap();
    assert!(tables.status.success(), "{}", String::from_utf8_lossy(&tables.stderr));
    let tables = String::from_utf8(tables.stdout).unwrap();
    let tables: Vec<&str> = tables.lines().filter(|l| !l.is_empty()).collect();
    assert!(tables.contains(&"secret_versions"), "{tables:?}");
    let mut dumped = 0;
    for table in tables {
        let out = pg
            .client_command("psql")
            .args(["-At", "-d", database, "-c", &format!("SELECT t::text FROM \"{table}\" t")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_no_marker(&out.stdout, table);
        dumped += out.stdout.len();
    }
    assert!(dumped > 1000, "the tables were empty: nothing was checked");
}
