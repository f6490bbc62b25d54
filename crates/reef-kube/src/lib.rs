//! reef's access to Kubernetes clusters: a client made from a kubeconfig, errors with stable
//! codes that say whose move it is, and what reef reads and writes in a cluster (its version,
//! nodes and namespaces; secrets it installs by server-side apply with field manager `reef`).
//!
//! Nothing here knows about organizations or the database: callers hand in a kubeconfig and
//! get plain values back.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::{Client, Config};

/// The field manager of everything reef applies.
pub const FIELD_MANAGER: &str = "reef";

/// The labels that name a node's pool, by provider: reef's simulated clusters, EKS, GKE, AKS,
/// DOKS and Karpenter, in that order.
const NODE_POOL_LABELS: &[&str] = &[
    "reef.dev/node-pool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "doks.digitalocean.com/node-pool",
    "karpenter.sh/nodepool",
];

/// Why a call to a cluster failed. `code` is stable; `message` says what to do and never holds
/// a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeError {
    /// `kubeconfig_invalid`, `credentials_refused`, `forbidden`, `api_server_error` or
    /// `api_server_unreachable`.
    pub code: &'static str,
    /// What happened, for a person.
    pub message: String,
    /// Whether trying again later may succeed (the server restarting, the network); `false`
    /// when someone has to change something first.
    pub transient: bool,
}

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KubeError {}

impl KubeError {
    fn invalid(message: String) -> KubeError {
        KubeError { code: "kubeconfig_invalid", message, transient: false }
    }
}

/// A node, as reef shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// Whether its `Ready` condition is `True`.
    pub ready: bool,
    /// Its roles (`node-role.kubernetes.io/<role>` labels).
    pub roles: Vec<String>,
    /// The node pool it belongs to, from the label its provider sets.
    pub node_pool: Option<String>,
    /// `node.kubernetes.io/instance-type`.
    pub instance_type: Option<String>,
    /// The kubelet's version (`v1.33.1`).
    pub kubelet_version: Option<String>,
    /// The first `InternalIP` address.
    pub internal_ip: Option<String>,
    /// Whether it is cordoned.
    pub unschedulable: bool,
    /// Its taints, as `key=value:Effect` (`key:Effect` without a value).
    pub taints: Vec<String>,
    /// All its labels.
    pub labels: BTreeMap<String, String>,
    /// When it joined.
    pub created_at: Option<DateTime<Utc>>,
}

/// A namespace, as reef shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    /// The name.
    pub name: String,
    /// `Active` or `Terminating`.
    pub phase: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// When it was made.
    pub created_at: Option<DateTime<Utc>>,
}

/// What a cluster's API server says about its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `gitVersion` of `/version` (`v1.31.4`).
    pub version: String,
    /// How many nodes it has.
    pub nodes: usize,
    /// How many of them are Ready.
    pub ready_nodes: usize,
}

impl Health {
    /// Why the cluster is not healthy, or `None` when every node is Ready (and there is one).
    pub fn problem(&self) -> Option<String> {
        if self.nodes == 0 {
            return Some("the cluster has no nodes".to_owned());
        }
        (self.ready_nodes < self.nodes)
            .then(|| format!("{} of {} nodes are not ready", self.nodes - self.ready_nodes, self.nodes))
    }
}

/// A Secret for reef to put into a cluster.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretObject {
    /// The namespace; made when it does not exist.
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    /// Its data, by key.
    pub data: BTreeMap<String, Vec<u8>>,
    /// Labels to set on it.
    pub labels: BTreeMap<String, String>,
    /// Annotations to set on it.
    pub annotations: BTreeMap<String, String>,
}

impl fmt::Debug for SecretObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretObject")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What applying a Secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Whether the Secret (and not only a new version of it) was made.
    pub created: bool,
    /// Whether its namespace was made too.
    pub namespace_created: bool,
}

/// A client of one cluster.
#[derive(Clone)]
pub struct ClusterClient {
    client: Client,
    server: String,
}

impl fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterClient").field("server", &self.server).finish_non_exhaustive()
    }
}

