//! API and session tokens, found by the hash of their secret.

use chrono::Duration;
use reef_core::{TokenId, TokenKind, UserId};
use reef_store::{Store, StoreError};

use crate::support::{all_pages, now, store_test, token, token_meta, user};

store_test! {
    async fn a_token_is_found_by_its_hash_together_with_its_user(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let expires = now() + Duration::days(30);
        let (meta, hash) = token(&store, alice.id, TokenKind::Api, Some(expires)).await;
        token(&store, bob.id, TokenKind::Api, None).await;

        let (found, owner) = store.token_by_hash(&hash).await.expect("lookup").expect("the token exists");
        assert_eq!(found, meta);
        assert_eq!(found.expires_at, Some(expires));
        assert!(found.is_active(now()));
        assert_eq!(owner, alice);

        assert!(store.token_by_hash("sha256:unknown").await.expect("lookup").is_none());
        assert!(store.token_by_hash(&hash.to_uppercase()).await.expect("lookup").is_none());
        assert_eq!(store.token_of_user(alice.id, meta.id).await.expect("lookup"), Some(meta.clone()));
        assert_eq!(store.token_of_user(bob.id, meta.id).await.expect("lookup"), None, "bob sees alice's token");
    }
}

store_test! {
    async fn a_second_token_with_the_same_hash_is_refused(store: Store) {
        let alice = user(&store, "alice").await;
        let (_, hash) = token(&store, alice.id, TokenKind::Session, None).await;
        let twin = token_meta(alice.id, TokenKind::Api, None);
        assert!(matches!(store.insert_token(&twin, &hash).await, Err(StoreError::Duplicate)));
        assert_eq!(store.token_of_user(alice.id, twin.id).await.expect("lookup"), None);
    }
}

store_test! {
    async fn touching_a_token_records_when_it_was_last_used(store: Store) {
        let alice = user(&store, "alice").await;
        let (meta, hash) = token(&store, alice.id, TokenKind::Session, Some(now() + Duration::hours(8))).await;
        let (other, _) = token(&store, alice.id, TokenKind::Session, None).await;
        assert_eq!(meta.last_used_at, None);
        let t = now() + Duration::minutes(5);
        store.touch_token(meta.id, t).await.expect("touching");
        let (found, _) = store.token_by_hash(&hash).await.expect("lookup").expect("exists");
        assert_eq!(found.last_used_at, Some(t));
        assert_eq!(found, reef_core::TokenMeta { last_used_at: Some(t), ..meta.clone() });
        let later = t + Duration::minutes(1);
        store.touch_token(meta.id, later).await.expect("touching again");
        let found = store.token_of_user(alice.id, meta.id).await.expect("lookup").expect("exists");
        assert_eq!(found.last_used_at, Some(later));
        let untouched = store.token_of_user(alice.id, other.id).await.expect("lookup").expect("exists");
        assert_eq!(untouched.last_used_at, None);
    }
}

store_test! {
    async fn tokens_are_listed_per_user_and_kind_in_pages(store: Store) {
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let mut api = Vec::new();
        let mut sessions = Vec::new();
        for i in 0..5 {
            api.push(token(&store, alice.id, TokenKind::Api, None).await.0);
            if i % 2 == 0 {
                sessions.push(token(&store, alice.id, TokenKind::Session, Some(now() + Duration::hours(1))).await.0);
            }
            token(&store, bob.id, TokenKind::Api, None).await;
        }
        let list = |user: UserId, kind: TokenKind, limit: u32| {
            let store = store.clone();
            async move {
                all_pages(limit, |page| {
                    let store = store.clone();
                    async move { store.tokens_of_user(user, kind, &page).await }
                })
                .await
            }
        };
        let (listed, pages) = list(alice.id, TokenKind::Api, 2).await;
        assert_eq!(pages, 3);
        assert_eq!(listed, api, "alice's API tokens, oldest first");
        let (listed, pages) = list(alice.id, TokenKind::Session, 2).await;
        assert_eq!(pages, 2);
        assert_eq!(listed, sessions);
        let (listed, _) = list(bob.id, TokenKind::Api, 10).await;
        assert_eq!(listed.len(), 5);
        assert!(listed.iter().all(|t| t.user_id == bob.id));
        let (listed, _) = list(bob.id, TokenKind::Session, 10).await;
        assert!(listed.is_empty());
    }
}

store_test! {
    async fn revoking_a_token_twice_keeps_the_first_revocation_time(store: Store) {
        let alice = user(&store, "alice").await;
        let (meta, hash) = token(&store, alice.id, TokenKind::Api, None).await;
        let (kept, _) = token(&store, alice.id, TokenKind::Api, None).await;
        let first = now() + Duration::seconds(1);
        assert!(store.revoke_token(alice.id, meta.id, first).await.expect("revoking"));
        let (found, _) = store.token_by_hash(&hash).await.expect("lookup").expect("a revoked token stays listed");
        assert_eq!(found.revoked_at, Some(first));
        assert!(!found.is_active(now()));

        assert!(store.revoke_token(alice.id, meta.id, first + Duration::hours(1)).await.expect("revoking again"));
        let found = store.token_of_user(alice.id, meta.id).await.expect("lookup").expect("exists");
        assert_eq!(found.revoked_at, Some(first));
        let kept = store.token_of_user(alice.id, kept.id).await.expect("lookup").expect("exists");
        assert_eq!(kept.revoked_at, None);
    }
}

store_test! {
    async fn a_user_cannot_revoke_another_users_token(store: Store) {
        let alice = user(&store, "alice").await;
        let mallory = user(&store, "mallory").await;
        let (meta, hash) = token(&store, alice.id, TokenKind::Api, None).await;
        assert!(!store.revoke_token(mallory.id, meta.id, now()).await.expect("revoking"));
        let (found, _) = store.token_by_hash(&hash).await.expect("lookup").expect("exists");
        assert_eq!(found.revoked_at, None);
        assert!(found.is_active(now()));
        assert!(!store.revoke_token(alice.id, TokenId::new(), now()).await.expect("revoking a missing token"));
    }
}

store_test! {
    async fn purging_expired_sessions_removes_only_expired_session_tokens(store: Store) {
        let alice = user(&store, "alice").await;
        let t = now();
        let (expired, expired_hash) = token(&store, alice.id, TokenKind::Session, Some(t - Duration::minutes(1))).await;
        let (also_expired, _) = token(&store, alice.id, TokenKind::Session, Some(t - Duration::days(3))).await;
        let (live, _) = token(&store, alice.id, TokenKind::Session, Some(t + Duration::minutes(1))).await;
        let (at_the_edge, _) = token(&store, alice.id, TokenKind::Session, Some(t)).await;
        let (forever, _) = token(&store, alice.id, TokenKind::Session, None).await;
        let (expired_api, _) = token(&store, alice.id, TokenKind::Api, Some(t - Duration::days(1))).await;

        assert_eq!(store.purge_expired_sessions(t).await.expect("purging"), 2);
        for gone in [&expired, &also_expired] {
            assert_eq!(store.token_of_user(alice.id, gone.id).await.expect("lookup"), None);
        }
        assert!(store.token_by_hash(&expired_hash).await.expect("lookup").is_none());
        for kept in [&live, &at_the_edge, &forever, &expired_api] {
            assert_eq!(store.token_of_user(alice.id, kept.id).await.expect("lookup").as_ref(), Some(kept));
        }
        assert_eq!(store.purge_expired_sessions(t).await.expect("purging again"), 0);
    }
}
