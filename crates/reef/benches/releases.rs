//! Releases installed per second: reef's API against sequential `helm install`.
//!
//! Starts `reef server` (a separate process) on a fresh SQLite data directory and creates
//! `local` clusters there (simulated by reef-kubesim inside the server, one small node each):
//! one set for reef and one of the same size for helm, all created and running before anything
//! is timed. Then, in one run:
//!
//! - reef: the corpus's podinfo installed as `REEF_BENCH_RELEASES` releases spread evenly over
//!   the first set, through `POST .../clusters/{cluster}/deployments`, with
//!   `REEF_BENCH_CONCURRENCY` installs in flight (each submitted, then its operation followed
//!   until it ends); timed from the first request until the last operation has ended.
//! - helm: the same number of releases into the second set, one `helm install` after the other,
//!   each with the cluster's kubeconfig as reef hands it out.
//!
//! Both sides do the same work: by default neither waits for readiness (reef's `wait` is
//! false unless asked; helm 4 waits for hooks only), and podinfo has no hooks by default.
//! `REEF_BENCH_WAIT=1` makes both wait until every object is ready (reef `wait: true`, helm
//! `--wait=watcher`). Every install is checked: failures are counted and printed, and each
//! cluster's releases are listed through reef's API afterwards.
//!
//! Target: at least 20 releases/s on 2 cores.
//!
//! Peers: the chart corpus (`$REEF_CHART_CORPUS`) and helm 4.2.3 (`$REEF_HELM`), as
//! `scripts/test --peers-only` provides them. Without the corpus nothing is measured; without
//! helm only reef is.
//!
//! Environment: `REEF_BENCH_CLUSTERS` (default 50 per side), `REEF_BENCH_RELEASES` (default
//! 500 per side), `REEF_BENCH_CONCURRENCY` (default 32), `REEF_BENCH_WAIT` (default 0).

// Benchmark code: a failed unwrap is a failed setup, with its location; the output is printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reef_api_types::{CreateClusterRequest, DeployRequest, NodePoolSpec, OperationView};
use reef_client::Client;

#[path = "support/server.rs"]
mod server;
use server::Server;

const ORG: &str = "default";
const NAMESPACE: &str = "default";
/// The longest one operation (a cluster's creation, an install) is followed.
const OPERATION_LIMIT: Duration = Duration::from_secs(600);
const TARGET: f64 = 20.0;

impl Server {
    /// A line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in MiB; None where there is no /proc.
    fn memory_mib(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
        let kib: f64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib / 1024.0)
    }

    fn memory(&self) -> String {
        match (self.memory_mib("VmRSS"), self.memory_mib("VmHWM")) {
            (Some(rss), Some(peak)) => format!("{rss:.0} MiB resident, peak {peak:.0} MiB"),
            _ => "unknown (no /proc)".to_owned(),
        }
    }
}

/// CPU time spent so far, read from /proc (zero where there is none), in seconds: the
/// server's, this process's, its reaped children's (the helm runs), and the whole machine's
/// busy time over all cores. The kernel counts in USER_HZ, 100 on Linux.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    server: f64,
    bench: f64,
    children: f64,
    machine: f64,
}

impl Cpu {
    fn now(server: &Server) -> Cpu {
        const HZ: f64 = 100.0;
        // Fields of /proc/PID/stat after the command's closing parenthesis, from field 3.
        let stat = |pid: &str| -> Vec<f64> {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let rest = text.rsplit_once(')').map_or("", |(_, rest)| rest);
            rest.split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect()
        };
        // utime, stime, cutime, cstime are fields 14 to 17.
        let times = |fields: &[f64], from: usize| fields.get(from - 3..from - 1).map_or(0.0, |t| t.iter().sum()) / HZ;
        let (server_stat, own) = (stat(&server.child.id().to_string()), stat("self"));
        // The first line of /proc/stat: `cpu user nice system idle iowait irq softirq steal ...`.
        let machine = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<f64> = machine
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().unwrap_or(0.0))
            .collect();
        let idle = ticks.get(3..5).map_or(0.0, |t| t.iter().sum());
        Cpu {
            server: times(&server_stat, 14),
            bench: times(&own, 14),
            children: times(&own, 16),
            machine: (ticks.iter().sum::<f64>() - idle) / HZ,
        }
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            server: self.server - start.server,
            bench: self.bench - start.bench,
            children: self.children - start.children,
            machine: self.machine - start.machine,
        }
    }
}

/// What the environment asks for.
struct Sizes {
    clusters: usize,
    releases: usize,
    concurrency: usize,
    wait: bool,
}

