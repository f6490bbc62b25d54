//! What every store test needs: a fresh database on each backend, and small builders for the
//! rows a test sets up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use reef_core::audit::{AuditEvent, Outcome};
use reef_core::secret::SecretMeta;
use reef_core::{
    AuditId, OrgId, OrgName, Organization, Page, PageRequest, SecretId, SecretName, SecretType, TokenId, TokenKind,
    TokenMeta, TokenName, User, UserId, UserName,
};
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_store::users::NewUser;
use reef_testkit::PostgresServer;
use sqlx::AnyPool;
use tempfile::TempDir;

/// Generates, for one test body, a test on a fresh SQLite file database and one on a fresh
/// PostgreSQL database: `<name>::on_sqlite` and `<name>::on_postgres`.
///
/// The body takes either `store: Store` or `db: &TestDb` (when it needs the URL or the files).
macro_rules! store_test {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : $ty:ty) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($arg: $ty) $body

            #[tokio::test]
            async fn on_sqlite() {
                let db = $crate::support::TestDb::sqlite().await;
                body(<$ty as $crate::support::Fixture>::from_db(&db)).await;
                db.close().await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let Some(db) = $crate::support::TestDb::postgres().await else { return };
                body(<$ty as $crate::support::Fixture>::from_db(&db)).await;
                db.close().await;
            }
        }
    };
}
pub(crate) use store_test;

/// Which database a test runs on, and where it lives.
#[derive(Debug)]
pub enum Target {
    /// A file database in a directory removed after the test.
    Sqlite {
        /// Holds `reef.db` (and its `-wal` and `-shm` files while open).
        dir: TempDir,
    },
    /// A database of its own on the shared throwaway server.
    Postgres {
        /// The server.
        server: &'static PostgresServer,
    },
}

/// A fresh, migrated database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The store on it.
    pub store: Store,
    /// The URL it was opened with.
    pub url: String,
    /// Where it is.
    pub target: Target,
}

impl TestDb {
    /// A fresh SQLite file database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display());
        let store = Store::connect(&url).await.expect("opening a fresh SQLite database");
        TestDb { store, url, target: Target::Sqlite { dir } }
    }

    /// A fresh database on the shared PostgreSQL server; `None` (the test is skipped) when
    /// PostgreSQL is not installed and peers are not required.
    pub async fn postgres() -> Option<TestDb> {
        let url = Self::postgres_url().await?;
        let store = Store::connect(&url).await.expect("opening a fresh PostgreSQL database");
        let server = reef_testkit::shared_postgres().expect("the server was started above");
        Some(TestDb { store, url, target: Target::Postgres { server } })
    }

    /// A fresh, empty (unmigrated) database on the shared PostgreSQL server; `None` when
    /// PostgreSQL is not installed: `shared_postgres` then calls `missing_peer`, which notes
    /// the skip, or fails the test when `REEF_REQUIRE_PEERS=1`.
    pub async fn postgres_url() -> Option<String> {
        // Starting the server (once) and `createdb` block: keep them off the runtime's thread.
        tokio::task::spawn_blocking(|| {
            let server = reef_testkit::shared_postgres()?;
            Some(server.create_database().expect("creating a PostgreSQL test database"))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// A connection pool of the test's own on the same database, for looking underneath the
    /// store's API.
    pub async fn raw(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::pool::PoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .expect("connecting to the test database directly")
    }

    /// Closes the store.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// What a test body can take: the store itself, or the whole test database.
pub trait Fixture<'a> {
    /// Takes it from the test database.
    fn from_db(db: &'a TestDb) -> Self;
}

impl<'a> Fixture<'a> for Store {
    fn from_db(db: &'a TestDb) -> Self {
        db.store.clone()
    }
}

impl<'a> Fixture<'a> for &'a TestDb {
    fn from_db(db: &'a TestDb) -> Self {
        db
    }
}

/// Now, to the millisecond: the precision the store keeps, so values read back compare equal.
pub fn now() -> DateTime<Utc> {
    ms(Utc::now().timestamp_millis())
}

/// A fixed instant, `minutes` after a base time, for tests that need distinct, ordered times.
pub fn at(minutes: i64) -> DateTime<Utc> {
    ms(1_750_000_000_000) + Duration::minutes(minutes)
}

fn ms(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).single().expect("a valid time")
}

/// A valid name, unique in the process (names are only unique per database, but distinct
/// names make failures easier to read).
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Creates a user named `name` with a password hash.
pub async fn user(store: &Store, name: &str) -> User {
    store
        .create_user(&NewUser {
            id: UserId::new(),
            username: UserName::parse(name).expect("a valid user name"),
            password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}")),
            server_admin: false,
            created_at: now(),
        })
        .await
        .expect("creating a user")
}

/// Creates an organization named `name` owned by `owner`.
pub async fn org(store: &Store, name: &str, owner: &User) -> Organization {
    store
        .create_org(OrgId::new(), &OrgName::parse(name).expect("a valid org name"), owner.id, now())
        .await
        .expect("creating an organization")
}

/// The cipher the tests seal values with, as the app does with the server's master key.
pub fn cipher() -> SecretCipher {
    SecretCipher::new(&[0x5e; 32])
}

