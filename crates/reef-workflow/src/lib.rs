//! reef-workflow: long operations as durable workflows.
//!
//! A [`Workflow`] is a list of named steps, each an `async fn` with an optional undo. The
//! [`Engine`] records a run of one (its typed input as JSON, then each step as it starts, ends
//! or is undone, with its output), so that a run survives its process: whichever worker holds
//! the run's lease drives it, and a worker that dies leaves the run to be taken over once its
//! lease expires. Several processes on one PostgreSQL share the runs (`FOR UPDATE SKIP
//! LOCKED`); on SQLite one process runs them.
//!
//! What a step must do, so that a run can always be finished or unwound:
//! - **Be idempotent.** A step may run again after it did its work but before its output was
//!   recorded (its worker died): running it twice must do what running it once does.
//! - **Return an error of the right kind.** [`StepError::transient`] (throttling, a timeout, a
//!   5xx) is retried with backoff; [`StepError::permanent`] (bad input, a missing permission)
//!   ends the run: the steps done so far are undone, latest first.
//! - **Leave its undo enough to go on.** An undo gets the step's recorded output: whatever it
//!   needs to find what the step made belongs there. An undo must be idempotent too.
//!
//! A run is cancelled between steps: the step running finishes, then the run unwinds.
//! [`testing`] holds the two checks every workflow gets: each step run twice, and a failure
//! injected at each step.

mod engine;
pub mod testing;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reef_core::WorkflowId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use engine::{Backoff, Engine, EngineError, EngineOptions, Workers};

/// A future a step returns.
pub type StepFuture<T> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send>>;

type RunFn<C> = Arc<dyn Fn(StepContext<C>) -> StepFuture<Value> + Send + Sync>;
type UndoFn<C> = Arc<dyn Fn(StepContext<C>, Value) -> StepFuture<()> + Send + Sync>;
type HookFn<C> = Arc<dyn Fn(StepContext<C>) -> StepFuture<()> + Send + Sync>;

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// It may pass by itself (throttling, a timeout, a server error): retried with backoff.
    Transient,
    /// It will not (bad input, a permission, a limit): the run fails and unwinds.
    Permanent,
}

/// Why a step (or an undo) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// Whether to retry.
    pub kind: ErrorKind,
    /// What went wrong, for the user: it is recorded and shown as the step's error, so it
    /// must never hold a secret.
    pub message: String,
}

impl StepError {
    /// An error worth retrying.
    pub fn transient(message: impl Into<String>) -> StepError {
        StepError { kind: ErrorKind::Transient, message: message.into() }
    }

    /// An error that ends the run.
    pub fn permanent(message: impl Into<String>) -> StepError {
        StepError { kind: ErrorKind::Permanent, message: message.into() }
    }
}

/// What a step sees: the application's context, the run's input and the outputs of the
/// steps before it.
#[derive(Debug)]
pub struct StepContext<C> {
    /// The application: clients, providers, the store.
    pub app: Arc<C>,
    /// The run.
    pub run: WorkflowId,
    /// Which attempt this is, from 1 (retries and restarts count).
    pub attempt: u32,
    input: Arc<Value>,
    outputs: Arc<BTreeMap<String, Value>>,
}

impl<C> Clone for StepContext<C> {
    fn clone(&self) -> Self {
        StepContext {
            app: self.app.clone(),
            run: self.run,
            attempt: self.attempt,
            input: self.input.clone(),
            outputs: self.outputs.clone(),
        }
    }
}

impl<C> StepContext<C> {
    /// The run's input.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, StepError> {
        T::deserialize(&*self.input).map_err(|e| StepError::permanent(format!("the run's input is not readable: {e}")))
    }

    /// The outputs of the earlier steps, by step name.
    pub fn outputs(&self) -> &BTreeMap<String, Value> {
        &self.outputs
    }

    /// The output of the earlier step `step`.
    pub fn output<T: DeserializeOwned>(&self, step: &str) -> Result<T, StepError> {
        let value = self
            .outputs
            .get(step)
            .ok_or_else(|| StepError::permanent(format!("step {step:?} has no output (it has not run)")))?;
        T::deserialize(value)
            .map_err(|e| StepError::permanent(format!("the output of step {step:?} is not readable: {e}")))
    }
}

