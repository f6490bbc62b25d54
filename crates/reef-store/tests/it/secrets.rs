//! Secrets: metadata, sealed versions, optimistic concurrency, listing, uses, deletion and
//! isolation between organizations.

use chrono::Duration;
use reef_core::secret::SecretMeta;
use reef_core::{OrgId, PageRequest, SecretId, SecretName, SecretType};
use reef_store::secrets::{SecretDeletion, SecretFilter, SecretRef};
use reef_store::{Store, StoreError};

use crate::support::{all_pages, open, org, seal, secret, secret_meta, store_test, user, values};

fn by_name(s: &str) -> SecretRef {
    SecretRef::Name(SecretName::parse(s).expect("a valid secret name"))
}

/// Every secret of `org` that `filter` selects, walking pages of `limit`.
async fn list(store: &Store, org: OrgId, filter: SecretFilter, limit: u32) -> Vec<SecretMeta> {
    all_pages(limit, |page| {
        let (store, filter) = (store.clone(), filter.clone());
        async move { store.secrets(org, &filter, &page).await }
    })
    .await
    .0
}

fn names(secrets: &[SecretMeta]) -> Vec<&str> {
    secrets.iter().map(|s| s.name.as_str()).collect()
}

fn tagged(tag: &str) -> SecretFilter {
    SecretFilter { secret_type: None, tag: Some(tag.to_owned()) }
}

/// Stores a version 2 of `meta` with new values, as reef-app's update does.
async fn new_version(store: &Store, meta: &SecretMeta, fields: &[(&str, &str)]) -> SecretMeta {
    let fields = values(fields);
    let mut updated = meta.clone();
    updated.version = meta.version + 1;
    updated.fields = fields.keys().cloned().collect();
    updated.updated_at = meta.updated_at + Duration::seconds(1);
    let sealed = seal(meta.org_id, meta.id, updated.version, &fields);
    assert!(store.update_secret(&updated, meta.version, Some(&sealed), meta.created_by).await.expect("updating"));
    updated
}

store_test! {
    async fn a_stored_secret_is_found_by_id_and_by_name(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let meta = secret(&store, acme.id, alice.id, "aws.prod-1", SecretType::Amazon, &["prod", "team=a/b:c"],
            &[("access_key_id", "AKIAEXAMPLE"), ("secret_access_key", "wJalrXUtnFEMI")]).await;
        assert_eq!(store.secret(acme.id, &SecretRef::Id(meta.id)).await.expect("by id"), Some(meta.clone()));
        assert_eq!(store.secret(acme.id, &by_name("aws.prod-1")).await.expect("by name"), Some(meta.clone()));
        assert_eq!(meta.fields, ["access_key_id", "secret_access_key"]);
        assert_eq!(meta.tags, ["prod", "team=a/b:c"]);
        assert_eq!(store.secret(acme.id, &SecretRef::Id(SecretId::new())).await.expect("by id"), None);
        assert_eq!(store.secret(acme.id, &by_name("aws.prod-2")).await.expect("by name"), None);
        let versions = store.secret_versions(meta.id).await.expect("versions");
        assert_eq!(versions.len(), 1);
        assert_eq!((versions[0].version, versions[0].created_by, versions[0].created_at), (1, alice.id, meta.updated_at));
    }
}

store_test! {
    async fn sealed_values_round_trip_through_the_store(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let fields = values(&[("username", "admin"), ("password", "correct horse battery staple")]);
        let meta = secret_meta(acme.id, alice.id, "db", SecretType::Password, &[], &fields);
        let sealed = seal(acme.id, meta.id, 1, &fields);
        assert!(!sealed.contains("correct horse"));
        store.insert_secret(&meta, &sealed).await.expect("storing");

        let stored = store.secret_sealed(meta.id, 1).await.expect("reading").expect("version 1 exists");
        assert_eq!(stored, sealed);
        assert_eq!(open(acme.id, meta.id, 1, &stored), fields);
        // The sealed value is bound to its secret and version.
        let cipher = crate::support::cipher();
        assert!(cipher.open(&stored, &crate::support::context(acme.id, meta.id, 2)).is_err());
        assert!(cipher.open(&stored, &crate::support::context(acme.id, SecretId::new(), 1)).is_err());
        assert_eq!(store.secret_sealed(meta.id, 2).await.expect("reading"), None);
    }
}

