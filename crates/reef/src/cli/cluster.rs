//! `reef cluster ...` and `reef operation ...`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use reef_api_types::{
    ClusterView, CreateClusterRequest, InstallSecretRequest, NamespaceView, NodeView, OperationView,
    UpdateClusterRequest,
};

use super::output::{Format, Table, opt_time, print, time};
use super::{OrgArg, PageArgs, Session, with_cursor};

/// How long `--wait` waits for an operation at most.
const WAIT_LIMIT: Duration = Duration::from_secs(3600);

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create a cluster from a spec file (YAML or JSON, the API's shape).
    Create {
        #[command(flatten)]
        org: OrgArg,
        /// The spec file; `-` reads standard input.
        #[arg(long = "file", short = 'f')]
        file: PathBuf,
        /// Wait until the cluster is created, showing each step.
        #[arg(long)]
        wait: bool,
    },
    /// List clusters.
    List {
        #[command(flatten)]
        org: OrgArg,
        /// Only clusters in this status (`deleted` lists deleted ones).
        #[arg(long)]
        status: Option<String>,
        /// Only clusters of this provider.
        #[arg(long)]
        provider: Option<String>,
        /// Only clusters with these labels (`key=value`, several separated by commas).
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a cluster.
    Get {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
    },
    /// Change a cluster from a file (YAML or JSON) holding any of `kubernetes_version`,
    /// `node_pools` (every pool it is to have) and `labels`.
    Update {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
        /// The change file; `-` reads standard input.
        #[arg(long = "file", short = 'f')]
        file: PathBuf,
        /// Wait until the change is made, showing each step.
        #[arg(long)]
        wait: bool,
    },
    /// Delete a cluster.
    Delete {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
        /// Wait until the cluster is deleted, showing each step.
        #[arg(long)]
        wait: bool,
        /// Mark the cluster deleted even when the provider cannot remove everything; its
        /// status message then names what was left behind.
        #[arg(long)]
        force: bool,
    },
    /// Show every status a cluster went through, with its cause.
    History {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
    },
    /// List a cluster's nodes, as its API server reports them.
    Nodes {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
    },
    /// List a cluster's namespaces.
    Namespaces {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
    },
    /// Put an organization's secret into a cluster as a Kubernetes Secret (admins); again,
    /// to bring it up to date.
    InstallSecret {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The organization's secret.
        secret: String,
        /// The namespace (made when missing).
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// The Kubernetes Secret's name [default: the secret's name].
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a cluster's kubeconfig (members and above).
    Kubeconfig {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        cluster: String,
        /// Write it to this file (readable by its owner only) instead of printing it.
        #[arg(long = "file", short = 'f')]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperationCommand {
    /// Show an operation and its steps.
    Get {
        #[command(flatten)]
        org: OrgArg,
        /// The operation's id.
        id: String,
    },
    /// Follow an operation until it ends, showing each step as it starts and ends.
    Watch {
        #[command(flatten)]
        org: OrgArg,
        /// The operation's id.
        id: String,
    },
    /// Ask an operation to stop; what it did is undone.
    Cancel {
        #[command(flatten)]
        org: OrgArg,
        /// The operation's id.
        id: String,
        /// Wait until it has stopped, showing each step.
        #[arg(long)]
        wait: bool,
    },
}

fn clusters_table(items: &[&ClusterView]) -> Table {
    let mut t = Table::new(vec!["ID", "NAME", "PROVIDER", "VERSION", "STATUS", "NODES", "CREATED"]);
    for c in items {
        let nodes: u32 = c.node_pools.iter().map(|p| p.count).sum();
        t.row(vec![
            c.id.to_string(),
            c.name.clone(),
            c.provider.clone(),
            c.kubernetes_version.clone().unwrap_or_else(|| "-".to_owned()),
            c.status.clone(),
            nodes.to_string(),
            time(&c.created_at),
        ]);
    }
    t
}

fn cluster_details(c: &ClusterView) -> Table {
    let mut t = Table::new(vec!["FIELD", "VALUE"]);
    let mut field = |k: &str, v: String| t.row(vec![k.to_owned(), v]);
    field("id", c.id.to_string());
    field("name", c.name.clone());
    field("provider", c.provider.clone());
    field("region", c.region.clone());
    field("kubernetes version", c.kubernetes_version.clone().unwrap_or_else(|| "-".to_owned()));
    field("status", c.status.clone());
    field("status message", c.status_message.clone());
    field("endpoint", c.endpoint.clone().unwrap_or_else(|| "-".to_owned()));
    field("operation", c.operation.map(|o| o.to_string()).unwrap_or_else(|| "-".to_owned()));
    if let Some(f) = &c.failure {
        let step = f.step.as_deref().map(|s| format!("step {s}: ")).unwrap_or_default();
        field("failure", format!("{step}{} (operation {})", f.error, f.operation));
    }
    if let Some(h) = &c.health {
        let finding = h.problem.clone().unwrap_or_else(|| "healthy".to_owned());
        field("health", format!("{finding} (checked {})", time(&h.checked_at)));
    }
    for p in &c.node_pools {
        field(&format!("node pool {}", p.name), format!("{} x {}", p.count, p.instance_type));
    }
    for (k, v) in &c.labels {
        field(&format!("label {k}"), v.clone());
    }
    field("created", time(&c.created_at));
    field("updated", time(&c.updated_at));
    t
}

fn nodes_table(nodes: &[NodeView]) -> Table {
    let mut t = Table::new(vec!["NAME", "POOL", "INSTANCE TYPE", "READY", "VERSION", "INTERNAL IP", "TAINTS"]);
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    for n in nodes {
        let ready = match (n.ready, n.unschedulable) {
            (true, false) => "Ready",
            (true, true) => "Ready,SchedulingDisabled",
            (false, _) => "NotReady",
        };
        t.row(vec![
            n.name.clone(),
            dash(&n.node_pool),
            dash(&n.instance_type),
            ready.to_owned(),
            dash(&n.kubelet_version),
            dash(&n.internal_ip),
            if n.taints.is_empty() { "-".to_owned() } else { n.taints.join(",") },
        ]);
    }
    t
}

fn namespaces_table(namespaces: &[NamespaceView]) -> Table {
    let mut t = Table::new(vec!["NAME", "PHASE", "CREATED"]);
    for n in namespaces {
        t.row(vec![n.name.clone(), n.phase.clone().unwrap_or_else(|| "-".to_owned()), opt_time(&n.created_at)]);
    }
    t
}

pub(super) fn operation_table(op: &OperationView) -> Table {
    let mut t = Table::new(vec!["STEP", "STATUS", "ATTEMPTS", "STARTED", "DURATION", "ERROR"]);
    for s in &op.steps {
        t.row(vec![
            s.name.clone(),
            s.status.clone(),
            s.attempts.to_string(),
            opt_time(&s.started_at),
            s.duration_ms.map(|d| format!("{:.1}s", d as f64 / 1000.0)).unwrap_or_else(|| "-".to_owned()),
            s.error.clone().unwrap_or_default(),
        ]);
    }
    t
}

pub(super) fn operation_summary(op: &OperationView) -> String {
    let mut out = format!("operation {} ({}): {}", op.id, op.kind, op.status);
    if let Some(eta) = op.eta_seconds {
        out.push_str(&format!(", about {eta}s left"));
    }
    if let Some(e) = &op.error {
        out.push_str(&format!("; {e}"));
    }
    out
}

/// Follows an operation until it ends, printing each step's changes on standard error;
/// fails unless it succeeded.
pub(super) async fn follow(s: &Session, org: &str, op: &OperationView) -> anyhow::Result<OperationView> {
    let id = op.id.to_string();
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut shown: Vec<String> = Vec::new();
    let mut stderr = std::io::stderr();
    loop {
        let op = s.client.get_operation(org, &id).await?;
        for (i, step) in op.steps.iter().enumerate() {
            let line = match (&step.error, step.duration_ms) {
                (Some(e), _) if step.status != "done" => format!("  {:<20} {} ({e})", step.name, step.status),
                (_, Some(ms)) => format!("  {:<20} {} in {:.1}s", step.name, step.status, ms as f64 / 1000.0),
                _ => format!("  {:<20} {}", step.name, step.status),
            };
            if step.status != "pending" && shown.get(i) != Some(&line) {
                let _ = writeln!(stderr, "{line}");
                if shown.len() <= i {
                    shown.resize(i + 1, String::new());
                }
                shown[i] = line;
            }
        }
        match op.status.as_str() {
            "succeeded" => return Ok(op),
            "failed" | "cancelled" => bail!("{}", operation_summary(&op)),
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("gave up waiting: {}", operation_summary(&op));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn read_file<T: serde::de::DeserializeOwned>(file: &PathBuf, what: &str) -> anyhow::Result<T> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).with_context(|| format!("reading the {what} from standard input"))?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    // YAML is a superset of JSON: one parser reads both.
    yaml_serde::from_str(&text).with_context(|| format!("{} is not a {what}", file.display()))
}

fn read_spec(file: &PathBuf) -> anyhow::Result<CreateClusterRequest> {
    read_file(file, "cluster spec")
}

pub async fn run(s: &Session, format: Format, cmd: ClusterCommand) -> anyhow::Result<()> {
    match cmd {
        ClusterCommand::Create { org, file, wait } => {
            let org = s.org(&org);
            let req = read_spec(&file)?;
            let created = s.client.create_cluster(&org, &req).await?;
            if !wait {
                eprintln!("Creating cluster `{}`: {}", created.cluster.name, operation_summary(&created.operation));
                return print(format, &created.cluster, |c| clusters_table(&[c]));
            }
            eprintln!("Creating cluster `{}` (operation {})", created.cluster.name, created.operation.id);
            follow(s, &org, &created.operation).await?;
            let cluster = s.client.get_cluster(&org, &created.cluster.id.to_string()).await?;
            print(format, &cluster, cluster_details)
        }
        ClusterCommand::List { org, status, provider, label, page } => {
            let mut filters = Vec::new();
            if let Some(v) = &status {
                filters.push(("status", v.as_str()));
            }
            if let Some(v) = &provider {
                filters.push(("provider", v.as_str()));
            }
            if let Some(v) = &label {
                filters.push(("label", v.as_str()));
            }
            let list = s.client.list_clusters(&s.org(&org), &filters, &page.query()).await?;
            print(format, &list, |l| with_cursor(clusters_table(&l.items.iter().collect::<Vec<_>>()), &l.next_cursor))
        }
        ClusterCommand::Get { org, cluster } => {
            print(format, &s.client.get_cluster(&s.org(&org), &cluster).await?, cluster_details)
        }
        ClusterCommand::Update { org, cluster, file, wait } => {
            let org = s.org(&org);
            let change: UpdateClusterRequest = read_file(&file, "cluster change")?;
            let updating = s.client.update_cluster(&org, &cluster, &change).await?;
            if !wait {
                eprintln!("Changing cluster `{}`: {}", updating.cluster.name, operation_summary(&updating.operation));
                return print(format, &updating.operation, operation_table);
            }
            eprintln!("Changing cluster `{}` (operation {})", updating.cluster.name, updating.operation.id);
            follow(s, &org, &updating.operation).await?;
            let changed = s.client.get_cluster(&org, &updating.cluster.id.to_string()).await?;
            print(format, &changed, cluster_details)
        }
        ClusterCommand::Delete { org, cluster, wait, force } => {
            let org = s.org(&org);
            let deleting = s.client.delete_cluster_forced(&org, &cluster, force).await?;
            if !wait {
                eprintln!("Deleting cluster `{}`: {}", deleting.cluster.name, operation_summary(&deleting.operation));
                return print(format, &deleting.operation, operation_table);
            }
            eprintln!("Deleting cluster `{}` (operation {})", deleting.cluster.name, deleting.operation.id);
            let op = follow(s, &org, &deleting.operation).await?;
            let deleted = s.client.get_cluster(&org, &deleting.cluster.id.to_string()).await?;
            if deleted.status_message == "deleted" {
                eprintln!("Deleted cluster `{}`.", deleting.cluster.name);
            } else {
                eprintln!("Deleted cluster `{}`: {}.", deleting.cluster.name, deleted.status_message);
            }
            print(format, &op, operation_table)
        }
        ClusterCommand::History { org, cluster } => {
            print(format, &s.client.cluster_history(&s.org(&org), &cluster).await?, |h| {
                let mut t = Table::new(vec!["AT", "FROM", "TO", "CAUSE", "OPERATION"]);
                for c in h {
                    t.row(vec![
                        time(&c.at),
                        c.from.clone().unwrap_or_else(|| "-".to_owned()),
                        c.to.clone(),
                        c.cause.clone(),
                        c.operation.map(|o| o.to_string()).unwrap_or_else(|| "-".to_owned()),
                    ]);
                }
                t
            })
        }
        ClusterCommand::Nodes { org, cluster } => {
            print(format, &s.client.cluster_nodes(&s.org(&org), &cluster).await?, |n| nodes_table(n))
        }
        ClusterCommand::Namespaces { org, cluster } => {
            print(format, &s.client.cluster_namespaces(&s.org(&org), &cluster).await?, |n| namespaces_table(n))
        }
        ClusterCommand::InstallSecret { org, cluster, secret, namespace, name } => {
            let req = InstallSecretRequest { secret, namespace, name };
            let done = s.client.install_secret(&s.org(&org), &cluster, &req).await?;
            let verb = if done.created { "Installed" } else { "Updated" };
            eprintln!(
                "{verb} Secret {}/{} in `{cluster}` with version {} (keys: {}).",
                done.namespace,
                done.name,
                done.version,
                done.keys.join(", ")
            );
            print(format, &done, |d| {
                let mut t = Table::new(vec!["NAMESPACE", "NAME", "KEYS", "VERSION"]);
                t.row(vec![d.namespace.clone(), d.name.clone(), d.keys.join(","), d.version.to_string()]);
                t
            })
        }
        ClusterCommand::Kubeconfig { org, cluster, file } => {
            let kubeconfig = s.client.cluster_kubeconfig(&s.org(&org), &cluster).await?;
            match file {
                Some(path) => {
                    crate::server::write_private_file(&path, &kubeconfig)?;
                    eprintln!("Wrote the kubeconfig of `{cluster}` to {}.", path.display());
                }
                None => print!("{kubeconfig}"),
            }
            Ok(())
        }
    }
}

pub async fn run_operation(s: &Session, format: Format, cmd: OperationCommand) -> anyhow::Result<()> {
    match cmd {
        OperationCommand::Get { org, id } => {
            let op = s.client.get_operation(&s.org(&org), &id).await?;
            if format == Format::Table {
                println!("{}", operation_summary(&op));
            }
            print(format, &op, operation_table)
        }
        OperationCommand::Watch { org, id } => {
            let org = s.org(&org);
            let op = s.client.get_operation(&org, &id).await?;
            eprintln!("{}", operation_summary(&op));
            let op = follow(s, &org, &op).await?;
            eprintln!("{}", operation_summary(&op));
            print(format, &op, operation_table)
        }
        OperationCommand::Cancel { org, id, wait } => {
            let org = s.org(&org);
            let op = s.client.cancel_operation(&org, &id).await?;
            if !wait {
                eprintln!("Asked operation {id} to stop.");
                return print(format, &op, operation_table);
            }
            match follow(s, &org, &op).await {
                Ok(op) => print(format, &op, operation_table),
                // Cancelled is what was asked for.
                Err(_) => {
                    let op = s.client.get_operation(&org, &id).await?;
                    if op.status != "cancelled" {
                        bail!("{}", operation_summary(&op));
                    }
                    eprintln!("Operation {id} was cancelled; what it did was undone.");
                    print(format, &op, operation_table)
                }
            }
        }
    }
}
