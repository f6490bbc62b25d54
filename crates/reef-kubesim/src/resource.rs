//! The resource types a simulated cluster serves: the built-in kinds, and any kind that a
//! CustomResourceDefinition adds. Discovery, routing and storage all read this registry.

use std::sync::RwLock;

/// One resource type, as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version within the group.
    pub version: String,
    /// The plural resource name used in paths (`deployments`).
    pub resource: String,
    /// The singular name (`deployment`).
    pub singular: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The verbs the resource supports.
    pub verbs: Vec<String>,
    /// Short names for kubectl (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Subresources (`status`, `scale`, `log`).
    pub subresources: Vec<String>,
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// `deployments.apps`, or `configmaps` in the core group.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.resource.clone() } else { format!("{}.{}", self.resource, self.group) }
    }

    /// Whether the resource supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether the resource has the subresource `name`.
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s == name)
    }
}

const ALL_VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    resource: &str,
    kind: &str,
    namespaced: bool,
    short_names: &[&str],
    categories: &[&str],
    subresources: &[&str],
) -> ResourceType {
    ResourceType {
        group: group.to_owned(),
        version: version.to_owned(),
        resource: resource.to_owned(),
        singular: kind.to_lowercase(),
        kind: kind.to_owned(),
        namespaced,
        verbs: ALL_VERBS.iter().map(|v| (*v).to_owned()).collect(),
        short_names: short_names.iter().map(|s| (*s).to_owned()).collect(),
        categories: categories.iter().map(|s| (*s).to_owned()).collect(),
        subresources: subresources.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The built-in resource types.
pub fn builtins() -> Vec<ResourceType> {
    let all: &[&str] = &["all"];
    let none: &[&str] = &[];
    let status: &[&str] = &["status"];
    let scalable: &[&str] = &["status", "scale"];
    let mut types = vec![
        builtin("", "v1", "namespaces", "Namespace", false, &["ns"], none, status),
        builtin("", "v1", "nodes", "Node", false, &["no"], none, status),
        builtin("", "v1", "pods", "Pod", true, &["po"], all, &["status", "log"]),
        builtin("", "v1", "services", "Service", true, &["svc"], all, status),
        builtin("", "v1", "endpoints", "Endpoints", true, &["ep"], none, none),
        builtin("", "v1", "configmaps", "ConfigMap", true, &["cm"], none, none),
        builtin("", "v1", "secrets", "Secret", true, none, none, none),
        builtin("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"], none, none),
        builtin("", "v1", "events", "Event", true, &["ev"], none, none),
        builtin("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"], none, status),
        builtin("", "v1", "persistentvolumes", "PersistentVolume", false, &["pv"], none, status),
        builtin("", "v1", "replicationcontrollers", "ReplicationController", true, &["rc"], all, scalable),
        builtin("", "v1", "resourcequotas", "ResourceQuota", true, &["quota"], none, status),
        builtin("", "v1", "limitranges", "LimitRange", true, &["limits"], none, none),
        builtin("apps", "v1", "deployments", "Deployment", true, &["deploy"], all, scalable),
        builtin("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"], all, scalable),
        builtin("apps", "v1", "statefulsets", "StatefulSet", true, &["sts"], all, scalable),
        builtin("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], all, status),
        builtin("apps", "v1", "controllerrevisions", "ControllerRevision", true, none, none, none),
        builtin("batch", "v1", "jobs", "Job", true, none, all, status),
        builtin("batch", "v1", "cronjobs", "CronJob", true, &["cj"], all, status),
        builtin("networking.k8s.io", "v1", "ingresses", "Ingress", true, &["ing"], none, status),
        builtin("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, none, none, none),
        builtin("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, &["netpol"], none, none),
        builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"], none, status),
        builtin(
            "autoscaling",
            "v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
            &["hpa"],
            all,
            status,
        ),
        builtin(
            "autoscaling",
            "v1",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
            &["hpa"],
            all,
            status,
        ),
        builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true, none, none, none),
        builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, none, none, none),
        builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, none, none, none),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            none,
            none,
            none,
        ),
        builtin("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, &["sc"], none, none),
        builtin("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, &["pc"], none, none),
        builtin("coordination.k8s.io", "v1", "leases", "Lease", true, none, none, none),
        builtin("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, none, none, none),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            none,
            status,
        ),
        builtin("apiregistration.k8s.io", "v1", "apiservices", "APIService", false, none, none, status),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
            none,
            none,
            none,
        ),
        builtin(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            none,
            none,
            none,
        ),
    ];
    for t in &mut types {
        if t.resource == "endpoints" {
            t.singular = "endpoints".to_owned();
        }
    }
    types
}

/// The resource types one cluster serves. Shared by every request to the cluster; CRDs add
/// and remove types at run time.
#[derive(Debug)]
pub struct Registry {
    types: RwLock<Vec<ResourceType>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { types: RwLock::new(builtins()) }
    }
}

impl Registry {
    /// Every type, built-in first.
    pub fn all(&self) -> Vec<ResourceType> {
        self.types.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The type served at `/apis/{group}/{version}/{resource}` (or `/api/v1/{resource}`).
    pub fn find(&self, group: &str, version: &str, resource: &str) -> Option<ResourceType> {
        self.types
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|t| t.group == group && t.version == version && t.resource == resource)
            .cloned()
    }

    /// The type of an object, from its `apiVersion` and `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.types
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    /// Adds (or replaces) a type, e.g. one version of a CRD.
    pub fn add(&self, t: ResourceType) {
        let mut types = self.types.write().unwrap_or_else(|e| e.into_inner());
        types.retain(|x| !(x.group == t.group && x.version == t.version && x.resource == t.resource));
        types.push(t);
    }

    /// Removes every version of a group's resource (a deleted CRD).
    pub fn remove(&self, group: &str, resource: &str) {
        let mut types = self.types.write().unwrap_or_else(|e| e.into_inner());
        types.retain(|x| !(x.group == group && x.resource == resource));
    }

    /// The group versions served, each with its types, in a stable order: the core group
    /// first, then groups in the order first seen.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for t in self.all() {
            let gv = (t.group.clone(), t.version.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_kinds_are_found_by_path_and_by_kind() {
        let r = Registry::default();
        let d = r.find("apps", "v1", "deployments").unwrap();
        assert_eq!(d.kind, "Deployment");
        assert!(d.has_subresource("scale"));
        assert_eq!(r.by_kind("v1", "ConfigMap").unwrap().resource, "configmaps");
        assert!(r.find("", "v1", "widgets").is_none());
    }

    #[test]
    fn a_custom_type_can_be_added_and_removed() {
        let r = Registry::default();
        let mut t = r.find("", "v1", "configmaps").unwrap();
        t.group = "example.com".into();
        t.resource = "widgets".into();
        t.kind = "Widget".into();
        r.add(t);
        assert!(r.by_kind("example.com/v1", "Widget").is_some());
        r.remove("example.com", "widgets");
        assert!(r.find("example.com", "v1", "widgets").is_none());
    }
}
