//! The objects of one simulated cluster and the API semantics over them: resource versions
//! and optimistic concurrency, `generateName`, validation of names, list pagination and
//! selectors, the `status` and `scale` subresources, patches, finalizers and deletion,
//! garbage collection by owner references, namespace deletion, dry runs, and watches.
//!
//! Everything is in memory behind one lock, with every change also published to watchers.
//! No IO: the HTTP server (server.rs) and the controllers sit on top.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::managed_fields;
use crate::patch;
use crate::resource::{Registry, ResourceType};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiStatus;

/// How far back a watch can start: older resource versions get 410 Gone.
const HISTORY: usize = 10_000;

/// Options of a list or watch.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `limit`.
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `allowWatchBookmarks`.
    pub allow_watch_bookmarks: bool,
}

/// Options of a create, update or patch.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `force` (server-side apply).
    pub force: bool,
    /// `fieldValidation=Strict` (kubectl's default): a field the schema does not know is an
    /// error rather than silently dropped.
    pub strict_fields: bool,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation_policy: Option<String>,
}

/// A patch, by its content type.
#[derive(Debug, Clone)]
pub enum Patch {
    /// `application/json-patch+json`.
    Json(Value),
    /// `application/merge-patch+json`.
    Merge(Value),
    /// `application/strategic-merge-patch+json`.
    StrategicMerge(Value),
    /// `application/apply-patch+yaml` (server-side apply).
    Apply(Value),
}

impl Patch {
    /// Picks the patch kind from a request's content type.
    pub fn from_content_type(content_type: &str, body: Value) -> Result<Patch, ApiStatus> {
        let base = content_type.split(';').next().unwrap_or("").trim();
        Ok(match base {
            "application/json-patch+json" => Patch::Json(body),
            "application/merge-patch+json" => Patch::Merge(body),
            "application/strategic-merge-patch+json" => Patch::StrategicMerge(body),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Patch::Apply(body),
            other => return Err(ApiStatus::unsupported_media_type(other)),
        })
    }
}

#[derive(Debug, Clone)]
struct Change {
    rv: u64,
    event: &'static str,
    group: String,
    resource: String,
    namespace: Option<String>,
    object: Value,
    /// For MODIFIED: the object's labels before the change, so that a watch with a label
    /// selector sees an object that moves out of (or into) its selection as DELETED (ADDED).
    previous_labels: Option<Value>,
}

type Key = (String, String);

#[derive(Debug, Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, BTreeMap<(String, String), Value>>,
    history: VecDeque<Arc<Change>>,
}

/// The objects of one simulated cluster. Share it as `Arc<Store>`.
#[derive(Debug)]
pub struct Store {
    registry: Arc<Registry>,
    state: Mutex<State>,
    events: broadcast::Sender<Arc<Change>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

fn key(t: &ResourceType) -> Key {
    (t.group.clone(), t.resource.clone())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn name_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/name").and_then(Value::as_str)
}

/// A body's `apiVersion` and `kind`, when it has them, must be those of the resource it is
/// sent to.
fn check_type(t: &ResourceType, body: &Value) -> Result<(), ApiStatus> {
    let api_version = t.api_version();
    if let Some(given) = body.get("apiVersion").and_then(Value::as_str)
        && given != api_version
    {
        return Err(ApiStatus::bad_request(format!(
            "the API version in the data ({given}) does not match the expected API version ({api_version})"
        )));
    }
    if let Some(given) = body.get("kind").and_then(Value::as_str)
        && given != t.kind
    {
        return Err(ApiStatus::bad_request(format!(
            "the kind in the data ({given}) does not match the expected kind ({})",
            t.kind
        )));
    }
    Ok(())
}

/// The CustomResourceDefinition that defines `t`, when `t` is a custom resource.
fn crd_of<'a>(state: &'a State, t: &ResourceType) -> Option<&'a Value> {
    let name = crate::validation::crd_name(t)?;
    state
        .objects
        .get(&("apiextensions.k8s.io".to_owned(), "customresourcedefinitions".to_owned()))?
        .get(&(String::new(), name))
}

fn uid_of(obj: &Value) -> &str {
    obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("")
}

fn owner_refs(obj: &Value) -> impl Iterator<Item = &Value> {
    obj.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten()
}

/// The finalizer that holds an owner being deleted in the foreground.
const FOREGROUND_DELETION: &str = "foregroundDeletion";

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

fn is_dns_label(s: &str) -> bool {
    is_dns_subdomain(s) && s.len() <= 63 && !s.contains('.')
}

/// Kinds whose names must be DNS labels rather than subdomains.
fn needs_label_name(t: &ResourceType) -> bool {
    t.group.is_empty() && matches!(t.resource.as_str(), "namespaces" | "services")
}

fn random_suffix() -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

fn list_kind(t: &ResourceType) -> String {
    format!("{}List", t.kind)
}

