//! User accounts.

use reef_core::{UserId, UserName};
use reef_store::users::NewUser;
use reef_store::{Store, StoreError};

use crate::support::{now, store_test, user};

fn name(s: &str) -> UserName {
    UserName::parse(s).expect("a valid user name")
}

store_test! {
    async fn a_created_user_is_found_by_id_and_by_name(store: Store) {
        let new = NewUser {
            id: UserId::new(),
            username: name("alice@example.org"),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            server_admin: true,
            created_at: now(),
        };
        let created = store.create_user(&new).await.expect("creating a user");
        assert_eq!(created.id, new.id);
        assert_eq!(created.username, new.username);
        assert!(created.server_admin);
        assert!(created.has_password);
        assert_eq!(created.created_at, new.created_at);

        assert_eq!(store.user_by_id(new.id).await.expect("by id"), Some(created.clone()));
        assert_eq!(store.user_by_name(&new.username).await.expect("by name"), Some(created.clone()));
        assert_eq!(store.count_users().await.expect("counting"), 1);
    }
}

store_test! {
    async fn a_second_user_with_a_taken_name_is_refused_as_a_duplicate(store: Store) {
        let alice = user(&store, "alice").await;
        let again = NewUser {
            id: UserId::new(),
            username: name("alice"),
            password_hash: None,
            server_admin: true,
            created_at: now(),
        };
        assert!(matches!(store.create_user(&again).await, Err(StoreError::Duplicate)));
        assert_eq!(store.count_users().await.expect("counting"), 1);
        assert_eq!(store.user_by_id(again.id).await.expect("by id"), None);
        assert_eq!(store.user_by_name(&name("alice")).await.expect("by name"), Some(alice));
        // Names are compared exactly: another spelling is another user.
        user(&store, "alice2").await;
        assert_eq!(store.count_users().await.expect("counting"), 2);
    }
}

store_test! {
    async fn looking_up_a_missing_user_finds_nothing(store: Store) {
        user(&store, "alice").await;
        assert_eq!(store.user_by_id(UserId::new()).await.expect("by id"), None);
        assert_eq!(store.user_by_name(&name("bob")).await.expect("by name"), None);
        assert!(store.user_credentials(&name("bob")).await.expect("credentials").is_none());
    }
}

store_test! {
    async fn credentials_carry_the_stored_password_hash(store: Store) {
        let alice = user(&store, "alice").await;
        let (found, hash) = store.user_credentials(&name("alice")).await.expect("credentials").expect("alice exists");
        assert_eq!(found, alice);
        assert_eq!(hash.as_deref(), Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$alice"));

        let sso = NewUser {
            id: UserId::new(),
            username: name("sso-only"),
            password_hash: None,
            server_admin: false,
            created_at: now(),
        };
        store.create_user(&sso).await.expect("creating a user without a password");
        let (found, hash) = store.user_credentials(&sso.username).await.expect("credentials").expect("exists");
        assert!(!found.has_password);
        assert!(!found.server_admin);
        assert_eq!(hash, None);
    }
}

store_test! {
    async fn setting_a_password_hash_replaces_only_that_users_hash(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        store.set_password_hash(alice.id, "$argon2id$new").await.expect("setting a hash");
        let (found, hash) = store.user_credentials(&alice.username).await.expect("credentials").expect("exists");
        assert_eq!(hash.as_deref(), Some("$argon2id$new"));
        assert!(found.has_password);
        let (_, bobs) = store.user_credentials(&bob.username).await.expect("credentials").expect("exists");
        assert_eq!(bobs.as_deref(), Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$bob"));

        let sso = NewUser {
            id: UserId::new(),
            username: name("carol"),
            password_hash: None,
            server_admin: false,
            created_at: now(),
        };
        store.create_user(&sso).await.expect("creating a user without a password");
        store.set_password_hash(sso.id, "$argon2id$first").await.expect("setting a first hash");
        assert!(store.user_by_id(sso.id).await.expect("by id").expect("exists").has_password);
    }
}
