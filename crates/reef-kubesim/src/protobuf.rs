//! The Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), decoded to the
//! JSON form the store keeps.
//!
//! Since client-go 1.31 the generated clientsets send built-in objects as protobuf: every
//! `kubectl create <kind>` generator, `kubectl run`, helm's release storage (Secrets) and
//! deletes with `DeleteOptions` bodies. A real API server accepts that, and clients do not fall
//! back to JSON, so the simulated server decodes it too.
//!
//! The wire format: the magic `k8s\0`, then a `runtime.Unknown` message (type meta, the raw
//! object, content encoding and type), whose raw bytes are the object's message as generated
//! from the Go types (`generated.proto` in k8s.io/api). Messages carry no field names, so
//! decoding needs each message's field numbers: [`MESSAGES`] lists them for the kinds that
//! clients create with typed clients, and the types those kinds embed. Go's protobuf encoder
//! writes every non-pointer field even when it is empty; an unknown field holding only such
//! zero values is skipped, and an unknown field holding data is refused (415) rather than
//! silently dropped.
//!
//! The JSON follows Go's encoding of the same object: zero-valued scalars are left out unless
//! the Go field is a pointer (a `replicas: 0` that was sent stays), embedded structs are
//! inlined, maps of quantities become maps of strings, `IntOrString` becomes a number or a
//! string and times become RFC 3339.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The magic prefix of every protobuf-encoded Kubernetes object.
pub const MAGIC: &[u8] = b"k8s\0";
/// The media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// A decoding failure, with a message fit for a `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(message.into()))
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// A string.
    Str,
    /// A varint integer (int32, int64).
    Int,
    /// A bool.
    Bool,
    /// A nested message.
    Msg(&'static str),
    /// An embedded Go struct: its fields are inlined into the parent's JSON object.
    Inline(&'static str),
    /// `metav1.Time`: RFC 3339, seconds.
    Time,
    /// `metav1.MicroTime`: RFC 3339, microseconds.
    MicroTime,
    /// `resource.Quantity`: its string.
    Quantity,
    /// `intstr.IntOrString`: a number or a string.
    IntOrString,
    /// `runtime.RawExtension` or `metav1.FieldsV1`: JSON bytes in field 1.
    RawJson,
    /// `map<string, string>`.
    MapStr,
    /// `map<string, bytes>`.
    MapBytes,
    /// `map<string, Quantity>`.
    MapQuantity,
}

/// One field of a message.
#[derive(Debug, Clone, Copy)]
struct F {
    num: u32,
    name: &'static str,
    ty: Ty,
    repeated: bool,
    /// A Go pointer field: a zero value that was sent is kept.
    keep_zero: bool,
}

const fn f(num: u32, name: &'static str, ty: Ty) -> F {
    F { num, name, ty, repeated: false, keep_zero: false }
}

/// A repeated field.
const fn r(num: u32, name: &'static str, ty: Ty) -> F {
    F { num, name, ty, repeated: true, keep_zero: false }
}

/// A pointer field (zero values that were sent are kept).
const fn p(num: u32, name: &'static str, ty: Ty) -> F {
    F { num, name, ty, repeated: false, keep_zero: true }
}

use Ty::{Bool, Int, IntOrString, MapBytes, MapQuantity, MapStr, Msg, Quantity, RawJson, Str, Time};

/// The messages this decoder knows, by name, with their field numbers (from k8s.io/api's
/// `generated.proto`; field numbers never change once published).
#[rustfmt::skip]
const MESSAGES: &[(&str, &[F])] = &[
    // k8s.io/apimachinery meta/v1
    ("ObjectMeta", &[
        f(1, "name", Str), f(2, "generateName", Str), f(3, "namespace", Str), f(4, "selfLink", Str),
        f(5, "uid", Str), f(6, "resourceVersion", Str), f(7, "generation", Int), f(8, "creationTimestamp", Time),
        f(9, "deletionTimestamp", Time), p(10, "deletionGracePeriodSeconds", Int), f(11, "labels", MapStr),
        f(12, "annotations", MapStr), r(13, "ownerReferences", Msg("OwnerReference")), r(14, "finalizers", Str),
        r(17, "managedFields", Msg("ManagedFieldsEntry")),
    ]),
    ("OwnerReference", &[
        f(5, "apiVersion", Str), f(1, "kind", Str), f(3, "name", Str), f(4, "uid", Str),
        p(6, "controller", Bool), p(7, "blockOwnerDeletion", Bool),
    ]),
    ("ManagedFieldsEntry", &[
        f(1, "manager", Str), f(2, "operation", Str), f(3, "apiVersion", Str), f(4, "time", Time),
        f(6, "fieldsType", Str), f(7, "fieldsV1", RawJson), f(8, "subresource", Str),
    ]),
    ("LabelSelector", &[f(1, "matchLabels", MapStr), r(2, "matchExpressions", Msg("LabelSelectorRequirement"))]),
    ("LabelSelectorRequirement", &[f(1, "key", Str), f(2, "operator", Str), r(3, "values", Str)]),
    ("Condition", &[
        f(1, "type", Str), f(2, "status", Str), f(3, "observedGeneration", Int), f(4, "lastTransitionTime", Time),
        f(5, "reason", Str), f(6, "message", Str),
    ]),
    ("DeleteOptions", &[
        p(1, "gracePeriodSeconds", Int), f(2, "preconditions", Msg("Preconditions")), p(3, "orphanDependents", Bool),
        p(4, "propagationPolicy", Str), r(5, "dryRun", Str), p(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool),
    ]),
    ("Preconditions", &[p(1, "uid", Str), p(2, "resourceVersion", Str)]),

    // core/v1
    ("ConfigMap", &[f(1, "metadata", Msg("ObjectMeta")), p(4, "immutable", Bool), f(2, "data", MapStr), f(3, "binaryData", MapBytes)]),
    ("Secret", &[
        f(1, "metadata", Msg("ObjectMeta")), p(5, "immutable", Bool), f(2, "data", MapBytes), f(4, "stringData", MapStr),
        f(3, "type", Str),
    ]),
    ("Namespace", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("NamespaceSpec")), f(3, "status", Msg("NamespaceStatus"))]),
    ("NamespaceSpec", &[r(1, "finalizers", Str)]),
    ("NamespaceStatus", &[f(1, "phase", Str), r(2, "conditions", Msg("NamespaceCondition"))]),
    ("NamespaceCondition", &[f(1, "type", Str), f(2, "status", Str), f(4, "lastTransitionTime", Time), f(5, "reason", Str), f(6, "message", Str)]),
    ("ServiceAccount", &[
        f(1, "metadata", Msg("ObjectMeta")), r(2, "secrets", Msg("ObjectReference")),
        r(3, "imagePullSecrets", Msg("LocalObjectReference")), p(4, "automountServiceAccountToken", Bool),
    ]),
    ("ObjectReference", &[
        f(1, "kind", Str), f(2, "namespace", Str), f(3, "name", Str), f(4, "uid", Str), f(5, "apiVersion", Str),
        f(6, "resourceVersion", Str), f(7, "fieldPath", Str),
    ]),
    ("LocalObjectReference", &[f(1, "name", Str)]),
    ("TypedLocalObjectReference", &[p(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)]),
    ("Event", &[
        f(1, "metadata", Msg("ObjectMeta")), f(2, "involvedObject", Msg("ObjectReference")), f(3, "reason", Str),
        f(4, "message", Str), f(5, "source", Msg("EventSource")), f(6, "firstTimestamp", Time), f(7, "lastTimestamp", Time),
        f(8, "count", Int), f(9, "type", Str), f(10, "eventTime", Ty::MicroTime), f(11, "series", Msg("EventSeries")),
        f(12, "action", Str), f(13, "related", Msg("ObjectReference")), f(14, "reportingComponent", Str),
        f(15, "reportingInstance", Str),
    ]),
    ("EventSource", &[f(1, "component", Str), f(2, "host", Str)]),
    ("EventSeries", &[f(1, "count", Int), f(2, "lastObservedTime", Ty::MicroTime)]),
    ("ResourceQuota", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("ResourceQuotaSpec")), f(3, "status", Msg("ResourceQuotaStatus"))]),
    ("ResourceQuotaSpec", &[f(1, "hard", MapQuantity), r(2, "scopes", Str), f(3, "scopeSelector", Msg("ScopeSelector"))]),
    ("ResourceQuotaStatus", &[f(1, "hard", MapQuantity), f(2, "used", MapQuantity)]),
    ("ScopeSelector", &[r(1, "matchExpressions", Msg("ScopedResourceSelectorRequirement"))]),
    ("ScopedResourceSelectorRequirement", &[f(1, "scopeName", Str), f(2, "operator", Str), r(3, "values", Str)]),
    ("LimitRange", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("LimitRangeSpec"))]),
    ("LimitRangeSpec", &[r(1, "limits", Msg("LimitRangeItem"))]),
    ("LimitRangeItem", &[
        f(1, "type", Str), f(2, "max", MapQuantity), f(3, "min", MapQuantity), f(4, "default", MapQuantity),
        f(5, "defaultRequest", MapQuantity), f(6, "maxLimitRequestRatio", MapQuantity),
    ]),
    ("PersistentVolumeClaim", &[
        f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("PersistentVolumeClaimSpec")), f(3, "status", Msg("PersistentVolumeClaimStatus")),
    ]),
    ("PersistentVolumeClaimSpec", &[
        r(1, "accessModes", Str), f(4, "selector", Msg("LabelSelector")), f(2, "resources", Msg("ResourceRequirements")),
        f(3, "volumeName", Str), p(5, "storageClassName", Str), p(6, "volumeMode", Str),
        f(7, "dataSource", Msg("TypedLocalObjectReference")), f(8, "dataSourceRef", Msg("TypedObjectReference")),
        p(9, "volumeAttributesClassName", Str),
    ]),
    ("PersistentVolumeClaimStatus", &[f(1, "phase", Str), r(2, "accessModes", Str), f(3, "capacity", MapQuantity)]),
    ("TypedObjectReference", &[p(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str), p(4, "namespace", Str)]),
    ("Service", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("ServiceSpec")), f(3, "status", Msg("ServiceStatus"))]),
    ("ServiceSpec", &[
        r(1, "ports", Msg("ServicePort")), f(2, "selector", MapStr), f(3, "clusterIP", Str), r(18, "clusterIPs", Str),
        f(4, "type", Str), r(5, "externalIPs", Str), f(7, "sessionAffinity", Str), f(8, "loadBalancerIP", Str),
        r(9, "loadBalancerSourceRanges", Str), f(10, "externalName", Str), f(11, "externalTrafficPolicy", Str),
        f(12, "healthCheckNodePort", Int), f(13, "publishNotReadyAddresses", Bool),
        f(14, "sessionAffinityConfig", Msg("SessionAffinityConfig")), r(19, "ipFamilies", Str), p(17, "ipFamilyPolicy", Str),
        p(20, "allocateLoadBalancerNodePorts", Bool), p(21, "loadBalancerClass", Str), p(22, "internalTrafficPolicy", Str),
        p(23, "trafficDistribution", Str),
    ]),
    ("ServicePort", &[
        f(1, "name", Str), f(2, "protocol", Str), p(6, "appProtocol", Str), f(3, "port", Int),
        f(4, "targetPort", IntOrString), f(5, "nodePort", Int),
    ]),
    ("ServiceStatus", &[f(1, "loadBalancer", Msg("LoadBalancerStatus")), r(2, "conditions", Msg("Condition"))]),
    ("LoadBalancerStatus", &[r(1, "ingress", Msg("LoadBalancerIngress"))]),
    ("LoadBalancerIngress", &[f(1, "ip", Str), f(2, "hostname", Str), p(3, "ipMode", Str)]),
    ("SessionAffinityConfig", &[f(1, "clientIP", Msg("ClientIPConfig"))]),
    ("ClientIPConfig", &[p(1, "timeoutSeconds", Int)]),
    ("Pod", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("PodSpec")), f(3, "status", Msg("PodStatus"))]),
    ("PodStatus", &[
        f(1, "phase", Str), r(2, "conditions", Msg("PodCondition")), f(3, "message", Str), f(4, "reason", Str),
        f(11, "nominatedNodeName", Str), f(5, "hostIP", Str), f(6, "podIP", Str), f(7, "startTime", Time), f(9, "qosClass", Str),
    ]),
    ("PodCondition", &[
        f(1, "type", Str), f(2, "status", Str), f(3, "lastProbeTime", Time), f(4, "lastTransitionTime", Time),
        f(5, "reason", Str), f(6, "message", Str),
    ]),
    ("PodTemplateSpec", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("PodSpec"))]),
    ("PodSpec", &[
        r(1, "volumes", Msg("Volume")), r(20, "initContainers", Msg("Container")), r(2, "containers", Msg("Container")),
        f(3, "restartPolicy", Str), p(4, "terminationGracePeriodSeconds", Int), p(5, "activeDeadlineSeconds", Int),
        f(6, "dnsPolicy", Str), f(7, "nodeSelector", MapStr), f(8, "serviceAccountName", Str), f(9, "serviceAccount", Str),
        p(21, "automountServiceAccountToken", Bool), f(10, "nodeName", Str), f(11, "hostNetwork", Bool), f(12, "hostPID", Bool),
        f(13, "hostIPC", Bool), p(27, "shareProcessNamespace", Bool), f(14, "securityContext", Msg("PodSecurityContext")),
        r(15, "imagePullSecrets", Msg("LocalObjectReference")), f(16, "hostname", Str), f(17, "subdomain", Str),
        f(18, "affinity", Msg("Affinity")), f(19, "schedulerName", Str), r(22, "tolerations", Msg("Toleration")),
        r(23, "hostAliases", Msg("HostAlias")), f(24, "priorityClassName", Str), p(25, "priority", Int),
        f(26, "dnsConfig", Msg("PodDNSConfig")), r(28, "readinessGates", Msg("PodReadinessGate")),
        p(29, "runtimeClassName", Str), p(30, "enableServiceLinks", Bool), p(31, "preemptionPolicy", Str),
        f(32, "overhead", MapQuantity), r(33, "topologySpreadConstraints", Msg("TopologySpreadConstraint")),
        p(35, "setHostnameAsFQDN", Bool), f(36, "os", Msg("PodOS")), p(37, "hostUsers", Bool),
        r(38, "schedulingGates", Msg("PodSchedulingGate")),
    ]),
    ("Container", &[
        f(1, "name", Str), f(2, "image", Str), r(3, "command", Str), r(4, "args", Str), f(5, "workingDir", Str),
        r(6, "ports", Msg("ContainerPort")), r(19, "envFrom", Msg("EnvFromSource")), r(7, "env", Msg("EnvVar")),
        f(8, "resources", Msg("ResourceRequirements")), r(9, "volumeMounts", Msg("VolumeMount")),
        r(21, "volumeDevices", Msg("VolumeDevice")), f(10, "livenessProbe", Msg("Probe")), f(11, "readinessProbe", Msg("Probe")),
        f(22, "startupProbe", Msg("Probe")), f(12, "lifecycle", Msg("Lifecycle")), f(13, "terminationMessagePath", Str),
        f(20, "terminationMessagePolicy", Str), f(14, "imagePullPolicy", Str), f(15, "securityContext", Msg("SecurityContext")),
        f(16, "stdin", Bool), f(17, "stdinOnce", Bool), f(18, "tty", Bool), p(24, "restartPolicy", Str),
    ]),
    ("ContainerPort", &[f(1, "name", Str), f(2, "hostPort", Int), f(3, "containerPort", Int), f(4, "protocol", Str), f(5, "hostIP", Str)]),
    ("EnvVar", &[f(1, "name", Str), f(2, "value", Str), f(3, "valueFrom", Msg("EnvVarSource"))]),
    ("EnvVarSource", &[
        f(1, "fieldRef", Msg("ObjectFieldSelector")), f(2, "resourceFieldRef", Msg("ResourceFieldSelector")),
        f(3, "configMapKeyRef", Msg("ConfigMapKeySelector")), f(4, "secretKeyRef", Msg("SecretKeySelector")),
    ]),
    ("EnvFromSource", &[f(1, "prefix", Str), f(2, "configMapRef", Msg("ConfigMapEnvSource")), f(3, "secretRef", Msg("SecretEnvSource"))]),
    ("ConfigMapEnvSource", &[f(1, "", Ty::Inline("LocalObjectReference")), p(2, "optional", Bool)]),
    ("SecretEnvSource", &[f(1, "", Ty::Inline("LocalObjectReference")), p(2, "optional", Bool)]),
    ("ConfigMapKeySelector", &[f(1, "", Ty::Inline("LocalObjectReference")), f(2, "key", Str), p(3, "optional", Bool)]),
    ("SecretKeySelector", &[f(1, "", Ty::Inline("LocalObjectReference")), f(2, "key", Str), p(3, "optional", Bool)]),
    ("ObjectFieldSelector", &[f(1, "apiVersion", Str), f(2, "fieldPath", Str)]),
    ("ResourceFieldSelector", &[f(1, "containerName", Str), f(2, "resource", Str), f(3, "divisor", Quantity)]),
    ("ResourceRequirements", &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity), r(3, "claims", Msg("ResourceClaim"))]),
    ("ResourceClaim", &[f(1, "name", Str), f(2, "request", Str)]),
    ("VolumeMount", &[
        f(1, "name", Str), f(2, "readOnly", Bool), p(7, "recursiveReadOnly", Str), f(3, "mountPath", Str), f(4, "subPath", Str),
        p(5, "mountPropagation", Str), f(6, "subPathExpr", Str),
    ]),
    ("VolumeDevice", &[f(1, "name", Str), f(2, "devicePath", Str)]),
    ("Probe", &[
        f(1, "", Ty::Inline("ProbeHandler")), f(2, "initialDelaySeconds", Int), f(3, "timeoutSeconds", Int),
        f(4, "periodSeconds", Int), f(5, "successThreshold", Int), f(6, "failureThreshold", Int),
        p(7, "terminationGracePeriodSeconds", Int),
    ]),
    ("ProbeHandler", &[
        f(1, "exec", Msg("ExecAction")), f(2, "httpGet", Msg("HTTPGetAction")), f(3, "tcpSocket", Msg("TCPSocketAction")),
        f(4, "grpc", Msg("GRPCAction")),
    ]),
    ("Lifecycle", &[f(1, "postStart", Msg("LifecycleHandler")), f(2, "preStop", Msg("LifecycleHandler"))]),
    ("LifecycleHandler", &[f(1, "exec", Msg("ExecAction")), f(2, "httpGet", Msg("HTTPGetAction")), f(3, "tcpSocket", Msg("TCPSocketAction"))]),
    ("ExecAction", &[r(1, "command", Str)]),
    ("HTTPGetAction", &[
        f(1, "path", Str), f(2, "port", IntOrString), f(3, "host", Str), f(4, "scheme", Str), r(5, "httpHeaders", Msg("HTTPHeader")),
    ]),
    ("HTTPHeader", &[f(1, "name", Str), f(2, "value", Str)]),
    ("TCPSocketAction", &[f(1, "port", IntOrString), f(2, "host", Str)]),
    ("GRPCAction", &[f(1, "port", Int), p(2, "service", Str)]),
    ("SecurityContext", &[
        f(1, "capabilities", Msg("Capabilities")), p(2, "privileged", Bool), f(3, "seLinuxOptions", Msg("SELinuxOptions")),
        p(4, "runAsUser", Int), p(8, "runAsGroup", Int), p(5, "runAsNonRoot", Bool), p(6, "readOnlyRootFilesystem", Bool),
        p(7, "allowPrivilegeEscalation", Bool), p(9, "procMount", Str), f(11, "seccompProfile", Msg("SeccompProfile")),
    ]),
    ("PodSecurityContext", &[
        f(1, "seLinuxOptions", Msg("SELinuxOptions")), p(2, "runAsUser", Int), p(6, "runAsGroup", Int),
        p(3, "runAsNonRoot", Bool), r(4, "supplementalGroups", Int), p(5, "fsGroup", Int), r(7, "sysctls", Msg("Sysctl")),
        p(9, "fsGroupChangePolicy", Str), f(10, "seccompProfile", Msg("SeccompProfile")),
    ]),
    ("Capabilities", &[r(1, "add", Str), r(2, "drop", Str)]),
    ("SELinuxOptions", &[f(1, "user", Str), f(2, "role", Str), f(3, "type", Str), f(4, "level", Str)]),
    ("SeccompProfile", &[f(1, "type", Str), p(2, "localhostProfile", Str)]),
    ("Sysctl", &[f(1, "name", Str), f(2, "value", Str)]),
    ("Toleration", &[f(1, "key", Str), f(2, "operator", Str), f(3, "value", Str), f(4, "effect", Str), p(5, "tolerationSeconds", Int)]),
    ("HostAlias", &[f(1, "ip", Str), r(2, "hostnames", Str)]),
    ("PodDNSConfig", &[r(1, "nameservers", Str), r(2, "searches", Str), r(3, "options", Msg("PodDNSConfigOption"))]),
    ("PodDNSConfigOption", &[f(1, "name", Str), p(2, "value", Str)]),
    ("PodReadinessGate", &[f(1, "conditionType", Str)]),
    ("PodSchedulingGate", &[f(1, "name", Str)]),
    ("PodOS", &[f(1, "name", Str)]),
    ("TopologySpreadConstraint", &[
        f(1, "maxSkew", Int), f(2, "topologyKey", Str), f(3, "whenUnsatisfiable", Str), f(4, "labelSelector", Msg("LabelSelector")),
        p(5, "minDomains", Int), p(6, "nodeAffinityPolicy", Str), p(7, "nodeTaintsPolicy", Str), r(8, "matchLabelKeys", Str),
    ]),
    ("Affinity", &[
        f(1, "nodeAffinity", Msg("NodeAffinity")), f(2, "podAffinity", Msg("PodAffinity")), f(3, "podAntiAffinity", Msg("PodAffinity")),
    ]),
    ("NodeAffinity", &[
        f(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg("NodeSelector")),
        r(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg("PreferredSchedulingTerm")),
    ]),
    ("NodeSelector", &[r(1, "nodeSelectorTerms", Msg("NodeSelectorTerm"))]),
    ("NodeSelectorTerm", &[r(1, "matchExpressions", Msg("NodeSelectorRequirement")), r(2, "matchFields", Msg("NodeSelectorRequirement"))]),
    ("NodeSelectorRequirement", &[f(1, "key", Str), f(2, "operator", Str), r(3, "values", Str)]),
    ("PreferredSchedulingTerm", &[f(1, "weight", Int), f(2, "preference", Msg("NodeSelectorTerm"))]),
    ("PodAffinity", &[
        r(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg("PodAffinityTerm")),
        r(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg("WeightedPodAffinityTerm")),
    ]),
    ("PodAffinityTerm", &[
        f(1, "labelSelector", Msg("LabelSelector")), r(2, "namespaces", Str), f(3, "topologyKey", Str),
        f(4, "namespaceSelector", Msg("LabelSelector")),
    ]),
    ("WeightedPodAffinityTerm", &[f(1, "weight", Int), f(2, "podAffinityTerm", Msg("PodAffinityTerm"))]),
    ("Volume", &[f(1, "name", Str), f(2, "", Ty::Inline("VolumeSource"))]),
    ("VolumeSource", &[
        f(1, "hostPath", Msg("HostPathVolumeSource")), f(2, "emptyDir", Msg("EmptyDirVolumeSource")),
        f(6, "secret", Msg("SecretVolumeSource")), f(7, "nfs", Msg("NFSVolumeSource")),
        f(10, "persistentVolumeClaim", Msg("PersistentVolumeClaimVolumeSource")), f(16, "downwardAPI", Msg("DownwardAPIVolumeSource")),
        f(19, "configMap", Msg("ConfigMapVolumeSource")), f(26, "projected", Msg("ProjectedVolumeSource")),
        f(28, "csi", Msg("CSIVolumeSource")), f(29, "ephemeral", Msg("EphemeralVolumeSource")),
    ]),
    ("HostPathVolumeSource", &[f(1, "path", Str), p(2, "type", Str)]),
    ("EmptyDirVolumeSource", &[f(1, "medium", Str), f(2, "sizeLimit", Quantity)]),
    ("NFSVolumeSource", &[f(1, "server", Str), f(2, "path", Str), f(3, "readOnly", Bool)]),
    ("SecretVolumeSource", &[f(1, "secretName", Str), r(2, "items", Msg("KeyToPath")), p(3, "defaultMode", Int), p(4, "optional", Bool)]),
    ("ConfigMapVolumeSource", &[
        f(1, "", Ty::Inline("LocalObjectReference")), r(2, "items", Msg("KeyToPath")), p(3, "defaultMode", Int), p(4, "optional", Bool),
    ]),
    ("KeyToPath", &[f(1, "key", Str), f(2, "path", Str), p(3, "mode", Int)]),
    ("PersistentVolumeClaimVolumeSource", &[f(1, "claimName", Str), f(2, "readOnly", Bool)]),
    ("DownwardAPIVolumeSource", &[r(1, "items", Msg("DownwardAPIVolumeFile")), p(2, "defaultMode", Int)]),
    ("DownwardAPIVolumeFile", &[
        f(1, "path", Str), f(2, "fieldRef", Msg("ObjectFieldSelector")), f(3, "resourceFieldRef", Msg("ResourceFieldSelector")),
        p(4, "mode", Int),
    ]),
    ("ProjectedVolumeSource", &[r(1, "sources", Msg("VolumeProjection")), p(2, "defaultMode", Int)]),
    ("VolumeProjection", &[
        f(1, "secret", Msg("SecretProjection")), f(2, "downwardAPI", Msg("DownwardAPIProjection")),
        f(3, "configMap", Msg("ConfigMapProjection")), f(4, "serviceAccountToken", Msg("ServiceAccountTokenProjection")),
    ]),
    ("SecretProjection", &[f(1, "", Ty::Inline("LocalObjectReference")), r(2, "items", Msg("KeyToPath")), p(4, "optional", Bool)]),
    ("ConfigMapProjection", &[f(1, "", Ty::Inline("LocalObjectReference")), r(2, "items", Msg("KeyToPath")), p(4, "optional", Bool)]),
    ("DownwardAPIProjection", &[r(1, "items", Msg("DownwardAPIVolumeFile"))]),
    ("ServiceAccountTokenProjection", &[f(1, "audience", Str), p(2, "expirationSeconds", Int), f(3, "path", Str)]),
    ("CSIVolumeSource", &[
        f(1, "driver", Str), p(2, "readOnly", Bool), p(3, "fsType", Str), f(4, "volumeAttributes", MapStr),
        f(5, "nodePublishSecretRef", Msg("LocalObjectReference")),
    ]),
    ("EphemeralVolumeSource", &[f(1, "volumeClaimTemplate", Msg("PersistentVolumeClaimTemplate"))]),
    ("PersistentVolumeClaimTemplate", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("PersistentVolumeClaimSpec"))]),

    // apps/v1
    ("Deployment", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("DeploymentSpec")), f(3, "status", Msg("DeploymentStatus"))]),
    ("DeploymentSpec", &[
        p(1, "replicas", Int), f(2, "selector", Msg("LabelSelector")), f(3, "template", Msg("PodTemplateSpec")),
        f(4, "strategy", Msg("DeploymentStrategy")), f(5, "minReadySeconds", Int), p(6, "revisionHistoryLimit", Int),
        f(7, "paused", Bool), p(9, "progressDeadlineSeconds", Int),
    ]),
    ("DeploymentStrategy", &[f(1, "type", Str), f(2, "rollingUpdate", Msg("RollingUpdateDeployment"))]),
    ("RollingUpdateDeployment", &[f(1, "maxUnavailable", IntOrString), f(2, "maxSurge", IntOrString)]),
    ("DeploymentStatus", &[
        f(1, "observedGeneration", Int), f(2, "replicas", Int), f(3, "updatedReplicas", Int), f(7, "readyReplicas", Int),
        f(4, "availableReplicas", Int), f(5, "unavailableReplicas", Int), r(6, "conditions", Msg("DeploymentCondition")),
        p(8, "collisionCount", Int),
    ]),
    ("DeploymentCondition", &[
        f(1, "type", Str), f(2, "status", Str), f(6, "lastUpdateTime", Time), f(7, "lastTransitionTime", Time),
        f(4, "reason", Str), f(5, "message", Str),
    ]),
    ("ReplicaSet", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("ReplicaSetSpec")), f(3, "status", Msg("ReplicaSetStatus"))]),
    ("ReplicaSetSpec", &[p(1, "replicas", Int), f(4, "minReadySeconds", Int), f(2, "selector", Msg("LabelSelector")), f(3, "template", Msg("PodTemplateSpec"))]),
    ("ReplicaSetStatus", &[
        f(1, "replicas", Int), f(2, "fullyLabeledReplicas", Int), f(4, "readyReplicas", Int), f(5, "availableReplicas", Int),
        f(3, "observedGeneration", Int),
    ]),

    // batch/v1
    ("Job", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("JobSpec")), f(3, "status", Msg("JobStatus"))]),
    ("JobSpec", &[
        p(1, "parallelism", Int), p(2, "completions", Int), p(3, "activeDeadlineSeconds", Int), p(7, "backoffLimit", Int),
        f(4, "selector", Msg("LabelSelector")), p(5, "manualSelector", Bool), f(6, "template", Msg("PodTemplateSpec")),
        p(8, "ttlSecondsAfterFinished", Int), p(9, "completionMode", Str), p(10, "suspend", Bool),
    ]),
    ("JobStatus", &[
        f(2, "startTime", Time), f(3, "completionTime", Time), f(4, "active", Int), f(5, "succeeded", Int), f(6, "failed", Int),
    ]),
    ("CronJob", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("CronJobSpec")), f(3, "status", Msg("CronJobStatus"))]),
    ("CronJobSpec", &[
        f(1, "schedule", Str), p(8, "timeZone", Str), p(2, "startingDeadlineSeconds", Int), f(3, "concurrencyPolicy", Str),
        p(4, "suspend", Bool), f(5, "jobTemplate", Msg("JobTemplateSpec")), p(6, "successfulJobsHistoryLimit", Int),
        p(7, "failedJobsHistoryLimit", Int),
    ]),
    ("CronJobStatus", &[r(1, "active", Msg("ObjectReference")), f(4, "lastScheduleTime", Time), f(5, "lastSuccessfulTime", Time)]),
    ("JobTemplateSpec", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("JobSpec"))]),

    // rbac.authorization.k8s.io/v1
    ("Role", &[f(1, "metadata", Msg("ObjectMeta")), r(2, "rules", Msg("PolicyRule"))]),
    ("ClusterRole", &[f(1, "metadata", Msg("ObjectMeta")), r(2, "rules", Msg("PolicyRule")), f(3, "aggregationRule", Msg("AggregationRule"))]),
    ("PolicyRule", &[r(1, "verbs", Str), r(2, "apiGroups", Str), r(3, "resources", Str), r(4, "resourceNames", Str), r(5, "nonResourceURLs", Str)]),
    ("AggregationRule", &[r(1, "clusterRoleSelectors", Msg("LabelSelector"))]),
    ("RoleBinding", &[f(1, "metadata", Msg("ObjectMeta")), r(2, "subjects", Msg("Subject")), f(3, "roleRef", Msg("RoleRef"))]),
    ("Subject", &[f(1, "kind", Str), f(2, "apiGroup", Str), f(3, "name", Str), f(4, "namespace", Str)]),
    ("RoleRef", &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)]),

    // networking.k8s.io/v1
    ("Ingress", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("IngressSpec")), f(3, "status", Msg("IngressStatus"))]),
    ("IngressSpec", &[
        p(4, "ingressClassName", Str), f(1, "defaultBackend", Msg("IngressBackend")), r(2, "tls", Msg("IngressTLS")),
        r(3, "rules", Msg("IngressRule")),
    ]),
    ("IngressBackend", &[f(4, "service", Msg("IngressServiceBackend")), f(3, "resource", Msg("TypedLocalObjectReference"))]),
    ("IngressServiceBackend", &[f(1, "name", Str), f(2, "port", Msg("ServiceBackendPort"))]),
    ("ServiceBackendPort", &[f(1, "name", Str), f(2, "number", Int)]),
    ("IngressTLS", &[r(1, "hosts", Str), f(2, "secretName", Str)]),
    ("IngressRule", &[f(1, "host", Str), f(2, "", Ty::Inline("IngressRuleValue"))]),
    ("IngressRuleValue", &[f(1, "http", Msg("HTTPIngressRuleValue"))]),
    ("HTTPIngressRuleValue", &[r(1, "paths", Msg("HTTPIngressPath"))]),
    ("HTTPIngressPath", &[f(1, "path", Str), p(3, "pathType", Str), f(2, "backend", Msg("IngressBackend"))]),
    ("IngressStatus", &[f(1, "loadBalancer", Msg("IngressLoadBalancerStatus"))]),
    ("IngressLoadBalancerStatus", &[r(1, "ingress", Msg("IngressLoadBalancerIngress"))]),
    ("IngressLoadBalancerIngress", &[f(1, "ip", Str), f(2, "hostname", Str)]),

    // policy/v1, scheduling.k8s.io/v1
    ("PodDisruptionBudget", &[
        f(1, "metadata", Msg("ObjectMeta")), f(2, "spec", Msg("PodDisruptionBudgetSpec")), f(3, "status", Msg("PodDisruptionBudgetStatus")),
    ]),
    ("PodDisruptionBudgetSpec", &[
        f(1, "minAvailable", IntOrString), f(2, "selector", Msg("LabelSelector")), f(3, "maxUnavailable", IntOrString),
        p(4, "unhealthyPodEvictionPolicy", Str),
    ]),
    ("PodDisruptionBudgetStatus", &[
        f(1, "observedGeneration", Int), f(3, "currentHealthy", Int), f(4, "desiredHealthy", Int), f(5, "expectedPods", Int),
        f(6, "disruptionsAllowed", Int),
    ]),
    ("Eviction", &[f(1, "metadata", Msg("ObjectMeta")), f(2, "deleteOptions", Msg("DeleteOptions"))]),
    ("PriorityClass", &[
        f(1, "metadata", Msg("ObjectMeta")), f(2, "value", Int), f(3, "globalDefault", Bool), f(4, "description", Str),
        p(5, "preemptionPolicy", Str),
    ]),
];

