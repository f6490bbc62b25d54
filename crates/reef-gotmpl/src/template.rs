//! The public face of the engine: a set of named templates parsed once and rendered many
//! times, as Go's `*template.Template` is used by Helm (`New(name).Parse(text)` per file, then
//! `ExecuteTemplate(name, data)`).
//!
//! ```
//! use reef_gotmpl::{FuncMap, Templates, Value};
//!
//! let mut set = Templates::new(FuncMap::new());
//! set.add("_helpers.tpl", r#"{{ define "item" }}[{{ . }}]{{ end }}"#).expect("parses");
//! set.add("main", r#"{{ range . }}{{ template "item" . }}{{ end }}"#).expect("parses");
//! let out = set.execute("main", Value::string_list(["a", "b"])).expect("renders");
//! assert_eq!(out, "[a][b]");
//! ```
//!
//! Errors read as Go's (`template: main:1:3: executing "main" at <...>: ...`); a function
//! renders templates of the running set through [`crate::Host`] (`include`, `tpl`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::exec::{self, ExecHost, Shared, TplCache, TreeSet};
use crate::format::go_quote;
use crate::func::{FuncError, FuncMap, FuncNames, Host};
use crate::parse::{self, Tree};
use crate::value::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Limits that keep a hostile template bounded.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nesting of `template` calls (and of `include`/`tpl`, which go through [`Host`]).
    /// Go's limit is 100000; the executor grows its stack on the heap to reach it.
    pub max_template_depth: usize,
    /// Bytes one render may write (each `include` buffer counts on its own).
    pub max_output_bytes: usize,
    /// `range` iterations in one render, all loops together.
    pub max_range_iterations: u64,
    /// Bytes one render may write and have functions build, all together (nested `include`
    /// and `tpl` renders included; a value counts by [`Value::shallow_size`]). Bounds the
    /// memory a render holds and the work it does: a list grown by `append` in a loop, a
    /// large string built over and over. No single value exceeds
    /// [`crate::value::MAX_VALUE_BYTES`].
    pub max_built_bytes: u64,
    /// Wall-clock time one render (a template with everything it includes and `tpl`s) may
    /// take, checked at every 16th function call or `range` iteration: what bounds a template
    /// whose every step is within the other limits but that would still run for hours (ten
    /// million RSA keys). Go has no such limit. `None`: no limit.
    pub max_duration: Option<std::time::Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_template_depth: 100_000,
            max_output_bytes: 64 << 20,
            max_range_iterations: 10_000_000,
            max_built_bytes: 512 << 20,
            max_duration: Some(std::time::Duration::from_secs(120)),
        }
    }
}

