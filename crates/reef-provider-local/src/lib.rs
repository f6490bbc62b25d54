//! The `local` provider: each cluster is a reef-kubesim cluster served by the reef process on
//! 127.0.0.1, its node pools simulated nodes, its state kept in the data directory so that it
//! comes back when reef restarts. Its steps wait a configurable time each (short by default),
//! so that a local create shows progress as a cloud's would.
//!
//! Create: `start_api_server` (undo: stop it and remove its state), `create_node_pools`
//! (undo: remove the nodes), `wait_for_nodes`. Update: `resize_node_pools` (pools resized,
//! added and removed; undo: back to the previous pools), `wait_for_nodes`. Delete:
//! `delete_node_pools`, `stop_api_server`. Every step finds what an earlier run of itself did, so each is
//! idempotent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reef_core::{ClusterId, KubernetesVersion, NodePool};
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::store::ListOptions;
use reef_kubesim::{SimConfig, Store};
use reef_provider::{
    Call, Capabilities, Catalog, InstanceType, Operation, Provider, ProviderError, ProviderFuture, Region,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How the local provider behaves.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Where clusters keep their state (a directory per cluster); in memory only when `None`.
    pub data_dir: Option<PathBuf>,
    /// How long each step waits before doing its work, as a cloud would take.
    pub step_delay: Duration,
    /// How long `wait_for_nodes` waits for the nodes before it fails (transiently).
    pub nodes_timeout: Duration,
}

impl Default for LocalOptions {
    fn default() -> LocalOptions {
        LocalOptions { data_dir: None, step_delay: Duration::from_millis(200), nodes_timeout: Duration::from_secs(60) }
    }
}

/// The instance types the local provider offers: simulated node sizes.
fn instance_types() -> Vec<InstanceType> {
    [("small", 2, 4096), ("medium", 4, 16384), ("large", 8, 32768)]
        .into_iter()
        .map(|(name, vcpus, memory_mib)| InstanceType { name: name.to_owned(), vcpus, memory_mib, regions: vec![] })
        .collect()
}

/// The simulated clusters of one reef process.
#[derive(Debug)]
pub struct LocalProvider {
    opts: LocalOptions,
    clusters: Mutex<HashMap<ClusterId, Arc<SimCluster>>>,
}

const CREATE: &[&str] = &["start_api_server", "create_node_pools", "wait_for_nodes"];
const UPDATE: &[&str] = &["resize_node_pools", "wait_for_nodes"];
const DELETE: &[&str] = &["delete_node_pools", "stop_api_server"];

fn internal(message: impl std::fmt::Display) -> ProviderError {
    ProviderError::transient("local_failure", format!("the simulated cluster failed: {message}"))
}

/// kubesim's node pools for `pools`.
fn sim_pools(pools: &[NodePool]) -> Vec<reef_kubesim::NodePool> {
    let types = instance_types();
    pools
        .iter()
        .map(|p| {
            let mut pool = reef_kubesim::NodePool::new(p.name.as_str(), p.count);
            if let Some(t) = types.iter().find(|t| t.name == p.instance_type) {
                pool.cpu = t.vcpus.to_string();
                pool.memory = format!("{}Mi", t.memory_mib);
            }
            pool.instance_type = p.instance_type.clone();
            pool.labels = p.labels.clone();
            pool.taints = p
                .taints
                .iter()
                .map(|t| json!({"key": t.key, "value": t.value, "effect": format!("{:?}", t.effect)}))
                .collect();
            pool
        })
        .collect()
}

/// The names of the nodes that exist and are Ready.
fn ready_nodes(store: &Store) -> Result<Vec<String>, ProviderError> {
    let nodes_t = store.registry().by_kind("v1", "Node").ok_or_else(|| internal("it has no Node kind"))?;
    let list = store.list(&nodes_t, None, &ListOptions::default()).map_err(|e| internal(e.message))?;
    let items = list.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(items
        .iter()
        .filter(|n| {
            n.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
                cs.iter().any(|c| c.get("type") == Some(&json!("Ready")) && c.get("status") == Some(&json!("True")))
            })
        })
        .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