/// The message of each top-level kind, by `apiVersion` and `kind`.
#[rustfmt::skip]
const ROOTS: &[(&str, &str, &str)] = &[
    ("v1", "ConfigMap", "ConfigMap"), ("v1", "Secret", "Secret"), ("v1", "Namespace", "Namespace"),
    ("v1", "ServiceAccount", "ServiceAccount"), ("v1", "Service", "Service"), ("v1", "Pod", "Pod"),
    ("v1", "Event", "Event"), ("v1", "ResourceQuota", "ResourceQuota"), ("v1", "LimitRange", "LimitRange"),
    ("v1", "PersistentVolumeClaim", "PersistentVolumeClaim"), ("v1", "DeleteOptions", "DeleteOptions"),
    ("meta.k8s.io/v1", "DeleteOptions", "DeleteOptions"),
    ("apps/v1", "Deployment", "Deployment"), ("apps/v1", "ReplicaSet", "ReplicaSet"),
    ("batch/v1", "Job", "Job"), ("batch/v1", "CronJob", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role", "Role"), ("rbac.authorization.k8s.io/v1", "ClusterRole", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "RoleBinding"),
    ("networking.k8s.io/v1", "Ingress", "Ingress"),
    ("policy/v1", "PodDisruptionBudget", "PodDisruptionBudget"), ("policy/v1", "Eviction", "Eviction"),
    ("scheduling.k8s.io/v1", "PriorityClass", "PriorityClass"),
];

fn message(name: &str) -> Option<&'static [F]> {
    MESSAGES.iter().find(|(n, _)| *n == name).map(|(_, fields)| *fields)
}

