//! The audit log: recorded, listed newest first, filtered, paged, and kept per organization.

use reef_core::audit::{AuditEvent, AuditFilter, Outcome};
use reef_core::{OrgId, PageRequest};
use reef_store::Store;

use crate::support::{all_pages, at, event, store_test};

/// Records `events` in order (so ids, and the listing order, follow it).
async fn record(store: &Store, events: &[AuditEvent]) {
    for e in events {
        store.record_audit(e).await.expect("recording an audit event");
    }
}

/// Every event of `org` that `filter` selects, newest first.
async fn listed(store: &Store, org: OrgId, filter: AuditFilter) -> Vec<AuditEvent> {
    all_pages(50, |page| {
        let (store, filter) = (store.clone(), filter.clone());
        async move { store.audit_events(org, &filter, &page).await }
    })
    .await
    .0
}

/// The events of `all` at the given indices, newest first.
fn newest_first(all: &[AuditEvent], indices: &[usize]) -> Vec<AuditEvent> {
    indices.iter().rev().map(|&i| all[i].clone()).collect()
}

/// A varied log of one org: every operation, actor, outcome and kind occurs more than once.
fn sample(org: OrgId) -> Vec<AuditEvent> {
    vec![
        event(Some(org), "alice", at(0), "secret.create", "secret", Outcome::Success),
        event(Some(org), "bob", at(1), "secret.read", "secret", Outcome::Denied),
        event(Some(org), "alice", at(2), "member.add", "member", Outcome::Success),
        event(Some(org), "carol", at(3), "secret.create", "secret", Outcome::Failure),
        event(Some(org), "bob", at(4), "member.remove", "member", Outcome::Denied),
        event(Some(org), "alice", at(5), "secret.read", "secret", Outcome::Success),
    ]
}

store_test! {
    async fn recorded_events_are_listed_newest_first_with_every_field(store: Store) {
        let org = OrgId::new();
        let mut events = sample(org);
        // reef itself acts with no user, and an event may carry no error code.
        events[2].actor_id = None;
        events[2].actor_name = "reef".to_owned();
        events[3].error_code = Some("version_mismatch".to_owned());
        events[3].target = "0190a4c4-7f7c-7000-8000-000000000000".to_owned();
        record(&store, &events).await;
        let all = listed(&store, org, AuditFilter::default()).await;
        assert_eq!(all, newest_first(&events, &[0, 1, 2, 3, 4, 5]));
        assert_eq!(all[3].actor_id, None);
        assert_eq!(all[2].error_code.as_deref(), Some("version_mismatch"));
        assert_eq!(all[5].error_code, None);
    }
}

store_test! {
    async fn events_are_filtered_by_operation(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let only = |op: &str| AuditFilter { operation: Some(op.to_owned()), ..AuditFilter::default() };
        assert_eq!(listed(&store, org, only("secret.create")).await, newest_first(&events, &[0, 3]));
        assert_eq!(listed(&store, org, only("member.remove")).await, newest_first(&events, &[4]));
        assert!(listed(&store, org, only("secret")).await.is_empty(), "operations match exactly");
        assert!(listed(&store, org, only("secret.%")).await.is_empty(), "operations match exactly");
    }
}

store_test! {
    async fn events_are_filtered_by_actor(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let only = |actor: &str| AuditFilter { actor: Some(actor.to_owned()), ..AuditFilter::default() };
        assert_eq!(listed(&store, org, only("alice")).await, newest_first(&events, &[0, 2, 5]));
        assert_eq!(listed(&store, org, only("bob")).await, newest_first(&events, &[1, 4]));
        assert!(listed(&store, org, only("mallory")).await.is_empty());
        assert!(listed(&store, org, only("Alice")).await.is_empty(), "names match exactly");
    }
}

store_test! {
    async fn events_are_filtered_by_outcome(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let only = |outcome| AuditFilter { outcome: Some(outcome), ..AuditFilter::default() };
        assert_eq!(listed(&store, org, only(Outcome::Success)).await, newest_first(&events, &[0, 2, 5]));
        assert_eq!(listed(&store, org, only(Outcome::Denied)).await, newest_first(&events, &[1, 4]));
        assert_eq!(listed(&store, org, only(Outcome::Failure)).await, newest_first(&events, &[3]));
    }
}

store_test! {
    async fn events_are_filtered_by_target_kind(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let only = |kind: &str| AuditFilter { target_kind: Some(kind.to_owned()), ..AuditFilter::default() };
        assert_eq!(listed(&store, org, only("secret")).await, newest_first(&events, &[0, 1, 3, 5]));
        assert_eq!(listed(&store, org, only("member")).await, newest_first(&events, &[2, 4]));
        assert!(listed(&store, org, only("cluster")).await.is_empty());
    }
}

