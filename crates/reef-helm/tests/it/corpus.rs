//! The public chart corpus (`shared/charts`, or `$REEF_CHART_CORPUS`) rendered by reef and by
//! the real helm, with default values, the chart's own `ci/*.yaml` value sets and the value
//! sets in `tests/corpus-values/<chart>/`. Helm renders each case twice, before and after
//! reef: where its two runs differ (random, time and key-generating functions) reef's output
//! must have the same shape (see `shape`), elsewhere be equal. A ratchet:
//! `corpus-known-mismatches.txt` lists the cases that do not match yet; a listed case that
//! starts matching fails (remove it from the list), and so does an unlisted case that
//! mismatches.

use std::path::Path;
use std::process::Command;

use super::{Outcome, crate_dir, reef};

mod shape;

/// The helm binary must be 4.x (the reference); PATH may hold another.
fn helm(helm: &Path, args: &[String], dir: &Path) -> Outcome {
    let out = Command::new(helm).arg("template").args(args).current_dir(dir).output().expect("running helm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = (!out.status.success()).then(|| {
        let start = stderr.find("Error: ").map_or(0, |i| i + "Error: ".len());
        stderr[start..].trim_end_matches('\n').to_owned()
    });
    Outcome { stdout: String::from_utf8_lossy(&out.stdout).into_owned(), error }
}

/// The `.yaml` files in a directory, sorted by name.
fn yaml_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

/// The cases: each chart with default values, with each of its own `ci/*.yaml` value sets,
/// and with each of the value sets this crate keeps for it in `tests/corpus-values/<chart>/`
/// (passed by absolute path, named `<chart> -f corpus-values/<file>`).
fn cases(corpus: &Path) -> Vec<(String, Vec<String>)> {
    let mut charts: Vec<String> = std::fs::read_dir(corpus)
        .expect("reading the corpus")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    charts.sort();
    let mut out = Vec::new();
    for c in charts {
        let args = |extra: &[&str]| {
            let mut a = vec!["reef-test".to_owned(), c.clone(), "--namespace".to_owned(), "default".to_owned()];
            a.extend(extra.iter().map(|s| (*s).to_owned()));
            a
        };
        out.push((c.clone(), args(&[])));
        for f in yaml_files(&corpus.join(&c).join("ci")) {
            let rel = format!("{c}/ci/{f}");
            out.push((format!("{c} -f ci/{f}"), args(&["-f", &rel])));
        }
        let ours = crate_dir().join("tests/corpus-values").join(&c);
        for f in yaml_files(&ours) {
            let abs = ours.join(&f).to_string_lossy().into_owned();
            out.push((format!("{c} -f corpus-values/{f}"), args(&["-f", &abs])));
        }
    }
    out
}

/// Why reef's outcome differs from helm's two (equal error; output equal, or of the same
/// shape where helm's two runs differ), or `None`.
fn outcome_difference(helm1: &Outcome, helm2: &Outcome, reef: &Outcome) -> Option<String> {
    if helm1.error != reef.error {
        return Some(format!("helm error: {:?}\nreef error: {:?}", helm1.error, reef.error));
    }
    shape::shape_difference(&helm1.stdout, &helm2.stdout, &reef.stdout)
}

#[test]
fn corpus_charts_render_as_helm_renders_them() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let Some(helm_bin) = reef_testkit::helm() else {
        reef_testkit::missing_peer("helm 4.2.3", "$REEF_HELM or the reef-test-peers cache");
        return;
    };
    let known_path = crate_dir().join("tests/corpus-known-mismatches.txt");
    let known_text = std::fs::read_to_string(&known_path).unwrap_or_default();
    let known: Vec<&str> = known_text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let only = std::env::var("REEF_CORPUS_ONLY").ok();
    let mut failures = Vec::new();
    let mut matched = 0;
    let mut run = 0;
    for (name, args) in cases(&corpus) {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        run += 1;
        // reef renders between helm's two runs: a time helm's runs agree on is reef's too.
        let h1 = helm(&helm_bin, &args, &corpus);
        let r = reef(&args, &corpus);
        let h2 = helm(&helm_bin, &args, &corpus);
        let difference = outcome_difference(&h1, &h2, &r);
        let same = difference.is_none();
        let listed = known.contains(&name.as_str());
        if same {
            matched += 1;
        }
        match (same, listed) {
            (true, true) => failures.push(format!("{name}: now matches helm; remove it from {}", known_path.display())),
            (false, false) => {
                let detail = difference.unwrap_or_default();
                failures.push(format!("{name}: differs from helm\n{detail}"));
            }
            _ => {}
        }
    }
    eprintln!("corpus: {matched} of {run} cases match helm");
    assert!(failures.is_empty(), "{matched} cases match helm; failures:\n\n{}", failures.join("\n\n"));
}
