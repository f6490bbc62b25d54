//! No secret value is ever stored in plaintext: what reaches the database, and the disk, is
//! only ciphertext sealed by `SecretCipher`.

use reef_core::SecretType;
use reef_store::secrets::{SecretDeletion, SecretRef};

use crate::support::{Target, TestDb, dump_files, open, org, secret, store_test, user, values};

/// Asserts that `text` (a dump of `what`) holds every control string, which the store keeps in
/// plaintext on purpose (so a scan that misses them would miss plaintext values too), and no
/// marker of a secret value.
///
/// In a WAL file a record may cross a page boundary, and the page header splits it: there,
/// finding either half of a control is enough (a split breaks at most one half).
fn check(what: &str, text: &str, controls: &[String], markers: &[String], may_split: bool) {
    for c in controls {
        let (first, second) = c.split_at(c.len() / 2);
        let found = text.contains(c.as_str()) || (may_split && (text.contains(first) || text.contains(second)));
        assert!(found, "{what}: the control {c:?} was not found, so this scan proves nothing");
    }
    for m in markers {
        assert!(!text.contains(m.as_str()), "{what}: the secret value {m:?} is stored in plaintext");
    }
}

/// Every row of every table of the public schema, as text.
async fn dump_rows(raw: &mut sqlx::AnyConnection) -> String {
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY table_name",
    )
    .fetch_all(&mut *raw)
    .await
    .expect("listing tables");
    let names: Vec<&str> = tables.iter().map(|(t,)| t.as_str()).collect();
    for expected in ["secrets", "secret_versions", "audit_events", "users"] {
        assert!(names.contains(&expected), "table {expected} not among {names:?}");
    }
    let mut text = String::new();
    for table in names {
        let rows: Vec<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t")))
                .fetch_all(&mut *raw)
                .await
                .unwrap_or_else(|e| panic!("reading table {table}: {e}"));
        for (row,) in rows {
            text.push_str(&row);
            text.push('\n');
        }
    }
    text
}

