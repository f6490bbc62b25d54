//! Domain values to API views.

use reef_api_types as api;
use reef_app::{Catalog, ClusterOperation};
use reef_core::audit::{AuditEvent, Outcome};
use reef_core::cluster::Taint;
use reef_core::secret::SecretMeta;
use reef_core::{
    Cluster, ClusterName, ClusterSpec, KubernetesVersion, Member, NodePool, NodePoolName, Organization, Page, Role,
    SecretName, TokenMeta, User, WorkflowRun, WorkflowStep,
};

pub fn role(r: Role) -> api::Role {
    match r {
        Role::Viewer => api::Role::Viewer,
        Role::Member => api::Role::Member,
        Role::Admin => api::Role::Admin,
        Role::Owner => api::Role::Owner,
    }
}

pub fn role_from(r: api::Role) -> Role {
    match r {
        api::Role::Viewer => Role::Viewer,
        api::Role::Member => Role::Member,
        api::Role::Admin => Role::Admin,
        api::Role::Owner => Role::Owner,
    }
}

pub fn user(u: User) -> api::UserView {
    api::UserView {
        id: *u.id.as_uuid(),
        username: u.username.to_string(),
        server_admin: u.server_admin,
        has_password: u.has_password,
        created_at: u.created_at,
    }
}

