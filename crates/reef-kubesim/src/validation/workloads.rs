//! Pods and what owns them: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and
//! CronJobs, with the rules of `pkg/apis/core/validation` (the pod spec) and of
//! `pkg/apis/apps/validation` and `pkg/apis/batch/validation` (the workloads) that users hit.
//!
//! Fields the apiserver defaults are read with their defaults: a missing `restartPolicy` is
//! `Always`, which is why a Job that names none is refused, as a real apiserver refuses it.
//!
//! Like a real apiserver, a StatefulSet's pod template is checked only for its labels and
//! annotations, not for its containers (the apiserver's validation leaves that as a TODO).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    FieldError, Path, Selection, annotations, array_of, dns1123_label, field, label_selector, labels, nonnegative,
    object_of, same, str_of, without_nulls,
};
use crate::quantity;

/// The restart policies a pod may have, in the order the apiserver lists them.
const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
/// The protocols of a port, in the order the apiserver lists them.
pub(super) const PORT_PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
/// `InclusiveRangeError(1, 65535)`.
pub(super) const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
/// What a selector that does not select its own template's pods is told.
const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// A Pod.
pub(super) fn pod(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = pod_spec(spec, &path);
    // Only a pod itself (not a template) is held to an image without surrounding spaces.
    for (i, c) in array_of(spec, "containers").iter().enumerate() {
        let image = str_of(c, "image");
        if !image.is_empty() && image.trim() != image {
            let p = path.child("containers").index(i).child("image");
            errs.push(FieldError::invalid(&p, &json!(image), "must not have leading or trailing whitespace"));
        }
    }
    errs
}

/// The restart policy of a pod spec, defaulted as the apiserver defaults it.
fn restart_policy(spec: &Value) -> &str {
    match str_of(spec, "restartPolicy") {
        "" => "Always",
        policy => policy,
    }
}

/// `ValidatePodSpec`, for what users get wrong: volumes, containers, init containers and the
/// restart policy.
fn pod_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = volumes(array_of(spec, "volumes"), &path.child("volumes"));
    let containers = array_of(spec, "containers");
    let mut names = BTreeSet::new();
    if containers.is_empty() {
        errs.push(FieldError::required(&path.child("containers"), ""));
    } else {
        errs.extend(container_list(containers, &path.child("containers"), &mut names));
    }
    errs.extend(container_list(array_of(spec, "initContainers"), &path.child("initContainers"), &mut names));
    let policy = restart_policy(spec);
    if !RESTART_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(&path.child("restartPolicy"), &json!(policy), &RESTART_POLICIES));
    }
    errs
}

/// `ValidateVolumes`: each volume has a source and a unique DNS-label name.
fn volumes(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, volume) in list.iter().enumerate() {
        let p = path.index(i);
        let has_source = volume.as_object().is_some_and(|m| m.iter().any(|(k, v)| k != "name" && !v.is_null()));
        if !has_source {
            errs.push(FieldError::required(&p, "must specify a volume type"));
        }
        let name = str_of(volume, "name");
        errs.extend(name_errors(name, &p.child("name")));
        if !name.is_empty() && !names.insert(name) {
            errs.push(FieldError::duplicate(&p.child("name"), &json!(name)));
        }
    }
    errs
}

/// A required DNS-label name.
fn name_errors(name: &str, path: &Path) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    dns1123_label(name).into_iter().map(|m| FieldError::invalid(path, &json!(name), &m)).collect()
}

/// Containers (or init containers): names unique across `names`, an image, valid ports,
/// named environment variables, and requests within limits.
fn container_list(list: &[Value], path: &Path, names: &mut BTreeSet<String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        let name = str_of(c, "name");
        errs.extend(name_errors(name, &p.child("name")));
        if !name.is_empty() && !names.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(&p.child("name"), &json!(name)));
        }
        if str_of(c, "image").is_empty() {
            errs.push(FieldError::required(&p.child("image"), ""));
        }
        errs.extend(container_ports(array_of(c, "ports"), &p.child("ports")));
        for (j, env) in array_of(c, "env").iter().enumerate() {
            if str_of(env, "name").is_empty() {
                errs.push(FieldError::required(&p.child("env").index(j).child("name"), ""));
            }
        }
        errs.extend(requests_within_limits(field(c, "resources"), &p.child("resources")));
    }
    errs
}

