//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`), with the columns the real
//! API server prints for the common kinds, a CRD's `additionalPrinterColumns`, and `Name` and
//! `Age` for everything else.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resource::ResourceType;
use crate::status::ApiStatus;

/// Which `Table` version the client asked for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableVersion {
    V1,
    V1beta1,
}

impl TableVersion {
    fn api_version(self) -> &'static str {
        match self {
            TableVersion::V1 => "meta.k8s.io/v1",
            TableVersion::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// The first media range of `accept` that names a Table (`as=Table;g=meta.k8s.io;v=...`),
/// when it comes before any plain JSON range.
pub fn negotiate(accept: &str) -> Option<TableVersion> {
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let (mut as_, mut g, mut v) = ("", "", "");
        for p in parts {
            match p.split_once('=') {
                Some(("as", x)) => as_ = x,
                Some(("g", x)) => g = x,
                Some(("v", x)) => v = x,
                _ => {}
            }
        }
        if as_.is_empty() {
            if matches!(media.as_str(), "application/json" | "*/*" | "application/*" | "") {
                return None;
            }
            continue;
        }
        if as_ == "Table" && g == "meta.k8s.io" && media == "application/json" {
            match v {
                "v1" => return Some(TableVersion::V1),
                "v1beta1" => return Some(TableVersion::V1beta1),
                _ => {}
            }
        }
    }
    None
}

/// What each row carries as its `object` (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(v: Option<&str>) -> Result<IncludeObject, ApiStatus> {
        match v {
            None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
            Some("None") => Ok(IncludeObject::None),
            Some("Object") => Ok(IncludeObject::Object),
            Some(other) => Err(ApiStatus::bad_request(format!(
                "unable to parse query parameter includeObject: {other:?} is not a valid value: must be one of None, Metadata, Object"
            ))),
        }
    }
}

/// One column: name, type, format, description, priority, and how a cell is computed.
#[derive(Debug)]
struct Column {
    name: String,
    kind: &'static str,
    format: &'static str,
    description: String,
    priority: i64,
    cell: Cell,
}

#[derive(Debug)]
enum Cell {
    Builtin(fn(&Value, DateTime<Utc>) -> Value),
    Path { path: String, kind: String },
}

