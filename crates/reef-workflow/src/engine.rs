//! Running workflows: starting runs, and workers that take runs by lease and drive them to
//! their end, one step at a time, recording each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use reef_core::{OrgId, StepStatus, WorkflowId, WorkflowRun, WorkflowStatus};
use reef_store::workflows::{Claimed, NewWorkflow, StatusChange, StepChange, StepState};
use reef_store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::{ErrorKind, Step, StepContext, Workflow};

/// How transient errors are retried: after `first`, doubling up to `max`, for at most
/// `attempts` attempts in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Backoff {
    /// The wait after attempt `attempt` (from 1) failed.
    pub fn after(&self, attempt: u32) -> Duration {
        let doubled = self.first.saturating_mul(1 << attempt.saturating_sub(1).min(20));
        doubled.min(self.max)
    }
}

/// How an engine's workers behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// How long a worker holds a run without renewing its lease: how long a run whose worker
    /// died waits before another worker takes it over.
    pub lease: Duration,
    /// How often a worker renews the lease of the run it drives.
    pub heartbeat: Duration,
    /// How long an idle worker waits before looking for work again (a run started in this
    /// process wakes it at once).
    pub poll: Duration,
    /// Retries of transient errors, for steps and undos alike.
    pub retry: Backoff,
    /// Fault injection for crash tests: after the step of this name has done its work and
    /// before its completion is recorded, the worker waits this long, which is the window a
    /// test kills the process in to show that the step's effect is not made twice. `None` in
    /// production.
    pub hold_after: Option<(&'static str, Duration)>,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            retry: Backoff { first: Duration::from_secs(1), max: Duration::from_secs(60), attempts: 8 },
            hold_after: None,
        }
    }
}