store_test! {
    async fn an_update_with_new_values_adds_version_2_and_keeps_version_1(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let acme = org(&store, "acme", &alice).await;
        let v1 = secret(&store, acme.id, alice.id, "api", SecretType::Generic, &["old"], &[("token", "one")]).await;

        let fields = values(&[("token", "two"), ("extra", "2")]);
        let mut v2 = v1.clone();
        v2.version = 2;
        v2.tags = vec!["new".to_owned()];
        v2.fields = fields.keys().cloned().collect();
        v2.updated_at = v1.updated_at + Duration::minutes(1);
        let sealed = seal(acme.id, v1.id, 2, &fields);
        assert!(store.update_secret(&v2, 1, Some(&sealed), bob.id).await.expect("updating"));

        let read = store.secret(acme.id, &SecretRef::Id(v1.id)).await.expect("reading").expect("exists");
        assert_eq!(read, v2);
        assert_eq!((read.created_by, read.created_at), (alice.id, v1.created_at), "creation is kept");
        let one = store.secret_sealed(v1.id, 1).await.expect("reading").expect("version 1 is kept");
        let two = store.secret_sealed(v1.id, 2).await.expect("reading").expect("version 2 exists");
        assert_eq!(open(acme.id, v1.id, 1, &one), values(&[("token", "one")]));
        assert_eq!(open(acme.id, v1.id, 2, &two), fields);

        let versions = store.secret_versions(v1.id).await.expect("versions");
        let listed: Vec<_> = versions.iter().map(|v| (v.version, v.created_by, v.created_at)).collect();
        assert_eq!(listed, [(2, bob.id, v2.updated_at), (1, alice.id, v1.updated_at)], "newest first");

        let v3 = new_version(&store, &v2, &[("token", "three")]).await;
        let versions: Vec<u32> = store.secret_versions(v1.id).await.expect("versions").iter().map(|v| v.version).collect();
        assert_eq!(versions, [3, 2, 1]);
        assert_eq!(store.secret(acme.id, &SecretRef::Id(v1.id)).await.expect("reading"), Some(v3));
    }
}

store_test! {
    async fn an_update_of_tags_alone_adds_no_version(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let v1 = secret(&store, acme.id, alice.id, "api", SecretType::Generic, &["old"], &[("token", "one")]).await;
        let mut retagged = v1.clone();
        retagged.tags = vec!["a".to_owned(), "b".to_owned()];
        retagged.updated_at = v1.updated_at + Duration::seconds(5);
        assert!(store.update_secret(&retagged, 1, None, alice.id).await.expect("updating"));
        assert_eq!(store.secret(acme.id, &SecretRef::Id(v1.id)).await.expect("reading"), Some(retagged));
        assert_eq!(store.secret_versions(v1.id).await.expect("versions").len(), 1);
        let one = store.secret_sealed(v1.id, 1).await.expect("reading").expect("version 1 exists");
        assert_eq!(open(acme.id, v1.id, 1, &one), values(&[("token", "one")]));
    }
}

