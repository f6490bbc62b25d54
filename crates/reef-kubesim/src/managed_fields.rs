//! Field ownership for server-side apply: `metadata.managedFields` as the real server keeps
//! it. One entry per (manager, operation, subresource); each owns a set of field paths,
//! written in the `FieldsV1` encoding (`f:name` for a field, `k:{"name":"x"}` for an item of
//! a keyed list, `v:"x"` for an item of a set, `.` for the node itself).
//!
//! An update (PUT or non-apply PATCH) gives its manager the fields it changed and takes them
//! from everyone else. An apply gives its manager exactly the fields of the applied
//! configuration, removes the fields the manager applied before and no longer applies (when
//! no one else owns them), and fails with a 409 when it would change a field that another
//! manager owns, unless forced.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::status::ApiStatus;

/// A field path: its elements in their `FieldsV1` encoding (`f:data`, `k:{..}`, `v:..`).
pub type Path = Vec<String>;

/// A set of owned field paths; every path in it is a member (its ancestors need not be).
pub type FieldSet = BTreeSet<Path>;

/// `Apply` or `Update`.
pub const APPLY: &str = "Apply";
/// `Update`.
pub const UPDATE: &str = "Update";

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `manager`.
    pub manager: String,
    /// `operation`: `Apply` or `Update`.
    pub operation: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `time`.
    pub time: Option<String>,
    /// `subresource`, when the write went to one.
    pub subresource: Option<String>,
    /// The fields it owns.
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.as_deref() == subresource
    }

    /// As the real server names a manager in a conflict.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == UPDATE {
            s.push_str(&format!(" using {}", self.api_version));
            if let Some(time) = &self.time {
                s.push_str(&format!(" at {time}"));
            }
        }
        s
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        });
        if let Some(time) = &self.time {
            v["time"] = json!(time);
        }
        v["fieldsType"] = json!("FieldsV1");
        v["fieldsV1"] = encode(&self.fields);
        if let Some(sub) = &self.subresource {
            v["subresource"] = json!(sub);
        }
        v
    }
}

/// The entries of an object's `metadata.managedFields` (unreadable ones are dropped).
pub fn entries_of(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            Some(Entry {
                manager: e.get("manager").and_then(Value::as_str).unwrap_or("").to_owned(),
                operation: e.get("operation").and_then(Value::as_str)?.to_owned(),
                api_version: e.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_owned(),
                time: e.get("time").and_then(Value::as_str).map(str::to_owned),
                subresource: e.get("subresource").and_then(Value::as_str).map(str::to_owned),
                fields: decode(e.get("fieldsV1").unwrap_or(&Value::Null)),
            })
        })
        .collect()
}

/// Writes `entries` (without the empty ones) as the object's `metadata.managedFields`.
pub fn set_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries.iter().filter(|e| !e.fields.is_empty()).map(Entry::to_json).collect();
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if let Some(meta) = obj["metadata"].as_object_mut() {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".to_owned(), Value::Array(list));
        }
    }
}

/// A field set in the `FieldsV1` encoding.
pub fn encode(fields: &FieldSet) -> Value {
    #[derive(Default)]
    struct Node {
        member: bool,
        children: std::collections::BTreeMap<String, Node>,
    }
    fn to_value(node: &Node) -> Value {
        let mut m = Map::new();
        if node.member && !node.children.is_empty() {
            m.insert(".".to_owned(), json!({}));
        }
        for (k, child) in &node.children {
            m.insert(k.clone(), to_value(child));
        }
        Value::Object(m)
    }
    let mut root = Node::default();
    for path in fields {
        let mut node = &mut root;
        for element in path {
            node = node.children.entry(element.clone()).or_default();
        }
        node.member = true;
    }
    to_value(&root)
}

