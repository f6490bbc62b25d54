//! Charts as Helm's loader reads them: from a directory (honouring `.helmignore`) or a `.tgz`,
//! `Chart.yaml` (apiVersion v1 with `requirements.yaml`, or v2), default values, templates,
//! the other files (`.Files`), CRDs, and the dependency charts vendored under `charts/`
//! (directories or archives).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use reef_gotmpl::{MapRef, Value};
use serde::Deserialize;

use crate::glob;
use crate::values;

/// A file of a chart: its path inside the chart (with `/`) and its bytes.
#[derive(Debug, Clone)]
pub struct File {
    /// The path relative to the chart's root, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// The content (shared: the files a template reads through `.Files` are not copied).
    pub data: Arc<[u8]>,
}

impl File {
    /// The content as text, bytes that are not UTF-8 replaced by U+FFFD; borrowed when the
    /// content is UTF-8, as nearly every chart file is.
    pub fn text(&self) -> Cow<'_, str> {
        reef_gotmpl::go_string::lossy(&self.data)
    }
}

/// A dependency declared in `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    /// The chart's name.
    pub name: String,
    /// A semver range the vendored chart's version must satisfy.
    pub version: String,
    /// Where it comes from (unused when rendering: dependencies must be vendored).
    pub repository: String,
    /// Comma-separated value paths; the first boolean found enables or disables it.
    pub condition: String,
    /// Tags under `.Values.tags` that enable or disable it.
    pub tags: Vec<String>,
    /// Set by dependency processing.
    pub enabled: bool,
    /// Values imported from the dependency into the parent.
    #[serde(rename = "import-values")]
    pub import_values: Vec<yaml_serde::Value>,
    /// The name the dependency goes by in this chart.
    pub alias: String,
}

/// A maintainer in `Chart.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// URL.
    pub url: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    /// `v1` or `v2`.
    pub api_version: String,
    /// The chart's name.
    pub name: String,
    /// Its SemVer version.
    pub version: String,
    /// A SemVer range of Kubernetes versions it supports.
    pub kube_version: String,
    /// One sentence.
    pub description: String,
    /// `application` (the default) or `library`.
    #[serde(rename = "type")]
    pub chart_type: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// The project's home page.
    pub home: String,
    /// Source URLs.
    pub sources: Vec<String>,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
    /// Maintainers.
    pub maintainers: Vec<Maintainer>,
    /// An icon URL.
    pub icon: String,
    /// The version of the application.
    pub app_version: String,
    /// Whether the chart is deprecated.
    pub deprecated: bool,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// v1 legacy: a condition.
    pub condition: String,
    /// v1 legacy: tags.
    pub tags: String,
}

/// A loaded chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `values.yaml`, decoded.
    pub values: MapRef,
    /// `values.schema.json`, if any.
    pub schema: Option<Arc<[u8]>>,
    /// Everything under `templates/`.
    pub templates: Vec<File>,
    /// Every other file (what `.Files` sees), `crds/` included.
    pub files: Vec<File>,
    dependencies: Vec<Chart>,
    /// `values.yaml` not parsed yet (see [`load_unparsed`]).
    unparsed_values: Option<Arc<[u8]>>,
}

/// A chart that cannot be loaded; the message is Helm's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

fn load_err(msg: impl Into<String>) -> LoadError {
    LoadError(msg.into())
}

impl Chart {
    /// The chart's name (its alias, once dependencies are processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The vendored dependency charts (only the enabled ones after processing).
    pub fn dependencies(&self) -> &[Chart] {
        &self.dependencies
    }

    /// Mutable access to the dependency charts.
    pub fn dependencies_mut(&mut self) -> &mut Vec<Chart> {
        &mut self.dependencies
    }

    /// Replaces the dependency charts.
    pub fn set_dependencies(&mut self, deps: Vec<Chart>) {
        self.dependencies = deps;
    }

    /// Whether this is a library chart (renders nothing itself).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// A chart with only a name and values, for tests of values logic.
    #[cfg(test)]
    pub fn for_tests(name: &str, values: MapRef) -> Chart {
        Chart {
            metadata: Metadata { name: name.to_owned(), version: "0.1.0".to_owned(), ..Metadata::default() },
            values,
            schema: None,
            templates: Vec::new(),
            files: Vec::new(),
            dependencies: Vec::new(),
            unparsed_values: None,
        }
    }
}