/// An error of parsing or executing, whose `Display` is Go's error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `template: NAME:LINE: MESSAGE`.
    Parse {
        /// The file.
        name: String,
        /// The line.
        line: usize,
        /// Go's message.
        message: String,
    },
    /// `template: FILE:LINE:COL: executing "NAME" at <CONTEXT>: MESSAGE`, or
    /// `template: NAME: MESSAGE` when no node is known.
    Exec {
        /// The executing template's name.
        template: String,
        /// `file:line:col`, when known.
        location: Option<String>,
        /// The node, as Go prints it.
        context: String,
        /// Go's message.
        message: String,
    },
    /// `template: no template "NAME" associated with template "SET"`.
    NoTemplate {
        /// The missing template.
        name: String,
        /// The set's name.
        set: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { name, line, message } => write!(f, "template: {name}:{line}: {message}"),
            Error::Exec { template, location: Some(loc), context, message } => {
                write!(f, "template: {loc}: executing {} at <{context}>: {message}", go_quote(template))
            }
            Error::Exec { template, location: None, message, .. } => write!(f, "template: {template}: {message}"),
            Error::NoTemplate { name, set } => {
                write!(f, "template: no template {} associated with template {}", go_quote(name), go_quote(set))
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<parse::ParseError> for Error {
    fn from(e: parse::ParseError) -> Error {
        Error::Parse { name: e.name, line: e.line, message: e.message }
    }
}

/// A set of named templates sharing functions, like a Go `*template.Template` and its
/// associated templates.
#[derive(Debug)]
pub struct Templates {
    name: String,
    funcs: Rc<FuncMap>,
    set: Rc<TreeSet>,
    opts: Options,
    tpl_cache: Rc<RefCell<TplCache>>,
    resolver: Option<Resolver>,
}

/// Gives a template the set does not hold yet, by name: for a caller that adds templates to a
/// set while it renders (see [`Templates::set_resolver`]).
#[derive(Clone)]
pub struct Resolver(pub Rc<ResolveFn>);

/// What a [`Resolver`] calls: the template of that name, if the caller has it.
pub type ResolveFn = dyn Fn(&str) -> Option<Rc<Tree>>;

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

/// Go's `(*Template).associate`: a later definition replaces an earlier one, unless it is
/// empty (a file holding only `define`s does not erase a template of the file's name).
pub(crate) fn associate(set: &mut TreeSet, tree: Rc<Tree>) {
    if tree.is_empty()
        && let Some(_old) = set.get(tree.name.as_str())
    {
        return;
    }
    set.insert(Rc::from(tree.name.as_str()), tree);
}

/// Template files to parse, shared out between the threads that call [`ParseJob::work`], the
/// largest files first (or in an order the caller gives): a caller can start threads on a
/// job, do something else, then join in (or not) and collect the results, all at once with
/// [`ParseJob::finish`] for [`Templates::add_parsed`], or file by file with
/// [`ParseJob::take`] as it needs them.
#[derive(Debug)]
pub struct ParseJob {
    names: FuncNames,
    /// Each file's name and text.
    files: Vec<(Arc<str>, Arc<str>)>,
    /// Indexes of `files`, in the order threads take them.
    order: Vec<usize>,
    /// How many of `order` have been handed out.
    next: AtomicUsize,
    /// Whether a thread has taken each file (through `order` or [`ParseJob::take`]).
    claimed: Vec<AtomicBool>,
    /// Set by [`ParseJob::cancel`]: no file is taken any more.
    cancelled: AtomicBool,
    /// Each parsed file's result, until it is collected.
    done: Mutex<Vec<Option<ParseResult>>>,
    /// Signalled when a file's result is in `done`.
    parsed: Condvar,
}

/// What parsing a file gives.
pub type ParseResult = Result<parse::ParsedFile, parse::ParseError>;

impl ParseJob {
    /// A job parsing `files` (name and text) for a set whose functions are named by `names`,
    /// the largest first.
    pub fn new(names: FuncNames, files: Vec<(Arc<str>, Arc<str>)>) -> ParseJob {
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_unstable_by_key(|&i| std::cmp::Reverse(files[i].1.len()));
        ParseJob::in_order(names, files, order)
    }

    /// A job parsing `files` in `order` (indexes of `files`; those it leaves out are parsed
    /// when taken or at [`ParseJob::finish`]).
    pub fn in_order(names: FuncNames, files: Vec<(Arc<str>, Arc<str>)>, order: Vec<usize>) -> ParseJob {
        ParseJob {
            names,
            claimed: files.iter().map(|_| AtomicBool::new(false)).collect(),
            done: Mutex::new(files.iter().map(|_| None).collect()),
            files,
            order,
            next: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            parsed: Condvar::new(),
        }
    }

    /// How many threads are worth putting on the job, the caller's included.
    pub fn threads(&self) -> usize {
        parse_threads(self.files.iter().map(|(_, text)| text.len()).sum())
    }

    fn parse(&self, i: usize) -> ParseResult {
        let (name, text) = &self.files[i];
        parse::parse_file_shared(name, text, &|n: &str| parse::Callee::resolve(&self.names, n))
    }

    fn results(&self) -> std::sync::MutexGuard<'_, Vec<Option<ParseResult>>> {
        self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the threads worth putting on the job (see [`ParseJob::threads`]) besides the
    /// caller's and `working` others already on it (a [`WaitingHelper`]'s), in `scope`; a
    /// thread the system refuses to start is done without, its share left to the others.
    pub fn spawn_helpers<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        working: usize,
    ) -> Vec<std::thread::ScopedJoinHandle<'scope, ()>> {
        (1 + working..self.threads())
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("reef-gotmpl-parse".to_owned())
                    .spawn_scoped(scope, || self.work())
                    .ok()
            })
            .collect()
    }

    /// Parses files until none is left to take.
    pub fn work(&self) {
        while self.work_one() {}
    }

    /// Parses the next file in order no thread has taken; `false` when there is none.
    fn work_one(&self) -> bool {
        loop {
            if self.cancelled.load(Ordering::Relaxed) {
                return false;
            }
            let Some(&i) = self.order.get(self.next.fetch_add(1, Ordering::Relaxed)) else { return false };
            if self.claimed[i].swap(true, Ordering::AcqRel) {
                continue;
            }
            let result = self.parse(i);
            self.results()[i] = Some(result);
            self.parsed.notify_all();
            return true;
        }
    }

    /// Stops the job: the threads working on it finish the file they are parsing and return
    /// (the results are no longer needed, say because rendering failed before templates).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// The result of file `i`: parsed on this thread if no thread has taken it; if one is
    /// parsing it, this thread parses the next files in order meanwhile, and waits only when
    /// none is left. Each file's result is given once (asked again, it is parsed again).
    pub fn take(&self, i: usize) -> ParseResult {
        if !self.claimed[i].swap(true, Ordering::AcqRel) {
            return self.parse(i);
        }
        // A thread that waits idles, and a processor that idles is slow to come back (on a
        // virtual machine, a tenth of a millisecond and more); the files it parses meanwhile
        // are needed next.
        while self.results()[i].is_none() && self.work_one() {}
        let mut results = self.results();
        loop {
            if let Some(result) = results[i].take() {
                return result;
            }
            // A thread took the file and has not stored it; should it have panicked, its
            // result never comes: wait a while at a time, then parse it here.
            let (next, timeout) = self
                .parsed
                .wait_timeout(results, std::time::Duration::from_secs(1))
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            results = next;
            if timeout.timed_out() && results[i].is_none() {
                drop(results);
                return self.parse(i);
            }
        }
    }

    /// Every file's result, in the order of the files; files no thread parsed (none worked,
    /// or one panicked) are parsed now.
    pub fn finish(self) -> Vec<ParseResult> {
        let done = std::mem::take(&mut *self.results());
        done.into_iter().enumerate().map(|(i, r)| r.unwrap_or_else(|| self.parse(i))).collect()
    }
}

