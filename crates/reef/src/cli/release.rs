//! `reef deploy` and `reef release ...`: Helm releases in a cluster.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Subcommand;
use reef_api_types::{ChartRefView, DeployRequest, ReleaseDetailView, ReleaseView};

use super::OrgArg;
use super::Session;
use super::cluster::{follow, operation_summary, operation_table};
use super::output::{Format, Table, print};

/// `reef deploy CLUSTER CHART --release NAME ...`: installs, or upgrades a release that exists.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    org: OrgArg,
    /// The cluster's name or id; several, separated by commas, deploy to each at once.
    cluster: String,
    /// The chart: a directory, a `.tgz`, `repo/chart` from one of the organization's
    /// repositories or registries (`reef repo add`), or `oci://registry/path/chart[:tag]`.
    chart: PathBuf,
    /// With `repo/chart` or `oci://`: the version, or a constraint (`^1.2`) [default: the
    /// latest stable].
    #[arg(long)]
    version: Option<String>,
    /// With `oci://`: reach the registry over HTTP rather than HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// The release's name.
    #[arg(long)]
    release: String,
    /// The release's namespace.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// A values file; repeat for several (later ones win).
    #[arg(long = "values", short = 'f')]
    values: Vec<PathBuf>,
    /// A value, `key=value` (Helm's `--set` syntax); repeat for several.
    #[arg(long)]
    set: Vec<String>,
    /// A value kept as a string.
    #[arg(long)]
    set_string: Vec<String>,
    /// A value given as JSON, `key=json`.
    #[arg(long)]
    set_json: Vec<String>,
    /// A value read from a secret of the organization when the chart is rendered,
    /// `path=secret:field` (admins); it is not kept in the release's values.
    #[arg(long, value_name = "PATH=SECRET:FIELD")]
    set_from_secret: Vec<String>,
    /// Wait until every resource is ready, showing each step.
    #[arg(long)]
    wait: bool,
    /// Undo on failure: uninstall a failed install, roll a failed upgrade back.
    #[arg(long)]
    atomic: bool,
    /// Make the namespace when it does not exist.
    #[arg(long)]
    create_namespace: bool,
    /// Run no hooks.
    #[arg(long)]
    no_hooks: bool,
    /// Change nothing: print what would be added, changed and removed.
    #[arg(long)]
    dry_run: bool,
    /// How long waiting for readiness, and for each hook, may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// List a cluster's releases (every namespace unless one is given).
    List {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// Only this namespace.
        #[arg(long, short = 'n')]
        namespace: Option<String>,
    },
    /// Show a release: its latest revision and whether each of its objects is ready.
    Get {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The release.
        release: String,
        /// Its namespace.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
    },
    /// Show every revision of a release.
    History {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The release.
        release: String,
        /// Its namespace.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
    },
    /// Roll a release back to a revision (the one before the latest by default).
    Rollback {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The release.
        release: String,
        /// The revision to go back to.
        revision: Option<u32>,
        /// Its namespace.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// Wait until it is done, showing each step.
        #[arg(long)]
        wait: bool,
    },
    /// Run a release's tests (its `test` hooks) one by one, as `helm test` does; exits non-zero
    /// when one fails.
    Test {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The release.
        release: String,
        /// Its namespace.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
    },
    /// Uninstall a release.
    Uninstall {
        #[command(flatten)]
        org: OrgArg,
        /// The cluster's name or id.
        cluster: String,
        /// The release.
        release: String,
        /// Its namespace.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// Keep its records, the last marked `uninstalled`.
        #[arg(long)]
        keep_history: bool,
        /// Wait until it is done.
        #[arg(long)]
        wait: bool,
    },
}

/// The chart CHART names: a `.tgz` as it is, a directory packed, or `repo/chart` of the
/// organization's repositories or an `oci://` reference (both fetched by the server).
fn chart_source(
    path: &PathBuf,
    version: Option<String>,
    plain_http: bool,
) -> anyhow::Result<(Vec<u8>, Option<ChartRefView>)> {
    if path.is_dir() {
        let archive =
            reef_helm::chart::package_dir(path).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.0))?;
        return Ok((archive, None));
    }
    if path.is_file() {
        return Ok((std::fs::read(path).with_context(|| format!("reading {}", path.display()))?, None));
    }
    let name = path.to_string_lossy();
    if name.starts_with("oci://") {
        let oci = Some(name.into_owned());
        return Ok((
            Vec::new(),
            Some(ChartRefView { repo: String::new(), name: String::new(), oci, plain_http, version }),
        ));
    }
    if plain_http {
        bail!("--plain-http is for oci:// references");
    }
    match name.split_once('/') {
        Some((repo, chart))
            if !repo.is_empty() && !chart.is_empty() && !name.starts_with('.') && !chart.contains('/') =>
        {
            let chart =
                ChartRefView { repo: repo.to_owned(), name: chart.to_owned(), oci: None, plain_http: false, version };
            Ok((Vec::new(), Some(chart)))
        }
        _ => bail!("{name}: no such chart directory or archive, and not repo/chart"),
    }
}

