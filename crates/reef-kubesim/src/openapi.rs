//! OpenAPI documents generated from the [`Registry`]: `/openapi/v2` (Swagger 2.0, as JSON or
//! in gnostic's protobuf form, which is the only form client-go reads) and `/openapi/v3` (an
//! index of one OpenAPI 3.0 document per group version).
//!
//! Every kind gets a definition tagged with `x-kubernetes-group-version-kind`, with
//! `apiVersion`, `kind` and `metadata` described and its other top-level fields permissive
//! (`x-kubernetes-preserve-unknown-fields`), or, for a custom resource, the schema its CRD
//! declares. That is what clients read from it:
//!
//! - `kubectl explain` finds a kind's schema by its group-version-kind.
//! - kubectl's validation asks whether the PATCH operation of a kind takes the
//!   `fieldValidation` query parameter; it does, so kubectl leaves validation to the server
//!   instead of validating against these (deliberately loose) schemas itself.
//! - `kubectl apply` computes a strategic merge patch from the schema when the PATCH
//!   operation lists `application/strategic-merge-patch+json`. The loose schemas cannot
//!   carry the patch strategies (merge keys of lists), so that media type is left out of
//!   the documents (the server accepts it all the same): kubectl then falls back to the
//!   patch metadata compiled into it for built-in kinds, and to a JSON merge patch for custom
//!   kinds, exactly what it does against a real server for custom resources.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use serde_json::{Map, Value, json};

use crate::discovery;
use crate::protobuf::Writer;
use crate::resource::{Registry, ResourceType};

/// Schemas of custom kinds, from their CRDs: `(group, version, kind)` → `openAPIV3Schema`.
pub type CustomSchemas = HashMap<(String, String, String), Value>;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// The media types a PATCH accepts, as the documents list them (see the module docs for why
/// `application/strategic-merge-patch+json` is not among them).
const PATCH_TYPES: [&str; 3] =
    ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

/// Which document flavour is being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    V2,
    V3,
}

impl Flavor {
    fn reference(self, name: &str) -> Value {
        match self {
            Flavor::V2 => json!({"$ref": format!("#/definitions/{name}")}),
            Flavor::V3 => json!({"$ref": format!("#/components/schemas/{name}")}),
        }
    }
}

/// The package-style name of a group's definitions: `io.k8s.api.apps.v1` for a built-in
/// group, `com.example.v1` for `example.com`.
fn package(group: &str, version: &str) -> String {
    match group {
        "" => format!("io.k8s.api.core.{version}"),
        "apiextensions.k8s.io" => format!("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}"),
        "apiregistration.k8s.io" => format!("io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}"),
        g if !g.contains('.') || g.ends_with(".k8s.io") => {
            let first = g.split('.').next().unwrap_or(g);
            format!("io.k8s.api.{first}.{version}")
        }
        g => {
            let reversed: Vec<&str> = g.split('.').rev().collect();
            format!("{}.{version}", reversed.join("."))
        }
    }
}

/// The definition name of a kind (`io.k8s.api.apps.v1.Deployment`).
pub fn definition_name(t: &ResourceType) -> String {
    format!("{}.{}", package(&t.group, &t.version), t.kind)
}

fn list_definition_name(t: &ResourceType) -> String {
    format!("{}List", definition_name(t))
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "description": description, "additionalProperties": {"type": "string", "default": ""}})
}

fn loose_object(description: &str) -> Value {
    json!({"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": true})
}

