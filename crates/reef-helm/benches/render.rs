//! `reef template` against `helm template`, chart by chart, in the same run.
//!
//! For each chart of the public corpus (`shared/charts` beside the repository, or
//! `$REEF_CHART_CORPUS`) that helm renders with its default values, this times `helm template`
//! (the real binary, `$REEF_HELM` or the test peer cache) and `reef_helm::template::render` on
//! the same chart and prints the median of each and their ratio. Both include loading the
//! chart from disk; helm also pays its process start, which is what a user of `helm template`
//! pays too. The runs of the two alternate. `REEF_BENCH_RUNS` sets the runs per chart
//! (default 15: on a small machine a case moves by about 10% from run to run, and the median
//! of fewer runs moves more). reef runs with the allocator the `reef` binary ships with
//! (mimalloc), so the numbers are those of `reef template`. A few charts are also timed with `--set` values
//! ([`EXTRA_CASES`]).
//!
//! The ratio is of elapsed time, what a user waits for. Both programs use more than one
//! thread (helm's Go runtime collects garbage on its own threads; reef parses templates and
//! makes RSA keys on several), so the CPU time each spent (user and system, all threads) is
//! printed too.

// Benchmark code: a failure is a failed run, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use reef_helm::template::{TemplateOptions, render};

// The `reef` binary's allocator: `reef template` renders with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// User and system CPU time of this process (all threads), or of its waited-for children.
fn cpu(who: UsageWho) -> Duration {
    let usage = getrusage(who).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}

/// Extra cases: a chart with `--set` values. nginx makes two 2048-bit RSA keys by default
/// (`genCA` and `genSignedCert` for its TLS secret), which is most of its time in both
/// programs; without them it shows what the rest of the chart costs.
const EXTRA_CASES: &[(&str, &[&str])] = &[("nginx", &["tls.enabled=false"])];

fn main() {
    let (Some(corpus), Some(helm)) = (reef_testkit::chart_corpus(), reef_testkit::helm()) else {
        eprintln!("render bench: needs the chart corpus (shared/charts or REEF_CHART_CORPUS) and helm (REEF_HELM)");
        std::process::exit(2);
    };
    let runs: usize = std::env::var("REEF_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15).max(1);
    let mut charts: Vec<PathBuf> =
        std::fs::read_dir(&corpus).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    charts.sort();
    let mut cases: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for chart in charts {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        cases.push((chart.clone(), Vec::new()));
        for (extra, set) in EXTRA_CASES {
            if *extra == name {
                cases.push((chart.clone(), set.iter().map(|s| s.to_string()).collect()));
            }
        }
    }
    println!(
        "{:<40} {:>10} {:>10} {:>8} {:>13} {:>13}",
        "chart", "helm ms", "reef ms", "ratio", "helm cpu ms", "reef cpu ms"
    );
    let mut ratios = Vec::new();
    for (chart, set) in cases {
        let mut name = chart.file_name().unwrap().to_string_lossy().into_owned();
        for s in &set {
            name.push_str(&format!(" --set {s}"));
        }
        let helm_run = || {
            let cpu_start = cpu(UsageWho::RUSAGE_CHILDREN);
            let start = Instant::now();
            let mut cmd = Command::new(&helm);
            cmd.args(["template", "reef-bench", "--namespace", "default"]).arg(&chart);
            for s in &set {
                cmd.args(["--set", s]);
            }
            let out = cmd.output().expect("running helm");
            (start.elapsed(), out.status.success(), cpu(UsageWho::RUSAGE_CHILDREN) - cpu_start)
        };
        if !helm_run().1 {
            println!("{name:<40} (helm does not render it with these values; skipped)");
            continue;
        }
        let opts = TemplateOptions {
            release_name: "reef-bench".to_owned(),
            chart: chart.clone(),
            namespace: "default".to_owned(),
            set: set.clone(),
            ..TemplateOptions::default()
        };
        if let Err(e) = render(&opts) {
            println!("{name:<40} (reef does not render it: {e}; skipped)");
            continue;
        }
        // Runs alternate between the two programs, so a change in the machine's load falls
        // on both.
        let (mut helm_times, mut reef_times, mut helm_cpu, mut reef_cpu) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let (elapsed, _, helm_cpu_time) = helm_run();
            helm_times.push(elapsed);
            helm_cpu.push(helm_cpu_time);
            let cpu_start = cpu(UsageWho::RUSAGE_SELF);
            let start = Instant::now();
            let out = render(&opts).expect("reef renders it");
            std::hint::black_box(out);
            reef_times.push(start.elapsed());
            reef_cpu.push(cpu(UsageWho::RUSAGE_SELF) - cpu_start);
        }
        let (h, r) = (median(helm_times), median(reef_times));
        let ratio = h.as_secs_f64() / r.as_secs_f64();
        ratios.push((name.clone(), ratio));
        println!(
            "{name:<40} {:>10.1} {:>10.1} {:>7.1}x {:>13.1} {:>13.1}",
            ms(h),
            ms(r),
            ratio,
            ms(median(helm_cpu)),
            ms(median(reef_cpu))
        );
    }
    if let Some((worst, ratio)) = ratios.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        println!("slowest ratio: {worst} {ratio:.1}x (target: at least 10x on every chart)");
    }
}