impl LocalProvider {
    /// A provider whose clusters keep their state under `opts.data_dir`.
    pub fn new(opts: LocalOptions) -> LocalProvider {
        LocalProvider { opts, clusters: Mutex::new(HashMap::new()) }
    }

    fn dir_of(&self, id: ClusterId) -> Option<PathBuf> {
        self.opts.data_dir.as_ref().map(|d| d.join(id.to_string()))
    }

    /// The running cluster `id`, started (from its saved state, if any) when it is not.
    async fn ensure_running(&self, call: &Call<'_>) -> Result<Arc<SimCluster>, ProviderError> {
        let mut clusters = self.clusters.lock().await;
        if let Some(c) = clusters.get(&call.cluster) {
            return Ok(c.clone());
        }
        let options = ClusterOptions {
            name: call.spec.name.to_string(),
            config: SimConfig { node_pools: Vec::new(), ..SimConfig::default() },
            data_dir: self.dir_of(call.cluster),
        };
        let sim = Arc::new(SimCluster::start(options).await.map_err(internal)?);
        // Nodes follow the pools recorded for the cluster once its pools were created.
        if call.outputs.contains_key("create_node_pools") {
            sim.set_node_pools(sim_pools(&call.spec.node_pools));
        }
        tracing::info!(cluster = %call.cluster, url = %sim.url(), "simulated cluster started");
        clusters.insert(call.cluster, sim.clone());
        Ok(sim)
    }

    /// The running cluster `id`, if it is running.
    async fn running(&self, id: ClusterId) -> Option<Arc<SimCluster>> {
        self.clusters.lock().await.get(&id).cloned()
    }

