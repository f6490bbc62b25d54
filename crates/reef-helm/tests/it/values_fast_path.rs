//! The YAML fast path over every values file of the public chart corpus (`values.yaml` of
//! each chart and subchart, `ci/*.yaml`): whenever it builds a document, the full path must
//! build the same value. Prints the share of bytes it builds.

use std::path::{Path, PathBuf};

use reef_gotmpl::yaml::parse::split_documents;
use reef_gotmpl::yaml::{fast, unmarshal_any_full};

/// The values files under a chart directory: its `values.yaml`, its `ci/*.yaml` and those of
/// the unpacked subcharts under `charts/`, recursively.
fn values_files(chart: &Path, out: &mut Vec<PathBuf>) {
    out.push(chart.join("values.yaml"));
    for sub in ["ci", "charts"] {
        let Ok(entries) = std::fs::read_dir(chart.join(sub)) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if sub == "charts" && p.is_dir() {
                values_files(&p, out);
            } else if sub == "ci" && p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
    }
}

#[test]
fn the_fast_path_builds_corpus_values_files_as_the_full_path_does() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let mut charts: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("reading the corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    charts.sort();
    let mut files = Vec::new();
    for chart in &charts {
        values_files(chart, &mut files);
    }
    let (mut total, mut built, mut built_files, mut read_files) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        read_files += 1;
        total += text.len();
        // Each document as the values loader reads it.
        let Ok(docs) = split_documents(&text) else { continue };
        let mut all_built = true;
        for doc in docs {
            let Some(fast) = fast::document(doc) else {
                all_built = false;
                continue;
            };
            built += doc.len();
            match unmarshal_any_full(doc) {
                Ok(full) if format!("{full:?}") == format!("{fast:?}") => {}
                Ok(_) => failures.push(format!("{}: the paths build different values", path.display())),
                Err(e) => {
                    failures.push(format!("{}: the fast path builds a value, the full path fails: {e}", path.display()))
                }
            }
        }
        built_files += usize::from(all_built);
    }
    eprintln!(
        "the fast path built {built_files} of {read_files} values files whole, {built} of {total} bytes ({:.1}%)",
        100.0 * built as f64 / total.max(1) as f64
    );
    assert!(read_files > 100, "only {read_files} values files found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