impl Sizes {
    fn from_env() -> Sizes {
        let number = |name: &str, default: usize| {
            std::env::var(name).ok().and_then(|s| s.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
        };
        let wait = std::env::var("REEF_BENCH_WAIT").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        Sizes {
            clusters: number("REEF_BENCH_CLUSTERS", 50),
            releases: number("REEF_BENCH_RELEASES", 500),
            concurrency: number("REEF_BENCH_CONCURRENCY", 32),
            wait,
        }
    }

    /// Release `i`'s cluster (of the side's set) and name: spread evenly, the clusters in turn.
    fn release(&self, i: usize) -> (usize, String) {
        (i % self.clusters, format!("podinfo-{i:04}"))
    }
}

/// Creates `count` local clusters of one small node named `{prefix}-NN`, all at once, and waits
/// until every one runs.
async fn create_clusters(client: &Client, prefix: &str, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i:02}")).collect();
    let mut tasks = Vec::new();
    for name in &names {
        let (client, name) = (client.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            let pool = NodePoolSpec {
                name: "workers".to_owned(),
                instance_type: "small".to_owned(),
                count: 1,
                min: None,
                max: None,
                autoscaling: false,
                spot: false,
                labels: BTreeMap::new(),
                taints: Vec::new(),
                disk_size_gib: None,
            };
            let spec = CreateClusterRequest {
                name: name.clone(),
                provider: "local".to_owned(),
                region: "local".to_owned(),
                kubernetes_version: None,
                node_pools: vec![pool],
                secret: None,
                labels: BTreeMap::new(),
                options: Default::default(),
            };
            let created = client.create_cluster(ORG, &spec).await.expect("creating a cluster");
            let op = client
                .wait_for_operation(ORG, &created.operation.id.to_string(), OPERATION_LIMIT)
                .await
                .expect("following a cluster's creation");
            assert_eq!(op.status, "succeeded", "cluster {name} was not created: {:?}", op.error);
        }));
    }
    for t in tasks {
        t.await.expect("cluster task");
    }
    names
}

/// One side's run.
struct Run {
    label: String,
    releases: usize,
    failures: Vec<String>,
    elapsed: Duration,
    /// CPU time spent while it ran.
    cpu: Cpu,
    /// Releases `deployed` in its clusters afterwards, as reef's API lists them.
    deployed: usize,
}

impl Run {
    fn rate(&self) -> f64 {
        (self.releases - self.failures.len()) as f64 / self.elapsed.as_secs_f64()
    }
}

async fn reef_installs(client: &Client, clusters: &[String], sizes: &Sizes, chart: &str) -> (Run, Vec<OperationView>) {
    let request = |release: String| DeployRequest {
        release,
        namespace: NAMESPACE.to_owned(),
        chart: chart.to_owned(),
        chart_ref: None,
        values: Vec::new(),
        set: Vec::new(),
        set_string: Vec::new(),
        set_json: Vec::new(),
        values_from: Vec::new(),
        wait: sizes.wait,
        atomic: false,
        create_namespace: false,
        no_hooks: false,
        timeout_seconds: None,
    };
    let all: Arc<Vec<(String, DeployRequest)>> = Arc::new(
        (0..sizes.releases)
            .map(|i| {
                let (cluster, name) = sizes.release(i);
                (clusters[cluster].clone(), request(name))
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..sizes.concurrency.min(sizes.releases) {
        let (client, all, next) = (client.clone(), all.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ops, mut failures) = (Vec::new(), Vec::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((cluster, req)) = all.get(i) else { break };
                let what = format!("{cluster}/{}", req.release);
                let op = match client.install_release(ORG, cluster, req).await {
                    Ok(op) => op,
                    Err(e) => {
                        failures.push(format!("{what}: refused: {e}"));
                        continue;
                    }
                };
                match client.wait_for_operation(ORG, &op.id.to_string(), OPERATION_LIMIT).await {
                    Ok(op) if op.status == "succeeded" => ops.push(op),
                    Ok(op) => {
                        let step = op.failed_step.as_deref().unwrap_or("-");
                        failures.push(format!(
                            "{what}: {} at {step}: {}",
                            op.status,
                            op.error.as_deref().unwrap_or("")
                        ));
                    }
                    Err(e) => failures.push(format!("{what}: following the operation: {e}")),
                }
            }
            (ops, failures)
        }));
    }
    let (mut ops, mut failures) = (Vec::new(), Vec::new());
    for t in tasks {
        let (o, f) = t.await.expect("install task");
        ops.extend(o);
        failures.extend(f);
    }
    let elapsed = started.elapsed();
    let label = format!("reef API, {} in flight", sizes.concurrency);
    (Run { label, releases: sizes.releases, failures, elapsed, cpu: Cpu::default(), deployed: 0 }, ops)
}

