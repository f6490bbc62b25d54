//! The simulated cluster: nodes from node pools, and the controllers that make workloads
//! behave as on a real cluster: Deployments roll out through ReplicaSets, ReplicaSets,
//! StatefulSets, DaemonSets and Jobs own Pods, CronJobs start Jobs on their schedule, the
//! scheduler places Pods on Nodes by capacity, node selectors and taints (or leaves them Pending
//! with a `FailedScheduling` event), Pods become Running and Ready after a delay, Services get
//! cluster IPs, load-balancer addresses, Endpoints and EndpointSlices, and claims are bound by
//! the default StorageClass.
//!
//! Each pass of [`Controllers::reconcile`] looks at the whole store and makes only the writes
//! that change something, so running it again when nothing changed is free of writes.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::cron::Schedule;
use crate::quantity::parse_milli;
use crate::resource::ResourceType;
use crate::store::{DeleteOptions, Store, WriteOptions};

/// A group of identical simulated nodes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodePool {
    /// The pool's name; nodes are called `<name>-<index>`.
    pub name: String,
    /// How many nodes.
    pub count: u32,
    /// CPU per node, as a quantity (`"4"`).
    #[serde(default = "default_cpu")]
    pub cpu: String,
    /// Memory per node, as a quantity (`"16Gi"`).
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Pods per node.
    #[serde(default = "default_pods")]
    pub pods: u32,
    /// The instance type reported in `node.kubernetes.io/instance-type`.
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// Extra node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints, as Kubernetes writes them (`{"key", "value", "effect"}`).
    #[serde(default)]
    pub taints: Vec<Value>,
}

fn default_cpu() -> String {
    "4".into()
}
fn default_memory() -> String {
    "16Gi".into()
}
fn default_pods() -> u32 {
    110
}
fn default_instance_type() -> String {
    "sim.large".into()
}

impl NodePool {
    /// A pool of `count` default-sized nodes.
    pub fn new(name: &str, count: u32) -> Self {
        NodePool {
            name: name.into(),
            count,
            cpu: default_cpu(),
            memory: default_memory(),
            pods: default_pods(),
            instance_type: default_instance_type(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
        }
    }
}

/// How the simulated cluster behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The node pools.
    pub node_pools: Vec<NodePool>,
    /// How long a scheduled pod takes to become Running and Ready (and a Job's pod to succeed).
    pub pod_ready_delay: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { node_pools: vec![NodePool::new("default", 1)], pod_ready_delay: Duration::from_millis(300) }
    }
}

/// The controllers of one simulated cluster.
#[derive(Debug, Default)]
pub struct Controllers {
    scheduled_at: HashMap<String, Instant>,
    /// Whether the last pass left a pod waiting for its readiness delay: the cluster will
    /// change with time alone, so the next pass must run even if nothing was written.
    waiting: bool,
    next_ip: u32,
    /// When the next CronJob is due: the cluster changes with time then, too.
    wake_at: Option<DateTime<Utc>>,
}

const W: WriteOptions = WriteOptions { dry_run: false, field_manager: None, force: false, strict_fields: false };

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn ns_of(v: &Value) -> Option<&str> {
    v.pointer("/metadata/namespace").and_then(Value::as_str)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A short, stable hash of a pod template, as the Deployment controller names ReplicaSets.
fn template_hash(template: &Value) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10).map(|i| CHARS[((h >> (i * 6)) % CHARS.len() as u64) as usize] as char).collect()
}

fn owner_ref(owner: &Value, kind: &str, api_version: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

fn owned_by<'a>(objects: &'a [Value], owner: &Value) -> Vec<&'a Value> {
    let uid = owner.pointer("/metadata/uid");
    objects
        .iter()
        .filter(|o| {
            o.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|refs| {
                refs.iter().any(|r| r.get("uid") == uid && r.get("controller") == Some(&json!(true)))
            })
        })
        .collect()
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn is_terminating(v: &Value) -> bool {
    v.pointer("/metadata/deletionTimestamp").is_some()
}

fn replicas(v: &Value) -> i64 {
    v.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
}

impl Controllers {
    /// Controllers with no memory of the cluster yet.
    pub fn new() -> Self {
        Controllers::default()
    }

    /// Whether a pass would change something with time alone (a pod waiting to become ready).
    /// When it would not, and neither the store nor the configuration changed since the last
    /// pass, the next pass can be skipped: that is what keeps an idle cluster free.
    pub fn waiting(&self) -> bool {
        self.waiting || self.wake_at.is_some_and(|at| at <= Utc::now())
    }

    /// One pass over the whole cluster.
    pub fn reconcile(&mut self, store: &Store, config: &SimConfig) {
        self.reconcile_at(store, config, Utc::now());
    }

    /// One pass, with `now` as the time CronJobs are scheduled against.
    fn reconcile_at(&mut self, store: &Store, config: &SimConfig, now: DateTime<Utc>) {
        self.waiting = false;
        let reg = store.registry().clone();
        let Some(find) = (|| {
            Some((
                reg.find("", "v1", "nodes")?,
                reg.find("", "v1", "pods")?,
                reg.find("apps", "v1", "deployments")?,
                reg.find("apps", "v1", "replicasets")?,
                reg.find("apps", "v1", "statefulsets")?,
                reg.find("apps", "v1", "daemonsets")?,
                reg.find("batch", "v1", "jobs")?,
                reg.find("batch", "v1", "cronjobs")?,
                reg.find("", "v1", "services")?,
                reg.find("", "v1", "endpoints")?,
                reg.find("discovery.k8s.io", "v1", "endpointslices")?,
                reg.find("", "v1", "persistentvolumeclaims")?,
                reg.find("storage.k8s.io", "v1", "storageclasses")?,
                reg.find("", "v1", "events")?,
            ))
        })() else {
            return;
        };
        let (nodes_t, pods_t, deploy_t, rs_t, sts_t, ds_t, job_t, cj_t, svc_t, ep_t, slice_t, pvc_t, sc_t, ev_t) = find;
        self.nodes(store, &nodes_t, &pods_t, config);
        self.storage(store, &pvc_t, &sc_t);
        self.deployments(store, &deploy_t, &rs_t, &ev_t);
        self.replica_sets(store, &rs_t, &pods_t);
        self.stateful_sets(store, &sts_t, &pods_t);
        self.daemon_sets(store, &ds_t, &pods_t, &nodes_t);
        self.cron_jobs(store, &cj_t, &job_t, &ev_t, now);
        self.jobs(store, &job_t, &pods_t);
        self.pods(store, &pods_t, &nodes_t, &ev_t, config);
        self.services(store, &svc_t);
        self.endpoints(store, &svc_t, &ep_t, &slice_t, &pods_t);
    }

    /// Records an Event about `object`; `what` is the event's type and reason.
    fn event(&self, store: &Store, ev_t: &ResourceType, object: &Value, what: (&str, &str), message: &str) {
        let (event_type, reason) = what;
        let Some(ns) = ns_of(object).or(Some("default")) else { return };
        let name = s(object, "/metadata/name");
        let kind = s(object, "/kind");
        let ev = json!({
            "metadata": {"generateName": format!("{name}.")},
            "involvedObject": {"kind": kind, "name": name, "namespace": ns, "uid": object["metadata"]["uid"], "apiVersion": object["apiVersion"]},
            "reason": reason, "message": message, "type": event_type,
            "source": {"component": "reef-kubesim"},
            "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(), "count": 1,
        });
        let _ = store.create(ev_t, Some(ns), ev, &W);
    }

