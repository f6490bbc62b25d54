//! One process serving many simulated clusters.
//!
//! Starts `REEF_BENCH_CLUSTERS` clusters (default 1,000), each with its own HTTPS API server,
//! controllers and 10 nodes, and a Deployment of 100 replicas in each; waits until every
//! cluster reports 100 available replicas. Reports the time that took and the resident memory
//! per cluster. Then, in one more cluster, stores 10,000 pods and measures listing all of them
//! over its HTTPS API (`GET /api/v1/pods`, as `kubectl get pods -A` does): p50 and p99 of
//! `REEF_BENCH_LISTS` requests (default 30), next to listing a single pod of the same cluster
//! as the peer (ratio printed).

// Benchmark code: a failure is a failed run, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use reef_kubesim::cluster::{ClusterOptions, SimCluster};
use reef_kubesim::store::WriteOptions;
use reef_kubesim::{NodePool, SimConfig};
use serde_json::json;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn deployment(replicas: usize) -> serde_json::Value {
    json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.29",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}})
}

async fn start(name: String, nodes: u32) -> SimCluster {
    let config =
        SimConfig { node_pools: vec![NodePool::new("node", nodes)], pod_ready_delay: Duration::from_millis(100) };
    SimCluster::start(ClusterOptions { name, config, data_dir: None }).await.expect("starting a cluster")
}

fn available(cluster: &SimCluster) -> i64 {
    let store = cluster.store();
    let t = store.registry().find("apps", "v1", "deployments").unwrap();
    store
        .get(&t, Some("default"), "web")
        .ok()
        .and_then(|d| d.pointer("/status/availableReplicas").and_then(|v| v.as_i64()))
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn timed_gets(http: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let body =
            http.get(url).bearer_auth(token).send().await.unwrap().error_for_status().unwrap().bytes().await.unwrap();
        assert!(!body.is_empty());
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clusters = env("REEF_BENCH_CLUSTERS", 1000);
    let lists = env("REEF_BENCH_LISTS", 30);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let before = rss_bytes();
        let started = Instant::now();
        let mut all = Vec::with_capacity(clusters);
        for i in 0..clusters {
            let c = start(format!("c{i}"), 10).await;
            let t = c.store().registry().find("apps", "v1", "deployments").unwrap();
            c.store().create(&t, Some("default"), deployment(100), &WriteOptions::default()).unwrap();
            all.push(c);
        }
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            let ready = all.iter().filter(|c| available(c) == 100).count();
            if ready == clusters {
                break;
            }
            assert!(Instant::now() < deadline, "only {ready} of {clusters} clusters rolled out within an hour");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let took = started.elapsed();
        // Let the controllers go idle before measuring memory.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_bytes();
        let per_cluster = (after.saturating_sub(before)) as f64 / clusters as f64;
        println!("reef-kubesim scale benchmark: {clusters} clusters x 10 nodes x 100 pods, {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        println!("time to create and roll out every cluster: {:.1} s ({:.1} ms per cluster)", took.as_secs_f64(), took.as_secs_f64() * 1e3 / clusters as f64);
        println!("resident memory: {:.1} MiB in all, {:.2} MiB per cluster", after as f64 / 1048576.0, per_cluster / 1048576.0);

        let big = start("big".into(), 100).await;
        let pods = big.store().registry().find("", "v1", "pods").unwrap();
        for i in 0..10_000 {
            let pod = json!({"metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bulk"}},
                "spec": {"nodeName": format!("node-{}", i % 100), "containers": [{"name": "c", "image": "nginx:1.29"}]}});
            big.store().create(&pods, Some("default"), pod, &WriteOptions::default()).unwrap();
        }
        let ca = reqwest::Certificate::from_pem(ca_pem(&big.kubeconfig()).as_bytes()).unwrap();
        let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
        let token = token(&big.kubeconfig());
        let list = timed_gets(&http, &format!("{}/api/v1/pods", big.url()), &token, lists).await;
        let one = timed_gets(&http, &format!("{}/api/v1/namespaces/default/pods/pod-00042", big.url()), &token, lists).await;
        println!(
            "list 10,000 pods over HTTPS: p50 {:.1} ms, p99 {:.1} ms ({lists} requests); peer, get one pod: p50 {:.2} ms, p99 {:.2} ms; ratio p99 {:.0}",
            percentile(&list, 0.5).as_secs_f64() * 1e3,
            percentile(&list, 0.99).as_secs_f64() * 1e3,
            percentile(&one, 0.5).as_secs_f64() * 1e3,
            percentile(&one, 0.99).as_secs_f64() * 1e3,
            percentile(&list, 0.99).as_secs_f64() / percentile(&one, 0.99).as_secs_f64(),
        );
        drop(all);
    });
}

fn kubeconfig_field<'a>(kubeconfig: &'a str, key: &str) -> &'a str {
    kubeconfig.lines().find_map(|l| l.trim().strip_prefix(key)).map(|v| v.trim().trim_matches('"')).unwrap_or("")
}

fn ca_pem(kubeconfig: &str) -> String {
    use base64::Engine as _;
    let data = kubeconfig_field(kubeconfig, "certificate-authority-data:");
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(data).unwrap()).unwrap()
}

fn token(kubeconfig: &str) -> String {
    kubeconfig_field(kubeconfig, "token:").to_owned()
}
