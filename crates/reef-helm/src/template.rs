//! `helm template`: load a chart, merge values, render every template of the chart and its
//! enabled subcharts, and print what `helm template` prints, errors included.
//!
//! ```no_run
//! use reef_helm::template::{render, TemplateOptions};
//! let opts = TemplateOptions { release_name: "web".into(), chart: "./chart".into(), ..Default::default() };
//! match render(&opts) {
//!     Ok(stdout) => print!("{stdout}"),
//!     Err(e) => eprintln!("Error: {e}"),
//! }
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, LazyLock, Mutex};

use reef_gotmpl::go_string;
use reef_gotmpl::helm::{self as helmfn, Capabilities, FileData, Files, KubeVersion, Release};
use reef_gotmpl::parse::{self, ParseError, ParsedFile};
use reef_gotmpl::template::{ParseJob, WaitingHelper};
use reef_gotmpl::{FuncMap, MapRef, MapType, Templates, Value};
use regex::Regex;

use crate::chart::{self, Chart};
use crate::dependencies;
use crate::manifest;
use crate::schema;
use crate::semver::is_compatible_range;
use crate::strvals::{self, ValueKind};
use crate::values::{self, map_value, new_map};

/// What `helm template [NAME] CHART [flags]` is given.
#[derive(Debug, Clone, Default)]
pub struct TemplateOptions {
    /// NAME; empty means Helm's default, `release-name`.
    pub release_name: String,
    /// CHART: a chart directory or a `.tgz`.
    pub chart: PathBuf,
    /// `--namespace`; empty means `default`.
    pub namespace: String,
    /// `-f/--values`, in order.
    pub values_files: Vec<PathBuf>,
    /// `--set`, in order.
    pub set: Vec<String>,
    /// `--set-string`.
    pub set_string: Vec<String>,
    /// `--set-json`.
    pub set_json: Vec<String>,
    /// `--set-file`.
    pub set_file: Vec<String>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--show-only`/`-s`.
    pub show_only: Vec<String>,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--debug`: on a YAML error, the rendered templates are still printed.
    pub debug: bool,
    /// What answers the `lookup` function: the cluster, for an install or upgrade; none (an
    /// empty map, as `helm template` answers) by default.
    pub lookup: Option<Lookup>,
}

/// Answers `lookup apiVersion kind namespace name` with the object as JSON (an empty object
/// when there is none; with an empty name, the list of that kind).
#[derive(Clone)]
#[allow(clippy::type_complexity)]
pub struct Lookup(pub Arc<dyn Fn(&str, &str, &str, &str) -> Result<serde_json::Value, String> + Send + Sync>);

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup")
    }
}

/// Why `helm template` failed. `Display` is exactly what helm prints after `Error: `,
/// including, for errors of rendering, helm's hint line (`\n\nUse --debug flag to render out
/// invalid YAML`, which helm appends unless `--debug` is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Helm's message.
    pub message: String,
    /// Whether helm appends its `--debug` hint.
    pub hint: bool,
    /// With `--debug`: what helm prints on stdout before failing (the rendered templates).
    pub stdout: String,
}

/// The hint helm prints after errors of rendering.
pub const DEBUG_HINT: &str = "\n\nUse --debug flag to render out invalid YAML";

impl TemplateError {
    fn plain(message: impl Into<String>) -> TemplateError {
        TemplateError { message: message.into(), hint: false, stdout: String::new() }
    }

