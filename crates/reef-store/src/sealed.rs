//! Every sealed value in the database, for the passes that rewrite them all: sealing again
//! under a new master key, and moving secret values between secret backends.
//!
//! A pass reads values in pages and replaces each one only if it is still what was read
//! (compare and swap), so it can run while servers write, and can stop at any point and run
//! again: a value is always either the old text or the new one.

use reef_core::{ClusterId, OrgId, SecretId};

use crate::rows::{get_i64, get_parsed, get_str};
use crate::{Store, StoreError};

/// Where a sealed value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedPlace {
    /// The values of a version of a secret.
    SecretVersion {
        /// The secret's organization.
        org: OrgId,
        /// The secret.
        secret: SecretId,
        /// The version.
        version: u32,
    },
    /// The kubeconfig reef keeps for a cluster.
    Kubeconfig {
        /// The cluster's organization.
        org: OrgId,
        /// The cluster.
        cluster: ClusterId,
    },
}

/// A sealed value and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// Where.
    pub place: SealedPlace,
    /// The stored text: a sealed value, or a reference to a value kept in a secret backend.
    pub stored: String,
}

/// Which sealed values a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// Secrets' values.
    SecretVersions,
    /// Clusters' kubeconfigs.
    Kubeconfigs,
}

/// Where a page of sealed values ends; the next page starts after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedCursor(Option<(String, i64)>);

impl Store {
    /// Up to `limit` sealed values of `kind` after `cursor`, in a stable order, and the cursor
    /// after the last of them.
    pub async fn sealed_values(
        &self,
        kind: SealedKind,
        cursor: &SealedCursor,
        limit: u32,
    ) -> Result<(Vec<SealedValue>, SealedCursor), StoreError> {
        let (id, version) = cursor.0.clone().unwrap_or_default();
        let limit = i64::from(limit.max(1));
        let query = match kind {
            SealedKind::SecretVersions => sqlx::query(
                "SELECT s.org_id AS org_id, v.secret_id AS id, v.version AS version, v.ciphertext AS stored \
                 FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
                 WHERE v.secret_id > $1 OR (v.secret_id = $1 AND v.version > $2) \
                 ORDER BY v.secret_id, v.version LIMIT $3",
            )
            .bind(id)
            .bind(version)
            .bind(limit),
            SealedKind::Kubeconfigs => sqlx::query(
                "SELECT org_id, id, CAST(0 AS BIGINT) AS version, kubeconfig AS stored FROM clusters \
                 WHERE kubeconfig IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(id)
            .bind(limit),
        };
        let rows = query.fetch_all(self.pool()).await.map_err(StoreError::from_sqlx)?;
        let mut values = Vec::with_capacity(rows.len());
        let mut next = cursor.clone();
        for row in &rows {
            let org: OrgId = get_parsed(row, "org_id")?;
            let version = get_i64(row, "version")?;
            let place = match kind {
                SealedKind::SecretVersions => SealedPlace::SecretVersion {
                    org,
                    secret: get_parsed(row, "id")?,
                    version: u32::try_from(version).map_err(|_| StoreError::Corrupt { column: "version" })?,
                },
                SealedKind::Kubeconfigs => SealedPlace::Kubeconfig { org, cluster: get_parsed(row, "id")? },
            };
            next = SealedCursor(Some((get_str(row, "id")?, version)));
            values.push(SealedValue { place, stored: get_str(row, "stored")? });
        }
        Ok((values, next))
    }

    /// Replaces a sealed value with `stored`, if it is still `value.stored`. `Ok(false)` when it
    /// changed (or went away) since it was read.
    pub async fn replace_sealed(&self, value: &SealedValue, stored: &str) -> Result<bool, StoreError> {
        self.replace_sealed_leaving(value, stored, false).await
    }

    /// Like [`Store::replace_sealed`], and when `collect` is set, records the old text as
    /// garbage (a copy kept outside the database to delete there) in the same transaction.
    pub async fn replace_sealed_leaving(
        &self,
        value: &SealedValue,
        stored: &str,
        collect: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let query = match value.place {
            SealedPlace::SecretVersion { secret, version, .. } => sqlx::query(
                "UPDATE secret_versions SET ciphertext = $1 WHERE ciphertext = $2 AND secret_id = $3 AND version = $4",
            )
            .bind(stored.to_owned())
            .bind(value.stored.clone())
            .bind(secret.to_string())
            .bind(i64::from(version)),
            SealedPlace::Kubeconfig { cluster, .. } => {
                sqlx::query("UPDATE clusters SET kubeconfig = $1 WHERE kubeconfig = $2 AND id = $3")
                    .bind(stored.to_owned())
                    .bind(value.stored.clone())
                    .bind(cluster.to_string())
            }
        };
        let done = query.execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(false);
        }
        if collect {
            insert_garbage(&mut tx, &value.stored).await?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    /// Records copies kept outside the database that nothing refers to, to delete there.
    pub async fn add_garbage(&self, stored: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        for s in stored {
            insert_garbage(&mut tx, s).await?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)
    }

    /// Up to `limit` recorded garbage, oldest first.
    pub async fn garbage(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT stored FROM secret_value_garbage ORDER BY recorded_at, stored LIMIT $1")
                .bind(i64::from(limit.max(1)))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Forgets garbage once it is deleted where it was kept.
    pub async fn remove_garbage(&self, stored: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM secret_value_garbage WHERE stored = $1")
            .bind(stored.to_owned())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// How many sealed values of any kind start with `prefix` (for example every value sealed
    /// under one key).
    pub async fn count_sealed_with_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let n = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        // substr(text, 1, n) rather than LIKE, which ignores case on SQLite and treats `_` as
        // a wildcard.
        let (count,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM secret_versions WHERE substr(ciphertext, 1, CAST($2 AS INTEGER)) = $1) + \
             (SELECT COUNT(*) FROM clusters WHERE kubeconfig IS NOT NULL AND substr(kubeconfig, 1, CAST($2 AS INTEGER)) = $1)",
        )
        .bind(prefix.to_owned())
        .bind(n)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

async fn insert_garbage(tx: &mut sqlx::Transaction<'_, sqlx::Any>, stored: &str) -> Result<(), StoreError> {
    let now = crate::rows::millis(chrono::Utc::now());
    let sql = "INSERT INTO secret_value_garbage (stored, recorded_at) VALUES ($1, $2) ON CONFLICT (stored) DO NOTHING";
    sqlx::query(sql).bind(stored.to_owned()).bind(now).execute(&mut **tx).await.map_err(StoreError::from_sqlx)?;
    Ok(())
}
