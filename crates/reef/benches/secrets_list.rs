//! Authenticated, paginated secret listing under load.
//!
//! Starts `reef server` (a separate process) on a fresh SQLite data directory, loads 1,000
//! secrets, then drives `GET /api/v1/orgs/default/secrets?limit=50` from this process over
//! loopback with a fixed number of concurrent connections for a fixed time, and reports
//! requests per second and latency percentiles. The same load against the unauthenticated
//! `/healthz` of the same server is measured side by side: the ratio between the two is what
//! authentication, authorization and the database cost per request. With a PostgreSQL peer
//! available (reef-testkit), the list is measured on PostgreSQL too.
//!
//! Target: at least 5,000 requests/s with p99 under 20 ms on 2 cores.
//!
//! Environment: `REEF_BENCH_SECONDS` (default 10), `REEF_BENCH_CONNECTIONS` (default 32).

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use reef_api_types::CreateSecretRequest;
use reef_client::Client;

#[path = "support/server.rs"]
mod server;
use server::Server;

fn start(database_url: Option<&str>) -> Server {
    match database_url {
        Some(url) => Server::start(&["--database-url", url]),
        None => Server::start(&[]),
    }
}

async fn load_secrets(client: &Client, n: usize) {
    let client = Arc::new(client.clone());
    let mut tasks = Vec::new();
    for chunk in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in (chunk..n).step_by(8) {
                let req = CreateSecretRequest {
                    name: format!("secret-{i:04}"),
                    secret_type: "password".into(),
                    values: [
                        ("username".to_owned(), format!("user{i}")),
                        ("password".to_owned(), format!("pw-{i}-long-enough")),
                    ]
                    .into(),
                    tags: vec![if i % 2 == 0 { "even".into() } else { "odd".into() }],
                };
                client.create_secret("default", &req).await.expect("creating a secret");
            }
        }));
    }
    for t in tasks {
        t.await.expect("loader task");
    }
}

struct Result {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Result {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

async fn drive(url: String, token: Option<String>, connections: usize, duration: Duration) -> Result {
    let http = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("http client");
    // Warm up: open the connections and fill caches.
    let warm_until = Instant::now() + Duration::from_secs(1);
    let run = |until: Instant| {
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < until {
                    let start = Instant::now();
                    let mut req = http.get(&url);
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    match req.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push(start.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            }));
        }
        tasks
    };
    for t in run(warm_until) {
        let _ = t.await;
    }
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in run(start + duration) {
        let (l, e) = t.await.expect("load task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Result { requests: latencies.len(), errors, elapsed, latencies }
}

fn report(name: &str, r: &Result) {
    println!(
        "{name:<44} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   errors {}",
        r.rate(),
        r.percentile(0.50).as_secs_f64() * 1e3,
        r.percentile(0.99).as_secs_f64() * 1e3,
        r.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        r.errors
    );
}

async fn measure(label: &str, server: &Server, connections: usize, duration: Duration) -> Result {
    let admin = Client::new(&server.url, Some(server.token.clone())).expect("client");
    load_secrets(&admin, 1000).await;
    let listed = admin.list_secrets("default", None, None, &Default::default()).await.expect("listing");
    assert_eq!(listed.items.len(), 50, "a page has 50 secrets");
    let list_url = format!("{}/api/v1/orgs/default/secrets?limit=50", server.url);
    let list = drive(list_url, Some(server.token.clone()), connections, duration).await;
    report(&format!("{label}: GET secrets?limit=50 (auth)"), &list);
    list
}

fn main() {
    reef_client::ensure_crypto_provider();
    let seconds = std::env::var("REEF_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let connections = std::env::var("REEF_BENCH_CONNECTIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let duration = Duration::from_secs(seconds);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!(
        "reef secrets-list benchmark: 1,000 secrets, {connections} connections, {seconds} s per run, {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    rt.block_on(async {
        let sqlite = start(None);
        let health = drive(format!("{}/healthz", sqlite.url), None, connections, duration).await;
        report("peer: GET /healthz (no auth, no database)", &health);
        let list = measure("sqlite", &sqlite, connections, duration).await;
        drop(sqlite);
        println!();
        println!("ratio list/healthz throughput: {:.2}", list.rate() / health.rate());
        println!(
            "ratio to target 5,000 req/s:   {:.2}  ({})",
            list.rate() / 5000.0,
            if list.rate() >= 5000.0 { "met" } else { "NOT met" }
        );
        let p99 = list.percentile(0.99).as_secs_f64() * 1e3;
        println!("ratio p99 to target 20 ms:     {:.2}  ({})", p99 / 20.0, if p99 < 20.0 { "met" } else { "NOT met" });
        match reef_testkit::shared_postgres() {
            Some(pg) => {
                let url = pg.create_database().expect("creating a database");
                let server = start(Some(&url));
                let pg_list = measure("postgres", &server, connections, duration).await;
                println!("ratio postgres/sqlite throughput: {:.2}", pg_list.rate() / list.rate());
            }
            None => println!("postgres: skipped (no PostgreSQL found; scripts/test --peers-only installs it)"),
        }
    });
}