fn releases_table(items: &[ReleaseView]) -> Table {
    let mut t = Table::new(vec!["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"]);
    for r in items {
        t.row(vec![
            r.name.clone(),
            r.namespace.clone(),
            r.revision.to_string(),
            r.updated.clone().unwrap_or_else(|| "-".to_owned()),
            r.status.clone(),
            r.chart.clone(),
            r.app_version.clone(),
        ]);
    }
    t
}

fn history_table(items: &[ReleaseView]) -> Table {
    let mut t = Table::new(vec!["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]);
    for r in items {
        t.row(vec![
            r.revision.to_string(),
            r.updated.clone().unwrap_or_else(|| "-".to_owned()),
            r.status.clone(),
            r.chart.clone(),
            r.app_version.clone(),
            r.description.clone(),
        ]);
    }
    t
}

fn detail_table(d: &ReleaseDetailView) -> Table {
    let mut t = Table::new(vec!["KIND", "NAMESPACE", "NAME", "READY"]);
    for r in &d.resources {
        t.row(vec![
            r.kind.clone(),
            r.namespace.clone().unwrap_or_else(|| "-".to_owned()),
            r.name.clone(),
            if r.ready { "yes".to_owned() } else { format!("no: {}", r.reason.clone().unwrap_or_default()) },
        ]);
    }
    t
}

pub async fn deploy(s: &Session, format: Format, args: DeployArgs) -> anyhow::Result<()> {
    let org = s.org(&args.org);
    let (chart, chart_ref) = chart_source(&args.chart, args.version.clone(), args.plain_http)?;
    let mut values = Vec::new();
    for f in &args.values {
        values.push(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?);
    }
    let req = DeployRequest {
        release: args.release.clone(),
        namespace: args.namespace.clone(),
        chart: base64::engine::general_purpose::STANDARD.encode(chart),
        chart_ref,
        values,
        set: args.set,
        set_string: args.set_string,
        set_json: args.set_json,
        values_from: args
            .set_from_secret
            .iter()
            .map(|s| {
                let (path, from) = s.split_once('=').context("--set-from-secret takes PATH=SECRET:FIELD")?;
                let (secret, key) = from.split_once(':').context("--set-from-secret takes PATH=SECRET:FIELD")?;
                Ok(reef_api_types::ValueFromSecret {
                    path: path.to_owned(),
                    secret: secret.to_owned(),
                    key: key.to_owned(),
                })
            })
            .collect::<anyhow::Result<_>>()?,
        wait: args.wait,
        atomic: args.atomic,
        create_namespace: args.create_namespace,
        no_hooks: args.no_hooks,
        timeout_seconds: Some(args.timeout),
    };
    if args.dry_run {
        let d = s.client.diff_release(&org, &args.cluster, &args.release, &req).await?;
        eprintln!("Would {} release `{}` in `{}` as revision {}:", d.change, args.release, args.cluster, d.revision);
        return print(format, &d, |d| {
            let mut t = Table::new(vec!["DIFF"]);
            if d.diff.is_empty() {
                t.row(vec!["(no change)".to_owned()]);
            }
            for line in d.diff.lines() {
                t.row(vec![line.to_owned()]);
            }
            t
        });
    }
    if args.cluster.contains(',') {
        return deploy_many(s, format, &org, &args.cluster, &args.release, req).await;
    }
    // Installed unless it exists: then upgraded (`helm upgrade --install`).
    let exists = match s.client.get_release(&org, &args.cluster, &args.release, &args.namespace).await {
        Ok(r) => r.release.status != "uninstalled",
        Err(e) if e.status() == Some(404) => false,
        Err(e) => return Err(e.into()),
    };
    let op = if exists {
        s.client.upgrade_release(&org, &args.cluster, &args.release, &req).await?
    } else {
        s.client.install_release(&org, &args.cluster, &req).await?
    };
    let verb = if exists { "Upgrading" } else { "Installing" };
    eprintln!("{verb} release `{}` in `{}` (operation {})", args.release, args.cluster, op.id);
    let op = follow(s, &org, &op).await?;
    let release = s.client.get_release(&org, &args.cluster, &args.release, &args.namespace).await?;
    eprintln!("{}", operation_summary(&op));
    if !release.release.notes.is_empty() && format == Format::Table {
        eprintln!("NOTES:\n{}", release.release.notes);
    }
    print(format, &release, detail_table)
}

/// `reef deploy a,b,c ...`: the same deployment in each cluster, each followed to its end.
async fn deploy_many(
    s: &Session,
    format: Format,
    org: &str,
    cluster_list: &str,
    release: &str,
    req: DeployRequest,
) -> anyhow::Result<()> {
    let clusters: Vec<String> =
        cluster_list.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
    let started =
        s.client.deploy_to_clusters(org, &reef_api_types::MultiDeployRequest { clusters, deployment: req }).await?;
    let mut rows = Vec::new();
    let mut failed = 0;
    for r in started {
        let outcome = match (&r.operation, &r.error) {
            (Some(op), _) => {
                eprintln!(
                    "{} release `{}` in `{}` (operation {})",
                    r.change.as_deref().unwrap_or("deploy"),
                    release,
                    r.cluster,
                    op.id
                );
                match follow(s, org, op).await {
                    Ok(done) => operation_summary(&done),
                    Err(e) => {
                        failed += 1;
                        e.to_string()
                    }
                }
            }
            (None, Some(p)) => {
                failed += 1;
                format!("not started: {} ({})", p.detail, p.code)
            }
            (None, None) => "not started".to_owned(),
        };
        rows.push(serde_json::json!({"cluster": r.cluster, "change": r.change, "outcome": outcome}));
    }
    print(format, &rows, |rows| {
        let mut t = Table::new(vec!["CLUSTER", "CHANGE", "OUTCOME"]);
        for r in rows {
            t.row(vec![
                r["cluster"].as_str().unwrap_or("").to_owned(),
                r["change"].as_str().unwrap_or("-").to_owned(),
                r["outcome"].as_str().unwrap_or("").to_owned(),
            ]);
        }
        t
    })?;
    if failed > 0 {
        bail!("the deployment did not succeed in {failed} of the clusters");
    }
    Ok(())
}

pub async fn run(s: &Session, format: Format, cmd: ReleaseCommand) -> anyhow::Result<()> {
    match cmd {
        ReleaseCommand::List { org, cluster, namespace } => {
            let all = s.client.list_releases(&s.org(&org), &cluster, namespace.as_deref()).await?;
            print(format, &all, |l| releases_table(l))
        }
        ReleaseCommand::Get { org, cluster, release, namespace } => {
            let r = s.client.get_release(&s.org(&org), &cluster, &release, &namespace).await?;
            if format == Format::Table {
                println!(
                    "{} (revision {}): {}, chart {}; {}",
                    r.release.name, r.release.revision, r.release.status, r.release.chart, r.release.description
                );
            }
            print(format, &r, detail_table)
        }
        ReleaseCommand::History { org, cluster, release, namespace } => {
            let all = s.client.release_history(&s.org(&org), &cluster, &release, &namespace).await?;
            print(format, &all, |h| history_table(h))
        }
        ReleaseCommand::Rollback { org, cluster, release, revision, namespace, wait } => {
            let org = s.org(&org);
            let op = s.client.rollback_release(&org, &cluster, &release, &namespace, revision).await?;
            if !wait {
                eprintln!("Rolling back `{release}`: {}", operation_summary(&op));
                return print(format, &op, operation_table);
            }
            let op = follow(s, &org, &op).await?;
            print(format, &op, operation_table)
        }
        ReleaseCommand::Test { org, cluster, release, namespace } => {
            let done = s.client.test_release(&s.org(&org), &cluster, &release, &namespace).await?;
            eprintln!("{} tests of `{release}` passed.", done.passed.len());
            print(format, &done, |d| {
                let mut t = Table::new(vec!["TEST", "RESULT"]);
                for p in &d.passed {
                    t.row(vec![p.clone(), "passed".to_owned()]);
                }
                if let Some(f) = &d.failed {
                    t.row(vec![f.test.clone(), f.reason.clone()]);
                }
                t
            })?;
            if let Some(f) = &done.failed {
                bail!("test {} of `{release}` {}", f.test, f.reason);
            }
            Ok(())
        }
        ReleaseCommand::Uninstall { org, cluster, release, namespace, keep_history, wait } => {
            let org = s.org(&org);
            let op = s.client.uninstall_release(&org, &cluster, &release, &namespace, keep_history).await?;
            if !wait {
                eprintln!("Uninstalling `{release}`: {}", operation_summary(&op));
                return print(format, &op, operation_table);
            }
            let op = follow(s, &org, &op).await?;
            eprintln!("Uninstalled `{release}`.");
            print(format, &op, operation_table)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Add a chart repository (Helm's HTTP repositories); its index is fetched now.
    Add {
        #[command(flatten)]
        org: OrgArg,
        /// Its name.
        name: String,
        /// Its URL (where `index.yaml` is), or an OCI registry's location
        /// (`oci://registry[/path]`), whose charts are then `NAME/chart`.
        url: String,
        /// A secret of the organization with its credentials (`username` and `password`, or
        /// `token`); a registry's also serve `oci://` references under its location.
        #[arg(long)]
        secret: Option<String>,
        /// Reach the OCI registry over HTTP rather than HTTPS.
        #[arg(long)]
        plain_http: bool,
    },
    /// List the organization's chart repositories.
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    /// Fetch repositories' indexes again (every repository when none is named).
    Update {
        #[command(flatten)]
        org: OrgArg,
        /// The repositories.
        names: Vec<String>,
    },
    /// Forget a chart repository.
    Remove {
        #[command(flatten)]
        org: OrgArg,
        /// Its name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChartCommand {
    /// Search the organization's repositories' charts by name and description.
    Search {
        #[command(flatten)]
        org: OrgArg,
        /// Words to look for [default: every chart].
        term: Option<String>,
    },
}

fn repos_table(items: &[reef_api_types::ChartRepoView]) -> Table {
    let mut t = Table::new(vec!["NAME", "URL", "CHARTS", "UPDATED"]);
    for r in items {
        t.row(vec![r.name.clone(), r.url.clone(), r.charts.to_string(), super::output::time(&r.updated_at)]);
    }
    t
}

pub async fn run_repo(s: &Session, format: Format, cmd: RepoCommand) -> anyhow::Result<()> {
    match cmd {
        RepoCommand::Add { org, name, url, secret, plain_http } => {
            let req = reef_api_types::AddChartRepoRequest { name, url, secret, plain_http };
            let repo = s.client.add_chart_repo(&s.org(&org), &req).await?;
            if repo.url.starts_with("oci://") {
                eprintln!("Added registry `{}`.", repo.name);
            } else {
                eprintln!("Added repository `{}` ({} charts).", repo.name, repo.charts);
            }
            print(format, &repo, |r| repos_table(std::slice::from_ref(r)))
        }
        RepoCommand::List { org } => print(format, &s.client.list_chart_repos(&s.org(&org)).await?, |l| repos_table(l)),
        RepoCommand::Update { org, names } => {
            let org = s.org(&org);
            let names = if names.is_empty() {
                s.client.list_chart_repos(&org).await?.into_iter().map(|r| r.name).collect()
            } else {
                names
            };
            let mut done = Vec::new();
            for name in names {
                done.push(s.client.update_chart_repo(&org, &name).await?);
            }
            print(format, &done, |l| repos_table(l))
        }
        RepoCommand::Remove { org, name } => {
            s.client.remove_chart_repo(&s.org(&org), &name).await?;
            eprintln!("Removed repository `{name}`.");
            Ok(())
        }
    }
}

pub async fn run_chart(s: &Session, format: Format, cmd: ChartCommand) -> anyhow::Result<()> {
    match cmd {
        ChartCommand::Search { org, term } => {
            let found = s.client.search_charts(&s.org(&org), term.as_deref().unwrap_or("")).await?;
            print(format, &found, |l| {
                let mut t = Table::new(vec!["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"]);
                for c in l {
                    t.row(vec![
                        format!("{}/{}", c.repo, c.name),
                        c.version.clone(),
                        c.app_version.clone(),
                        c.description.clone(),
                    ]);
                }
                t
            })
        }
    }
}