    fn render(message: impl Into<String>, debug: bool) -> TemplateError {
        // Under --debug, helm prints the (trimmed) manifest of a release that failed to
        // render, followed by a newline: a lone "\n" when nothing rendered.
        let stdout = if debug { "\n".to_owned() } else { String::new() };
        TemplateError { message: message.into(), hint: !debug, stdout }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.hint {
            f.write_str(DEBUG_HINT)?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

#[expect(clippy::unwrap_used, reason = "a constant pattern")]
static RELEASE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap());

/// Renders a chart as `helm template` does. `Ok` is helm's stdout.
pub fn render(opts: &TemplateOptions) -> Result<String, TemplateError> {
    let (chart, _, rendered) = render_parts(opts, 1, false)?;
    assemble(&chart, rendered, opts)
}

/// Renders a chart as revision `revision` of a release (`opts.is_upgrade` for an upgrade):
/// the chart with its dependencies processed and every template's output.
/// With `record`, also what a release record keeps ([`Recorded`]).
fn render_parts(
    opts: &TemplateOptions,
    revision: i64,
    record: bool,
) -> Result<(Chart, Option<Recorded>, Rendered), TemplateError> {
    let name = if opts.release_name.is_empty() { "release-name" } else { opts.release_name.as_str() };
    if name.len() > 53 || !RELEASE_NAME.is_match(name) {
        return Err(TemplateError::plain(format!(
            "release name check failed: release name \"{name}\": invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
        )));
    }
    let kube_version = match &opts.kube_version {
        Some(v) => {
            KubeVersion::parse(v).map_err(|e| TemplateError::plain(format!("invalid kube version '{v}': {e}")))?
        }
        None => KubeVersion::helm_default(),
    };
    // The thread that parses templates beside this one, started once a chart's files are
    // listed, so that it is running by the time they are read (see [`WaitingHelper`]).
    let mut helper = None;
    let unparsed = load_chart(&opts.chart, &mut |files| {
        if files >= chart::LARGE_CHART_FILES {
            helper = WaitingHelper::start();
        }
    })?;
    // Every template of every chart is parsed on other threads, starting now, under the name
    // it has unless dependency processing renames its chart (an alias) or drops it: this
    // thread meanwhile reads the values and processes dependencies, then renders each
    // template as soon as it is parsed ([`render_templates`]). The files that may define
    // templates go first, as nothing renders before they are in the set.
    let guesses: Vec<(String, Arc<[u8]>)> = template_files(unparsed.chart())
        .map_err(|e| TemplateError::plain(e.0))?
        .into_iter()
        .map(|(name, f)| (name, f.data))
        .collect();
    let guess_sources: Vec<(Arc<str>, Arc<str>)> =
        guesses.iter().map(|(name, data)| (Arc::from(name.as_str()), Arc::from(&*go_string::lossy(data)))).collect();
    let set = Templates::new(helm_functions(opts.lookup.clone()));
    let names = set.func_names().clone();
    let defining: Vec<bool> = guess_sources.iter().map(|(name, text)| may_define(name, text)).collect();
    let order =
        (0..guesses.len()).filter(|&i| defining[i]).chain((0..guesses.len()).filter(|&i| !defining[i])).collect();
    let job = Arc::new(ParseJob::in_order(names.clone(), guess_sources, order));
    // Rendered outputs are read for sorting as they come, by the parsing helper once it has
    // parsed everything (it is running by then), or else by a thread of their own: a third
    // thread on two processors took the rendering thread's processor at each output it was
    // sent (kube-prometheus-stack, with `helm template` run between renders: 14.7 against
    // 16.1 ms median).
    let (outputs, receiver) = std::sync::mpsc::channel::<(String, String)>();
    let reading = Arc::new(Reading { receiver: Mutex::new(receiver), done: Mutex::new(Vec::new()) });
    let by_helper = helper.is_some();
    std::thread::scope(|scope| {
        if let Some(h) = helper {
            let theirs = reading.clone();
            h.give(&job, move || theirs.read());
        }
        let helpers = job.spawn_helpers(scope, usize::from(by_helper));
        let result = (|| {
            let mut chart = unparsed.parse_values(&opts.chart).map_err(|e| TemplateError::plain(e.0))?;
            let user = merge_user_values(opts)?;
            // As given: coalescing below fills the map with the chart's defaults.
            let config = record.then(|| values::to_json(&user));
            if chart.is_library() {
                return Err(TemplateError::plain("library charts are not installable"));
            }
            if !chart.metadata.dependencies.is_empty() {
                dependencies::check_dependencies(&chart).map_err(|e| {
                    TemplateError::plain(e.replace(
                        "An error occurred while checking for chart dependencies. You may need to run `helm dependency build`",
                        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build'",
                    ))
                })?;
            }
            dependencies::process(&mut chart, &user)
                .map_err(|e| TemplateError::plain(format!("chart dependencies processing failed: {e}")))?;
            // The chart's own values, before coalescing moves them.
            let recorded = match config {
                Some(config) => Some(Recorded {
                    config,
                    chart: crate::release::chart_json(&chart).map_err(|e| TemplateError::plain(e.0))?,
                }),
                None => None,
            };
            let (top, caps, release) = prepare(&chart, &user, &kube_version, name, opts, revision)?;
            let files = template_files(&chart).map_err(|e| TemplateError::plain(e.0))?;
            let by_name: HashMap<&str, usize> =
                guesses.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
            let guess_of: Vec<Option<usize>> = files
                .iter()
                .map(|(name, f)| by_name.get(name.as_str()).copied().filter(|&i| Arc::ptr_eq(&guesses[i].1, &f.data)))
                .collect();
            let sources = Sources {
                job: job.clone(),
                names: names.clone(),
                defining: files
                    .iter()
                    .zip(&guess_of)
                    .map(|((name, f), g)| match g {
                        Some(g) => defining[*g],
                        None => may_define(name, &go_string::lossy(&f.data)),
                    })
                    .collect(),
                files,
                guess_of,
            };
            let to_read = ToRead { outputs, reading, by_helper };
            let rendered = render_templates(&chart, set, sources, top, &release, caps, to_read);
            // A file `.Files` could not read rendered as none: what the templates made of
            // that is not Helm's output, so the render fails with the reason.
            if let Some(e) = chart.read_failure() {
                return Err(TemplateError::plain(e.0));
            }
            let rendered = rendered.map_err(|m| TemplateError::render(m, opts.debug))?;
            Ok((chart, recorded, rendered))
        })();
        // Files nothing needs (those of a dependency that was dropped) are left unparsed.
        job.cancel();
        for h in helpers {
            let _ = h.join();
        }
        result
    })
}

/// Whether a template file may define templates (`define`, `block`) or is a partial: such
/// files are all in the set before anything renders. Any other file makes only the template
/// named after it.
fn may_define(name: &str, text: &str) -> bool {
    name.rsplit('/').next().unwrap_or(name).starts_with('_') || text.contains("define") || text.contains("block")
}

/// The parse results of a render's template files, taken as rendering needs them: from the
/// job that parsed them under their first name, or parsed now when dependency processing
/// renamed their chart.
struct Sources {
    job: Arc<ParseJob>,
    names: reef_gotmpl::func::FuncNames,
    /// The files, in render order ([`template_files`]).
    files: Vec<(String, TemplateFile)>,
    /// For each file, the job's index of the same file under the same name.
    guess_of: Vec<Option<usize>>,
    /// For each file, whether it [`may_define`] templates.
    defining: Vec<bool>,
}

impl Sources {
    /// The parse result of the `i`th file; each is taken once.
    fn take(&self, i: usize) -> Result<ParsedFile, ParseError> {
        match self.guess_of[i] {
            Some(g) => self.job.take(g),
            None => {
                let (name, f) = &self.files[i];
                parse::parse_file(name, &go_string::lossy(&f.data), &|n: &str| parse::Callee::resolve(&self.names, n))
            }
        }
    }
}

/// A parse error as Helm reports it.
fn parse_error_message(e: reef_gotmpl::Error) -> String {
    match &e {
        reef_gotmpl::Error::Parse { name, .. } => helmfn::rewrite_parse_error(name, &e.to_string()),
        _ => e.to_string(),
    }
}

/// The functions templates call: Sprig's, the YAML ones and Helm's.
fn helm_functions(lookup: Option<Lookup>) -> FuncMap {
    let mut funcs = reef_gotmpl::sprig::functions();
    funcs.extend(reef_gotmpl::yaml::functions());
    let lookup = lookup.map(|l| -> Rc<helmfn::LookupFn> {
        Rc::new(move |api_version: &str, kind: &str, namespace: &str, name: &str| {
            (l.0)(api_version, kind, namespace, name).map(|v| values::from_json(&v))
        })
    });
    funcs.extend(helmfn::functions(lookup));
    funcs
}

/// The values, capabilities and release the templates see: the chart's values coalesced with
/// the user's and checked against the schemas, and the chart's `kubeVersion` checked.
fn prepare(
    chart: &Chart,
    user: &MapRef,
    kube_version: &KubeVersion,
    name: &str,
    opts: &TemplateOptions,
    revision: i64,
) -> Result<(MapRef, Capabilities, Release), TemplateError> {
    let top = values::coalesce(chart, user, false).map_err(TemplateError::plain)?;
    schema::validate_chart(chart, &top).map_err(TemplateError::plain)?;
    let caps = Capabilities::new(kube_version.clone(), &opts.api_versions);
    if !chart.metadata.kube_version.is_empty()
        && !is_compatible_range(&chart.metadata.kube_version, kube_version.normalized())
    {
        return Err(TemplateError::render(
            format!(
                "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
                chart.metadata.kube_version,
                kube_version.normalized()
            ),
            opts.debug,
        ));
    }
    let release = Release {
        name: name.to_owned(),
        namespace: if opts.namespace.is_empty() { "default".to_owned() } else { opts.namespace.clone() },
        is_upgrade: opts.is_upgrade,
        revision,
    };
    Ok((top, caps, release))
}

/// Finds and loads CHART as `helm template` does for a local path (its values files left to
/// parse; `listed` as [`chart::load_unparsed`] has it); a name that is not a path would be a
/// repository reference, which reef does not fetch.
fn load_chart(path: &Path, listed: &mut dyn FnMut(usize)) -> Result<chart::Unparsed, TemplateError> {
    if path.exists() {
        return chart::load_unparsed(path, listed).map_err(|e| TemplateError::plain(e.0));
    }
    let name = path.to_string_lossy();
    if path.is_absolute() || name.starts_with('.') {
        return Err(TemplateError::plain(format!("path \"{name}\" not found")));
    }
    match name.split_once('/') {
        Some((repo, _)) => Err(TemplateError::plain(format!("repo {repo} not found"))),
        None => Err(TemplateError::plain(format!(
            "non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}"
        ))),
    }
}

/// The user's values: `-f` files merged in order, then `--set-json`, `--set`,
/// `--set-string` and `--set-file` (Helm's `values.Options.MergeValues`).
pub fn merge_user_values(opts: &TemplateOptions) -> Result<MapRef, TemplateError> {
    let mut base = new_map();
    for path in &opts.values_files {
        let text = read_file(path).map_err(TemplateError::plain)?;
        let current = values::parse_values(&text)
            .map_err(|e| TemplateError::plain(format!("failed to parse {}: {e}", path.display())))?;
        base = values::merge_maps(&base, &current);
    }
    let no_files = |_: &str| -> Result<String, String> { Err(String::new()) };
    for value in &opts.set_json {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            let json: serde_json::Value = serde_json::from_str(trimmed)
                .map_err(|_| TemplateError::plain(format!("failed parsing --set-json data JSON: {value}")))?;
            let Value::Map(ref m, _) = values::from_json(&json) else {
                return Err(TemplateError::plain(format!("failed parsing --set-json data JSON: {value}")));
            };
            base = values::merge_maps(&base, m);
        } else {
            strvals::parse_into(value, &base, ValueKind::Json, &no_files)
                .map_err(|_| TemplateError::plain(format!("failed parsing --set-json data {value}")))?;
        }
    }
    for value in &opts.set {
        strvals::parse_into(value, &base, ValueKind::Typed, &no_files)
            .map_err(|e| TemplateError::plain(format!("failed parsing --set data: {e}")))?;
    }
    for value in &opts.set_string {
        strvals::parse_into(value, &base, ValueKind::String, &no_files)
            .map_err(|e| TemplateError::plain(format!("failed parsing --set-string data: {e}")))?;
    }
    let reader = |path: &str| read_file(Path::new(path));
    for value in &opts.set_file {
        strvals::parse_into(value, &base, ValueKind::File, &reader)
            .map_err(|e| TemplateError::plain(format!("failed parsing --set-file data: {e}")))?;
    }
    Ok(base)
}

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        .map_err(|e| format!("open {}: {}", path.display(), chart::go_io_error(&e)))
}

