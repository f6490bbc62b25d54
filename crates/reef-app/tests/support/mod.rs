//! What the workflow tests of this crate share: a store with an owner and their organization,
//! and engine options that retry quickly.

use std::time::Duration;

use chrono::Utc;
use reef_core::{OrgId, OrgName, User, UserId, UserName};
use reef_store::Store;
use reef_store::users::NewUser;
use reef_workflow::{Backoff, EngineOptions};

/// Creates the user `owner` and the organization `acme` they own.
pub async fn owner_and_org(store: &Store) -> (User, OrgId) {
    let new = NewUser {
        id: UserId::new(),
        username: UserName::parse("owner").unwrap(),
        password_hash: None,
        server_admin: false,
        created_at: Utc::now(),
    };
    let user = store.create_user(&new).await.unwrap();
    let org = OrgId::new();
    store.create_org(org, &OrgName::parse("acme").unwrap(), user.id, Utc::now()).await.unwrap();
    (user, org)
}

/// An engine that polls, heartbeats and retries fast, a retried step trying `attempts` times.
pub fn engine_options(attempts: u32) -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(10),
        heartbeat: Duration::from_secs(1),
        poll: Duration::from_millis(20),
        retry: Backoff { first: Duration::from_millis(20), max: Duration::from_millis(200), attempts },
        hold_after: None,
    }
}