store_test! {
    async fn an_update_from_a_stale_version_changes_nothing(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let v1 = secret(&store, acme.id, alice.id, "api", SecretType::Generic, &["old"], &[("token", "one")]).await;
        let v2 = new_version(&store, &v1, &[("token", "two")]).await;

        // A writer who read version 1 and missed the update above.
        let fields = values(&[("token", "lost")]);
        let mut stale = v1.clone();
        stale.version = 2;
        stale.tags = vec!["stale".to_owned()];
        stale.updated_at = v2.updated_at + Duration::minutes(1);
        let sealed = seal(acme.id, v1.id, 2, &fields);
        assert!(!store.update_secret(&stale, 1, Some(&sealed), alice.id).await.expect("a stale update is no error"));
        let mut stale_tags = v1.clone();
        stale_tags.tags = vec!["stale".to_owned()];
        assert!(!store.update_secret(&stale_tags, 1, None, alice.id).await.expect("a stale update is no error"));

        assert_eq!(store.secret(acme.id, &SecretRef::Id(v1.id)).await.expect("reading"), Some(v2.clone()));
        let two = store.secret_sealed(v1.id, 2).await.expect("reading").expect("version 2 exists");
        assert_eq!(open(acme.id, v1.id, 2, &two), values(&[("token", "two")]));
        assert_eq!(store.secret_sealed(v1.id, 3).await.expect("reading"), None);
        assert_eq!(store.secret_versions(v1.id).await.expect("versions").len(), 2);
    }
}

store_test! {
    async fn a_taken_name_is_refused_in_the_same_org_but_free_in_another(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let other = org(&store, "other", &alice).await;
        let first = secret(&store, acme.id, alice.id, "db", SecretType::Generic, &[], &[("a", "1")]).await;

        let fields = values(&[("b", "2")]);
        let twin = secret_meta(acme.id, alice.id, "db", SecretType::Password, &[], &fields);
        let refused = store.insert_secret(&twin, &seal(acme.id, twin.id, 1, &fields)).await;
        assert!(matches!(refused, Err(StoreError::Duplicate)), "{refused:?}");
        // The secret and its first version are written together: nothing of the twin remains.
        assert_eq!(store.secret_sealed(twin.id, 1).await.expect("reading"), None);
        assert!(store.secret_versions(twin.id).await.expect("versions").is_empty());
        assert_eq!(store.secret(acme.id, &by_name("db")).await.expect("reading"), Some(first));

        let elsewhere = secret(&store, other.id, alice.id, "db", SecretType::Generic, &[], &[("c", "3")]).await;
        assert_eq!(store.secret(other.id, &by_name("db")).await.expect("reading"), Some(elsewhere));
    }
}

store_test! {
    async fn secrets_are_filtered_by_type(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        secret(&store, acme.id, alice.id, "pw-1", SecretType::Password, &["x"], &[("a", "1")]).await;
        secret(&store, acme.id, alice.id, "gen-1", SecretType::Generic, &["x"], &[("a", "1")]).await;
        secret(&store, acme.id, alice.id, "pw-2", SecretType::Password, &[], &[("a", "1")]).await;
        let filter = |t| SecretFilter { secret_type: Some(t), tag: None };
        assert_eq!(names(&list(&store, acme.id, filter(SecretType::Password), 50).await), ["pw-1", "pw-2"]);
        assert_eq!(names(&list(&store, acme.id, filter(SecretType::Generic), 50).await), ["gen-1"]);
        assert!(list(&store, acme.id, filter(SecretType::Amazon), 50).await.is_empty());
        let both = SecretFilter { secret_type: Some(SecretType::Password), tag: Some("x".to_owned()) };
        assert_eq!(names(&list(&store, acme.id, both, 50).await), ["pw-1"]);
        assert_eq!(names(&list(&store, acme.id, SecretFilter::default(), 50).await), ["pw-1", "gen-1", "pw-2"]);
    }
}