async fn one_text(conn: &mut sqlx::AnyConnection, sql: &'static str) -> String {
    let (text,): (String,) = sqlx::query_as(sql).fetch_one(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    text
}

store_test! {
    async fn no_secret_value_reaches_the_disk_in_plaintext(db: &TestDb) {
        let raw = db.raw().await;
        // On PostgreSQL, the WAL written from here on is kept until this connection ends (a
        // checkpoint would otherwise recycle its segments): a temporary replication slot,
        // created on a connection held for the whole test.
        let mut session = raw.acquire().await.expect("a connection");
        let wal_start = match db.target {
            Target::Postgres { .. } => {
                let slot = format!("reef_plaintext_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(lsn AS TEXT) FROM pg_create_physical_replication_slot('{slot}', true, true)"
                )))
                .fetch_one(&mut *session)
                .await
                .expect("reserving the WAL with a temporary replication slot");
                Some(one_text(&mut session, "SELECT pg_walfile_name(pg_current_wal_lsn())").await)
            }
            Target::Sqlite { .. } => None,
        };

        let store = &db.store;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let markers: Vec<String> = (0..10).map(|i| format!("PLAINTEXT{i}MARKER{run}")).collect();
        let m = |i: usize| markers[i].as_str();
        let alice = user(store, "alice").await;
        let acme = org(store, "acme", &alice).await;
        let other = org(store, "other", &alice).await;

        // Secrets of several types and sizes, sealed as reef-app seals them.
        let password = secret(store, acme.id, alice.id, "db", SecretType::Password, &["prod"],
            &[("username", m(0)), ("password", m(1))]).await;
        let long = format!("{}{}{}", "-".repeat(3000), m(2), "-".repeat(3000));
        let generic = secret(store, acme.id, alice.id, "api", SecretType::Generic, &[],
            &[("key", m(3)), ("blob", long.as_str())]).await;
        let rotated = secret(store, other.id, alice.id, "aws", SecretType::Amazon, &[],
            &[("access_key_id", m(4)), ("secret_access_key", m(5))]).await;
        let v2 = values(&[("access_key_id", m(6)), ("secret_access_key", m(7))]);
        let mut updated = rotated.clone();
        updated.version = 2;
        let sealed_v2 = crate::support::seal(other.id, rotated.id, 2, &v2);
        assert!(store.update_secret(&updated, 1, Some(&sealed_v2), alice.id).await.expect("updating"));
        let deleted = secret(store, acme.id, alice.id, "gone", SecretType::Generic, &[], &[("v", m(8))]).await;
        assert_eq!(store.delete_secret(acme.id, deleted.id).await.expect("deleting"), SecretDeletion::Deleted);

        // The control: text the store keeps in plaintext on purpose (a secret's name and tag),
        // next to a sealed value of its own.
        let control_name = format!("control-{run}");
        let control_tag = format!("CONTROL-TAG-{run}");
        let control = secret(store, acme.id, alice.id, &control_name, SecretType::Generic, &[&control_tag],
            &[("v", m(9))]).await;

        // The values are in the database (sealed), and open again.
        let sealed = store.secret_sealed(password.id, 1).await.expect("reading").expect("stored");
        assert_eq!(open(acme.id, password.id, 1, &sealed), values(&[("username", m(0)), ("password", m(1))]));
        let sealed_long = store.secret_sealed(generic.id, 1).await.expect("reading").expect("stored");
        assert_eq!(open(acme.id, generic.id, 1, &sealed_long)["blob"], long);
        assert_eq!(store.secret_sealed(rotated.id, 2).await.expect("reading").as_deref(), Some(sealed_v2.as_str()));
        assert!(store.secret(acme.id, &SecretRef::Id(control.id)).await.expect("reading").is_some());
        // A piece of stored ciphertext must be found too: the scan reaches secret_versions.
        let ciphertext = sealed.rsplit('.').next().expect("a sealed value has a body")[..40].to_owned();
        let controls = [control_name, control_tag, ciphertext];

        match &db.target {
            Target::Sqlite { dir } => {
                // reef.db and, while the store is open, its -wal file.
                let (open_files, n) = dump_files(dir.path(), |_| true);
                assert!(n >= 2, "expected reef.db and its -wal file, read {n} files");
                check("the SQLite files of an open store", &open_files, &controls, &markers, false);
                db.store.close().await;
                drop(session);
                raw.close().await;
                let (closed_files, _) = dump_files(dir.path(), |_| true);
                check("the SQLite files of a closed store", &closed_files, &controls, &markers, false);
            }
            Target::Postgres { server } => {
                check("every row of every table", &dump_rows(&mut session).await, &controls, &markers, false);

                // The files: a checkpoint writes every page and flushes the WAL (commits do
                // not wait for it on this server); the slot keeps the WAL from being recycled.
                sqlx::query("CHECKPOINT").execute(&mut *session).await.expect("CHECKPOINT");
                let (oid,): (i64,) =
                    sqlx::query_as("SELECT CAST(oid AS BIGINT) FROM pg_database WHERE datname = current_database()")
                        .fetch_one(&mut *session)
                        .await
                        .expect("reading the database's oid");
                let base = server.data_dir().join("base").join(oid.to_string());
                let (files, n) = dump_files(&base, |_| true);
                assert!(n > 0, "no files under {}", base.display());
                check("the database's files", &files, &controls, &markers, false);

                let wal_end = one_text(&mut session, "SELECT pg_walfile_name(pg_current_wal_flush_lsn())").await;
                let wal_start = wal_start.expect("read above");
                let segment = |p: &std::path::Path| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.len() == 24 && n >= wal_start.as_str() && n <= wal_end.as_str()
                    })
                };
                let (wal, n) = dump_files(&server.data_dir().join("pg_wal"), segment);
                assert!(n > 0, "no WAL segments from {wal_start} to {wal_end}");
                check("the WAL written during the test", &wal, &controls, &markers, true);
                drop(session);
                raw.close().await;
            }
        }
    }
}