// ---------------------------------------------------------------------------------------
// The wire format.

/// A protobuf wire value.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else { return err("truncated protobuf varint") };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        err("protobuf varint too long")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else { return err("truncated protobuf field") };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn field(&mut self) -> Result<(u32, Wire<'a>), DecodeError> {
        let key = self.varint()?;
        let num = u32::try_from(key >> 3).map_err(|_| DecodeError("protobuf field number out of range".into()))?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Wire::Fixed64(u64::from_le_bytes(b.try_into().map_err(|_| DecodeError("bad fixed64".into()))?))
            }
            2 => {
                let len =
                    usize::try_from(self.varint()?).map_err(|_| DecodeError("protobuf length out of range".into()))?;
                Wire::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Wire::Fixed32(u32::from_le_bytes(b.try_into().map_err(|_| DecodeError("bad fixed32".into()))?))
            }
            other => return err(format!("unsupported protobuf wire type {other}")),
        };
        Ok((num, wire))
    }
}

/// Whether bytes hold nothing but zero values, read as a message (what Go writes for an
/// empty struct); anything unreadable as a message counts as data.
fn all_zero(bytes: &[u8], depth: usize) -> bool {
    if bytes.is_empty() {
        return true;
    }
    if depth > 32 {
        return false;
    }
    let mut r = Reader::new(bytes);
    while !r.done() {
        match r.field() {
            Ok((_, Wire::Varint(0) | Wire::Fixed64(0) | Wire::Fixed32(0))) => {}
            Ok((_, Wire::Bytes(b))) if all_zero(b, depth + 1) => {}
            _ => return false,
        }
    }
    true
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("a protobuf string is not UTF-8".into()))
}

