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
const HOOK_EVENTS: &[&str] = &[
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

#[expect(clippy::unwrap_used, reason = "a constant pattern")]
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|\s*\n)---\s*").unwrap());

/// A document of the output: the template it came from and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `chart/templates/file.yaml`.
    pub source: String,
    /// The document, without the separator.
    pub content: String,
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
    let text = text.trim_start();
    SEPARATOR
        .split(text)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start().to_owned())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The head of a document that sorting needs.
#[derive(Debug, Default)]
struct Head {
    kind: String,
    hook: Option<String>,
}

fn head(doc: &str) -> Result<Head, String> {
    let value = reef_gotmpl::yaml::parse_values(doc).map_err(|e| e.to_string())?;
    let mut h = Head::default();
    let Value::Map(m, _) = &value else { return Ok(h) };
    let m = m.borrow();
    if let Some(Value::String(k)) = m.get("kind") {
        h.kind = k.to_string();
    }
    if let Some(Value::Map(md, _)) = m.get("metadata")
        && let Some(Value::Map(a, _)) = md.borrow().get("annotations")
        && let Some(Value::String(hook)) = a.borrow().get("helm.sh/hook")
    {
        h.hook = Some(hook.to_string());
    }
    Ok(h)
}

/// The documents of every rendered template, sorted and split into manifests and hooks.
#[derive(Debug, Default)]
pub struct Sorted {
    /// Non-hook documents in install order.
    pub manifests: Vec<Manifest>,
    /// Hook documents, by kind in install order.
    pub hooks: Vec<Manifest>,
}

/// Sorts rendered templates (path → text) as Helm's `SortManifests` does.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<Sorted, YamlParseError> {
    let mut sorted = Sorted::default();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let h = head(&doc).map_err(|message| YamlParseError { source: path.clone(), message })?;
            let m = Manifest { source: path.clone(), content: doc, kind: h.kind };
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

    #[test]
    fn kinds_sort_in_install_order_then_unknown_kinds_alphabetically() {
        let m = |kind: &str, n: &str| Manifest { source: n.to_owned(), content: String::new(), kind: kind.to_owned() };
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
        let order: Vec<&str> = docs.iter().map(|d| d.source.as_str()).collect();
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
}
