//! Organizations and who belongs to them.

use reef_core::{OrgId, OrgName, OrgRef, Role, SecretType};
use reef_store::{Store, StoreError};

use crate::support::{TestDb, all_pages, now, org, secret, store_test, user};

fn name(s: &str) -> OrgName {
    OrgName::parse(s).expect("a valid org name")
}

store_test! {
    async fn creating_an_org_makes_its_creator_the_owner(store: Store) {
        let alice = user(&store, "alice").await;
        let id = OrgId::new();
        let t = now();
        let created = store.create_org(id, &name("acme"), alice.id, t).await.expect("creating an org");
        assert_eq!((created.id, created.name.as_str(), created.created_at), (id, "acme", t));

        let by_id = store.org_membership(&OrgRef::Id(id), alice.id).await.expect("by id");
        assert_eq!(by_id, Some((created.clone(), Role::Owner)));
        let by_name = store.org_membership(&OrgRef::Name(name("acme")), alice.id).await.expect("by name");
        assert_eq!(by_name, Some((created.clone(), Role::Owner)));

        let member = store.member(id, alice.id).await.expect("member").expect("the creator is a member");
        assert_eq!((member.role, &member.username, member.joined_at), (Role::Owner, &alice.username, t));
        let members = store.members(id, &reef_core::PageRequest::first()).await.expect("members");
        assert_eq!(members.items, vec![member]);
        assert_eq!(members.next, None);
    }
}

store_test! {
    async fn a_second_org_with_a_taken_name_is_refused_and_leaves_nothing_behind(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let acme = org(&store, "acme", &alice).await;
        let refused = store.create_org(OrgId::new(), &name("acme"), bob.id, now()).await;
        assert!(matches!(refused, Err(StoreError::Duplicate)), "{refused:?}");
        // Creating the org and its owner's membership is one transaction.
        let bobs = store.orgs_of_user(bob.id, &reef_core::PageRequest::first()).await.expect("bob's orgs");
        assert!(bobs.items.is_empty(), "a refused org left a membership: {bobs:?}");
        assert_eq!(store.org_membership(&OrgRef::Name(name("acme")), bob.id).await.expect("lookup"), None);
        assert_eq!(
            store.org_membership(&OrgRef::Name(name("acme")), alice.id).await.expect("lookup"),
            Some((acme, Role::Owner))
        );
    }
}

store_test! {
    async fn org_membership_is_none_for_a_non_member_and_for_a_missing_org(store: Store) {
        let alice = user(&store, "alice").await;
        let mallory = user(&store, "mallory").await;
        let acme = org(&store, "acme", &alice).await;
        for which in [OrgRef::Id(acme.id), OrgRef::Name(name("acme"))] {
            assert_eq!(store.org_membership(&which, mallory.id).await.expect("lookup"), None, "{which:?}");
        }
        for which in [OrgRef::Id(OrgId::new()), OrgRef::Name(name("no-such-org"))] {
            assert_eq!(store.org_membership(&which, alice.id).await.expect("lookup"), None, "{which:?}");
        }
        assert_eq!(store.member(acme.id, mallory.id).await.expect("member"), None);
    }
}

store_test! {
    async fn orgs_of_a_user_are_paged_in_id_order_each_exactly_once(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let mut expected = Vec::new();
        for i in 0..5 {
            if i == 2 {
                // An org alice is not in, created in the middle.
                org(&store, "bobs-own", &bob).await;
            }
            let o = org(&store, &format!("org-{i}"), if i == 3 { &bob } else { &alice }).await;
            let role = if i == 3 {
                store.add_member(o.id, alice.id, Role::Viewer, now()).await.expect("adding alice");
                Role::Viewer
            } else {
                Role::Owner
            };
            expected.push((o, role));
        }
        expected.sort_by_key(|(o, _)| o.id);

        let (listed, pages) = all_pages(2, |page| {
            let store = store.clone();
            async move { store.orgs_of_user(alice.id, &page).await }
        })
        .await;
        assert_eq!(pages, 3);
        assert_eq!(listed, expected);

        let (everything, _) = all_pages(50, |page| {
            let store = store.clone();
            async move { store.orgs_of_user(alice.id, &page).await }
        })
        .await;
        assert_eq!(everything, expected);
        let (bobs, _) = all_pages(1, |page| {
            let store = store.clone();
            async move { store.orgs_of_user(bob.id, &page).await }
        })
        .await;
        assert_eq!(bobs.iter().map(|(o, _)| o.name.as_str()).collect::<Vec<_>>(), ["bobs-own", "org-3"]);
    }
}

store_test! {
    async fn deleting_an_org_removes_its_memberships_and_secrets(db: &TestDb) {
        let store = &db.store;
        let alice = user(store, "alice").await;
        let bob = user(store, "bob").await;
        let doomed = org(store, "doomed", &alice).await;
        let kept = org(store, "kept", &alice).await;
        store.add_member(doomed.id, bob.id, Role::Admin, now()).await.expect("adding bob");
        store.add_member(kept.id, bob.id, Role::Member, now()).await.expect("adding bob");
        let s = secret(store, doomed.id, alice.id, "db", SecretType::Password, &[], &[("username", "u"), ("password", "p")]).await;
        store.add_secret_use(s.id, "cluster/1").await.expect("using the secret");
        let k = secret(store, kept.id, alice.id, "db", SecretType::Password, &[], &[("username", "u"), ("password", "p")]).await;

        assert!(store.delete_org(doomed.id).await.expect("deleting"));

        let raw = db.raw().await;
        for (table, column, id) in [
            ("memberships", "org_id", doomed.id.to_string()),
            ("secrets", "org_id", doomed.id.to_string()),
            ("secret_versions", "secret_id", s.id.to_string()),
            ("secret_uses", "secret_id", s.id.to_string()),
        ] {
            let (n,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1")))
                    .bind(id)
                    .fetch_one(&raw)
                    .await
                    .expect("counting rows");
            assert_eq!(n, 0, "{table} still has rows of the deleted org");
        }
        raw.close().await;

        assert_eq!(store.org_membership(&OrgRef::Id(doomed.id), alice.id).await.expect("lookup"), None);
        assert_eq!(store.org_membership(&OrgRef::Name(name("doomed")), bob.id).await.expect("lookup"), None);
        assert_eq!(store.secret_sealed(s.id, 1).await.expect("sealed"), None);
        // Everything else stays.
        assert!(store.user_by_id(alice.id).await.expect("alice").is_some());
        assert_eq!(store.member(kept.id, bob.id).await.expect("member").map(|m| m.role), Some(Role::Member));
        assert!(store.secret(kept.id, &reef_store::secrets::SecretRef::Id(k.id)).await.expect("secret").is_some());
        assert!(store.secret_sealed(k.id, 1).await.expect("sealed").is_some());
        // The name is free again, and deleting twice deletes nothing.
        assert!(!store.delete_org(doomed.id).await.expect("deleting again"));
        org(store, "doomed", &bob).await;
    }
}