fn col(
    name: &str,
    kind: &'static str,
    description: &str,
    priority: i64,
    f: fn(&Value, DateTime<Utc>) -> Value,
) -> Column {
    let format = if name == "Name" { "name" } else { "" };
    Column {
        name: name.to_owned(),
        kind,
        format,
        description: description.to_owned(),
        priority,
        cell: Cell::Builtin(f),
    }
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn name_col() -> Column {
    col("Name", "string", NAME_DESC, 0, |o, _| json!(s(o, "/metadata/name")))
}

fn age_col() -> Column {
    col("Age", "string", AGE_DESC, 0, |o, now| json!(age(o.pointer("/metadata/creationTimestamp"), now)))
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn i(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

fn age(v: Option<&Value>, now: DateTime<Utc>) -> String {
    match parse_time(v) {
        Some(t) => human_duration((now - t).num_seconds()),
        None => "<unknown>".to_owned(),
    }
}

/// `duration.HumanDuration` of apimachinery: `45s`, `2m5s`, `3h10m`, `4d`, ...
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let sec = seconds % 60;
        return if sec == 0 { format!("{minutes}m") } else { format!("{minutes}m{sec}s") };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{d}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

fn none_if_empty(v: String) -> Value {
    json!(if v.is_empty() { "<none>".to_owned() } else { v })
}

fn labels_selector(v: Option<&Value>) -> String {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

fn containers(o: &Value) -> Value {
    none_if_empty(arr(o, "/spec/template/spec/containers").iter().map(|c| s(c, "/name")).collect::<Vec<_>>().join(","))
}

fn images(o: &Value) -> Value {
    none_if_empty(arr(o, "/spec/template/spec/containers").iter().map(|c| s(c, "/image")).collect::<Vec<_>>().join(","))
}

fn selector(o: &Value) -> Value {
    none_if_empty(labels_selector(o.pointer("/spec/selector/matchLabels")))
}

/// `listWithMoreString` of the printers: the first three, then `+ N more...`; `<unset>`
/// when there are none.
fn first_three(list: Vec<String>) -> String {
    if list.is_empty() { "<unset>".to_owned() } else { three_and_more(&list) }
}

/// The first three of `list`, comma-separated, then `+ N more...` for the rest.
fn three_and_more(list: &[String]) -> String {
    if list.len() > 3 { format!("{} + {} more...", list[..3].join(","), list.len() - 3) } else { list.join(",") }
}

/// `formatEndpoints` of the printers: `ip:port` for each ready address and port, the first
/// three, then `+ N more...`; `<none>` without subsets.
fn endpoints_cell(o: &Value) -> String {
    let subsets = arr(o, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    let mut all = Vec::new();
    for subset in subsets {
        let ips: Vec<&str> = arr(subset, "/addresses").iter().map(|a| s(a, "/ip")).collect();
        let ports = arr(subset, "/ports");
        if ports.is_empty() {
            all.extend(ips.iter().map(|ip| (*ip).to_owned()));
        }
        for port in ports {
            all.extend(ips.iter().map(|ip| {
                let host = if ip.contains(':') { format!("[{ip}]") } else { (*ip).to_owned() };
                format!("{host}:{}", i(port, "/port"))
            }));
        }
    }
    three_and_more(&all)
}

/// A node's first address of `kind` (`InternalIP`), or `<none>`.
fn node_address(o: &Value, kind: &str) -> Value {
    none_if_empty(
        arr(o, "/status/addresses")
            .iter()
            .find(|a| a["type"] == kind)
            .map(|a| s(a, "/address"))
            .unwrap_or("")
            .to_owned(),
    )
}

fn pod_status(o: &Value) -> String {
    let mut reason = s(o, "/status/reason").to_owned();
    if reason.is_empty() {
        reason = s(o, "/status/phase").to_owned();
    }
    for c in arr(o, "/status/containerStatuses") {
        if let Some(r) = c.pointer("/state/waiting/reason").and_then(Value::as_str).filter(|r| !r.is_empty()) {
            reason = r.to_owned();
        } else if let Some(t) = c.pointer("/state/terminated")
            && reason != "Succeeded"
            && s(o, "/status/phase") != "Succeeded"
        {
            reason = match t.get("reason").and_then(Value::as_str) {
                Some(r) if !r.is_empty() => r.to_owned(),
                _ => format!("ExitCode:{}", i(t, "/exitCode")),
            };
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".to_owned();
    }
    if reason.is_empty() { "Pending".to_owned() } else { reason }
}

fn job_status(o: &Value) -> &'static str {
    let cond = |t: &str| arr(o, "/status/conditions").iter().any(|c| c["type"] == t && c["status"] == "True");
    if cond("Complete") {
        "Complete"
    } else if cond("Failed") {
        "Failed"
    } else if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if cond("Suspended") {
        "Suspended"
    } else if cond("FailureTarget") {
        "FailureTarget"
    } else if cond("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

fn service_ports(o: &Value) -> String {
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", i(p, "/port")),
                _ => format!("{}/{proto}", i(p, "/port")),
            }
        })
        .collect();
    if ports.is_empty() { "<none>".to_owned() } else { ports.join(",") }
}

fn service_external_ip(o: &Value) -> String {
    let external: Vec<&str> = arr(o, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    let ingress: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| i.get("ip").or(i.get("hostname")).and_then(Value::as_str))
        .collect();
    match s(o, "/spec/type") {
        "ExternalName" => s(o, "/spec/externalName").to_owned(),
        "LoadBalancer" => {
            let all: Vec<&str> = ingress.iter().chain(external.iter()).copied().collect();
            if all.is_empty() { "<pending>".to_owned() } else { all.join(",") }
        }
        _ if !external.is_empty() => external.join(","),
        _ => "<none>".to_owned(),
    }
}

/// The columns for `t`; `crd_columns` are a CRD version's `additionalPrinterColumns`.
fn columns(t: &ResourceType, crd_columns: Option<&[Value]>) -> Vec<Column> {
    let builtin = matches!(
        t.group.as_str(),
        "" | "apps"
            | "batch"
            | "discovery.k8s.io"
            | "networking.k8s.io"
            | "rbac.authorization.k8s.io"
            | "storage.k8s.io"
    );
    let key = if builtin { t.kind.as_str() } else { "" };
    match key {
        "Pod" => vec![
            name_col(),
            col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0, |o, _| {
                let statuses = arr(o, "/status/containerStatuses");
                let ready = statuses.iter().filter(|c| c["ready"] == true).count();
                json!(format!("{ready}/{}", arr(o, "/spec/containers").len()))
            }),
            col("Status", "string", "The aggregate status of the containers in this pod.", 0, |o, _| {
                json!(pod_status(o))
            }),
            col(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
                |o, _| {
                    json!(
                        arr(o, "/status/containerStatuses")
                            .iter()
                            .map(|c| i(c, "/restartCount"))
                            .sum::<i64>()
                            .to_string()
                    )
                },
            ),
            age_col(),
            col(
                "IP",
                "string",
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                1,
                |o, _| none_if_empty(s(o, "/status/podIP").to_owned()),
            ),
            col("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1, |o, _| {
                none_if_empty(s(o, "/spec/nodeName").to_owned())
            }),
            col(
                "Nominated Node",
                "string",
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
                1,
                |o, _| none_if_empty(s(o, "/status/nominatedNodeName").to_owned()),
            ),
            col(
                "Readiness Gates",
                "string",
                "If specified, all readiness gates will be evaluated for pod readiness.",
                1,
                |o, _| {
                    let gates = arr(o, "/spec/readinessGates");
                    if gates.is_empty() {
                        return json!("<none>");
                    }
                    let ok = gates
                        .iter()
                        .filter(|g| {
                            arr(o, "/status/conditions")
                                .iter()
                                .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
                        })
                        .count();
                    json!(format!("{ok}/{}", gates.len()))
                },
            ),
        ],
        "Deployment" => vec![
            name_col(),
            col("Ready", "string", "Number of the pod with ready state", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
                ))
            }),
            col(
                "Up-to-date",
                "integer",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                0,
                |o, _| json!(i(o, "/status/updatedReplicas")),
            ),
            col(
                "Available",
                "integer",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                0,
                |o, _| json!(i(o, "/status/availableReplicas")),
            ),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| containers(o)),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| images(o)),
            col(
                "Selector",
                "string",
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
                1,
                |o, _| selector(o),
            ),
        ],
        "ReplicaSet" => vec![
            name_col(),
            col("Desired", "integer", "Replicas is the number of desired replicas.", 0, |o, _| {
                json!(o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1))
            }),
            col("Current", "integer", "Replicas is the most recently observed number of replicas.", 0, |o, _| {
                json!(i(o, "/status/replicas"))
            }),
            col("Ready", "integer", "The number of ready replicas for this replica set.", 0, |o, _| {
                json!(i(o, "/status/readyReplicas"))
            }),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| containers(o)),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| images(o)),
            col(
                "Selector",
                "string",
                "Selector is a label query over pods that should match the replica count.",
                1,
                |o, _| selector(o),
            ),
        ],
        "StatefulSet" => vec![
            name_col(),
            col("Ready", "string", "Number of the pod with ready state", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
                ))
            }),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| containers(o)),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| images(o)),
        ],
        "DaemonSet" => vec![
            name_col(),
            col(
                "Desired",
                "integer",
                "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).",
                0,
                |o, _| json!(i(o, "/status/desiredNumberScheduled")),
            ),
            col(
                "Current",
                "integer",
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
                0,
                |o, _| json!(i(o, "/status/currentNumberScheduled")),
            ),
            col(
                "Ready",
                "integer",
                "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
                0,
                |o, _| json!(i(o, "/status/numberReady")),
            ),
            col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod", 0, |o, _| {
                json!(i(o, "/status/updatedNumberScheduled"))
            }),
            col(
                "Available",
                "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
                0,
                |o, _| json!(i(o, "/status/numberAvailable")),
            ),
            col(
                "Node Selector",
                "string",
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
                0,
                |o, _| none_if_empty(labels_selector(o.pointer("/spec/template/spec/nodeSelector"))),
            ),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| containers(o)),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| images(o)),
            col("Selector", "string", "A label query over pods that are managed by the daemon set.", 1, |o, _| {
                selector(o)
            }),
        ],
        "Service" => vec![
            name_col(),
            col("Type", "string", "Type determines how the Service is exposed.", 0, |o, _| {
                json!(o.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP"))
            }),
            col(
                "Cluster-IP",
                "string",
                "clusterIP is the IP address of the service and is usually assigned randomly.",
                0,
                |o, _| none_if_empty(s(o, "/spec/clusterIP").to_owned()),
            ),
            col(
                "External-IP",
                "string",
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
                0,
                |o, _| json!(service_external_ip(o)),
            ),
            col("Port(s)", "string", "The list of ports that are exposed by this service.", 0, |o, _| {
                json!(service_ports(o))
            }),
            age_col(),
            col(
                "Selector",
                "string",
                "Route service traffic to pods with label keys and values matching this selector.",
                1,
                |o, _| none_if_empty(labels_selector(o.pointer("/spec/selector"))),
            ),
        ],
        "Node" => vec![
            name_col(),
            col("Status", "string", "The status of the node", 0, |o, _| {
                let ready = arr(o, "/status/conditions").iter().find(|c| c["type"] == "Ready");
                let mut status = match ready {
                    Some(c) if c["status"] == "True" => "Ready".to_owned(),
                    _ => "NotReady".to_owned(),
                };
                if o.pointer("/spec/unschedulable") == Some(&json!(true)) {
                    status.push_str(",SchedulingDisabled");
                }
                json!(status)
            }),
            col("Roles", "string", "The roles of the node", 0, |o, _| {
                let mut roles: Vec<String> = o
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| {
                        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                            (!role.is_empty()).then(|| role.to_owned())
                        } else if k == "kubernetes.io/role" {
                            v.as_str().filter(|r| !r.is_empty()).map(str::to_owned)
                        } else {
                            None
                        }
                    })
                    .collect();
                roles.sort();
                roles.dedup();
                none_if_empty(roles.join(","))
            }),
            age_col(),
            col("Version", "string", "Kubelet Version reported by the node.", 0, |o, _| {
                json!(s(o, "/status/nodeInfo/kubeletVersion"))
            }),
            col(
                "Internal-IP",
                "string",
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
                1,
                |o, _| node_address(o, "InternalIP"),
            ),
            col(
                "External-IP",
                "string",
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
                1,
                |o, _| node_address(o, "ExternalIP"),
            ),
            col(
                "OS-Image",
                "string",
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                1,
                |o, _| json!(s(o, "/status/nodeInfo/osImage")),
            ),
            col(
                "Kernel-Version",
                "string",
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                1,
                |o, _| json!(s(o, "/status/nodeInfo/kernelVersion")),
            ),
            col(
                "Container-Runtime",
                "string",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
                1,
                |o, _| json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
            ),
        ],
        "Namespace" => vec![
            name_col(),
            col("Status", "string", "The status of the namespace", 0, |o, _| {
                json!(o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Active"))
            }),
            age_col(),
        ],
        "Job" => vec![
            name_col(),
            col("Status", "string", "Status of the job.", 0, |o, _| json!(job_status(o))),
            col(
                "Completions",
                "string",
                "The desired number of successfully finished pods the job should be run with.",
                0,
                |o, _| {
                    let succeeded = i(o, "/status/succeeded");
                    json!(match o.pointer("/spec/completions").and_then(Value::as_i64) {
                        Some(c) => format!("{succeeded}/{c}"),
                        None => {
                            let parallelism = o.pointer("/spec/parallelism").and_then(Value::as_i64).unwrap_or(1);
                            if parallelism > 1 {
                                format!("{succeeded}/1 of {parallelism}")
                            } else {
                                format!("{succeeded}/1")
                            }
                        }
                    })
                },
            ),
            col("Duration", "string", "Time required to complete the job.", 0, |o, now| {
                let Some(start) = parse_time(o.pointer("/status/startTime")) else { return json!("") };
                let end = parse_time(o.pointer("/status/completionTime")).unwrap_or(now);
                json!(human_duration((end - start).num_seconds()))
            }),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| containers(o)),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| images(o)),
            col("Selector", "string", "A label query over pods that should match the pod count.", 1, |o, _| {
                selector(o)
            }),
        ],
        "CronJob" => vec![
            name_col(),
            col(
                "Schedule",
                "string",
                "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
                0,
                |o, _| json!(s(o, "/spec/schedule")),
            ),
            col(
                "Timezone",
                "string",
                "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
                0,
                |o, _| none_if_empty(s(o, "/spec/timeZone").to_owned()),
            ),
            col(
                "Suspend",
                "boolean",
                "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
                0,
                |o, _| json!(o.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false).to_string()),
            ),
            col("Active", "integer", "A list of pointers to currently running jobs.", 0, |o, _| {
                json!(arr(o, "/status/active").len())
            }),
            col(
                "Last Schedule",
                "string",
                "Information when was the last time the job was successfully scheduled.",
                0,
                |o, now| match o.pointer("/status/lastScheduleTime") {
                    Some(t) => json!(age(Some(t), now)),
                    None => json!("<none>"),
                },
            ),
            age_col(),
            col("Containers", "string", "Names of each container in the template.", 1, |o, _| {
                containers(o.pointer("/spec/jobTemplate").unwrap_or(&Value::Null))
            }),
            col("Images", "string", "Images referenced by each container in the template.", 1, |o, _| {
                images(o.pointer("/spec/jobTemplate").unwrap_or(&Value::Null))
            }),
            col("Selector", "string", "A label query over pods that should match the pod count.", 1, |o, _| {
                selector(o.pointer("/spec/jobTemplate").unwrap_or(&Value::Null))
            }),
        ],
        "Endpoints" => vec![
            name_col(),
            col(
                "Endpoints",
                "string",
                "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
                0,
                |o, _| json!(endpoints_cell(o)),
            ),
            age_col(),
        ],
        "EndpointSlice" => vec![
            name_col(),
            col(
                "AddressType",
                "string",
                "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation.",
                0,
                |o, _| json!(s(o, "/addressType")),
            ),
            col(
                "Ports",
                "string",
                "ports specifies the list of network ports exposed by each endpoint in this slice.",
                0,
                |o, _| {
                    let ports: Vec<String> = arr(o, "/ports")
                        .iter()
                        .map(|p| match (p.get("port").and_then(Value::as_i64), p.get("name").and_then(Value::as_str)) {
                            (Some(port), _) => port.to_string(),
                            (None, Some(name)) => name.to_owned(),
                            (None, None) => "*".to_owned(),
                        })
                        .collect();
                    json!(first_three(ports))
                },
            ),
            col(
                "Endpoints",
                "string",
                "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
                0,
                |o, _| {
                    let addresses: Vec<String> = arr(o, "/endpoints")
                        .iter()
                        .flat_map(|e| arr(e, "/addresses").iter().map(|a| a.as_str().unwrap_or("").to_owned()))
                        .collect();
                    json!(first_three(addresses))
                },
            ),
            age_col(),
        ],
        "ConfigMap" => vec![
            name_col(),
            col("Data", "string", "Data contains the configuration data.", 0, |o, _| {
                let n = o.get("data").and_then(Value::as_object).map_or(0, |m| m.len())
                    + o.get("binaryData").and_then(Value::as_object).map_or(0, |m| m.len());
                json!(n)
            }),
            age_col(),
        ],
        "Secret" => vec![
            name_col(),
            col("Type", "string", "Used to facilitate programmatic handling of secret data.", 0, |o, _| {
                json!(o.get("type").and_then(Value::as_str).unwrap_or("Opaque"))
            }),
            col("Data", "string", "Data contains the secret data.", 0, |o, _| {
                json!(o.get("data").and_then(Value::as_object).map_or(0, |m| m.len()))
            }),
            age_col(),
        ],
        "PersistentVolumeClaim" => vec![
            name_col(),
            col("Status", "string", "Phase represents the current phase of PersistentVolumeClaim.", 0, |o, _| {
                json!(if o.pointer("/metadata/deletionTimestamp").is_some() {
                    "Terminating"
                } else {
                    o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending")
                })
            }),
            col(
                "Volume",
                "string",
                "VolumeName is the binding reference to the PersistentVolume backing this claim.",
                0,
                |o, _| json!(s(o, "/spec/volumeName")),
            ),
            col(
                "Capacity",
                "string",
                "Capacity represents the actual resources of the underlying volume.",
                0,
                |o, _| json!(s(o, "/status/capacity/storage")),
            ),
            col(
                "Access Modes",
                "string",
                "AccessModes contains the desired access modes the volume should have.",
                0,
                |o, _| {
                    let modes: Vec<&str> = arr(o, "/status/accessModes")
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|m| match m {
                            "ReadWriteOnce" => "RWO",
                            "ReadOnlyMany" => "ROX",
                            "ReadWriteMany" => "RWX",
                            "ReadWriteOncePod" => "RWOP",
                            other => other,
                        })
                        .collect();
                    json!(modes.join(","))
                },
            ),
            col(
                "StorageClass",
                "string",
                "StorageClassName is the name of the StorageClass required by the claim.",
                0,
                |o, _| json!(s(o, "/spec/storageClassName")),
            ),
            col(
                "VolumeAttributesClass",
                "string",
                "VolumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.",
                0,
                |o, _| none_if_empty(s(o, "/spec/volumeAttributesClassName").to_owned()),
            ),
            age_col(),
            col(
                "VolumeMode",
                "string",
                "volumeMode defines what type of volume is required by the claim.",
                1,
                |o, _| json!(o.pointer("/spec/volumeMode").and_then(Value::as_str).unwrap_or("Filesystem")),
            ),
        ],
        "Event" => vec![
            col("Last Seen", "string", "Time when last event occurred", 0, |o, now| {
                let last = o.pointer("/lastTimestamp").filter(|v| !v.is_null()).or(o.pointer("/eventTime"));
                json!(age(last, now))
            }),
            col(
                "Type",
                "string",
                "Type of this event (Normal, Warning), new types could be added in the future.",
                0,
                |o, _| json!(s(o, "/type")),
            ),
            col(
                "Reason",
                "string",
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
                0,
                |o, _| json!(s(o, "/reason")),
            ),
            col("Object", "string", "The object that this event is about.", 0, |o, _| {
                json!(format!("{}/{}", s(o, "/involvedObject/kind").to_ascii_lowercase(), s(o, "/involvedObject/name")))
            }),
            col("Subobject", "string", "The subobject that this event is about.", 1, |o, _| {
                json!(s(o, "/involvedObject/fieldPath"))
            }),
            col("Source", "string", "The component reporting this event.", 1, |o, _| {
                let c = s(o, "/source/component");
                let h = s(o, "/source/host");
                json!(if h.is_empty() { c.to_owned() } else { format!("{c}, {h}") })
            }),
            col("Message", "string", "A human-readable description of the status of this operation.", 0, |o, _| {
                json!(s(o, "/message"))
            }),
            col("First Seen", "string", "The time at which the event was first recorded.", 1, |o, now| {
                json!(age(o.pointer("/firstTimestamp"), now))
            }),
            col("Count", "string", "The number of times this event has occurred.", 1, |o, _| {
                json!(o.get("count").and_then(Value::as_i64).unwrap_or(1))
            }),
            col("Name", "string", NAME_DESC, 1, |o, _| json!(s(o, "/metadata/name"))),
        ],
        _ => match crd_columns.filter(|c| !c.is_empty()) {
            Some(extra) => {
                let mut cols = vec![name_col()];
                for c in extra {
                    let kind = c.get("type").and_then(Value::as_str).unwrap_or("string").to_owned();
                    let column_type: &'static str = match kind.as_str() {
                        "integer" => "integer",
                        "number" => "number",
                        "boolean" => "boolean",
                        _ => "string",
                    };
                    cols.push(Column {
                        name: s(c, "/name").to_owned(),
                        kind: column_type,
                        format: "",
                        description: c
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or("Custom resource definition column (in JSONPath format): ")
                            .to_owned()
                            + if c.get("description").is_some() { "" } else { s(c, "/jsonPath") },
                        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        cell: Cell::Path { path: s(c, "/jsonPath").to_owned(), kind },
                    });
                }
                cols
            }
            None => vec![name_col(), age_col()],
        },
    }
}

