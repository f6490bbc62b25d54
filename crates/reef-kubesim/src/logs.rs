//! `GET .../pods/{name}/log`: simulated container logs, a few deterministic lines per
//! container (its start, its ports, its readiness) and a heartbeat line per simulated minute
//! of running, with the real server's query parameters and errors.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::status::ApiStatus;

/// How often a running container writes a heartbeat line.
const HEARTBEAT_SECONDS: i64 = 60;

/// The query parameters of a log request.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v).ok().map(|t| t.with_timezone(&Utc))
}

/// Which container a request names, or the real server's 400.
fn pick_container(pod: &Value, asked: Option<&str>) -> Result<String, ApiStatus> {
    let pod_name = s(pod, "/metadata/name");
    let containers = names(pod, "containers");
    let init = names(pod, "initContainers");
    let ephemeral = names(pod, "ephemeralContainers");
    match asked {
        Some(c) => {
            if containers.iter().chain(&init).chain(&ephemeral).any(|n| n == c) {
                Ok(c.to_owned())
            } else {
                let mut message = format!("container {c} is not valid for pod {pod_name}");
                if containers.is_empty() {
                    message = format!("pod {pod_name} has no containers");
                }
                Err(ApiStatus::bad_request(message))
            }
        }
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None if containers.is_empty() => Err(ApiStatus::bad_request(format!("pod {pod_name} has no containers"))),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            Err(ApiStatus::bad_request(message))
        }
    }
}

/// One container's lines up to `until`: (time, text).
fn lines(pod: &Value, container: &str, until: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, String)>, ApiStatus> {
    let pod_name = s(pod, "/metadata/name");
    let spec = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .cloned()
        .unwrap_or(Value::Null);
    let status = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/status/{f}")).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .cloned();
    if s(pod, "/spec/nodeName").is_empty() {
        return Err(ApiStatus::bad_request(format!("pod {pod_name} does not have a host assigned")));
    }
    let Some(status) = status else {
        return Err(ApiStatus::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
        )));
    };
    if let Some(reason) = status.pointer("/state/waiting/reason").and_then(Value::as_str) {
        return Err(ApiStatus::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
        )));
    }
    let fallback = time(s(pod, "/status/startTime")).or_else(|| time(s(pod, "/metadata/creationTimestamp")));
    let running = status.pointer("/state/running/startedAt").and_then(Value::as_str).and_then(time);
    let terminated = status.pointer("/state/terminated");
    let started = running
        .or_else(|| terminated.and_then(|t| t.get("startedAt")).and_then(Value::as_str).and_then(time))
        .or(fallback)
        .unwrap_or(until);
    let finished = terminated.map(|t| {
        (
            t.get("finishedAt").and_then(Value::as_str).and_then(time).unwrap_or(started),
            t.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
        )
    });
    let image = spec.get("image").and_then(Value::as_str).unwrap_or("");
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = vec![(started, format!("{} {container} started: image {image}", stamp(started)))];
    for port in spec.get("ports").and_then(Value::as_array).into_iter().flatten() {
        let number = port.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
        let proto = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        out.push((started, format!("{} {container} listening on :{number}/{proto}", stamp(started))));
    }
    out.push((started, format!("{} {container} ready", stamp(started))));
    let end = finished.map_or(until, |(at, _)| at.min(until));
    let mut beat = 1;
    while started + chrono::Duration::seconds(beat * HEARTBEAT_SECONDS) <= end {
        let at = started + chrono::Duration::seconds(beat * HEARTBEAT_SECONDS);
        out.push((at, format!("{} {container} running for {}s", stamp(at), beat * HEARTBEAT_SECONDS)));
        beat += 1;
    }
    if let Some((at, code)) = finished {
        out.push((at, format!("{} {container} exited with code {code}", stamp(at))));
    }
    Ok(out)
}

