//! A short-lived, in-process cache of authenticated tokens.
//!
//! Without it every request costs a token lookup in the database before any work. Entries live
//! for a few seconds ([`crate::AppConfig::auth_cache_ttl`]); a token revoked through this
//! process is dropped from its cache at once, and other replicas stop accepting it when their
//! entry ages out. An expired token is never served from the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reef_core::{Actor, TokenId};

/// The most entries kept; past it the cache starts over (a flood of distinct valid tokens is
/// not a case worth an eviction policy).
const MAX_ENTRIES: usize = 50_000;

struct Entry {
    actor: Actor,
    token_expires_at: Option<DateTime<Utc>>,
    fresh_until: Instant,
}

pub(crate) struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        TokenCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The actor for a token hash, if cached, fresh and not expired.
    pub(crate) fn get(&self, hash: &str, now: DateTime<Utc>) -> Option<Actor> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(hash)?;
        let fresh = entry.fresh_until > Instant::now() && entry.token_expires_at.is_none_or(|t| t > now);
        fresh.then(|| entry.actor.clone())
    }

    pub(crate) fn insert(&self, hash: String, actor: Actor, token_expires_at: Option<DateTime<Utc>>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, Entry { actor, token_expires_at, fresh_until: Instant::now() + self.ttl });
    }

    /// Drops every entry for a token (after it was revoked).
    pub(crate) fn forget(&self, token: TokenId) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.actor.credential.token_id() != Some(token));
    }
}

#[cfg(test)]
mod tests {
    use reef_core::actor::Credential;
    use reef_core::{UserId, UserName};

    use super::*;

    fn actor(token: TokenId) -> Actor {
        Actor {
            user_id: UserId::new(),
            username: UserName::parse("a").unwrap(),
            server_admin: false,
            credential: Credential::ApiToken(token),
        }
    }

    #[test]
    fn a_cached_token_is_served_until_forgotten() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let token = TokenId::new();
        cache.insert("h".into(), actor(token), None);
        assert!(cache.get("h", Utc::now()).is_some());
        cache.forget(token);
        assert!(cache.get("h", Utc::now()).is_none());
    }

    #[test]
    fn an_expired_token_is_never_served_from_the_cache() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let expires = Utc::now() + chrono::Duration::seconds(1);
        cache.insert("h".into(), actor(TokenId::new()), Some(expires));
        assert!(cache.get("h", expires - chrono::Duration::milliseconds(1)).is_some());
        assert!(cache.get("h", expires).is_none());
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = TokenCache::new(Duration::ZERO);
        cache.insert("h".into(), actor(TokenId::new()), None);
        assert!(cache.get("h", Utc::now()).is_none());
    }
}