/// A template file of the chart or of a subchart.
struct TemplateFile {
    /// The file's bytes (its text once read as UTF-8, invalid bytes replaced).
    data: Arc<[u8]>,
    /// The full path of its chart (`top/charts/sub`), which names the dot it sees.
    chart_path: String,
}

/// The templates of a chart and its enabled subcharts by full path (Helm's `recAllTpls`),
/// in the order Helm parses and renders them: deeper paths first, then reverse lexical order.
fn template_files(c: &Chart) -> Result<Vec<(String, TemplateFile)>, chart::LoadError> {
    fn walk(c: &Chart, full_path: &str, out: &mut BTreeMap<String, TemplateFile>) -> Result<(), chart::LoadError> {
        for child in c.dependencies() {
            walk(child, &format!("{full_path}/charts/{}", child.name()), out)?;
        }
        for t in &c.templates {
            let base = t.name.rsplit('/').next().unwrap_or(&t.name);
            if c.is_library() && !base.starts_with('_') {
                continue;
            }
            out.insert(
                format!("{full_path}/{}", t.name),
                TemplateFile { data: t.data.get()?.clone(), chart_path: full_path.to_owned() },
            );
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(c, c.name(), &mut files)?;
    let mut files: Vec<(usize, (String, TemplateFile))> =
        files.into_iter().map(|f| (f.0.bytes().filter(|&b| b == b'/').count(), f)).collect();
    files.sort_unstable_by(|(da, (a, _)), (db, (b, _))| db.cmp(da).then_with(|| b.cmp(a)));
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// The dot each chart's templates see, by the chart's full path (the chart, its files, the
/// release, capabilities, its values and its subcharts' dots); returns the chart's own.
fn chart_dots(
    c: &Chart,
    full_path: &str,
    parent_values: &Value,
    is_root: bool,
    release: &Value,
    caps: &Value,
    out: &mut HashMap<String, MapRef>,
) -> MapRef {
    let subcharts = new_map();
    let vals = if is_root {
        parent_values.clone()
    } else {
        match parent_values {
            Value::Map(m, _) => match m.borrow().get(c.name()) {
                Some(Value::Map(sub, _)) => Value::Map(sub.clone(), MapType::Values),
                _ => Value::Map(new_map(), MapType::Values),
            },
            _ => Value::Map(new_map(), MapType::Values),
        }
    };
    let files = Files::lazy(c.files.iter().map(|f| (f.name.clone(), Rc::new(f.data.clone()) as Rc<dyn FileData>)));
    let dot = new_map();
    {
        let mut d = dot.borrow_mut();
        d.insert("Chart".to_owned(), chart::metadata_value(&c.metadata, is_root));
        d.insert("Files".to_owned(), Value::Object(Rc::new(files)));
        d.insert("Release".to_owned(), release.clone());
        d.insert("Capabilities".to_owned(), caps.clone());
        d.insert("Values".to_owned(), vals.clone());
        d.insert("Subcharts".to_owned(), map_value(subcharts.clone()));
    }
    for child in c.dependencies() {
        let child_path = format!("{full_path}/charts/{}", child.name());
        let child_dot = chart_dots(child, &child_path, &vals, false, release, caps, out);
        subcharts.borrow_mut().insert(child.name().to_owned(), map_value(child_dot));
    }
    out.insert(full_path.to_owned(), dot.clone());
    dot
}

/// What rendering the templates gives: each template's output (`<no value>` removed) and
/// what sorting needs of it, read while the next templates rendered.
struct Rendered {
    outputs: BTreeMap<String, String>,
    read: BTreeMap<String, manifest::ReadFile>,
    /// The top chart's NOTES.txt.
    notes: String,
}

/// Renders every template of `sources`' files, partials left out, adding each to `set` as
/// `sources` gives its parse: the files that may define templates first, then each file just
/// before it renders, so rendering starts while the rest are still being parsed. A template
/// that includes a file not in the set yet gets it then ([`SetBuilder::fetch`]); a file that
/// does not parse fails the render as it would before anything rendered. As each output is
/// ready, another thread reads its documents for sorting ([`manifest::read_file`]) while this
/// one renders the next; NOTES.txt is rendered (its errors count) but not kept.
fn render_templates(
    c: &Chart,
    mut set: Templates,
    sources: Sources,
    top: MapRef,
    release: &Release,
    caps: Capabilities,
    to_read: ToRead,
) -> Result<Rendered, String> {
    let ToRead { outputs, reading, by_helper } = to_read;
    let release_value = release.value();
    let caps_value = Value::Object(Rc::new(caps));
    let mut dots = HashMap::new();
    chart_dots(c, c.name(), &Value::Map(top, MapType::Values), true, &release_value, &caps_value, &mut dots);
    let notes_name = format!("{}/templates/NOTES.txt", c.name());
    let mut notes = String::new();
    std::thread::scope(|scope| {
        // Without a second thread, this one reads everything once it has rendered.
        if !by_helper {
            let _reader =
                std::thread::Builder::new().name("reef-helm-read".to_owned()).spawn_scoped(scope, || reading.read());
        }
        let rendering = (|| {
            let builder = Rc::new(SetBuilder::new(sources));
            let fetcher = builder.clone();
            set.set_resolver(Some(reef_gotmpl::template::Resolver(Rc::new(move |name: &str| fetcher.fetch(name)))));
            builder.add_defining(&mut set)?;
            for (i, (name, file)) in builder.sources.files.iter().enumerate() {
                builder.add(&mut set, i)?;
                let base = name.rsplit('/').next().unwrap_or(name);
                if base.starts_with('_') {
                    continue;
                }
                let Some(dot) = dots.get(&file.chart_path) else {
                    return Err(format!("no values for the chart {}", file.chart_path));
                };
                let base_path = format!("{}/templates", file.chart_path);
                dot.borrow_mut().insert("Template".to_owned(), helmfn::template_value(name, &base_path));
                let out = match set.execute(name, map_value(dot.clone())) {
                    Ok(out) => out,
                    Err(e) => {
                        // A file that does not parse is the render's error, whatever rendering
                        // made of its absence.
                        builder.add_all(&mut set)?;
                        return Err(helmfn::rewrite_exec_error(name, &e.to_string()));
                    }
                };
                if *name == notes_name {
                    notes = helmfn::clean_output(&out);
                } else if !name.ends_with("NOTES.txt") {
                    // The reader is gone only if it panicked; what it did not read is read
                    // when sorting.
                    let _ = outputs.send((name.clone(), helmfn::clean_output(&out)));
                }
            }
            Ok(())
        })();
        drop(outputs);
        reading.read();
        rendering
    })?;
    set.set_resolver(None);
    set.drop_in_background();
    let mut rendered = Rendered { outputs: BTreeMap::new(), read: BTreeMap::new(), notes };
    // Once this thread's `read` has returned, no other thread is reading an output: each is
    // read while the receiver is held.
    let done = std::mem::take(&mut *reading.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for (name, text, r) in done {
        rendered.read.insert(name.clone(), r);
        rendered.outputs.insert(name, text);
    }
    Ok(rendered)
}

/// Where [`render_templates`] sends each output to be read for sorting, and whether the
/// parsing helper reads them (else a thread of their own does).
struct ToRead {
    outputs: std::sync::mpsc::Sender<(String, String)>,
    reading: Arc<Reading>,
    by_helper: bool,
}

/// The rendered outputs sent to be read for sorting ([`manifest::read_file`]), and what
/// reading them gave.
struct Reading {
    receiver: Mutex<std::sync::mpsc::Receiver<(String, String)>>,
    done: Mutex<Vec<(String, String, manifest::ReadFile)>>,
}

impl Reading {
    /// Reads outputs until there are no more (the sender is dropped); both threads run it.
    /// Each output is read while the receiver is held, so that once one thread's `read` has
    /// returned, the other is reading none.
    fn read(&self) {
        loop {
            let receiver = self.receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Ok((name, text)) = receiver.recv() else { return };
            let r = manifest::read_file(&name, &text);
            self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((name, text, r));
        }
    }
}

/// Builds a render's template set file by file, giving the set Go's parse-everything-first
/// gives: the files that may define templates go in first, in order, and each other file
/// (which makes only the template named after it, so its place in the order does not
/// matter) when it is about to render, or when a template includes it.
struct SetBuilder {
    sources: Sources,
    /// Each file's index, by name.
    index: HashMap<String, usize>,
    state: RefCell<BuildState>,
}

#[derive(Default)]
struct BuildState {
    /// Whether each file is in the set.
    added: Vec<bool>,
    /// The templates of files fetched for a template that included them, not in the set yet.
    fetched: Vec<Option<Vec<Rc<reef_gotmpl::parse::Tree>>>>,
    /// Parse results taken and not added (a file that does not parse).
    held: Vec<Option<Result<ParsedFile, ParseError>>>,
}

impl SetBuilder {
    fn new(sources: Sources) -> Self {
        let n = sources.files.len();
        let index = sources.files.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
        let state = BuildState {
            added: vec![false; n],
            fetched: (0..n).map(|_| None).collect(),
            held: (0..n).map(|_| None).collect(),
        };
        SetBuilder { sources, index, state: RefCell::new(state) }
    }

    /// Adds the files that may define templates (see [`may_define`]), in order. Should one
    /// not parse, or define a template named like another file, every file goes in now.
    fn add_defining(&self, set: &mut Templates) -> Result<(), String> {
        let files = &self.sources.files;
        let defining: Vec<usize> = (0..files.len()).filter(|&i| self.sources.defining[i]).collect();
        let parsed: Vec<Result<ParsedFile, ParseError>> = defining.iter().map(|&i| self.sources.take(i)).collect();
        let fits = parsed.iter().all(|r| {
            r.as_ref()
                .is_ok_and(|p| p.template_names().all(|n| self.index.get(n).is_none_or(|&j| self.sources.defining[j])))
        });
        let mut state = self.state.borrow_mut();
        if fits {
            for &i in &defining {
                state.added[i] = true;
            }
            return set.add_parsed(parsed).map_err(parse_error_message);
        }
        for (&i, r) in defining.iter().zip(parsed) {
            state.held[i] = Some(r);
        }
        drop(state);
        self.add_all(set)
    }

    /// Adds file `i` if it is not in the set yet.
    fn add(&self, set: &mut Templates, i: usize) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        if state.added[i] {
            return Ok(());
        }
        if let Some(trees) = state.fetched[i].take() {
            state.added[i] = true;
            set.add_trees(trees);
            return Ok(());
        }
        drop(state);
        match self.sources.take(i) {
            Ok(parsed) => {
                self.state.borrow_mut().added[i] = true;
                set.add_parsed(vec![Ok(parsed)]).map_err(parse_error_message)
            }
            Err(e) => {
                self.state.borrow_mut().held[i] = Some(Err(e));
                self.add_all(set)
            }
        }
    }

    /// The template `name` for a template that asks for it before its file is in the set
    /// (`include (print $.Template.BasePath "/configmap.yaml")` in a file that renders first).
    fn fetch(&self, name: &str) -> Option<Rc<reef_gotmpl::parse::Tree>> {
        let &i = self.index.get(name)?;
        {
            let state = self.state.borrow();
            if state.added[i] || state.held[i].is_some() {
                return None;
            }
            if let Some(trees) = &state.fetched[i] {
                return trees.iter().find(|t| t.name == name).cloned();
            }
        }
        match self.sources.take(i) {
            Ok(parsed) => {
                let trees: Vec<Rc<reef_gotmpl::parse::Tree>> = parsed.into_trees().into_iter().map(Rc::new).collect();
                let tree = trees.iter().find(|t| t.name == name).cloned();
                self.state.borrow_mut().fetched[i] = Some(trees);
                tree
            }
            // Rendering fails for want of it, and [`SetBuilder::add_all`] reports why.
            Err(e) => {
                self.state.borrow_mut().held[i] = Some(Err(e));
                None
            }
        }
    }

    /// Adds every file not in the set yet, in order, once each is parsed: the first file in
    /// order that does not parse is the error. The files added before did parse.
    fn add_all(&self, set: &mut Templates) -> Result<(), String> {
        enum Pending {
            Fetched(Vec<Rc<reef_gotmpl::parse::Tree>>),
            Parsed(ParsedFile),
        }
        let mut state = self.state.borrow_mut();
        let mut pending = Vec::new();
        for i in 0..self.sources.files.len() {
            if state.added[i] {
                continue;
            }
            state.added[i] = true;
            match state.fetched[i].take() {
                Some(trees) => pending.push(Pending::Fetched(trees)),
                None => match state.held[i].take().unwrap_or_else(|| self.sources.take(i)) {
                    Ok(parsed) => pending.push(Pending::Parsed(parsed)),
                    // The files after it do not matter: this is the first error in order.
                    Err(e) => return Err(parse_error_message(e.into())),
                },
            }
        }
        for p in pending {
            match p {
                Pending::Parsed(parsed) => set.add_parsed(vec![Ok(parsed)]).map_err(parse_error_message)?,
                Pending::Fetched(trees) => set.add_trees(trees),
            }
        }
        Ok(())
    }
}

/// The CRDs of a chart and its subcharts (`crds/*.yaml|yml|json`): each file's path and text,
/// as `--include-crds` prints them and an install applies them.
pub fn chart_crds(c: &Chart) -> Result<Vec<(String, String)>, chart::LoadError> {
    let mut out = Vec::new();
    crd_files(c, c.name(), &mut out)?;
    Ok(out)
}

/// [`chart_crds`] of the chart at `full_path` (`top/charts/sub`).
fn crd_files(c: &Chart, full_path: &str, out: &mut Vec<(String, String)>) -> Result<(), chart::LoadError> {
    for f in &c.files {
        let is_manifest = [".yaml", ".yml", ".json"].iter().any(|ext| f.name.ends_with(ext));
        if f.name.starts_with("crds/") && is_manifest {
            out.push((format!("{full_path}/{}", f.name), f.text()?.into_owned()));
        }
    }
    for d in c.dependencies() {
        crd_files(d, &format!("{full_path}/charts/{}", d.name()), out)?;
    }
    Ok(())
}

/// What `helm template` prints for the rendered templates.
fn assemble(c: &Chart, rendered: Rendered, opts: &TemplateOptions) -> Result<String, TemplateError> {
    let files = rendered.outputs;
    let sorted = match manifest::sort_read(&files, rendered.read) {
        Ok(s) => s,
        Err(e) => {
            let message = format!("YAML parse error on {}: {}", e.source, e.message);
            let mut err = TemplateError::render(message, opts.debug);
            if opts.debug {
                let mut out = String::new();
                for (name, content) in &files {
                    if content.trim().is_empty() {
                        continue;
                    }
                    push_document(&mut out, name, content);
                }
                // `helm template` prints the manifest trimmed, with one line break.
                err.stdout = format!("{}\n", out.trim());
            }
            return Err(err);
        }
    };
    let mut manifest = String::new();
    if opts.include_crds {
        for (name, content) in chart_crds(c).map_err(|e| TemplateError::plain(e.0))? {
            push_document(&mut manifest, &name, &content);
        }
    }
    for m in &sorted.manifests {
        push_document(&mut manifest, m.source, m.content);
    }
    // The manifests trimmed, with one line break, then the hooks.
    manifest.truncate(manifest.trim_end().len());
    let leading = manifest.len() - manifest.trim_start().len();
    manifest.drain(..leading);
    manifest.push('\n');
    for h in &sorted.hooks {
        push_document(&mut manifest, h.source, h.content);
    }
    if opts.show_only.is_empty() {
        return Ok(manifest);
    }
    show_only(&manifest, &opts.show_only)
}

/// Appends one document as `helm template` prints it: `---`, its `# Source:` line, its text.
fn push_document(out: &mut String, source: &str, content: &str) {
    out.push_str("---\n# Source: ");
    out.push_str(source);
    out.push('\n');
    out.push_str(content);
    out.push('\n');
}

#[expect(clippy::unwrap_used, reason = "a constant pattern")]
static SOURCE_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"# Source: [^/]+/(.+)").unwrap());

/// `--show-only`: the documents whose template matches each pattern, in the order given.
fn show_only(all: &str, patterns: &[String]) -> Result<String, TemplateError> {
    let docs = manifest::split_manifests(all);
    let mut out = String::new();
    for f in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(caps) = SOURCE_LINE.captures(doc) else { continue };
            let path = caps.get(1).map_or("", |m| m.as_str());
            if !crate::glob::matches(f, path) {
                continue;
            }
            out.push_str(&format!("---\n{doc}\n"));
            missing = false;
        }
        if missing {
            return Err(TemplateError::plain(format!("could not find template {f} in chart")));
        }
    }
    Ok(out)
}