/// A field set read from the `FieldsV1` encoding.
pub fn decode(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if m.is_empty() && !path.is_empty() {
            out.insert(path.clone());
            return;
        }
        for (k, child) in m {
            if k == "." {
                if !path.is_empty() {
                    out.insert(path.clone());
                }
                continue;
            }
            path.push(k.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// How the items of a list field are told apart.
enum ListKind {
    /// By these key fields (`k:{..}`).
    Keyed(&'static [&'static str]),
    /// Scalars that form a set (`v:..`).
    Set,
    /// Replaced as a whole: the list is one leaf.
    Atomic,
}

fn list_kind(field: &str, items: &[Value]) -> ListKind {
    let keyed = |keys: &'static [&'static str]| {
        if items.iter().all(|i| keys.first().is_some_and(|k| i.get(*k).is_some())) {
            ListKind::Keyed(keys)
        } else {
            ListKind::Atomic
        }
    };
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "readinessGates" => match field {
            "readinessGates" => keyed(&["conditionType"]),
            _ => keyed(&["name"]),
        },
        "conditions" => keyed(&["type"]),
        "hostAliases" => keyed(&["ip"]),
        "volumeMounts" => keyed(&["mountPath"]),
        "volumeDevices" => keyed(&["devicePath"]),
        "ports" => {
            if items.iter().all(|i| i.get("containerPort").is_some()) {
                ListKind::Keyed(&["containerPort", "protocol"])
            } else {
                keyed(&["port", "protocol"])
            }
        }
        "finalizers" if items.iter().all(|i| !i.is_object() && !i.is_array()) => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// The `k:{..}` element naming `item` in a list keyed by `keys` (`protocol` defaults to TCP).
fn item_key(keys: &[&str], item: &Value) -> String {
    let mut m = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) => {
                m.insert((*k).to_owned(), v.clone());
            }
            None if *k == "protocol" => {
                m.insert((*k).to_owned(), json!("TCP"));
            }
            None => {}
        }
    }
    format!("k:{}", Value::Object(m))
}

fn set_key(item: &Value) -> String {
    format!("v:{item}")
}

/// Top-level and metadata fields no one owns.
fn stripped(path: &[String]) -> bool {
    match path {
        [first] => first == "f:apiVersion" || first == "f:kind",
        [meta, field, ..] if meta == "f:metadata" => matches!(
            field.as_str(),
            "f:name"
                | "f:namespace"
                | "f:uid"
                | "f:resourceVersion"
                | "f:creationTimestamp"
                | "f:generation"
                | "f:managedFields"
                | "f:selfLink"
                | "f:deletionTimestamp"
                | "f:deletionGracePeriodSeconds"
        ),
        _ => false,
    }
}

/// Every field of `v` under `path`: the applied configuration's fields (`with_nodes` false:
/// leaves, list items and empty maps) or every node (`with_nodes` true, for what an update adds).
fn collect(v: &Value, field: &str, path: &mut Path, with_nodes: bool, out: &mut FieldSet) {
    if stripped(path) {
        return;
    }
    match v {
        Value::Object(m) => {
            if !path.is_empty() && (with_nodes || m.is_empty()) {
                out.insert(path.clone());
            }
            for (k, child) in m {
                if child.is_null() {
                    continue;
                }
                path.push(format!("f:{k}"));
                collect(child, k, path, with_nodes, out);
                path.pop();
            }
        }
        Value::Array(items) => match list_kind(field, items) {
            ListKind::Keyed(keys) => {
                if with_nodes || items.is_empty() {
                    out.insert(path.clone());
                }
                for item in items {
                    path.push(item_key(keys, item));
                    out.insert(path.clone());
                    if let Value::Object(m) = item {
                        for (k, child) in m {
                            path.push(format!("f:{k}"));
                            collect(child, k, path, with_nodes, out);
                            path.pop();
                        }
                    }
                    path.pop();
                }
            }
            ListKind::Set => {
                if with_nodes || items.is_empty() {
                    out.insert(path.clone());
                }
                for item in items {
                    path.push(set_key(item));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone());
            }
        },
        _ => {
            if !path.is_empty() {
                out.insert(path.clone());
            }
        }
    }
}