/// One step: its name, what it does and how it is undone.
pub struct Step<C> {
    name: &'static str,
    run: RunFn<C>,
    undo: Option<UndoFn<C>>,
}

impl<C> Clone for Step<C> {
    fn clone(&self) -> Self {
        Step { name: self.name, run: self.run.clone(), undo: self.undo.clone() }
    }
}

impl<C> std::fmt::Debug for Step<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step").field("name", &self.name).field("undo", &self.undo.is_some()).finish()
    }
}

impl<C> Step<C> {
    /// The step's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A workflow: a kind (`cluster.create`), its steps, in order, and what to do once a failed
/// or cancelled run has been unwound.
pub struct Workflow<C> {
    kind: &'static str,
    steps: Vec<Step<C>>,
    on_unwound: Option<HookFn<C>>,
}

impl<C> Clone for Workflow<C> {
    fn clone(&self) -> Self {
        Workflow { kind: self.kind, steps: self.steps.clone(), on_unwound: self.on_unwound.clone() }
    }
}

impl<C> std::fmt::Debug for Workflow<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflow").field("kind", &self.kind).field("steps", &self.steps).finish()
    }
}

fn encode<T: Serialize>(step: &str, v: &T) -> Result<Value, StepError> {
    serde_json::to_value(v)
        .map_err(|e| StepError::permanent(format!("the output of step {step:?} is not storable: {e}")))
}

impl<C: Send + Sync + 'static> Workflow<C> {
    /// A workflow with no steps yet.
    pub fn new(kind: &'static str) -> Workflow<C> {
        Workflow { kind, steps: Vec::new(), on_unwound: None }
    }

    /// Sets what runs once a failed or cancelled run's steps are undone, before the run ends:
    /// recording the failure where users look (a cluster's status), whichever step failed,
    /// the first included. Like a step, it must be idempotent; a transient error is retried,
    /// a permanent one is recorded on the run.
    pub fn on_unwound<F, Fut>(mut self, hook: F) -> Workflow<C>
    where
        F: Fn(StepContext<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), StepError>> + Send + 'static,
    {
        self.on_unwound = Some(Arc::new(move |cx| Box::pin(hook(cx))));
        self
    }

    /// The workflow's kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Its steps, in order.
    pub fn steps(&self) -> &[Step<C>] {
        &self.steps
    }

    /// Adds a step with nothing to undo (it only reads, or waits).
    ///
    /// # Panics
    /// When the workflow has a step of that name: step names identify recorded steps.
    pub fn step<T, F, Fut>(self, name: &'static str, run: F) -> Workflow<C>
    where
        T: Serialize + 'static,
        F: Fn(StepContext<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, StepError>> + Send + 'static,
    {
        self.push(name, run, None)
    }

    /// Adds a step and its undo, which gets the step's output.
    ///
    /// # Panics
    /// When the workflow has a step of that name.
    pub fn step_with_undo<T, F, Fut, U, UFut>(self, name: &'static str, run: F, undo: U) -> Workflow<C>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: Fn(StepContext<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, StepError>> + Send + 'static,
        U: Fn(StepContext<C>, T) -> UFut + Send + Sync + 'static,
        UFut: Future<Output = Result<(), StepError>> + Send + 'static,
    {
        let undo: UndoFn<C> = Arc::new(move |cx, output| match T::deserialize(&output) {
            Ok(out) => Box::pin(undo(cx, out)),
            Err(e) => {
                let message = format!("the recorded output of step {name:?} is not readable: {e}");
                Box::pin(async move { Err(StepError::permanent(message)) })
            }
        });
        self.push(name, run, Some(undo))
    }

    fn push<T, F, Fut>(mut self, name: &'static str, run: F, undo: Option<UndoFn<C>>) -> Workflow<C>
    where
        T: Serialize + 'static,
        F: Fn(StepContext<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, StepError>> + Send + 'static,
    {
        assert!(self.steps.iter().all(|s| s.name != name), "workflow {}: two steps named {name:?}", self.kind);
        let run: RunFn<C> = Arc::new(move |cx| {
            let fut = run(cx);
            Box::pin(async move { encode(name, &fut.await?) })
        });
        self.steps.push(Step { name, run, undo });
        self
    }
}
