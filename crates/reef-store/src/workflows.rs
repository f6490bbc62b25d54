//! Workflow runs and their step logs. A run is driven by one worker at a time: the worker
//! that holds its lease. Every change a worker makes is *fenced*: it applies only while that
//! worker still holds an unexpired lease, so a worker that stalled past its lease cannot
//! overwrite what the worker that took the run over has done since.

use chrono::{DateTime, Utc};
use reef_core::{OrgId, StepStatus, WorkflowId, WorkflowRun, WorkflowStatus, WorkflowStep};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::rows::{get_i64, get_opt_str, get_opt_time, get_parsed, get_str, get_time, millis};
use crate::{Backend, Store, StoreError};

/// A run to record: its workflow, subject, input (JSON) and the names of its steps.
#[derive(Debug, Clone)]
pub struct NewWorkflow<'a> {
    /// The run's id.
    pub id: WorkflowId,
    /// The organization it works for.
    pub org_id: OrgId,
    /// The workflow (`cluster.create`).
    pub kind: &'a str,
    /// What it works on; one subject has one active run at a time.
    pub subject: &'a str,
    /// The input, JSON.
    pub input: &'a str,
    /// The step names, in order.
    pub steps: &'a [&'a str],
}

/// A run a worker took: what it needs to drive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The run.
    pub id: WorkflowId,
    /// Its workflow.
    pub kind: String,
    /// Its input, JSON.
    pub input: String,
    /// Where it is (never pending: a claimed pending run is running).
    pub status: WorkflowStatus,
    /// Whether cancelling it was asked for.
    pub cancel_requested: bool,
}

/// One step as a worker reads it: its place, status, attempts and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    /// Its place, from 0.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Where it is.
    pub status: StepStatus,
    /// How many times it was started.
    pub attempts: u32,
    /// Its output, JSON, once done.
    pub output: Option<String>,
}

/// A change to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepChange {
    /// An attempt starts: running, one more attempt.
    Started,
    /// It is done, with this output (JSON).
    Done(String),
    /// An attempt failed and will be retried: pending again, with the error.
    Retrying(String),
    /// It failed for good.
    Failed(String),
    /// Its undo starts.
    Undoing,
    /// Its undo failed and will be retried: done again, with the error.
    UndoRetrying(String),
    /// Its undo is done (or it had nothing to undo).
    Undone,
}

/// What a run's change of status records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange<'a> {
    /// The new status.
    pub status: WorkflowStatus,
    /// An error to record, after any recorded before.
    pub error: Option<&'a str>,
    /// The step that failed.
    pub failed_step: Option<&'a str>,
}

/// A step's place, name, status and attempts: what both readings of a step row share.
fn step_head(row: &AnyRow) -> Result<(u32, String, StepStatus, u32), StoreError> {
    let count = |column: &'static str, label: &'static str| {
        u32::try_from(get_i64(row, column)?).map_err(|_| StoreError::Corrupt { column: label })
    };
    Ok((
        count("idx", "workflow_steps.idx")?,
        get_str(row, "name")?,
        StepStatus::parse(&get_str(row, "status")?).ok_or(StoreError::Corrupt { column: "workflow_steps.status" })?,
        count("attempts", "workflow_steps.attempts")?,
    ))
}

fn step_row(row: &AnyRow) -> Result<WorkflowStep, StoreError> {
    let (index, name, status, attempts) = step_head(row)?;
    Ok(WorkflowStep {
        index,
        name,
        status,
        attempts,
        error: get_opt_str(row, "error")?,
        started_at: get_opt_time(row, "started_at")?,
        finished_at: get_opt_time(row, "finished_at")?,
    })
}

fn status(row: &AnyRow) -> Result<WorkflowStatus, StoreError> {
    WorkflowStatus::parse(&get_str(row, "status")?).ok_or(StoreError::Corrupt { column: "workflows.status" })
}

const ACTIVE: &str = "('pending', 'running', 'unwinding')";

/// The condition that `owner` ($owner) holds the lease of run $id at $now.
fn held(id: &str, owner: &str, now: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM workflows w WHERE w.id = {id} AND w.lease_owner = {owner} AND w.lease_expires_at > {now})"
    )
}

