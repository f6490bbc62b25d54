//! The two checks every workflow is put through, and a way to drive runs in tests.
//!
//! - [`each_step_twice`]: every step (and undo) runs twice in a row, as it does when a worker
//!   dies after a step's work but before its output is recorded. The run must still succeed
//!   (or unwind) and leave the world as a normal run does.
//! - [`failing_at`]: step `index` fails for good before doing anything. The run must end
//!   failed with every step before it undone, and nothing left behind.

use std::sync::Arc;
use std::time::Duration;

use reef_core::{OrgId, WorkflowId, WorkflowRun};

use crate::{Engine, EngineError, StepError, Workflow};

/// `workflow` with each step and each undo run twice in a row; the second run's output is
/// the step's.
pub fn each_step_twice<C: Send + Sync + 'static>(workflow: &Workflow<C>) -> Workflow<C> {
    let mut twice = workflow.clone();
    for step in &mut twice.steps {
        let run = step.run.clone();
        step.run = Arc::new(move |cx| {
            let run = run.clone();
            Box::pin(async move {
                run(cx.clone()).await?;
                run(cx).await
            })
        });
        if let Some(undo) = step.undo.clone() {
            step.undo = Some(Arc::new(move |cx, output| {
                let undo = undo.clone();
                Box::pin(async move {
                    undo(cx.clone(), output.clone()).await?;
                    undo(cx, output).await
                })
            }));
        }
    }
    twice
}

/// The message of the failure [`failing_at`] injects.
pub const INJECTED: &str = "injected failure";

/// `workflow` with step `index` failing for good, before doing anything.
///
/// # Panics
/// When the workflow has no step `index`.
pub fn failing_at<C: Send + Sync + 'static>(workflow: &Workflow<C>, index: usize) -> Workflow<C> {
    let mut failing = workflow.clone();
    let step = failing.steps.get_mut(index).unwrap_or_else(|| panic!("workflow {} has no step {index}", workflow.kind));
    step.run = Arc::new(|_| Box::pin(async { Err(StepError::permanent(INJECTED)) }));
    failing
}

/// Drives runs with `engine` until run `id` of `org` has ended, and returns it.
///
/// # Errors
/// When the store fails, or the run has not ended after `limit`.
pub async fn run_to_end<C: Send + Sync + 'static>(
    engine: &Engine<C>,
    org: OrgId,
    id: WorkflowId,
    limit: Duration,
) -> Result<WorkflowRun, String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let run = engine.get(org, id).await.map_err(|e: EngineError| e.to_string())?;
        let run = run.ok_or_else(|| format!("run {id} does not exist"))?;
        if run.status.is_final() {
            return Ok(run);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("run {id} has not ended after {limit:?}: {run:?}"));
        }
        if !engine.run_next().await.map_err(|e| e.to_string())? {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
