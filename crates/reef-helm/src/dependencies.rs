//! Dependency processing before rendering, as Helm's `ProcessDependenciesWithMerge` does it:
//! aliases give a vendored chart its name in the parent, tags and conditions disable
//! dependencies (recursively), and `import-values` copy a dependency's values into its parent.

use reef_gotmpl::{MapRef, Value};

use crate::chart::{Chart, Dependency};
use crate::semver::is_compatible_range;
use crate::values::{self, Defaults, coalesce_with, deep_copy_map, path_to_map, path_value, table};

/// A dependency declared in `Chart.yaml` that is not vendored under `charts/`.
pub fn check_dependencies(chart: &Chart) -> Result<(), String> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies().iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ))
    }
}

/// Applies aliases, tags and conditions (Helm's `processDependencyEnabled`) and then
/// import-values, given the user's values.
pub fn process(chart: &mut Chart, user: &MapRef) -> Result<(), String> {
    process_enabled(chart, user, "")?;
    process_import_values(chart)
}

fn process_enabled(c: &mut Chart, v: &MapRef, path: &str) -> Result<(), String> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(c.dependencies_mut());
    let mut chart_deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|req| e.name() == req.name && is_compatible_range(&req.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(dep) = alias_dependency(&existing, req) {
            chart_deps.push(dep);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.set_dependencies(chart_deps);
    for req in &mut c.metadata.dependencies {
        req.enabled = true;
    }
    // cvals is only read: defaults that coalescing leaves as they are stay shared with the charts.
    let cvals = coalesce_with(c, &deep_copy_map(v), false, Defaults::Shared)?;
    process_tags(&mut c.metadata.dependencies, &cvals);
    process_conditions(&mut c.metadata.dependencies, &cvals, path);
    let disabled: Vec<String> = c.metadata.dependencies.iter().filter(|r| !r.enabled).map(|r| r.name.clone()).collect();
    let mut kept: Vec<Chart> =
        std::mem::take(c.dependencies_mut()).into_iter().filter(|d| !disabled.iter().any(|n| n == d.name())).collect();
    c.metadata.dependencies.retain(|r| !disabled.contains(&r.name));
    for t in &mut kept {
        let subpath = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &subpath)?;
    }
    c.set_dependencies(kept);
    Ok(())
}

fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts.iter().find(|c| c.name() == dep.name && is_compatible_range(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_tags(reqs: &mut [Dependency], cvals: &MapRef) {
    let Some(tags) = table(cvals, "tags") else { return };
    for r in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            if let Some(Value::Bool(b)) = tags.borrow().get(k) {
                if *b {
                    has_true = true;
                } else {
                    has_false = true;
                }
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(reqs: &mut [Dependency], cvals: &MapRef, path: &str) {
    for r in reqs {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{c}")) {
                r.enabled = b;
                break;
            }
        }
    }
}

fn process_import_values(c: &mut Chart) -> Result<(), String> {
    for d in c.dependencies_mut() {
        process_import_values(d)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    // The chart's values are replaced below: its own defaults are moved, not copied.
    let cvals = coalesce_with(c, &values::new_map(), true, Defaults::TakenFromChart)?;
    let mut b = values::new_map();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for riv in &r.import_values {
            match riv {
                yaml_serde::Value::Mapping(m) => {
                    let get = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                    let (child, parent) = (get("child"), get("parent"));
                    out.push(import_pair(&child, &parent));
                    let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) else { continue };
                    b = merge_tables(&b, &path_to_map(&parent, deep_copy_map(&vv)));
                }
                yaml_serde::Value::String(s) => {
                    let child = format!("exports.{s}");
                    out.push(import_pair(&child, "."));
                    let Some(vm) = table(&cvals, &format!("{}.{child}", r.name)) else { continue };
                    b = merge_tables(&b, &deep_copy_map(&vm));
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    // Helm deep-copies cvals first. Merging b in changes only maps reached through maps,
    // which no other part of cvals holds (b's tables are copies), and whoever reads the
    // chart's values next copies them or unshares them.
    c.values = merge_tables(&cvals, &b);
    Ok(())
}

fn import_pair(child: &str, parent: &str) -> yaml_serde::Value {
    let mut m = yaml_serde::Mapping::new();
    m.insert("child".into(), child.into());
    m.insert("parent".into(), parent.into());
    yaml_serde::Value::Mapping(m)
}

/// `MergeTables(dst, src)`: `src` merged under `dst`, keeping nulls.
fn merge_tables(dst: &MapRef, src: &MapRef) -> MapRef {
    values::coalesce_tables(dst, src, true);
    dst.clone()
}

/// The values a subchart's templates see: its table in the parent's values.
pub fn scoped_values(parent: &MapRef, name: &str) -> MapRef {
    match parent.borrow().get(name) {
        Some(Value::Map(m, _)) => m.clone(),
        _ => values::new_map(),
    }
}