impl Store {
    /// Records a new, pending run and its steps. [`StoreError::Duplicate`] when its subject has
    /// an active run already ([`Store::active_workflow`] names it).
    pub async fn insert_workflow(&self, new: &NewWorkflow<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "INSERT INTO workflows (id, org_id, kind, subject, input, status, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)",
        )
        .bind(new.id.to_string())
        .bind(new.org_id.to_string())
        .bind(new.kind.to_owned())
        .bind(new.subject.to_owned())
        .bind(new.input.to_owned())
        .bind(millis(now))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        for (i, name) in new.steps.iter().enumerate() {
            sqlx::query("INSERT INTO workflow_steps (workflow_id, idx, name, status) VALUES ($1, $2, $3, 'pending')")
                .bind(new.id.to_string())
                .bind(i as i64)
                .bind((*name).to_owned())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// The active (pending, running or unwinding) run on `subject`, if any.
    pub async fn active_workflow(&self, org: OrgId, subject: &str) -> Result<Option<WorkflowId>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM workflows WHERE org_id = $1 AND subject = $2 AND status IN {ACTIVE}"
        )))
        .bind(org.to_string())
        .bind(subject.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        row.map(|r| get_parsed(&r, "id")).transpose()
    }

    /// Takes the lease of a run that is ready (active, due, and not leased or its lease
    /// expired) for `owner` until `lease_until`; a pending run becomes running. On
    /// PostgreSQL, workers of several processes skip the runs others are taking.
    pub async fn claim_workflow(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Claimed>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // The lease is checked again outside the subquery: on PostgreSQL the row is read again
        // when it is updated, so two workers that picked the same run cannot both take it.
        let free = "(lease_expires_at IS NULL OR lease_expires_at <= $3)";
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE workflows SET lease_owner = $1, lease_expires_at = $2, updated_at = $3, \
             status = CASE WHEN status = 'pending' THEN 'running' ELSE status END \
             WHERE id = (SELECT id FROM workflows WHERE status IN {ACTIVE} AND run_after <= $3 AND {free} \
             ORDER BY run_after, id LIMIT 1{lock}) AND {free} \
             RETURNING id, kind, input, status, cancel_requested"
        )))
        .bind(owner.to_owned())
        .bind(millis(lease_until))
        .bind(millis(now))
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Claimed {
            id: get_parsed(&row, "id")?,
            kind: get_str(&row, "kind")?,
            input: get_str(&row, "input")?,
            status: status(&row)?,
            cancel_requested: get_i64(&row, "cancel_requested")? != 0,
        }))
    }

    /// Extends `owner`'s lease on `id` to `until`; `false` when `owner` no longer holds it.
    pub async fn extend_lease(
        &self,
        id: WorkflowId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE workflows SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND lease_expires_at > $4",
        )
        .bind(millis(until))
        .bind(id.to_string())
        .bind(owner.to_owned())
        .bind(millis(now))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `owner`'s lease on `id`, to be taken again from `run_after` on (a retry's
    /// backoff); `false` when `owner` no longer held it.
    pub async fn release_workflow(
        &self,
        id: WorkflowId,
        owner: &str,
        now: DateTime<Utc>,
        run_after: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, run_after = $1, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND lease_expires_at > $2",
        )
        .bind(millis(run_after))
        .bind(millis(now))
        .bind(id.to_string())
        .bind(owner.to_owned())
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// The steps of `id` as a worker needs them, in order.
    pub async fn workflow_steps(&self, id: WorkflowId) -> Result<Vec<StepState>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, name, status, attempts, output FROM workflow_steps WHERE workflow_id = $1 ORDER BY idx",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|row| {
                let (index, name, status, attempts) = step_head(row)?;
                Ok(StepState { index, name, status, attempts, output: get_opt_str(row, "output")? })
            })
            .collect()
    }

    /// Changes step `index` of `id`, if `owner` holds the run's lease; `false` otherwise.
    pub async fn change_step(
        &self,
        id: WorkflowId,
        owner: &str,
        index: u32,
        change: &StepChange,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // status, attempts added, output (kept when NULL), error, started_at (kept when
        // NULL), finished_at.
        let t = Some(millis(now));
        let (status, more, output, error, started, finished) = match change {
            StepChange::Started => (StepStatus::Running, 1_i64, None, None, t, None),
            StepChange::Done(out) => (StepStatus::Done, 0, Some(out.clone()), None, None, t),
            StepChange::Retrying(e) => (StepStatus::Pending, 0, None, Some(e.clone()), None, None),
            StepChange::Failed(e) => (StepStatus::Failed, 0, None, Some(e.clone()), None, t),
            StepChange::Undoing => (StepStatus::Undoing, 0, None, None, t, None),
            StepChange::UndoRetrying(e) => (StepStatus::Done, 0, None, Some(e.clone()), None, None),
            StepChange::Undone => (StepStatus::Undone, 0, None, None, None, t),
        };
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE workflow_steps SET status = $1, attempts = attempts + $2, output = COALESCE($3, output), \
             error = $4, started_at = COALESCE($5, started_at), finished_at = $6 \
             WHERE workflow_id = $7 AND idx = $8 AND {}",
            held("$7", "$9", "$10")
        )))
        .bind(status.as_str())
        .bind(more)
        .bind(output)
        .bind(error)
        .bind(started)
        .bind(finished)
        .bind(id.to_string())
        .bind(i64::from(index))
        .bind(owner.to_owned())
        .bind(millis(now))
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes the status of `id`, if `owner` holds its lease; a final status also ends the
    /// lease. `false` when `owner` does not hold it.
    pub async fn change_workflow_status(
        &self,
        id: WorkflowId,
        owner: &str,
        change: &StatusChange<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let ended = change.status.is_final();
        let done = sqlx::query(
            "UPDATE workflows SET status = $1, \
             error = CASE WHEN error IS NULL THEN $2 WHEN $2 IS NULL THEN error ELSE error || '; ' || $2 END, \
             failed_step = COALESCE($3, failed_step), \
             updated_at = $4, finished_at = $5, \
             lease_owner = CASE WHEN $6 = 1 THEN NULL ELSE lease_owner END, \
             lease_expires_at = CASE WHEN $6 = 1 THEN NULL ELSE lease_expires_at END \
             WHERE id = $7 AND lease_owner = $8 AND lease_expires_at > $4",
        )
        .bind(change.status.as_str())
        .bind(change.error.map(str::to_owned))
        .bind(change.failed_step.map(str::to_owned))
        .bind(millis(now))
        .bind(ended.then(|| millis(now)))
        .bind(i64::from(ended))
        .bind(id.to_string())
        .bind(owner.to_owned())
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Asks for run `id` of `org` to be cancelled; `false` when there is no such run or it has
    /// ended.
    pub async fn request_cancel(&self, org: OrgId, id: WorkflowId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE workflows SET cancel_requested = 1, updated_at = $1 \
             WHERE id = $2 AND org_id = $3 AND status IN {ACTIVE}"
        )))
        .bind(millis(now))
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether cancelling `id` was asked for.
    pub async fn cancel_requested(&self, id: WorkflowId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT cancel_requested FROM workflows WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(match row {
            Some(row) => get_i64(&row, "cancel_requested")? != 0,
            None => false,
        })
    }

    /// Run `id` of `org` with its steps; `None` when `org` has no such run.
    pub async fn workflow(&self, org: OrgId, id: WorkflowId) -> Result<Option<WorkflowRun>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, kind, subject, status, error, failed_step, cancel_requested, created_at, updated_at, \
             finished_at FROM workflows WHERE id = $1 AND org_id = $2",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        let steps = sqlx::query(
            "SELECT idx, name, status, attempts, error, started_at, finished_at FROM workflow_steps \
             WHERE workflow_id = $1 ORDER BY idx",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(Some(WorkflowRun {
            id: get_parsed(&row, "id")?,
            org_id: get_parsed(&row, "org_id")?,
            kind: get_str(&row, "kind")?,
            subject: get_str(&row, "subject")?,
            status: status(&row)?,
            error: get_opt_str(&row, "error")?,
            failed_step: get_opt_str(&row, "failed_step")?,
            cancel_requested: get_i64(&row, "cancel_requested")? != 0,
            created_at: get_time(&row, "created_at")?,
            updated_at: get_time(&row, "updated_at")?,
            finished_at: get_opt_time(&row, "finished_at")?,
            steps: steps.iter().map(step_row).collect::<Result<_, _>>()?,
        }))
    }

    /// The mean duration, in milliseconds, of the last `sample` successful runs of step `name`
    /// of workflow `kind`; `None` when it never ran. What estimates of a run's end use.
    pub async fn mean_step_millis(&self, kind: &str, name: &str, sample: u32) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(AVG(d) AS DOUBLE PRECISION) AS mean FROM (SELECT s.finished_at - s.started_at AS d FROM workflow_steps s \
             JOIN workflows w ON w.id = s.workflow_id \
             WHERE w.kind = $1 AND s.name = $2 AND s.status IN ('done', 'undone') AND s.finished_at IS NOT NULL \
             AND s.started_at IS NOT NULL ORDER BY s.finished_at DESC LIMIT $3) AS recent",
        )
        .bind(kind.to_owned())
        .bind(name.to_owned())
        .bind(i64::from(sample))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let mean: Option<f64> = row.try_get("mean").map_err(|_| StoreError::Corrupt { column: "mean" })?;
        Ok(mean.map(|m| m.round() as i64))
    }
}
