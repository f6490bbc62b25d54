//! When a resource is ready, as `helm install --wait` judges it: Deployments available with
//! every replica updated, StatefulSets and DaemonSets rolled out, Jobs complete, PVCs bound,
//! LoadBalancer Services with an address, Pods ready; anything else once it exists.

use std::time::Duration;

use reef_kube::{ClusterClient, ObjectRef};
use serde_json::Value;

use crate::DeployError;

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn condition(v: &Value, kind: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// Whether a Job has completed: its `Complete` condition, or as many pods succeeded as it
/// asks for.
pub(crate) fn job_succeeded(job: &Value) -> bool {
    let completions = job.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
    condition(job, "Complete") || int(job, "/status/succeeded") >= completions
}

/// Why `object` is not ready yet, or `None` when it is.
pub fn readiness(object: &Value) -> Option<String> {
    let kind = object["kind"].as_str().unwrap_or("");
    let observed = int(object, "/status/observedGeneration") >= int(object, "/metadata/generation");
    let replicas = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    match kind {
        "Deployment" => {
            let (updated, available) =
                (int(object, "/status/updatedReplicas"), int(object, "/status/availableReplicas"));
            (!observed || updated < replicas || available < replicas)
                .then(|| format!("{available} of {replicas} replicas available, {updated} updated"))
        }
        "StatefulSet" => {
            let ready = int(object, "/status/readyReplicas");
            let updated = int(object, "/status/updatedReplicas");
            (!observed || ready < replicas || updated < replicas)
                .then(|| format!("{ready} of {replicas} replicas ready, {updated} updated"))
        }
        "DaemonSet" => {
            let want = int(object, "/status/desiredNumberScheduled");
            let ready = int(object, "/status/numberReady");
            let updated = int(object, "/status/updatedNumberScheduled");
            (!observed || ready < want || updated < want).then(|| format!("{ready} of {want} pods ready"))
        }
        "Job" => (!job_succeeded(object)).then(|| {
            let completions = object.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
            format!("{} of {completions} completions", int(object, "/status/succeeded"))
        }),
        "PersistentVolumeClaim" => {
            let phase = object.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
            (phase != "Bound").then(|| format!("{phase}, not Bound"))
        }
        "Service" => {
            let lb = object.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
            let addressed =
                object.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
            (lb && !addressed).then(|| "no load balancer address yet".to_owned())
        }
        "Pod" => {
            let phase = object.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
            (phase != "Succeeded" && !condition(object, "Ready")).then(|| format!("{phase}, not Ready"))
        }
        _ => None,
    }
}

/// Waits until every object of `objects` is ready, within `timeout` in all.
pub(crate) async fn wait_all(
    client: &ClusterClient,
    objects: &[ObjectRef],
    timeout: Duration,
) -> Result<(), DeployError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for o in objects {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        client.wait_for(o, "ready", left, |v| readiness(v).is_none()).await.map_err(|e| {
            if e.code == "timeout" {
                DeployError { code: "timeout", message: e.message, transient: false }
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}