fn int_of(wire: Wire<'_>, what: &str) -> Result<i64, DecodeError> {
    match wire {
        // int32 and int64 are two's complement varints; a negative int32 is sign-extended.
        Wire::Varint(v) => Ok(v as i64),
        _ => err(format!("{what}: expected an integer")),
    }
}

fn bytes_of<'a>(wire: Wire<'a>, what: &str) -> Result<&'a [u8], DecodeError> {
    match wire {
        Wire::Bytes(b) => Ok(b),
        _ => err(format!("{what}: expected length-delimited data")),
    }
}

fn time_of(bytes: &[u8], micro: bool) -> Result<Value, DecodeError> {
    let (mut seconds, mut nanos) = (0i64, 0i64);
    let mut r = Reader::new(bytes);
    while !r.done() {
        match r.field()? {
            (1, w) => seconds = int_of(w, "Time.seconds")?,
            (2, w) => nanos = int_of(w, "Time.nanos")?,
            _ => {}
        }
    }
    if seconds == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let nanos = u32::try_from(nanos).unwrap_or(0);
    let Some(t) = chrono::DateTime::from_timestamp(seconds, nanos) else {
        return err("a protobuf time is out of range");
    };
    let format = if micro { chrono::SecondsFormat::Micros } else { chrono::SecondsFormat::Secs };
    Ok(json!(t.to_rfc3339_opts(format, true)))
}