pub fn token(t: TokenMeta) -> api::TokenView {
    api::TokenView {
        id: *t.id.as_uuid(),
        active: t.is_active(chrono::Utc::now()),
        name: t.name.to_string(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

pub fn org(o: Organization, r: Role) -> api::OrgView {
    api::OrgView { id: *o.id.as_uuid(), name: o.name.to_string(), created_at: o.created_at, role: role(r) }
}

pub fn member(m: Member) -> api::MemberView {
    api::MemberView {
        user_id: *m.user_id.as_uuid(),
        username: m.username.to_string(),
        role: role(m.role),
        joined_at: m.joined_at,
    }
}

pub fn secret(m: SecretMeta, values: Option<std::collections::BTreeMap<String, String>>) -> api::SecretView {
    api::SecretView {
        id: *m.id.as_uuid(),
        name: m.name.to_string(),
        secret_type: m.secret_type.to_string(),
        tags: m.tags,
        fields: m.fields,
        version: m.version,
        created_by: *m.created_by.as_uuid(),
        created_at: m.created_at,
        updated_at: m.updated_at,
        values,
    }
}

pub fn audit(e: AuditEvent) -> api::AuditEventView {
    api::AuditEventView {
        id: *e.id.as_uuid(),
        at: e.at,
        actor: e.actor_name,
        actor_id: e.actor_id.map(|id| *id.as_uuid()),
        operation: e.operation,
        target_kind: e.target_kind,
        target: e.target,
        outcome: match e.outcome {
            Outcome::Success => api::Outcome::Success,
            Outcome::Denied => api::Outcome::Denied,
            Outcome::Failure => api::Outcome::Failure,
        },
        error_code: e.error_code,
    }
}

pub fn next_cursor<T>(page: &Page<T>) -> Option<String> {
    page.next.as_ref().map(|c| c.encode())
}

fn taint_effect(e: reef_core::cluster::TaintEffect) -> api::TaintEffect {
    use reef_core::cluster::TaintEffect as E;
    match e {
        E::NoSchedule => api::TaintEffect::NoSchedule,
        E::PreferNoSchedule => api::TaintEffect::PreferNoSchedule,
        E::NoExecute => api::TaintEffect::NoExecute,
    }
}

fn taint_effect_from(e: api::TaintEffect) -> reef_core::cluster::TaintEffect {
    use reef_core::cluster::TaintEffect as E;
    match e {
        api::TaintEffect::NoSchedule => E::NoSchedule,
        api::TaintEffect::PreferNoSchedule => E::PreferNoSchedule,
        api::TaintEffect::NoExecute => E::NoExecute,
    }
}

fn node_pool(p: NodePool) -> api::NodePoolSpec {
    api::NodePoolSpec {
        name: p.name.to_string(),
        instance_type: p.instance_type,
        count: p.count,
        min: p.min,
        max: p.max,
        autoscaling: p.autoscaling,
        spot: p.spot,
        labels: p.labels,
        taints: p
            .taints
            .into_iter()
            .map(|t| api::TaintSpec { key: t.key, value: t.value, effect: taint_effect(t.effect) })
            .collect(),
        disk_size_gib: p.disk_size_gib,
    }
}

pub fn cluster(c: Cluster) -> api::ClusterView {
    api::ClusterView {
        id: *c.id.as_uuid(),
        name: c.name.to_string(),
        provider: c.provider,
        region: c.region,
        kubernetes_version: c.kubernetes_version.map(|v| v.to_string()),
        status: c.status.as_str().to_owned(),
        status_message: c.status_message,
        endpoint: c.endpoint,
        operation: c.operation.map(|id| *id.as_uuid()),
        node_pools: c.node_pools.into_iter().map(node_pool).collect(),
        secret: c.secret.map(|s| s.to_string()),
        labels: c.labels,
        options: c.options,
        health: c.health.map(|h| api::ClusterHealthView {
            checked_at: h.checked_at,
            healthy: h.problem.is_none(),
            problem: h.problem,
        }),
        failure: None,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

pub fn cluster_described((c, failure): (Cluster, Option<reef_app::ClusterFailure>)) -> api::ClusterView {
    api::ClusterView {
        failure: failure.map(|f| api::ClusterFailureView {
            operation: *f.operation.as_uuid(),
            step: f.step,
            error: f.error,
        }),
        ..cluster(c)
    }
}

pub fn release(r: reef_app::deployments::HelmRelease) -> api::ReleaseView {
    api::ReleaseView {
        chart: r.chart_label(),
        app_version: r.app_version().to_owned(),
        name: r.name,
        namespace: r.namespace,
        revision: r.version,
        status: r.info.status.as_str().to_owned(),
        updated: r.info.last_deployed,
        description: r.info.description,
        notes: r.info.notes,
        values: r.config,
    }
}

pub fn status_change(c: reef_core::cluster::StatusChange) -> api::StatusChangeView {
    api::StatusChangeView {
        from: c.from.map(|s| s.as_str().to_owned()),
        to: c.to.as_str().to_owned(),
        cause: c.cause,
        operation: c.operation.map(|id| *id.as_uuid()),
        at: c.at,
    }
}

pub fn node(n: reef_app::NodeInfo) -> api::NodeView {
    api::NodeView {
        name: n.name,
        ready: n.ready,
        roles: n.roles,
        node_pool: n.node_pool,
        instance_type: n.instance_type,
        kubelet_version: n.kubelet_version,
        internal_ip: n.internal_ip,
        unschedulable: n.unschedulable,
        taints: n.taints,
        labels: n.labels,
        created_at: n.created_at,
    }
}

pub fn namespace(n: reef_app::NamespaceInfo) -> api::NamespaceView {
    api::NamespaceView { name: n.name, phase: n.phase, labels: n.labels, created_at: n.created_at }
}

pub fn installed_secret(s: reef_app::InstalledSecret) -> api::InstalledSecretView {
    api::InstalledSecretView {
        namespace: s.namespace,
        name: s.name,
        keys: s.keys,
        version: s.version,
        created: s.created,
        namespace_created: s.namespace_created,
    }
}

/// Node pools as the API writes them, each name that does not parse named as a problem.
fn node_pools_from(pools: Vec<api::NodePoolSpec>, problem: &mut impl FnMut(String, String)) -> Vec<NodePool> {
    let mut node_pools = Vec::new();
    for (i, p) in pools.into_iter().enumerate() {
        match NodePoolName::parse(&p.name) {
            Ok(name) => node_pools.push(NodePool {
                name,
                instance_type: p.instance_type,
                count: p.count,
                min: p.min,
                max: p.max,
                autoscaling: p.autoscaling,
                spot: p.spot,
                labels: p.labels,
                taints: p
                    .taints
                    .into_iter()
                    .map(|t| Taint { key: t.key, value: t.value, effect: taint_effect_from(t.effect) })
                    .collect(),
                disk_size_gib: p.disk_size_gib,
            }),
            Err(e) => problem(format!("node_pools[{i}].name"), e.to_string()),
        }
    }
    node_pools
}

/// An optional field parsed with `parse`; one that does not parse is named as a problem.
fn optional<'a, T, E: std::fmt::Display>(
    value: Option<&'a str>,
    field: &str,
    parse: impl FnOnce(&'a str) -> Result<T, E>,
    problem: &mut impl FnMut(String, String),
) -> Option<T> {
    parse(value?).map_err(|e| problem(field.to_owned(), e.to_string())).ok()
}

/// An update request as a change: every field that does not parse is named, all at once.
pub fn cluster_change(req: api::UpdateClusterRequest) -> Result<reef_app::ClusterChange, Vec<api::FieldProblem>> {
    let mut problems = Vec::new();
    let mut problem = |field: String, reason: String| problems.push(api::FieldProblem { field, reason });
    let kubernetes_version =
        optional(req.kubernetes_version.as_deref(), "kubernetes_version", KubernetesVersion::parse, &mut problem);
    let node_pools = req.node_pools.map(|pools| node_pools_from(pools, &mut problem));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(reef_app::ClusterChange { kubernetes_version, node_pools, labels: req.labels })
}

/// A create request as a spec: every field that does not parse is named, all at once.
pub fn cluster_spec(req: api::CreateClusterRequest) -> Result<ClusterSpec, Vec<api::FieldProblem>> {
    let mut problems = Vec::new();
    let mut problem = |field: String, reason: String| problems.push(api::FieldProblem { field, reason });
    let name = ClusterName::parse(&req.name).map_err(|e| problem("name".to_owned(), e.to_string())).ok();
    let kubernetes_version =
        optional(req.kubernetes_version.as_deref(), "kubernetes_version", KubernetesVersion::parse, &mut problem);
    let secret = optional(req.secret.as_deref(), "secret", SecretName::parse, &mut problem);
    let node_pools = node_pools_from(req.node_pools, &mut problem);
    match name {
        Some(name) if problems.is_empty() => Ok(ClusterSpec {
            name,
            provider: req.provider,
            region: req.region,
            kubernetes_version,
            node_pools,
            secret,
            labels: req.labels,
            options: req.options,
        }),
        _ => Err(problems),
    }
}

fn step(s: WorkflowStep) -> api::OperationStepView {
    let duration_ms = match (s.started_at, s.finished_at) {
        (Some(start), Some(end)) => Some((end - start).num_milliseconds()),
        _ => None,
    };
    api::OperationStepView {
        name: s.name,
        status: s.status.as_str().to_owned(),
        attempts: s.attempts,
        error: s.error,
        started_at: s.started_at,
        finished_at: s.finished_at,
        duration_ms,
    }
}

pub fn operation(run: WorkflowRun, remaining: Option<std::time::Duration>) -> api::OperationView {
    api::OperationView {
        id: *run.id.as_uuid(),
        kind: run.kind,
        subject: run.subject,
        status: run.status.as_str().to_owned(),
        error: run.error,
        failed_step: run.failed_step,
        cancel_requested: run.cancel_requested,
        created_at: run.created_at,
        updated_at: run.updated_at,
        finished_at: run.finished_at,
        // Rounded up: an operation with a few milliseconds left is not done.
        eta_seconds: remaining.map(|d| d.as_millis().div_ceil(1000).try_into().unwrap_or(u64::MAX)),
        steps: run.steps.into_iter().map(step).collect(),
    }
}

pub fn cluster_operation(c: ClusterOperation) -> api::ClusterOperationView {
    api::ClusterOperationView { cluster: cluster(c.cluster), operation: operation(c.operation, None) }
}

pub fn provider(c: Catalog) -> api::ProviderView {
    api::ProviderView {
        provider: c.provider,
        regions: c.regions.into_iter().map(|r| api::RegionView { name: r.name, description: r.description }).collect(),
        instance_types: c
            .instance_types
            .into_iter()
            .map(|t| api::InstanceTypeView {
                name: t.name,
                vcpus: t.vcpus,
                memory_mib: t.memory_mib,
                regions: t.regions,
            })
            .collect(),
        kubernetes_versions: c.kubernetes_versions.iter().map(ToString::to_string).collect(),
        default_version: c.default_version.map(|v| v.to_string()),
        capabilities: api::CapabilitiesView {
            create: c.capabilities.create,
            scale_node_pool: c.capabilities.scale_node_pool,
            add_remove_node_pool: c.capabilities.add_remove_node_pool,
            upgrade_version: c.capabilities.upgrade_version,
            spot: c.capabilities.spot,
            autoscaling: c.capabilities.autoscaling,
        },
        options: c
            .options
            .into_iter()
            .map(|o| api::ProviderOptionView { name: o.name, description: o.description })
            .collect(),
    }
}