/// A thread started for a [`ParseJob`] before the job exists, so that it is running by the
/// time the job is made: a caller that must read files before it knows what to parse starts
/// one first. A new thread gets a processor of its own only after a while when the machine's
/// processors have been idle (1.5 to 2.5 ms measured on a virtual machine, against 0.15 ms
/// right after other work), and most of a render's parsing would be done by then.
#[derive(Debug)]
pub struct WaitingHelper {
    slot: Arc<HelperSlot>,
}

#[derive(Debug)]
struct HelperSlot {
    state: Mutex<HelperState>,
    changed: Condvar,
}

enum HelperState {
    Waiting,
    /// The job, and what to do after it.
    Job(Arc<ParseJob>, Box<dyn FnOnce() + Send>),
    /// The thread has taken its job.
    Taken,
    /// No job is coming (the caller failed before it had one).
    Gone,
}

impl fmt::Debug for HelperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HelperState::Waiting => "Waiting",
            HelperState::Job(..) => "Job",
            HelperState::Taken => "Taken",
            HelperState::Gone => "Gone",
        })
    }
}

impl WaitingHelper {
    /// Starts the thread; `None` on a machine that runs one thread at a time, or if the system
    /// refuses to start it.
    pub fn start() -> Option<WaitingHelper> {
        if render_threads() < 2 {
            return None;
        }
        let slot = Arc::new(HelperSlot { state: Mutex::new(HelperState::Waiting), changed: Condvar::new() });
        let theirs = slot.clone();
        std::thread::Builder::new()
            .name("reef-gotmpl-parse".to_owned())
            .spawn(move || {
                let (job, then) = {
                    let mut state = theirs.lock();
                    loop {
                        match std::mem::replace(&mut *state, HelperState::Taken) {
                            HelperState::Waiting => {
                                *state = HelperState::Waiting;
                                state = theirs.changed.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
                            }
                            HelperState::Job(job, then) => break (job, then),
                            HelperState::Taken | HelperState::Gone => return,
                        }
                    }
                };
                if job.threads() > 1 {
                    job.work();
                }
                then();
            })
            .ok()?;
        Some(WaitingHelper { slot })
    }

