//! A local EKS for the calls moto does not implement (`UpdateClusterVersion`, `DescribeUpdate`,
//! `UpdateNodegroupVersion`). Every request is checked against EKS's service model
//! (`shared/specs/eks/service-2.json`): its operation found by method and URI, its URI,
//! query-string and body members known to the operation's input shape and of the shape's
//! type, and its required members present; every answer is checked against the output shape
//! the same way. Updates run as EKS runs them: `InProgress` for a few looks, then
//! `Successful` (or `Failed`, when a test asks).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The service model's operations and shapes.
struct Model {
    doc: Value,
}

struct Operation {
    name: String,
    input: String,
    output: Option<String>,
    /// The URI's path, as segments (`{name}` for a variable).
    path: Vec<String>,
}

impl Model {
    fn operations(&self) -> Vec<Operation> {
        let ops = self.doc["operations"].as_object().expect("operations");
        ops.iter()
            .map(|(name, op)| Operation {
                name: name.clone(),
                input: op["input"]["shape"].as_str().unwrap_or_default().to_owned(),
                output: op["output"]["shape"].as_str().map(str::to_owned),
                path: op["http"]["requestUri"]
                    .as_str()
                    .unwrap_or_default()
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
            .filter(|o| !o.input.is_empty() || o.output.is_some())
            .collect()
    }

    fn http_method<'a>(&'a self, op: &str) -> &'a str {
        self.doc["operations"][op]["http"]["method"].as_str().unwrap_or_default()
    }

    fn shape(&self, name: &str) -> &Value {
        &self.doc["shapes"][name]
    }

    /// What is wrong with `value` as a `shape`, at `at`.
    fn check(&self, shape: &str, value: &Value, at: &str, problems: &mut Vec<String>) {
        let s = self.shape(shape);
        match (s["type"].as_str().unwrap_or_default(), value) {
            ("structure", Value::Object(map)) => {
                let members = s["members"].as_object().cloned().unwrap_or_default();
                for (k, v) in map {
                    match members.get(k) {
                        Some(m) => {
                            self.check(m["shape"].as_str().unwrap_or_default(), v, &format!("{at}.{k}"), problems)
                        }
                        None => problems.push(format!("{at}: {k} is not a member of {shape}")),
                    }
                }
            }
            ("list", Value::Array(items)) => {
                let member = s["member"]["shape"].as_str().unwrap_or_default();
                for (i, v) in items.iter().enumerate() {
                    self.check(member, v, &format!("{at}[{i}]"), problems);
                }
            }
            ("map", Value::Object(map)) => {
                let value_shape = s["value"]["shape"].as_str().unwrap_or_default();
                for (k, v) in map {
                    self.check(value_shape, v, &format!("{at}.{k}"), problems);
                }
            }
            ("string", Value::String(text)) => {
                if let Some(allowed) = s["enum"].as_array()
                    && !allowed.iter().any(|a| a == text)
                {
                    problems.push(format!("{at}: {text:?} is not one of {shape}'s values"));
                }
            }
            ("boolean", Value::Bool(_)) | ("timestamp", Value::Number(_) | Value::String(_)) => {}
            ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (kind, v) => problems.push(format!("{at}: {v} is not a {kind} ({shape})")),
        }
    }
}

/// What the stub keeps: clusters (version, status), node groups, updates.
#[derive(Debug, Default)]
pub struct EksState {
    /// Cluster name → (version, status).
    pub clusters: BTreeMap<String, (String, String)>,
    /// (cluster, node group) → version.
    pub node_groups: BTreeMap<(String, String), String>,
    /// Update id → (cluster, node group, target version, looks left before it ends).
    updates: BTreeMap<String, (String, Option<String>, String, u32)>,
    /// Node groups whose upgrade fails.
    pub failing: Vec<String>,
    /// How many of the next requests are refused as throttled, as AWS does under load.
    pub throttle: u32,
    /// Every call, by operation name, in order.
    pub calls: Vec<String>,
    /// What was wrong with a request or an answer.
    pub problems: Vec<String>,
}

#[derive(Clone)]
struct Stub {
    model: Arc<Model>,
    state: Arc<Mutex<EksState>>,
}

/// A running stub.
pub struct EksStub {
    /// Its URL.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<EksState>>,
    _server: tokio::task::JoinHandle<()>,
}