/// The fields an applied configuration sets.
pub fn applied_fields(config: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    collect(config, "", &mut Vec::new(), false, &mut out);
    out
}

/// The fields that `new` adds or changes relative to `old` (every node of what is added).
pub fn changed_fields(old: &Value, new: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    diff(Some(old), new, "", &mut Vec::new(), &mut out);
    out
}

fn diff(old: Option<&Value>, new: &Value, field: &str, path: &mut Path, out: &mut FieldSet) {
    if stripped(path) {
        return;
    }
    let Some(old) = old else {
        collect(new, field, path, true, out);
        return;
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, child) in n {
                if child.is_null() {
                    continue;
                }
                path.push(format!("f:{k}"));
                diff(o.get(k), child, k, path, out);
                path.pop();
            }
        }
        (Value::Array(o), Value::Array(n)) => match (list_kind(field, o), list_kind(field, n)) {
            (ListKind::Keyed(keys), ListKind::Keyed(_)) => {
                for item in n {
                    let key = item_key(keys, item);
                    let before = o.iter().find(|i| item_key(keys, i) == key);
                    path.push(key);
                    match (before, item) {
                        (Some(Value::Object(b)), Value::Object(m)) => {
                            for (k, child) in m {
                                path.push(format!("f:{k}"));
                                diff(b.get(k), child, k, path, out);
                                path.pop();
                            }
                        }
                        (Some(b), _) if b == item => {}
                        _ => {
                            out.insert(path.clone());
                            if let Value::Object(m) = item {
                                for (k, child) in m {
                                    path.push(format!("f:{k}"));
                                    collect(child, k, path, true, out);
                                    path.pop();
                                }
                            }
                        }
                    }
                    path.pop();
                }
            }
            (ListKind::Set, ListKind::Set) => {
                for item in n.iter().filter(|i| !o.contains(i)) {
                    path.push(set_key(item));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            _ => {
                if o != n {
                    out.insert(path.clone());
                }
            }
        },
        _ => {
            if old != new {
                collect(new, field, path, true, out);
                out.insert(path.clone());
            }
        }
    }
}

/// The value at `path` in `obj`.
pub fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    let mut field = "";
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            cur = cur.get(name)?;
            field = name;
        } else if element.starts_with("k:") {
            let items = cur.as_array()?;
            let ListKind::Keyed(keys) = list_kind(field, items) else { return None };
            cur = items.iter().find(|i| item_key(keys, i) == *element)?;
        } else {
            cur = cur.as_array()?.iter().find(|i| set_key(i) == *element)?;
        }
    }
    Some(cur)
}

/// Removes the field at `path` from `obj`, when it is there.
fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else { return };
    let field = parent.iter().rev().find_map(|e| e.strip_prefix("f:")).unwrap_or("").to_owned();
    let Some(container) = lookup_mut(obj, parent) else { return };
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(m) = container.as_object_mut() {
            m.remove(name);
        }
    } else if let Some(items) = container.as_array_mut() {
        let keys = match list_kind(&field, items) {
            ListKind::Keyed(keys) => Some(keys),
            _ => None,
        };
        items.retain(|i| match keys {
            Some(keys) => item_key(keys, i) != *last,
            None => set_key(i) != *last,
        });
    }
}

fn lookup_mut<'a>(obj: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = obj;
    let mut field = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            cur = cur.get_mut(name)?;
            field = name.to_owned();
        } else if element.starts_with("k:") {
            let items = cur.as_array_mut()?;
            let ListKind::Keyed(keys) = list_kind(&field, items) else { return None };
            cur = items.iter_mut().find(|i| item_key(keys, i) == *element)?;
        } else {
            cur = cur.as_array_mut()?.iter_mut().find(|i| set_key(i) == *element)?;
        }
    }
    Some(cur)
}

/// A path as the real server prints it in a conflict: `.spec.containers[name="web"].image`.
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(key) = element.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(key)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(value) = element.strip_prefix("v:") {
            s.push_str(&format!("[={value}]"));
        }
    }
    s
}