fn quantity_of(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut s = String::new();
    while !r.done() {
        if let (1, w) = r.field()? {
            s = utf8(bytes_of(w, "Quantity")?)?;
        }
    }
    Ok(json!(s))
}

fn int_or_string_of(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (mut kind, mut int_val, mut str_val) = (0i64, 0i64, String::new());
    let mut r = Reader::new(bytes);
    while !r.done() {
        match r.field()? {
            (1, w) => kind = int_of(w, "IntOrString.type")?,
            (2, w) => int_val = int_of(w, "IntOrString.intVal")?,
            (3, w) => str_val = utf8(bytes_of(w, "IntOrString.strVal")?)?,
            _ => {}
        }
    }
    Ok(if kind == 1 { json!(str_val) } else { json!(int_val as i32) })
}

fn raw_json_of(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader::new(bytes);
    while !r.done() {
        if let (1, w) = r.field()? {
            let raw = bytes_of(w, "raw")?;
            return serde_json::from_slice(raw).map_err(|e| DecodeError(format!("embedded JSON: {e}")));
        }
    }
    Ok(Value::Null)
}

/// A map entry: `{1: key, 2: value}`.
fn map_entry(bytes: &[u8]) -> Result<(String, Option<Wire<'_>>), DecodeError> {
    let mut r = Reader::new(bytes);
    let (mut key, mut value) = (String::new(), None);
    while !r.done() {
        match r.field()? {
            (1, w) => key = utf8(bytes_of(w, "map key")?)?,
            (2, w) => value = Some(w),
            _ => {}
        }
    }
    Ok((key, value))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0) || n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn decode_message(bytes: &[u8], name: &str, out: &mut Map<String, Value>, depth: usize) -> Result<(), DecodeError> {
    if depth > 64 {
        return err("protobuf message nested too deeply");
    }
    let Some(fields) = message(name) else { return err(format!("no protobuf schema for {name}")) };
    let mut r = Reader::new(bytes);
    while !r.done() {
        let (num, wire) = r.field()?;
        let Some(field) = fields.iter().find(|f| f.num == num) else {
            let zero = match wire {
                Wire::Varint(v) | Wire::Fixed64(v) => v == 0,
                Wire::Fixed32(v) => v == 0,
                Wire::Bytes(b) => all_zero(b, 0),
            };
            if zero {
                continue;
            }
            return err(format!(
                "field {num} of {name} is not known to reef-kubesim's protobuf decoder; send the object as JSON"
            ));
        };
        let what = field.name;
        let value = match field.ty {
            Ty::Str => json!(utf8(bytes_of(wire, what)?)?),
            Ty::Int => {
                if let (true, Wire::Bytes(packed)) = (field.repeated, wire) {
                    let mut pr = Reader::new(packed);
                    let list = out.entry(what.to_owned()).or_insert_with(|| json!([]));
                    while !pr.done() {
                        let v = pr.varint()? as i64;
                        if let Some(a) = list.as_array_mut() {
                            a.push(json!(v));
                        }
                    }
                    continue;
                }
                json!(int_of(wire, what)?)
            }
            Ty::Bool => match wire {
                Wire::Varint(v) => json!(v != 0),
                _ => return err(format!("{what}: expected a bool")),
            },
            Ty::Msg(sub) => {
                let mut m = Map::new();
                decode_message(bytes_of(wire, what)?, sub, &mut m, depth + 1)?;
                Value::Object(m)
            }
            Ty::Inline(sub) => {
                decode_message(bytes_of(wire, what)?, sub, out, depth + 1)?;
                continue;
            }
            Ty::Time => time_of(bytes_of(wire, what)?, false)?,
            Ty::MicroTime => time_of(bytes_of(wire, what)?, true)?,
            Ty::Quantity => quantity_of(bytes_of(wire, what)?)?,
            Ty::IntOrString => int_or_string_of(bytes_of(wire, what)?)?,
            Ty::RawJson => raw_json_of(bytes_of(wire, what)?)?,
            Ty::MapStr | Ty::MapBytes | Ty::MapQuantity => {
                let (key, v) = map_entry(bytes_of(wire, what)?)?;
                let v = match (field.ty, v) {
                    (_, None) => json!(""),
                    (Ty::MapStr, Some(w)) => json!(utf8(bytes_of(w, what)?)?),
                    (Ty::MapBytes, Some(w)) => json!(STANDARD.encode(bytes_of(w, what)?)),
                    (_, Some(w)) => quantity_of(bytes_of(w, what)?)?,
                };
                let map = out.entry(what.to_owned()).or_insert_with(|| json!({}));
                if let Some(m) = map.as_object_mut() {
                    m.insert(key, v);
                }
                continue;
            }
        };
        if field.repeated {
            let list = out.entry(what.to_owned()).or_insert_with(|| json!([]));
            if let Some(a) = list.as_array_mut() {
                a.push(value);
            }
        } else if value.is_null() || (is_zero(&value) && !field.keep_zero) {
            out.remove(what);
        } else {
            out.insert(what.to_owned(), value);
        }
    }
    Ok(())
}