impl ClusterClient {
    /// A client of the cluster `kubeconfig` (YAML) reaches with its current context; each call
    /// to it gives up after `timeout`. Nothing is sent yet.
    pub async fn connect(kubeconfig: &str, timeout: Duration) -> Result<ClusterClient, KubeError> {
        // kube's TLS needs a process-wide crypto provider; reef uses ring everywhere.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parsed = Kubeconfig::from_yaml(kubeconfig)
            .map_err(|e| KubeError::invalid(format!("the kubeconfig cannot be read: {e}")))?;
        let mut config = Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
            .await
            .map_err(|e| KubeError::invalid(format!("the kubeconfig cannot be used: {e}")))?;
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        let server = config.cluster_url.to_string();
        let client =
            Client::try_from(config).map_err(|e| KubeError::invalid(format!("the kubeconfig cannot be used: {e}")))?;
        Ok(ClusterClient { client, server })
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The error of a call: refused credentials and missing permissions need a person; anything
    /// else may pass (the server restarting, the network).
    fn error(&self, e: kube::Error) -> KubeError {
        let server = &self.server;
        match &e {
            kube::Error::Api(status) if status.code == 401 => KubeError {
                code: "credentials_refused",
                message: format!("the API server at {server} refused the kubeconfig's credentials (401)"),
                transient: false,
            },
            kube::Error::Api(status) if status.code == 403 => KubeError {
                code: "forbidden",
                message: format!(
                    "the API server at {server} does not allow this with the kubeconfig's credentials: {}",
                    status.message
                ),
                transient: false,
            },
            kube::Error::Api(status) => KubeError {
                code: "api_server_error",
                message: format!("the API server at {server} answered {}: {}", status.code, status.message),
                transient: status.code >= 500 || status.code == 429,
            },
            _ => KubeError {
                code: "api_server_unreachable",
                message: format!("the API server at {server} does not answer: {e}"),
                transient: true,
            },
        }
    }

    /// The server's `gitVersion`.
    pub async fn version(&self) -> Result<String, KubeError> {
        Ok(self.client.apiserver_version().await.map_err(|e| self.error(e))?.git_version)
    }

    /// The server's version and how many of its nodes are ready.
    pub async fn health(&self) -> Result<Health, KubeError> {
        let version = self.version().await?;
        let nodes = self.nodes().await?;
        let ready_nodes = nodes.iter().filter(|n| n.ready).count();
        Ok(Health { version, nodes: nodes.len(), ready_nodes })
    }

    /// Every node, by name.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, KubeError> {
        let list =
            Api::<Node>::all(self.client.clone()).list(&ListParams::default()).await.map_err(|e| self.error(e))?;
        let mut out: Vec<NodeInfo> = list.items.into_iter().map(node_info).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every namespace, by name.
    pub async fn namespaces(&self) -> Result<Vec<NamespaceInfo>, KubeError> {
        let list =
            Api::<Namespace>::all(self.client.clone()).list(&ListParams::default()).await.map_err(|e| self.error(e))?;
        let mut out: Vec<NamespaceInfo> = list
            .items
            .into_iter()
            .map(|ns| NamespaceInfo {
                name: ns.metadata.name.unwrap_or_default(),
                phase: ns.status.and_then(|s| s.phase),
                labels: ns.metadata.labels.unwrap_or_default(),
                created_at: ns.metadata.creation_timestamp.as_ref().and_then(time),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Makes `namespace` unless it exists; `true` when it was made.
    pub async fn ensure_namespace(&self, namespace: &str) -> Result<bool, KubeError> {
        let api = Api::<Namespace>::all(self.client.clone());
        if api.get_opt(namespace).await.map_err(|e| self.error(e))?.is_some() {
            return Ok(false);
        }
        let ns = Namespace {
            metadata: ObjectMeta { name: Some(namespace.to_owned()), ..ObjectMeta::default() },
            ..Namespace::default()
        };
        match api
            .create(&PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() }, &ns)
            .await
        {
            Ok(_) => Ok(true),
            // Made by someone else in between: it exists, which is all that is asked.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Puts `secret` into the cluster (its namespace first, when missing) by server-side apply:
    /// the Secret ends up with exactly the keys given, whoever made it before.
    pub async fn apply_secret(&self, secret: &SecretObject) -> Result<Applied, KubeError> {
        let namespace_created = self.ensure_namespace(&secret.namespace).await?;
        let api = Api::<Secret>::namespaced(self.client.clone(), &secret.namespace);
        let existed = api.get_metadata_opt(&secret.name).await.map_err(|e| self.error(e))?.is_some();
        let object = Secret {
            metadata: ObjectMeta {
                name: Some(secret.name.clone()),
                namespace: Some(secret.namespace.clone()),
                labels: Some(secret.labels.clone()),
                annotations: Some(secret.annotations.clone()),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(secret.data.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect()),
            ..Secret::default()
        };
        let mut object = serde_json::to_value(&object)
            .map_err(|e| KubeError::invalid(format!("the Secret cannot be written: {e}")))?;
        object["apiVersion"] = "v1".into();
        object["kind"] = "Secret".into();
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(&secret.name, &params, &Patch::Apply(&object)).await.map_err(|e| self.error(e))?;
        Ok(Applied { created: !existed, namespace_created })
    }
}

/// An object reef put into a cluster, as it names it: `apiVersion`, `kind`, namespace (none
/// for a cluster-scoped kind) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// The namespace; `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl ClusterClient {
    /// How the API server serves `api_version`/`kind`: its resource and whether it is
    /// namespaced. An unknown kind (a CRD not installed yet) is `unknown_kind`.
    async fn resource_of(&self, api_version: &str, kind: &str) -> Result<(ApiResource, ApiCapabilities), KubeError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        kube::discovery::pinned_kind(&self.client, &gvk).await.map_err(|e| match e {
            kube::Error::Api(ref status) if status.code == 404 => KubeError {
                code: "unknown_kind",
                message: format!("the API server at {} does not serve {kind} in {api_version}", self.server),
                transient: false,
            },
            kube::Error::Discovery(_) => KubeError {
                code: "unknown_kind",
                message: format!("the API server at {} does not serve {kind} in {api_version}", self.server),
                transient: false,
            },
            e => self.error(e),
        })
    }

    fn dynamic_api(
        &self,
        resource: &ApiResource,
        caps: &ApiCapabilities,
        namespace: Option<&str>,
    ) -> Api<DynamicObject> {
        match (&caps.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, resource),
            (Scope::Namespaced, None) => Api::default_namespaced_with(self.client.clone(), resource),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), resource),
        }
    }

    /// Applies `object` (a whole object, as JSON) by server-side apply with field manager
    /// `reef`, taking over fields other managers own. A namespaced object without a namespace
    /// goes to `default_namespace`. Returns what it applied.
    pub async fn apply_object(
        &self,
        object: &serde_json::Value,
        default_namespace: &str,
    ) -> Result<ObjectRef, KubeError> {
        self.apply_object_as(object, default_namespace, FIELD_MANAGER).await
    }

    /// [`ClusterClient::apply_object`] with field manager `manager` (`helm` for a release's
    /// objects, so that the helm CLI and reef own them alike).
    pub async fn apply_object_as(
        &self,
        object: &serde_json::Value,
        default_namespace: &str,
        manager: &str,
    ) -> Result<ObjectRef, KubeError> {
        let field = |key: &str| object.pointer(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let (api_version, kind, name) = (field("/apiVersion"), field("/kind"), field("/metadata/name"));
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(KubeError {
                code: "invalid_object",
                message: "an object needs apiVersion, kind and metadata.name".to_owned(),
                transient: false,
            });
        }
        let (resource, caps) = self.resource_of(&api_version, &kind).await?;
        let namespace = match caps.scope {
            Scope::Namespaced => {
                let ns = field("/metadata/namespace");
                Some(if ns.is_empty() { default_namespace.to_owned() } else { ns })
            }
            Scope::Cluster => None,
        };
        let mut object = object.clone();
        if let Some(ns) = &namespace {
            object["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        }
        let api = self.dynamic_api(&resource, &caps, namespace.as_deref());
        let params = PatchParams::apply(manager).force();
        api.patch(&name, &params, &Patch::Apply(&object)).await.map_err(|e| self.error(e))?;
        Ok(ObjectRef { api_version, kind, namespace, name })
    }

    /// `target` with no namespace when its kind is cluster-scoped (a manifest read without the
    /// server gives every object one). An unknown kind is left as it is.
    pub async fn scoped(&self, mut target: ObjectRef) -> Result<ObjectRef, KubeError> {
        match self.resource_of(&target.api_version, &target.kind).await {
            Ok((_, caps)) if caps.scope == Scope::Cluster => target.namespace = None,
            Ok(_) => {}
            Err(e) if e.code == "unknown_kind" => {}
            Err(e) => return Err(e),
        }
        Ok(target)
    }

    /// The object `target` names, as JSON, or `None` when it does not exist (nor its kind).
    pub async fn get_object(&self, target: &ObjectRef) -> Result<Option<serde_json::Value>, KubeError> {
        let (resource, caps) = match self.resource_of(&target.api_version, &target.kind).await {
            Ok(found) => found,
            Err(e) if e.code == "unknown_kind" => return Ok(None),
            Err(e) => return Err(e),
        };
        let api = self.dynamic_api(&resource, &caps, target.namespace.as_deref());
        let found = api.get_opt(&target.name).await.map_err(|e| self.error(e))?;
        Ok(found.and_then(|o| serde_json::to_value(o).ok()))
    }

    /// The objects of `kind` in `namespace` (every namespace when empty) as a list object
    /// (`{"apiVersion", "kind": "<Kind>List", "items": [...]}`); an unknown kind lists nothing.
    pub async fn list_objects(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<serde_json::Value, KubeError> {
        let (resource, caps) = match self.resource_of(api_version, kind).await {
            Ok(found) => found,
            Err(e) if e.code == "unknown_kind" => {
                return Ok(serde_json::json!({"apiVersion": api_version, "kind": format!("{kind}List"), "items": []}));
            }
            Err(e) => return Err(e),
        };
        let api = match (&caps.scope, namespace) {
            (Scope::Namespaced, ns) if !ns.is_empty() => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::<DynamicObject>::all_with(self.client.clone(), &resource),
        };
        let list = api.list(&ListParams::default()).await.map_err(|e| self.error(e))?;
        let items: Vec<serde_json::Value> = list.items.iter().filter_map(|o| serde_json::to_value(o).ok()).collect();
        Ok(serde_json::json!({"apiVersion": api_version, "kind": format!("{kind}List"), "items": items}))
    }

    /// Deletes the object `target` names, its dependents in the background; `false` when it
    /// did not exist (nor its kind).
    pub async fn delete_object(&self, target: &ObjectRef) -> Result<bool, KubeError> {
        let (resource, caps) = match self.resource_of(&target.api_version, &target.kind).await {
            Ok(found) => found,
            Err(e) if e.code == "unknown_kind" => return Ok(false),
            Err(e) => return Err(e),
        };
        let api = self.dynamic_api(&resource, &caps, target.namespace.as_deref());
        let params =
            DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..DeleteParams::default() };
        match api.delete(&target.name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Waits until the object `target` names satisfies `done` (given the object), watching it
    /// rather than polling; gives up after `timeout` with `timeout`, naming `what` it waited
    /// for. An object that does not exist yet is waited for too.
    pub async fn wait_for(
        &self,
        target: &ObjectRef,
        what: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value, KubeError> {
        let found = self.watch_until(target, what, timeout, |o| o.is_some_and(&done)).await?;
        found.ok_or_else(|| KubeError::invalid(format!("{target} was {what} without existing")))
    }

    /// Waits until the object `target` names is gone (deleted objects may linger while
    /// finalizers run), watching it, within `timeout`. An object of a kind the cluster does not
    /// serve is gone.
    pub async fn wait_for_gone(&self, target: &ObjectRef, timeout: Duration) -> Result<(), KubeError> {
        match self.watch_until(target, "gone", timeout, |o| o.is_none()).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == "unknown_kind" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Watches the object `target` names until `done` holds of it (`None` while it does not
    /// exist), and returns it as it then is.
    async fn watch_until(
        &self,
        target: &ObjectRef,
        what: &str,
        timeout: Duration,
        done: impl Fn(Option<&serde_json::Value>) -> bool,
    ) -> Result<Option<serde_json::Value>, KubeError> {
        use futures::TryStreamExt as _;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || KubeError {
            code: "timeout",
            message: format!("{target} was not {what} within {}s", timeout.as_secs()),
            transient: false,
        };
        let (resource, caps) = self.resource_of(&target.api_version, &target.kind).await?;
        let api = self.dynamic_api(&resource, &caps, target.namespace.as_deref());
        loop {
            // The object as it is, then its changes from that version on.
            let list = api
                .list(&ListParams::default().fields(&format!("metadata.name={}", target.name)))
                .await
                .map_err(|e| self.error(e))?;
            let current = list.items.into_iter().next().map(|o| serde_json::to_value(&o).unwrap_or_default());
            if done(current.as_ref()) {
                return Ok(current);
            }
            let version = list.metadata.resource_version.unwrap_or_default();
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            // The server ends a watch after its timeout; the loop then looks again.
            let params = kube::api::WatchParams::default()
                .fields(&format!("metadata.name={}", target.name))
                .timeout(u32::try_from(left.as_secs().clamp(1, 290)).unwrap_or(290));
            let stream = api.watch(&params, &version).await.map_err(|e| self.error(e))?;
            let mut stream = std::pin::pin!(stream);
            let watched = tokio::time::timeout(left, async {
                while let Some(event) = stream.try_next().await.map_err(|e| self.error(e))? {
                    let now = match event {
                        kube::api::WatchEvent::Added(o) | kube::api::WatchEvent::Modified(o) => {
                            Some(serde_json::to_value(&o).unwrap_or_default())
                        }
                        kube::api::WatchEvent::Deleted(_) => None,
                        _ => continue,
                    };
                    if done(now.as_ref()) {
                        return Ok(Some(now));
                    }
                }
                Ok(None)
            })
            .await;
            match watched {
                Ok(Ok(Some(now))) => return Ok(now),
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(timed_out()),
            }
        }
    }

    /// The Secrets of `namespace` whose labels match `selector` (`owner=helm,name=web`).
    pub async fn secrets(&self, namespace: &str, selector: &str) -> Result<Vec<Secret>, KubeError> {
        let api = Api::<Secret>::namespaced(self.client.clone(), namespace);
        let list = api.list(&ListParams::default().labels(selector)).await.map_err(|e| self.error(e))?;
        Ok(list.items)
    }

    /// The Secrets of every namespace whose labels match `selector`.
    pub async fn secrets_everywhere(&self, selector: &str) -> Result<Vec<Secret>, KubeError> {
        let api = Api::<Secret>::all(self.client.clone());
        let list = api.list(&ListParams::default().labels(selector)).await.map_err(|e| self.error(e))?;
        Ok(list.items)
    }

    /// Makes `secret` in `namespace`; `false` when one of its name exists already.
    pub async fn create_secret(&self, namespace: &str, secret: &Secret) -> Result<bool, KubeError> {
        let api = Api::<Secret>::namespaced(self.client.clone(), namespace);
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
        match api.create(&params, secret).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Replaces the Secret of `secret`'s name in `namespace` (made when missing), only if it
    /// is still at `secret`'s resource version when that is set: `false` when it changed.
    pub async fn replace_secret(&self, namespace: &str, secret: &Secret) -> Result<bool, KubeError> {
        let api = Api::<Secret>::namespaced(self.client.clone(), namespace);
        let name = secret.metadata.name.clone().unwrap_or_default();
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
        match api.replace(&name, &params, secret).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(kube::Error::Api(status)) if status.code == 404 => self.create_secret(namespace, secret).await,
            Err(e) => Err(self.error(e)),
        }
    }

    /// Deletes the Secret `name` of `namespace`; `false` when it did not exist.
    pub async fn delete_secret(&self, namespace: &str, name: &str) -> Result<bool, KubeError> {
        let api = Api::<Secret>::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }
}

fn time(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().try_into().unwrap_or(0))
}

fn node_info(node: Node) -> NodeInfo {
    let labels = node.metadata.labels.unwrap_or_default();
    let roles = labels.keys().filter_map(|k| k.strip_prefix("node-role.kubernetes.io/")).map(str::to_owned).collect();
    let node_pool = NODE_POOL_LABELS.iter().find_map(|l| labels.get(*l)).cloned();
    let instance_type = labels.get("node.kubernetes.io/instance-type").cloned();
    let spec = node.spec.unwrap_or_default();
    let status = node.status.unwrap_or_default();
    let ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
    let internal_ip = status.addresses.iter().flatten().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone());
    let taints = spec
        .taints
        .iter()
        .flatten()
        .map(|t| match &t.value {
            Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
            _ => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    NodeInfo {
        name: node.metadata.name.unwrap_or_default(),
        ready,
        roles,
        node_pool,
        instance_type,
        kubelet_version: status.node_info.map(|i| i.kubelet_version),
        internal_ip,
        unschedulable: spec.unschedulable.unwrap_or(false),
        taints,
        labels,
        created_at: node.metadata.creation_timestamp.as_ref().and_then(time),
    }
}
