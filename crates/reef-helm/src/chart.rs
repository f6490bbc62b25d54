//! Charts as Helm's loader reads them: from a directory (honouring `.helmignore`) or a `.tgz`,
//! `Chart.yaml` (apiVersion v1 with `requirements.yaml`, or v2), default values, templates,
//! the other files (`.Files`), CRDs, and the dependency charts vendored under `charts/`
//! (directories or archives).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
    pub data: Content,
}

impl File {
    /// A file whose bytes are at hand.
    pub fn new(name: impl Into<String>, data: impl Into<Arc<[u8]>>) -> File {
        File { name: name.into(), data: Content::new(data.into()) }
    }

    /// The content as text, bytes that are not UTF-8 replaced by U+FFFD; borrowed when the
    /// content is UTF-8, as nearly every chart file is.
    pub fn text(&self) -> Result<Cow<'_, str>, LoadError> {
        Ok(reef_gotmpl::go_string::lossy(self.data.get()?))
    }
}

/// The bytes of a chart file. A chart directory's files that loading does not need (what
/// `.Files` sees, CRDs included) are read the first time something asks for them: a big
/// chart's CRDs are megabytes that `helm template` never prints.
#[derive(Debug, Clone)]
pub struct Content(Arc<ContentInner>);

#[derive(Debug)]
enum ContentInner {
    Read(Arc<[u8]>),
    /// A file that could be opened when the chart was loaded, read on first use.
    Deferred {
        path: PathBuf,
        read: OnceLock<Result<Arc<[u8]>, LoadError>>,
    },
}

impl Content {
    /// Bytes at hand.
    pub fn new(data: Arc<[u8]>) -> Content {
        Content(Arc::new(ContentInner::Read(data)))
    }

    fn deferred(path: PathBuf) -> Content {
        Content(Arc::new(ContentInner::Deferred { path, read: OnceLock::new() }))
    }

    /// The bytes, read now if they were not; the error reading them gave (the file changed
    /// on disk since the chart was loaded), every time they are asked for.
    pub fn get(&self) -> Result<&Arc<[u8]>, LoadError> {
        match &*self.0 {
            ContentInner::Read(data) => Ok(data),
            ContentInner::Deferred { path, read } => {
                let read = read.get_or_init(|| {
                    read_shared(path).map_err(|e| load_err(format!("read {}: {}", path.display(), go_io_error(&e))))
                });
                read.as_ref().map_err(Clone::clone)
            }
        }
    }

    /// The error reading the bytes gave, if something asked for them and they could not be
    /// read.
    fn failure(&self) -> Option<&LoadError> {
        match &*self.0 {
            ContentInner::Read(_) => None,
            ContentInner::Deferred { read, .. } => read.get().and_then(|r| r.as_ref().err()),
        }
    }
}