/// `clusters`: each cluster's name and kubeconfig file.
fn helm_installs(helm: &Path, clusters: &[(String, PathBuf)], sizes: &Sizes, chart: &Path, home: &Path) -> Run {
    let started = Instant::now();
    let mut failures = Vec::new();
    for i in 0..sizes.releases {
        let (cluster, name) = sizes.release(i);
        let (cluster, kubeconfig) = &clusters[cluster];
        let mut cmd = Command::new(helm);
        cmd.args(["install", &name])
            .arg(chart)
            .args(["-n", NAMESPACE, "--kubeconfig"])
            .arg(kubeconfig)
            // The user's helm and kube settings stay out of it; helm starts with empty caches.
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("KUBECACHEDIR", home.join("kube-cache"));
        if sizes.wait {
            cmd.arg("--wait=watcher");
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => failures.push(format!("{cluster}/{name}: {}", String::from_utf8_lossy(&out.stderr).trim())),
            Err(e) => failures.push(format!("{cluster}/{name}: running helm: {e}")),
        }
    }
    Run {
        label: "helm install, sequential".to_owned(),
        releases: sizes.releases,
        failures,
        elapsed: started.elapsed(),
        cpu: Cpu::default(),
        deployed: 0,
    }
}

/// How many releases the clusters hold as `deployed`, read through reef's API (which reads
/// helm's records as well as its own).
async fn deployed(client: &Client, clusters: &[String]) -> usize {
    let mut n = 0;
    for cluster in clusters {
        let releases = client.list_releases(ORG, cluster, Some(NAMESPACE)).await.expect("listing releases");
        n += releases.iter().filter(|r| r.status == "deployed").count();
    }
    n
}

fn report(runs: &[&Run], cores: usize) {
    println!("{:<28} {:>8} {:>8} {:>9} {:>11} {:>9}", "run", "releases", "failed", "seconds", "releases/s", "deployed");
    for run in runs {
        println!(
            "{:<28} {:>8} {:>8} {:>9.1} {:>11.2} {:>9}",
            run.label,
            run.releases,
            run.failures.len(),
            run.elapsed.as_secs_f64(),
            run.rate(),
            run.deployed
        );
    }
    println!();
    println!(
        "CPU seconds while each ran (client: this process and the helm processes; others: the rest of the machine)"
    );
    println!("{:<28} {:>9} {:>8} {:>8} {:>8} {:>8}", "run", "available", "machine", "server", "client", "others");
    for run in runs {
        let cpu = run.cpu;
        let client = cpu.bench + cpu.children;
        println!(
            "{:<28} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            run.label,
            run.elapsed.as_secs_f64() * cores as f64,
            cpu.machine,
            cpu.server,
            client,
            (cpu.machine - cpu.server - client).max(0.0)
        );
    }
    println!();
}

fn print_failures(run: &Run) {
    if run.failures.is_empty() {
        return;
    }
    println!("{}: {} of {} installs failed:", run.label, run.failures.len(), run.releases);
    for f in run.failures.iter().take(20) {
        println!("  {f}");
    }
    if run.failures.len() > 20 {
        println!("  ... and {} more", run.failures.len() - 20);
    }
}

/// Where reef's installs spent their time, from the operations' own step timestamps: the
/// queue (accepted to first step started), each step, and the whole operation.
fn step_breakdown(ops: &[OperationView]) {
    let mut spans: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
    for op in ops {
        let first = op.steps.iter().filter_map(|s| s.started_at).min();
        if let Some(first) = first {
            let queued = (first - op.created_at).num_microseconds().unwrap_or(0) as f64 / 1e3;
            spans.entry((0, "queued (accepted to begin)".to_owned())).or_default().push(queued);
        }
        for (i, step) in op.steps.iter().enumerate() {
            if let (Some(start), Some(end)) = (step.started_at, step.finished_at) {
                let ms = (end - start).num_microseconds().unwrap_or(0) as f64 / 1e3;
                spans.entry((i + 1, step.name.clone())).or_default().push(ms);
            }
        }
        if let Some(end) = op.finished_at {
            if let Some(first) = first {
                let ms = (end - first).num_microseconds().unwrap_or(0) as f64 / 1e3;
                spans.entry((usize::MAX - 1, "driven (begin to end)".to_owned())).or_default().push(ms);
            }
            let ms = (end - op.created_at).num_microseconds().unwrap_or(0) as f64 / 1e3;
            spans.entry((usize::MAX, "whole operation".to_owned())).or_default().push(ms);
        }
    }
    println!("reef install operations, {} succeeded (ms, from their step timestamps):", ops.len());
    println!("  {:<28} {:>8} {:>8} {:>8} {:>8}", "span", "mean", "p50", "p95", "max");
    for ((_, name), mut ms) in spans {
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        println!("  {name:<28} {mean:>8.1} {:>8.1} {:>8.1} {:>8.1}", at(0.5), at(0.95), at(1.0));
    }
    // Whether the pace holds as releases accumulate: the operations in the order they ended,
    // in five groups of the same size, each group's count over the time it took to end.
    // Too few for groups to mean anything: skip it.
    let Some(mut last) = ops.iter().map(|op| op.created_at).min().filter(|_| ops.len() >= 50) else { return };
    let mut ends: Vec<_> = ops.iter().filter_map(|op| op.finished_at).collect();
    ends.sort();
    let rates: Vec<String> = ends
        .chunks(ends.len().div_ceil(5))
        .map(|chunk| {
            let end = chunk[chunk.len() - 1];
            let seconds = (end - last).num_milliseconds() as f64 / 1e3;
            last = end;
            format!("{:.1}", chunk.len() as f64 / seconds)
        })
        .collect();
    println!("  releases/s by fifth of the run, in the order they ended: {}", rates.join(", "));
}