    fn nodes(&mut self, store: &Store, nodes_t: &ResourceType, pods_t: &ResourceType, config: &SimConfig) {
        let existing = store.all(nodes_t);
        let mut wanted = Vec::new();
        for pool in &config.node_pools {
            for i in 0..pool.count {
                let name = format!("{}-{i}", pool.name);
                wanted.push(name.clone());
                if existing.iter().any(|n| s(n, "/metadata/name") == name) {
                    continue;
                }
                let mut labels = json!({
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": pool.instance_type, "reef.dev/node-pool": pool.name,
                });
                for (k, v) in &pool.labels {
                    labels[k] = json!(v);
                }
                let capacity = json!({"cpu": pool.cpu, "memory": pool.memory, "pods": pool.pods.to_string(), "ephemeral-storage": "100Gi"});
                let node = json!({
                    "metadata": {"name": name, "labels": labels},
                    "spec": {"taints": pool.taints, "podCIDR": format!("10.244.{}.0/24", wanted.len())},
                });
                if let Ok(created) = store.create(nodes_t, None, node, &W) {
                    let mut with_status = created.clone();
                    with_status["status"] = json!({
                        "capacity": capacity, "allocatable": capacity,
                        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()}],
                        "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", wanted.len() + 1)}, {"type": "Hostname", "address": name}],
                        "nodeInfo": {"kubeletVersion": crate::KUBERNETES_VERSION, "containerRuntimeVersion": "sim://1.0", "operatingSystem": "linux", "architecture": "amd64", "osImage": "reef-kubesim", "kernelVersion": "sim", "kubeProxyVersion": crate::KUBERNETES_VERSION, "machineID": "", "systemUUID": "", "bootID": ""},
                    });
                    let _ = store.update(nodes_t, None, &name, with_status, Some("status"), &W);
                }
            }
        }
        // A pool that shrank takes its nodes, and the pods on them, with it.
        for node in &existing {
            let name = s(node, "/metadata/name");
            if node.pointer("/metadata/labels/reef.dev~1node-pool").is_some() && !wanted.iter().any(|w| w == name) {
                let _ = store.delete(nodes_t, None, name, &DeleteOptions::default());
                for pod in store.all(pods_t).iter().filter(|p| s(p, "/spec/nodeName") == name) {
                    let _ = store.delete(pods_t, ns_of(pod), s(pod, "/metadata/name"), &DeleteOptions::default());
                }
            }
        }
    }

    fn storage(&mut self, store: &Store, pvc_t: &ResourceType, sc_t: &ResourceType) {
        if store.get(sc_t, None, "standard").is_err() {
            let sc = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "reef.dev/sim", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
            let _ = store.create(sc_t, None, sc, &W);
        }
        for pvc in store.all(pvc_t) {
            if s(&pvc, "/status/phase") == "Bound" {
                continue;
            }
            let mut next = pvc.clone();
            let size = pvc.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"));
            next["status"] = json!({"phase": "Bound", "accessModes": pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])), "capacity": {"storage": size}});
            let _ = store.update(pvc_t, ns_of(&pvc), s(&pvc, "/metadata/name"), next, Some("status"), &W);
        }
    }

    fn deployments(&mut self, store: &Store, deploy_t: &ResourceType, rs_t: &ResourceType, ev_t: &ResourceType) {
        let all_rs = store.all(rs_t);
        for d in store.all(deploy_t) {
            if is_terminating(&d) {
                continue;
            }
            let ns = ns_of(&d);
            let name = s(&d, "/metadata/name").to_owned();
            let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
            let hash = template_hash(&template);
            let rs_name = format!("{name}-{hash}");
            let want = replicas(&d);
            let owned = owned_by(&all_rs, &d);
            let current = owned.iter().find(|r| s(r, "/metadata/name") == rs_name).map(|r| (*r).clone());
            let current = match current {
                Some(rs) => rs,
                None => {
                    let mut tmpl = template.clone();
                    tmpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                    let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                    selector["matchLabels"]["pod-template-hash"] = json!(hash);
                    let rs = json!({
                        "metadata": {"name": rs_name, "labels": tmpl["metadata"]["labels"], "ownerReferences": [owner_ref(&d, "Deployment", "apps/v1")],
                                     "annotations": {"deployment.kubernetes.io/revision": (owned.len() + 1).to_string()}},
                        "spec": {"replicas": want, "selector": selector, "template": tmpl},
                    });
                    match store.create(rs_t, ns, rs, &W) {
                        Ok(rs) => {
                            self.event(
                                store,
                                ev_t,
                                &d,
                                ("Normal", "ScalingReplicaSet"),
                                &format!("Scaled up replica set {rs_name} to {want}"),
                            );
                            rs
                        }
                        Err(_) => continue,
                    }
                }
            };
            if replicas(&current) != want {
                let mut next = current.clone();
                next["spec"]["replicas"] = json!(want);
                let _ = store.update(rs_t, ns, &rs_name, next, None, &W);
            }
            let new_ready = current.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
            // Old ReplicaSets go to zero once the new one is fully ready: a rolling update.
            let mut total = current.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
            let mut ready = new_ready;
            for old in owned.iter().filter(|r| s(r, "/metadata/name") != rs_name) {
                total += old.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
                ready += old.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
                if new_ready >= want && replicas(old) != 0 {
                    let mut next = (*old).clone();
                    next["spec"]["replicas"] = json!(0);
                    let _ = store.update(rs_t, ns, s(old, "/metadata/name"), next, None, &W);
                }
            }
            let updated = current.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
            let complete = new_ready >= want && total == want;
            let available = ready.min(want.max(ready));
            let generation = d.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
            let old_conditions = d.pointer("/status/conditions").cloned().unwrap_or(json!([]));
            let condition = |t: &str, status: bool, reason: &str, message: String| {
                let prior = old_conditions.as_array().and_then(|a| a.iter().find(|c| c["type"] == t)).cloned();
                let status_s = if status { "True" } else { "False" };
                let since = match prior {
                    Some(p) if p["status"] == status_s && p["reason"] == reason => p["lastTransitionTime"].clone(),
                    _ => json!(now_rfc3339()),
                };
                json!({"type": t, "status": status_s, "reason": reason, "message": message, "lastTransitionTime": since, "lastUpdateTime": since})
            };
            let status = json!({
                "observedGeneration": generation,
                "replicas": total,
                "updatedReplicas": updated,
                "readyReplicas": ready,
                "availableReplicas": available,
                "unavailableReplicas": (want - available).max(0),
                "conditions": [
                    condition("Available", available >= want, if available >= want { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                        if available >= want { "Deployment has minimum availability.".into() } else { "Deployment does not have minimum availability.".into() }),
                    condition("Progressing", true, if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                        if complete { format!("ReplicaSet \"{rs_name}\" has successfully progressed.") } else { format!("ReplicaSet \"{rs_name}\" is progressing.") }),
                ],
            });
            let mut status = status;
            if status["readyReplicas"] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove("readyReplicas");
            }
            if d.get("status") != Some(&status) {
                let mut next = d.clone();
                next["status"] = status;
                let _ = store.update(deploy_t, ns, &name, next, Some("status"), &W);
            }
        }
    }

    /// Makes the owner's pods number `want` (of `candidates`, the pods that may be its);
    /// returns the pods now owned.
    fn ensure_pods(
        &mut self,
        store: &Store,
        pods_t: &ResourceType,
        owner: PodOwner<'_>,
        want: i64,
        candidates: &[Value],
    ) -> Vec<Value> {
        let PodOwner { owner, kind, ordinal, node } = owner;
        let all_pods = candidates;
        let ns = ns_of(owner);
        let owned: Vec<Value> = owned_by(all_pods, owner).into_iter().filter(|p| !is_terminating(p)).cloned().collect();
        let mut owned = owned;
        let owner_name = s(owner, "/metadata/name");
        let template = owner.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let api_version = owner["apiVersion"].as_str().unwrap_or("apps/v1");
        let mut i = 0i64;
        while (owned.len() as i64) < want {
            let mut pod = json!({"metadata": template.get("metadata").cloned().unwrap_or(json!({})), "spec": template.get("spec").cloned().unwrap_or(json!({}))});
            if ordinal {
                let name = loop {
                    let candidate = format!("{owner_name}-{i}");
                    i += 1;
                    if !owned.iter().any(|p| s(p, "/metadata/name") == candidate) {
                        break candidate;
                    }
                };
                pod["metadata"]["name"] = json!(name);
                pod["spec"]["hostname"] = json!(name);
            } else {
                pod["metadata"]["generateName"] = json!(format!("{owner_name}-"));
            }
            pod["metadata"]["ownerReferences"] = json!([owner_ref(owner, kind, api_version)]);
            if let Some(node) = node {
                pod["spec"]["nodeName"] = json!(node);
            }
            if pod.pointer("/spec/containers").is_none() {
                pod["spec"]["containers"] = json!([{"name": "main", "image": "sim"}]);
            }
            match store.create(pods_t, ns, pod, &W) {
                Ok(p) => owned.push(p),
                Err(_) => break,
            }
        }
        if (owned.len() as i64) > want {
            // Newest (or highest ordinal) first.
            owned.sort_by(|a, b| {
                s(b, "/metadata/name")
                    .len()
                    .cmp(&s(a, "/metadata/name").len())
                    .then(s(b, "/metadata/name").cmp(s(a, "/metadata/name")))
            });
            let extra = owned.len() - want.max(0) as usize;
            for pod in owned.drain(..extra) {
                let _ = store.delete(pods_t, ns, s(&pod, "/metadata/name"), &DeleteOptions::default());
            }
        }
        owned
    }

    fn set_status(store: &Store, t: &ResourceType, obj: &Value, status: Value) {
        let mut merged = obj.get("status").cloned().unwrap_or(json!({}));
        crate::patch::merge(&mut merged, &status);
        if obj.get("status") != Some(&merged) {
            let mut next = obj.clone();
            next["status"] = merged;
            let _ = store.update(t, ns_of(obj), s(obj, "/metadata/name"), next, Some("status"), &W);
        }
    }

    fn replica_sets(&mut self, store: &Store, rs_t: &ResourceType, pods_t: &ResourceType) {
        let all_pods = store.all(pods_t);
        for rs in store.all(rs_t) {
            if is_terminating(&rs) {
                continue;
            }
            let want = replicas(&rs);
            let pods = self.ensure_pods(store, pods_t, PodOwner::new(&rs, "ReplicaSet"), want, &all_pods);
            let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
            let generation = rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
            Self::set_status(
                store,
                rs_t,
                &rs,
                json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": generation}),
            );
        }
    }

    fn stateful_sets(&mut self, store: &Store, sts_t: &ResourceType, pods_t: &ResourceType) {
        let all_pods = store.all(pods_t);
        for sts in store.all(sts_t) {
            if is_terminating(&sts) {
                continue;
            }
            let want = replicas(&sts);
            let pods = self.ensure_pods(
                store,
                pods_t,
                PodOwner { ordinal: true, ..PodOwner::new(&sts, "StatefulSet") },
                want,
                &all_pods,
            );
            let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
            let revision = format!(
                "{}-{}",
                s(&sts, "/metadata/name"),
                template_hash(sts.pointer("/spec/template").unwrap_or(&Value::Null))
            );
            let generation = sts.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
            Self::set_status(
                store,
                sts_t,
                &sts,
                json!({"replicas": pods.len(), "readyReplicas": ready, "currentReplicas": pods.len(), "updatedReplicas": pods.len(), "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision, "observedGeneration": generation, "collisionCount": 0}),
            );
        }
    }

    fn daemon_sets(&mut self, store: &Store, ds_t: &ResourceType, pods_t: &ResourceType, nodes_t: &ResourceType) {
        let all_pods = store.all(pods_t);
        let nodes = store.all(nodes_t);
        for ds in store.all(ds_t) {
            if is_terminating(&ds) {
                continue;
            }
            let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
            let eligible: Vec<&Value> = nodes.iter().filter(|n| node_accepts(n, &template["spec"])).collect();
            let owned: Vec<Value> =
                owned_by(&all_pods, &ds).into_iter().filter(|p| !is_terminating(p)).cloned().collect();
            let mut pods = Vec::new();
            for node in &eligible {
                let node_name = s(node, "/metadata/name");
                let on_node: Vec<Value> =
                    owned.iter().filter(|p| s(p, "/spec/nodeName") == node_name).cloned().collect();
                let created = self.ensure_pods(
                    store,
                    pods_t,
                    PodOwner { node: Some(node_name), ..PodOwner::new(&ds, "DaemonSet") },
                    1,
                    &on_node,
                );
                pods.extend(created);
            }
            for stray in
                owned.iter().filter(|p| !eligible.iter().any(|n| s(n, "/metadata/name") == s(p, "/spec/nodeName")))
            {
                let _ = store.delete(pods_t, ns_of(stray), s(stray, "/metadata/name"), &DeleteOptions::default());
            }
            let ready = pods.iter().filter(|p| is_ready(p)).count();
            let generation = ds.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
            Self::set_status(
                store,
                ds_t,
                &ds,
                json!({"desiredNumberScheduled": eligible.len(), "currentNumberScheduled": pods.len(), "updatedNumberScheduled": pods.len(), "numberReady": ready, "numberAvailable": ready, "numberMisscheduled": 0, "observedGeneration": generation}),
            );
        }
    }

    fn jobs(&mut self, store: &Store, job_t: &ResourceType, pods_t: &ResourceType) {
        let all_pods = store.all(pods_t);
        for job in store.all(job_t) {
            if is_terminating(&job) || job.pointer("/status/completionTime").is_some() || job_finished(&job).is_some() {
                continue;
            }
            let completions = job.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
            let parallelism = job.pointer("/spec/parallelism").and_then(Value::as_i64).unwrap_or(1);
            let owned: Vec<&Value> = owned_by(&all_pods, &job);
            let succeeded = owned.iter().filter(|p| s(p, "/status/phase") == "Succeeded").count() as i64;
            let failed = owned.iter().filter(|p| s(p, "/status/phase") == "Failed").count() as i64;
            let active =
                owned.iter().filter(|p| !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")).count() as i64;
            let backoff_limit = job.pointer("/spec/backoffLimit").and_then(Value::as_i64).unwrap_or(6);
            let want_active = (completions - succeeded).min(parallelism).max(0);
            if failed > backoff_limit {
                // Kubernetes' job controller: past the backoff limit the Job fails, and its
                // running pods are left to end.
                let now = now_rfc3339();
                let status = json!({"active": active, "succeeded": succeeded, "failed": failed,
                    "startTime": job.pointer("/status/startTime").cloned().unwrap_or(json!(now)),
                    "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now}]});
                Self::set_status(store, job_t, &job, status);
                continue;
            }
            if active < want_active {
                let running: Vec<Value> = owned
                    .iter()
                    .filter(|p| !matches!(s(p, "/status/phase"), "Succeeded" | "Failed"))
                    .map(|p| (*p).clone())
                    .collect();
                let mut job_for_pods = job.clone();
                job_for_pods["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
                self.ensure_pods(store, pods_t, PodOwner::new(&job_for_pods, "Job"), want_active, &running);
            }
            let mut status = json!({"active": active, "succeeded": succeeded, "startTime": job.pointer("/status/startTime").cloned().unwrap_or(json!(now_rfc3339()))});
            if failed > 0 {
                status["failed"] = json!(failed);
            }
            if succeeded >= completions {
                status["active"] = json!(0);
                status["completionTime"] = json!(now_rfc3339());
                status["conditions"] = json!([{"type": "Complete", "status": "True", "lastProbeTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()}]);
            }
            Self::set_status(store, job_t, &job, status);
        }
    }

    fn pods(
        &mut self,
        store: &Store,
        pods_t: &ResourceType,
        nodes_t: &ResourceType,
        ev_t: &ResourceType,
        config: &SimConfig,
    ) {
        let nodes = store.all(nodes_t);
        let pods = store.all(pods_t);
        let mut used: HashMap<String, (i128, i128, i64)> = HashMap::new();
        for p in pods.iter().filter(|p| !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")) {
            let node = s(p, "/spec/nodeName");
            if !node.is_empty() {
                let (cpu, mem) = requests(p);
                let e = used.entry(node.to_owned()).or_default();
                e.0 += cpu;
                e.1 += mem;
                e.2 += 1;
            }
        }
        self.scheduled_at.retain(|uid, _| pods.iter().any(|p| s(p, "/metadata/uid") == uid));
        for pod in pods {
            if is_terminating(&pod) {
                continue;
            }
            let uid = s(&pod, "/metadata/uid").to_owned();
            let name = s(&pod, "/metadata/name").to_owned();
            let ns = ns_of(&pod).map(str::to_owned);
            let phase = s(&pod, "/status/phase").to_owned();
            if matches!(phase.as_str(), "Succeeded" | "Failed") {
                continue;
            }
            let mut node_name = s(&pod, "/spec/nodeName").to_owned();
            if node_name.is_empty() {
                let (cpu, mem) = requests(&pod);
                let fits = nodes.iter().find(|n| {
                    let u = used.get(s(n, "/metadata/name")).cloned().unwrap_or_default();
                    let cap = |r: &str| {
                        n.pointer(&format!("/status/allocatable/{r}"))
                            .and_then(Value::as_str)
                            .and_then(parse_milli)
                            .unwrap_or(0)
                    };
                    node_accepts(n, &pod["spec"])
                        && u.0 + cpu <= cap("cpu")
                        && u.1 + mem <= cap("memory")
                        && (u.2 + 1) as i128 * 1000 <= cap("pods")
                });
                match fits {
                    Some(n) => {
                        node_name = s(n, "/metadata/name").to_owned();
                        let e = used.entry(node_name.clone()).or_default();
                        e.0 += cpu;
                        e.1 += mem;
                        e.2 += 1;
                        let mut next = pod.clone();
                        next["spec"]["nodeName"] = json!(node_name);
                        if let Ok(p) = store.update(pods_t, ns.as_deref(), &name, next, None, &W) {
                            self.event(
                                store,
                                ev_t,
                                &p,
                                ("Normal", "Scheduled"),
                                &format!("Successfully assigned {}/{name} to {node_name}", ns.as_deref().unwrap_or("")),
                            );
                        }
                        continue;
                    }
                    None => {
                        if pod.pointer("/status/conditions").is_none() {
                            let message = format!(
                                "0/{} nodes are available: insufficient resources or no matching node.",
                                nodes.len()
                            );
                            Self::set_status(
                                store,
                                pods_t,
                                &pod,
                                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastTransitionTime": now_rfc3339()}]}),
                            );
                            self.event(store, ev_t, &pod, ("Warning", "FailedScheduling"), &message);
                        }
                        continue;
                    }
                }
            }
            let since = *self.scheduled_at.entry(uid).or_insert_with(Instant::now);
            let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
            if since.elapsed() < config.pod_ready_delay {
                self.waiting = true;
                if phase.is_empty() {
                    let statuses: Vec<Value> = containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}})).collect();
                    Self::set_status(
                        store,
                        pods_t,
                        &pod,
                        json!({"phase": "Pending", "hostIP": "172.18.0.2", "containerStatuses": statuses,
                        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}]}),
                    );
                }
                continue;
            }
            let job_pod = pod
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|r| r["kind"] == "Job"));
            // A pod that is not restarted (a Job's, or a one-shot pod such as a chart's test)
            // runs its containers to completion: successfully, unless the pod's
            // `sim.reef.dev/exit-code` annotation gives its containers another exit code.
            let one_shot = matches!(s(&pod, "/spec/restartPolicy"), "Never" | "OnFailure");
            if job_pod || one_shot {
                let code = exit_code(&pod);
                let (phase, reason) = if code == 0 { ("Succeeded", "Completed") } else { ("Failed", "Error") };
                let statuses: Vec<Value> = containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false, "restartCount": 0, "state": {"terminated": {"exitCode": code, "reason": reason}}})).collect();
                Self::set_status(
                    store,
                    pods_t,
                    &pod,
                    json!({"phase": phase, "containerStatuses": statuses,
                    "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now_rfc3339()}]}),
                );
                continue;
            }
            if phase != "Running" {
                self.next_ip += 1;
                let ip = format!("10.244.{}.{}", (self.next_ip / 250) % 250, self.next_ip % 250 + 2);
                let started = now_rfc3339();
                let statuses: Vec<Value> = containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": format!("sim://{}", c["image"].as_str().unwrap_or("")), "containerID": "sim://container", "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": started}}})).collect();
                Self::set_status(
                    store,
                    pods_t,
                    &pod,
                    json!({
                        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.2", "startTime": started, "qosClass": "BestEffort",
                        "containerStatuses": statuses,
                        "conditions": [
                            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                            {"type": "ContainersReady", "status": "True", "lastTransitionTime": started},
                            {"type": "Ready", "status": "True", "lastTransitionTime": started},
                        ],
                    }),
                );
            }
        }
    }

    /// Cluster IPs for every Service, and load-balancer addresses for those that ask.
    fn services(&mut self, store: &Store, svc_t: &ResourceType) {
        for (i, svc) in store.all(svc_t).into_iter().enumerate() {
            let ns = ns_of(&svc).map(str::to_owned);
            let name = s(&svc, "/metadata/name").to_owned();
            let mut current = svc.clone();
            // An ExternalName Service is a DNS alias: it gets no cluster IP.
            if svc.pointer("/spec/clusterIP").is_none() && s(&svc, "/spec/type") != "ExternalName" {
                let ip = format!("10.96.{}.{}", (i / 250) % 250, i % 250 + 10);
                current["spec"]["clusterIP"] = json!(ip);
                current["spec"]["clusterIPs"] = json!([ip]);
                if current.pointer("/spec/type").is_none() {
                    current["spec"]["type"] = json!("ClusterIP");
                }
                match store.update(svc_t, ns.as_deref(), &name, current, None, &W) {
                    Ok(v) => current = v,
                    Err(_) => continue,
                }
            }
            if s(&current, "/spec/type") == "LoadBalancer" && current.pointer("/status/loadBalancer/ingress").is_none()
            {
                Self::set_status(
                    store,
                    svc_t,
                    &current,
                    json!({"loadBalancer": {"ingress": [{"ip": format!("172.18.255.{}", i % 250 + 1)}]}}),
                );
            }
        }
    }

    /// The endpoints and endpoint slice controllers: for each Service with a selector, an
    /// Endpoints object of the same name (ready addresses and not-ready ones) and one
    /// EndpointSlice owned by the Service. Endpoints of a Service that is gone are removed.
    fn endpoints(
        &mut self,
        store: &Store,
        svc_t: &ResourceType,
        ep_t: &ResourceType,
        slice_t: &ResourceType,
        pods_t: &ResourceType,
    ) {
        let pods = store.all(pods_t);
        let services = store.all(svc_t);
        let slices = store.all(slice_t);
        for svc in &services {
            let Some(selector) = svc.pointer("/spec/selector").and_then(Value::as_object) else { continue };
            if selector.is_empty() || is_terminating(svc) {
                continue;
            }
            let ns = ns_of(svc);
            let name = s(svc, "/metadata/name");
            let selected: Vec<&Value> = pods
                .iter()
                .filter(|p| {
                    ns_of(p) == ns
                        && !s(p, "/status/podIP").is_empty()
                        && !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")
                        && selector.iter().all(|(k, v)| p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
                })
                .collect();
            let ports = endpoint_ports(svc, selected.first().copied());
            let target_ref = |p: &Value| json!({"kind": "Pod", "name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"], "uid": p["metadata"]["uid"]});
            let address = |p: &Value| json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"], "targetRef": target_ref(p)});
            let ready: Vec<Value> =
                selected.iter().filter(|p| is_ready(p) && !is_terminating(p)).map(|p| address(p)).collect();
            let not_ready: Vec<Value> =
                selected.iter().filter(|p| !is_ready(p) || is_terminating(p)).map(|p| address(p)).collect();
            let mut subset = json!({"ports": ports});
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            let subsets = if selected.is_empty() { json!([]) } else { json!([subset]) };
            match store.get(ep_t, ns, name) {
                Ok(ep) => {
                    if ep.get("subsets") != Some(&subsets) {
                        let mut next = ep.clone();
                        next["subsets"] = subsets;
                        next["metadata"]["annotations"][ENDPOINTS_TRIGGER] = json!(now_rfc3339());
                        let _ = store.update(ep_t, ns, name, next, None, &W);
                    }
                }
                Err(_) => {
                    let ep = json!({"metadata": {"name": name, "labels": svc.pointer("/metadata/labels").cloned().unwrap_or(json!({})), "annotations": {ENDPOINTS_TRIGGER: now_rfc3339()}}, "subsets": subsets});
                    let _ = store.create(ep_t, ns, ep, &W);
                }
            }
            let endpoints: Vec<Value> = selected
                .iter()
                .map(|p| {
                    let ready = is_ready(p) && !is_terminating(p);
                    json!({"addresses": [p["status"]["podIP"]], "conditions": {"ready": ready, "serving": is_ready(p), "terminating": is_terminating(p)}, "nodeName": p["spec"]["nodeName"], "targetRef": target_ref(p)})
                })
                .collect();
            let existing = slices.iter().find(|sl| {
                ns_of(sl) == ns
                    && sl.pointer("/metadata/labels/kubernetes.io~1service-name").and_then(Value::as_str) == Some(name)
                    && sl.pointer("/metadata/labels/endpointslice.kubernetes.io~1managed-by").and_then(Value::as_str)
                        == Some(SLICE_MANAGER)
            });
            match existing {
                Some(slice) => {
                    if slice.get("endpoints") != Some(&json!(endpoints)) || slice.get("ports") != Some(&json!(ports)) {
                        let mut next = slice.clone();
                        next["endpoints"] = json!(endpoints);
                        next["ports"] = json!(ports);
                        let _ = store.update(slice_t, ns, s(slice, "/metadata/name"), next, None, &W);
                    }
                }
                None => {
                    let mut labels = svc.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
                    labels["kubernetes.io/service-name"] = json!(name);
                    labels["endpointslice.kubernetes.io/managed-by"] = json!(SLICE_MANAGER);
                    let slice = json!({
                        "metadata": {"generateName": format!("{name}-"), "labels": labels, "ownerReferences": [owner_ref(svc, "Service", "v1")]},
                        "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
                    });
                    let _ = store.create(slice_t, ns, slice, &W);
                }
            }
        }
        // The Endpoints of a deleted Service go with it (slices go by their owner reference).
        for ep in store.all(ep_t) {
            let managed = ep.pointer("/metadata/annotations").and_then(|a| a.get(ENDPOINTS_TRIGGER)).is_some();
            let name = s(&ep, "/metadata/name");
            let has_service = services.iter().any(|svc| ns_of(svc) == ns_of(&ep) && s(svc, "/metadata/name") == name);
            if managed && !has_service {
                let _ = store.delete(ep_t, ns_of(&ep), name, &DeleteOptions::default());
            }
        }
    }

    /// The CronJob controller: at each scheduled time a Job from the template (the latest
    /// missed time, when several were missed), within the starting deadline, by the
    /// concurrency policy; `status.active`, `lastScheduleTime` and `lastSuccessfulTime`;
    /// finished Jobs beyond the history limits removed.
    fn cron_jobs(
        &mut self,
        store: &Store,
        cj_t: &ResourceType,
        job_t: &ResourceType,
        ev_t: &ResourceType,
        now: DateTime<Utc>,
    ) {
        self.wake_at = None;
        let jobs = store.all(job_t);
        for cj in store.all(cj_t) {
            if is_terminating(&cj) {
                continue;
            }
            let Ok(schedule) = Schedule::parse(s(&cj, "/spec/schedule")) else { continue };
            let owned: Vec<&Value> = owned_by(&jobs, &cj);
            let finished = |j: &Value| job_finished(j).is_some();
            let mut active: Vec<&Value> = owned.iter().copied().filter(|j| !finished(j)).collect();
            let since = timestamp(&cj, "/status/lastScheduleTime")
                .or_else(|| timestamp(&cj, "/metadata/creationTimestamp"))
                .unwrap_or(now);
            let suspended = cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
            let mut last_schedule = timestamp(&cj, "/status/lastScheduleTime");
            let mut created = None;
            if !suspended {
                let due = schedule.latest_run(since, now);
                let deadline = cj.pointer("/spec/startingDeadlineSeconds").and_then(Value::as_i64);
                let too_late = |at: DateTime<Utc>| deadline.is_some_and(|d| now - at > chrono::Duration::seconds(d));
                if let Some(at) = due.filter(|at| !too_late(*at)) {
                    let policy = cj.pointer("/spec/concurrencyPolicy").and_then(Value::as_str).unwrap_or("Allow");
                    if policy == "Forbid" && !active.is_empty() {
                        // Skipped: the time stays due until the running Job finishes, as
                        // the real controller does.
                    } else {
                        if policy == "Replace" {
                            for job in active.drain(..) {
                                let _ = store.delete(job_t, ns_of(job), s(job, "/metadata/name"), &BACKGROUND);
                                self.event(
                                    store,
                                    ev_t,
                                    &cj,
                                    ("Normal", "SuccessfulDelete"),
                                    &format!("Deleted job {}", s(job, "/metadata/name")),
                                );
                            }
                        }
                        match store.create(job_t, ns_of(&cj), job_for(&cj, at), &W) {
                            Ok(job) => {
                                self.event(
                                    store,
                                    ev_t,
                                    &cj,
                                    ("Normal", "SuccessfulCreate"),
                                    &format!("Created job {}", s(&job, "/metadata/name")),
                                );
                                created = Some(job);
                            }
                            Err(e) if e.code == 409 => {}
                            Err(e) => {
                                self.event(
                                    store,
                                    ev_t,
                                    &cj,
                                    ("Warning", "FailedCreate"),
                                    &format!("Error creating job: {}", e.message),
                                );
                            }
                        }
                        last_schedule = Some(at);
                    }
                }
                let next = schedule.next_after(last_schedule.unwrap_or(since).max(now));
                self.wake_at = match (self.wake_at, next) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            active.extend(created.iter());
            self.trim_history(store, job_t, &cj, &owned);
            let reference = |j: &Value| json!({"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"], "namespace": j["metadata"]["namespace"], "uid": j["metadata"]["uid"], "resourceVersion": j["metadata"]["resourceVersion"]});
            let mut status = json!({});
            if !active.is_empty() {
                status["active"] = json!(active.iter().map(|j| reference(j)).collect::<Vec<_>>());
            }
            if let Some(at) = last_schedule {
                status["lastScheduleTime"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            let last_success =
                owned.iter().filter_map(|j| job_finished(j).filter(|(ok, _)| *ok).map(|(_, at)| at)).max();
            if let Some(at) = last_success {
                status["lastSuccessfulTime"] = json!(at);
            }
            if cj.get("status") != Some(&status) {
                let mut next = cj.clone();
                next["status"] = status;
                let _ = store.update(cj_t, ns_of(&cj), s(&cj, "/metadata/name"), next, Some("status"), &W);
            }
        }
    }

    /// Deletes the oldest finished Jobs of a CronJob beyond its history limits.
    fn trim_history(&self, store: &Store, job_t: &ResourceType, cj: &Value, owned: &[&Value]) {
        for (succeeded, limit_field, default_limit) in
            [(true, "/spec/successfulJobsHistoryLimit", 3), (false, "/spec/failedJobsHistoryLimit", 1)]
        {
            let limit = cj.pointer(limit_field).and_then(Value::as_u64).unwrap_or(default_limit) as usize;
            let mut done: Vec<(&Value, String)> = owned
                .iter()
                .filter_map(|j| job_finished(j).filter(|(ok, _)| *ok == succeeded).map(|(_, at)| (*j, at)))
                .collect();
            if done.len() <= limit {
                continue;
            }
            done.sort_by(|a, b| a.1.cmp(&b.1));
            for (job, _) in &done[..done.len() - limit] {
                let _ = store.delete(job_t, ns_of(job), s(job, "/metadata/name"), &BACKGROUND);
            }
        }
    }
}

const BACKGROUND: DeleteOptions = DeleteOptions { dry_run: false, propagation_policy: None };

/// The annotation the endpoints controller sets on the Endpoints it manages.
const ENDPOINTS_TRIGGER: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// The `endpointslice.kubernetes.io/managed-by` value of the slices the controller manages.
const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";

/// The ports of a Service's endpoints: each port's target, a named target port resolved
/// against the container ports of `pod` (the first selected pod).
fn endpoint_ports(svc: &Value, pod: Option<&Value>) -> Vec<Value> {
    let container_port = |port_name: &str| {
        pod.and_then(|p| p.pointer("/spec/containers").and_then(Value::as_array))
            .into_iter()
            .flatten()
            .flat_map(|c| c.get("ports").and_then(Value::as_array).into_iter().flatten())
            .find(|p| p.get("name").and_then(Value::as_str) == Some(port_name))
            .and_then(|p| p.get("containerPort").cloned())
    };
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = match p.get("targetPort") {
                Some(Value::String(name)) => container_port(name)?,
                Some(n) if n.is_number() => n.clone(),
                _ => p.get("port").cloned().unwrap_or(json!(80)),
            };
            Some(json!({"name": p.get("name").cloned().unwrap_or(json!("")), "port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))}))
        })
        .collect()
}

/// The exit code a one-shot pod's containers end with: its `sim.reef.dev/exit-code`
/// annotation, 0 when it has none or it is not a number.
fn exit_code(pod: &Value) -> i64 {
    pod.pointer("/metadata/annotations/sim.reef.dev~1exit-code")
        .and_then(Value::as_str)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether a Job has finished: `(succeeded, when)`.
fn job_finished(job: &Value) -> Option<(bool, String)> {
    let conditions = job.pointer("/status/conditions").and_then(Value::as_array)?;
    conditions.iter().find_map(|c| {
        let ok = match c.get("type").and_then(Value::as_str) {
            Some("Complete") => true,
            Some("Failed") => false,
            _ => return None,
        };
        (c.get("status").and_then(Value::as_str) == Some("True")).then(|| {
            let at = job
                .pointer("/status/completionTime")
                .or_else(|| c.get("lastTransitionTime"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            (ok, at)
        })
    })
}

fn timestamp(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The Job a CronJob starts for the time `at`: named `<cronjob>-<minutes since the epoch>`
/// as the real controller names it, so that one time never makes two Jobs.
fn job_for(cj: &Value, at: DateTime<Utc>) -> Value {
    let template = cj.pointer("/spec/jobTemplate").cloned().unwrap_or(json!({}));
    let mut metadata = template.get("metadata").cloned().unwrap_or(json!({}));
    metadata["name"] = json!(format!("{}-{}", s(cj, "/metadata/name"), at.timestamp() / 60));
    metadata["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    metadata["ownerReferences"] = json!([owner_ref(cj, "CronJob", "batch/v1")]);
    json!({"metadata": metadata, "spec": template.get("spec").cloned().unwrap_or(json!({}))})
}

/// The owner of pods being made.
#[derive(Clone, Copy)]
struct PodOwner<'a> {
    owner: &'a Value,
    kind: &'a str,
    /// Pods named `<owner>-<ordinal>` (StatefulSets) rather than with a random suffix.
    ordinal: bool,
    /// Pods placed on this node (DaemonSets) rather than by the scheduler.
    node: Option<&'a str>,
}

impl<'a> PodOwner<'a> {
    fn new(owner: &'a Value, kind: &'a str) -> Self {
        PodOwner { owner, kind, ordinal: false, node: None }
    }
}

/// CPU (milli) and memory (milli-bytes) a pod requests.
fn requests(pod: &Value) -> (i128, i128) {
    let mut cpu = 0;
    let mut mem = 0;
    for c in pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten() {
        cpu += c.pointer("/resources/requests/cpu").and_then(Value::as_str).and_then(parse_milli).unwrap_or(0);
        mem += c.pointer("/resources/requests/memory").and_then(Value::as_str).and_then(parse_milli).unwrap_or(0);
    }
    (cpu, mem)
}

/// Whether a node takes a pod: its node selector matches, and it tolerates every
/// NoSchedule/NoExecute taint.
fn node_accepts(node: &Value, pod_spec: &Value) -> bool {
    let labels = node.pointer("/metadata/labels");
    let selector_ok = pod_spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)));
    let tolerations = pod_spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    let taints_ok = node.pointer("/spec/taints").and_then(Value::as_array).into_iter().flatten().all(|taint| {
        if taint["effect"] == "PreferNoSchedule" {
            return true;
        }
        tolerations.iter().any(|t| {
            let key_ok = t.get("key").is_none_or(|k| k == &taint["key"] || k == "");
            let op_exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
            let value_ok = op_exists
                || t.get("value").cloned().unwrap_or(json!("")) == taint.get("value").cloned().unwrap_or(json!(""));
            let effect_ok = t.get("effect").is_none_or(|e| e == &taint["effect"] || e == "");
            key_ok && value_ok && effect_ok
        })
    });
    selector_ok && taints_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ListOptions;

    fn setup(pools: Vec<NodePool>) -> (Store, Controllers, SimConfig) {
        let config = SimConfig { node_pools: pools, pod_ready_delay: Duration::ZERO };
        (Store::new(), Controllers::new(), config)
    }

    fn t(s: &Store, group: &str, resource: &str) -> ResourceType {
        let version = if group == "autoscaling" { "v2" } else { "v1" };
        s.registry().find(group, version, resource).unwrap()
    }

    /// Runs passes until `done` holds, failing after a bounded number of passes.
    fn settle(store: &Store, c: &mut Controllers, config: &SimConfig, done: impl Fn(&Store) -> bool) {
        for _ in 0..20 {
            c.reconcile(store, config);
            if done(store) {
                return;
            }
        }
        panic!("the cluster did not settle");
    }

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image, "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]}}}})
    }

    fn available(store: &Store) -> bool {
        let d = store.get(&t(store, "apps", "deployments"), Some("default"), "web").unwrap();
        d.pointer("/status/availableReplicas").and_then(Value::as_i64)
            == d.pointer("/spec/replicas").and_then(Value::as_i64)
            && d.pointer("/status/replicas") == d.pointer("/spec/replicas")
            && d.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Available" && c["status"] == "True"))
    }

    #[test]
    fn node_pools_become_ready_nodes_and_follow_resizes() {
        let (store, mut c, mut config) = setup(vec![NodePool::new("pool", 3)]);
        c.reconcile(&store, &config);
        let nodes = store.all(&t(&store, "", "nodes"));
        assert_eq!(nodes.len(), 3);
        assert!(nodes.iter().all(|n| n.pointer("/status/conditions/0/type") == Some(&json!("Ready"))));
        config.node_pools[0].count = 1;
        c.reconcile(&store, &config);
        assert_eq!(store.all(&t(&store, "", "nodes")).len(), 1);
    }

    #[test]
    fn a_deployment_rolls_out_through_a_replica_set_to_ready_pods() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 2)]);
        store.create(&t(&store, "apps", "deployments"), Some("default"), deployment(3, "nginx:1"), &W).unwrap();
        settle(&store, &mut c, &config, available);
        let pods = store.all(&t(&store, "", "pods"));
        assert_eq!(pods.len(), 3);
        assert!(
            pods.iter().all(|p| is_ready(p) && !s(p, "/spec/nodeName").is_empty() && !s(p, "/status/podIP").is_empty())
        );

        // A new template makes a new ReplicaSet; the old one is scaled to zero once it is ready.
        let deploys = t(&store, "apps", "deployments");
        store
            .patch(
                &deploys,
                Some("default"),
                "web",
                crate::store::Patch::StrategicMerge(
                    json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}),
                ),
                None,
                &W,
            )
            .unwrap();
        settle(&store, &mut c, &config, |s| {
            available(s)
                && s.all(&t(s, "", "pods"))
                    .iter()
                    .all(|p| p.pointer("/spec/containers/0/image") == Some(&json!("nginx:2")))
        });
        let sets = store.all(&t(&store, "apps", "replicasets"));
        assert_eq!(sets.len(), 2);
        assert_eq!(sets.iter().map(replicas).sum::<i64>(), 3);
    }

    #[test]
    fn a_pod_that_fits_nowhere_stays_pending_with_a_failed_scheduling_event() {
        let (store, mut c, config) = setup(vec![NodePool::new("small", 1)]);
        let huge = json!({"metadata": {"name": "huge"}, "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "64"}}}]}});
        store.create(&t(&store, "", "pods"), Some("default"), huge, &W).unwrap();
        c.reconcile(&store, &config);
        c.reconcile(&store, &config);
        let pod = store.get(&t(&store, "", "pods"), Some("default"), "huge").unwrap();
        assert_eq!(pod["status"]["phase"], "Pending");
        assert_eq!(pod["status"]["conditions"][0]["reason"], "Unschedulable");
        let events = store.all(&t(&store, "", "events"));
        assert!(events.iter().any(|e| e["reason"] == "FailedScheduling" && e["involvedObject"]["name"] == "huge"));
    }

    #[test]
    fn taints_keep_pods_away_unless_tolerated() {
        let mut tainted = NodePool::new("gpu", 1);
        tainted.taints = vec![json!({"key": "gpu", "value": "true", "effect": "NoSchedule"})];
        let (store, mut c, config) = setup(vec![tainted]);
        let pods = t(&store, "", "pods");
        store
            .create(
                &pods,
                Some("default"),
                json!({"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
                &W,
            )
            .unwrap();
        store.create(&pods, Some("default"), json!({"metadata": {"name": "tolerant"}, "spec": {"containers": [{"name": "c", "image": "x"}], "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]}}), &W).unwrap();
        c.reconcile(&store, &config);
        c.reconcile(&store, &config);
        assert_eq!(store.get(&pods, Some("default"), "plain").unwrap()["status"]["phase"], "Pending");
        assert_eq!(store.get(&pods, Some("default"), "tolerant").unwrap()["spec"]["nodeName"], "gpu-0");
    }

    #[test]
    fn a_pod_whose_annotation_gives_an_exit_code_fails_and_so_does_its_job_past_the_backoff_limit() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let pods = t(&store, "", "pods");
        let failing = json!({"metadata": {"name": "t", "annotations": {"sim.reef.dev/exit-code": "3"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}});
        store.create(&pods, Some("default"), failing, &W).unwrap();
        let job = json!({"metadata": {"name": "j"}, "spec": {"backoffLimit": 1, "template": {"metadata": {"annotations": {"sim.reef.dev/exit-code": "1"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}});
        store.create(&t(&store, "batch", "jobs"), Some("default"), job, &W).unwrap();
        settle(&store, &mut c, &config, |s| {
            let job = s.get(&t(s, "batch", "jobs"), Some("default"), "j").unwrap();
            job.pointer("/status/conditions/0/type") == Some(&json!("Failed"))
        });
        let pod = store.get(&pods, Some("default"), "t").unwrap();
        assert_eq!(pod["status"]["phase"], "Failed");
        assert_eq!(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 3);
        let job = store.get(&t(&store, "batch", "jobs"), Some("default"), "j").unwrap();
        assert_eq!(
            (job["status"]["failed"].as_i64(), job["status"]["conditions"][0]["reason"].as_str()),
            (Some(2), Some("BackoffLimitExceeded"))
        );
        let owned = store.all(&pods).into_iter().filter(|p| p["metadata"]["ownerReferences"][0]["name"] == "j").count();
        assert_eq!(owned, 2, "backoffLimit 1: the first pod and one retry");
        // Settled: reconciling again changes nothing.
        let version = job["metadata"]["resourceVersion"].clone();
        c.reconcile(&store, &config);
        assert_eq!(
            store.get(&t(&store, "batch", "jobs"), Some("default"), "j").unwrap()["metadata"]["resourceVersion"],
            version
        );
    }

    #[test]
    fn a_job_completes_and_a_statefulset_gets_ordinal_pods() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let job = json!({"metadata": {"name": "once"}, "spec": {"completions": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}});
        store.create(&t(&store, "batch", "jobs"), Some("default"), job, &W).unwrap();
        let sts = json!({"metadata": {"name": "db"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        store.create(&t(&store, "apps", "statefulsets"), Some("default"), sts, &W).unwrap();
        settle(&store, &mut c, &config, |s| {
            let job = s.get(&t(s, "batch", "jobs"), Some("default"), "once").unwrap();
            let sts = s.get(&t(s, "apps", "statefulsets"), Some("default"), "db").unwrap();
            job.pointer("/status/conditions/0/type") == Some(&json!("Complete"))
                && sts.pointer("/status/readyReplicas") == Some(&json!(2))
        });
        let pods = t(&store, "", "pods");
        assert!(store.get(&pods, Some("default"), "db-0").is_ok());
        assert!(store.get(&pods, Some("default"), "db-1").is_ok());
    }

    #[test]
    fn services_get_addresses_and_endpoints_and_claims_are_bound() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        store.create(&t(&store, "apps", "deployments"), Some("default"), deployment(2, "nginx"), &W).unwrap();
        let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}});
        store.create(&t(&store, "", "services"), Some("default"), svc, &W).unwrap();
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}});
        store.create(&t(&store, "", "persistentvolumeclaims"), Some("default"), pvc, &W).unwrap();
        let alias =
            json!({"metadata": {"name": "alias"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        store.create(&t(&store, "", "services"), Some("default"), alias, &W).unwrap();
        settle(&store, &mut c, &config, |s| {
            s.get(&t(s, "", "endpoints"), Some("default"), "web").is_ok_and(|e| {
                e.pointer("/subsets/0/addresses").and_then(Value::as_array).is_some_and(|a| a.len() == 2)
            })
        });
        let svc = store.get(&t(&store, "", "services"), Some("default"), "web").unwrap();
        assert!(svc.pointer("/spec/clusterIP").and_then(Value::as_str).is_some_and(|ip| ip.starts_with("10.96.")));
        assert!(svc.pointer("/status/loadBalancer/ingress/0/ip").is_some());
        let alias = store.get(&t(&store, "", "services"), Some("default"), "alias").unwrap();
        assert!(alias.pointer("/spec/clusterIP").is_none(), "{alias}");
        let pvc = store.get(&t(&store, "", "persistentvolumeclaims"), Some("default"), "data").unwrap();
        assert_eq!(pvc["status"]["phase"], "Bound");
    }

    fn slices_of(store: &Store, service: &str) -> Vec<Value> {
        let opts =
            ListOptions { label_selector: Some(format!("kubernetes.io/service-name={service}")), ..Default::default() };
        let list = store.list(&t(store, "discovery.k8s.io", "endpointslices"), Some("default"), &opts).unwrap();
        list["items"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn a_service_gets_one_endpoint_slice_with_named_ports_resolved_and_it_goes_with_the_service() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let mut d = deployment(2, "nginx");
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"name": "http", "containerPort": 8080}]);
        store.create(&t(&store, "apps", "deployments"), Some("default"), d, &W).unwrap();
        let svc = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}});
        store.create(&t(&store, "", "services"), Some("default"), svc, &W).unwrap();
        settle(&store, &mut c, &config, |s| {
            slices_of(s, "web").first().is_some_and(|sl| {
                sl["endpoints"]
                    .as_array()
                    .is_some_and(|e| e.len() == 2 && e.iter().all(|e| e["conditions"]["ready"] == true))
            })
        });
        let slices = slices_of(&store, "web");
        assert_eq!(slices.len(), 1, "{slices:?}");
        let slice = &slices[0];
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(slice["ports"], json!([{"name": "web", "port": 8080, "protocol": "TCP"}]));
        assert_eq!(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"], SLICE_MANAGER);
        assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
        let ep = store.get(&t(&store, "", "endpoints"), Some("default"), "web").unwrap();
        assert_eq!(ep["subsets"][0]["ports"][0]["port"], 8080);

        store.delete(&t(&store, "", "services"), Some("default"), "web", &DeleteOptions::default()).unwrap();
        assert!(slices_of(&store, "web").is_empty(), "the slice outlived its Service");
        c.reconcile(&store, &config);
        assert_eq!(store.get(&t(&store, "", "endpoints"), Some("default"), "web").unwrap_err().code, 404);
    }

    fn cron_job(schedule: &str, policy: &str) -> Value {
        json!({"metadata": {"name": "tick"}, "spec": {"schedule": schedule, "concurrencyPolicy": policy, "successfulJobsHistoryLimit": 2,
            "jobTemplate": {"metadata": {"labels": {"app": "tick"}}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    }

    fn jobs_of(store: &Store) -> Vec<Value> {
        store.all(&t(store, "batch", "jobs"))
    }

    #[test]
    fn a_cron_job_starts_a_job_at_each_scheduled_time_and_keeps_its_history_limit() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let cj_t = t(&store, "batch", "cronjobs");
        let cj = store.create(&cj_t, Some("default"), cron_job("*/5 * * * *", "Allow"), &W).unwrap();
        let created = timestamp(&cj, "/metadata/creationTimestamp").unwrap();
        c.reconcile_at(&store, &config, created);
        assert!(jobs_of(&store).is_empty(), "a job started before its time");
        let due = Schedule::parse("*/5 * * * *").unwrap().next_after(created).unwrap();
        assert_eq!(c.wake_at, Some(due));
        // Four scheduled times, each reached in turn: four Jobs, each run to completion.
        for i in 0..4 {
            let at = due + chrono::Duration::minutes(5 * i);
            c.reconcile_at(&store, &config, at + chrono::Duration::seconds(3));
            for _ in 0..10 {
                c.reconcile_at(&store, &config, at + chrono::Duration::seconds(3));
            }
            let job_name = format!("tick-{}", at.timestamp() / 60);
            let job = store.get(&t(&store, "batch", "jobs"), Some("default"), &job_name).unwrap();
            assert_eq!(job["metadata"]["labels"]["app"], "tick");
            assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        }
        let cj = store.get(&cj_t, Some("default"), "tick").unwrap();
        let last = due + chrono::Duration::minutes(15);
        assert_eq!(cj["status"]["lastScheduleTime"], last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        assert!(cj["status"]["lastSuccessfulTime"].is_string(), "{cj}");
        assert!(cj["status"].get("active").is_none(), "{cj}");
        // Only the two newest finished Jobs are kept.
        c.reconcile_at(&store, &config, last + chrono::Duration::seconds(4));
        assert_eq!(jobs_of(&store).len(), 2, "{:?}", jobs_of(&store));
    }

    #[test]
    fn a_cron_job_runs_only_the_latest_missed_time_and_forbid_skips_while_one_runs() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let cj_t = t(&store, "batch", "cronjobs");
        let mut cj = cron_job("* * * * *", "Forbid");
        // A pod that never becomes ready keeps the first Job running.
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["nodeSelector"] = json!({"missing": "label"});
        let cj = store.create(&cj_t, Some("default"), cj, &W).unwrap();
        let created = timestamp(&cj, "/metadata/creationTimestamp").unwrap();
        let later = created + chrono::Duration::minutes(10);
        c.reconcile_at(&store, &config, later);
        let jobs = jobs_of(&store);
        assert_eq!(jobs.len(), 1, "missed times each started a job: {jobs:?}");
        c.reconcile_at(&store, &config, later + chrono::Duration::minutes(3));
        assert_eq!(jobs_of(&store).len(), 1, "Forbid started a second job while one ran");
        let cj = store.get(&cj_t, Some("default"), "tick").unwrap();
        assert_eq!(cj["status"]["active"][0]["name"], jobs[0]["metadata"]["name"]);
    }

    #[test]
    fn a_suspended_cron_job_starts_nothing() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        let mut cj = cron_job("* * * * *", "Allow");
        cj["spec"]["suspend"] = json!(true);
        let cj = store.create(&t(&store, "batch", "cronjobs"), Some("default"), cj, &W).unwrap();
        let created = timestamp(&cj, "/metadata/creationTimestamp").unwrap();
        c.reconcile_at(&store, &config, created + chrono::Duration::minutes(10));
        assert!(jobs_of(&store).is_empty());
        assert_eq!(c.wake_at, None);
    }

    #[test]
    fn a_settled_cluster_is_left_alone() {
        let (store, mut c, config) = setup(vec![NodePool::new("pool", 1)]);
        store.create(&t(&store, "apps", "deployments"), Some("default"), deployment(2, "nginx"), &W).unwrap();
        settle(&store, &mut c, &config, available);
        c.reconcile(&store, &config);
        let before = store.resource_version();
        c.reconcile(&store, &config);
        assert_eq!(store.resource_version(), before, "a pass over a settled cluster wrote something");
    }
}