/// `validateContainerPorts`.
fn container_ports(ports: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = str_of(port, "name");
        if !name.is_empty() {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| FieldError::invalid(&p.child("name"), &json!(name), &m)));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(&p.child("name"), &json!(name)));
            }
        }
        let container_port = field(port, "containerPort");
        if is_unset(container_port) {
            errs.push(FieldError::required(&p.child("containerPort"), ""));
        }
        for (key, number) in [("containerPort", container_port), ("hostPort", field(port, "hostPort"))] {
            if !is_unset(number) && !number.as_i64().is_some_and(|n| (1..=65535).contains(&n)) {
                errs.push(FieldError::invalid(&p.child(key), number, PORT_RANGE));
            }
        }
        errs.extend(protocol(port, &p.child("protocol")));
    }
    errs
}

/// Whether a port number is absent (or 0, which reads the same).
fn is_unset(number: &Value) -> bool {
    number.is_null() || number.as_i64() == Some(0)
}

/// A port's protocol, when it names one (`TCP` is the default).
pub(super) fn protocol(port: &Value, path: &Path) -> Vec<FieldError> {
    match port.get("protocol").and_then(Value::as_str) {
        Some(p) if !PORT_PROTOCOLS.contains(&p) => vec![FieldError::not_supported(path, &json!(p), &PORT_PROTOCOLS)],
        _ => Vec::new(),
    }
}

/// `IsValidPortName`: an IANA service name.
pub(super) fn port_name(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters".to_owned());
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    errs
}

/// A quantity as written (`"500m"`, `2`), and its value.
fn quantity_of(value: &Value) -> Option<(String, i128)> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    quantity::parse_milli(&text).map(|q| (text, q))
}