/// The context a secret's version is sealed under, as reef-app binds it.
pub fn context(org: OrgId, id: SecretId, version: u32) -> String {
    format!("secret/{org}/{id}/{version}")
}

/// Seals `values` (a JSON object of fields) for version `version` of a secret.
pub fn seal(org: OrgId, id: SecretId, version: u32, values: &BTreeMap<String, String>) -> String {
    let json = serde_json::to_vec(values).expect("values serialize");
    cipher().seal(&json, &context(org, id, version)).expect("sealing")
}

/// Opens what [`seal`] sealed.
pub fn open(org: OrgId, id: SecretId, version: u32, sealed: &str) -> BTreeMap<String, String> {
    let json = cipher().open(sealed, &context(org, id, version)).expect("opening a sealed value");
    serde_json::from_slice(&json).expect("sealed values are a JSON object")
}

/// A field map from pairs.
pub fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The metadata of a new, version 1 secret.
pub fn secret_meta(
    org: OrgId,
    by: UserId,
    name: &str,
    secret_type: SecretType,
    tags: &[&str],
    fields: &BTreeMap<String, String>,
) -> SecretMeta {
    let t = now();
    SecretMeta {
        id: SecretId::new(),
        org_id: org,
        name: SecretName::parse(name).expect("a valid secret name"),
        secret_type,
        tags: reef_core::secret::parse_tags(tags.iter().map(|t| (*t).to_owned()).collect()).expect("valid tags"),
        fields: fields.keys().cloned().collect(),
        version: 1,
        created_by: by,
        created_at: t,
        updated_at: t,
    }
}

/// Stores a new secret with sealed `values`, as reef-app does, and returns its metadata.
pub async fn secret(
    store: &Store,
    org: OrgId,
    by: UserId,
    name: &str,
    secret_type: SecretType,
    tags: &[&str],
    fields: &[(&str, &str)],
) -> SecretMeta {
    let fields = values(fields);
    let meta = secret_meta(org, by, name, secret_type, tags, &fields);
    store.insert_secret(&meta, &seal(org, meta.id, 1, &fields)).await.expect("storing a secret");
    meta
}

/// The metadata of a new token.
pub fn token_meta(user: UserId, kind: TokenKind, expires_at: Option<DateTime<Utc>>) -> TokenMeta {
    TokenMeta {
        id: TokenId::new(),
        user_id: user,
        kind,
        name: TokenName::parse("laptop").expect("a valid token name"),
        created_at: now(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    }
}

/// Stores a new token with a unique hash, returning its metadata and hash.
pub async fn token(
    store: &Store,
    user: UserId,
    kind: TokenKind,
    expires_at: Option<DateTime<Utc>>,
) -> (TokenMeta, String) {
    let meta = token_meta(user, kind, expires_at);
    let hash = format!("sha256:{}", uuid::Uuid::new_v4().simple());
    store.insert_token(&meta, &hash).await.expect("storing a token");
    (meta, hash)
}

/// An audit event in `org` (or server-wide), at a given time.
pub fn event(
    org: Option<OrgId>,
    actor: &str,
    at: DateTime<Utc>,
    operation: &str,
    target_kind: &str,
    outcome: Outcome,
) -> AuditEvent {
    AuditEvent {
        id: AuditId::new(),
        org_id: org,
        actor_id: Some(UserId::new()),
        actor_name: actor.to_owned(),
        at,
        operation: operation.to_owned(),
        target_kind: target_kind.to_owned(),
        target: unique("target"),
        outcome,
        error_code: (outcome != Outcome::Success).then(|| "forbidden".to_owned()),
    }
}

/// Walks every page of a list, `limit` items at a time, checking that only the last page
/// lacks a cursor and that no page is larger than asked; returns the items and page count.
pub async fn all_pages<T, F, Fut>(limit: u32, mut fetch: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, reef_store::StoreError>>,
{
    let mut request = PageRequest::new(Some(limit), None).expect("a valid page size");
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let page = fetch(request.clone()).await.expect("listing a page");
        pages += 1;
        assert!(page.items.len() <= limit as usize, "a page holds more than the limit");
        assert!(pages < 1000, "pagination does not end");
        let done = page.next.is_none();
        if !done {
            assert_eq!(page.items.len(), limit as usize, "a page before the last one is not full");
        }
        items.extend(page.items);
        match page.next {
            Some(cursor) => request.after = Some(cursor),
            None => break,
        }
    }
    (items, pages)
}

/// Every file of a directory tree, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The bytes of every file under `dir` (or of `dir` itself, if a file) for which `keep`
/// holds, as text: invalid UTF-8 becomes U+FFFD, and every ASCII byte stays as it was, so an
/// ASCII marker on disk is found with `str::contains`.
pub fn dump_files(dir: &Path, keep: impl Fn(&Path) -> bool) -> (String, usize) {
    let files: Vec<PathBuf> = if dir.is_file() { vec![dir.to_path_buf()] } else { files_under(dir) };
    let mut text = String::new();
    let mut read = 0;
    for file in files.iter().filter(|f| keep(f)) {
        // A file may vanish while we list (a WAL segment recycled, the -wal file checkpointed).
        let Ok(bytes) = std::fs::read(file) else { continue };
        text.push_str(&String::from_utf8_lossy(&bytes));
        text.push('\n');
        read += 1;
    }
    (text, read)
}
