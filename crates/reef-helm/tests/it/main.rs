//! reef-helm's integration tests: the conformance suite (small cases over the language and
//! every function), fixture charts rendered by reef and compared with what helm 4.2.3
//! printed for them (checked-in expected outputs), and the public chart corpus rendered by
//! reef and by the real helm binary in the same run.

mod conformance;
mod corpus;
mod fixtures;
mod release;
mod values_fast_path;

use std::path::{Path, PathBuf};

use reef_helm::template::{TemplateOptions, render};

/// The crate's directory.
fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `helm template` printed: its stdout and, on failure, the message after `Error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    error: Option<String>,
}

/// Parses `helm template`-style arguments into options (the flags the fixtures use).
fn options(args: &[String], base: &Path) -> TemplateOptions {
    let mut o = TemplateOptions::default();
    let mut positional = Vec::new();
    let mut i = 0;
    let path = |s: &str| if Path::new(s).is_absolute() { PathBuf::from(s) } else { base.join(s) };
    while i < args.len() {
        let a = args[i].as_str();
        let mut next = || {
            i += 1;
            args.get(i).cloned().unwrap_or_default()
        };
        match a {
            "-n" | "--namespace" => o.namespace = next(),
            "-f" | "--values" => o.values_files.push(path(&next())),
            "--set" => o.set.push(next()),
            "--set-string" => o.set_string.push(next()),
            "--set-json" => o.set_json.push(next()),
            "--set-file" => {
                let v = next();
                let (k, p) = v.split_once('=').unwrap_or((&v, ""));
                o.set_file.push(format!("{k}={}", path(p).display()));
            }
            "--kube-version" => o.kube_version = Some(next()),
            "--api-versions" => o.api_versions.push(next()),
            "--include-crds" => o.include_crds = true,
            "-s" | "--show-only" => o.show_only.push(next()),
            "--is-upgrade" => o.is_upgrade = true,
            "--debug" => o.debug = true,
            other => positional.push(other.to_owned()),
        }
        i += 1;
    }
    match positional.as_slice() {
        [chart] => o.chart = path(chart),
        [name, chart, ..] => {
            o.release_name = name.clone();
            o.chart = path(chart);
        }
        [] => {}
    }
    o
}

/// Renders with reef. The error is compared without trailing newlines, as helm's is read
/// (a schema error ends in one).
fn reef(args: &[String], base: &Path) -> Outcome {
    match render(&options(args, base)) {
        Ok(stdout) => Outcome { stdout, error: None },
        Err(e) => Outcome { stdout: e.stdout.clone(), error: Some(e.to_string().trim_end_matches('\n').to_owned()) },
    }
}

/// A readable difference between two texts: the first differing line with context.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = w.iter().zip(g.iter()).position(|(a, b)| a != b).unwrap_or(w.len().min(g.len()));
    let from = i.saturating_sub(3);
    format!(
        "first difference at line {}:\n--- helm\n{}\n--- reef\n{}",
        i + 1,
        w.get(from..(i + 3).min(w.len())).unwrap_or_default().join("\n"),
        g.get(from..(i + 3).min(g.len())).unwrap_or_default().join("\n")
    )
}
