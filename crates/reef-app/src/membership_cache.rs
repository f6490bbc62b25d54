//! A short-lived, in-process cache of "user U is a member of organization O with role R".
//!
//! Every organization-scoped call needs the caller's membership before any work; the cache
//! saves that lookup for [`crate::AppConfig::auth_cache_ttl`]. A change made through this
//! process (a member added, changed or removed, an organization deleted) drops the
//! organization's entries at once; other replicas see it when their entries age out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reef_core::{OrgId, OrgRef, Organization, Role, UserId};

const MAX_ENTRIES: usize = 50_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(UserId, OrgId),
    Name(UserId, String),
}

fn key(user: UserId, org: &OrgRef) -> Key {
    match org {
        OrgRef::Id(id) => Key::Id(user, *id),
        OrgRef::Name(name) => Key::Name(user, name.to_string()),
    }
}

pub(crate) struct MembershipCache {
    ttl: Duration,
    entries: Mutex<HashMap<Key, (Organization, Role, Instant)>>,
}

impl std::fmt::Debug for MembershipCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembershipCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl MembershipCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        MembershipCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn get(&self, user: UserId, org: &OrgRef) -> Option<(Organization, Role)> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (o, r, fresh_until) = entries.get(&key(user, org))?;
        (*fresh_until > Instant::now()).then(|| (o.clone(), *r))
    }

    pub(crate) fn insert(&self, user: UserId, org: &OrgRef, found: &Organization, role: Role) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key(user, org), (found.clone(), role, Instant::now() + self.ttl));
    }

    /// Drops every entry of an organization (after its membership changed or it was deleted).
    pub(crate) fn forget_org(&self, org: OrgId) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (o, _, _)| o.id != org);
    }
}

#[cfg(test)]
mod tests {
    use reef_core::OrgName;

    use super::*;

    fn org() -> Organization {
        Organization { id: OrgId::new(), name: OrgName::parse("team").unwrap(), created_at: chrono::Utc::now() }
    }

    #[test]
    fn a_membership_is_cached_by_id_and_by_name_until_its_org_changes() {
        let cache = MembershipCache::new(Duration::from_secs(60));
        let (user, o) = (UserId::new(), org());
        let by_name = OrgRef::Name(o.name.clone());
        cache.insert(user, &by_name, &o, Role::Admin);
        cache.insert(user, &OrgRef::Id(o.id), &o, Role::Admin);
        assert_eq!(cache.get(user, &by_name).map(|(_, r)| r), Some(Role::Admin));
        assert!(cache.get(UserId::new(), &by_name).is_none(), "another user's membership was served");
        cache.forget_org(o.id);
        assert!(cache.get(user, &by_name).is_none());
        assert!(cache.get(user, &OrgRef::Id(o.id)).is_none());
    }
}