/// Loads a chart from a directory or a `.tgz` archive, as `helm template` does.
pub fn load(path: &Path) -> Result<Chart, LoadError> {
    load_with(path, true)
}

fn load_with(path: &Path, values: bool) -> Result<Chart, LoadError> {
    let meta = std::fs::metadata(path).map_err(|_| load_err(format!("path \"{}\" not found", path.display())))?;
    if meta.is_dir() {
        load_dir_with(path, values)
    } else {
        let data = std::fs::read(path).map_err(|e| load_err(e.to_string()))?;
        load_archive_with(&data, values)
    }
}

/// A chart read from disk whose `values.yaml` files are not parsed yet: its templates can be
/// read (and parsed, on other threads) while [`Unparsed::parse_values`] parses the values.
#[derive(Debug)]
pub struct Unparsed {
    chart: Chart,
}

/// Loads the chart at `path` as [`load`] does, leaving the values files to
/// [`Unparsed::parse_values`]. Its error, if any, is the one [`load`] gives.
pub fn load_unparsed(path: &Path) -> Result<Unparsed, LoadError> {
    match load_with(path, false) {
        Ok(chart) => Ok(Unparsed { chart }),
        // Which of several problems is reported depends on the order files are read in:
        // loading again, values included, finds the one `load` reports.
        Err(e) => Err(load(path).err().unwrap_or(e)),
    }
}

impl Unparsed {
    /// The chart, its values empty.
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// Parses the values files: the chart [`load`] gives for `path`, or its error.
    pub fn parse_values(mut self, path: &Path) -> Result<Chart, LoadError> {
        fn parse(c: &mut Chart) -> Result<(), ()> {
            if let Some(data) = c.unparsed_values.take() {
                c.values = values::parse_values(&reef_gotmpl::go_string::lossy(&data)).map_err(|_| ())?;
            }
            c.dependencies.iter_mut().try_for_each(parse)
        }
        match parse(&mut self.chart) {
            Ok(()) => Ok(self.chart),
            // The error `load` gives, found the way it finds it.
            Err(()) => Err(load(path).err().unwrap_or_else(|| load_err("cannot load values.yaml"))),
        }
    }
}

/// Loads a chart directory, skipping what `.helmignore` ignores.
pub fn load_dir(dir: &Path) -> Result<Chart, LoadError> {
    load_dir_with(dir, true)
}

fn load_dir_with(dir: &Path, values: bool) -> Result<Chart, LoadError> {
    load_files_with(dir_files(dir)?, values)
}

/// The files of a chart directory that `.helmignore` keeps, by path.
fn dir_files(dir: &Path) -> Result<Vec<File>, LoadError> {
    let mut rules = match std::fs::read_to_string(dir.join(".helmignore")) {
        Ok(text) => IgnoreRules::parse(&text)?,
        Err(_) => IgnoreRules::default(),
    };
    rules.add("templates/.?*")?;
    let mut files = Vec::new();
    walk(dir, "", &rules, &mut files)?;
    Ok(files)
}

/// Packs a chart directory as `helm package` would (a gzipped tar whose entries sit under the
/// chart's name; `.helmignore` applied), after checking that it loads. Returns the archive.
pub fn package_dir(dir: &Path) -> Result<Vec<u8>, LoadError> {
    let files = dir_files(dir)?;
    let chart = load_files(files.clone())?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for f in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{}/{}", chart.name(), f.name), &f.data[..])
            .map_err(|e| load_err(e.to_string()))?;
    }
    let gz = tar.into_inner().map_err(|e| load_err(e.to_string()))?;
    gz.finish().map_err(|e| load_err(e.to_string()))
}

fn walk(dir: &Path, prefix: &str, rules: &IgnoreRules, out: &mut Vec<File>) -> Result<(), LoadError> {
    let mut entries: Vec<(String, std::fs::DirEntry)> = std::fs::read_dir(dir)
        .map_err(|e| load_err(e.to_string()))?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, entry) in entries {
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        // The directory listing tells the type of all but links, which are followed.
        let (is_dir, is_file) = match entry.file_type() {
            Ok(t) if !t.is_symlink() => (t.is_dir(), t.is_file()),
            _ => {
                let meta = std::fs::metadata(entry.path()).map_err(|e| load_err(e.to_string()))?;
                (meta.is_dir(), meta.is_file())
            }
        };
        if is_dir {
            if rules.ignore(&rel, true) {
                continue;
            }
            walk(&entry.path(), &rel, rules, out)?;
            continue;
        }
        if rules.ignore(&rel, false) {
            continue;
        }
        let path = entry.path();
        if !is_file {
            return Err(load_err(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                path.display()
            )));
        }
        let data = read_shared(&path).map_err(|e| load_err(e.to_string()))?;
        out.push(File { name: rel, data });
    }
    Ok(())
}

