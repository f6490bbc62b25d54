//! Clusters: their records, labels and the log of their status changes. A status change and
//! its log entry are written together, and only from the status the caller expects, so two
//! operations racing on one cluster cannot both move it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reef_core::cluster::StatusChange;
use reef_core::{
    Cluster, ClusterHealth, ClusterId, ClusterName, ClusterStatus, KubernetesVersion, NodePool, OrgId, Page,
    PageRequest, WorkflowId,
};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{get_i64, get_opt_str, get_opt_time, get_parsed, get_str, get_time, millis, time};
use crate::{Store, StoreError};

/// Which clusters a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterFilter {
    /// Only those in this status.
    pub status: Option<ClusterStatus>,
    /// Only those of this provider.
    pub provider: Option<String>,
    /// Only those with all these labels.
    pub labels: BTreeMap<String, String>,
    /// Deleted clusters too (they are left out otherwise, unless `status` asks for them).
    pub include_deleted: bool,
}

/// What an update of a cluster's record changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterUpdate {
    /// The Kubernetes version.
    pub kubernetes_version: Option<KubernetesVersion>,
    /// The node pools.
    pub node_pools: Option<Vec<NodePool>>,
    /// The labels (all of them).
    pub labels: Option<BTreeMap<String, String>>,
    /// The API server's URL.
    pub endpoint: Option<String>,
    /// The operation going on.
    pub operation: Option<WorkflowId>,
}

const COLUMNS: &str = "id, org_id, name, provider, region, kubernetes_version, node_pools, secret_name, status, \
                       status_message, endpoint, operation_id, health_checked_at, health_problem, created_at, updated_at, options";

fn cluster(row: &AnyRow, labels: BTreeMap<String, String>) -> Result<Cluster, StoreError> {
    let version = get_str(row, "kubernetes_version")?;
    let pools = get_str(row, "node_pools")?;
    Ok(Cluster {
        id: get_parsed(row, "id")?,
        org_id: get_parsed(row, "org_id")?,
        name: get_parsed(row, "name")?,
        provider: get_str(row, "provider")?,
        region: get_str(row, "region")?,
        // Empty: not known yet.
        kubernetes_version: (!version.is_empty())
            .then(|| KubernetesVersion::parse(&version))
            .transpose()
            .map_err(|_| StoreError::Corrupt { column: "clusters.kubernetes_version" })?,
        node_pools: serde_json::from_str(&pools).map_err(|_| StoreError::Corrupt { column: "clusters.node_pools" })?,
        secret: get_opt_str(row, "secret_name")?
            .map(|s| s.parse().map_err(|_| StoreError::Corrupt { column: "clusters.secret_name" }))
            .transpose()?,
        labels,
        status: ClusterStatus::parse(&get_str(row, "status")?)
            .ok_or(StoreError::Corrupt { column: "clusters.status" })?,
        status_message: get_str(row, "status_message")?,
        endpoint: get_opt_str(row, "endpoint")?,
        operation: get_opt_str(row, "operation_id")?
            .map(|s| s.parse().map_err(|_| StoreError::Corrupt { column: "clusters.operation_id" }))
            .transpose()?,
        health: match get_opt_time(row, "health_checked_at")? {
            Some(checked_at) => Some(ClusterHealth { checked_at, problem: get_opt_str(row, "health_problem")? }),
            None => None,
        },
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        options: serde_json::from_str(&get_str(row, "options")?)
            .map_err(|_| StoreError::Corrupt { column: "clusters.options" })?,
    })
}

fn pools_json(pools: &[NodePool]) -> Result<String, StoreError> {
    serde_json::to_string(pools).map_err(|_| StoreError::Corrupt { column: "clusters.node_pools" })
}

