//! Every sealed value can be read in pages and replaced only while it is unchanged: what the
//! passes that seal values again after a key rotation, or move them between backends, rely on.

use reef_core::SecretType;
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_store::sealed::{SealedCursor, SealedKind, SealedPlace, SealedValue};
use reef_store::secrets::SecretRef;

use crate::clusters::cluster;
use crate::support::{org, seal, secret, store_test, user, values};

async fn all(store: &Store, kind: SealedKind) -> Vec<SealedValue> {
    let mut cursor = SealedCursor::default();
    let mut out = Vec::new();
    loop {
        // One value per page: every page boundary is crossed.
        let (page, next) = store.sealed_values(kind, &cursor, 1).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
        cursor = next;
    }
}

store_test! {
    async fn every_sealed_value_is_listed_once_and_replaced_only_while_unchanged(store: Store) {
        let owner = user(&store, "owner").await;
        let o = org(&store, "acme", &owner).await;
        let a = secret(&store, o.id, owner.id, "a", SecretType::Generic, &[], &[("k", "1")]).await;
        let b = secret(&store, o.id, owner.id, "b", SecretType::Generic, &[], &[("k", "2")]).await;
        // A second version of `a`.
        let mut a2 = a.clone();
        a2.version = 2;
        let v2 = seal(o.id, a.id, 2, &values(&[("k", "3")]));
        assert!(store.update_secret(&a2, 1, Some(&v2), owner.id).await.unwrap());
        let c = cluster(o.id, "dev", "local", &[]);
        store.insert_cluster(&c, "create requested").await.unwrap();
        store.set_cluster_kubeconfig(c.id, Some("v1.k1.kubeconfig")).await.unwrap();

        let secrets = all(&store, SealedKind::SecretVersions).await;
        let mut places: Vec<SealedPlace> = secrets.iter().map(|v| v.place).collect();
        places.sort_by_key(|p| format!("{p:?}"));
        let mut expected = vec![
            SealedPlace::SecretVersion { org: o.id, secret: a.id, version: 1 },
            SealedPlace::SecretVersion { org: o.id, secret: a.id, version: 2 },
            SealedPlace::SecretVersion { org: o.id, secret: b.id, version: 1 },
        ];
        expected.sort_by_key(|p| format!("{p:?}"));
        assert_eq!(places, expected);
        let kubeconfigs = all(&store, SealedKind::Kubeconfigs).await;
        assert_eq!(kubeconfigs, vec![SealedValue {
            place: SealedPlace::Kubeconfig { org: o.id, cluster: c.id },
            stored: "v1.k1.kubeconfig".to_owned(),
        }]);

        // A replacement made from what was read lands; one from a stale read does not.
        let first = &secrets[0];
        assert!(store.replace_sealed(first, "v1.k2.new").await.unwrap());
        assert!(!store.replace_sealed(first, "v1.k2.lost").await.unwrap());
        assert!(store.replace_sealed(&kubeconfigs[0], "v1.k2.kubeconfig").await.unwrap());
        assert_eq!(store.cluster_kubeconfig(c.id).await.unwrap().as_deref(), Some("v1.k2.kubeconfig"));

        // Counting by prefix: two values now start with `v1.k2.`, and `_` is no wildcard.
        assert_eq!(store.count_sealed_with_prefix("v1.k2.").await.unwrap(), 2);
        assert_eq!(store.count_sealed_with_prefix("v1.k_.").await.unwrap(), 0);
        let key = SecretCipher::sealed_by(&secrets[1].stored).unwrap();
        assert_eq!(store.count_sealed_with_prefix(&format!("v1.{key}.")).await.unwrap(), 2);
        assert!(store.secret(o.id, &SecretRef::Id(b.id)).await.unwrap().is_some());
    }
}