/// Decodes a protobuf request body (magic, `runtime.Unknown`, object) into the object's JSON.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let Some(rest) = body.strip_prefix(MAGIC) else { return err("the protobuf body lacks the k8s\\0 prefix") };
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw, mut encoding) = (String::new(), String::new(), &[][..], String::new());
    while !r.done() {
        match r.field()? {
            (1, w) => {
                let mut tr = Reader::new(bytes_of(w, "typeMeta")?);
                while !tr.done() {
                    match tr.field()? {
                        (1, w) => api_version = utf8(bytes_of(w, "apiVersion")?)?,
                        (2, w) => kind = utf8(bytes_of(w, "kind")?)?,
                        _ => {}
                    }
                }
            }
            (2, w) => raw = bytes_of(w, "raw")?,
            (3, w) => encoding = utf8(bytes_of(w, "contentEncoding")?)?,
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return err(format!("protobuf content encoding {encoding:?} is not supported"));
    }
    let Some((_, _, root)) = ROOTS.iter().find(|(v, k, _)| *v == api_version && *k == kind) else {
        return err(format!(
            "reef-kubesim cannot decode {kind} ({api_version}) from protobuf; send it as JSON (Content-Type: application/json)"
        ));
    };
    let mut out = Map::new();
    decode_message(raw, root, &mut out, 0)?;
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    obj.extend(out);
    Ok(Value::Object(obj))
}