/// `.Files` reads a chart's files through this: bytes that cannot be read are none there, and
/// [`Chart::read_failure`] then fails the render.
impl reef_gotmpl::helm::FileData for Content {
    fn bytes(&self) -> Arc<[u8]> {
        self.get().map_or_else(|_| Arc::from(&[][..]), Arc::clone)
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

    /// The first file of the chart or its dependencies that something asked for and that
    /// could not be read (it changed on disk since the chart was loaded).
    pub fn read_failure(&self) -> Option<LoadError> {
        self.files
            .iter()
            .find_map(|f| f.data.failure().cloned())
            .or_else(|| self.dependencies.iter().find_map(Chart::read_failure))
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
    load_with(path, true, &mut |_| {})
}

/// [`load`], parsing the values files only when `values`; `listed` is told how many files
/// the chart has once they are listed (see [`load_unparsed`]).
fn load_with(path: &Path, values: bool, listed: &mut dyn FnMut(usize)) -> Result<Chart, LoadError> {
    let meta = std::fs::metadata(path).map_err(|_| load_err(format!("path \"{}\" not found", path.display())))?;
    if meta.is_dir() {
        load_files_with(dir_files(path, listed)?, values)
    } else {
        let data = std::fs::read(path).map_err(|e| load_err(e.to_string()))?;
        load_archive_with(&data, values, listed)
    }
}

/// A chart read from disk whose `values.yaml` files are not parsed yet: its templates can be
/// read (and parsed, on other threads) while [`Unparsed::parse_values`] parses the values.
#[derive(Debug)]
pub struct Unparsed {
    chart: Chart,
}

/// Loads the chart at `path` as [`load`] does, leaving the values files to
/// [`Unparsed::parse_values`]. Its error, if any, is the one [`load`] gives. `listed` is told
/// how many files the chart has once they are listed: for a directory, before they are read,
/// so that a caller can start what only pays for a large chart meanwhile.
pub fn load_unparsed(path: &Path, listed: &mut dyn FnMut(usize)) -> Result<Unparsed, LoadError> {
    match load_with(path, false, listed) {
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
    load_files_with(dir_files(dir, &mut |_| {})?, true)
}

/// The files of a chart directory that `.helmignore` keeps, by path; `listed` is told how
/// many once they are listed, before they are read.
fn dir_files(dir: &Path, listed: &mut dyn FnMut(usize)) -> Result<Vec<File>, LoadError> {
    let mut rules = match std::fs::read_to_string(dir.join(".helmignore")) {
        Ok(text) => IgnoreRules::parse(&text)?,
        Err(_) => IgnoreRules::default(),
    };
    rules.add("templates/.?*")?;
    let mut paths = Vec::new();
    let walked = walk(dir, "", &rules, &mut paths);
    listed(paths.len());
    // The files listed before a listing error would have been read before it.
    let files = read_all(paths)?;
    walked.map(|()| files)
}

/// How many files a chart has from which reading them, and parsing its templates, is worth
/// more than one thread (with fewer, starting a thread costs more than it saves).
pub const LARGE_CHART_FILES: usize = 32;

/// Reads the files `walk` listed that loading needs, and checks that the others can be opened
/// (they are read on first use, see [`Content`]). Two threads share the work when there are
/// enough files for it to pay (a big chart is hundreds, and reading them is mostly system
/// calls); the first error in listing order is the one reported, as a walk that reads as it
/// goes reports.
fn read_all(paths: Vec<(String, PathBuf)>) -> Result<Vec<File>, LoadError> {
    let read = |part: &[(String, PathBuf)]| -> Vec<std::io::Result<Content>> {
        part.iter()
            .map(|(name, path)| {
                if needed_to_load(name) {
                    read_shared(path).map(Content::new)
                } else {
                    std::fs::File::open(path).map(|_| Content::deferred(path.clone()))
                }
            })
            .collect()
    };
    let data = if paths.len() < LARGE_CHART_FILES {
        read(&paths)
    } else {
        let (first, second) = paths.split_at(paths.len() / 2);
        std::thread::scope(|s| {
            let other = std::thread::Builder::new().name("reef-helm-load".to_owned()).spawn_scoped(s, || read(second));
            let mut data = read(first);
            match other.ok().and_then(|o| o.join().ok()) {
                Some(rest) => data.extend(rest),
                // Without a second thread (or if it died), this one reads the rest.
                None => data.extend(read(second)),
            }
            data
        })
    };
    paths
        .into_iter()
        .zip(data)
        .map(|((name, _), data)| Ok(File { name, data: data.map_err(|e| load_err(e.to_string()))? }))
        .collect()
}

/// Whether loading a chart reads the file at `name` (a path in the top chart): the metadata,
/// values and schema files and the templates of the chart and its subchart directories, and
/// what sits in a `charts/` directory itself (subchart archives).
fn needed_to_load(name: &str) -> bool {
    let mut rest = name;
    while let Some(inside) = rest.strip_prefix("charts/") {
        match inside.split_once('/') {
            Some((_, in_subchart)) => rest = in_subchart,
            None => return true,
        }
    }
    matches!(rest, "Chart.yaml" | "values.yaml" | "values.schema.json" | "requirements.yaml")
        || rest.starts_with("templates/")
}

/// Packs a chart directory as `helm package` would (a gzipped tar whose entries sit under the
/// chart's name; `.helmignore` applied), after checking that it loads. Returns the archive.
pub fn package_dir(dir: &Path) -> Result<Vec<u8>, LoadError> {
    let files = dir_files(dir, &mut |_| {})?;
    let chart = load_files(files.clone())?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for f in &files {
        let mut header = tar::Header::new_gnu();
        let data = f.data.get()?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{}/{}", chart.name(), f.name), &data[..])
            .map_err(|e| load_err(e.to_string()))?;
    }
    let gz = tar.into_inner().map_err(|e| load_err(e.to_string()))?;
    gz.finish().map_err(|e| load_err(e.to_string()))
}

/// Lists the files under `dir` that `rules` keep, by path in the chart and on disk, in the
/// order Helm's walk reads them.
fn walk(dir: &Path, prefix: &str, rules: &IgnoreRules, out: &mut Vec<(String, PathBuf)>) -> Result<(), LoadError> {
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
        out.push((rel, path));
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

/// An IO error as Go words it: the system's message in lower case, without Rust's
/// `(os error N)`.
pub(crate) fn go_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            let message = text.strip_suffix(&format!(" (os error {code})")).unwrap_or(&text);
            let mut chars = message.chars();
            chars.next().map_or_else(String::new, |first| first.to_lowercase().chain(chars).collect())
        }
        None => text,
    }
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
    load_archive_with(data, true, &mut |_| {})
}

/// [`load_archive`], parsing the values files only when `values`; `listed` is told how many
/// files the archive holds once they are read from it.
fn load_archive_with(data: &[u8], values: bool, listed: &mut dyn FnMut(usize)) -> Result<Chart, LoadError> {
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
            Some(existing) => existing.data = Content::new(content),
            None => files.push(File::new(rel, content)),
        }
    }
    if files.is_empty() {
        return Err(load_err("no files in chart archive"));
    }
    listed(files.len());
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
                let text = f.text()?;
                let m: Metadata = if text.trim().is_empty() {
                    Metadata::default()
                } else {
                    yaml_serde::from_str(&text)
                        .map_err(|e| load_err(format!("cannot load Chart.yaml: error converting YAML to JSON: {e}")))?
                };
                metadata = Some(m);
            }
            "Chart.lock" | "requirements.lock" => {}
            "values.yaml" if !parse_values => unparsed_values = Some(f.data.get()?.clone()),
            "values.yaml" => {
                values =
                    values::parse_values(&f.text()?).map_err(|e| load_err(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => schema = Some(f.data.get()?.clone()),
            "requirements.yaml" => {
                #[derive(Deserialize, Default)]
                #[serde(default)]
                struct Requirements {
                    dependencies: Vec<Dependency>,
                }
                let r: Requirements = yaml_serde::from_str(&f.text()?)
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
            file.data.get().and_then(|data| load_archive_with(data, parse_values, &mut |_| {}))
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
        let unparsed = load_unparsed(&chart, &mut |_| {}).expect("reads");
        assert!(unparsed.chart().values.borrow().is_empty(), "values wait to be parsed");
        let later = unparsed.parse_values(&chart).expect("parses");
        assert_eq!(later.values.borrow().keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(later.dependencies()[0].values.borrow().keys().collect::<Vec<_>>(), ["s"]);
        assert_eq!(later.templates.len(), loaded.templates.len());

        // A broken values file, and a subchart broken too: the one load reports is reported.
        write(&chart, &[("values.yaml", "a: [\n"), ("charts/sub/Chart.yaml", "name: [\n")]);
        let expected = error_of(load(&chart));
        assert_ne!(expected, "loaded");
        let got = match load_unparsed(&chart, &mut |_| {}) {
            Ok(unparsed) => error_of(unparsed.parse_values(&chart)),
            Err(e) => e.0,
        };
        assert_eq!(got, expected);
        write(&chart, &[("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n")]);
        let expected = error_of(load(&chart));
        assert!(expected.contains("values.yaml"), "{expected}");
        let unparsed = load_unparsed(&chart, &mut |_| {}).expect("reads: values are not parsed yet");
        assert_eq!(error_of(unparsed.parse_values(&chart)), expected);
    }

    #[test]
    fn loading_reads_what_it_needs_and_the_other_files_on_first_use() {
        for (name, needed) in [
            ("Chart.yaml", true),
            ("values.yaml", true),
            ("values.schema.json", true),
            ("requirements.yaml", true),
            ("templates/a/b.yaml", true),
            ("charts/sub.tgz", true),
            ("charts/sub/Chart.yaml", true),
            ("charts/sub/charts/deeper/templates/x.tpl", true),
            ("crds/a.yaml", false),
            ("files/Chart.yaml", false),
            ("charts/sub/crds/a.yaml", false),
            ("charts/sub/dashboards/d.json", false),
            ("Chart.lock", false),
            (".helmignore", false),
        ] {
            assert_eq!(needed_to_load(name), needed, "{name}");
        }
        let dir = tempfile::tempdir().expect("a directory");
        let chart = dir.path().join("c");
        write(
            &chart,
            &[
                ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
                ("templates/t.yaml", "a: 1\n"),
                ("files/a.txt", "before\n"),
                ("crds/crd.yaml", "kind: CustomResourceDefinition\n"),
                ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
                ("charts/sub/files/b.txt", "\u{feff}b\n"),
            ],
        );
        let loaded = load(&chart).expect("loads");
        // Changed after loading: the template was read with the chart, the file was not.
        write(&chart, &[("templates/t.yaml", "a: 2\n"), ("files/a.txt", "after\n")]);
        std::fs::remove_file(chart.join("crds/crd.yaml")).expect("removed");
        let text = |c: &Chart, name: &str| {
            let file = c.files.iter().chain(&c.templates).find(|f| f.name == name).expect("listed");
            file.text().map(|t| t.into_owned()).map_err(|e| e.0)
        };
        assert_eq!(text(&loaded, "templates/t.yaml").as_deref(), Ok("a: 1\n"));
        assert_eq!(loaded.read_failure(), None, "nothing asked for yet");
        assert_eq!(text(&loaded, "files/a.txt").as_deref(), Ok("after\n"));
        assert_eq!(text(&loaded.dependencies()[0], "files/b.txt").as_deref(), Ok("b\n"), "the byte order mark goes");
        let missing = text(&loaded, "crds/crd.yaml").expect_err("gone");
        assert!(
            missing.starts_with("read ") && missing.ends_with("crds/crd.yaml: no such file or directory"),
            "{missing}"
        );
        assert_eq!(loaded.read_failure().map(|e| e.0), Some(missing.clone()));
        assert_eq!(crate::template::chart_crds(&loaded).map_err(|e| e.0), Err(missing));
    }

    #[test]
    fn a_file_that_cannot_be_read_when_a_template_asks_for_it_fails_the_render() {
        let dir = tempfile::tempdir().expect("a directory");
        let chart = dir.path().join("c");
        write(
            &chart,
            &[
                ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
                ("templates/cm.yaml", "data: {{ .Files.Get \"files/mem\" | quote }}\n"),
            ],
        );
        // A regular file that opens but cannot be read from its start.
        std::fs::create_dir(chart.join("files")).expect("a directory");
        std::os::unix::fs::symlink("/proc/self/mem", chart.join("files/mem")).expect("a link");
        let opts = crate::template::TemplateOptions { chart: chart.clone(), ..Default::default() };
        let e = crate::template::render(&opts).expect_err("the file cannot be read");
        assert!(e.to_string().ends_with("files/mem: input/output error"), "{e}");
    }
}