/// A simple JSONPath (`.spec.replicas`, `.status.conditions[0].type`) against `obj`.
fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}').trim_start_matches('$');
    let mut cur = obj;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (field, rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !field.is_empty() {
            cur = cur.get(field)?;
        }
        for index in rest.split('[').filter(|x| !x.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            cur = cur.get(index)?;
        }
    }
    Some(cur)
}

fn cell(column: &Column, obj: &Value, now: DateTime<Utc>) -> Value {
    match &column.cell {
        Cell::Builtin(f) => f(obj, now),
        Cell::Path { path, kind } => match json_path(obj, path) {
            None | Some(Value::Null) => Value::Null,
            Some(v) if kind == "date" => json!(age(Some(v), now)),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v.clone(),
            Some(v) => json!(v.to_string()),
        },
    }
}

/// Builds Tables for one resource type.
#[derive(Debug)]
pub struct Printer {
    columns: Vec<Column>,
    api_version: String,
    kind: String,
    version: TableVersion,
    include: IncludeObject,
}

impl Printer {
    /// A printer for `t`; `crd_columns` are the CRD's `additionalPrinterColumns` for the
    /// served version, when `t` is a custom resource.
    pub fn new(t: &ResourceType, crd_columns: Option<&[Value]>, version: TableVersion, include: IncludeObject) -> Self {
        Printer {
            columns: columns(t, crd_columns),
            api_version: t.api_version(),
            kind: t.kind.clone(),
            version,
            include,
        }
    }

