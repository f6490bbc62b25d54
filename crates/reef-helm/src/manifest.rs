//! From rendered templates to what `helm template` prints (Helm's `releaseutil`): templates
//! split into YAML documents on `---`, documents with a `helm.sh/hook` annotation set apart
//! as hooks, the rest sorted in Helm's install order by kind, keeping the order of files
//! (sorted by path) and of documents within a file for the same kind.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use reef_gotmpl::Value;
use regex::Regex;

/// Kinds in the order Helm installs them (`releaseutil.InstallOrder`); other kinds come
/// after these, sorted by kind. Checked with helm 4.2.3.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The hook events Helm knows; a document annotated with any other is dropped.
pub(crate) const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// A document of the output: the template it came from and its text (borrowed from the
/// rendered templates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest<'a> {
    /// `chart/templates/file.yaml`.
    pub source: &'a str,
    /// The document, without the separator.
    pub content: &'a str,
    /// Its `kind`.
    pub kind: String,
}

/// A document Helm reads as invalid YAML: the template's path and the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlParseError {
    /// The template.
    pub source: String,
    /// Helm's message after `YAML parse error on SOURCE: `.
    pub message: String,
}

/// Splits a rendered template into documents as Helm 4 does: on lines starting with `---`
/// (the separator takes the whitespace around it), leading whitespace trimmed, empty
/// documents dropped. A document keeps its trailing whitespace when no separator follows.
pub fn split_manifests(text: &str) -> Vec<String> {
    documents(text).map(str::to_owned).collect()
}

/// [`split_manifests`] without copying the documents.
fn documents(text: &str) -> impl Iterator<Item = &str> {
    separated(text.trim_start()).into_iter().map(str::trim_start).filter(|d| !d.is_empty())
}

/// The pieces of `text` between the matches of Helm's separator pattern
/// `(?:^|\s*\n)---\s*` (the first piece empty when `text` starts with `---`), found as
/// that regular expression finds them: a `\n---` with the whitespace before it back to
/// where the search resumed, and all the whitespace after it.
fn separated(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    if text.starts_with("---") {
        pieces.push("");
        start = whitespace_end(text, 3);
    }
    while let Some(newline) = separator_line(text, start) {
        let blank = text[start..newline].trim_end_matches(char::is_whitespace).len();
        pieces.push(&text[start..start + blank]);
        start = whitespace_end(text, newline + 4);
    }
    pieces.push(&text[start..]);
    pieces
}

/// A line break and `---`: a plain string, which the regex crate looks for with a vectorised
/// substring search.
#[expect(clippy::unwrap_used, reason = "a constant pattern")]
static SEPARATOR_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new("\n---").unwrap());

/// The first line break at or after `from` that a `---` follows.
fn separator_line(text: &str, from: usize) -> Option<usize> {
    SEPARATOR_LINE.find_at(text, from).map(|m| m.start())
}

/// Where the whitespace that starts at `at` ends.
fn whitespace_end(text: &str, at: usize) -> usize {
    text.len() - text[at..].trim_start_matches(char::is_whitespace).len()
}

/// The head of a document that sorting needs.
#[derive(Debug, Default)]
struct Head {
    kind: String,
    hook: Option<String>,
}

/// Go's name of the anonymous struct type of `SimpleHead.Metadata`, as type errors print it.
const METADATA_TYPE: &str =
    r#"struct { Name string "json:\"name\""; Annotations map[string]string "json:\"annotations\"" }"#;

/// A JSON type error as `encoding/json` words it, after `sigs.k8s.io/yaml`'s prefixes.
fn type_error(value: &Value, target: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go {target}",
        reef_gotmpl::yaml::json_kind(value)
    )
}

