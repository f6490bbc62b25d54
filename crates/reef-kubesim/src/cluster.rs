//! A whole simulated cluster: the store, its HTTPS API server, the controllers running in the
//! background, and (optionally) its state saved in a directory so that it survives a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::controllers::{Controllers, NodePool, SimConfig};
use crate::server::{ServerIdentity, SimServer};
use crate::store::Store;

/// How often the controllers look at the cluster.
const RECONCILE_EVERY: Duration = Duration::from_millis(50);
/// How often changed state is written to the data directory, at most.
const SAVE_EVERY: Duration = Duration::from_secs(1);
const STATE_FILE: &str = "cluster.json";
/// The API server's certificates, token and port: secret, so readable by the owner only.
const IDENTITY_FILE: &str = "server.json";

/// What a cluster is made of.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The cluster's name (in its kubeconfig).
    pub name: String,
    /// Node pools and timings.
    pub config: SimConfig,
    /// Where to keep the cluster's state; in memory only when `None`.
    pub data_dir: Option<PathBuf>,
}

/// A running simulated cluster. Dropping it stops the server and the controllers; call
/// [`SimCluster::stop`] to also save its state.
#[derive(Debug)]
pub struct SimCluster {
    name: String,
    store: Arc<Store>,
    config: Arc<Mutex<SimConfig>>,
    server: Option<SimServer>,
    controllers: tokio::task::JoinHandle<()>,
    data_dir: Option<PathBuf>,
}

fn load(dir: &Path) -> std::io::Result<Store> {
    let path = dir.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let snapshot = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
            })?;
            Store::restore(&snapshot)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::new()),
        Err(e) => Err(e),
    }
}

fn save(store: &Store, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, store.snapshot().to_string())?;
    std::fs::rename(tmp, dir.join(STATE_FILE))
}

/// The server identity saved in `dir`, if there is one.
fn load_identity(dir: &Path) -> std::io::Result<Option<ServerIdentity>> {
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves `identity` in `dir`, readable by the owner only (it holds the CA's key and the token).
fn save_identity(identity: &ServerIdentity, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{IDENTITY_FILE}.tmp"));
    let text = serde_json::to_string(identity).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&tmp)?, text.as_bytes())?;
    std::fs::rename(tmp, dir.join(IDENTITY_FILE))
}

impl SimCluster {
    /// Starts a cluster: restores its state when the data directory holds one, serves its API
    /// on 127.0.0.1 with a port chosen at run time, and runs its controllers. With a data
    /// directory, the API server keeps its certificates, token and (when free) port across
    /// restarts, so kubeconfigs given out before stay valid.
    pub async fn start(options: ClusterOptions) -> std::io::Result<SimCluster> {
        let store = Arc::new(match &options.data_dir {
            Some(dir) => load(dir)?,
            None => Store::new(),
        });
        let server = match &options.data_dir {
            Some(dir) => {
                let identity = match load_identity(dir)? {
                    Some(identity) => identity,
                    None => ServerIdentity::generate()?,
                };
                let server = SimServer::start_as(store.clone(), identity.clone()).await?;
                save_identity(&ServerIdentity { port: Some(server.port()), ..identity }, dir)?;
                server
            }
            None => SimServer::start(store.clone()).await?,
        };
        let config = Arc::new(Mutex::new(options.config));
        let controllers = tokio::spawn(run_controllers(store.clone(), config.clone(), options.data_dir.clone()));
        Ok(SimCluster {
            name: options.name,
            store,
            config,
            server: Some(server),
            controllers,
            data_dir: options.data_dir,
        })
    }

    /// The store behind the API.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The API server's URL.
    pub fn url(&self) -> String {
        self.server.as_ref().map(SimServer::url).unwrap_or_default()
    }

    /// A kubeconfig for the cluster's API (its CA and a bearer token).
    pub fn kubeconfig(&self) -> String {
        self.server.as_ref().map(|s| s.kubeconfig(&self.name)).unwrap_or_default()
    }

    /// Replaces the node pools; nodes follow within a controller pass.
    pub fn set_node_pools(&self, pools: Vec<NodePool>) {
        self.config.lock().unwrap_or_else(|e| e.into_inner()).node_pools = pools;
    }

    /// Stops serving, stops the controllers and saves the state.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.controllers.abort();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        match &self.data_dir {
            Some(dir) => save(&self.store, dir),
            None => Ok(()),
        }
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.controllers.abort();
    }
}

async fn run_controllers(store: Arc<Store>, config: Arc<Mutex<SimConfig>>, data_dir: Option<PathBuf>) {
    let mut controllers = Controllers::new();
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saved_rv = store.resource_version();
    let mut last_save = tokio::time::Instant::now();
    let mut last_pass: Option<(u64, SimConfig)> = None;
    loop {
        tick.tick().await;
        let current = config.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // A pass over a cluster where nothing changed, and nothing waits on time, would find
        // nothing to do: skip it, so that idle clusters cost no CPU.
        let unchanged = last_pass.as_ref().is_some_and(|(rv, c)| *rv == store.resource_version() && *c == current);
        if !unchanged || controllers.waiting() {
            // The version before the pass: a pass that wrote something leaves the store at a
            // newer version, so the next pass runs and sees its own writes' consequences.
            let before = store.resource_version();
            controllers.reconcile(&store, &current);
            last_pass = Some((before, current));
        }
        if let Some(dir) = &data_dir {
            let rv = store.resource_version();
            if rv != saved_rv && last_save.elapsed() >= SAVE_EVERY {
                match save(&store, dir) {
                    Ok(()) => saved_rv = rv,
                    Err(e) => tracing::warn!(error = %e, dir = %dir.display(), "saving the simulated cluster failed"),
                }
                last_save = tokio::time::Instant::now();
            }
        }
    }
}