fn main() {
    reef_client::ensure_crypto_provider();
    let sizes = Sizes::from_env();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "reef releases benchmark: podinfo as {} releases over {} local clusters per side, {} in flight for reef, {cores} cores",
        sizes.releases, sizes.clusters, sizes.concurrency
    );
    let Some(corpus) = reef_testkit::chart_corpus() else {
        println!("skipped: the chart corpus was not found (set REEF_CHART_CORPUS; see scripts/test --peers-only)");
        return;
    };
    let chart_dir = corpus.join("podinfo");
    if !chart_dir.is_dir() {
        println!("skipped: the chart corpus at {} has no podinfo", corpus.display());
        return;
    }
    let helm = reef_testkit::helm();
    println!(
        "mode: {}",
        if sizes.wait {
            "both wait until every object is ready (reef `wait: true`, helm `--wait=watcher`)"
        } else {
            "neither waits for readiness (reef `wait: false`, its default; helm's default, hooks only)"
        }
    );
    let archive = reef_helm::chart::package_dir(&chart_dir).expect("packing podinfo");
    let chart = base64::engine::general_purpose::STANDARD.encode(&archive);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    // No step delay: cluster creation is not what is measured, and installs do not use it.
    let server = Server::start(&["--local-step-delay-ms", "0"]);
    let client = Client::new(&server.url, Some(server.token.clone())).expect("client");
    let scratch = tempfile::tempdir().expect("temp dir");

    let setup = Instant::now();
    let (reef_clusters, helm_clusters) = rt.block_on(async {
        let reef = create_clusters(&client, "reef", sizes.clusters);
        let helm = async {
            match helm {
                Some(_) => create_clusters(&client, "helm", sizes.clusters).await,
                None => Vec::new(),
            }
        };
        tokio::join!(reef, helm)
    });
    println!(
        "setup: {} clusters running in {:.1}s (not timed); reef server {}",
        reef_clusters.len() + helm_clusters.len(),
        setup.elapsed().as_secs_f64(),
        server.memory()
    );

    let before = Cpu::now(&server);
    let (mut reef_run, ops) = rt.block_on(reef_installs(&client, &reef_clusters, &sizes, &chart));
    reef_run.cpu = Cpu::now(&server).since(before);
    reef_run.deployed = rt.block_on(deployed(&client, &reef_clusters));
    println!("after reef's installs: reef server {}", server.memory());

    let helm_run = helm.as_deref().map(|helm| {
        let mut kubeconfigs = Vec::new();
        for cluster in &helm_clusters {
            let config = rt.block_on(client.cluster_kubeconfig(ORG, cluster)).expect("reading a kubeconfig");
            let path = scratch.path().join(format!("{cluster}.kubeconfig"));
            std::fs::write(&path, config).expect("writing a kubeconfig");
            kubeconfigs.push((cluster.clone(), path));
        }
        let before = Cpu::now(&server);
        let mut run = helm_installs(helm, &kubeconfigs, &sizes, &chart_dir, scratch.path());
        run.cpu = Cpu::now(&server).since(before);
        run.deployed = rt.block_on(deployed(&client, &helm_clusters));
        run
    });
    let end = server.memory();
    drop(server);

    println!();
    let runs: Vec<&Run> = std::iter::once(&reef_run).chain(&helm_run).collect();
    report(&runs, cores);
    for run in &runs {
        print_failures(run);
    }
    match &helm_run {
        Some(run) => println!("ratio reef/helm:           {:.2}", reef_run.rate() / run.rate()),
        None => println!("helm: skipped (not found; set REEF_HELM, see scripts/test --peers-only)"),
    }
    println!(
        "ratio reef/target 20/s:    {:.2}  ({})",
        reef_run.rate() / TARGET,
        if reef_run.rate() >= TARGET { "met" } else { "not met" }
    );
    println!("reef server at the end:    {end}");
    println!();
    step_breakdown(&ops);
}
