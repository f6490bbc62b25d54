//! Users linked to OpenID Connect identities, and logins under way: used once, never late.

use chrono::Duration;
use reef_core::{UserId, UserName};
use reef_store::sso::SsoLogin;
use reef_store::users::NewUser;
use reef_store::{Store, StoreError};

use crate::support::{now, store_test};

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        username: UserName::parse(name).unwrap(),
        password_hash: None,
        server_admin: false,
        created_at: now(),
    }
}

store_test! {
    async fn a_user_is_found_by_their_identity_which_links_to_one_user_only(store: Store) {
        let alice = store.create_user_with_identity(&new_user("alice"), "https://idp", "sub-1").await.unwrap();
        assert_eq!(store.user_by_identity("https://idp", "sub-1").await.unwrap(), Some(alice.clone()));
        assert_eq!(store.user_by_identity("https://other", "sub-1").await.unwrap(), None);
        assert!(store.user_has_identity(alice.id, "https://idp").await.unwrap());
        assert!(!store.user_has_identity(alice.id, "https://other").await.unwrap());
        // The same identity again, or a taken name: refused, and nothing half-made.
        let twice = store.create_user_with_identity(&new_user("alice2"), "https://idp", "sub-1").await;
        assert!(matches!(twice, Err(StoreError::Duplicate)));
        assert_eq!(store.user_by_name(&UserName::parse("alice2").unwrap()).await.unwrap(), None);
        let taken = store.create_user_with_identity(&new_user("alice"), "https://idp", "sub-2").await;
        assert!(matches!(taken, Err(StoreError::Duplicate)));
        assert_eq!(store.user_by_identity("https://idp", "sub-2").await.unwrap(), None);
    }
}

store_test! {
    async fn a_login_under_way_is_taken_once_and_not_after_it_expired(store: Store) {
        let login = |state: &str, expires| SsoLogin {
            state: state.to_owned(),
            sealed_verifier: "v1.k.sealed".to_owned(),
            nonce: "n".to_owned(),
            redirect_uri: "http://127.0.0.1:1/callback".to_owned(),
            expires_at: expires,
        };
        let t = now();
        store.insert_sso_login(&login("s1", t + Duration::minutes(10))).await.unwrap();
        store.insert_sso_login(&login("s2", t + Duration::minutes(1))).await.unwrap();
        store.insert_sso_login(&login("s3", t + Duration::minutes(1))).await.unwrap();
        let taken = store.take_sso_login("s1", t).await.unwrap().unwrap();
        assert_eq!(taken, login("s1", taken.expires_at));
        assert_eq!(store.take_sso_login("s1", t).await.unwrap(), None);
        assert_eq!(store.take_sso_login("s2", t + Duration::minutes(2)).await.unwrap(), None);
        assert_eq!(store.take_sso_login("unknown", t).await.unwrap(), None);
        assert_eq!(store.purge_expired_sso_logins(t + Duration::minutes(2)).await.unwrap(), 1);
    }
}
