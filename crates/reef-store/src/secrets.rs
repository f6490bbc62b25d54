//! Secrets: metadata in `secrets`, every version's sealed values in `secret_versions`.

use chrono::{DateTime, Utc};
use reef_core::secret::SecretMeta;
use reef_core::{OrgId, Page, PageRequest, SecretId, SecretName, SecretType, UserId};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_i64, get_parsed, get_str, get_time, millis, parse, time};
use crate::{Backend, Store, StoreError};

/// How a caller names a secret: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// By id.
    Id(SecretId),
    /// By name.
    Name(SecretName),
}

/// Which secrets to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretFilter {
    /// Only secrets of this type.
    pub secret_type: Option<SecretType>,
    /// Only secrets carrying this tag.
    pub tag: Option<String>,
}

/// One stored version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// The version number.
    pub version: u32,
    /// Who wrote it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The result of deleting a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretDeletion {
    /// It is gone, with all its versions.
    Deleted,
    /// It does not exist.
    NotFound,
    /// Something uses it; nothing was deleted.
    InUse(Vec<String>),
}

const COLUMNS: &str = "id, org_id, name, type, tags, fields, version, created_by, created_at, updated_at";

fn json_list(row: &AnyRow, column: &'static str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&get_str(row, column)?).map_err(|_| StoreError::Corrupt { column })
}

