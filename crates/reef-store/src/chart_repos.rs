//! Chart repositories of each organization, with the index last fetched from each, and the
//! chart archives fetched from them, kept by digest (an archive is the same for everyone who
//! names its digest).

use chrono::{DateTime, Utc};
use reef_core::{OrgId, SecretName};
use sqlx::any::AnyRow;

use crate::rows::{get_i64, get_opt_str, get_parsed, get_str, get_time, millis};
use crate::{Store, StoreError};

/// A chart repository of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRepo {
    /// Its id.
    pub id: String,
    /// The organization.
    pub org_id: OrgId,
    /// Its name, unique in the organization (`bitnami`).
    pub name: String,
    /// Its URL (where `index.yaml` is), or an OCI registry's location (`oci://registry/path`).
    pub url: String,
    /// The organization's secret with its credentials, if it needs any.
    pub secret: Option<SecretName>,
    /// An OCI registry reached over HTTP rather than HTTPS.
    pub plain_http: bool,
    /// The index last fetched (empty for an OCI registry).
    pub index_yaml: String,
    /// How many charts the index lists.
    pub charts: i64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When its index was last fetched.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, name, url, secret_name, plain_http, index_yaml, charts, created_at, updated_at";

fn repo(row: &AnyRow) -> Result<ChartRepo, StoreError> {
    Ok(ChartRepo {
        id: get_str(row, "id")?,
        org_id: get_parsed(row, "org_id")?,
        name: get_str(row, "name")?,
        url: get_str(row, "url")?,
        secret: get_opt_str(row, "secret_name")?
            .map(|s| s.parse().map_err(|_| StoreError::Corrupt { column: "chart_repos.secret_name" }))
            .transpose()?,
        plain_http: get_i64(row, "plain_http")? != 0,
        index_yaml: get_str(row, "index_yaml")?,
        charts: get_i64(row, "charts")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    /// Records a repository; [`StoreError::Duplicate`] when the organization has one of that name.
    pub async fn insert_chart_repo(&self, r: &ChartRepo) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO chart_repos ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(r.id.clone())
        .bind(r.org_id.to_string())
        .bind(r.name.clone())
        .bind(r.url.clone())
        .bind(r.secret.as_ref().map(|s| s.as_str().to_owned()))
        .bind(i64::from(r.plain_http))
        .bind(r.index_yaml.clone())
        .bind(r.charts)
        .bind(millis(r.created_at))
        .bind(millis(r.updated_at))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// The organization's repositories, by name.
    pub async fn chart_repos(&self, org: OrgId) -> Result<Vec<ChartRepo>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM chart_repos WHERE org_id = $1 ORDER BY name"
        )))
        .bind(org.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(repo).collect()
    }

    /// The organization's repository `name`.
    pub async fn chart_repo(&self, org: OrgId, name: &str) -> Result<Option<ChartRepo>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM chart_repos WHERE org_id = $1 AND name = $2"
        )))
        .bind(org.to_string())
        .bind(name.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(repo).transpose()
    }

    /// Records a newly fetched index of repository `id`.
    pub async fn set_chart_repo_index(
        &self,
        id: &str,
        index_yaml: &str,
        charts: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE chart_repos SET index_yaml = $1, charts = $2, updated_at = $3 WHERE id = $4")
            .bind(index_yaml.to_owned())
            .bind(charts)
            .bind(millis(now))
            .bind(id.to_owned())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the organization's repository `name`; `false` when there is none.
    pub async fn delete_chart_repo(&self, org: OrgId, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM chart_repos WHERE org_id = $1 AND name = $2")
            .bind(org.to_string())
            .bind(name.to_owned())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// The chart archive of SHA-256 `digest` (hex), base64, if it was fetched before.
    pub async fn chart_archive(&self, digest: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT data FROM chart_archives WHERE digest = $1")
            .bind(digest.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        row.as_ref().map(|r| get_str(r, "data")).transpose()
    }

    /// Keeps a chart archive (base64) under its digest; keeping it twice is fine.
    pub async fn keep_chart_archive(&self, digest: &str, data: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query("INSERT INTO chart_archives (digest, data, created_at) VALUES ($1, $2, $3)")
            .bind(digest.to_owned())
            .bind(data.to_owned())
            .bind(millis(now))
            .execute(self.pool())
            .await;
        match done.map_err(StoreError::from_sqlx) {
            Ok(_) | Err(StoreError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