/// What a release record keeps of a render, taken before coalescing moves the chart's values.
#[derive(Default)]
struct Recorded {
    /// The values the user gave.
    config: serde_json::Value,
    /// The chart ([`crate::release::chart_json`]), after dependency processing.
    chart: serde_json::Value,
}

/// A document of a release to apply: the template it came from, its kind and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `chart/templates/file.yaml`.
    pub source: String,
    /// Its `kind`.
    pub kind: String,
    /// The YAML document.
    pub content: String,
}

/// What installing or upgrading a chart puts into a cluster and into its release record.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRender {
    /// The chart as the release record keeps it ([`crate::release::chart_json`]).
    pub chart: serde_json::Value,
    /// The values the user gave.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The CRDs of the chart and its subcharts (`crds/`), installed before anything else:
    /// each file's path and text.
    pub crds: Vec<(String, String)>,
    /// The documents that are not hooks, in Helm's install order.
    pub resources: Vec<Resource>,
    /// The release record's `manifest`: each resource as `---\n# Source: ...\n<text>\n`.
    pub manifest: String,
    /// The hooks, in install order by kind (run by weight).
    pub hooks: Vec<crate::release::Hook>,
    /// The rendered NOTES.txt of the top chart.
    pub notes: String,
}

/// Renders a chart as revision `revision` of the release `opts.release_name` in
/// `opts.namespace` (an upgrade when `opts.is_upgrade`), split as Helm's install splits it.
pub fn render_release(opts: &TemplateOptions, revision: u32) -> Result<ReleaseRender, TemplateError> {
    let (chart, recorded, rendered) = render_parts(opts, i64::from(revision), true)?;
    let Recorded { config, chart: chart_record } = recorded.unwrap_or_default();
    let sorted = manifest::sort_read(&rendered.outputs, rendered.read)
        .map_err(|e| TemplateError::render(format!("YAML parse error on {}: {}", e.source, e.message), opts.debug))?;
    let crds = chart_crds(&chart).map_err(|e| TemplateError::plain(e.0))?;
    let mut manifest = String::new();
    let mut resources = Vec::new();
    for m in &sorted.manifests {
        push_document(&mut manifest, m.source, m.content);
        resources.push(Resource { source: m.source.to_owned(), kind: m.kind.clone(), content: m.content.to_owned() });
    }
    let hooks = sorted.hooks.iter().map(|h| hook(h.source, &h.kind, h.content)).collect();
    Ok(ReleaseRender {
        chart: chart_record,
        config: match config {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        },
        crds,
        resources,
        manifest,
        hooks,
        notes: rendered.notes,
    })
}