impl Store {
    /// A store with the built-in kinds and the namespaces every cluster has.
    pub fn new() -> Store {
        let (events, _) = broadcast::channel(4096);
        let store = Store { registry: Arc::new(Registry::default()), state: Mutex::new(State::default()), events };
        if let Some(ns) = store.registry.find("", "v1", "namespaces") {
            for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let _ = store.create(&ns, None, json!({"metadata": {"name": name}}), &WriteOptions::default());
            }
        }
        store
    }

    /// The resource types this cluster serves.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current resource version of the whole cluster.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    fn publish(&self, state: &mut State, event: &'static str, t: &ResourceType, ns: Option<&str>, object: &Value) {
        self.publish_change(state, event, t, ns, object, None);
    }

    fn publish_change(
        &self,
        state: &mut State,
        event: &'static str,
        t: &ResourceType,
        ns: Option<&str>,
        object: &Value,
        previous: Option<&Value>,
    ) {
        let change = Arc::new(Change {
            rv: state.rv,
            event,
            group: t.group.clone(),
            resource: t.resource.clone(),
            namespace: ns.map(str::to_owned),
            object: object.clone(),
            previous_labels: previous.map(|p| p.pointer("/metadata/labels").cloned().unwrap_or(Value::Null)),
        });
        if state.history.len() >= HISTORY {
            state.history.pop_front();
        }
        state.history.push_back(change.clone());
        let _ = self.events.send(change);
    }

    /// Stores `next` as the new version of `previous` (same kind, namespace and name) and
    /// publishes the change.
    fn store_modified(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        mut next: Value,
        previous: &Value,
    ) -> Value {
        state.rv += 1;
        next["metadata"]["resourceVersion"] = json!(state.rv.to_string());
        let name = name_of(&next).unwrap_or("").to_owned();
        state.objects.entry(key(t)).or_default().insert((ns.unwrap_or("").to_owned(), name), next.clone());
        self.publish_change(state, "MODIFIED", t, ns, &next, Some(previous));
        next
    }

    fn check_scope(&self, t: &ResourceType, ns: Option<&str>, state: &State) -> Result<(), ApiStatus> {
        match (t.namespaced, ns) {
            (true, Some(ns)) => {
                let exists = state
                    .objects
                    .get(&(String::new(), "namespaces".to_owned()))
                    .is_some_and(|m| m.contains_key(&(String::new(), ns.to_owned())));
                if exists { Ok(()) } else { Err(ApiStatus::not_found("", "namespaces", ns)) }
            }
            (true, None) => Err(ApiStatus::bad_request("the namespace of the object is required")),
            (false, _) => Ok(()),
        }
    }

    /// Creates an object.
    pub fn create(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiStatus> {
        self.create_inner(t, ns, obj, opts, false)
    }

    /// Creates an object; `applied` when it comes from a server-side apply that already set
    /// its managedFields.
    fn create_inner(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
        applied: bool,
    ) -> Result<Value, ApiStatus> {
        if !obj.is_object() {
            return Err(ApiStatus::bad_request("the body of the request must be an object"));
        }
        let api_version = t.api_version();
        check_type(t, &obj)?;
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(t.kind);
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        if let (Some(given), Some(path_ns)) = (obj.pointer("/metadata/namespace").and_then(Value::as_str), ns)
            && given != path_ns
        {
            return Err(ApiStatus::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let name = match name_of(&obj) {
            Some(n) => n.to_owned(),
            None => match obj.pointer("/metadata/generateName").and_then(Value::as_str) {
                Some(prefix) => format!("{prefix}{}", random_suffix()),
                None => {
                    return Err(ApiStatus::invalid(
                        &t.group,
                        &t.kind,
                        "",
                        &[("metadata.name".into(), "Required value: name or generateName is required".into())],
                    ));
                }
            },
        };
        // RBAC objects are named as path segments (`system:controller:x` is fine).
        if t.group == "rbac.authorization.k8s.io" {
            let why = match name.as_str() {
                "." | ".." => Some(format!("may not be '{name}'")),
                _ if name.contains('/') => Some("may not contain '/'".to_owned()),
                _ if name.contains('%') => Some("may not contain '%'".to_owned()),
                _ => None,
            };
            if let Some(why) = why {
                return Err(ApiStatus::invalid(
                    &t.group,
                    &t.kind,
                    &name,
                    &[("metadata.name".into(), format!("Invalid value: \"{name}\": {why}"))],
                ));
            }
        }
        let valid = if t.group == "rbac.authorization.k8s.io" {
            true
        } else if needs_label_name(t) {
            is_dns_label(&name)
        } else {
            is_dns_subdomain(&name) || t.resource == "namespaces" && is_dns_label(&name)
        };
        if !valid {
            let rule = if needs_label_name(t) {
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            } else {
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            };
            return Err(ApiStatus::invalid(
                &t.group,
                &t.kind,
                &name,
                &[("metadata.name".into(), format!("Invalid value: \"{name}\": {rule}"))],
            ));
        }
        let mut state = self.lock();
        self.check_scope(t, ns, &state)?;
        // What a real apiserver refuses (and, for a custom resource, what its schema prunes).
        let crd = crd_of(&state, t);
        crate::validation::validate_create(t, &name, &mut obj, crd, opts.strict_fields)?;
        let k = key(t);
        let object_key = (ns.unwrap_or("").to_owned(), name.clone());
        if state.objects.get(&k).is_some_and(|m| m.contains_key(&object_key)) {
            return Err(ApiStatus::already_exists(&t.group, &t.resource, &name));
        }
        let meta = &mut obj["metadata"];
        meta["name"] = json!(name);
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
        meta["creationTimestamp"] = json!(now());
        if let Some(m) = meta.as_object_mut() {
            m.remove("resourceVersion");
            m.remove("deletionTimestamp");
        }
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        default_object(t, &mut obj);
        if !applied {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            if let Some(manager) = &opts.field_manager {
                managed_fields::record_update(&json!({}), &mut obj, manager, &api_version, None, &now());
            }
        }
        if opts.dry_run {
            return Ok(obj);
        }
        state.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(state.rv.to_string());
        state.objects.entry(k).or_default().insert(object_key, obj.clone());
        self.publish(&mut state, "ADDED", t, ns, &obj);
        drop(state);
        if t.group == "apiextensions.k8s.io" && t.resource == "customresourcedefinitions" {
            self.register_crd(&obj);
        }
        Ok(obj)
    }

    fn register_crd(&self, crd: &Value) {
        let Some(spec) = crd.get("spec") else { return };
        let group = spec.get("group").and_then(Value::as_str).unwrap_or("").to_owned();
        let names = spec.get("names").cloned().unwrap_or(Value::Null);
        let plural = names.get("plural").and_then(Value::as_str).unwrap_or("").to_owned();
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_owned();
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        for version in spec.get("versions").and_then(Value::as_array).into_iter().flatten() {
            if version.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let Some(v) = version.get("name").and_then(Value::as_str) else { continue };
            let mut subresources = Vec::new();
            if version.pointer("/subresources/status").is_some() {
                subresources.push("status".to_owned());
            }
            if version.pointer("/subresources/scale").is_some() {
                subresources.push("scale".to_owned());
            }
            self.registry.add(ResourceType {
                group: group.clone(),
                version: v.to_owned(),
                resource: plural.clone(),
                singular: names
                    .get("singular")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| kind.to_lowercase()),
                kind: kind.clone(),
                namespaced,
                verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                short_names: strings(names.get("shortNames")),
                categories: strings(names.get("categories")),
                subresources,
            });
        }
    }

    /// One object.
    pub fn get(&self, t: &ResourceType, ns: Option<&str>, name: &str) -> Result<Value, ApiStatus> {
        let state = self.lock();
        state
            .objects
            .get(&key(t))
            .and_then(|m| m.get(&(ns.unwrap_or("").to_owned(), name.to_owned())))
            .cloned()
            .ok_or_else(|| ApiStatus::not_found(&t.group, &t.resource, name))
    }

    /// Every object of type `t`, in every namespace, each copied once: what the controllers
    /// read on each pass (a list copies each object again into the list it makes).
    pub fn all(&self, t: &ResourceType) -> Vec<Value> {
        self.lock().objects.get(&key(t)).map(|objects| objects.values().cloned().collect()).unwrap_or_default()
    }

    /// A page of objects as a `<Kind>List`.
    pub fn list(&self, t: &ResourceType, ns: Option<&str>, opts: &ListOptions) -> Result<Value, ApiStatus> {
        let labels = LabelSelector::parse(opts.label_selector.as_deref().unwrap_or(""))?;
        let fields = FieldSelector::parse(opts.field_selector.as_deref().unwrap_or(""))?;
        let after = match &opts.continue_token {
            Some(token) => Some(decode_continue(token)?),
            None => None,
        };
        let state = self.lock();
        let rv = state.rv;
        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0usize;
        if let Some(objects) = state.objects.get(&key(t)) {
            for ((object_ns, name), obj) in objects {
                if ns.is_some_and(|n| n != object_ns) {
                    continue;
                }
                if after.as_ref().is_some_and(|(a_ns, a_name)| (object_ns, name) <= (a_ns, a_name)) {
                    continue;
                }
                if !labels.matches(obj) || !fields.matches(obj) {
                    continue;
                }
                if opts.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                    if next.is_none() {
                        let last: &Value = items.last().unwrap_or(obj);
                        let last_ns = last.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
                        next = Some(encode_continue(last_ns, name_of(last).unwrap_or(""), rv));
                    }
                    remaining += 1;
                    continue;
                }
                items.push(obj.clone());
            }
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if let Some(token) = next {
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(remaining);
        }
        Ok(json!({"apiVersion": t.api_version(), "kind": list_kind(t), "metadata": metadata, "items": items}))
    }

    fn current(&self, state: &State, t: &ResourceType, ns: Option<&str>, name: &str) -> Result<Value, ApiStatus> {
        state
            .objects
            .get(&key(t))
            .and_then(|m| m.get(&(ns.unwrap_or("").to_owned(), name.to_owned())))
            .cloned()
            .ok_or_else(|| ApiStatus::not_found(&t.group, &t.resource, name))
    }

    /// Replaces an object (or its `status` or `scale`).
    pub fn update(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<Value, ApiStatus> {
        let mut state = self.lock();
        let current = self.current(&state, t, ns, name)?;
        if let Some(given) = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str)
            && current.pointer("/metadata/resourceVersion").and_then(Value::as_str) != Some(given)
        {
            return Err(ApiStatus::conflict(
                &t.group,
                &t.resource,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        if let Some(given) = name_of(&obj)
            && given != name
        {
            return Err(ApiStatus::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        let mut obj = obj;
        obj["apiVersion"] = json!(t.api_version());
        obj["kind"] = json!(t.kind);
        let mut next = next_version(t, &current, obj, subresource)?;
        if let Some(manager) = &opts.field_manager {
            managed_fields::record_update(&current, &mut next, manager, &t.api_version(), subresource, &now());
        }
        let stored = self.write(&mut state, t, ns, &current, next, opts)?;
        Ok(if subresource == Some("scale") { scale_of(t, &stored) } else { stored })
    }

    /// Keeps identity fields, bumps the version and generation, stores and publishes.
    fn write(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        current: &Value,
        mut next: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiStatus> {
        if !next.get("metadata").is_some_and(Value::is_object) {
            next["metadata"] = json!({});
        }
        for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation"] {
            match current.pointer(&format!("/metadata/{field}")) {
                Some(v) => next["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = next["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        // What a real apiserver refuses on update (and, for a custom resource, prunes).
        let crd = crd_of(state, t);
        crate::validation::validate_update(t, current, &mut next, crd, opts.strict_fields)?;
        if next.get("spec") != current.get("spec") && next.get("spec").is_some() {
            let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0) + 1;
            next["metadata"]["generation"] = json!(generation);
        }
        default_object(t, &mut next);
        let mut unchanged = next.clone();
        unchanged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        if unchanged == *current || opts.dry_run {
            return Ok(if opts.dry_run { next } else { current.clone() });
        }
        // An object marked for deletion goes once its last finalizer is removed.
        let finalizers_left =
            next.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        if next.pointer("/metadata/deletionTimestamp").is_some() && !finalizers_left {
            return Ok(self.remove_locked(state, t, ns, next, "Background"));
        }
        Ok(self.store_modified(state, t, ns, next, current))
    }

    /// Patches an object (or its `status` or `scale`). Server-side apply creates the object
    /// when it does not exist.
    pub fn patch(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: Patch,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<Value, ApiStatus> {
        let mut state = self.lock();
        let current = match self.current(&state, t, ns, name) {
            Ok(c) => c,
            Err(e) => {
                if let Patch::Apply(body) = patch
                    && subresource.is_none()
                {
                    drop(state);
                    let mut config = apply_config(t, body, subresource)?;
                    if config.pointer("/metadata/name").is_none() {
                        config["metadata"]["name"] = json!(name);
                    }
                    let manager = apply_manager(opts)?;
                    let obj = managed_fields::apply(
                        &json!({}),
                        &config,
                        manager,
                        &t.api_version(),
                        None,
                        opts.force,
                        &now(),
                        patch::strategic_merge,
                    )?;
                    return self.create_inner(t, ns, obj, opts, true);
                }
                return Err(e);
            }
        };
        let mut target = match subresource {
            Some("scale") => scale_of(t, &current),
            _ => current.clone(),
        };
        let applied = matches!(patch, Patch::Apply(_)) && subresource != Some("scale");
        match patch {
            Patch::Json(ops) => patch::json_patch(&mut target, &ops)?,
            Patch::Merge(p) => patch::merge(&mut target, &p),
            Patch::StrategicMerge(p) => patch::strategic_merge(&mut target, &p),
            Patch::Apply(p) if subresource == Some("scale") => patch::strategic_merge(&mut target, &p),
            Patch::Apply(p) => {
                let config = apply_config(t, p, subresource)?;
                let manager = apply_manager(opts)?;
                target = managed_fields::apply(
                    &current,
                    &config,
                    manager,
                    &t.api_version(),
                    subresource,
                    opts.force,
                    &now(),
                    patch::strategic_merge,
                )?;
            }
        }
        if let Some(given) = target.pointer("/metadata/resourceVersion").and_then(Value::as_str)
            && current.pointer("/metadata/resourceVersion").and_then(Value::as_str) != Some(given)
        {
            return Err(ApiStatus::conflict(
                &t.group,
                &t.resource,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let mut next = next_version(t, &current, target, subresource)?;
        if !applied && let Some(manager) = &opts.field_manager {
            managed_fields::record_update(&current, &mut next, manager, &t.api_version(), subresource, &now());
        }
        let stored = self.write(&mut state, t, ns, &current, next, opts)?;
        Ok(if subresource == Some("scale") { scale_of(t, &stored) } else { stored })
    }

    /// Deletes an object: at once, or, while it has finalizers, by marking it. Its dependents
    /// (by owner reference) go too, unless the policy is `Orphan`; a namespace takes
    /// everything in it.
    pub fn delete(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiStatus> {
        let mut state = self.lock();
        let current = self.current(&state, t, ns, name)?;
        if opts.dry_run {
            return Ok(current);
        }
        let deleted = self.delete_locked(&mut state, t, ns, current, opts);
        Ok(deleted)
    }

    fn delete_locked(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        current: Value,
        opts: &DeleteOptions,
    ) -> Value {
        let policy = opts.propagation_policy.as_deref().unwrap_or("Background");
        let is_namespace = t.group.is_empty() && t.resource == "namespaces";
        let uid = uid_of(&current).to_owned();
        if policy == "Foreground" && !is_namespace {
            let dependents = self.dependents(state, &uid);
            if !dependents.is_empty() {
                return self.delete_foreground(state, t, ns, current, dependents);
            }
        }
        let has_finalizers =
            current.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        if has_finalizers && !is_namespace {
            return self.mark_deleted(state, t, ns, current, None);
        }
        if policy == "Orphan" {
            self.orphan_dependents(state, &uid);
        }
        self.remove_locked(state, t, ns, current, policy)
    }

    /// Marks an object for deletion (`deletionTimestamp`), adding `finalizer` if given; it
    /// goes once its finalizers are removed.
    fn mark_deleted(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        mut current: Value,
        finalizer: Option<&str>,
    ) -> Value {
        let before = current.clone();
        if current.pointer("/metadata/deletionTimestamp").is_none() {
            current["metadata"]["deletionTimestamp"] = json!(now());
            current["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        }
        if let Some(finalizer) = finalizer {
            let finalizers = &mut current["metadata"]["finalizers"];
            if !finalizers.is_array() {
                *finalizers = json!([]);
            }
            if let Some(list) = finalizers.as_array_mut()
                && !list.iter().any(|f| f == finalizer)
            {
                list.push(json!(finalizer));
            }
        }
        if current == before {
            return current;
        }
        self.store_modified(state, t, ns, current, &before)
    }

    /// Foreground cascading deletion: the owner is marked with the `foregroundDeletion`
    /// finalizer, its dependents are deleted (in the foreground too), and the owner goes once
    /// no dependent that blocks owner deletion is left.
    fn delete_foreground(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        current: Value,
        dependents: Vec<(ResourceType, Option<String>, Value)>,
    ) -> Value {
        let marked = self.mark_deleted(state, t, ns, current, Some(FOREGROUND_DELETION));
        let foreground = DeleteOptions { dry_run: false, propagation_policy: Some("Foreground".to_owned()) };
        for (dt, dns, dependent) in dependents {
            if dependent.pointer("/metadata/deletionTimestamp").is_none() {
                self.delete_locked(state, &dt, dns.as_deref(), dependent, &foreground);
            }
        }
        self.finish_foreground(state, t, ns, &marked).unwrap_or(marked)
    }

    /// Removes the `foregroundDeletion` finalizer of an owner whose blocking dependents are
    /// all gone, and the owner with it when no other finalizer holds it. Returns the owner as
    /// it is afterwards, or `None` when nothing changed.
    fn finish_foreground(&self, state: &mut State, t: &ResourceType, ns: Option<&str>, owner: &Value) -> Option<Value> {
        let holds = owner
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| x == FOREGROUND_DELETION));
        if !holds || owner.pointer("/metadata/deletionTimestamp").is_none() {
            return None;
        }
        let uid = uid_of(owner);
        let blocked = self.dependents(state, uid).iter().any(|(_, _, d)| {
            owner_refs(d).any(|r| r.get("uid").and_then(Value::as_str) == Some(uid) && r["blockOwnerDeletion"] == true)
        });
        if blocked {
            return None;
        }
        let mut next = owner.clone();
        if let Some(list) = next["metadata"]["finalizers"].as_array_mut() {
            list.retain(|f| f != FOREGROUND_DELETION);
            if list.is_empty()
                && let Some(m) = next["metadata"].as_object_mut()
            {
                m.remove("finalizers");
            }
        }
        if next.pointer("/metadata/finalizers").is_none() {
            return Some(self.remove_locked(state, t, ns, next, "Background"));
        }
        Some(self.store_modified(state, t, ns, next, owner))
    }

    /// Takes an object out of the store for good, and what goes with it: a namespace's
    /// contents, a CRD's custom resources, and (unless `policy` is `Orphan`) the dependents.
    /// Owners waiting in the foreground for this object are released.
    fn remove_locked(
        &self,
        state: &mut State,
        t: &ResourceType,
        ns: Option<&str>,
        mut current: Value,
        policy: &str,
    ) -> Value {
        let name = name_of(&current).unwrap_or("").to_owned();
        state.rv += 1;
        current["metadata"]["resourceVersion"] = json!(state.rv.to_string());
        if let Some(m) = state.objects.get_mut(&key(t)) {
            m.remove(&(ns.unwrap_or("").to_owned(), name.clone()));
        }
        self.publish(state, "DELETED", t, ns, &current);
        if t.group.is_empty() && t.resource == "namespaces" {
            self.empty_namespace(state, &name);
        }
        if t.group == "apiextensions.k8s.io" && t.resource == "customresourcedefinitions" {
            self.unregister_crd(state, &current);
        }
        let uid = uid_of(&current).to_owned();
        if policy != "Orphan" && !uid.is_empty() {
            let background = DeleteOptions { dry_run: false, propagation_policy: Some(policy.to_owned()) };
            for (dt, dns, dependent) in self.dependents(state, &uid) {
                self.delete_locked(state, &dt, dns.as_deref(), dependent, &background);
            }
        }
        self.release_owners(state, &current);
        current
    }

    /// After `removed` went: each of its owners that waits in the foreground for its
    /// dependents is looked at again.
    fn release_owners(&self, state: &mut State, removed: &Value) {
        let dependent_ns = removed.pointer("/metadata/namespace").and_then(Value::as_str);
        for r in owner_refs(removed).cloned().collect::<Vec<_>>() {
            let (Some(api_version), Some(kind), Some(name), Some(uid)) = (
                r.get("apiVersion").and_then(Value::as_str),
                r.get("kind").and_then(Value::as_str),
                r.get("name").and_then(Value::as_str),
                r.get("uid").and_then(Value::as_str),
            ) else {
                continue;
            };
            let Some(owner_t) = self.registry.by_kind(api_version, kind) else { continue };
            let owner_ns = if owner_t.namespaced { dependent_ns } else { None };
            let Ok(owner) = self.current(state, &owner_t, owner_ns, name) else { continue };
            if uid_of(&owner) == uid {
                self.finish_foreground(state, &owner_t, owner_ns, &owner);
            }
        }
    }

    /// The objects that name `owner_uid` in their ownerReferences.
    fn dependents(&self, state: &State, owner_uid: &str) -> Vec<(ResourceType, Option<String>, Value)> {
        let mut found = Vec::new();
        if owner_uid.is_empty() {
            return found;
        }
        for t in self.registry.all() {
            let Some(objects) = state.objects.get(&key(&t)) else { continue };
            for ((ns, _), obj) in objects {
                if owner_refs(obj).any(|r| r.get("uid").and_then(Value::as_str) == Some(owner_uid)) {
                    found.push((t.clone(), (!ns.is_empty()).then(|| ns.clone()), obj.clone()));
                }
            }
        }
        found
    }

    /// Orphan deletion: the dependents lose their reference to the owner and stay.
    fn orphan_dependents(&self, state: &mut State, owner_uid: &str) {
        for (t, ns, dependent) in self.dependents(state, owner_uid) {
            let mut next = dependent.clone();
            if let Some(refs) = next["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                if refs.is_empty()
                    && let Some(m) = next["metadata"].as_object_mut()
                {
                    m.remove("ownerReferences");
                }
            }
            self.store_modified(state, &t, ns.as_deref(), next, &dependent);
        }
    }

    fn empty_namespace(&self, state: &mut State, namespace: &str) {
        for t in self.registry.all().into_iter().filter(|t| t.namespaced) {
            let names: Vec<Value> = state
                .objects
                .get(&key(&t))
                .map(|m| m.iter().filter(|((n, _), _)| n == namespace).map(|(_, v)| v.clone()).collect())
                .unwrap_or_default();
            for obj in names {
                let mut obj = obj;
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove("finalizers");
                }
                self.delete_locked(state, &t, Some(namespace), obj, &DeleteOptions::default());
            }
        }
    }

    fn unregister_crd(&self, state: &mut State, crd: &Value) {
        let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
        let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or("");
        state.objects.remove(&(group.to_owned(), plural.to_owned()));
        self.registry.remove(group, plural);
    }

    /// Deletes every object a list would return; returns them as a `<Kind>List`.
    pub fn delete_collection(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiStatus> {
        let mut all = list.clone();
        all.limit = None;
        all.continue_token = None;
        let found = self.list(t, ns, &all)?;
        let mut deleted = Vec::new();
        for obj in found["items"].as_array().cloned().unwrap_or_default() {
            let name = name_of(&obj).unwrap_or("").to_owned();
            let object_ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned);
            match self.delete(t, object_ns.as_deref(), &name, opts) {
                Ok(d) => deleted.push(d),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(
            json!({"apiVersion": t.api_version(), "kind": list_kind(t), "metadata": {"resourceVersion": self.resource_version().to_string()}, "items": deleted}),
        )
    }

    /// Starts a watch. Without a resource version (or with "0"), every current object comes
    /// first as ADDED; with one, the changes after it, or 410 when they are no longer kept.
    pub fn watch(&self, t: &ResourceType, ns: Option<&str>, opts: &ListOptions) -> Result<Watch, ApiStatus> {
        let labels = LabelSelector::parse(opts.label_selector.as_deref().unwrap_or(""))?;
        let fields = FieldSelector::parse(opts.field_selector.as_deref().unwrap_or(""))?;
        let state = self.lock();
        let rx = self.events.subscribe();
        let mut initial = VecDeque::new();
        let from = match opts.resource_version.as_deref() {
            None | Some("") | Some("0") => None,
            Some(rv) => {
                Some(rv.parse::<u64>().map_err(|_| ApiStatus::bad_request(format!("invalid resourceVersion {rv:?}")))?)
            }
        };
        let filter = Filter {
            group: t.group.clone(),
            resource: t.resource.clone(),
            namespace: ns.map(str::to_owned),
            labels,
            fields,
        };
        match from {
            None => {
                if let Some(objects) = state.objects.get(&key(t)) {
                    for ((object_ns, _), obj) in objects {
                        if ns.is_some_and(|n| n != object_ns)
                            || !filter.labels.matches(obj)
                            || !filter.fields.matches(obj)
                        {
                            continue;
                        }
                        initial.push_back(json!({"type": "ADDED", "object": obj}));
                    }
                }
            }
            Some(rv) => {
                let oldest = state.history.front().map(|c| c.rv).unwrap_or(state.rv + 1);
                if rv + 1 < oldest && rv < state.rv {
                    return Err(ApiStatus::gone(format!(
                        "too old resource version: {rv} ({})",
                        oldest.saturating_sub(1)
                    )));
                }
                for change in state.history.iter().filter(|c| c.rv > rv) {
                    if let Some(event) = filter.event_for(change) {
                        initial.push_back(json!({"type": event, "object": change.object}));
                    }
                }
            }
        }
        let last_rv = state.rv;
        Ok(Watch {
            initial,
            rx,
            filter,
            last_rv,
            bookmarks: opts.allow_watch_bookmarks,
            api_version: t.api_version(),
            kind: t.kind.clone(),
        })
    }
}

impl Store {
    /// Every object and the cluster's resource version, as one JSON document: what
    /// [`Store::restore`] reads back, so that a simulated cluster survives a restart.
    pub fn snapshot(&self) -> Value {
        let state = self.lock();
        let mut objects = Vec::new();
        for ((group, resource), by_name) in &state.objects {
            for obj in by_name.values() {
                objects.push(json!({"group": group, "resource": resource, "object": obj}));
            }
        }
        json!({"format": 1, "resourceVersion": state.rv, "objects": objects})
    }

    /// A store holding what [`Store::snapshot`] saved. CustomResourceDefinitions are
    /// registered again before their custom resources are restored.
    pub fn restore(snapshot: &Value) -> Result<Store, ApiStatus> {
        if snapshot.get("format") != Some(&json!(1)) {
            return Err(ApiStatus::internal("unknown simulated cluster snapshot format"));
        }
        let store = Store {
            registry: Arc::new(Registry::default()),
            state: Mutex::new(State::default()),
            events: broadcast::channel(4096).0,
        };
        let entries = snapshot.get("objects").and_then(Value::as_array).cloned().unwrap_or_default();
        for e in entries
            .iter()
            .filter(|e| e["group"] == "apiextensions.k8s.io" && e["resource"] == "customresourcedefinitions")
        {
            store.register_crd(&e["object"]);
        }
        {
            let mut state = store.lock();
            for e in entries {
                let group = e["group"].as_str().unwrap_or("").to_owned();
                let resource = e["resource"].as_str().unwrap_or("").to_owned();
                let obj = e["object"].clone();
                let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_owned();
                let name = name_of(&obj).unwrap_or("").to_owned();
                state.objects.entry((group, resource)).or_default().insert((ns, name), obj);
            }
            state.rv = snapshot.get("resourceVersion").and_then(Value::as_u64).unwrap_or(0);
        }
        Ok(store)
    }
}

#[derive(Debug)]
struct Filter {
    group: String,
    resource: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    /// The event this watch sees for a change, if any: a modification that moves an object
    /// into the selection is ADDED, one that moves it out is DELETED.
    fn event_for(&self, c: &Change) -> Option<&'static str> {
        let in_scope = c.group == self.group
            && c.resource == self.resource
            && (self.namespace.is_none() || c.namespace == self.namespace);
        if !in_scope {
            return None;
        }
        let now = self.labels.matches(&c.object) && self.fields.matches(&c.object);
        let before = match (&c.previous_labels, c.event) {
            (Some(labels), "MODIFIED") => {
                self.labels.matches(&json!({"metadata": {"labels": labels}})) && self.fields.matches(&c.object)
            }
            _ => now,
        };
        match (before, now) {
            (true, true) => Some(c.event),
            (false, true) => Some("ADDED"),
            (true, false) => Some("DELETED"),
            (false, false) => None,
        }
    }
}

/// A running watch.
#[derive(Debug)]
pub struct Watch {
    initial: VecDeque<Value>,
    rx: broadcast::Receiver<Arc<Change>>,
    filter: Filter,
    last_rv: u64,
    bookmarks: bool,
    api_version: String,
    kind: String,
}

impl Watch {
    /// The next event as the wire object `{"type": ..., "object": ...}`; `None` when the
    /// watch has ended. A watcher that falls too far behind gets a 410 ERROR event and the end.
    pub async fn next(&mut self) -> Option<Value> {
        if let Some(e) = self.initial.pop_front() {
            return Some(e);
        }
        loop {
            match self.rx.recv().await {
                Ok(change) => {
                    if change.rv <= self.last_rv {
                        continue;
                    }
                    self.last_rv = change.rv;
                    if let Some(event) = self.filter.event_for(&change) {
                        return Some(json!({"type": event, "object": change.object}));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.initial.clear();
                    return Some(
                        json!({"type": "ERROR", "object": ApiStatus::gone("the watch fell too far behind; start again from a new list").to_json()}),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// A BOOKMARK event at the latest resource version seen, when the client allowed them.
    pub fn bookmark(&self) -> Option<Value> {
        self.bookmarks.then(|| {
            json!({"type": "BOOKMARK", "object": {"kind": self.kind, "apiVersion": self.api_version, "metadata": {"resourceVersion": self.last_rv.to_string()}}})
        })
    }
}

fn encode_continue(ns: &str, name: &str, rv: u64) -> String {
    URL_SAFE_NO_PAD.encode(json!({"ns": ns, "name": name, "rv": rv}).to_string())
}

fn decode_continue(token: &str) -> Result<(String, String), ApiStatus> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| ApiStatus::bad_request("invalid continue token"))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| ApiStatus::bad_request("invalid continue token"))?;
    let ns = v.get("ns").and_then(Value::as_str).unwrap_or("").to_owned();
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiStatus::bad_request("invalid continue token"))?
        .to_owned();
    Ok((ns, name))
}

/// The object that an update or patch of `subresource` makes of `current`, given the
/// `changed` object (the request body, or `current` with the patch applied):
/// - the main resource takes everything but `status` when the kind has a status subresource;
/// - `status` takes only the status;
/// - `scale` takes only `spec.replicas`.
fn next_version(
    t: &ResourceType,
    current: &Value,
    mut changed: Value,
    subresource: Option<&str>,
) -> Result<Value, ApiStatus> {
    match subresource {
        None => {
            if t.has_subresource("status") {
                match current.get("status") {
                    Some(s) => changed["status"] = s.clone(),
                    None => {
                        if let Some(m) = changed.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            Ok(changed)
        }
        Some("status") => {
            let mut next = current.clone();
            next["status"] = changed.get("status").cloned().unwrap_or(Value::Null);
            Ok(next)
        }
        Some("scale") => {
            let mut next = current.clone();
            next["spec"]["replicas"] = changed.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
            Ok(next)
        }
        Some(other) => Err(ApiStatus::no_route_for(other)),
    }
}

/// The `autoscaling/v1` Scale of a scalable object, as `GET .../scale` answers.
pub(crate) fn scale_of(t: &ResourceType, obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj.pointer("/metadata/name"),
            "namespace": obj.pointer("/metadata/namespace"),
            "uid": obj.pointer("/metadata/uid"),
            "resourceVersion": obj.pointer("/metadata/resourceVersion"),
            "creationTimestamp": obj.pointer("/metadata/creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(if t.kind == "Deployment" { 1 } else { 0 }))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
    })
}

/// The configuration of a server-side apply, checked as the real server checks it: its
/// kind and apiVersion must be the resource's, and what it cannot set (managedFields, and
/// status on the main resource of a kind with a status subresource) is left out.
fn apply_config(t: &ResourceType, mut config: Value, subresource: Option<&str>) -> Result<Value, ApiStatus> {
    if !config.is_object() {
        return Err(ApiStatus::bad_request("the body of the request must be an object"));
    }
    check_type(t, &config)?;
    if let Some(m) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    if let Some(m) = config.as_object_mut() {
        if subresource.is_none() && t.has_subresource("status") {
            m.remove("status");
        }
        m.remove("apiVersion");
        m.remove("kind");
    }
    Ok(config)
}

/// The manager of a server-side apply, which must name one.
fn apply_manager(opts: &WriteOptions) -> Result<&str, ApiStatus> {
    opts.field_manager.as_deref().ok_or_else(|| {
        ApiStatus::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &[("fieldManager".to_owned(), "Required value: is required for apply patch".to_owned())],
        )
    })
}

/// Defaults the real server fills in that clients rely on.
fn default_object(t: &ResourceType, obj: &mut Value) {
    match (t.group.as_str(), t.resource.as_str()) {
        ("", "namespaces") => {
            if obj.pointer("/spec/finalizers").is_none() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            if obj.pointer("/status/phase").is_none() {
                obj["status"]["phase"] = json!("Active");
            }
        }
        ("apps", "deployments" | "replicasets" | "statefulsets")
            if obj.pointer("/spec/replicas").is_none() && obj.get("spec").is_some() =>
        {
            obj["spec"]["replicas"] = json!(1);
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") if obj.pointer("/status/conditions").is_none() => {
            let names = obj.pointer("/spec/names").cloned().unwrap_or(Value::Null);
            obj["status"] = json!({
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now()},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now()},
                ],
                "acceptedNames": names,
                "storedVersions": obj.pointer("/spec/versions").and_then(Value::as_array).map(|vs| vs.iter().filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).filter_map(|v| v.get("name").cloned()).collect::<Vec<_>>()).unwrap_or_default(),
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::new()
    }

    fn t(s: &Store, group: &str, version: &str, resource: &str) -> ResourceType {
        s.registry().find(group, version, resource).unwrap()
    }

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
    }

    const W: WriteOptions = WriteOptions { dry_run: false, field_manager: None, force: false, strict_fields: false };

    #[test]
    fn a_created_object_gets_identity_and_a_resource_version() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let created = s.create(&cms, Some("default"), cm("a"), &W).unwrap();
        assert!(created.pointer("/metadata/uid").is_some());
        assert!(created.pointer("/metadata/creationTimestamp").is_some());
        assert_eq!(created.pointer("/metadata/namespace"), Some(&json!("default")));
        assert_eq!(s.get(&cms, Some("default"), "a").unwrap(), created);
        let err = s.create(&cms, Some("default"), cm("a"), &W).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "AlreadyExists"));
        assert_eq!(err.message, "configmaps \"a\" already exists");
    }

    #[test]
    fn names_are_validated_and_generated() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let err = s.create(&cms, Some("default"), cm("Bad_Name"), &W).unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        let generated = s.create(&cms, Some("default"), json!({"metadata": {"generateName": "gen-"}}), &W).unwrap();
        let name = generated.pointer("/metadata/name").and_then(Value::as_str).unwrap();
        assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
        let err = s.create(&cms, Some("nowhere"), cm("a"), &W).unwrap_err();
        assert_eq!(err.message, "namespaces \"nowhere\" not found");
        // RBAC names are path segments: colons are fine, slashes are not.
        let roles = t(&s, "rbac.authorization.k8s.io", "v1", "clusterroles");
        let role = |name: &str| json!({"metadata": {"name": name}, "rules": []});
        s.create(&roles, None, role("system:controller:approver"), &W).unwrap();
        let err = s.create(&roles, None, role("a/b"), &W).unwrap_err();
        assert!(err.message.contains("may not contain '/'"), "{}", err.message);
    }

    #[test]
    fn a_stale_resource_version_is_a_conflict() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let v1 = s.create(&cms, Some("default"), cm("a"), &W).unwrap();
        let mut change = v1.clone();
        change["data"]["a"] = json!("2");
        let v2 = s.update(&cms, Some("default"), "a", change.clone(), None, &W).unwrap();
        assert_ne!(v1["metadata"]["resourceVersion"], v2["metadata"]["resourceVersion"]);
        let err = s.update(&cms, Some("default"), "a", change, None, &W).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "Conflict"));
    }

    #[test]
    fn status_changes_only_through_the_status_subresource() {
        let s = store();
        let deploys = t(&s, "apps", "v1", "deployments");
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}, "status": {"replicas": 9}});
        let created = s.create(&deploys, Some("default"), d, &W).unwrap();
        assert_eq!(created["metadata"]["generation"], 1);
        let mut with_status = created.clone();
        with_status["status"] = json!({"replicas": 2});
        let updated = s.update(&deploys, Some("default"), "web", with_status.clone(), Some("status"), &W).unwrap();
        assert_eq!(updated["status"]["replicas"], 2);
        assert_eq!(updated["metadata"]["generation"], 1, "a status change is not a new generation");
        let mut spec_change = updated.clone();
        spec_change["spec"]["replicas"] = json!(3);
        spec_change["status"] = json!({"replicas": 100});
        let updated = s.update(&deploys, Some("default"), "web", spec_change, None, &W).unwrap();
        assert_eq!(updated["status"]["replicas"], 2, "the main resource cannot change status");
        assert_eq!(updated["metadata"]["generation"], 2);
        let scale = s
            .patch(&deploys, Some("default"), "web", Patch::Merge(json!({"spec": {"replicas": 5}})), Some("scale"), &W)
            .unwrap();
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["spec"]["replicas"], 5);
        assert_eq!(scale["status"]["selector"], "app=web");
        assert_eq!(s.get(&deploys, Some("default"), "web").unwrap()["spec"]["replicas"], 5);
    }

    #[test]
    fn lists_page_with_continue_tokens_and_filter_by_labels() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        for i in 0..5 {
            let mut obj = cm(&format!("c{i}"));
            obj["metadata"]["labels"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
            s.create(&cms, Some("default"), obj, &W).unwrap();
        }
        let mut names = Vec::new();
        let mut opts = ListOptions { limit: Some(2), ..Default::default() };
        loop {
            let page = s.list(&cms, Some("default"), &opts).unwrap();
            assert_eq!(page["kind"], "ConfigMapList");
            for item in page["items"].as_array().unwrap() {
                names.push(item["metadata"]["name"].as_str().unwrap().to_owned());
            }
            match page.pointer("/metadata/continue").and_then(Value::as_str) {
                Some(c) => opts.continue_token = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
        let odd = s
            .list(&cms, None, &ListOptions { label_selector: Some("parity=odd".into()), ..Default::default() })
            .unwrap();
        assert_eq!(odd["items"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn finalizers_hold_an_object_until_they_are_removed() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let mut obj = cm("held");
        obj["metadata"]["finalizers"] = json!(["example.com/hold"]);
        s.create(&cms, Some("default"), obj, &W).unwrap();
        let marked = s.delete(&cms, Some("default"), "held", &DeleteOptions::default()).unwrap();
        assert!(marked.pointer("/metadata/deletionTimestamp").is_some());
        assert!(s.get(&cms, Some("default"), "held").is_ok());
        s.patch(&cms, Some("default"), "held", Patch::Merge(json!({"metadata": {"finalizers": null}})), None, &W)
            .unwrap();
        assert_eq!(s.get(&cms, Some("default"), "held").unwrap_err().code, 404);
    }

    #[test]
    fn deleting_an_owner_deletes_its_dependents_unless_orphaned() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let owner = s.create(&cms, Some("default"), cm("owner"), &W).unwrap();
        let uid = owner["metadata"]["uid"].clone();
        for name in ["dep1", "dep2"] {
            let mut d = cm(name);
            d["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]);
            s.create(&cms, Some("default"), d, &W).unwrap();
        }
        s.delete(&cms, Some("default"), "owner", &DeleteOptions::default()).unwrap();
        assert_eq!(s.get(&cms, Some("default"), "dep1").unwrap_err().code, 404);
        assert_eq!(s.get(&cms, Some("default"), "dep2").unwrap_err().code, 404);
    }

    /// An owner ConfigMap and `dependents` ConfigMaps that reference it; returns the owner's uid.
    fn owner_with_dependents(s: &Store, dependents: &[(&str, bool, bool)]) -> Value {
        let cms = t(s, "", "v1", "configmaps");
        let owner = s.create(&cms, Some("default"), cm("owner"), &W).unwrap();
        let uid = owner["metadata"]["uid"].clone();
        for (name, block, held) in dependents {
            let mut d = cm(name);
            d["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "blockOwnerDeletion": block}]);
            if *held {
                d["metadata"]["finalizers"] = json!(["example.com/hold"]);
            }
            s.create(&cms, Some("default"), d, &W).unwrap();
        }
        uid
    }

    #[test]
    fn an_orphaned_dependent_stays_without_its_owner_reference() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        owner_with_dependents(&s, &[("dep", true, false)]);
        let orphan = DeleteOptions { propagation_policy: Some("Orphan".into()), ..Default::default() };
        s.delete(&cms, Some("default"), "owner", &orphan).unwrap();
        let dep = s.get(&cms, Some("default"), "dep").unwrap();
        assert!(dep.pointer("/metadata/ownerReferences").is_none(), "{dep}");
    }

    #[test]
    fn a_foreground_delete_waits_for_blocking_dependents() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        owner_with_dependents(&s, &[("blocking", true, true), ("loose", false, true), ("plain", true, false)]);
        let foreground = DeleteOptions { propagation_policy: Some("Foreground".into()), ..Default::default() };
        let marked = s.delete(&cms, Some("default"), "owner", &foreground).unwrap();
        assert!(marked.pointer("/metadata/deletionTimestamp").is_some());
        assert_eq!(marked["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        // Dependents without finalizers go at once; the held ones are marked.
        assert_eq!(s.get(&cms, Some("default"), "plain").unwrap_err().code, 404);
        for name in ["blocking", "loose"] {
            assert!(s.get(&cms, Some("default"), name).unwrap().pointer("/metadata/deletionTimestamp").is_some());
        }
        let release = |name: &str| {
            s.patch(&cms, Some("default"), name, Patch::Merge(json!({"metadata": {"finalizers": null}})), None, &W)
                .unwrap();
        };
        // A dependent that does not block owner deletion does not hold the owner ...
        release("loose");
        assert!(s.get(&cms, Some("default"), "owner").is_ok());
        // ... the last blocking one does.
        release("blocking");
        assert_eq!(s.get(&cms, Some("default"), "owner").unwrap_err().code, 404);
    }

    #[test]
    fn a_foreground_delete_cascades_through_generations_and_keeps_other_finalizers() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        owner_with_dependents(&s, &[("child", true, false)]);
        let child_uid = s.get(&cms, Some("default"), "child").unwrap()["metadata"]["uid"].clone();
        let mut grandchild = cm("grandchild");
        grandchild["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "child", "uid": child_uid, "blockOwnerDeletion": true}]);
        grandchild["metadata"]["finalizers"] = json!(["example.com/hold"]);
        s.create(&cms, Some("default"), grandchild, &W).unwrap();
        s.patch(
            &cms,
            Some("default"),
            "owner",
            Patch::Merge(json!({"metadata": {"finalizers": ["example.com/own"]}})),
            None,
            &W,
        )
        .unwrap();
        let foreground = DeleteOptions { propagation_policy: Some("Foreground".into()), ..Default::default() };
        s.delete(&cms, Some("default"), "owner", &foreground).unwrap();
        let child = s.get(&cms, Some("default"), "child").unwrap();
        assert_eq!(child["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        s.patch(&cms, Some("default"), "grandchild", Patch::Merge(json!({"metadata": {"finalizers": null}})), None, &W)
            .unwrap();
        assert_eq!(s.get(&cms, Some("default"), "child").unwrap_err().code, 404);
        // The owner's own finalizer still holds it once the foreground wait is over.
        let owner = s.get(&cms, Some("default"), "owner").unwrap();
        assert_eq!(owner["metadata"]["finalizers"], json!(["example.com/own"]));
    }

    #[test]
    fn deleting_a_namespace_empties_it() {
        let s = store();
        let ns = t(&s, "", "v1", "namespaces");
        let cms = t(&s, "", "v1", "configmaps");
        s.create(&ns, None, json!({"metadata": {"name": "team"}}), &W).unwrap();
        s.create(&cms, Some("team"), cm("a"), &W).unwrap();
        s.create(&cms, Some("default"), cm("a"), &W).unwrap();
        s.delete(&ns, None, "team", &DeleteOptions::default()).unwrap();
        assert_eq!(s.get(&cms, Some("team"), "a").unwrap_err().code, 404);
        assert!(s.get(&cms, Some("default"), "a").is_ok());
    }

    #[test]
    fn a_dry_run_stores_nothing() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let answer =
            s.create(&cms, Some("default"), cm("dry"), &WriteOptions { dry_run: true, ..Default::default() }).unwrap();
        assert_eq!(answer["metadata"]["name"], "dry");
        assert_eq!(s.get(&cms, Some("default"), "dry").unwrap_err().code, 404);
    }

    #[test]
    fn a_crd_adds_a_kind_that_can_be_stored() {
        let s = store();
        let crds = t(&s, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        s.create(&crds, None, crd, &W).unwrap();
        let widgets = s.registry().find("example.com", "v1", "widgets").unwrap();
        s.create(&widgets, Some("default"), json!({"metadata": {"name": "w"}, "spec": {"size": 1}}), &W).unwrap();
        s.delete(&crds, None, "widgets.example.com", &DeleteOptions::default()).unwrap();
        assert!(s.registry().find("example.com", "v1", "widgets").is_none());
    }

    #[tokio::test]
    async fn a_watch_replays_from_a_resource_version_and_follows_changes() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let first = s.create(&cms, Some("default"), cm("a"), &W).unwrap();
        let rv = first["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
        s.create(&cms, Some("default"), cm("b"), &W).unwrap();
        let mut w =
            s.watch(&cms, Some("default"), &ListOptions { resource_version: Some(rv), ..Default::default() }).unwrap();
        let e = w.next().await.unwrap();
        assert_eq!((e["type"].as_str(), e["object"]["metadata"]["name"].as_str()), (Some("ADDED"), Some("b")));
        s.delete(&cms, Some("default"), "a", &DeleteOptions::default()).unwrap();
        let e = w.next().await.unwrap();
        assert_eq!((e["type"].as_str(), e["object"]["metadata"]["name"].as_str()), (Some("DELETED"), Some("a")));
        let mut fresh = s.watch(&cms, None, &ListOptions::default()).unwrap();
        let e = fresh.next().await.unwrap();
        assert_eq!((e["type"].as_str(), e["object"]["metadata"]["name"].as_str()), (Some("ADDED"), Some("b")));
    }

    #[test]
    fn a_snapshot_restores_every_object_and_custom_kind() {
        let s = store();
        let crds = t(&s, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        s.create(&crds, None, crd, &W).unwrap();
        let widgets = s.registry().find("example.com", "v1", "widgets").unwrap();
        s.create(&widgets, Some("default"), json!({"metadata": {"name": "w"}}), &W).unwrap();
        let cms = t(&s, "", "v1", "configmaps");
        s.create(&cms, Some("default"), cm("a"), &W).unwrap();
        let text = s.snapshot().to_string();
        let restored = Store::restore(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(restored.get(&cms, Some("default"), "a").unwrap(), s.get(&cms, Some("default"), "a").unwrap());
        let widgets = restored.registry().find("example.com", "v1", "widgets").unwrap();
        assert!(restored.get(&widgets, Some("default"), "w").is_ok());
        assert_eq!(restored.resource_version(), s.resource_version());
        // New writes continue after the restored resource version.
        let created = restored.create(&cms, Some("default"), cm("b"), &W).unwrap();
        let rv: u64 = created["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
        assert!(rv > s.resource_version());
    }

    #[tokio::test]
    async fn an_object_relabelled_out_of_a_selection_is_deleted_for_that_watch() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        let mut obj = cm("a");
        obj["metadata"]["labels"] = json!({"team": "blue"});
        s.create(&cms, Some("default"), obj, &W).unwrap();
        let blue = ListOptions { label_selector: Some("team=blue".into()), ..Default::default() };
        let mut w = s.watch(&cms, None, &blue).unwrap();
        assert_eq!(w.next().await.unwrap()["type"], "ADDED");
        s.patch(&cms, Some("default"), "a", Patch::Merge(json!({"metadata": {"labels": {"team": "red"}}})), None, &W)
            .unwrap();
        assert_eq!(w.next().await.unwrap()["type"], "DELETED");
        s.patch(&cms, Some("default"), "a", Patch::Merge(json!({"metadata": {"labels": {"team": "blue"}}})), None, &W)
            .unwrap();
        assert_eq!(w.next().await.unwrap()["type"], "ADDED");
    }

    #[test]
    fn a_watch_from_a_forgotten_resource_version_is_gone() {
        let s = store();
        let cms = t(&s, "", "v1", "configmaps");
        for i in 0..(HISTORY + 10) {
            s.create(&cms, Some("default"), cm(&format!("c{i}")), &W).unwrap();
        }
        let err =
            s.watch(&cms, None, &ListOptions { resource_version: Some("1".into()), ..Default::default() }).unwrap_err();
        assert_eq!(err.code, 410);
    }
}