/// Why starting, cancelling or reading a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No workflow of that kind is registered.
    #[error("no workflow {0:?} is known")]
    UnknownWorkflow(String),
    /// The subject has a run going on already.
    #[error("operation {running} is still running on {subject}")]
    Busy {
        /// The subject.
        subject: String,
        /// The run going on.
        running: WorkflowId,
    },
    /// The input could not be recorded.
    #[error("the input of workflow {kind:?} cannot be recorded: {message}")]
    Input {
        /// The workflow.
        kind: String,
        /// Why.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts runs and drives them. Cheap to share: wrap it in an [`Arc`] and hand it to
/// [`Engine::spawn_workers`] and to whatever starts runs.
pub struct Engine<C> {
    store: Store,
    app: Arc<C>,
    workflows: HashMap<&'static str, Arc<Workflow<C>>>,
    owner: String,
    opts: EngineOptions,
    wake: Notify,
    /// Counts the changes this process records, so that watchers of a run wake at once
    /// (changes made by other processes are seen by polling).
    changes: watch::Sender<u64>,
    /// Mean step durations by (kind, step), with when each was read: an estimate reads the
    /// step history at most once per [`MEAN_TTL`] per step, however often runs are looked at.
    means: std::sync::Mutex<HashMap<(String, String), (std::time::Instant, i64)>>,
}

/// How long a mean step duration read from the history is used for estimates.
const MEAN_TTL: Duration = Duration::from_secs(10);

impl<C> std::fmt::Debug for Engine<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("owner", &self.owner)
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// How one step (or undo) ended.
enum Outcome {
    /// Done: go on.
    Done,
    /// Failed for good: the run unwinds (or goes on unwinding).
    Failed,
    /// It waits for a retry: this worker lets the run go.
    Paused,
}

/// Why a worker stopped driving a run before its end.
enum DriveError {
    /// Another worker holds the run's lease now.
    Lost,
    Store(StoreError),
}

impl From<StoreError> for DriveError {
    fn from(e: StoreError) -> DriveError {
        DriveError::Store(e)
    }
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// An engine on `store` whose steps see `app`, with no workflow registered yet.
    pub fn new(store: Store, app: Arc<C>, opts: EngineOptions) -> Engine<C> {
        Engine {
            store,
            app,
            workflows: HashMap::new(),
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            opts,
            wake: Notify::new(),
            changes: watch::channel(0).0,
            means: std::sync::Mutex::default(),
        }
    }

    /// Registers a workflow, replacing one of the same kind.
    pub fn register(&mut self, workflow: Workflow<C>) {
        self.workflows.insert(workflow.kind, Arc::new(workflow));
    }

    /// The store the engine records runs in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What this engine's workers call themselves in leases.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Starts a run of workflow `kind` on `subject` with `input`. [`EngineError::Busy`] when
    /// `subject` has a run going on.
    pub async fn start<I: Serialize>(
        &self,
        org: OrgId,
        kind: &str,
        subject: &str,
        input: &I,
    ) -> Result<WorkflowId, EngineError> {
        let workflow = self.workflows.get(kind).ok_or_else(|| EngineError::UnknownWorkflow(kind.to_owned()))?;
        let input = serde_json::to_string(input)
            .map_err(|e| EngineError::Input { kind: kind.to_owned(), message: e.to_string() })?;
        let id = WorkflowId::new();
        let steps: Vec<&str> = workflow.steps.iter().map(|s| s.name).collect();
        let new = NewWorkflow { id, org_id: org, kind, subject, input: &input, steps: &steps };
        match self.store.insert_workflow(&new, Utc::now()).await {
            Ok(()) => {}
            Err(StoreError::Duplicate) => {
                return match self.store.active_workflow(org, subject).await? {
                    Some(running) => Err(EngineError::Busy { subject: subject.to_owned(), running }),
                    // It ended in between: try once more.
                    None => {
                        self.store.insert_workflow(&new, Utc::now()).await?;
                        self.wake.notify_one();
                        Ok(id)
                    }
                };
            }
            Err(e) => return Err(e.into()),
        }
        self.wake.notify_one();
        Ok(id)
    }

    /// Asks run `id` of `org` to stop: the step running finishes, then the steps done are
    /// undone. `false` when there is no such run or it has ended.
    pub async fn cancel(&self, org: OrgId, id: WorkflowId) -> Result<bool, EngineError> {
        let asked = self.store.request_cancel(org, id, Utc::now()).await?;
        if asked {
            self.wake.notify_one();
        }
        Ok(asked)
    }

    /// Run `id` of `org`, with its steps.
    pub async fn get(&self, org: OrgId, id: WorkflowId) -> Result<Option<WorkflowRun>, EngineError> {
        Ok(self.store.workflow(org, id).await?)
    }

    /// Run `id` of `org` once it differs from `seen` (any change: a step started, ended or
    /// was undone, the run's status), or as it is after `timeout`; `None` when there is no such
    /// run. What progress streams are made of: call it again with what it returned.
    pub async fn wait_for_change(
        &self,
        org: OrgId,
        id: WorkflowId,
        seen: Option<&WorkflowRun>,
        timeout: Duration,
    ) -> Result<Option<WorkflowRun>, EngineError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.changes.subscribe();
        loop {
            let run = self.store.workflow(org, id).await?;
            let Some(run) = run else { return Ok(None) };
            if seen != Some(&run) || run.status.is_final() || tokio::time::Instant::now() >= deadline {
                return Ok(Some(run));
            }
            // A change recorded here wakes at once; one recorded by another process is seen
            // at the next poll.
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep(self.opts.poll) => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// How long run `run` still needs, from the mean durations of the same steps in the last
    /// runs of its workflow: what is left of the mean of the step running, plus the mean of
    /// each step not started (or, when unwinding, of each undo left). `None` when a step it
    /// needs never ran before, or the run has ended.
    pub async fn estimate_remaining(&self, run: &WorkflowRun) -> Result<Option<Duration>, EngineError> {
        const SAMPLE: u32 = 20;
        if run.status.is_final() {
            return Ok(None);
        }
        let unwinding = run.status == WorkflowStatus::Unwinding;
        let mut left = Duration::ZERO;
        let now = Utc::now();
        for step in &run.steps {
            let counts = if unwinding {
                matches!(step.status, StepStatus::Done | StepStatus::Undoing)
            } else {
                matches!(step.status, StepStatus::Pending | StepStatus::Running)
            };
            if !counts {
                continue;
            }
            let Some(mean) = self.mean_step_millis(&run.kind, &step.name, SAMPLE).await? else {
                return Ok(None);
            };
            let mean = Duration::from_millis(u64::try_from(mean).unwrap_or(0));
            let running = matches!(step.status, StepStatus::Running | StepStatus::Undoing);
            let elapsed = match step.started_at {
                Some(start) if running => (now - start).to_std().unwrap_or_default(),
                _ => Duration::ZERO,
            };
            left += mean.saturating_sub(elapsed);
        }
        Ok(Some(left))
    }

    /// The mean duration of step `name` in the last `sample` runs of workflow `kind`, kept for
    /// [`MEAN_TTL`] once known.
    async fn mean_step_millis(&self, kind: &str, name: &str, sample: u32) -> Result<Option<i64>, EngineError> {
        let key = (kind.to_owned(), name.to_owned());
        let now = std::time::Instant::now();
        if let Ok(means) = self.means.lock()
            && let Some((at, mean)) = means.get(&key)
            && now.duration_since(*at) < MEAN_TTL
        {
            return Ok(Some(*mean));
        }
        let mean = self.store.mean_step_millis(kind, name, sample).await?;
        if let (Some(mean), Ok(mut means)) = (mean, self.means.lock()) {
            means.insert(key, (now, mean));
        }
        Ok(mean)
    }

    /// Takes one run that is ready and drives it until it ends, waits for a retry, or this
    /// worker loses it. `false` when no run was ready.
    pub async fn run_next(&self) -> Result<bool, EngineError> {
        let now = Utc::now();
        let Some(claimed) = self.store.claim_workflow(&self.owner, now, now + self.opts.lease).await? else {
            return Ok(false);
        };
        let id = claimed.id;
        let lost = AtomicBool::new(false);
        // The lease is renewed in the same task as the run is driven: whatever stops one
        // (the process dying included) stops the other.
        let driven = tokio::select! {
            driven = self.drive(claimed, &lost) => driven,
            () = self.heartbeat(id, &lost) => Err(DriveError::Lost),
        };
        match driven {
            Ok(()) | Err(DriveError::Lost) => Ok(true),
            Err(DriveError::Store(e)) => Err(e.into()),
        }
    }

    /// Renews the lease of `id` for as long as it is polled; sets `lost` (and then waits
    /// for the step running to end) when it could not.
    async fn heartbeat(&self, id: WorkflowId, lost: &AtomicBool) {
        loop {
            tokio::time::sleep(self.opts.heartbeat).await;
            let now = Utc::now();
            match self.store.extend_lease(id, &self.owner, now, now + self.opts.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    lost.store(true, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                }
                // The database is away: try again; the lease may still hold.
                Err(e) => tracing::warn!(run = %id, error = %e, "renewing a workflow lease failed"),
            }
        }
    }

    /// Drives a run until it ends, waits for a retry, or another worker has it.
    async fn drive(&self, claimed: Claimed, lost: &AtomicBool) -> Result<(), DriveError> {
        let id = claimed.id;
        let Some(workflow) = self.workflows.get(claimed.kind.as_str()).cloned() else {
            // A run of a workflow this version does not know (started by a newer reef):
            // leave it to a worker that knows it.
            tracing::warn!(run = %id, kind = %claimed.kind, "a run of an unknown workflow was left alone");
            let now = Utc::now();
            self.store.release_workflow(id, &self.owner, now, now + self.opts.lease).await?;
            return Ok(());
        };
        let input: Arc<Value> = Arc::new(serde_json::from_str(&claimed.input).unwrap_or(Value::Null));
        let mut status = claimed.status;
        loop {
            if lost.load(Ordering::Relaxed) {
                return Err(DriveError::Lost);
            }
            let steps = self.store.workflow_steps(id).await?;
            if steps.len() != workflow.steps.len() || steps.iter().zip(&workflow.steps).any(|(s, w)| s.name != w.name) {
                let message = format!(
                    "the run's recorded steps do not match workflow {:?} as this version of reef defines it",
                    workflow.kind
                );
                self.set_status(id, WorkflowStatus::Failed, Some(&message), None).await?;
                return Ok(());
            }
            match status {
                WorkflowStatus::Pending | WorkflowStatus::Running => {
                    if let Some(failed) = steps.iter().find(|s| s.status == StepStatus::Failed) {
                        // It failed before the run was marked as unwinding.
                        self.set_status(id, WorkflowStatus::Unwinding, None, Some(&failed.name)).await?;
                        status = WorkflowStatus::Unwinding;
                        continue;
                    }
                    let running = steps.iter().find(|s| s.status == StepStatus::Running);
                    // Cancelling waits for a step that was running (a worker died in it) to
                    // finish: its effect is only known once it did.
                    if running.is_none() && self.store.cancel_requested(id).await? {
                        self.set_status(id, WorkflowStatus::Unwinding, Some("cancelled"), None).await?;
                        status = WorkflowStatus::Unwinding;
                        continue;
                    }
                    let Some(next) = running.or_else(|| steps.iter().find(|s| s.status == StepStatus::Pending)) else {
                        self.set_status(id, WorkflowStatus::Succeeded, None, None).await?;
                        return Ok(());
                    };
                    let step = &workflow.steps[next.index as usize];
                    match self.run_step(id, &input, &steps, next, step).await? {
                        Outcome::Done => {}
                        Outcome::Failed => status = WorkflowStatus::Unwinding,
                        Outcome::Paused => return Ok(()),
                    }
                }
                WorkflowStatus::Unwinding => {
                    let last_done =
                        steps.iter().rev().find(|s| matches!(s.status, StepStatus::Done | StepStatus::Undoing));
                    let Some(target) = last_done else {
                        if let Some(hook) = &workflow.on_unwound {
                            let cx = self.context(id, &input, &steps, 1);
                            match hook(cx).await {
                                Ok(()) => {}
                                Err(e) if e.kind == ErrorKind::Transient => {
                                    tracing::info!(run = %id, error = %e, "after unwinding: failed; it will be retried");
                                    self.retry_later(id, self.opts.retry.attempts).await?;
                                    return Ok(());
                                }
                                Err(e) => {
                                    let message = format!("after unwinding: {e}");
                                    self.set_status(id, WorkflowStatus::Unwinding, Some(&message), None).await?;
                                }
                            }
                        }
                        let end = if self.store.cancel_requested(id).await? {
                            WorkflowStatus::Cancelled
                        } else {
                            WorkflowStatus::Failed
                        };
                        self.set_status(id, end, None, None).await?;
                        return Ok(());
                    };
                    let step = &workflow.steps[target.index as usize];
                    if let Outcome::Paused = self.undo_step(id, &input, &steps, target, step).await? {
                        return Ok(());
                    }
                }
                WorkflowStatus::Succeeded | WorkflowStatus::Failed | WorkflowStatus::Cancelled => {
                    return Ok(());
                }
            }
        }
    }

    fn context(&self, id: WorkflowId, input: &Arc<Value>, steps: &[StepState], attempt: u32) -> StepContext<C> {
        let outputs: BTreeMap<String, Value> = steps
            .iter()
            .filter_map(|s| {
                let out = s.output.as_deref()?;
                Some((s.name.clone(), serde_json::from_str(out).ok()?))
            })
            .collect();
        StepContext { app: self.app.clone(), run: id, attempt, input: input.clone(), outputs: Arc::new(outputs) }
    }

    /// Runs one step.
    async fn run_step(
        &self,
        id: WorkflowId,
        input: &Arc<Value>,
        steps: &[StepState],
        state: &StepState,
        step: &Step<C>,
    ) -> Result<Outcome, DriveError> {
        self.change_step(id, state.index, &StepChange::Started).await?;
        let attempt = state.attempts + 1;
        let cx = self.context(id, input, steps, attempt);
        tracing::info!(run = %id, step = step.name, attempt, "step started");
        match (step.run)(cx).await {
            Ok(output) => {
                if let Some((held, wait)) = self.opts.hold_after
                    && held == step.name
                {
                    tracing::warn!(run = %id, step = step.name, "step done; holding before recording it (fault injection)");
                    tokio::time::sleep(wait).await;
                }
                let output = serde_json::to_string(&output).unwrap_or_else(|_| "null".to_owned());
                self.change_step(id, state.index, &StepChange::Done(output)).await?;
                tracing::info!(run = %id, step = step.name, "step done");
                Ok(Outcome::Done)
            }
            Err(e) if e.kind == ErrorKind::Transient && attempt < self.opts.retry.attempts => {
                tracing::info!(run = %id, step = step.name, attempt, error = %e, "step failed; it will be retried");
                self.change_step(id, state.index, &StepChange::Retrying(e.message)).await?;
                self.retry_later(id, attempt).await?;
                Ok(Outcome::Paused)
            }
            Err(e) => {
                let message = match e.kind {
                    ErrorKind::Transient => format!("{} (gave up after {attempt} attempts)", e.message),
                    ErrorKind::Permanent => e.message,
                };
                tracing::info!(run = %id, step = step.name, error = %message, "step failed; the run unwinds");
                self.change_step(id, state.index, &StepChange::Failed(message.clone())).await?;
                self.set_status(id, WorkflowStatus::Unwinding, Some(&message), Some(step.name)).await?;
                Ok(Outcome::Failed)
            }
        }
    }

    /// Undoes one step.
    async fn undo_step(
        &self,
        id: WorkflowId,
        input: &Arc<Value>,
        steps: &[StepState],
        state: &StepState,
        step: &Step<C>,
    ) -> Result<Outcome, DriveError> {
        let Some(undo) = &step.undo else {
            self.change_step(id, state.index, &StepChange::Undone).await?;
            return Ok(Outcome::Done);
        };
        let output = state.output.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or(Value::Null);
        self.change_step(id, state.index, &StepChange::Undoing).await?;
        let cx = self.context(id, input, steps, state.attempts);
        tracing::info!(run = %id, step = step.name, "undo started");
        match undo(cx, output).await {
            Ok(()) => {
                self.change_step(id, state.index, &StepChange::Undone).await?;
                tracing::info!(run = %id, step = step.name, "undo done");
                Ok(Outcome::Done)
            }
            Err(e) if e.kind == ErrorKind::Transient => {
                // Undos are retried for as long as it takes: giving up leaves things behind.
                tracing::info!(run = %id, step = step.name, error = %e, "undo failed; it will be retried");
                self.change_step(id, state.index, &StepChange::UndoRetrying(e.message)).await?;
                self.retry_later(id, self.opts.retry.attempts).await?;
                Ok(Outcome::Paused)
            }
            Err(e) => {
                let message = format!("undoing step {:?} failed: {}; what it made may be left behind", step.name, e);
                tracing::warn!(run = %id, step = step.name, error = %message, "undo failed for good");
                self.change_step(id, state.index, &StepChange::Failed(message.clone())).await?;
                self.set_status(id, WorkflowStatus::Unwinding, Some(&message), None).await?;
                Ok(Outcome::Failed)
            }
        }
    }

    async fn retry_later(&self, id: WorkflowId, attempt: u32) -> Result<(), DriveError> {
        let now = Utc::now();
        let at = now + self.opts.retry.after(attempt);
        if self.store.release_workflow(id, &self.owner, now, at).await? { Ok(()) } else { Err(DriveError::Lost) }
    }

    async fn change_step(&self, id: WorkflowId, index: u32, change: &StepChange) -> Result<(), DriveError> {
        if self.store.change_step(id, &self.owner, index, change, Utc::now()).await? {
            self.changes.send_modify(|n| *n += 1);
            Ok(())
        } else {
            Err(DriveError::Lost)
        }
    }

    async fn set_status(
        &self,
        id: WorkflowId,
        status: WorkflowStatus,
        error: Option<&str>,
        failed_step: Option<&str>,
    ) -> Result<(), DriveError> {
        let change = StatusChange { status, error, failed_step };
        if self.store.change_workflow_status(id, &self.owner, &change, Utc::now()).await? {
            tracing::info!(run = %id, status = status.as_str(), "run status changed");
            self.changes.send_modify(|n| *n += 1);
            Ok(())
        } else {
            Err(DriveError::Lost)
        }
    }

    /// Starts `count` workers that drive runs until [`Workers::stop`].
    pub fn spawn_workers(self: &Arc<Self>, count: usize) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let handles = (0..count)
            .map(|_| {
                let engine = self.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    while !*stopped.borrow() {
                        let idle = match engine.run_next().await {
                            Ok(true) => false,
                            Ok(false) => true,
                            Err(e) => {
                                tracing::warn!(error = %e, "a workflow worker failed; it goes on");
                                true
                            }
                        };
                        if idle {
                            tokio::select! {
                                () = tokio::time::sleep(engine.opts.poll) => {}
                                () = engine.wake.notified() => {}
                                _ = stopped.changed() => {}
                            }
                        }
                    }
                })
            })
            .collect();
        Workers { stop, handles }
    }
}

/// Running workers; [`Workers::stop`] ends them once their current step is recorded.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Stops the workers, waiting for each to finish what it is doing.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}
