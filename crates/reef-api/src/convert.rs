//! Domain values to API views.

use reef_api_types as api;
use reef_core::audit::{AuditEvent, Outcome};
use reef_core::secret::SecretMeta;
use reef_core::{Member, Organization, Page, Role, TokenMeta, User};

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
