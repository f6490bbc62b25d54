//! The schema: applied on a fresh database, and left alone by every later start.

use reef_store::{Backend, Store, StoreError};
use sqlx::AnyPool;

use crate::support::{TestDb, store_test, user};

/// Every table the migrations create.
const TABLES: [&str; 14] = [
    "users",
    "orgs",
    "memberships",
    "tokens",
    "secrets",
    "secret_versions",
    "secret_uses",
    "workflows",
    "workflow_steps",
    "clusters",
    "cluster_labels",
    "cluster_status_changes",
    "chart_repos",
    "chart_archives",
];

/// The versions of every migration.
const VERSIONS: [i64; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

async fn applied_migrations(raw: &AnyPool) -> Vec<i64> {
    sqlx::query_as::<_, (i64,)>("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(raw)
        .await
        .expect("reading the migrations table")
        .into_iter()
        .map(|(v,)| v)
        .collect()
}

store_test! {
    async fn migrations_create_every_table_on_a_fresh_database(db: &TestDb) {
        let raw = db.raw().await;
        for table in TABLES.iter().chain(&["audit_events"]) {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&raw)
                .await
                .unwrap_or_else(|e| panic!("table {table} is missing: {e}"));
            assert_eq!(n, 0, "{table} is not empty on a fresh database");
        }
        assert_eq!(applied_migrations(&raw).await, VERSIONS);
        assert_eq!(db.store.count_users().await.expect("counting users"), 0);
        db.store.ping().await.expect("a fresh store answers");
        let expected = if db.url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        assert_eq!(db.store.backend(), expected);
        raw.close().await;
    }
}

store_test! {
    async fn connecting_again_applies_nothing_and_keeps_the_data(db: &TestDb) {
        let alice = user(&db.store, "alice").await;
        let again = Store::connect(&db.url).await.expect("a second start on a migrated database");
        let third = Store::connect(&db.url).await.expect("a third start on a migrated database");
        for store in [&again, &third] {
            assert_eq!(store.user_by_id(alice.id).await.expect("reading a user"), Some(alice.clone()));
            assert_eq!(store.count_users().await.expect("counting users"), 1);
        }
        let raw = db.raw().await;
        assert_eq!(applied_migrations(&raw).await, VERSIONS, "a migration was recorded twice");
        raw.close().await;
        again.close().await;
        third.close().await;
    }
}

/// Only PostgreSQL promises this (`Store::connect`: the migrator takes an advisory lock); an
/// SQLite file belongs to one reef process.
#[tokio::test]
async fn several_servers_starting_at_once_on_a_fresh_postgresql_database_all_come_up() {
    let Some(url) = TestDb::postgres_url().await else { return };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.expect("the start task panicked").expect("a concurrent start failed"));
    }
    let alice = user(&stores[0], "alice").await;
    for store in &stores {
        assert_eq!(store.user_by_id(alice.id).await.expect("reading a user"), Some(alice.clone()));
        store.close().await;
    }
}

#[tokio::test]
async fn a_url_of_an_unsupported_database_is_refused() {
    for url in ["mysql://reef@127.0.0.1/reef", "reef.db", ""] {
        assert!(matches!(Store::connect(url).await, Err(StoreError::UnsupportedUrl)), "{url:?} was accepted");
    }
}