/// Records an update by `manager`: it owns what changed from `old` to `new`, no one else
/// does, and no one owns what is gone. `new`'s managedFields are rewritten.
pub fn record_update(
    old: &Value,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    time: &str,
) {
    // A request that sends managedFields sets them (an empty list clears them); without, they stay.
    let mut entries = match new.pointer("/metadata/managedFields") {
        Some(Value::Array(_)) => entries_of(new),
        _ => entries_of(old),
    };
    let changed = changed_fields(old, new);
    for e in &mut entries {
        e.fields.retain(|p| lookup(new, p).is_some());
        if !e.same_owner(manager, UPDATE, subresource) {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| e.same_owner(manager, UPDATE, subresource)) {
            Some(e) => {
                e.fields.extend(changed);
                e.time = Some(time.to_owned());
                e.api_version = api_version.to_owned();
            }
            None => entries.push(Entry {
                manager: manager.to_owned(),
                operation: UPDATE.to_owned(),
                api_version: api_version.to_owned(),
                time: Some(time.to_owned()),
                subresource: subresource.map(str::to_owned),
                fields: changed,
            }),
        }
    }
    set_entries(new, &entries);
}

/// Applies `config` for `manager` onto `live` (whose managedFields say who owns what): the
/// merged object, with its managedFields, or the 409 of the conflicts.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    live: &Value,
    config: &Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    force: bool,
    time: &str,
    merge: impl FnOnce(&mut Value, &Value),
) -> Result<Value, ApiStatus> {
    let applied = applied_fields(config);
    let mut entries = entries_of(live);
    // Conflicts: fields this apply sets to a new value that another manager owns.
    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.same_owner(manager, APPLY, subresource) {
            continue;
        }
        for p in e.fields.intersection(&applied) {
            let (Some(now), Some(wanted)) = (lookup(live, p), lookup(config, p)) else { continue };
            let leaf = (!wanted.is_object() || wanted.as_object().is_some_and(Map::is_empty))
                && !p.last().is_some_and(|l| l.starts_with("k:"));
            if leaf && now != wanted {
                conflicts.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&entries, &conflicts));
        }
        for (i, p) in &conflicts {
            if let Some(e) = entries.get_mut(*i) {
                e.fields.remove(p);
            }
        }
    }
    let mut next = live.clone();
    merge(&mut next, config);
    // What this manager applied before and no longer applies goes, unless someone else owns it.
    let before = entries.iter().find(|e| e.same_owner(manager, APPLY, subresource)).map(|e| e.fields.clone());
    if let Some(before) = before {
        let others: Vec<&Entry> = entries.iter().filter(|e| !e.same_owner(manager, APPLY, subresource)).collect();
        for p in before.difference(&applied) {
            let kept = applied.iter().any(|a| a.starts_with(p))
                || others.iter().any(|e| e.fields.iter().any(|f| f.starts_with(p)));
            if !kept {
                remove(&mut next, p);
            }
        }
    }
    for e in &mut entries {
        e.fields.retain(|p| lookup(&next, p).is_some());
    }
    match entries.iter_mut().find(|e| e.same_owner(manager, APPLY, subresource)) {
        Some(e) => {
            e.fields = applied;
            e.time = Some(time.to_owned());
            e.api_version = api_version.to_owned();
        }
        None => entries.push(Entry {
            manager: manager.to_owned(),
            operation: APPLY.to_owned(),
            api_version: api_version.to_owned(),
            time: Some(time.to_owned()),
            subresource: subresource.map(str::to_owned),
            fields: applied,
        }),
    }
    set_entries(&mut next, &entries);
    Ok(next)
}