/// `ValidateResourceRequirements`: no request above its limit.
fn requests_within_limits(resources: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (Some(requests), Some(limits)) = (object_of(resources, "requests"), object_of(resources, "limits")) else {
        return errs;
    };
    let mut names: Vec<&String> = requests.keys().collect();
    names.sort();
    for name in names {
        let (Some((request, r)), Some((limit, l))) =
            (quantity_of(&requests[name]), limits.get(name).and_then(quantity_of))
        else {
            continue;
        };
        if r > l {
            errs.push(FieldError::invalid(
                &path.child("requests"),
                &json!(request),
                &format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
    errs
}

/// `ValidatePodTemplateSpec`: the template's labels and annotations (reported at
/// `<path>.labels`, as the apiserver reports them) and its pod spec.
fn pod_template(template: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = template_metadata(template, path);
    errs.extend(pod_spec(field(template, "spec"), &path.child("spec")));
    errs
}

fn template_metadata(template: &Value, path: &Path) -> Vec<FieldError> {
    let meta = field(template, "metadata");
    let mut errs = labels(field(meta, "labels"), &path.child("labels"));
    errs.extend(annotations(field(meta, "annotations"), &path.child("annotations")));
    errs
}

fn template_labels(template: &Value) -> &Value {
    field(field(template, "metadata"), "labels")
}

/// The template's labels, when `selection` does not select them.
fn mismatch(selection: &Selection, template: &Value, path: &Path) -> Option<FieldError> {
    let labels = template_labels(template);
    (!selection.matches(labels))
        .then(|| FieldError::invalid(&path.child("metadata").child("labels"), labels, SELECTOR_MISMATCH))
}

/// Whether a selector selects by nothing (`{}`), which workloads may not have.
fn is_empty_selector(selector: &Value) -> bool {
    object_of(selector, "matchLabels").is_none_or(|m| m.is_empty()) && array_of(selector, "matchExpressions").is_empty()
}

/// A workload's `spec.selector`: present, valid and not empty (`what` names the kind in the
/// message). Returns the errors and the selection, when the selector can be read.
fn workload_selector(spec: &Value, path: &Path, what: &str) -> (Vec<FieldError>, Option<Selection>) {
    let selector = field(spec, "selector");
    let p = path.child("selector");
    let mut errs = Vec::new();
    if selector.is_null() {
        errs.push(FieldError::required(&p, ""));
    } else {
        errs.extend(label_selector(selector, &p));
        if is_empty_selector(selector) {
            errs.push(FieldError::invalid(&p, selector, &format!("empty selector is invalid for {what}")));
        }
    }
    (errs, Selection::of(selector))
}

/// The template of a Deployment or ReplicaSet (`ValidatePodTemplateSpecForReplicaSet`).
fn replica_set_template(spec: &Value, path: &Path, selection: &Selection) -> Vec<FieldError> {
    let template = field(spec, "template");
    let tp = path.child("template");
    let mut errs: Vec<FieldError> = mismatch(selection, template, &tp).into_iter().collect();
    errs.extend(pod_template(template, &tp));
    errs.extend(always_restarts(template, &tp, "ReplicaSet"));
    errs
}

/// The rules of a template whose pods run forever: restart policy `Always`, no deadline.
fn always_restarts(template: &Value, path: &Path, kind: &str) -> Vec<FieldError> {
    let spec = field(template, "spec");
    let sp = path.child("spec");
    let mut errs = Vec::new();
    let policy = restart_policy(spec);
    if policy != "Always" {
        errs.push(FieldError::not_supported(&sp.child("restartPolicy"), &json!(policy), &["Always"]));
    }
    if !field(spec, "activeDeadlineSeconds").is_null() {
        errs.push(FieldError::forbidden(
            &sp.child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}

/// The selector and template of a Deployment or ReplicaSet.
fn replicated(spec: &Value, path: &Path) -> Vec<FieldError> {
    let (mut errs, selection) = workload_selector(spec, path, "deployment");
    match selection {
        Some(selection) => errs.extend(replica_set_template(spec, path, &selection)),
        None => {
            errs.push(FieldError::invalid(&path.child("selector"), field(spec, "selector"), "invalid label selector"))
        }
    }
    errs
}

/// A Deployment.
pub(super) fn deployment(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = nonnegative(field(spec, "replicas"), &path.child("replicas"));
    errs.extend(replicated(spec, &path));
    errs.extend(deployment_strategy(field(spec, "strategy"), &path.child("strategy")));
    errs.extend(nonnegative(field(spec, "minReadySeconds"), &path.child("minReadySeconds")));
    errs.extend(nonnegative(field(spec, "revisionHistoryLimit"), &path.child("revisionHistoryLimit")));
    let deadline = field(spec, "progressDeadlineSeconds");
    errs.extend(nonnegative(deadline, &path.child("progressDeadlineSeconds")));
    if let Some(d) = deadline.as_i64()
        && d <= field(spec, "minReadySeconds").as_i64().unwrap_or(0)
    {
        errs.push(FieldError::invalid(
            &path.child("progressDeadlineSeconds"),
            deadline,
            "must be greater than minReadySeconds",
        ));
    }
    errs
}

/// The value of an int-or-percent field, and its errors.
fn int_or_percent(value: &Value, path: &Path) -> (i64, Vec<FieldError>) {
    match value {
        Value::String(s) => {
            match s.strip_suffix('%').filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
                Some(n) => (n.parse().unwrap_or(i64::MAX), Vec::new()),
                None => (
                    0,
                    vec![FieldError::invalid(
                        path,
                        value,
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    )],
                ),
            }
        }
        other => {
            let n = other.as_i64().unwrap_or(0);
            (n, nonnegative(other, path))
        }
    }
}

/// `ValidateDeploymentStrategy`.
fn deployment_strategy(strategy: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let rolling = field(strategy, "rollingUpdate");
    match str_of(strategy, "type") {
        "Recreate" => {
            if !rolling.is_null() {
                errs.push(FieldError::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "" | "RollingUpdate" => {
            let rp = path.child("rollingUpdate");
            let default = json!("25%");
            let unavailable = rolling.get("maxUnavailable").filter(|v| !v.is_null()).unwrap_or(&default);
            let surge = rolling.get("maxSurge").filter(|v| !v.is_null()).unwrap_or(&default);
            let (u, u_errs) = int_or_percent(unavailable, &rp.child("maxUnavailable"));
            let (s, s_errs) = int_or_percent(surge, &rp.child("maxSurge"));
            errs.extend(u_errs);
            errs.extend(s_errs);
            if u == 0 && s == 0 {
                errs.push(FieldError::invalid(
                    &rp.child("maxUnavailable"),
                    unavailable,
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            if unavailable.is_string() && u > 100 {
                errs.push(FieldError::invalid(
                    &rp.child("maxUnavailable"),
                    unavailable,
                    "must not be greater than 100%",
                ));
            }
        }
        _ => errs.push(FieldError::not_supported(path, strategy, &["Recreate", "RollingUpdate"])),
    }
    errs
}

/// A ReplicaSet.
pub(super) fn replica_set(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = nonnegative(field(spec, "replicas"), &path.child("replicas"));
    errs.extend(nonnegative(field(spec, "minReadySeconds"), &path.child("minReadySeconds")));
    errs.extend(replicated(spec, &path));
    errs
}

/// A StatefulSet.
pub(super) fn stateful_set(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = Vec::new();
    let policy = field(spec, "podManagementPolicy");
    if let Some(p) = policy.as_str()
        && !matches!(p, "OrderedReady" | "Parallel")
    {
        errs.push(FieldError::invalid(
            &path.child("podManagementPolicy"),
            policy,
            "must be 'OrderedReady' or 'Parallel'",
        ));
    }
    errs.extend(stateful_set_strategy(field(spec, "updateStrategy"), &path.child("updateStrategy")));
    let retention = field(spec, "persistentVolumeClaimRetentionPolicy");
    for when in ["whenDeleted", "whenScaled"] {
        if let Some(v) = retention.get(when).and_then(Value::as_str)
            && !matches!(v, "Retain" | "Delete")
        {
            let p = path.child("persistentVolumeClaimRetentionPolicy").child(when);
            errs.push(FieldError::not_supported(&p, &json!(v), &["Retain", "Delete"]));
        }
    }
    errs.extend(nonnegative(field(spec, "replicas"), &path.child("replicas")));
    errs.extend(nonnegative(field(spec, "minReadySeconds"), &path.child("minReadySeconds")));
    errs.extend(nonnegative(field(field(spec, "ordinals"), "start"), &path.child("ordinals.start")));
    let (selector_errs, selection) = workload_selector(spec, &path, "statefulset");
    errs.extend(selector_errs);
    let template = field(spec, "template");
    let tp = path.child("template");
    match selection {
        Some(selection) => {
            errs.extend(mismatch(&selection, template, &tp));
            errs.extend(template_metadata(template, &tp));
        }
        None => errs.push(FieldError::invalid(&path.child("selector"), field(spec, "selector"), "")),
    }
    errs.extend(always_restarts(template, &tp, "StatefulSet"));
    errs
}

fn stateful_set_strategy(strategy: &Value, path: &Path) -> Vec<FieldError> {
    let rolling = field(strategy, "rollingUpdate");
    match str_of(strategy, "type") {
        "OnDelete" if !rolling.is_null() => vec![FieldError::invalid(
            &path.child("rollingUpdate"),
            rolling,
            "only allowed for updateStrategy 'RollingUpdate'",
        )],
        "OnDelete" => Vec::new(),
        "" | "RollingUpdate" => {
            nonnegative(field(rolling, "partition"), &path.child("rollingUpdate").child("partition"))
        }
        _ => vec![FieldError::invalid(path, strategy, "must be 'RollingUpdate' or 'OnDelete'")],
    }
}

/// A DaemonSet. Its selector is not required as such: without one it selects nothing, so its
/// template's labels do not match, which is what the apiserver answers.
pub(super) fn daemon_set(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let selector = field(spec, "selector");
    let template = field(spec, "template");
    let tp = path.child("template");
    let mut errs = label_selector(selector, &path.child("selector"));
    if let Some(selection) = Selection::of(selector) {
        errs.extend(mismatch(&selection, template, &tp));
    }
    if !selector.is_null() && is_empty_selector(selector) {
        errs.push(FieldError::invalid(&path.child("selector"), selector, "empty selector is invalid for daemonset"));
    }
    errs.extend(pod_template(template, &tp));
    errs.extend(always_restarts(template, &tp, "DaemonSet"));
    errs.extend(nonnegative(field(spec, "minReadySeconds"), &path.child("minReadySeconds")));
    errs.extend(daemon_set_strategy(field(spec, "updateStrategy"), &path.child("updateStrategy")));
    errs.extend(nonnegative(field(spec, "revisionHistoryLimit"), &path.child("revisionHistoryLimit")));
    errs
}

fn daemon_set_strategy(strategy: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match str_of(strategy, "type") {
        "OnDelete" => {}
        "" | "RollingUpdate" => {
            let rolling = field(strategy, "rollingUpdate");
            if rolling.is_null() {
                return errs;
            }
            let rp = path.child("rollingUpdate");
            let one = json!(1);
            let zero = json!(0);
            let unavailable = rolling.get("maxUnavailable").filter(|v| !v.is_null()).unwrap_or(&one);
            let surge = rolling.get("maxSurge").filter(|v| !v.is_null()).unwrap_or(&zero);
            let (u, u_errs) = int_or_percent(unavailable, &rp.child("maxUnavailable"));
            let (s, s_errs) = int_or_percent(surge, &rp.child("maxSurge"));
            errs.extend(u_errs);
            errs.extend(s_errs);
            match (u != 0, s != 0) {
                (true, true) => errs.push(FieldError::invalid(
                    &rp.child("maxSurge"),
                    surge,
                    "may not be set when maxUnavailable is non-zero",
                )),
                (false, false) => {
                    errs.push(FieldError::required(&rp.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
                }
                _ => {}
            }
        }
        _ => errs.push(FieldError::not_supported(path, strategy, &["RollingUpdate", "OnDelete"])),
    }
    errs
}

/// A Job. Its selector is generated by the apiserver unless `manualSelector` is set, so it is
/// only required then.
pub(super) fn job(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = job_spec(spec, &path);
    if field(spec, "manualSelector").as_bool() == Some(true) {
        let selector = field(spec, "selector");
        if selector.is_null() {
            errs.push(FieldError::required(&path.child("selector"), ""));
        } else {
            errs.extend(label_selector(selector, &path.child("selector")));
        }
        if let Some(selection) = Selection::of(selector) {
            errs.extend(mismatch(&selection, field(spec, "template"), &path.child("template")));
        }
    }
    errs
}

/// `validateJobSpec`: counts, the pod template, and a restart policy of `OnFailure` or
/// `Never`.
fn job_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for count in ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"] {
        errs.extend(nonnegative(field(spec, count), &path.child(count)));
    }
    let template = field(spec, "template");
    let tp = path.child("template");
    errs.extend(pod_template(template, &tp));
    let policy = restart_policy(field(template, "spec"));
    if !matches!(policy, "OnFailure" | "Never") {
        let p = tp.child("spec").child("restartPolicy");
        errs.push(FieldError::not_supported(&p, &json!(policy), &["OnFailure", "Never"]));
    }
    errs
}

/// A CronJob: a schedule that parses, a valid job template, and a name short enough for the
/// Jobs named after it.
pub(super) fn cron_job(obj: &Value) -> Vec<FieldError> {
    let spec = field(obj, "spec");
    let path = Path::new("spec");
    let mut errs = Vec::new();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if name.len() > 52 {
        errs.push(FieldError::invalid(
            &Path::new("metadata").child("name"),
            &json!(name),
            "must be no more than 52 characters",
        ));
    }
    let schedule = str_of(spec, "schedule");
    let sp = path.child("schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required(&sp, ""));
    } else if schedule.contains("TZ") {
        errs.push(FieldError::invalid(
            &sp,
            &json!(schedule),
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
    } else if let Err(e) = crate::cron::Schedule::parse(schedule) {
        errs.push(FieldError::invalid(&sp, &json!(schedule), &e));
    }
    errs.extend(nonnegative(field(spec, "startingDeadlineSeconds"), &path.child("startingDeadlineSeconds")));
    if let Some(policy) = spec.get("concurrencyPolicy").and_then(Value::as_str)
        && !matches!(policy, "Allow" | "Forbid" | "Replace")
    {
        let p = path.child("concurrencyPolicy");
        errs.push(FieldError::not_supported(&p, &json!(policy), &["Allow", "Forbid", "Replace"]));
    }
    let job_path = path.child("jobTemplate").child("spec");
    let job = field(field(spec, "jobTemplate"), "spec");
    errs.extend(job_spec(job, &job_path));
    let selector = field(job, "selector");
    if !selector.is_null() {
        errs.push(FieldError::invalid(&job_path.child("selector"), selector, "`selector` will be auto-generated"));
    }
    if field(job, "manualSelector").as_bool() == Some(true) {
        errs.push(FieldError::not_supported(&job_path.child("manualSelector"), &json!(true), &["nil", "false"]));
    }
    for limit in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        errs.extend(nonnegative(field(spec, limit), &path.child(limit)));
    }
    errs
}

fn spec_field<'a>(obj: &'a Value, name: &str) -> &'a Value {
    field(field(obj, "spec"), name)
}

/// A Deployment's, ReplicaSet's or DaemonSet's selector may not change.
pub(super) fn selector_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let new = spec_field(next, "selector");
    if same(spec_field(current, "selector"), new) {
        Vec::new()
    } else {
        vec![FieldError::immutable(&Path::new("spec").child("selector"), new)]
    }
}

/// The spec fields of a StatefulSet that an update may change.
const STATEFUL_SET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// A StatefulSet's spec may change only in [`STATEFUL_SET_MUTABLE`].
pub(super) fn stateful_set_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let fixed = |obj: &Value| {
        let mut spec = without_nulls(field(obj, "spec"));
        if let Some(m) = spec.as_object_mut() {
            for f in STATEFUL_SET_MUTABLE {
                m.remove(f);
            }
        }
        spec
    };
    if fixed(current) == fixed(next) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        &Path::new("spec"),
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    )]
}

/// What may change in the pod template of a suspended Job that never started: its
/// scheduling directives, labels and annotations.
const SUSPENDED_JOB_MUTABLE: [&str; 6] = [
    "/metadata/labels",
    "/metadata/annotations",
    "/spec/nodeSelector",
    "/spec/tolerations",
    "/spec/affinity",
    "/spec/schedulingGates",
];

/// A Job's selector and pod template may not change (but for the scheduling directives of a
/// suspended Job that never started).
pub(super) fn job_update(current: &Value, next: &Value) -> Vec<FieldError> {
    let path = Path::new("spec");
    let mut errs = selector_update(current, next);
    let new = spec_field(next, "template");
    let never_started = current.pointer("/status/startTime").is_none();
    let suspended = spec_field(current, "suspend").as_bool() == Some(true);
    let comparable = |template: &Value| {
        let mut t = without_nulls(template);
        if suspended && never_started {
            for pointer in SUSPENDED_JOB_MUTABLE {
                let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
                if let Some(m) = t.pointer_mut(parent).and_then(Value::as_object_mut) {
                    m.remove(key);
                }
            }
        }
        t
    };
    if comparable(spec_field(current, "template")) != comparable(new) {
        errs.push(FieldError::immutable(&path.child("template"), new));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create_errors, update_errors};
    use serde_json::{Value, json};

    fn container() -> Value {
        json!({"name": "web", "image": "nginx"})
    }

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container()]}}}})
    }

    #[test]
    fn a_pod_needs_containers() {
        assert_eq!(create_errors("", "pods", json!({"spec": {}})), ["spec.containers: Required value"]);
    }

    #[test]
    fn each_container_needs_a_name_and_an_image_and_names_are_unique() {
        let pod = json!({"spec": {"containers": [{"image": "a"}, {"name": "web"}, {"name": "web", "image": "b"}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.containers[0].name: Required value",
                "spec.containers[1].image: Required value",
                "spec.containers[2].name: Duplicate value: \"web\"",
            ]
        );
    }

    #[test]
    fn container_names_are_dns_labels_and_init_containers_share_them() {
        let pod = json!({"spec": {"containers": [{"name": "Web", "image": "a"}, container()], "initContainers": [{"name": "web", "image": "b"}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.initContainers[0].name: Duplicate value: \"web\"",
            ]
        );
    }

    #[test]
    fn container_ports_are_in_range_with_known_protocols() {
        let pod = json!({"spec": {"containers": [{"name": "web", "image": "a", "ports": [{"containerPort": 70000}, {"name": "http", "containerPort": 80, "protocol": "HTTP"}, {}]}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].ports[2].containerPort: Required value",
            ]
        );
    }

    #[test]
    fn a_request_may_not_exceed_its_limit() {
        let pod = json!({"spec": {"containers": [{"name": "web", "image": "a", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
            ]
        );
    }

    #[test]
    fn volumes_need_a_type_and_unique_names() {
        let pod = json!({"spec": {"containers": [container()], "volumes": [{"name": "data"}, {"name": "data", "emptyDir": {}}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.volumes[0]: Required value: must specify a volume type",
                "spec.volumes[1].name: Duplicate value: \"data\""
            ]
        );
    }

    #[test]
    fn a_pod_restart_policy_is_one_of_three_and_its_image_has_no_spaces() {
        let pod = json!({"spec": {"restartPolicy": "Sometimes", "containers": [{"name": "web", "image": " nginx"}]}});
        assert_eq!(
            create_errors("", "pods", pod),
            [
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace",
            ]
        );
    }

    #[test]
    fn a_deployment_needs_a_selector_that_selects_its_template() {
        let mut d = deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
        assert!(create_errors("apps", "deployments", d.clone()).is_empty());
        d["spec"]["selector"] = Value::Null;
        assert_eq!(
            create_errors("apps", "deployments", d),
            [
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );
        let d = deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "api"}));
        assert_eq!(
            create_errors("apps", "deployments", d),
            [
                "spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`"
            ]
        );
    }

    #[test]
    fn a_deployment_template_needs_containers_and_restarts_always() {
        let d = json!({"spec": {"replicas": -1, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "Never"}}}});
        assert_eq!(
            create_errors("apps", "deployments", d),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.spec.containers: Required value",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
    }

    #[test]
    fn a_deployment_selector_may_not_be_empty_and_its_strategy_is_checked() {
        let mut d = deployment(json!({}), json!({"app": "web"}));
        d["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
        assert_eq!(
            create_errors("apps", "deployments", d),
            [
                "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
            ]
        );
    }

    #[test]
    fn a_replica_set_and_a_daemon_set_check_their_selectors_too() {
        let rs = deployment(json!({"matchLabels": {"tier": "frontend"}}), json!({"tier": "nginx"}));
        assert_eq!(
            create_errors("apps", "replicasets", rs),
            [
                "spec.template.metadata.labels: Invalid value: {\"tier\":\"nginx\"}: `selector` does not match template `labels`"
            ]
        );
        let ds = deployment(Value::Null, json!({"app": "agent"}));
        assert_eq!(
            create_errors("apps", "daemonsets", ds),
            [
                "spec.template.metadata.labels: Invalid value: {\"app\":\"agent\"}: `selector` does not match template `labels`"
            ]
        );
    }

    #[test]
    fn a_stateful_set_needs_a_selector_and_restarts_always() {
        let sts = json!({"spec": {"template": {"metadata": {"labels": {"app": "db"}}, "spec": {"restartPolicy": "OnFailure"}}}});
        assert_eq!(
            create_errors("apps", "statefulsets", sts),
            [
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            ]
        );
    }

    #[test]
    fn a_job_restarts_on_failure_or_never() {
        let job = json!({"spec": {"template": {"spec": {"containers": [container()]}}}});
        assert_eq!(
            create_errors("batch", "jobs", job),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
        let job = json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}});
        assert!(create_errors("batch", "jobs", job).is_empty());
    }

    #[test]
    fn a_cron_job_needs_a_schedule_that_parses_and_a_job_template() {
        assert_eq!(
            create_errors("batch", "cronjobs", json!({"spec": {}})),
            [
                "spec.schedule: Required value",
                "spec.jobTemplate.spec.template.spec.containers: Required value",
                "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
            ]
        );
        let cj = json!({"spec": {"schedule": "*/5 * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [container()]}}}}}});
        assert_eq!(
            create_errors("batch", "cronjobs", cj),
            ["spec.schedule: Invalid value: \"*/5 * * *\": expected exactly 5 fields, found 4: [*/5 * * *]"]
        );
    }

    #[test]
    fn a_cron_job_name_leaves_room_for_its_jobs() {
        let name = "c".repeat(53);
        let cj = json!({"metadata": {"name": name}, "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}}}});
        assert_eq!(
            create_errors("batch", "cronjobs", cj),
            [format!("metadata.name: Invalid value: \"{name}\": must be no more than 52 characters")]
        );
    }

    #[test]
    fn a_deployment_selector_is_immutable() {
        let current = deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "web", "v": "2"}));
        let next = deployment(json!({"matchLabels": {"app": "web", "v": "2"}}), json!({"app": "web", "v": "2"}));
        assert_eq!(
            update_errors("apps", "deployments", current.clone(), next),
            ["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}: field is immutable"]
        );
        let mut scaled = current.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(update_errors("apps", "deployments", current, scaled).is_empty());
    }

    #[test]
    fn a_stateful_set_spec_changes_only_where_allowed() {
        let sts = json!({"spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [container()]}}, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let mut scaled = sts.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert!(update_errors("apps", "statefulsets", sts.clone(), scaled).is_empty());
        let mut bigger = sts.clone();
        bigger["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(
            update_errors("apps", "statefulsets", sts, bigger),
            [
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
    }

    #[test]
    fn a_job_selector_and_template_are_immutable() {
        let job = json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container()]}}}});
        let mut changed = job.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        changed["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
        let errs = update_errors("batch", "jobs", job.clone(), changed);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0], "spec.selector: Invalid value: {\"matchLabels\":{\"a\":\"b\"}}: field is immutable");
        assert!(
            errs[1].starts_with("spec.template: Invalid value: {\"spec\":{\"containers\":[{\"image\":\"nginx:2\""),
            "{errs:?}"
        );
        assert!(errs[1].ends_with(": field is immutable"), "{errs:?}");
        let mut suspended = job.clone();
        suspended["spec"]["suspend"] = json!(true);
        let mut placed = suspended.clone();
        placed["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(update_errors("batch", "jobs", suspended, placed).is_empty());
    }
}