/// The content of the file at `path`, a UTF-8 byte order mark left out, read straight into
/// the shared buffer the chart keeps.
fn read_shared(path: &Path) -> std::io::Result<Arc<[u8]>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let data = match read_exactly(&mut file, len)? {
        Some(data) => data,
        // The file changed size while it was read: read it again, whatever its size now.
        None => std::fs::read(path)?.into(),
    };
    Ok(without_bom(data))
}

/// The `len` bytes `reader` holds, read straight into a shared buffer (a big chart's files are
/// megabytes: reading them into a buffer and copying that into another touched twice the
/// memory); `None` when it holds another number of bytes.
fn read_exactly(reader: &mut impl Read, len: u64) -> std::io::Result<Option<Arc<[u8]>>> {
    let Ok(len) = usize::try_from(len) else { return Ok(None) };
    let mut data: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    let Some(buf) = Arc::get_mut(&mut data) else { return Ok(None) };
    match reader.read_exact(buf) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok((reader.read(&mut [0u8; 1])? == 0).then_some(data))
}

fn without_bom(data: Arc<[u8]>) -> Arc<[u8]> {
    match data.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.into(),
        None => data,
    }
}

/// Loads a chart from the bytes of a gzipped tar archive whose entries sit under one
/// top-level directory.
pub fn load_archive(data: &[u8]) -> Result<Chart, LoadError> {
    load_archive_with(data, true)
}

fn load_archive_with(data: &[u8], values: bool) -> Result<Chart, LoadError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let mut files: Vec<File> = Vec::new();
    let entries = archive.entries().map_err(|e| load_err(format!("{e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| load_err(format!("{e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| load_err(format!("{e}")))?.to_string_lossy().replace('\\', "/");
        let Some((_, rel)) = path.split_once('/') else { continue };
        if rel.is_empty() {
            continue;
        }
        if rel.split('/').any(|part| part == "..") {
            return Err(load_err(format!("chart illegally references parent directory: {rel}")));
        }
        let size = entry.header().size().map_err(|e| load_err(format!("{e}")))?;
        let content = read_exactly(&mut entry, size)
            .map_err(|e| load_err(format!("{e}")))?
            .ok_or_else(|| load_err(format!("{rel}: the archive's entry is not the size its header gives")))?;
        let content = without_bom(content);
        match files.iter_mut().find(|f| f.name == rel) {
            Some(existing) => existing.data = content,
            None => files.push(File { name: rel.to_owned(), data: content }),
        }
    }
    if files.is_empty() {
        return Err(load_err("no files in chart archive"));
    }
    load_files_with(files, values)
}

/// Builds a chart from its files (Helm's `loader.LoadFiles`).
pub fn load_files(files: Vec<File>) -> Result<Chart, LoadError> {
    load_files_with(files, true)
}

/// [`load_files`], parsing the values files only when `parse_values`.
fn load_files_with(files: Vec<File>, parse_values: bool) -> Result<Chart, LoadError> {
    let mut metadata: Option<Metadata> = None;
    let mut unparsed_values = None;
    let mut values = values::new_map();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut requirements: Option<Vec<Dependency>> = None;
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {
                let text = f.text();
                let m: Metadata = if text.trim().is_empty() {
                    Metadata::default()
                } else {
                    yaml_serde::from_str(&text)
                        .map_err(|e| load_err(format!("cannot load Chart.yaml: error converting YAML to JSON: {e}")))?
                };
                metadata = Some(m);
            }
            "Chart.lock" | "requirements.lock" => {}
            "values.yaml" if !parse_values => unparsed_values = Some(f.data),
            "values.yaml" => {
                values =
                    values::parse_values(&f.text()).map_err(|e| load_err(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => schema = Some(f.data),
            "requirements.yaml" => {
                #[derive(Deserialize, Default)]
                #[serde(default)]
                struct Requirements {
                    dependencies: Vec<Dependency>,
                }
                let r: Requirements = yaml_serde::from_str(&f.text())
                    .map_err(|e| load_err(format!("cannot load requirements.yaml: {e}")))?;
                requirements = Some(r.dependencies);
            }
            name if name.starts_with("templates/") => templates.push(f),
            name if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    other.push(f);
                    continue;
                }
                let fname = name.trim_start_matches("charts/").to_owned();
                let cname = fname.split('/').next().unwrap_or_default().to_owned();
                subcharts.entry(cname).or_default().push(File { name: fname, data: f.data });
            }
            _ => other.push(f),
        }
    }
    let Some(mut metadata) = metadata else {
        return Err(load_err("Chart.yaml file is missing"));
    };
    if let Some(reqs) = requirements
        && metadata.api_version == "v1"
    {
        metadata.dependencies = reqs;
    }
    validate(&metadata)?;
    let mut chart =
        Chart { metadata, values, schema, templates, files: other, dependencies: Vec::new(), unparsed_values };
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sub = if n.ends_with(".tgz") {
            let Some(file) = files.into_iter().next() else { continue };
            if file.name != n {
                return Err(load_err(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    chart.name(),
                    file.name
                )));
            }
            load_archive_with(&file.data, parse_values)
        } else {
            let inner: Vec<File> = files
                .into_iter()
                .filter_map(|f| f.name.split_once('/').map(|(_, rest)| File { name: rest.to_owned(), data: f.data }))
                .collect();
            load_files_with(inner, parse_values)
        };
        let sub = sub.map_err(|e| load_err(format!("error unpacking subchart {n} in {}: {e}", chart.name())))?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