fn conflict_error(entries: &[Entry], conflicts: &[(usize, Path)]) -> ApiStatus {
    let who = |i: usize| entries.get(i).map(Entry::describe).unwrap_or_default();
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", who(*i)), "field": path_string(p)})
        })
        .collect();
    let message = match conflicts {
        [(i, p)] => format!("Apply failed with 1 conflict: conflict with {}: {}", who(*i), path_string(p)),
        _ => {
            let mut managers: Vec<String> = conflicts.iter().map(|(i, _)| who(*i)).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for m in &managers {
                lines.push(format!("conflicts with {m}:"));
                for (_, p) in conflicts.iter().filter(|(i, _)| who(*i) == *m) {
                    lines.push(format!("- {}", path_string(p)));
                }
            }
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        }
    };
    ApiStatus { code: 409, reason: "Conflict", message, details: Some(json!({"causes": causes})) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let v = json!({"f:data": {".": {}, "f:a": {}}, "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}});
        let set = decode(&v);
        assert!(set.contains(&vec!["f:data".to_owned()]));
        assert!(set.contains(&vec!["f:spec".to_owned(), "f:containers".to_owned(), "k:{\"name\":\"web\"}".to_owned()]));
        assert_eq!(encode(&set), v);
    }

    #[test]
    fn applied_fields_name_leaves_and_keyed_items() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}], "args": ["a"]}]}}}});
        assert_eq!(
            encode(&applied_fields(&config)),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}})
        );
    }

    #[test]
    fn an_update_owns_what_it_added_with_its_nodes() {
        let old = json!({"metadata": {"name": "a"}});
        let mut new = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}});
        record_update(&old, &mut new, "kubectl-create", "v1", None, "t");
        assert_eq!(
            new["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
        );
        assert_eq!(new["metadata"]["managedFields"][0]["operation"], "Update");
    }

    fn smp(t: &mut Value, p: &Value) {
        crate::patch::strategic_merge(t, p);
    }

    #[test]
    fn applies_conflict_unless_forced_and_prune_what_they_drop() {
        let empty = json!({"metadata": {"name": "cm"}});
        let alice =
            apply(&empty, &json!({"data": {"k": "alice", "x": "1"}}), "alice", "v1", None, false, "t", smp).unwrap();
        assert_eq!(alice["data"], json!({"k": "alice", "x": "1"}));
        // The same value is shared, not a conflict.
        let shared = apply(&alice, &json!({"data": {"x": "1"}}), "carol", "v1", None, false, "t", smp).unwrap();
        assert_eq!(shared["metadata"]["managedFields"].as_array().unwrap().len(), 2);
        let err = apply(&shared, &json!({"data": {"k": "bob"}}), "bob", "v1", None, false, "t", smp).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"alice\": .data.k");
        assert_eq!(
            err.details.unwrap()["causes"],
            json!([{"reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".data.k"}])
        );
        let bob = apply(&shared, &json!({"data": {"k": "bob"}}), "bob", "v1", None, true, "t", smp).unwrap();
        assert_eq!(bob["data"]["k"], "bob");
        // Alice drops both fields: x stays (carol owns it), k stays (bob owns it now).
        let dropped = apply(&bob, &json!({"data": {"y": "2"}}), "alice", "v1", None, false, "t", smp).unwrap();
        assert_eq!(dropped["data"], json!({"k": "bob", "x": "1", "y": "2"}));
        // Carol drops x, which no one else owns: it goes.
        let gone = apply(&dropped, &json!({"data": {}}), "carol", "v1", None, false, "t", smp).unwrap();
        assert_eq!(gone["data"], json!({"k": "bob", "y": "2"}));
    }

    #[test]
    fn a_conflict_names_an_updater_with_its_version_and_time() {
        let old = json!({"metadata": {"name": "a"}});
        let mut live = json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "web", "image": "x"}]}});
        record_update(&old, &mut live, "kubectl-edit", "v1", None, "2026-01-01T00:00:00Z");
        let err = apply(
            &live,
            &json!({"spec": {"containers": [{"name": "web", "image": "y"}]}}),
            "me",
            "v1",
            None,
            false,
            "t",
            smp,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1 at 2026-01-01T00:00:00Z: .spec.containers[name=\"web\"].image"
        );
    }
}