impl Store {
    /// Records a new cluster (in the status it has) and the first entry of its status log.
    /// [`StoreError::Duplicate`] when the organization has a cluster of that name that is not
    /// deleted.
    pub async fn insert_cluster(&self, c: &Cluster, cause: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO clusters ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )))
        .bind(c.id.to_string())
        .bind(c.org_id.to_string())
        .bind(c.name.as_str().to_owned())
        .bind(c.provider.clone())
        .bind(c.region.clone())
        .bind(c.kubernetes_version.as_ref().map(ToString::to_string).unwrap_or_default())
        .bind(pools_json(&c.node_pools)?)
        .bind(c.secret.as_ref().map(|s| s.as_str().to_owned()))
        .bind(c.status.as_str())
        .bind(c.status_message.clone())
        .bind(c.endpoint.clone())
        .bind(c.operation.map(|o| o.to_string()))
        .bind(c.health.as_ref().map(|h| millis(h.checked_at)))
        .bind(c.health.as_ref().and_then(|h| h.problem.clone()))
        .bind(millis(c.created_at))
        .bind(millis(c.updated_at))
        .bind(serde_json::to_string(&c.options).map_err(|_| StoreError::Corrupt { column: "clusters.options" })?)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        for (key, value) in &c.labels {
            sqlx::query("INSERT INTO cluster_labels (cluster_id, key, value) VALUES ($1, $2, $3)")
                .bind(c.id.to_string())
                .bind(key.clone())
                .bind(value.clone())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query(
            "INSERT INTO cluster_status_changes (cluster_id, seq, from_status, to_status, cause, operation_id, at) \
             VALUES ($1, 1, NULL, $2, $3, $4, $5)",
        )
        .bind(c.id.to_string())
        .bind(c.status.as_str())
        .bind(cause.to_owned())
        .bind(c.operation.map(|o| o.to_string()))
        .bind(millis(c.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn labels_of(&self, ids: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "SELECT cluster_id, key, value FROM cluster_labels WHERE cluster_id IN ({})",
            marks.join(", ")
        )));
        for id in ids {
            query = query.bind(id.clone());
        }
        for row in query.fetch_all(self.pool()).await.map_err(StoreError::from_sqlx)? {
            out.entry(get_str(&row, "cluster_id")?).or_default().insert(get_str(&row, "key")?, get_str(&row, "value")?);
        }
        Ok(out)
    }

    async fn clusters_where(&self, condition: &str, args: Vec<String>) -> Result<Vec<Cluster>, StoreError> {
        let mut query = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM clusters WHERE {condition}")));
        for a in args {
            query = query.bind(a);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(StoreError::from_sqlx)?;
        let ids: Vec<String> = rows.iter().map(|r| get_str(r, "id")).collect::<Result<_, _>>()?;
        let mut labels = self.labels_of(&ids).await?;
        rows.iter().zip(ids).map(|(row, id)| cluster(row, labels.remove(&id).unwrap_or_default())).collect()
    }

    /// Cluster `id` of `org` (deleted ones included).
    pub async fn cluster(&self, org: OrgId, id: ClusterId) -> Result<Option<Cluster>, StoreError> {
        let mut found = self.clusters_where("org_id = $1 AND id = $2", vec![org.to_string(), id.to_string()]).await?;
        Ok(found.pop())
    }

    /// The cluster of `org` named `name` that is not deleted.
    pub async fn cluster_by_name(&self, org: OrgId, name: &ClusterName) -> Result<Option<Cluster>, StoreError> {
        let mut found = self
            .clusters_where(
                "org_id = $1 AND name = $2 AND status <> 'deleted'",
                vec![org.to_string(), name.as_str().to_owned()],
            )
            .await?;
        Ok(found.pop())
    }

    /// A page of `org`'s clusters matching `filter`, ordered by id (creation).
    pub async fn clusters(
        &self,
        org: OrgId,
        filter: &ClusterFilter,
        page: &PageRequest,
    ) -> Result<Page<Cluster>, StoreError> {
        let after = page.after.as_ref().map(|c| c.key().to_owned()).unwrap_or_default();
        let mut condition = "org_id = $1 AND id > $2".to_owned();
        let mut args = vec![org.to_string(), after];
        match filter.status {
            Some(status) => {
                args.push(status.as_str().to_owned());
                condition.push_str(&format!(" AND status = ${}", args.len()));
            }
            None if !filter.include_deleted => condition.push_str(" AND status <> 'deleted'"),
            None => {}
        }
        if let Some(provider) = &filter.provider {
            args.push(provider.clone());
            condition.push_str(&format!(" AND provider = ${}", args.len()));
        }
        for (key, value) in &filter.labels {
            args.push(key.clone());
            args.push(value.clone());
            condition.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM cluster_labels l WHERE l.cluster_id = clusters.id AND l.key = ${} AND l.value = ${})",
                args.len() - 1,
                args.len()
            ));
        }
        // The limit is a validated integer written into the statement (see `secrets`).
        condition.push_str(&format!(" ORDER BY id LIMIT {}", u64::from(page.limit) + 1));
        let items = self.clusters_where(&condition, args).await?;
        Ok(Page::from_rows(items, page.limit, |c| c.id.to_string()))
    }

    /// Moves cluster `id` from `from` to `to` and logs why; `false` (and nothing written) when
    /// the cluster is not in `from` any more.
    pub async fn change_cluster_status(
        &self,
        id: ClusterId,
        from: ClusterStatus,
        to: ClusterStatus,
        cause: &str,
        operation: Option<WorkflowId>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let moved = sqlx::query(
            "UPDATE clusters SET status = $1, status_message = $2, operation_id = COALESCE($3, operation_id), \
             updated_at = $4 WHERE id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(cause.to_owned())
        .bind(operation.map(|o| o.to_string()))
        .bind(millis(now))
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if moved.rows_affected() != 1 {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO cluster_status_changes (cluster_id, seq, from_status, to_status, cause, operation_id, at) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 FROM cluster_status_changes WHERE cluster_id = $1",
        )
        .bind(id.to_string())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(cause.to_owned())
        .bind(operation.map(|o| o.to_string()))
        .bind(millis(now))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    /// Changes the fields of cluster `id` that `update` sets; `false` when there is no such
    /// cluster.
    pub async fn update_cluster(
        &self,
        id: ClusterId,
        update: &ClusterUpdate,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        let pools = update.node_pools.as_deref().map(pools_json).transpose()?;
        let changed = sqlx::query(
            "UPDATE clusters SET kubernetes_version = COALESCE($1, kubernetes_version), \
             node_pools = COALESCE($2, node_pools), endpoint = COALESCE($3, endpoint), \
             operation_id = COALESCE($4, operation_id), updated_at = $5 WHERE id = $6",
        )
        .bind(update.kubernetes_version.as_ref().map(ToString::to_string))
        .bind(pools)
        .bind(update.endpoint.clone())
        .bind(update.operation.map(|o| o.to_string()))
        .bind(millis(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if changed.rows_affected() != 1 {
            tx.rollback().await.map_err(StoreError::from_sqlx)?;
            return Ok(false);
        }
        if let Some(labels) = &update.labels {
            sqlx::query("DELETE FROM cluster_labels WHERE cluster_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
            for (key, value) in labels {
                sqlx::query("INSERT INTO cluster_labels (cluster_id, key, value) VALUES ($1, $2, $3)")
                    .bind(id.to_string())
                    .bind(key.clone())
                    .bind(value.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    /// Records cluster `id`'s sealed kubeconfig (`None` forgets it); `false` when there is no
    /// such cluster.
    pub async fn set_cluster_kubeconfig(&self, id: ClusterId, sealed: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE clusters SET kubeconfig = $1 WHERE id = $2")
            .bind(sealed.map(str::to_owned))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Cluster `id`'s sealed kubeconfig, if it has one.
    pub async fn cluster_kubeconfig(&self, id: ClusterId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT kubeconfig FROM clusters WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        match row {
            Some(row) => get_opt_str(&row, "kubeconfig"),
            None => Ok(None),
        }
    }

    /// Up to `limit` clusters due a health check: running or in warning, with a kubeconfig, and
    /// not checked since `before`; those checked longest ago first.
    pub async fn clusters_due_for_health(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, ClusterId)>, StoreError> {
        // The limit is an integer written into the statement (see `secrets`).
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT org_id, id FROM clusters WHERE status IN ('running', 'warning') AND kubeconfig IS NOT NULL \
             AND COALESCE(health_checked_at, 0) < $1 ORDER BY COALESCE(health_checked_at, 0), id LIMIT {limit}"
        )))
        .bind(millis(before))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(|row| Ok((get_parsed(row, "org_id")?, get_parsed(row, "id")?))).collect()
    }

    /// Claims cluster `id`'s next health check for the caller: `true` (and the check recorded
    /// as made at `now`) unless it was checked since `before`, by this process or another.
    pub async fn claim_health_check(
        &self,
        id: ClusterId,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clusters SET health_checked_at = $1 WHERE id = $2 AND COALESCE(health_checked_at, 0) < $3",
        )
        .bind(millis(now))
        .bind(id.to_string())
        .bind(millis(before))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Every cluster that exists and has no operation to bring it back: running, in warning or
    /// in error, in every organization.
    pub async fn standing_clusters(&self) -> Result<Vec<(OrgId, ClusterId)>, StoreError> {
        let rows =
            sqlx::query("SELECT org_id, id FROM clusters WHERE status IN ('running', 'warning', 'error') ORDER BY id")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        rows.iter().map(|row| Ok((get_parsed(row, "org_id")?, get_parsed(row, "id")?))).collect()
    }

    /// Records what the health check of cluster `id` found (`None`: nothing wrong).
    pub async fn record_health(&self, id: ClusterId, problem: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE clusters SET health_problem = $1 WHERE id = $2")
            .bind(problem.map(str::to_owned))
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Every status change of cluster `id`, oldest first.
    pub async fn cluster_status_changes(&self, id: ClusterId) -> Result<Vec<StatusChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_status, to_status, cause, operation_id, at FROM cluster_status_changes \
             WHERE cluster_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let status = |s: &str| ClusterStatus::parse(s).ok_or(StoreError::Corrupt { column: "cluster_status_changes" });
        rows.iter()
            .map(|row| {
                Ok(StatusChange {
                    from: get_opt_str(row, "from_status")?.map(|s| status(&s)).transpose()?,
                    to: status(&get_str(row, "to_status")?)?,
                    cause: get_str(row, "cause")?,
                    operation: get_opt_str(row, "operation_id")?
                        .map(|s| s.parse().map_err(|_| StoreError::Corrupt { column: "cluster_status_changes" }))
                        .transpose()?,
                    at: time(get_i64(row, "at")?, "cluster_status_changes.at")?,
                })
            })
            .collect()
    }
}
