//! Workflow runs: a long operation (create a cluster, install a release) as a list of named
//! steps, each recorded as it starts, ends or is undone. The API calls a run an *operation*;
//! its step log is what a user sees as progress.

use chrono::{DateTime, Utc};

use crate::id::{OrgId, WorkflowId};

/// Where a workflow run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowStatus {
    /// Waiting for a worker to take it.
    Pending,
    /// Its steps are being run.
    Running,
    /// A step failed or the run was cancelled: the steps done so far are being undone.
    Unwinding,
    /// Every step is done.
    Succeeded,
    /// A step failed and the steps before it were undone (or could not be: see the error).
    Failed,
    /// Cancelled, and the steps done before were undone.
    Cancelled,
}

impl WorkflowStatus {
    /// The status's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Pending => "pending",
            WorkflowStatus::Running => "running",
            WorkflowStatus::Unwinding => "unwinding",
            WorkflowStatus::Succeeded => "succeeded",
            WorkflowStatus::Failed => "failed",
            WorkflowStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a status's name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            WorkflowStatus::Pending,
            WorkflowStatus::Running,
            WorkflowStatus::Unwinding,
            WorkflowStatus::Succeeded,
            WorkflowStatus::Failed,
            WorkflowStatus::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether the run has ended: nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, WorkflowStatus::Succeeded | WorkflowStatus::Failed | WorkflowStatus::Cancelled)
    }
}

/// Where one step of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Not started (or waiting to be retried after a transient error).
    Pending,
    /// Running now (or when its worker stopped: it runs again).
    Running,
    /// Done; its output is recorded.
    Done,
    /// Failed for good; the run unwinds.
    Failed,
    /// Its undo is running.
    Undoing,
    /// Undone after a later step failed or the run was cancelled.
    Undone,
}

impl StepStatus {
    /// The status's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Undoing => "undoing",
            StepStatus::Undone => "undone",
        }
    }

    /// Parses a status's name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            StepStatus::Pending,
            StepStatus::Running,
            StepStatus::Done,
            StepStatus::Failed,
            StepStatus::Undoing,
            StepStatus::Undone,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One step of a run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowStep {
    /// Its place in the run, from 0.
    pub index: u32,
    /// Its name, unique within the workflow.
    pub name: String,
    /// Where it is.
    pub status: StepStatus,
    /// How many times it was started (retries and restarts after a crash included).
    pub attempts: u32,
    /// The last error, if an attempt failed.
    pub error: Option<String>,
    /// When its last attempt (or undo) started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was done, failed or undone.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A workflow run, with its steps in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    /// Its id.
    pub id: WorkflowId,
    /// The organization it works for.
    pub org_id: OrgId,
    /// Which workflow it runs (`cluster.create`).
    pub kind: String,
    /// What it works on (a cluster's id), so that one subject has one run at a time.
    pub subject: String,
    /// Where it is.
    pub status: WorkflowStatus,
    /// Why it failed, or what its unwinding could not undo.
    pub error: Option<String>,
    /// The step that failed, if one did.
    pub failed_step: Option<String>,
    /// Whether cancelling it was asked for.
    pub cancel_requested: bool,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its steps, in order.
    pub steps: Vec<WorkflowStep>,
}
