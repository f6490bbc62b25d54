//! Hooks: the chart's documents annotated `helm.sh/hook`, run around an operation as Helm runs
//! them. Those of the event run one by one by weight (then name); each is applied and, for a
//! Job or a Pod, waited for until it ends; its delete policies (`before-hook-creation` unless
//! it has others, `hook-succeeded`, `hook-failed`) say when it is deleted.

use reef_helm::release::Hook;
use reef_kube::{ClusterClient, ObjectRef};

use crate::ready::{condition, job_succeeded};
use crate::{DeployError, Options, Request, object_of, object_ref};

/// Whether a Job or Pod has ended, and how: `Some(true)` succeeded, `Some(false)` failed.
fn ended(object: &serde_json::Value) -> Option<bool> {
    match object["kind"].as_str() {
        Some("Job") if job_succeeded(object) => Some(true),
        Some("Job") => condition(object, "Failed").then_some(false),
        Some("Pod") => match object.pointer("/status/phase").and_then(serde_json::Value::as_str) {
            Some("Succeeded") => Some(true),
            Some("Failed") => Some(false),
            _ => None,
        },
        _ => Some(true),
    }
}

/// Runs the hooks of `event` (`pre-install`, `post-upgrade`, ...); a hook that fails is a
/// `hook_failed` error.
pub(crate) async fn run(
    client: &ClusterClient,
    opts: &Options,
    req: &Request,
    hooks: &[Hook],
    event: &str,
) -> Result<(), DeployError> {
    match run_until_failure(client, opts, req, hooks, event).await?.failed {
        None => Ok(()),
        Some(failed) => Err(DeployError::new("hook_failed", format!("{event} hook {}", failed.describe()))),
    }
}

/// The hooks of one event that ran: those that succeeded, in order, and the one that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    /// The hooks that succeeded, in the order they ran.
    pub passed: Vec<ObjectRef>,
    /// The hook that failed or did not end in time; the hooks after it did not run.
    pub failed: Option<FailedHook>,
    /// Each hook that ran, by its index among the hooks given, with its run as Helm records
    /// it (`last_run`: `started_at`, `completed_at`, `phase`).
    pub(crate) last_runs: Vec<(usize, serde_json::Value)>,
}

/// A hook that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedHook {
    /// The hook's object.
    pub hook: ObjectRef,
    /// Why: `failed`, or that it did not end in time.
    pub reason: String,
}

impl FailedHook {
    fn describe(&self) -> String {
        format!("{} {}", self.hook, self.reason)
    }
}

/// Runs the hooks of `event` one by one until one fails. An error is a failure to run a hook
/// (the cluster refused it), not a hook that ran and failed.
pub(crate) async fn run_until_failure(
    client: &ClusterClient,
    opts: &Options,
    req: &Request,
    hooks: &[Hook],
    event: &str,
) -> Result<HookRun, DeployError> {
    let mut passed = Vec::new();
    let mut last_runs = Vec::new();
    let mut chosen: Vec<(usize, &Hook)> =
        hooks.iter().enumerate().filter(|(_, h)| h.events.iter().any(|e| e == event)).collect();
    chosen.sort_by(|(_, a), (_, b)| a.weight.cmp(&b.weight).then_with(|| a.name.cmp(&b.name)));
    for (index, hook) in chosen {
        let object = object_of(&hook.manifest)
            .map_err(|e| DeployError::new("invalid_manifest", format!("hook {}: {e}", hook.path)))?;
        if object.is_null() {
            continue;
        }
        let policies: Vec<&str> = if hook.delete_policies.is_empty() {
            vec!["before-hook-creation"]
        } else {
            hook.delete_policies.iter().map(String::as_str).collect()
        };
        let target = object_ref(&object, &req.namespace);
        if policies.contains(&"before-hook-creation") {
            client.delete_object(&target).await?;
            client.wait_for_gone(&target, opts.timeout).await?;
        }
        tracing::info!(hook = %target, event, "running a hook");
        let started_at = crate::go_time(chrono::Utc::now());
        let applied = client.apply_object_as(&object, &req.namespace, crate::FIELD_MANAGER).await?;
        let outcome = client
            .wait_for(&applied, "finished", opts.timeout, |o| ended(o).is_some())
            .await
            .map(|o| ended(&o).unwrap_or(true));
        let succeeded = matches!(outcome, Ok(true));
        last_runs.push((
            index,
            serde_json::json!({"started_at": started_at, "completed_at": crate::go_time(chrono::Utc::now()),
                "phase": if succeeded { "Succeeded" } else { "Failed" }}),
        ));
        let policy = if succeeded { "hook-succeeded" } else { "hook-failed" };
        if policies.contains(&policy) {
            client.delete_object(&applied).await?;
        }
        let reason = match outcome {
            Ok(true) => {
                passed.push(applied);
                continue;
            }
            Ok(false) => "failed".to_owned(),
            Err(e) => format!("did not finish: {e}"),
        };
        tracing::info!(hook = %applied, event, reason, "a hook failed");
        return Ok(HookRun { passed, failed: Some(FailedHook { hook: applied, reason }), last_runs });
    }
    Ok(HookRun { passed, failed: None, last_runs })
}