fn loose_array(description: &str) -> Value {
    json!({"type": "array", "description": description, "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

/// The top-level fields of a kind besides apiVersion, kind and metadata.
fn top_level_fields(t: &ResourceType) -> Vec<(&'static str, Value)> {
    match (t.group.as_str(), t.kind.as_str()) {
        ("", "ConfigMap") => vec![
            ("data", string_map("Data contains the configuration data.")),
            (
                "binaryData",
                json!({"type": "object", "description": "BinaryData contains the binary data.", "additionalProperties": {"type": "string", "format": "byte"}}),
            ),
            (
                "immutable",
                json!({"type": "boolean", "description": "Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated."}),
            ),
        ],
        ("", "Secret") => vec![
            (
                "data",
                json!({"type": "object", "description": "Data contains the secret data, base64 encoded.", "additionalProperties": {"type": "string", "format": "byte"}}),
            ),
            ("stringData", string_map("stringData allows specifying non-binary secret data in string form.")),
            ("type", string("Used to facilitate programmatic handling of secret data.")),
            (
                "immutable",
                json!({"type": "boolean", "description": "Immutable, if set to true, ensures that data stored in the Secret cannot be updated."}),
            ),
        ],
        ("", "ServiceAccount") => vec![
            (
                "secrets",
                loose_array(
                    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
                ),
            ),
            (
                "imagePullSecrets",
                loose_array("ImagePullSecrets is a list of references to secrets for pulling images."),
            ),
            (
                "automountServiceAccountToken",
                json!({"type": "boolean", "description": "Whether pods running as this service account should have an API token automatically mounted."}),
            ),
        ],
        ("", "Endpoints") => vec![("subsets", loose_array("The set of all endpoints is the union of all subsets."))],
        ("", "Event") => {
            let mut fields = vec![
                ("involvedObject", loose_object("The object that this event is about.")),
                ("source", loose_object("The component reporting this event.")),
                ("series", loose_object("Data about the Event series this event represents.")),
                ("related", loose_object("Optional secondary object for more complex actions.")),
                (
                    "count",
                    json!({"type": "integer", "format": "int32", "description": "The number of times this event has occurred."}),
                ),
                (
                    "firstTimestamp",
                    json!({"type": "string", "format": "date-time", "description": "The time at which the event was first recorded."}),
                ),
                (
                    "lastTimestamp",
                    json!({"type": "string", "format": "date-time", "description": "The time at which the most recent occurrence of this event was recorded."}),
                ),
                (
                    "eventTime",
                    json!({"type": "string", "format": "date-time", "description": "Time when this Event was first observed."}),
                ),
            ];
            for (name, text) in [
                (
                    "reason",
                    "A short, machine understandable string that gives the reason for the transition into the object's current status.",
                ),
                ("message", "A human-readable description of the status of this operation."),
                ("type", "Type of this event (Normal, Warning)."),
                ("action", "What action was taken/failed regarding to the Regarding object."),
                ("reportingComponent", "Name of the controller that emitted this Event."),
                ("reportingInstance", "ID of the controller instance."),
            ] {
                fields.push((name, string(text)));
            }
            fields
        }
        ("rbac.authorization.k8s.io", "Role") => {
            vec![("rules", loose_array("Rules holds all the PolicyRules for this Role."))]
        }
        ("rbac.authorization.k8s.io", "ClusterRole") => vec![
            ("rules", loose_array("Rules holds all the PolicyRules for this ClusterRole.")),
            (
                "aggregationRule",
                loose_object(
                    "AggregationRule is an optional field that describes how to build the Rules for this ClusterRole.",
                ),
            ),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            (
                "roleRef",
                loose_object(
                    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
                ),
            ),
            ("subjects", loose_array("Subjects holds references to the objects the role applies to.")),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            ("provisioner", string("provisioner indicates the type of the provisioner.")),
            (
                "parameters",
                string_map(
                    "parameters holds the parameters for the provisioner that should create volumes of this storage class.",
                ),
            ),
            (
                "reclaimPolicy",
                string(
                    "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
                ),
            ),
            (
                "mountOptions",
                json!({"type": "array", "description": "mountOptions controls the mountOptions for dynamically provisioned PersistentVolumes of this storage class.", "items": {"type": "string", "default": ""}}),
            ),
            (
                "allowVolumeExpansion",
                json!({"type": "boolean", "description": "allowVolumeExpansion shows whether the storage class allow volume expand."}),
            ),
            (
                "volumeBindingMode",
                string("volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound."),
            ),
            (
                "allowedTopologies",
                loose_array(
                    "allowedTopologies restrict the node topologies where volumes can be dynamically provisioned.",
                ),
            ),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            (
                "value",
                json!({"type": "integer", "format": "int32", "description": "value represents the integer value of this priority class."}),
            ),
            (
                "globalDefault",
                json!({"type": "boolean", "description": "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class."}),
            ),
            (
                "description",
                string(
                    "description is an arbitrary string that usually provides guidelines on when this priority class should be used.",
                ),
            ),
            ("preemptionPolicy", string("preemptionPolicy is the Policy for preempting pods with lower priority.")),
        ],
        ("apps", "ControllerRevision") => vec![
            ("data", loose_object("Data is the serialized representation of the state.")),
            (
                "revision",
                json!({"type": "integer", "format": "int64", "description": "Revision indicates the revision of the state represented by Data."}),
            ),
        ],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            ("addressType", string("addressType specifies the type of address carried by this EndpointSlice.")),
            ("endpoints", loose_array("endpoints is a list of unique endpoints in this slice.")),
            ("ports", loose_array("ports specifies the list of network ports exposed by each endpoint in this slice.")),
        ],
        ("admissionregistration.k8s.io", _) => {
            vec![("webhooks", loose_array("Webhooks is a list of webhooks and the affected resources and operations."))]
        }
        _ => {
            let mut fields =
                vec![("spec", loose_object(&format!("Spec defines the desired state of the {}.", t.kind)))];
            if t.has_subresource("status")
                || t.group.is_empty()
                || !t.group.contains('.')
                || t.group.ends_with(".k8s.io")
            {
                fields.push((
                    "status",
                    loose_object(&format!("Status is the most recently observed state of the {}. Read-only.", t.kind)),
                ));
            }
            fields
        }
    }
}

fn metadata_property(flavor: Flavor, list: bool) -> Value {
    let (name, text) = if list {
        (
            LIST_META,
            "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        )
    } else {
        (
            OBJECT_META,
            "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        )
    };
    match flavor {
        Flavor::V3 => json!({"allOf": [flavor.reference(name)], "default": {}, "description": text}),
        Flavor::V2 => {
            let mut r = flavor.reference(name);
            r["description"] = json!(text);
            r
        }
    }
}

fn api_version_property() -> Value {
    string(
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    )
}

fn kind_property() -> Value {
    string(
        "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    )
}

/// The schema of one kind.
fn kind_schema(t: &ResourceType, flavor: Flavor, custom: &CustomSchemas) -> Value {
    let mut properties = Map::new();
    let mut description = format!("{} is a {} resource.", t.kind, t.api_version());
    let mut required = Value::Null;
    if let Some(declared) = custom.get(&(t.group.clone(), t.version.clone(), t.kind.clone())) {
        if let Some(text) = declared.get("description").and_then(Value::as_str) {
            description = text.to_owned();
        }
        if let Some(props) = declared.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                properties.insert(k.clone(), v.clone());
            }
        }
        if let Some(r) = declared.get("required") {
            required = r.clone();
        }
        if properties.len() <= 3 && declared.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true)) {
            for (k, v) in top_level_fields(t) {
                properties.entry(k).or_insert(v);
            }
        }
    } else {
        for (k, v) in top_level_fields(t) {
            properties.insert(k.to_owned(), v);
        }
    }
    properties.insert("apiVersion".into(), api_version_property());
    properties.insert("kind".into(), kind_property());
    properties.insert("metadata".into(), metadata_property(flavor, false));
    let mut schema = json!({
        "description": description,
        "type": "object",
        "properties": properties,
        "x-kubernetes-group-version-kind": [gvk(&t.group, &t.version, &t.kind)],
    });
    if !required.is_null() {
        schema["required"] = required;
    }
    schema
}

fn list_schema(t: &ResourceType, flavor: Flavor) -> Value {
    json!({
        "description": format!("{}List is a list of {}.", t.kind, t.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": api_version_property(),
            "items": {"type": "array", "description": format!("List of {}.", t.resource), "items": flavor.reference(&definition_name(t))},
            "kind": kind_property(),
            "metadata": metadata_property(flavor, true),
        },
        "x-kubernetes-group-version-kind": [gvk(&t.group, &t.version, &format!("{}List", t.kind))],
    })
}

/// The shared meta/v1 definitions every document refers to.
fn meta_definitions(flavor: Flavor) -> Vec<(String, Value)> {
    let time = |d: &str| json!({"type": "string", "format": "date-time", "description": d});
    let object_meta = json!({
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "type": "object",
        "properties": {
            "name": string("Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically."),
            "generateName": string("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
            "namespace": string("Namespace defines the space within which each name must be unique."),
            "uid": string("UID is the unique in time and space value for this object. Populated by the system. Read-only."),
            "resourceVersion": string("An opaque value that represents the internal version of this object. Populated by the system. Read-only."),
            "generation": {"type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state. Populated by the system. Read-only."},
            "creationTimestamp": time("CreationTimestamp is a timestamp representing the server time when this object was created. Populated by the system. Read-only."),
            "deletionTimestamp": time("DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. Populated by the system. Read-only."),
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64", "description": "Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Read-only."},
            "labels": string_map("Map of string keys and values that can be used to organize and categorize (scope and select) objects."),
            "annotations": string_map("Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata."),
            "finalizers": {"type": "array", "description": "Must be empty before the object is deleted from the registry.", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "set"},
            "ownerReferences": loose_array("List of objects depended by this object."),
            "managedFields": loose_array("ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow."),
            "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
        },
    });
    let list_meta = json!({
        "description": "ListMeta describes metadata that synthetic resources must have, including lists and various status objects.",
        "type": "object",
        "properties": {
            "continue": string("continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available."),
            "remainingItemCount": {"type": "integer", "format": "int64", "description": "remainingItemCount is the number of subsequent items in the list which are not included in this list response."},
            "resourceVersion": string("String that identifies the server's internal version of this object that can be used by clients to determine when objects have changed."),
            "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
        },
    });
    let status = json!({
        "description": "Status is a return value for calls that don't return other objects.",
        "type": "object",
        "properties": {
            "apiVersion": api_version_property(),
            "kind": kind_property(),
            "metadata": metadata_property(flavor, true),
            "code": {"type": "integer", "format": "int32", "description": "Suggested HTTP return code for this status, 0 if not set."},
            "details": loose_object("Extended data associated with the reason."),
            "message": string("A human-readable description of the status of this operation."),
            "reason": string("A machine-readable description of why this operation is in the \"Failure\" status."),
            "status": string("Status of the operation. One of: \"Success\" or \"Failure\"."),
        },
        "x-kubernetes-group-version-kind": [gvk("", "v1", "Status")],
    });
    let delete_options = json!({
        "description": "DeleteOptions may be provided when deleting an API object.",
        "type": "object",
        "properties": {
            "apiVersion": api_version_property(),
            "kind": kind_property(),
            "dryRun": {"type": "array", "description": "When present, indicates that modifications should not be persisted.", "items": {"type": "string", "default": ""}},
            "gracePeriodSeconds": {"type": "integer", "format": "int64", "description": "The duration in seconds before the object should be deleted."},
            "orphanDependents": {"type": "boolean", "description": "Deprecated: please use the PropagationPolicy."},
            "preconditions": loose_object("Must be fulfilled before a deletion is carried out."),
            "propagationPolicy": string("Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
        },
        "x-kubernetes-group-version-kind": [gvk("", "v1", "DeleteOptions")],
    });
    let patch = json!({"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object"});
    let watch_event = json!({
        "description": "Event represents a single event to a watched resource.",
        "type": "object",
        "required": ["type", "object"],
        "properties": {
            "object": loose_object("Object is the object that changed: the object itself, or an ERROR's Status."),
            "type": string("ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."),
        },
        "x-kubernetes-group-version-kind": [gvk("", "v1", "WatchEvent")],
    });
    vec![
        (OBJECT_META.to_owned(), object_meta),
        (LIST_META.to_owned(), list_meta),
        (STATUS.to_owned(), status),
        (DELETE_OPTIONS.to_owned(), delete_options),
        (PATCH.to_owned(), patch),
        (WATCH_EVENT.to_owned(), watch_event),
    ]
}

fn scale_definition(flavor: Flavor) -> Value {
    json!({
        "description": "Scale represents a scaling request for a resource.",
        "type": "object",
        "properties": {
            "apiVersion": api_version_property(),
            "kind": kind_property(),
            "metadata": metadata_property(flavor, false),
            "spec": {"type": "object", "description": "spec defines the behavior of the scale.", "properties": {"replicas": {"type": "integer", "format": "int32", "description": "replicas is the desired number of instances for the scaled object."}}},
            "status": {"type": "object", "description": "status is the current status of the scale. Read-only.", "properties": {"replicas": {"type": "integer", "format": "int32", "description": "replicas is the actual number of observed instances of the scaled object."}, "selector": string("selector is the label query over pods that should match the replicas count.")}},
        },
        "x-kubernetes-group-version-kind": [gvk("autoscaling", "v1", "Scale")],
    })
}

fn camel(s: &str) -> String {
    s.split(['.', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

fn group_camel(t: &ResourceType) -> String {
    let g = if t.group.is_empty() { "core" } else { t.group.strip_suffix(".k8s.io").unwrap_or(&t.group) };
    format!("{}{}", camel(g), camel(&t.version))
}

fn tag(t: &ResourceType) -> String {
    let g = if t.group.is_empty() { "core" } else { t.group.strip_suffix(".k8s.io").unwrap_or(&t.group) };
    format!("{}_{}", g.replace(['.', '-'], "_"), t.version)
}

fn query_param(name: &str, description: &str, kind: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "type": kind, "uniqueItems": true})
}

fn write_params(patch: bool) -> Vec<Value> {
    let mut params = vec![
        query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
            "string",
        ),
        query_param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            "string",
        ),
        query_param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
            "string",
        ),
    ];
    if patch {
        params.push(query_param("force", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people.", "boolean"));
    }
    params
}

fn list_params() -> Vec<Value> {
    vec![
        query_param(
            "allowWatchBookmarks",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
            "boolean",
        ),
        query_param(
            "continue",
            "The continue option should be set when retrieving more results from the server.",
            "string",
        ),
        query_param(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
            "string",
        ),
        query_param(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
            "string",
        ),
        query_param("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
        query_param(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
            "string",
        ),
        query_param(
            "resourceVersionMatch",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
            "string",
        ),
        query_param(
            "sendInitialEvents",
            "`sendInitialEvents=true` may be set together with `watch=true`: the stream begins with synthetic events for every existing object.",
            "boolean",
        ),
        query_param("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
        query_param(
            "watch",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
            "boolean",
        ),
    ]
}

fn delete_params() -> Vec<Value> {
    vec![
        query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
            "string",
        ),
        query_param("gracePeriodSeconds", "The duration in seconds before the object should be deleted.", "integer"),
        query_param(
            "propagationPolicy",
            "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
            "string",
        ),
    ]
}

/// One operation, built flavour-neutral and then shaped for v2 or v3.
struct Op {
    action: &'static str,
    description: String,
    operation_id: String,
    params: Vec<Value>,
    body: Option<(Vec<&'static str>, String)>,
    response: String,
    created: bool,
    gvk: Value,
    tag: String,
}

impl Op {
    fn render(&self, flavor: Flavor) -> Value {
        let produces = ["application/json", "application/yaml"];
        let mut op = json!({
            "tags": [self.tag],
            "description": self.description,
            "operationId": self.operation_id,
            "x-kubernetes-action": self.action,
            "x-kubernetes-group-version-kind": self.gvk,
        });
        let mut responses = Map::new();
        match flavor {
            Flavor::V2 => {
                let mut params = self.params.clone();
                if let Some((_, schema)) = &self.body {
                    params.insert(
                        0,
                        json!({"name": "body", "in": "body", "required": true, "schema": flavor.reference(schema)}),
                    );
                }
                op["parameters"] = json!(params);
                op["consumes"] = match &self.body {
                    Some((types, _)) => json!(types),
                    None => json!(["*/*"]),
                };
                op["produces"] = json!(produces);
                op["schemes"] = json!(["https"]);
                responses
                    .insert("200".into(), json!({"description": "OK", "schema": flavor.reference(&self.response)}));
                if self.created {
                    responses.insert(
                        "201".into(),
                        json!({"description": "Created", "schema": flavor.reference(&self.response)}),
                    );
                }
            }
            Flavor::V3 => {
                let params: Vec<Value> = self
                    .params
                    .iter()
                    .map(|p| {
                        json!({
                            "name": p["name"], "in": p["in"], "description": p["description"],
                            "schema": {"type": p["type"], "uniqueItems": true},
                        })
                    })
                    .collect();
                if !params.is_empty() {
                    op["parameters"] = json!(params);
                }
                if let Some((types, schema)) = &self.body {
                    let content: Map<String, Value> =
                        types.iter().map(|t| ((*t).to_owned(), json!({"schema": flavor.reference(schema)}))).collect();
                    op["requestBody"] = json!({"content": content, "required": true});
                }
                let content: Map<String, Value> = produces
                    .iter()
                    .map(|t| ((*t).to_owned(), json!({"schema": flavor.reference(&self.response)})))
                    .collect();
                responses.insert("200".into(), json!({"description": "OK", "content": content}));
                if self.created {
                    responses.insert("201".into(), json!({"description": "Created", "content": content}));
                }
            }
        }
        responses.insert("401".into(), json!({"description": "Unauthorized"}));
        op["responses"] = Value::Object(responses);
        op
    }
}

fn path_param(name: &str, description: &str, flavor: Flavor) -> Value {
    match flavor {
        Flavor::V2 => {
            json!({"name": name, "in": "path", "required": true, "type": "string", "uniqueItems": true, "description": description})
        }
        Flavor::V3 => {
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string", "uniqueItems": true}})
        }
    }
}

/// The paths of one resource type: its collection(s), its objects and their subresources.
fn resource_paths(t: &ResourceType, flavor: Flavor, paths: &mut Map<String, Value>) {
    let prefix =
        if t.group.is_empty() { format!("/api/{}", t.version) } else { format!("/apis/{}/{}", t.group, t.version) };
    let scope = if t.namespaced { "Namespaced" } else { "" };
    let gc = group_camel(t);
    let def = definition_name(t);
    let list_def = list_definition_name(t);
    let kind_gvk = gvk(&t.group, &t.version, &t.kind);
    let tag = tag(t);
    let base = if t.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", t.resource)
    } else {
        format!("{prefix}/{}", t.resource)
    };
    let ns_param = path_param("namespace", "object name and auth scope, such as for teams and projects", flavor);
    let name_param = path_param("name", &format!("name of the {}", t.kind), flavor);
    let op = |action: &'static str, id_verb: &str, suffix: &str, description: String| Op {
        action,
        description,
        operation_id: format!("{id_verb}{gc}{scope}{}{suffix}", t.kind),
        params: Vec::new(),
        body: None,
        response: def.clone(),
        created: false,
        gvk: kind_gvk.clone(),
        tag: tag.clone(),
    };
    let supports = |verb: &str| t.supports(verb);

    // The collection.
    let mut collection = Map::new();
    let mut path_params = Vec::new();
    if t.namespaced {
        path_params.push(ns_param.clone());
    }
    if supports("list") {
        let mut o = op("list", "list", "", format!("list or watch objects of kind {}", t.kind));
        o.params = list_params();
        o.response = list_def.clone();
        collection.insert("get".into(), o.render(flavor));
    }
    if supports("create") {
        let mut o = op("post", "create", "", format!("create a {}", t.kind));
        o.params = write_params(false);
        o.body = Some((vec!["*/*"], def.clone()));
        o.created = true;
        collection.insert("post".into(), o.render(flavor));
    }
    if supports("deletecollection") {
        let mut o = op("deletecollection", "deleteCollection", "", format!("delete collection of {}", t.kind));
        let mut params = delete_params();
        params.extend(list_params());
        o.params = params;
        o.body = Some((vec!["*/*"], DELETE_OPTIONS.to_owned()));
        o.response = STATUS.to_owned();
        collection.insert("delete".into(), o.render(flavor));
    }
    if !collection.is_empty() {
        if !path_params.is_empty() {
            collection.insert("parameters".into(), json!(path_params));
        }
        paths.insert(base.clone(), Value::Object(collection));
    }

    // Across all namespaces.
    if t.namespaced && supports("list") {
        let mut o = op("list", "list", "ForAllNamespaces", format!("list or watch objects of kind {}", t.kind));
        o.operation_id = format!("list{gc}{}ForAllNamespaces", t.kind);
        o.params = list_params();
        o.response = list_def.clone();
        let mut item = Map::new();
        item.insert("get".into(), o.render(flavor));
        paths.insert(format!("{prefix}/{}", t.resource), Value::Object(item));
    }

    // One object.
    let mut object = Map::new();
    if supports("get") {
        object.insert("get".into(), op("get", "read", "", format!("read the specified {}", t.kind)).render(flavor));
    }
    if supports("update") {
        let mut o = op("put", "replace", "", format!("replace the specified {}", t.kind));
        o.params = write_params(false);
        o.body = Some((vec!["*/*"], def.clone()));
        o.created = true;
        object.insert("put".into(), o.render(flavor));
    }
    if supports("patch") {
        let mut o = op("patch", "patch", "", format!("partially update the specified {}", t.kind));
        o.params = write_params(true);
        o.body = Some((PATCH_TYPES.to_vec(), PATCH.to_owned()));
        o.created = true;
        object.insert("patch".into(), o.render(flavor));
    }
    if supports("delete") {
        let mut o = op("delete", "delete", "", format!("delete a {}", t.kind));
        o.params = delete_params();
        o.body = Some((vec!["*/*"], DELETE_OPTIONS.to_owned()));
        o.response = STATUS.to_owned();
        object.insert("delete".into(), o.render(flavor));
    }
    let mut object_params = vec![name_param];
    if t.namespaced {
        object_params.push(ns_param);
    }
    if !object.is_empty() {
        object.insert("parameters".into(), json!(object_params));
        paths.insert(format!("{base}/{{name}}"), Value::Object(object));
    }

    // Subresources.
    for sub in &t.subresources {
        let mut item = Map::new();
        let suffix = camel(sub);
        match sub.as_str() {
            "status" | "scale" => {
                let (response, sub_gvk) = if sub == "scale" {
                    (SCALE.to_owned(), gvk("autoscaling", "v1", "Scale"))
                } else {
                    (def.clone(), kind_gvk.clone())
                };
                let mut get = op("get", "read", &suffix, format!("read {sub} of the specified {}", t.kind));
                get.response = response.clone();
                get.gvk = sub_gvk.clone();
                item.insert("get".into(), get.render(flavor));
                let mut put = op("put", "replace", &suffix, format!("replace {sub} of the specified {}", t.kind));
                put.params = write_params(false);
                put.body = Some((vec!["*/*"], response.clone()));
                put.response = response.clone();
                put.created = true;
                put.gvk = sub_gvk.clone();
                item.insert("put".into(), put.render(flavor));
                let mut patch =
                    op("patch", "patch", &suffix, format!("partially update {sub} of the specified {}", t.kind));
                patch.params = write_params(true);
                patch.body = Some((PATCH_TYPES.to_vec(), PATCH.to_owned()));
                patch.response = response;
                patch.created = true;
                patch.gvk = sub_gvk;
                item.insert("patch".into(), patch.render(flavor));
            }
            "log" => {
                let mut get = op("connect", "read", "Log", format!("read log of the specified {}", t.kind));
                get.params = vec![
                    query_param("container", "The container for which to stream logs.", "string"),
                    query_param("follow", "Follow the log stream of the pod.", "boolean"),
                    query_param(
                        "tailLines",
                        "If set, the number of lines from the end of the logs to show.",
                        "integer",
                    ),
                ];
                get.response = "string".to_owned();
                let mut rendered = get.render(flavor);
                // The log is plain text, not an object.
                match flavor {
                    Flavor::V2 => {
                        rendered["responses"]["200"] = json!({"description": "OK", "schema": {"type": "string"}})
                    }
                    Flavor::V3 => {
                        rendered["responses"]["200"] =
                            json!({"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}})
                    }
                }
                item.insert("get".into(), rendered);
            }
            _ => continue,
        }
        item.insert("parameters".into(), json!(object_params));
        paths.insert(format!("{base}/{{name}}/{sub}"), Value::Object(item));
    }
}

fn types_in(registry: &Registry, group: &str, version: &str) -> Vec<ResourceType> {
    let mut types: Vec<ResourceType> =
        registry.all().into_iter().filter(|t| t.group == group && t.version == version).collect();
    types.sort_by(|a, b| a.resource.cmp(&b.resource));
    types
}

fn definitions(types: &[ResourceType], flavor: Flavor, custom: &CustomSchemas) -> Map<String, Value> {
    let mut defs = Map::new();
    for (name, schema) in meta_definitions(flavor) {
        defs.insert(name, schema);
    }
    for t in types {
        defs.insert(definition_name(t), kind_schema(t, flavor, custom));
        defs.insert(list_definition_name(t), list_schema(t, flavor));
        if t.has_subresource("scale") {
            defs.insert(SCALE.to_owned(), scale_definition(flavor));
        }
    }
    defs
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`: the OpenAPI 3.0 document of
/// one group version, or `None` when it is not served.
pub fn v3_group_version(registry: &Registry, custom: &CustomSchemas, group: &str, version: &str) -> Option<Value> {
    let types = types_in(registry, group, version);
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for t in &types {
        resource_paths(t, Flavor::V3, &mut paths);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "components": {
            "schemas": definitions(&types, Flavor::V3, custom),
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        },
    }))
}

/// A short content hash, for the `?hash=` of the v3 index: clients cache a document for as
/// long as its hash stays the same.
pub fn content_hash(doc: &Value) -> String {
    let mut hasher = DefaultHasher::new();
    doc.to_string().hash(&mut hasher);
    let a = hasher.finish();
    "reef-kubesim".hash(&mut hasher);
    format!("{a:016X}{:016X}", hasher.finish())
}

/// The path of a group version's document under `/openapi/v3/` (`api/v1`, `apis/apps/v1`).
pub fn v3_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `/openapi/v3`: every group version's document, by path, with a content hash.
pub fn v3_index(registry: &Registry, custom: &CustomSchemas) -> Value {
    let mut paths = Map::new();
    let mut gvs = registry.group_versions();
    gvs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| discovery::compare_versions(&a.1, &b.1)));
    for (group, version) in gvs {
        if let Some(doc) = v3_group_version(registry, custom, &group, &version) {
            let path = v3_path(&group, &version);
            paths.insert(
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", content_hash(&doc))}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v2`: the Swagger 2.0 document of every group version.
pub fn v2(registry: &Registry, custom: &CustomSchemas) -> Value {
    let types = registry.all();
    let mut paths = Map::new();
    for t in &types {
        resource_paths(t, Flavor::V2, &mut paths);
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions(&types, Flavor::V2, custom),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    })
}

/// The media type clients ask for the protobuf-encoded OpenAPI v2 document by.
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The `Content-Type` of that answer: the real server's spelling, since `@` is not allowed in
/// a media type and Go's parser (client-go checks every response's type) rejects it.
pub const V2_PROTOBUF_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Encodes the v2 document (as [`v2`] builds it) in the protobuf form of gnostic's
/// `openapi.v2.Document`, which is what client-go's discovery client asks `/openapi/v2` for
/// (and the only form it can read): kubectl before 1.30 needs it for `apply`.
pub fn v2_protobuf(doc: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.str(1, doc["swagger"].as_str().unwrap_or("2.0"));
    w.msg(2, |info| {
        info.str(1, doc["info"]["title"].as_str().unwrap_or("")).str(2, doc["info"]["version"].as_str().unwrap_or(""));
    });
    w.msg(8, |paths| {
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            paths.msg(2, |named| {
                named.str(1, path).msg(2, |pi| path_item(pi, item));
            });
        }
    });
    w.msg(9, |defs| {
        for (name, schema) in doc["definitions"].as_object().into_iter().flatten() {
            defs.msg(1, |named| {
                named.str(1, name).msg(2, |s| proto_schema(s, schema));
            });
        }
    });
    w.buf
}

fn yaml_any(w: &mut Writer, num: u32, value: &Value) {
    // JSON is YAML; clients parse the `yaml` field of the Any with a YAML parser.
    w.msg(num, |any| {
        any.str(2, &format!("{value}\n"));
    });
}

fn vendor_extensions(w: &mut Writer, num: u32, obj: &Value) {
    for (k, v) in obj.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("x-")) {
        w.msg(num, |named| {
            named.str(1, k);
            yaml_any(named, 2, v);
        });
    }
}

fn strings(w: &mut Writer, num: u32, v: &Value) {
    for s in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        w.str(num, s);
    }
}

fn proto_schema(w: &mut Writer, s: &Value) {
    let text = |k: &str| s.get(k).and_then(Value::as_str);
    if let Some(r) = text("$ref") {
        w.str(1, r);
    }
    if let Some(f) = text("format") {
        w.str(2, f);
    }
    if let Some(d) = text("description") {
        w.str(4, d);
    }
    if let Some(d) = s.get("default") {
        yaml_any(w, 5, d);
    }
    strings(w, 19, &s["required"]);
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let b = *b;
            w.msg(21, |a| {
                a.int(2, i64::from(b));
            });
        }
        Some(schema @ Value::Object(_)) => {
            w.msg(21, |a| {
                a.msg(1, |inner| proto_schema(inner, schema));
            });
        }
        _ => {}
    }
    if let Some(t) = text("type") {
        w.msg(22, |ty| {
            ty.str(1, t);
        });
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        w.msg(23, |it| {
            it.msg(1, |inner| proto_schema(inner, items));
        });
    }
    for sub in s["allOf"].as_array().into_iter().flatten() {
        w.msg(24, |inner| proto_schema(inner, sub));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        w.msg(25, |p| {
            for (name, schema) in props {
                p.msg(1, |named| {
                    named.str(1, name).msg(2, |inner| proto_schema(inner, schema));
                });
            }
        });
    }
    vendor_extensions(w, 31, s);
}