/// A map's entries in the order `encoding/json` sees them (keys sorted by bytes, as the map
/// keeps them), each with the struct field among `fields` it fills: the field of that exact
/// name, else one whose name matches ignoring ASCII case, as `encoding/json` matches keys.
fn struct_fields<'a>(m: &reef_gotmpl::MapRef, fields: &[&'a str]) -> Vec<(&'a str, Value)> {
    m.borrow()
        .iter()
        .filter_map(|(k, v)| {
            let field = fields.iter().find(|f| **f == k).or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(k)));
            field.map(|f| (*f, v.clone()))
        })
        .collect()
}

/// A value decoded into a Go `string`: `sigs.k8s.io/yaml` has already turned YAML numbers and
/// booleans aimed at a string into strings, and a null leaves it as it was.
fn string_field(value: &Value, field: &str) -> Result<Option<String>, String> {
    match value {
        Value::Nil => Ok(None),
        Value::Map(..) | Value::List(..) => Err(type_error(value, &format!("struct field {field} of type string"))),
        Value::String(s) => Ok(Some(s.to_string())),
        other => Ok(Some(reef_gotmpl::format::sprint(other))),
    }
}

/// The document decoded as Helm's `releaseutil.SimpleHead` (`apiVersion`, `kind`, `metadata`
/// with `name` and `annotations`) by `sigs.k8s.io/yaml.Unmarshal`: a YAML error, or the first
/// JSON type error in key order, is Helm's message for the document.
fn head(doc: &str) -> Result<Head, String> {
    let fields = ["apiVersion", "kind", "metadata"];
    let keep = |k: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(k));
    let value = reef_gotmpl::yaml::unmarshal_top_keys(doc, &keep).map_err(|e| e.to_string())?;
    let mut h = Head::default();
    let m = match &value {
        Value::Nil => return Ok(h),
        Value::Map(m, _) => m,
        other => return Err(type_error(other, "value of type util.SimpleHead")),
    };
    for (field, v) in struct_fields(m, &fields) {
        match field {
            "apiVersion" => {
                string_field(&v, "SimpleHead.apiVersion")?;
            }
            "kind" => {
                if let Some(kind) = string_field(&v, "SimpleHead.kind")? {
                    h.kind = kind;
                }
            }
            _ => match &v {
                Value::Nil => {}
                Value::Map(md, _) => metadata(md, &mut h)?,
                other => {
                    return Err(type_error(
                        other,
                        &format!("struct field SimpleHead.metadata of type {METADATA_TYPE}"),
                    ));
                }
            },
        }
    }
    Ok(h)
}

/// `SimpleHead.Metadata`, whose struct has no name in Go's errors (`.metadata.name`).
fn metadata(md: &reef_gotmpl::MapRef, h: &mut Head) -> Result<(), String> {
    for (field, v) in struct_fields(md, &["name", "annotations"]) {
        if field == "name" {
            string_field(&v, ".metadata.name")?;
            continue;
        }
        match &v {
            Value::Nil => {}
            Value::Map(a, _) => {
                for (key, value) in a.borrow().iter() {
                    let value = string_field(value, ".metadata.annotations")?;
                    if key == "helm.sh/hook" {
                        h.hook = Some(value.unwrap_or_default());
                    }
                }
            }
            other => {
                return Err(type_error(other, "struct field .metadata.annotations of type map[string]string"));
            }
        }
    }
    Ok(())
}

/// The documents of every rendered template, sorted and split into manifests and hooks.
#[derive(Debug, Default)]
pub struct Sorted<'a> {
    /// Non-hook documents in install order.
    pub manifests: Vec<Manifest<'a>>,
    /// Hook documents, by kind in install order.
    pub hooks: Vec<Manifest<'a>>,
}

/// What sorting needs of one rendered template: where its documents are and the head of
/// each. Reading it is most of the cost of sorting, and depends on the template alone, so it
/// can be done on any thread as soon as the template is rendered ([`read_file`]).
#[derive(Debug)]
pub struct ReadFile {
    docs: Vec<(std::ops::Range<usize>, Result<Head, String>)>,
}