impl EksStub {
    /// Starts a stub on 127.0.0.1; `None` when the service model is not found.
    pub async fn start() -> Option<EksStub> {
        let path = reef_testkit::cloud_specs()?.join("eks/service-2.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        let state = Arc::new(Mutex::new(EksState::default()));
        let stub = Stub { model: Arc::new(Model { doc }), state: state.clone() };
        let app = axum::Router::new().fallback(handle).with_state(stub);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
        let url = format!("http://{}", listener.local_addr().ok()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Some(EksStub { url, state, _server: server })
    }
}

impl Drop for EksStub {
    fn drop(&mut self) {
        self._server.abort();
    }
}

fn error(status: StatusCode, kind: &str, message: String) -> Response {
    (status, [("x-amzn-errortype", kind.to_owned())], axum::Json(json!({"message": message}))).into_response()
}

async fn handle(State(stub): State<Stub>, method: Method, uri: Uri, body: Bytes) -> Response {
    {
        let mut state = stub.state.lock().unwrap();
        if state.throttle > 0 {
            state.throttle -= 1;
            state.calls.push("throttled".to_owned());
            return error(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded".to_owned());
        }
    }
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let ops = stub.model.operations();
    let Some(op) = ops.iter().find(|o| {
        stub.model.http_method(&o.name) == method.as_str()
            && o.path.len() == segments.len()
            && o.path.iter().zip(&segments).all(|(p, s)| p.starts_with('{') || p == s)
    }) else {
        let problem = format!("{method} {}: no EKS operation has this method and URI", uri.path());
        stub.state.lock().unwrap().problems.push(problem.clone());
        return error(StatusCode::NOT_FOUND, "NotFoundException", problem);
    };
    // The request against the input shape.
    let mut problems = Vec::new();
    let input = stub.model.shape(&op.input);
    let members = input["members"].as_object().cloned().unwrap_or_default();
    let mut vars = BTreeMap::new();
    for (p, s) in op.path.iter().zip(&segments) {
        if let Some(var) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            vars.insert(var.trim_end_matches('+').to_owned(), (*s).to_owned());
        }
    }
    let query: BTreeMap<String, String> =
        uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    for key in query.keys() {
        let known = members.values().any(|m| m["location"] == "querystring" && m["locationName"] == key.as_str());
        if !known {
            problems.push(format!("{}: query parameter {key} is not in {}", op.name, op.input));
        }
    }
    let json_body: Value =
        if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    let mut body_only = serde_json::Map::new();
    if let Value::Object(map) = &json_body {
        for (k, v) in map {
            match members.get(k) {
                Some(m) if m.get("location").is_none() => {
                    body_only.insert(k.clone(), v.clone());
                }
                _ => problems.push(format!("{}: body member {k} is not in {}", op.name, op.input)),
            }
        }
    } else {
        problems.push(format!("{}: the body is not a JSON object", op.name));
    }
    stub.model.check(&op.input, &Value::Object(body_only), &op.name, &mut problems);
    for required in input["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let m = &members[required];
        let present = match m["location"].as_str() {
            Some("uri") => vars.contains_key(m["locationName"].as_str().unwrap_or(required)),
            Some("querystring") => query.contains_key(m["locationName"].as_str().unwrap_or(required)),
            _ => json_body.get(required).is_some(),
        };
        if !present {
            problems.push(format!("{}: required member {required} is missing", op.name));
        }
    }
    if !problems.is_empty() {
        let message = problems.join("; ");
        stub.state.lock().unwrap().problems.extend(problems);
        return error(StatusCode::BAD_REQUEST, "InvalidParameterException", message);
    }

    let answer = {
        let mut state = stub.state.lock().unwrap();
        state.calls.push(op.name.clone());
        answer(&mut state, &op.name, &vars, &query, &json_body)
    };
    match answer {
        Ok(body) => {
            let mut problems = Vec::new();
            if let Some(output) = &op.output {
                stub.model.check(output, &body, &format!("{} answer", op.name), &mut problems);
            }
            stub.state.lock().unwrap().problems.extend(problems);
            axum::Json(body).into_response()
        }
        Err(Refusal(status, kind, message)) => error(status, kind, message),
    }
}

/// An error answer: status, EKS's error type, message.
struct Refusal(StatusCode, &'static str, String);

fn update_body(id: &str, status: &str, kind: &str, version: &str, failed: bool) -> Value {
    let mut update = json!({
        "id": id,
        "status": status,
        "type": kind,
        "params": [{"type": "Version", "value": version}],
        "createdAt": 1_800_000_000,
        "errors": [],
    });
    if failed {
        update["errors"] = json!([{"errorCode": "NodeCreationFailure", "errorMessage": "instances failed to join", "resourceIds": []}]);
    }
    json!({ "update": update })
}

fn answer(
    state: &mut EksState,
    op: &str,
    vars: &BTreeMap<String, String>,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> Result<Value, Refusal> {
    let cluster = vars.get("name").cloned().unwrap_or_default();
    let not_found = || {
        Refusal(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("No cluster found for name: {cluster}."))
    };
    match op {
        "DescribeCluster" => {
            let (version, status) = state.clusters.get(&cluster).cloned().ok_or_else(not_found)?;
            Ok(json!({"cluster": {
                "name": cluster, "version": version, "status": status,
                "endpoint": "https://example.eks.amazonaws.com",
                "certificateAuthority": {"data": "Q0E="},
            }}))
        }
        "UpdateClusterVersion" => {
            let version = body["version"].as_str().unwrap_or_default().to_owned();
            let entry = state.clusters.get_mut(&cluster).ok_or_else(not_found)?;
            entry.1 = "UPDATING".to_owned();
            let id = format!("update-{}", state.updates.len() + 1);
            state.updates.insert(id.clone(), (cluster, None, version.clone(), 2));
            Ok(update_body(&id, "InProgress", "VersionUpdate", &version, false))
        }
        "DescribeClusterVersions" => Ok(json!({"clusterVersions": [
            {"clusterVersion": "1.34", "defaultVersion": true, "status": "standard-support", "versionStatus": "STANDARD_SUPPORT"},
            {"clusterVersion": "1.33", "defaultVersion": false, "status": "standard-support", "versionStatus": "STANDARD_SUPPORT"},
            {"clusterVersion": "1.28", "defaultVersion": false, "status": "unsupported", "versionStatus": "UNSUPPORTED"},
        ]})),
        "ListNodegroups" => {
            let groups: Vec<&String> =
                state.node_groups.keys().filter(|(c, _)| *c == cluster).map(|(_, g)| g).collect();
            Ok(json!({ "nodegroups": groups }))
        }
        "DescribeNodegroup" => {
            let group = vars.get("nodegroupName").cloned().unwrap_or_default();
            let version = state.node_groups.get(&(cluster.clone(), group.clone())).cloned().ok_or_else(not_found)?;
            Ok(
                json!({"nodegroup": {"nodegroupName": group, "clusterName": cluster, "version": version, "status": "ACTIVE"}}),
            )
        }
        "UpdateNodegroupVersion" => {
            let group = vars.get("nodegroupName").cloned().unwrap_or_default();
            let version = body["version"].as_str().unwrap_or_default().to_owned();
            let id = format!("update-{}", state.updates.len() + 1);
            state.updates.insert(id.clone(), (cluster, Some(group), version.clone(), 2));
            Ok(update_body(&id, "InProgress", "VersionUpdate", &version, false))
        }
        "DescribeUpdate" => {
            let id = vars.get("updateId").cloned().unwrap_or_default();
            let (c, group, version, left) = state.updates.get(&id).cloned().ok_or_else(not_found)?;
            if group.as_deref() != query.get("nodegroupName").map(String::as_str) {
                return Err(Refusal(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterException",
                    "the update's node group differs".into(),
                ));
            }
            if left > 0 {
                state.updates.insert(id.clone(), (c, group, version.clone(), left - 1));
                return Ok(update_body(&id, "InProgress", "VersionUpdate", &version, false));
            }
            let failed = group.as_ref().is_some_and(|g| state.failing.contains(g));
            if !failed {
                match &group {
                    None => {
                        state.clusters.insert(c, (version.clone(), "ACTIVE".to_owned()));
                    }
                    Some(g) => {
                        state.node_groups.insert((c, g.clone()), version.clone());
                    }
                }
            }
            let status = if failed { "Failed" } else { "Successful" };
            Ok(update_body(&id, status, "VersionUpdate", &version, failed))
        }
        other => {
            Err(Refusal(StatusCode::NOT_IMPLEMENTED, "NotImplemented", format!("the stub does not answer {other}")))
        }
    }
}