// ---------------------------------------------------------------------------------------
// Encoding, for tests and for the OpenAPI v2 document.

/// A minimal protobuf writer.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    /// A varint field.
    pub fn int(&mut self, num: u32, v: i64) -> &mut Self {
        self.varint(u64::from(num) << 3);
        self.varint(v as u64);
        self
    }

    /// A bool field (written when true).
    pub fn bool(&mut self, num: u32, v: bool) -> &mut Self {
        if v {
            self.int(num, 1);
        }
        self
    }

    /// A length-delimited field.
    pub fn bytes(&mut self, num: u32, v: &[u8]) -> &mut Self {
        self.varint((u64::from(num) << 3) | 2);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }

    /// A string field.
    pub fn str(&mut self, num: u32, v: &str) -> &mut Self {
        self.bytes(num, v.as_bytes())
    }

    /// A nested message field.
    pub fn msg(&mut self, num: u32, build: impl FnOnce(&mut Writer)) -> &mut Self {
        let mut inner = Writer::default();
        build(&mut inner);
        self.bytes(num, &inner.buf)
    }
}

/// Encodes an object message as a Kubernetes protobuf body (magic and `runtime.Unknown`).
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.msg(1, |t| {
        t.str(1, api_version).str(2, kind);
    })
    .bytes(2, raw)
    .str(3, "")
    .str(4, "");
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&w.buf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(w: &mut Writer, name: &str) {
        w.msg(1, |m| {
            m.str(1, name)
                .str(2, "")
                .str(3, "")
                .str(4, "")
                .str(5, "")
                .str(6, "")
                .int(7, 0)
                .msg(8, |_| {})
                .msg(9, |_| {});
            m.msg(11, |e| {
                e.str(1, "app").str(2, "x");
            });
        });
    }

    #[test]
    fn a_config_map_decodes_as_kubectl_create_sends_it() {
        let mut w = Writer::default();
        meta(&mut w, "cfg");
        w.msg(2, |e| {
            e.str(1, "a").str(2, "1");
        });
        w.msg(2, |e| {
            e.str(1, "b").str(2, "two");
        });
        let obj = decode(&envelope("v1", "ConfigMap", &w.buf)).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"app": "x"}}, "data": {"a": "1", "b": "two"}})
        );
    }

    #[test]
    fn secret_data_is_base64_and_pointer_zeros_survive() {
        let mut w = Writer::default();
        meta(&mut w, "s");
        w.msg(2, |e| {
            e.str(1, "k").bytes(2, b"\x00\xffbin");
        });
        w.str(3, "Opaque").int(5, 0);
        let obj = decode(&envelope("v1", "Secret", &w.buf)).unwrap();
        assert_eq!(obj["data"]["k"], STANDARD.encode(b"\x00\xffbin"));
        assert_eq!(obj["type"], "Opaque");
        assert_eq!(obj["immutable"], false);
    }

    #[test]
    fn a_deployment_keeps_replicas_zero_and_inlines_embedded_structs() {
        let mut w = Writer::default();
        meta(&mut w, "web");
        w.msg(2, |spec| {
            spec.int(1, 0);
            spec.msg(2, |sel| {
                sel.msg(1, |e| {
                    e.str(1, "app").str(2, "web");
                });
            });
            spec.msg(3, |tpl| {
                tpl.msg(2, |pod| {
                    pod.msg(2, |c| {
                        c.str(1, "nginx").str(2, "nginx:1.25").str(5, "").msg(8, |_| {});
                        c.msg(6, |port| {
                            port.str(1, "").int(2, 0).int(3, 80).str(4, "TCP");
                        });
                        c.msg(10, |probe| {
                            probe.msg(1, |h| {
                                h.msg(2, |get| {
                                    get.str(1, "/").msg(2, |p| {
                                        p.int(1, 1).int(2, 0).str(3, "http");
                                    });
                                });
                            });
                            probe.int(2, 5);
                        });
                    });
                    pod.msg(1, |v| {
                        v.str(1, "cfg").msg(2, |src| {
                            src.msg(19, |cm| {
                                cm.msg(1, |r| {
                                    r.str(1, "settings");
                                });
                            });
                        });
                    });
                    pod.str(3, "Always");
                    // A field this decoder does not know, holding only zeros, is skipped.
                    pod.msg(99, |z| {
                        z.str(1, "").int(2, 0);
                    });
                });
            });
            spec.msg(4, |s| {
                s.str(1, "RollingUpdate").msg(2, |ru| {
                    ru.msg(1, |i| {
                        i.int(1, 1).str(3, "25%");
                    });
                });
            });
        });
        w.msg(3, |_| {});
        let obj = decode(&envelope("apps/v1", "Deployment", &w.buf)).unwrap();
        assert_eq!(obj["spec"]["replicas"], 0);
        assert_eq!(obj["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
        let c = &obj["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.25");
        assert_eq!(c["ports"], json!([{"containerPort": 80, "protocol": "TCP"}]));
        assert_eq!(c["resources"], json!({}));
        assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
        assert_eq!(c["livenessProbe"]["initialDelaySeconds"], 5);
        assert!(c.get("workingDir").is_none());
        assert_eq!(
            obj["spec"]["template"]["spec"]["volumes"][0],
            json!({"name": "cfg", "configMap": {"name": "settings"}})
        );
        assert_eq!(obj["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
        assert_eq!(obj["status"], json!({}));
    }

    #[test]
    fn an_unknown_field_with_data_is_refused_not_dropped() {
        let mut w = Writer::default();
        meta(&mut w, "cfg");
        w.str(42, "surprise");
        let e = decode(&envelope("v1", "ConfigMap", &w.buf)).unwrap_err();
        assert!(e.0.contains("field 42 of ConfigMap"), "{e}");
        let e = decode(&envelope("example.com/v1", "Widget", &[])).unwrap_err();
        assert!(e.0.contains("send it as JSON"), "{e}");
        assert!(decode(b"{}").is_err());
    }

    #[test]
    fn times_and_delete_options_decode() {
        let mut w = Writer::default();
        w.int(1, 0).str(4, "Foreground").str(5, "All");
        let obj = decode(&envelope("v1", "DeleteOptions", &w.buf)).unwrap();
        assert_eq!(obj["gracePeriodSeconds"], 0);
        assert_eq!(obj["propagationPolicy"], "Foreground");
        assert_eq!(obj["dryRun"], json!(["All"]));
        let mut t = Writer::default();
        t.int(1, 1_700_000_000);
        assert_eq!(time_of(&t.buf, false).unwrap(), json!("2023-11-14T22:13:20Z"));
        assert_eq!(time_of(&[], false).unwrap(), Value::Null);
    }

    #[test]
    fn every_message_named_in_the_schema_exists() {
        for (name, fields) in MESSAGES {
            for field in *fields {
                if let Ty::Msg(sub) | Ty::Inline(sub) = field.ty {
                    assert!(message(sub).is_some(), "{name}.{} refers to unknown {sub}", field.name);
                }
            }
        }
        for (_, _, root) in ROOTS {
            assert!(message(root).is_some(), "{root}");
        }
    }
}