/// A hook document as the release record keeps it: its events, weight and delete policies
/// read from its `helm.sh/hook*` annotations, as Helm reads them.
fn hook(source: &str, kind: &str, content: &str) -> crate::release::Hook {
    let doc: serde_json::Value = yaml_serde::from_str(content).unwrap_or_default();
    let annotation = |key: &str| doc["metadata"]["annotations"][key].as_str().unwrap_or("").to_owned();
    let list = |text: String| -> Vec<String> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    };
    crate::release::Hook {
        name: doc["metadata"]["name"].as_str().unwrap_or("").to_owned(),
        kind: kind.to_owned(),
        path: source.to_owned(),
        manifest: content.to_owned(),
        // Lower-cased, `test-success` read as `test`, unknown events dropped (Helm's
        // `releaseutil` event table).
        events: list(annotation("helm.sh/hook"))
            .into_iter()
            .filter_map(|e| match e.to_lowercase().as_str() {
                "test-success" => Some("test".to_owned()),
                e => manifest::HOOK_EVENTS.contains(&e).then(|| e.to_owned()),
            })
            .collect(),
        last_run: serde_json::json!({"phase": ""}),
        weight: annotation("helm.sh/hook-weight").trim().parse().unwrap_or(0),
        delete_policies: list(annotation("helm.sh/hook-delete-policy")),
        other: serde_json::Map::new(),
    }
}
