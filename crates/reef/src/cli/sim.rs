//! `reef sim serve`: one simulated Kubernetes cluster in the foreground, for users who want a
//! throwaway cluster the way they use kind.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;
use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::{NodePool, SimConfig};

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated cluster until Ctrl-C or SIGTERM; its kubeconfig is written once it is ready.
    Serve {
        /// Where to write the cluster's kubeconfig.
        #[arg(long, value_name = "PATH")]
        kubeconfig: PathBuf,
        /// How many nodes.
        #[arg(long, default_value_t = 1)]
        nodes: u32,
        /// Keep the cluster's state here, so that it survives a restart.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The cluster's name in the kubeconfig.
        #[arg(long, default_value = "kubesim")]
        name: String,
        /// How long a pod takes to become Ready, in milliseconds.
        #[arg(long, default_value_t = 500)]
        pod_ready_delay_ms: u64,
    },
}

pub async fn run(cmd: SimCommand) -> anyhow::Result<()> {
    match cmd {
        SimCommand::Serve { kubeconfig, nodes, data_dir, name, pod_ready_delay_ms } => {
            let config = SimConfig {
                node_pools: vec![NodePool::new("node", nodes)],
                pod_ready_delay: Duration::from_millis(pod_ready_delay_ms),
            };
            let cluster = SimCluster::start(ClusterOptions { name: name.clone(), config, data_dir })
                .await
                .context("starting the simulated cluster")?;
            crate::server::write_private_file(&kubeconfig, &cluster.kubeconfig())?;
            println!("Simulated cluster `{name}` is serving at {}.", cluster.url());
            println!(
                "Its kubeconfig is in {}: kubectl --kubeconfig {} get nodes",
                kubeconfig.display(),
                kubeconfig.display()
            );
            crate::server::shutdown_signal().await;
            cluster.stop().await.context("saving the simulated cluster")?;
            println!("Stopped.");
            Ok(())
        }
    }
}