fn render(lines: &[(DateTime<Utc>, String)], timestamps: bool) -> String {
    let mut text = String::new();
    for (at, line) in lines {
        if timestamps {
            text.push_str(&at.to_rfc3339_opts(SecondsFormat::Nanos, true));
            text.push(' ');
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The log of one container of `pod`, as the real server answers `GET .../log`.
/// `still_running` tells a following stream whether the pod is still there.
pub fn pod_log(
    pod: &Value,
    opts: &LogOptions,
    still_running: impl Fn() -> bool + Send + 'static,
) -> Result<Response, ApiStatus> {
    let container = pick_container(pod, opts.container.as_deref())?;
    if opts.previous {
        return Err(ApiStatus::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{}\" not found",
            s(pod, "/metadata/name")
        )));
    }
    if let Some(n) = opts.tail_lines.filter(|n| *n < 0) {
        return Err(ApiStatus::bad_request(format!(
            "tailLines: Invalid value: {n}: must be greater than or equal to 0"
        )));
    }
    if let Some(n) = opts.limit_bytes.filter(|n| *n < 1) {
        return Err(ApiStatus::bad_request(format!("limitBytes: Invalid value: {n}: must be greater than 0")));
    }
    let now = Utc::now();
    let mut all = lines(pod, &container, now)?;
    if let Some(n) = opts.tail_lines {
        let keep = usize::try_from(n).unwrap_or(0).min(all.len());
        all.drain(..all.len() - keep);
    }
    let mut text = render(&all, opts.timestamps);
    if let Some(limit) = opts.limit_bytes.and_then(|n| usize::try_from(n).ok())
        && text.len() > limit
    {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let terminated =
        pod.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten().any(|c| {
            c.get("name").and_then(Value::as_str) == Some(&container) && c.pointer("/state/terminated").is_some()
        });
    let body = if opts.follow && !terminated && opts.limit_bytes.is_none() {
        // Follow: what is there, then a heartbeat line per simulated minute while the pod lives.
        let started = lines(pod, &container, now)?.first().map_or(now, |(t, _)| *t);
        let timestamps = opts.timestamps;
        let state = (Some(text), started, (now - started).num_seconds() / HEARTBEAT_SECONDS + 1);
        let stream = futures_util::stream::unfold(state, move |(first, started, beat)| {
            let alive = still_running();
            let container = container.clone();
            async move {
                if let Some(text) = first {
                    return Some((Ok::<Bytes, Infallible>(Bytes::from(text)), (None, started, beat)));
                }
                if !alive {
                    return None;
                }
                let at = started + chrono::Duration::seconds(beat * HEARTBEAT_SECONDS);
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::time::sleep(wait).await;
                let line = format!(
                    "{} {container} running for {}s",
                    at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    beat * HEARTBEAT_SECONDS
                );
                Some((Ok(Bytes::from(render(&[(at, line)], timestamps))), (None, started, beat + 1)))
            }
        });
        Body::from_stream(stream)
    } else {
        Body::from(text)
    };
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(containers: &[&str]) -> Value {
        let cs: Vec<Value> = containers.iter().map(|c| json!({"name": c, "image": format!("{c}:1")})).collect();
        let st: Vec<Value> = containers
            .iter()
            .map(|c| json!({"name": c, "ready": true, "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}))
            .collect();
        json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n", "containers": cs}, "status": {"containerStatuses": st}})
    }

    #[test]
    fn several_containers_need_a_name() {
        let e = pick_container(&pod(&["a", "b"]), None).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "a container name must be specified for pod p, choose one of: [a b]");
        assert_eq!(pick_container(&pod(&["a", "b"]), Some("b")).unwrap(), "b");
        assert_eq!(pick_container(&pod(&["a"]), None).unwrap(), "a");
        assert_eq!(pick_container(&pod(&["a"]), Some("x")).unwrap_err().message, "container x is not valid for pod p");
    }

    #[test]
    fn lines_are_deterministic() {
        let until = time("2024-01-01T00:02:30Z").unwrap();
        let l = lines(&pod(&["a"]), "a", until).unwrap();
        let text: Vec<&str> = l.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            text,
            [
                "2024-01-01T00:00:00Z a started: image a:1",
                "2024-01-01T00:00:00Z a ready",
                "2024-01-01T00:01:00Z a running for 60s",
                "2024-01-01T00:02:00Z a running for 120s",
            ]
        );
    }
}