fn meta(row: &AnyRow) -> Result<SecretMeta, StoreError> {
    Ok(SecretMeta {
        id: get_parsed(row, "id")?,
        org_id: get_parsed(row, "org_id")?,
        name: get_parsed(row, "name")?,
        secret_type: get_parsed(row, "type")?,
        tags: json_list(row, "tags")?,
        fields: json_list(row, "fields")?,
        version: u32::try_from(get_i64(row, "version")?).map_err(|_| StoreError::Corrupt { column: "version" })?,
        created_by: get_parsed(row, "created_by")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// A row of `secrets` in the order of [`COLUMNS`], as an aggregated page returns it.
#[derive(serde::Deserialize)]
struct MetaRow(String, String, String, String, String, String, i64, String, i64, i64);

impl MetaRow {
    fn into_meta(self) -> Result<SecretMeta, StoreError> {
        let MetaRow(id, org_id, name, secret_type, tags, fields, version, created_by, created_at, updated_at) = self;
        let list = |s: &str, column| serde_json::from_str(s).map_err(|_| StoreError::Corrupt { column });
        Ok(SecretMeta {
            id: parse(&id, "id")?,
            org_id: parse(&org_id, "org_id")?,
            name: parse(&name, "name")?,
            secret_type: parse(&secret_type, "type")?,
            tags: list(&tags, "tags")?,
            fields: list(&fields, "fields")?,
            version: u32::try_from(version).map_err(|_| StoreError::Corrupt { column: "version" })?,
            created_by: parse(&created_by, "created_by")?,
            created_at: time(created_at, "created_at")?,
            updated_at: time(updated_at, "updated_at")?,
        })
    }
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// `tag` as it appears in a JSON list of tags, quotes included: a list holds that text exactly
/// when it holds that tag.
fn tag_needle(tag: &str) -> String {
    serde_json::Value::from(tag).to_string()
}

impl Store {
    /// Stores a new secret and its first version's sealed values, atomically;
    /// [`StoreError::Duplicate`] when the organization has a secret of that name.
    pub async fn insert_secret(&self, meta: &SecretMeta, sealed: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO secrets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(meta.id.to_string())
        .bind(meta.org_id.to_string())
        .bind(meta.name.as_str().to_owned())
        .bind(meta.secret_type.as_str())
        .bind(to_json(&meta.tags))
        .bind(to_json(&meta.fields))
        .bind(i64::from(meta.version))
        .bind(meta.created_by.to_string())
        .bind(millis(meta.created_at))
        .bind(millis(meta.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        insert_version(&mut tx, meta.id, meta.version, sealed, meta.created_by, meta.updated_at).await?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// A secret's metadata.
    pub async fn secret(&self, org_id: OrgId, secret: &SecretRef) -> Result<Option<SecretMeta>, StoreError> {
        let (column, value) = match secret {
            SecretRef::Id(id) => ("id", id.to_string()),
            SecretRef::Name(name) => ("name", name.as_str().to_owned()),
        };
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM secrets WHERE org_id = $1 AND {column} = $2")))
                .bind(org_id.to_string())
                .bind(value)
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(meta).transpose()
    }

    /// The sealed values of one version of a secret.
    pub async fn secret_sealed(&self, secret_id: SecretId, version: u32) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT ciphertext FROM secret_versions WHERE secret_id = $1 AND version = $2")
                .bind(secret_id.to_string())
                .bind(i64::from(version))
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(row.map(|(c,)| c))
    }

    /// A secret's versions, newest first.
    pub async fn secret_versions(&self, secret_id: SecretId) -> Result<Vec<SecretVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, created_by, created_at FROM secret_versions WHERE secret_id = $1 ORDER BY version DESC",
        )
        .bind(secret_id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|r| {
                Ok(SecretVersion {
                    version: u32::try_from(get_i64(r, "version")?)
                        .map_err(|_| StoreError::Corrupt { column: "version" })?,
                    created_by: get_parsed(r, "created_by")?,
                    created_at: get_time(r, "created_at")?,
                })
            })
            .collect()
    }

    /// An organization's secrets, ordered by id.
    pub async fn secrets(
        &self,
        org_id: OrgId,
        filter: &SecretFilter,
        page: &PageRequest,
    ) -> Result<Page<SecretMeta>, StoreError> {
        let after = page.after.as_ref().map(|c| c.key().to_owned()).unwrap_or_default();
        let mut sql = format!("SELECT {COLUMNS} FROM secrets WHERE org_id = $1 AND id > $2");
        let mut args: Vec<String> = vec![org_id.to_string(), after];
        if let Some(t) = filter.secret_type {
            args.push(t.as_str().to_owned());
            sql.push_str(&format!(" AND type = ${}", args.len()));
        }
        if let Some(tag) = &filter.tag {
            // A case-sensitive search for the plain text (LIKE ignores case on SQLite).
            args.push(tag_needle(tag));
            let position = match self.backend() {
                Backend::Sqlite => "instr",
                Backend::Postgres => "strpos",
            };
            sql.push_str(&format!(" AND {position}(tags, ${}) > 0", args.len()));
        }
        // The limit is written into the statement, not bound: SQLite re-plans a statement on
        // every execution when its LIMIT is a bound parameter whose value changed, which
        // profiling showed costing a tenth of the server's time under load. It is a validated
        // integer, so this is safe; each page size gets its own cached statement.
        sql.push_str(&format!(" ORDER BY id LIMIT {}", u64::from(page.limit) + 1));
        // The page comes back as one row holding a JSON array: the SQLite driver hands rows
        // one by one from its worker thread, which made a 50-row page cost 50 thread wake-ups.
        let sql = crate::rows::aggregate(self.backend(), &sql, COLUMNS);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            query = query.bind(arg);
        }
        let row = query.fetch_one(self.pool()).await.map_err(StoreError::from_sqlx)?;
        let json = get_str(&row, "page")?;
        let rows: Vec<MetaRow> = serde_json::from_str(&json).map_err(|_| StoreError::Corrupt { column: "secrets" })?;
        let mut items = rows.into_iter().map(MetaRow::into_meta).collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|s| s.id);
        Ok(Page::from_rows(items, page.limit, |s| s.id.to_string()))
    }

    /// Writes a secret's new metadata and, when `sealed` is given, its values as version
    /// `updated.version`, written by `written_by`. Fails with `Ok(false)` when the stored version is no longer
    /// `updated.version - 1` or `updated.version` (a concurrent update won).
    pub async fn update_secret(
        &self,
        updated: &SecretMeta,
        previous_version: u32,
        sealed: Option<&str>,
        written_by: UserId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let done = sqlx::query(
            "UPDATE secrets SET tags = $1, fields = $2, version = $3, updated_at = $4 \
             WHERE org_id = $5 AND id = $6 AND version = $7",
        )
        .bind(to_json(&updated.tags))
        .bind(to_json(&updated.fields))
        .bind(i64::from(updated.version))
        .bind(millis(updated.updated_at))
        .bind(updated.org_id.to_string())
        .bind(updated.id.to_string())
        .bind(i64::from(previous_version))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if done.rows_affected() == 0 {
            // Ended here rather than when the connection goes back to the pool: on SQLite an
            // open write transaction would make the next writer's transaction fail.
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(false);
        }
        if let Some(sealed) = sealed {
            insert_version(&mut tx, updated.id, updated.version, sealed, written_by, updated.updated_at).await?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    /// Records that `used_by` (e.g. `cluster/<id>`) uses a secret, which then cannot be deleted.
    pub async fn add_secret_use(&self, secret_id: SecretId, used_by: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO secret_uses (secret_id, used_by) VALUES ($1, $2)")
            .bind(secret_id.to_string())
            .bind(used_by.to_owned())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Records that `used_by` no longer uses a secret.
    pub async fn remove_secret_use(&self, secret_id: SecretId, used_by: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM secret_uses WHERE secret_id = $1 AND used_by = $2")
            .bind(secret_id.to_string())
            .bind(used_by.to_owned())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Deletes a secret and all its versions, unless something uses it. Versions whose values
    /// are kept outside the database (`vault:...`) are recorded as garbage, to delete there.
    pub async fn delete_secret(&self, org_id: OrgId, secret_id: SecretId) -> Result<SecretDeletion, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let uses: Vec<(String,)> = sqlx::query_as(
            "SELECT u.used_by FROM secret_uses u JOIN secrets s ON s.id = u.secret_id \
                 WHERE s.org_id = $1 AND u.secret_id = $2 ORDER BY u.used_by",
        )
        .bind(org_id.to_string())
        .bind(secret_id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if !uses.is_empty() {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(SecretDeletion::InUse(uses.into_iter().map(|(u,)| u).collect()));
        }
        // Values kept outside the database go to the garbage to be deleted there, in this
        // same transaction: they are deleted there even if the caller stops right after.
        let now = crate::rows::millis(chrono::Utc::now());
        sqlx::query(
            "INSERT INTO secret_value_garbage (stored, recorded_at) SELECT v.ciphertext, $1 \
             FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
             WHERE s.org_id = $2 AND v.secret_id = $3 AND substr(v.ciphertext, 1, 6) = 'vault:' \
             ON CONFLICT (stored) DO NOTHING",
        )
        .bind(now)
        .bind(org_id.to_string())
        .bind(secret_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        let done = sqlx::query("DELETE FROM secrets WHERE org_id = $1 AND id = $2")
            .bind(org_id.to_string())
            .bind(secret_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(if done.rows_affected() > 0 { SecretDeletion::Deleted } else { SecretDeletion::NotFound })
    }
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    secret_id: SecretId,
    version: u32,
    sealed: &str,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO secret_versions (secret_id, version, ciphertext, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(secret_id.to_string())
        .bind(i64::from(version))
        .bind(sealed.to_owned())
        .bind(by.to_string())
        .bind(millis(at))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}