    fn row(&self, obj: &Value, now: DateTime<Utc>) -> Value {
        let cells: Vec<Value> = self.columns.iter().map(|c| cell(c, obj, now)).collect();
        let mut row = json!({"cells": cells});
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Metadata => {
                row["object"] = json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": self.version.api_version(),
                    "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                });
            }
            IncludeObject::Object => {
                let mut full = obj.clone();
                if full.is_object() {
                    full["apiVersion"] = json!(self.api_version);
                    full["kind"] = json!(self.kind);
                }
                row["object"] = full;
            }
        }
        row
    }

    /// A Table of `objects`, with `metadata` (a list's `resourceVersion` and `continue`).
    pub fn table(&self, objects: &[Value], metadata: Value) -> Value {
        let now = Utc::now();
        let defs: Vec<Value> = self
            .columns
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
            })
            .collect();
        let rows: Vec<Value> = objects.iter().map(|o| self.row(o, now)).collect();
        json!({
            "kind": "Table",
            "apiVersion": self.version.api_version(),
            "metadata": metadata,
            "columnDefinitions": defs,
            "rows": rows,
        })
    }

    /// A list answer (`<Kind>List`) as a Table.
    pub fn list(&self, list: &Value) -> Value {
        let items = list.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let mut meta = json!({});
        for key in ["resourceVersion", "continue", "remainingItemCount"] {
            if let Some(v) = list.pointer(&format!("/metadata/{key}")) {
                meta[key] = v.clone();
            }
        }
        self.table(items, meta)
    }

    /// One object as a one-row Table.
    pub fn object(&self, obj: &Value) -> Value {
        let mut meta = json!({});
        if let Some(rv) = obj.pointer("/metadata/resourceVersion") {
            meta["resourceVersion"] = rv.clone();
        }
        self.table(std::slice::from_ref(obj), meta)
    }

    /// A watch event with its object as a one-row Table (BOOKMARK and ERROR events as they are).
    pub fn event(&self, event: &Value) -> Value {
        match event.get("type").and_then(Value::as_str) {
            Some("ADDED" | "MODIFIED" | "DELETED") => {
                let object = event.get("object").cloned().unwrap_or(Value::Null);
                json!({"type": event["type"], "object": self.object(&object)})
            }
            _ => event.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_what_kubectl_get_asks_for() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(kubectl), Some(TableVersion::V1));
        assert_eq!(negotiate("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), Some(TableVersion::V1beta1));
        assert_eq!(negotiate("application/json"), None);
        assert_eq!(negotiate("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"), None);
        assert_eq!(negotiate(""), None);
    }

    #[test]
    fn endpoint_cells_list_three_and_count_the_rest() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(endpoints_cell(&ep), "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...");
        assert_eq!(
            endpoints_cell(&json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]})),
            "[fd00::1]:80"
        );
        assert_eq!(endpoints_cell(&json!({})), "<none>");
        assert_eq!(first_three(vec![]), "<unset>");
        assert_eq!(first_three(vec!["a".into(), "b".into()]), "a,b");
    }

    #[test]
    fn human_durations_match_apimachinery() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 600), "3h10m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400), "3d");
    }

    #[test]
    fn crd_json_paths() {
        let obj = json!({"spec": {"size": 3, "items": [{"n": "a"}]}});
        assert_eq!(json_path(&obj, ".spec.size"), Some(&json!(3)));
        assert_eq!(json_path(&obj, ".spec.items[0].n"), Some(&json!("a")));
        assert_eq!(json_path(&obj, ".spec.missing"), None);
    }
}