fn path_item(w: &mut Writer, item: &Value) {
    for (method, num) in [("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("patch", 8)] {
        if let Some(op) = item.get(method) {
            w.msg(num, |o| operation(o, op));
        }
    }
    for p in item["parameters"].as_array().into_iter().flatten() {
        w.msg(9, |pi| parameter(pi, p));
    }
}

fn operation(w: &mut Writer, op: &Value) {
    strings(w, 1, &op["tags"]);
    if let Some(d) = op["description"].as_str() {
        w.str(3, d);
    }
    if let Some(id) = op["operationId"].as_str() {
        w.str(5, id);
    }
    strings(w, 6, &op["produces"]);
    strings(w, 7, &op["consumes"]);
    for p in op["parameters"].as_array().into_iter().flatten() {
        w.msg(8, |pi| parameter(pi, p));
    }
    w.msg(9, |responses| {
        for (code, response) in op["responses"].as_object().into_iter().flatten() {
            responses.msg(1, |named| {
                named.str(1, code).msg(2, |rv| {
                    rv.msg(1, |r| {
                        r.str(1, response["description"].as_str().unwrap_or(""));
                        if let Some(schema) = response.get("schema") {
                            r.msg(2, |item| {
                                item.msg(1, |inner| proto_schema(inner, schema));
                            });
                        }
                    });
                });
            });
        }
    });
    strings(w, 10, &op["schemes"]);
    vendor_extensions(w, 13, op);
}

/// A `ParametersItem`: a body parameter, or a query or path parameter.
fn parameter(w: &mut Writer, p: &Value) {
    let text = |k: &str| p[k].as_str().unwrap_or("");
    let required = p["required"].as_bool().unwrap_or(false);
    w.msg(1, |param| match text("in") {
        "body" => {
            param.msg(1, |b| {
                b.str(1, text("description")).str(2, text("name")).str(3, "body").bool(4, required);
                if let Some(schema) = p.get("schema") {
                    b.msg(5, |inner| proto_schema(inner, schema));
                }
            });
        }
        "path" => {
            param.msg(2, |nb| {
                nb.msg(4, |q| {
                    q.bool(1, required)
                        .str(2, "path")
                        .str(3, text("description"))
                        .str(4, text("name"))
                        .str(5, text("type"));
                    q.bool(19, p["uniqueItems"].as_bool().unwrap_or(false));
                });
            });
        }
        _ => {
            param.msg(2, |nb| {
                nb.msg(3, |q| {
                    q.bool(1, required)
                        .str(2, "query")
                        .str(3, text("description"))
                        .str(4, text("name"))
                        .str(6, text("type"));
                    q.bool(20, p["uniqueItems"].as_bool().unwrap_or(false));
                });
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::default()
    }

    #[test]
    fn every_kind_has_a_definition_tagged_with_its_group_version_kind() {
        let r = registry();
        let doc = v3_group_version(&r, &CustomSchemas::new(), "apps", "v1").unwrap();
        let d = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            d["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        for field in ["apiVersion", "kind", "metadata", "spec", "status"] {
            assert!(d["properties"].get(field).is_some(), "{field}");
        }
        assert!(doc["components"]["schemas"].get(OBJECT_META).is_some());
        let core = v3_group_version(&r, &CustomSchemas::new(), "", "v1").unwrap();
        let cm = &core["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
        assert!(cm["properties"].get("data").is_some());
        assert!(cm["properties"].get("spec").is_none());
        assert!(v3_group_version(&r, &CustomSchemas::new(), "apps", "v9").is_none());
    }

    #[test]
    fn patch_operations_take_field_validation_but_not_strategic_merge_patch() {
        let r = registry();
        let doc = v3_group_version(&r, &CustomSchemas::new(), "apps", "v1").unwrap();
        let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        let names: Vec<&str> =
            patch["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(names.contains(&"fieldValidation"));
        assert!(patch["parameters"].as_array().unwrap().iter().all(|p| p["in"] == "query"));
        let content = patch["requestBody"]["content"].as_object().unwrap();
        assert!(content.contains_key("application/merge-patch+json"));
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
        assert!(doc["paths"].get("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale").is_some());
        assert!(doc["paths"].get("/apis/apps/v1/deployments").is_some());
    }

    #[test]
    fn the_index_lists_every_group_version_with_a_content_hash() {
        let r = registry();
        let index = v3_index(&r, &CustomSchemas::new());
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(
            index["paths"]["api/v1"]["serverRelativeURL"].as_str().unwrap().starts_with("/openapi/v3/api/v1?hash=")
        );
        assert_eq!(index, v3_index(&r, &CustomSchemas::new()));
    }

    #[test]
    fn a_custom_kind_uses_the_schema_its_crd_declares() {
        let r = registry();
        let mut t = r.find("", "v1", "configmaps").unwrap();
        t.group = "example.com".into();
        t.resource = "widgets".into();
        t.kind = "Widget".into();
        t.subresources = vec!["status".into()];
        r.add(t.clone());
        let mut custom = CustomSchemas::new();
        custom.insert(
            ("example.com".into(), "v1".into(), "Widget".into()),
            json!({"type": "object", "description": "A widget.", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}),
        );
        let doc = v3_group_version(&r, &custom, "example.com", "v1").unwrap();
        let w = &doc["components"]["schemas"]["com.example.v1.Widget"];
        assert_eq!(w["description"], "A widget.");
        assert_eq!(w["properties"]["spec"]["properties"]["size"]["type"], "integer");
        assert!(w["properties"].get("metadata").is_some());
        assert_eq!(definition_name(&t), "com.example.v1.Widget");
    }

    #[test]
    fn the_v2_document_has_definitions_and_paths_for_every_kind() {
        let r = registry();
        let doc = v2(&r, &CustomSchemas::new());
        assert_eq!(doc["swagger"], "2.0");
        assert!(doc["definitions"].get("io.k8s.api.networking.v1.Ingress").is_some());
        assert!(doc["definitions"].get("io.k8s.api.rbac.v1.ClusterRole").is_some());
        let post = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
        assert_eq!(post["parameters"][0]["in"], "body");
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert!(!patch["consumes"].as_array().unwrap().contains(&json!("application/strategic-merge-patch+json")));
    }
}