/// The documents of `content` (the template `path`) that sorting reads: none for a partial
/// (`_*`) or a blank output.
fn documents_of<'a>(path: &str, content: &'a str) -> Vec<&'a str> {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with('_') || content.trim().is_empty() {
        return Vec::new();
    }
    documents(content).collect()
}

fn read_with(content: &str, docs: Vec<&str>, heads: Vec<Result<Head, String>>) -> ReadFile {
    // Each document is a slice of `content`: its range is where it starts in memory, less
    // where `content` does.
    let base = content.as_ptr() as usize;
    let docs = docs
        .into_iter()
        .zip(heads)
        .map(|(d, h)| {
            let start = d.as_ptr() as usize - base;
            (start..start + d.len(), h)
        })
        .collect();
    ReadFile { docs }
}

/// Reads the rendered template `path` for [`sort_read`].
pub fn read_file(path: &str, content: &str) -> ReadFile {
    let docs = documents_of(path, content);
    let heads = docs.iter().map(|d| head(d)).collect();
    read_with(content, docs, heads)
}

/// Sorts rendered templates (path → text) as Helm's `SortManifests` does.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<Sorted<'_>, YamlParseError> {
    let per_file: Vec<Vec<&str>> = files.iter().map(|(path, content)| documents_of(path, content)).collect();
    let mut all_heads = heads(per_file.iter().flatten().copied().collect()).into_iter();
    let mut read = BTreeMap::new();
    for ((path, content), docs) in files.iter().zip(per_file) {
        let heads: Vec<_> = all_heads.by_ref().take(docs.len()).collect();
        read.insert(path.clone(), read_with(content, docs, heads));
    }
    sort_read(files, read)
}

/// Sorts rendered templates as [`sort_manifests`] does, from what [`read_file`] read of each
/// (a file missing from `read` is read now).
pub fn sort_read(
    files: &BTreeMap<String, String>,
    mut read: BTreeMap<String, ReadFile>,
) -> Result<Sorted<'_>, YamlParseError> {
    let mut sorted = Sorted::default();
    for (path, content) in files {
        let file = read.remove(path).unwrap_or_else(|| read_file(path, content));
        for (range, h) in file.docs {
            let h = h.map_err(|message| YamlParseError { source: path.clone(), message })?;
            let m = Manifest { source: path, content: &content[range], kind: h.kind };
            match h.hook {
                None => sorted.manifests.push(m),
                Some(events) => {
                    let known = events.split(',').all(|e| HOOK_EVENTS.contains(&e.trim().to_lowercase().as_str()));
                    if known {
                        sorted.hooks.push(m);
                    }
                }
            }
        }
    }
    sort_by_kind(&mut sorted.manifests);
    sort_by_kind(&mut sorted.hooks);
    Ok(sorted)
}

/// Below this many bytes of documents, [`heads`] reads them on the calling thread alone.
const PARALLEL_HEADS_BYTES: usize = 256 << 10;

/// The head of each document, in order. Decoding a document is most of the cost of sorting
/// (a chart's CRDs can be megabytes of YAML), and documents decode independently, so large
/// outputs are shared out between the machine's cores (at most four threads, the largest
/// documents first).
fn heads(docs: Vec<&str>) -> Vec<Result<Head, String>> {
    let total: usize = docs.iter().map(|d| d.len()).sum();
    let threads = reef_gotmpl::template::render_threads();
    if threads < 2 || docs.len() < 2 || total < PARALLEL_HEADS_BYTES {
        return docs.into_iter().map(head).collect();
    }
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(docs[i].len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(k) else { return done };
            done.push((i, head(docs[i])));
        }
    };
    let mut results: Vec<Option<Result<Head, String>>> = std::iter::repeat_with(|| None).take(docs.len()).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            // A helper that panicked leaves its documents to be read again below.
            all.extend(h.join().unwrap_or_default());
        }
        for (i, r) in all {
            results[i] = Some(r);
        }
    });
    results.into_iter().zip(docs).map(|(r, doc)| r.unwrap_or_else(|| head(doc))).collect()
}