store_test! {
    async fn the_tag_filter_matches_whole_tags_exactly(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let g = SecretType::Generic;
        secret(&store, acme.id, alice.id, "underscore", g, &["a_b"], &[("v", "1")]).await;
        secret(&store, acme.id, alice.id, "letter", g, &["axb"], &[("v", "1")]).await;
        secret(&store, acme.id, alice.id, "prefix", g, &["prod-eu", "a_bc"], &[("v", "1")]).await;
        secret(&store, acme.id, alice.id, "several", g, &["env", "prod", "team=a/b:c"], &[("v", "1")]).await;
        secret(&store, acme.id, alice.id, "upper", g, &["Env", "PROD"], &[("v", "1")]).await;
        secret(&store, acme.id, alice.id, "untagged", g, &[], &[("v", "1")]).await;

        let cases: &[(&str, &[&str])] = &[
            ("a_b", &["underscore"]),
            ("axb", &["letter"]),
            ("prod", &["several"]),
            ("prod-eu", &["prefix"]),
            ("team=a/b:c", &["several"]),
            ("env", &["several"]),
            ("Env", &["upper"]),
            ("PROD", &["upper"]),
            // Not tags of anything: LIKE wildcards, parts of tags, and text spanning two tags.
            ("a%b", &[]),
            ("a_", &[]),
            ("%", &[]),
            ("_", &[]),
            ("a", &[]),
            ("pro", &[]),
            ("env\",\"prod", &[]),
            ("\\", &[]),
            ("", &[]),
        ];
        for (tag, expected) in cases {
            assert_eq!(names(&list(&store, acme.id, tagged(tag), 50).await), *expected, "tag {tag:?}");
        }
    }
}

store_test! {
    async fn listing_secrets_pages_through_each_exactly_once_in_id_order(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let other = org(&store, "other", &alice).await;
        let mut all = Vec::new();
        let mut blue = Vec::new();
        for i in 0..7 {
            let tags: &[&str] = if i % 2 == 0 { &["blue"] } else { &["red"] };
            let s = secret(&store, acme.id, alice.id, &format!("s-{i}"), SecretType::Generic, tags, &[("v", "1")]).await;
            secret(&store, other.id, alice.id, &format!("s-{i}"), SecretType::Generic, tags, &[("v", "1")]).await;
            if i % 2 == 0 {
                blue.push(s.clone());
            }
            all.push(s);
        }
        let (listed, pages) = all_pages(2, |page| {
            let store = store.clone();
            async move { store.secrets(acme.id, &SecretFilter::default(), &page).await }
        })
        .await;
        assert_eq!(pages, 4);
        assert_eq!(listed, all);
        let (listed, pages) = all_pages(3, |page| {
            let store = store.clone();
            async move { store.secrets(acme.id, &tagged("blue"), &page).await }
        })
        .await;
        assert_eq!(pages, 2);
        assert_eq!(listed, blue);
        let typed = SecretFilter { secret_type: Some(SecretType::Generic), tag: Some("red".to_owned()) };
        assert_eq!(names(&list(&store, acme.id, typed, 1).await), ["s-1", "s-3", "s-5"]);
        let first = store.secrets(acme.id, &SecretFilter::default(), &PageRequest::first()).await.expect("listing");
        assert_eq!((first.items.len(), first.next), (7, None));
    }
}

store_test! {
    async fn a_secret_in_use_is_not_deleted_until_every_use_is_removed(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        let s = secret(&store, acme.id, alice.id, "kube", SecretType::Generic, &[], &[("v", "1")]).await;
        new_version(&store, &s, &[("v", "2")]).await;
        store.add_secret_use(s.id, "deployment/9").await.expect("using");
        store.add_secret_use(s.id, "cluster/1").await.expect("using");

        let blocked = store.delete_secret(acme.id, s.id).await.expect("deleting");
        assert_eq!(blocked, SecretDeletion::InUse(vec!["cluster/1".to_owned(), "deployment/9".to_owned()]));
        assert!(store.secret(acme.id, &SecretRef::Id(s.id)).await.expect("reading").is_some());
        assert!(store.secret_sealed(s.id, 1).await.expect("reading").is_some());

        store.remove_secret_use(s.id, "cluster/1").await.expect("releasing");
        store.remove_secret_use(s.id, "never/used").await.expect("releasing what was never used");
        let blocked = store.delete_secret(acme.id, s.id).await.expect("deleting");
        assert_eq!(blocked, SecretDeletion::InUse(vec!["deployment/9".to_owned()]));

        store.remove_secret_use(s.id, "deployment/9").await.expect("releasing");
        assert_eq!(store.delete_secret(acme.id, s.id).await.expect("deleting"), SecretDeletion::Deleted);
        assert_eq!(store.secret(acme.id, &SecretRef::Id(s.id)).await.expect("reading"), None);
        assert_eq!(store.secret(acme.id, &by_name("kube")).await.expect("reading"), None);
        assert_eq!(store.secret_sealed(s.id, 1).await.expect("reading"), None);
        assert_eq!(store.secret_sealed(s.id, 2).await.expect("reading"), None);
        assert!(store.secret_versions(s.id).await.expect("versions").is_empty());
        // The name can be used again.
        secret(&store, acme.id, alice.id, "kube", SecretType::Generic, &[], &[("v", "3")]).await;
    }
}