    /// Gives the thread `job`, which it works on if the job is worth more than one thread
    /// ([`ParseJob::threads`]): count it as one working on the job for
    /// [`ParseJob::spawn_helpers`]. Once done with the job (or once it is cancelled), the
    /// thread runs `then`.
    pub fn give(self, job: &Arc<ParseJob>, then: impl FnOnce() + Send + 'static) {
        *self.slot.lock() = HelperState::Job(job.clone(), Box::new(then));
        self.slot.changed.notify_one();
    }
}

impl HelperSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, HelperState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for WaitingHelper {
    /// Without a job given, the thread ends.
    fn drop(&mut self) {
        let mut state = self.slot.lock();
        if matches!(*state, HelperState::Waiting) {
            *state = HelperState::Gone;
            self.slot.changed.notify_one();
        }
    }
}

/// Template text whose parse trees are freed sooner than a thread starts to free them
/// ([`Templates::drop_in_background`]).
const BACKGROUND_DROP_BYTES: usize = 32 << 10;

/// Text below which parsing on another thread costs more than it saves.
const PARSE_BYTES_PER_THREAD: usize = 64 << 10;

/// How many threads a render puts on work it can share out: as many as the machine runs at
/// once, at most four. Asked of the system once (the answer reads cgroup files on Linux).
pub fn render_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4))
}

/// How many threads parse `bytes` of template text: one per [`PARSE_BYTES_PER_THREAD`], at
/// most [`render_threads`].
fn parse_threads(bytes: usize) -> usize {
    (bytes / PARSE_BYTES_PER_THREAD).clamp(1, render_threads())
}

impl Templates {
    /// An empty set with `funcs` (Go's builtins are always there) and default limits.
    pub fn new(funcs: FuncMap) -> Templates {
        Templates::with_options(funcs, Options::default())
    }

    /// An empty set with `funcs` and `opts`.
    pub fn with_options(funcs: FuncMap, opts: Options) -> Templates {
        Templates {
            name: "gotpl".to_owned(),
            funcs: Rc::new(funcs),
            set: Rc::new(HashMap::new()),
            opts,
            tpl_cache: Rc::default(),
            resolver: None,
        }
    }

    /// Asks `resolver` for the templates `template`, `include` and `tpl` name and the set does
    /// not hold: for a caller that renders while templates are still being parsed, and that
    /// gives each of those when asked as if the set held it.
    pub fn set_resolver(&mut self, resolver: Option<Resolver>) {
        self.resolver = resolver;
    }