store_test! {
    async fn events_are_filtered_by_a_time_window_that_includes_its_start_and_excludes_its_end(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let window = |since, until| AuditFilter { since, until, ..AuditFilter::default() };
        assert_eq!(listed(&store, org, window(Some(at(2)), None)).await, newest_first(&events, &[2, 3, 4, 5]));
        assert_eq!(listed(&store, org, window(None, Some(at(2)))).await, newest_first(&events, &[0, 1]));
        assert_eq!(listed(&store, org, window(Some(at(1)), Some(at(4)))).await, newest_first(&events, &[1, 2, 3]));
        assert!(listed(&store, org, window(Some(at(3)), Some(at(3)))).await.is_empty());
        assert!(listed(&store, org, window(Some(at(6)), None)).await.is_empty());
    }
}

store_test! {
    async fn filters_combine(store: Store) {
        let org = OrgId::new();
        let events = sample(org);
        record(&store, &events).await;
        let filter = AuditFilter {
            operation: Some("secret.read".to_owned()),
            actor: Some("alice".to_owned()),
            outcome: Some(Outcome::Success),
            target_kind: Some("secret".to_owned()),
            since: Some(at(1)),
            until: Some(at(6)),
        };
        assert_eq!(listed(&store, org, filter.clone()).await, newest_first(&events, &[5]));
        let narrower = AuditFilter { until: Some(at(5)), ..filter };
        assert!(listed(&store, org, narrower).await.is_empty());
    }
}

store_test! {
    async fn events_are_paged_newest_first_each_exactly_once(store: Store) {
        let org = OrgId::new();
        let mut events = sample(org);
        events.extend(sample(org));
        for (i, e) in events.iter_mut().enumerate() {
            e.at = at(i as i64);
        }
        record(&store, &events).await;
        let all: Vec<usize> = (0..events.len()).collect();
        let (paged, pages) = all_pages(5, |page| {
            let store = store.clone();
            async move { store.audit_events(org, &AuditFilter::default(), &page).await }
        })
        .await;
        assert_eq!(pages, 3);
        assert_eq!(paged, newest_first(&events, &all));

        let secrets = AuditFilter { target_kind: Some("secret".to_owned()), since: Some(at(1)), ..AuditFilter::default() };
        let (paged, pages) = all_pages(3, |page| {
            let (store, filter) = (store.clone(), secrets.clone());
            async move { store.audit_events(org, &filter, &page).await }
        })
        .await;
        assert_eq!(pages, 3);
        assert_eq!(paged, newest_first(&events, &[1, 3, 5, 6, 7, 9, 11]));
        let first = store.audit_events(org, &AuditFilter::default(), &PageRequest::first()).await.expect("listing");
        assert_eq!((first.items.len(), first.next), (12, None));
    }
}

store_test! {
    async fn an_orgs_events_are_never_listed_for_another_org_and_server_events_for_none(store: Store) {
        let a = OrgId::new();
        let b = OrgId::new();
        let quiet = OrgId::new();
        let mut events = Vec::new();
        for i in 0..3 {
            events.push(event(Some(a), "alice", at(i), "secret.create", "secret", Outcome::Success));
            events.push(event(None, "admin", at(i), "user.create", "user", Outcome::Success));
            events.push(event(Some(b), "bob", at(i), "secret.create", "secret", Outcome::Success));
        }
        record(&store, &events).await;
        let of = |org| events.iter().rev().filter(|e| e.org_id == Some(org)).cloned().collect::<Vec<_>>();
        assert_eq!(listed(&store, a, AuditFilter::default()).await, of(a));
        assert_eq!(listed(&store, b, AuditFilter::default()).await, of(b));
        assert!(listed(&store, quiet, AuditFilter::default()).await.is_empty());
        let server = AuditFilter { operation: Some("user.create".to_owned()), ..AuditFilter::default() };
        for org in [a, b, quiet] {
            assert!(listed(&store, org, server.clone()).await.is_empty(), "server events listed for an org");
        }
        let admin = AuditFilter { actor: Some("admin".to_owned()), ..AuditFilter::default() };
        assert!(listed(&store, a, admin).await.is_empty());
        // A cursor from org A's listing does not open org B's log to it.
        let page = store
            .audit_events(a, &AuditFilter::default(), &PageRequest::new(Some(1), None).expect("a page size"))
            .await
            .expect("listing");
        let resumed = store
            .audit_events(b, &AuditFilter::default(), &PageRequest::new(Some(10), page.next).expect("a page size"))
            .await
            .expect("listing");
        assert!(resumed.items.iter().all(|e| e.org_id == Some(b)));
    }
}