store_test! {
    async fn deleting_a_missing_secret_reports_not_found(store: Store) {
        let alice = user(&store, "alice").await;
        let acme = org(&store, "acme", &alice).await;
        assert_eq!(store.delete_secret(acme.id, SecretId::new()).await.expect("deleting"), SecretDeletion::NotFound);
        let s = secret(&store, acme.id, alice.id, "once", SecretType::Generic, &[], &[("v", "1")]).await;
        assert_eq!(store.delete_secret(acme.id, s.id).await.expect("deleting"), SecretDeletion::Deleted);
        assert_eq!(store.delete_secret(acme.id, s.id).await.expect("deleting again"), SecretDeletion::NotFound);
    }
}

store_test! {
    async fn secrets_of_one_org_are_never_reached_through_another(store: Store) {
        let alice = user(&store, "alice").await;
        let a = org(&store, "org-a", &alice).await;
        let b = org(&store, "org-b", &alice).await;
        let only_a = secret(&store, a.id, alice.id, "only-in-a", SecretType::Generic, &["shared-tag"], &[("v", "1")]).await;
        let used = secret(&store, a.id, alice.id, "used-in-a", SecretType::Generic, &["shared-tag"], &[("v", "1")]).await;
        store.add_secret_use(used.id, "cluster/1").await.expect("using");
        let in_b = secret(&store, b.id, alice.id, "in-b", SecretType::Generic, &["shared-tag"], &[("v", "1")]).await;

        for s in [&only_a, &used] {
            assert_eq!(store.secret(b.id, &SecretRef::Id(s.id)).await.expect("by id"), None);
            assert_eq!(store.secret(b.id, &SecretRef::Name(s.name.clone())).await.expect("by name"), None);
        }
        for filter in [SecretFilter::default(), tagged("shared-tag"), SecretFilter { secret_type: Some(SecretType::Generic), tag: None }] {
            assert_eq!(list(&store, b.id, filter, 1).await, std::slice::from_ref(&in_b));
        }

        // Writing to org A's secrets through org B changes and reveals nothing.
        let mut hijack = only_a.clone();
        hijack.org_id = b.id;
        hijack.version = 2;
        hijack.tags = vec!["hijacked".to_owned()];
        let sealed = seal(b.id, only_a.id, 2, &values(&[("v", "evil")]));
        assert!(!store.update_secret(&hijack, 1, Some(&sealed), alice.id).await.expect("updating"));
        assert_eq!(store.secret_sealed(only_a.id, 2).await.expect("reading"), None);
        assert_eq!(store.delete_secret(b.id, only_a.id).await.expect("deleting"), SecretDeletion::NotFound);
        assert_eq!(store.delete_secret(b.id, used.id).await.expect("deleting"), SecretDeletion::NotFound);
        assert_eq!(store.secret(a.id, &SecretRef::Id(only_a.id)).await.expect("reading"), Some(only_a));
        assert_eq!(store.secret(a.id, &SecretRef::Id(used.id)).await.expect("reading"), Some(used));
    }
}