    /// Names the set (Go's outer template name, which appears in `no template "x"
    /// associated with template "NAME"`). Helm's is `gotpl`, the default.
    pub fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    /// Parses `text` as the template `name` (Go's `t.New(name).Parse(text)`): the file's body
    /// becomes the template `name`, and each `define`/`block` a template of the set.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let names = funcs.names_index();
        let resolve = |n: &str| parse::Callee::resolve(names, n);
        let trees = parse::parse(name, text, &resolve)?;
        let set = Rc::make_mut(&mut self.set);
        for t in trees {
            associate(set, Rc::new(t));
        }
        Ok(())
    }

    /// Parses each of `files` (name and text) as [`Templates::add`] does, in order: a later
    /// definition replaces an earlier one, and the error is that of the first file in order
    /// that does not parse. With enough text, the files are parsed side by side on several
    /// threads (a large chart's templates are megabytes).
    pub fn add_all(&mut self, files: &[(&str, &str)]) -> Result<(), Error> {
        let parsed = {
            let files = files.iter().map(|(name, text)| (Arc::from(*name), Arc::from(*text))).collect();
            let job = ParseJob::new(self.func_names().clone(), files);
            std::thread::scope(|scope| {
                let helpers = job.spawn_helpers(scope, 0);
                job.work();
                for h in helpers {
                    // A helper that panicked leaves its files to `finish`.
                    let _ = h.join();
                }
            });
            job.finish()
        };
        self.add_parsed(parsed)
    }

    /// Adds files parsed by a [`ParseJob`] (in the order of its files), as [`Templates::add`]
    /// would have added them one by one.
    pub fn add_parsed(&mut self, parsed: Vec<Result<parse::ParsedFile, parse::ParseError>>) -> Result<(), Error> {
        let set = Rc::make_mut(&mut self.set);
        for file in parsed {
            for t in file?.into_trees() {
                associate(set, Rc::new(t));
            }
        }
        Ok(())
    }

    /// Adds templates made before (by [`parse::ParsedFile::into_trees`]), as
    /// [`Templates::add_parsed`] adds a file's.
    pub fn add_trees(&mut self, trees: impl IntoIterator<Item = Rc<Tree>>) {
        let set = Rc::make_mut(&mut self.set);
        for t in trees {
            associate(set, t);
        }
    }

    /// The names of the set's functions, which a [`ParseJob`] for this set resolves against.
    pub fn func_names(&self) -> &FuncNames {
        self.funcs.names_index()
    }

    /// Drops the set, leaving most of the freeing to another thread when the set is large: a
    /// large chart's parse trees are hundreds of thousands of allocations, and the caller has
    /// better things to do than free them (freeing the trees of 300 KB of templates takes
    /// 0.4 ms; starting a thread, a twentieth of that).
    pub fn drop_in_background(self) {
        let Templates { set, .. } = self;
        let Ok(set) = Rc::try_unwrap(set) else { return };
        // The trees of a few templates are freed sooner than a thread starts. A file's trees
        // share its text, so each file's text is counted once.
        let mut texts: Vec<(*const u8, usize)> = set.values().map(|t| (t.text.as_ptr(), t.text.len())).collect();
        texts.sort_unstable();
        texts.dedup();
        if texts.iter().map(|&(_, len)| len).sum::<usize>() < BACKGROUND_DROP_BYTES {
            return;
        }
        let roots: Vec<Vec<parse::Node>> =
            set.into_values().filter_map(|t| Rc::try_unwrap(t).ok()).map(|t| t.root).collect();
        // Should the thread not start, the closure and the trees are dropped here.
        let _ = std::thread::Builder::new().name("reef-gotmpl-free".to_owned()).spawn(move || drop(roots));
    }

    /// Whether a template called `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// The names of the templates, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.set.keys().map(|k| &**k).collect();
        v.sort_unstable();
        v
    }

    /// The limits in force.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    fn shared(&self) -> Shared {
        Shared {
            set: self.set.clone(),
            layers: HashMap::new(),
            tpl_cache: self.tpl_cache.clone(),
            funcs: self.funcs.clone(),
            opts: self.opts.clone(),
            out: String::new(),
            depth: 0,
            range_iterations: 0,
            deadline: self.opts.max_duration.and_then(|d| std::time::Instant::now().checked_add(d)),
            deadline_checks: 0,
            built: 0,
            set_name: Rc::from(self.name.as_str()),
            resolver: self.resolver.clone(),
        }
    }

    /// Renders the template `name` with `data` as dot (Go's `ExecuteTemplate`). The output
    /// keeps Go's `<no value>` for missing values; Helm removes those afterwards.
    pub fn execute(&self, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = self.set.get(name).cloned() else {
            return Err(Error::NoTemplate { name: name.to_owned(), set: self.name.clone() });
        };
        let mut sh = self.shared();
        stacker::maybe_grow(exec::RED_ZONE, exec::STACK_GROWTH, || exec::execute(&mut sh, &tree, data))
            .map_err(|e| *e)?;
        Ok(sh.out)
    }

    /// Renders `text` as a template that can use every template of the set (what Helm's
    /// `tpl` does), without changing the set.
    pub fn execute_text(&self, name: &str, text: &str, data: Value) -> Result<String, FuncError> {
        let mut sh = self.shared();
        let mut host = ExecHost { sh: &mut sh, current: &self.name };
        host.execute_text(name, text, data)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_thread_that_needs_a_file_another_is_parsing_parses_the_next_ones_meanwhile() {
        let files: Vec<(Arc<str>, Arc<str>)> = ["a", "b", "c"]
            .into_iter()
            .map(|n| (Arc::from(n), Arc::from(format!("{{{{ define \"{n}1\" }}}}{n}{{{{ end }}}}").as_str())))
            .collect();
        let job = ParseJob::in_order(FuncMap::new().names_index().clone(), files, vec![0, 1, 2]);
        // As if another thread had taken "a" and were parsing it: it gives its result once the
        // others are parsed, or after a while.
        job.claimed[0].store(true, Ordering::Relaxed);
        let others_parsed_first = std::thread::scope(|s| {
            let other = s.spawn(|| {
                let start = std::time::Instant::now();
                let mut results = job.results();
                while results[1..].iter().any(Option::is_none) && start.elapsed() < Duration::from_secs(5) {
                    results = job.parsed.wait_timeout(results, Duration::from_millis(10)).expect("lock").0;
                }
                let others_parsed = results[1..].iter().all(Option::is_some);
                results[0] = Some(job.parse(0));
                job.parsed.notify_all();
                others_parsed
            });
            let a = job.take(0).expect("a parses");
            assert_eq!(a.template_names().collect::<Vec<_>>(), ["a", "a1"]);
            other.join().expect("the other thread")
        });
        assert!(others_parsed_first, "the thread waited for a instead of parsing b and c");
        assert_eq!(job.take(2).expect("c parses").template_names().collect::<Vec<_>>(), ["c", "c1"]);
    }

    /// Polls `done` every millisecond for up to ten seconds.
    fn eventually(done: impl Fn() -> bool) -> bool {
        let start = std::time::Instant::now();
        while !done() {
            if start.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn a_waiting_helper_works_on_the_job_it_is_given_then_on_the_rest_and_ends_without_one() {
        if render_threads() < 2 {
            assert!(WaitingHelper::start().is_none(), "a helper on a machine that runs one thread");
            return;
        }
        // Two files, enough text for two threads.
        let text = format!("{{{{ .a }}}}{}", "text\n".repeat(PARSE_BYTES_PER_THREAD / 5));
        let files: Vec<(Arc<str>, Arc<str>)> = ["a", "b"].map(|n| (Arc::from(n), Arc::from(text.as_str()))).into();
        let job = Arc::new(ParseJob::new(FuncMap::new().names_index().clone(), files));
        assert!(job.threads() > 1);
        let helper = WaitingHelper::start().expect("a thread starts");
        // What the helper finds when it runs what it is given to do after the job.
        let after = Arc::new(Mutex::new(None));
        let (theirs, their_job) = (after.clone(), job.clone());
        helper.give(&job, move || {
            *theirs.lock().expect("lock") = Some(their_job.results().iter().all(Option::is_some));
        });
        // This thread does not work on the job: the helper parses both files, then runs the
        // rest.
        assert!(eventually(|| after.lock().expect("lock").is_some()), "the helper did not run what follows the job");
        assert_eq!(*after.lock().expect("lock"), Some(true), "the helper ran the rest before parsing the files");
        assert!(job.results().iter().all(|r| r.as_ref().is_some_and(Result::is_ok)));

        let helper = WaitingHelper::start().expect("a thread starts");
        let slot = Arc::downgrade(&helper.slot);
        drop(helper);
        // The thread holds the slot until it ends.
        assert!(eventually(|| slot.upgrade().is_none()), "the helper waits on after its caller gave up");
    }
}