/// Helm's `lessByKind`, as a stable sort.
pub fn sort_by_kind(manifests: &mut [Manifest]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|o| *o == k);
    manifests.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every document reef renders for the chart corpus (each chart with its default values
    /// and each of its `ci/*.yaml` value sets, CRDs included) reads the same through the fast
    /// path of `unmarshal_top_keys` as through the full path whenever the fast path answers
    /// (reading the head's keys, and reading every key), and the fast path answers for most of
    /// the bytes.
    #[test]
    fn corpus_documents_read_the_same_through_the_fast_path_and_the_full_path() {
        let Some(corpus) = reef_testkit::chart_corpus() else {
            reef_testkit::missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
            return;
        };
        let fields = ["apiVersion", "kind", "metadata"];
        let keep = |k: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(k));
        let mut charts: Vec<_> = std::fs::read_dir(&corpus).into_iter().flatten().flatten().map(|e| e.path()).collect();
        charts.retain(|c| c.join("Chart.yaml").is_file());
        charts.sort();
        let (mut docs, mut fast_docs, mut bytes, mut fast_bytes) = (0, 0, 0, 0);
        for chart in &charts {
            let mut value_sets = vec![Vec::new()];
            let mut ci: Vec<_> =
                std::fs::read_dir(chart.join("ci")).into_iter().flatten().flatten().map(|e| vec![e.path()]).collect();
            ci.sort();
            value_sets.extend(ci);
            for values_files in value_sets {
                let opts = crate::template::TemplateOptions {
                    release_name: "reef-test".to_owned(),
                    chart: chart.clone(),
                    values_files,
                    include_crds: true,
                    ..Default::default()
                };
                let Ok(out) = crate::template::render(&opts) else { continue };
                for doc in split_manifests(&out) {
                    docs += 1;
                    bytes += doc.len();
                    let Some(fast) = reef_gotmpl::yaml::fast::top_keys(&doc, &keep) else { continue };
                    fast_docs += 1;
                    fast_bytes += doc.len();
                    let full = reef_gotmpl::yaml::unmarshal_top_keys_full(&doc, &keep);
                    assert_eq!(Ok(format!("{fast:?}")), full.map(|v| format!("{v:?}")), "{}: {doc}", chart.display());
                    // Every entry built, not only the head's.
                    let all = |_: &str| true;
                    let fast = reef_gotmpl::yaml::fast::top_keys(&doc, &all).map(|v| format!("{v:?}"));
                    let full = reef_gotmpl::yaml::unmarshal_top_keys_full(&doc, &all).ok().map(|v| format!("{v:?}"));
                    assert!(fast.is_none() || fast == full, "{}: {doc}", chart.display());
                }
            }
        }
        eprintln!("the fast path read {fast_docs} of {docs} documents, {fast_bytes} of {bytes} bytes");
        assert!(fast_bytes * 10 >= bytes * 9, "the fast path read only {fast_bytes} of {bytes} bytes");
    }

    // Each expectation below is what helm 4.2.3 printed for the same template text.
    #[test]
    fn documents_split_on_separator_lines_and_keep_trailing_space_at_the_end() {
        assert_eq!(split_manifests("\n\n  \nkind: A1\nx: 1   \n\n\n"), ["kind: A1\nx: 1   \n\n\n"]);
        assert_eq!(split_manifests("kind: A3\nx: 1   \n\n\n---\n"), ["kind: A3\nx: 1"]);
        assert_eq!(split_manifests("kind: A4\n---\nkind: A5\n\n"), ["kind: A4", "kind: A5\n\n"]);
        assert_eq!(split_manifests("a: 1\n--- # c\nb: 2\n  ---\nc: 3"), ["a: 1", "# c\nb: 2\n  ---\nc: 3"]);
        // The separator swallows the blank lines, so a following `---` starts the document.
        assert_eq!(split_manifests("# x\n---\n\n---\nkind: D"), ["# x", "---\nkind: D"]);
    }

    // Helm splits with this regular expression; `separated` finds its matches by hand. Every
    // text of up to five pieces below splits the same both ways.
    #[test]
    fn documents_split_where_helms_separator_pattern_matches() {
        let pattern = regex::Regex::new(r"(?:^|\s*\n)---\s*").expect("a valid pattern");
        let parts = ["---", "\n", " ", "\t", "\r", "\u{a0}", "\u{2028}", "-", "a: 1"];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts.iter().flat_map(|t| parts.iter().map(move |p| format!("{t}{p}"))).collect();
            texts.extend(longer);
            texts.sort();
            texts.dedup();
        }
        for text in &texts {
            let text = text.trim_start();
            assert_eq!(separated(text), pattern.split(text).collect::<Vec<_>>(), "{text:?}");
        }
    }

    #[test]
    fn kinds_sort_in_install_order_then_unknown_kinds_alphabetically() {
        let m = |kind: &str, n: &'static str| Manifest { source: n, content: "", kind: kind.to_owned() };
        let mut docs = vec![
            m("Deployment", "1"),
            m("ServiceMonitor", "2"),
            m("Service", "3"),
            m("", "4"),
            m("Namespace", "5"),
            m("Deployment", "6"),
            m("Gateway", "7"),
        ];
        sort_by_kind(&mut docs);
        let order: Vec<&str> = docs.iter().map(|d| d.source).collect();
        assert_eq!(order, ["5", "3", "1", "6", "4", "7", "2"]);
    }

    #[test]
    fn hooks_are_set_apart_and_unknown_hooks_dropped() {
        let files = BTreeMap::from([(
            "c/templates/a.yaml".to_owned(),
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n---\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: bogus\n---\nkind: Service\n".to_owned(),
        )]);
        let sorted = sort_manifests(&files).expect("valid");
        assert_eq!(sorted.manifests.len(), 1);
        assert_eq!(sorted.hooks.len(), 1);
        assert_eq!(sorted.manifests[0].kind, "Service");
    }

    /// The message helm 4.2.3 printed after `YAML parse error on conf/templates/case.txt: `.
    fn head_error(doc: &str) -> String {
        head(doc).err().unwrap_or_default()
    }

    #[test]
    fn heads_decode_as_go_decodes_a_simple_head() {
        let prefix = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal";
        // YAML scalars aimed at a string field become strings; nulls and unknown keys are fine.
        for ok in ["kind: 1", "metadata: {name: 5, annotations: {a: 1, b: true}}", "~", "kind: null", "x: [1]"] {
            assert_eq!(head_error(ok), "", "{ok}");
        }
        assert_eq!(head("Kind: Service").expect("a head").kind, "Service");
        assert_eq!(head_error("5"), format!("{prefix} number into Go value of type util.SimpleHead"));
        assert_eq!(head_error("true"), format!("{prefix} bool into Go value of type util.SimpleHead"));
        assert_eq!(
            head_error("Kind: [a]"),
            format!("{prefix} array into Go struct field SimpleHead.kind of type string")
        );
        assert_eq!(
            head_error("apiVersion: {a: 1}"),
            format!("{prefix} object into Go struct field SimpleHead.apiVersion of type string")
        );
        assert_eq!(
            head_error("metadata: 5"),
            format!(
                "{prefix} number into Go struct field SimpleHead.metadata of type struct {{ Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }}"
            )
        );
        assert_eq!(
            head_error("metadata: {annotations: {a: [1]}}"),
            format!("{prefix} array into Go struct field .metadata.annotations of type string")
        );
        // The first error in key order: `annotations` sorts before `name`.
        assert_eq!(
            head_error("metadata: {name: {a: 1}, annotations: [1]}"),
            format!("{prefix} array into Go struct field .metadata.annotations of type map[string]string")
        );
    }
}