    /// Stops cluster `id` and removes its saved state; nothing when it is not there.
    async fn remove(&self, id: ClusterId) -> Result<(), ProviderError> {
        let sim = self.clusters.lock().await.remove(&id);
        if let Some(sim) = sim {
            match Arc::try_unwrap(sim) {
                Ok(sim) => sim.stop().await.map_err(internal)?,
                // Someone holds it for a moment (a kubeconfig being read): dropping our
                // handle stops it once they are done.
                Err(shared) => drop(shared),
            }
        }
        if let Some(dir) = self.dir_of(id) {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(internal(format!("removing {}: {e}", dir.display()))),
            }
        }
        Ok(())
    }

    /// How many of cluster `id`'s nodes are Ready, if it is running.
    pub async fn ready_node_count(&self, id: ClusterId) -> Option<usize> {
        let sim = self.running(id).await?;
        ready_nodes(sim.store()).ok().map(|n| n.len())
    }

    /// The URL of cluster `id`'s API server, if it is running.
    pub async fn endpoint(&self, id: ClusterId) -> Option<String> {
        self.running(id).await.map(|c| c.url())
    }

    async fn wait_for_nodes(&self, call: &Call<'_>, sim: &SimCluster, want: usize) -> Result<usize, ProviderError> {
        let deadline = tokio::time::Instant::now() + self.opts.nodes_timeout;
        loop {
            let ready = ready_nodes(sim.store())?.len();
            if ready == want {
                return Ok(ready);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ProviderError::transient(
                    "nodes_not_ready",
                    format!("{ready} of {want} nodes of cluster {} are ready", call.spec.name),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn run_step(&self, operation: Operation, step: &str, call: Call<'_>) -> Result<Value, ProviderError> {
        tokio::time::sleep(self.opts.step_delay).await;
        match (operation, step) {
            (Operation::Create, "start_api_server") => {
                let sim = self.ensure_running(&call).await?;
                Ok(json!({"data_dir": self.dir_of(call.cluster), "url": sim.url()}))
            }
            (Operation::Create, "create_node_pools") => {
                let sim = self.ensure_running(&call).await?;
                sim.set_node_pools(sim_pools(&call.spec.node_pools));
                let nodes: u32 = call.spec.node_pools.iter().map(|p| p.count).sum();
                Ok(json!({"nodes": nodes}))
            }
            (Operation::Create, "wait_for_nodes") => {
                let sim = self.ensure_running(&call).await?;
                let want = call.spec.node_pools.iter().map(|p| p.count as usize).sum();
                let ready = self.wait_for_nodes(&call, &sim, want).await?;
                Ok(json!({"ready_nodes": ready}))
            }
            (Operation::Update, "resize_node_pools") => {
                let sim = self.ensure_running(&call).await?;
                sim.set_node_pools(sim_pools(&call.spec.node_pools));
                let nodes: u32 = call.spec.node_pools.iter().map(|p| p.count).sum();
                Ok(json!({"nodes": nodes}))
            }
            (Operation::Update, "wait_for_nodes") => {
                let sim = self.ensure_running(&call).await?;
                let want = call.spec.node_pools.iter().map(|p| p.count as usize).sum();
                let ready = self.wait_for_nodes(&call, &sim, want).await?;
                Ok(json!({"ready_nodes": ready}))
            }
            (Operation::Delete, "delete_node_pools") => {
                if let Some(sim) = self.running(call.cluster).await {
                    sim.set_node_pools(Vec::new());
                    self.wait_for_nodes(&call, &sim, 0).await?;
                }
                Ok(json!({}))
            }
            (Operation::Delete, "stop_api_server") => {
                self.remove(call.cluster).await?;
                Ok(json!({}))
            }
            _ => Err(ProviderError::permanent("unknown_step", format!("local has no {operation:?} step {step:?}"))),
        }
    }
}

impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    fn catalog(&self) -> ProviderFuture<'_, Catalog> {
        Box::pin(async {
            let versions: Vec<KubernetesVersion> =
                ["1.33", "1.34", "1.35"].iter().filter_map(|v| KubernetesVersion::parse(v).ok()).collect();
            Ok(Catalog {
                provider: "local".to_owned(),
                regions: vec![Region { name: "local".to_owned(), description: "this machine".to_owned() }],
                instance_types: instance_types(),
                default_version: versions.last().cloned(),
                kubernetes_versions: versions,
                capabilities: Capabilities {
                    create: true,
                    scale_node_pool: true,
                    add_remove_node_pool: true,
                    upgrade_version: true,
                    spot: true,
                    autoscaling: true,
                },
                options: Vec::new(),
            })
        })
    }

    fn steps(&self, operation: Operation) -> &'static [&'static str] {
        match operation {
            Operation::Create => CREATE,
            Operation::Update => UPDATE,
            Operation::Delete => DELETE,
        }
    }

    fn run<'a>(&'a self, operation: Operation, step: &'a str, call: Call<'a>) -> ProviderFuture<'a, Value> {
        Box::pin(self.run_step(operation, step, call))
    }

    fn undo<'a>(&'a self, operation: Operation, step: &'a str, call: Call<'a>, _: Value) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            match (operation, step) {
                (Operation::Create, "start_api_server") => self.remove(call.cluster).await,
                (Operation::Create, "create_node_pools") => {
                    if let Some(sim) = self.running(call.cluster).await {
                        sim.set_node_pools(Vec::new());
                    }
                    Ok(())
                }
                (Operation::Update, "resize_node_pools") => {
                    if let (Some(sim), Some(previous)) = (self.running(call.cluster).await, call.previous) {
                        sim.set_node_pools(sim_pools(&previous.node_pools));
                        let want = previous.node_pools.iter().map(|p| p.count as usize).sum();
                        self.wait_for_nodes(&call, &sim, want).await?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }

    fn resume<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            // Only a cluster this process made (another replica's lives in its data directory).
            if !self.dir_of(call.cluster).is_some_and(|d| d.exists()) {
                return Ok(());
            }
            let sim = self.ensure_running(&call).await?;
            sim.set_node_pools(sim_pools(&call.spec.node_pools));
            Ok(())
        })
    }

    fn kubeconfig<'a>(&'a self, call: Call<'a>) -> ProviderFuture<'a, String> {
        Box::pin(async move { Ok(self.ensure_running(&call).await?.kubeconfig()) })
    }
}

/// What the local provider has running, by cluster: for tests and `/readyz`-style checks.
impl LocalProvider {
    /// The clusters running now.
    pub async fn running_clusters(&self) -> Vec<ClusterId> {
        let mut ids: Vec<ClusterId> = self.clusters.lock().await.keys().copied().collect();
        ids.sort();
        ids
    }
}