fn validate(m: &Metadata) -> Result<(), LoadError> {
    if m.api_version.is_empty() {
        return Err(load_err("validation: chart.metadata.apiVersion is required"));
    }
    if m.name.is_empty() {
        return Err(load_err("validation: chart.metadata.name is required"));
    }
    if m.version.is_empty() {
        return Err(load_err("validation: chart.metadata.version is required"));
    }
    if crate::semver::Version::parse(&m.version).is_none() {
        return Err(load_err(format!("validation: chart.metadata.version \"{}\" is invalid", m.version)));
    }
    if !m.chart_type.is_empty() && !matches!(m.chart_type.as_str(), "application" | "library") {
        return Err(load_err("validation: chart.metadata.type must be application or library"));
    }
    Ok(())
}

/// `.helmignore` rules (Helm's `ignore` package: gitignore-like, without `**`).
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<IgnorePattern>,
}

#[derive(Debug, Clone)]
struct IgnorePattern {
    pattern: glob::Pattern,
    /// Whether the pattern has a `/` and so is matched against the whole path rather than
    /// the last name in it (a leading `/` anchors it at the chart's root and is dropped).
    whole_path: bool,
    negate: bool,
    must_dir: bool,
}

impl IgnoreRules {
    /// Parses a `.helmignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, LoadError> {
        let mut rules = IgnoreRules::default();
        for line in text.lines() {
            rules.add(line)?;
        }
        Ok(rules)
    }

    fn add(&mut self, rule: &str) -> Result<(), LoadError> {
        let mut rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(load_err("double-star (**) syntax is not supported"));
        }
        if !glob::is_valid(rule) {
            return Err(load_err("syntax error in pattern"));
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let (rule, whole_path) = match rule.strip_prefix('/') {
            Some(rooted) => (rooted, true),
            None => (rule, rule.contains('/')),
        };
        self.patterns.push(IgnorePattern { pattern: glob::Pattern::new(rule), whole_path, negate, must_dir });
        Ok(())
    }

    /// Whether the path (relative, with `/`) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        for p in &self.patterns {
            let matched = p.pattern.matches(if p.whole_path { path } else { base });
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// `Chart.yaml` as templates see `.Chart` in Helm 4: a map with Go's field names.
pub fn metadata_value(m: &Metadata, is_root: bool) -> Value {
    let s = |v: &str| Value::string(v);
    let deps = m.dependencies.iter().map(|d| {
        Value::map([
            ("Alias".to_owned(), s(&d.alias)),
            ("Condition".to_owned(), s(&d.condition)),
            ("Enabled".to_owned(), Value::Bool(d.enabled)),
            ("ImportValues".to_owned(), Value::list(d.import_values.iter().map(values::from_yaml))),
            ("Name".to_owned(), s(&d.name)),
            ("Repository".to_owned(), s(&d.repository)),
            ("Tags".to_owned(), Value::list(d.tags.iter().map(Value::string))),
            ("Version".to_owned(), s(&d.version)),
        ])
    });
    let maintainers = m.maintainers.iter().map(|p| {
        Value::map([("Email".to_owned(), s(&p.email)), ("Name".to_owned(), s(&p.name)), ("URL".to_owned(), s(&p.url))])
    });
    Value::map([
        ("APIVersion".to_owned(), s(&m.api_version)),
        ("Annotations".to_owned(), Value::map(m.annotations.iter().map(|(k, v)| (k.clone(), Value::string(v))))),
        ("AppVersion".to_owned(), s(&m.app_version)),
        ("Condition".to_owned(), s(&m.condition)),
        ("Dependencies".to_owned(), Value::list(deps)),
        ("Deprecated".to_owned(), Value::Bool(m.deprecated)),
        ("Description".to_owned(), s(&m.description)),
        ("Home".to_owned(), s(&m.home)),
        ("Icon".to_owned(), s(&m.icon)),
        ("IsRoot".to_owned(), Value::Bool(is_root)),
        ("Keywords".to_owned(), Value::list(m.keywords.iter().map(Value::string))),
        ("KubeVersion".to_owned(), s(&m.kube_version)),
        ("Maintainers".to_owned(), Value::list(maintainers)),
        ("Name".to_owned(), s(&m.name)),
        ("Sources".to_owned(), Value::list(m.sources.iter().map(Value::string))),
        ("Tags".to_owned(), s(&m.tags)),
        ("Type".to_owned(), s(&m.chart_type)),
        ("Version".to_owned(), s(&m.version)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helmignore_matches_basenames_paths_and_directories() {
        let rules = IgnoreRules::parse("# c\n*.tmp\n/ci/\ndocs/*.md\n").expect("parses");
        assert!(rules.ignore("a/b.tmp", false));
        assert!(rules.ignore("ci", true));
        assert!(!rules.ignore("x/ci", true));
        assert!(rules.ignore("docs/a.md", false));
        assert!(!rules.ignore("values.yaml", false));
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
            std::fs::write(path, text).expect("a file");
        }
    }

    fn error_of<T>(r: Result<T, LoadError>) -> String {
        match r {
            Ok(_) => "loaded".to_owned(),
            Err(e) => e.0,
        }
    }

    #[test]
    fn values_parsed_later_give_the_chart_and_the_errors_that_loading_gives() {
        let dir = tempfile::tempdir().expect("a directory");
        let chart = dir.path().join("c");
        write(
            &chart,
            &[
                ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
                ("values.yaml", "a: 1\nb: [x, y]\n"),
                ("templates/t.yaml", "a: {{ .Values.a }}\n"),
                ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
                ("charts/sub/values.yaml", "s: true\n"),
            ],
        );
        let loaded = load(&chart).expect("loads");
        let unparsed = load_unparsed(&chart).expect("reads");
        assert!(unparsed.chart().values.borrow().is_empty(), "values wait to be parsed");
        let later = unparsed.parse_values(&chart).expect("parses");
        assert_eq!(later.values.borrow().keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(later.dependencies()[0].values.borrow().keys().collect::<Vec<_>>(), ["s"]);
        assert_eq!(later.templates.len(), loaded.templates.len());

        // A broken values file, and a subchart broken too: the one load reports is reported.
        write(&chart, &[("values.yaml", "a: [\n"), ("charts/sub/Chart.yaml", "name: [\n")]);
        let expected = error_of(load(&chart));
        assert_ne!(expected, "loaded");
        let got = match load_unparsed(&chart) {
            Ok(unparsed) => error_of(unparsed.parse_values(&chart)),
            Err(e) => e.0,
        };
        assert_eq!(got, expected);
        write(&chart, &[("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n")]);
        let expected = error_of(load(&chart));
        assert!(expected.contains("values.yaml"), "{expected}");
        let unparsed = load_unparsed(&chart).expect("reads: values are not parsed yet");
        assert_eq!(error_of(unparsed.parse_values(&chart)), expected);
    }
}
