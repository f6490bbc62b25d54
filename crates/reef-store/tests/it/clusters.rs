//! Clusters: records, unique names among live clusters, filtered pages, status changes that
//! only apply from the expected status, and the status log.

use std::collections::BTreeMap;

use reef_core::{
    Cluster, ClusterId, ClusterName, ClusterSpec, ClusterStatus, KubernetesVersion, NodePool, NodePoolName, OrgId,
    WorkflowId,
};
use reef_store::clusters::{ClusterFilter, ClusterUpdate};
use reef_store::{Store, StoreError};

use crate::support::{all_pages, at, now, org, store_test, user};

fn pool(name: &str, count: u32) -> NodePool {
    NodePool {
        name: NodePoolName::parse(name).unwrap(),
        instance_type: "small".to_owned(),
        count,
        min: Some(1),
        max: Some(5),
        autoscaling: true,
        spot: false,
        labels: BTreeMap::from([("tier".to_owned(), "web".to_owned())]),
        taints: Vec::new(),
        disk_size_gib: None,
    }
}

pub(crate) fn cluster(org: OrgId, name: &str, provider: &str, labels: &[(&str, &str)]) -> Cluster {
    let spec = ClusterSpec {
        name: ClusterName::parse(name).unwrap(),
        provider: provider.to_owned(),
        region: "local".to_owned(),
        kubernetes_version: Some(KubernetesVersion::parse("1.31").unwrap()),
        node_pools: vec![pool("workers", 2)],
        secret: None,
        labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        options: Default::default(),
    };
    Cluster::pending(ClusterId::new(), org, spec, now())
}

async fn an_org(store: &Store) -> OrgId {
    let owner = user(store, &crate::support::unique("owner")).await;
    org(store, &crate::support::unique("org"), &owner).await.id
}

store_test! {
    async fn a_cluster_reads_back_as_recorded_and_its_name_is_taken_while_it_lives(store: Store) {
        let org_id = an_org(&store).await;
        let c = cluster(org_id, "dev", "local", &[("env", "dev")]);
        store.insert_cluster(&c, "create requested").await.unwrap();
        assert_eq!(store.cluster(org_id, c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(store.cluster_by_name(org_id, &c.name).await.unwrap(), Some(c.clone()));

        let twin = cluster(org_id, "dev", "local", &[]);
        assert!(matches!(store.insert_cluster(&twin, "create requested").await, Err(StoreError::Duplicate)));
        // Another organization has its own names, and sees nothing of this one's.
        let other = an_org(&store).await;
        store.insert_cluster(&cluster(other, "dev", "local", &[]), "create requested").await.unwrap();
        assert_eq!(store.cluster(other, c.id).await.unwrap(), None);

        // Once deleted, the name is free again, and the old record stays.
        for (from, to) in [(ClusterStatus::Pending, ClusterStatus::Deleting), (ClusterStatus::Deleting, ClusterStatus::Deleted)] {
            assert!(store.change_cluster_status(c.id, from, to, "delete requested", None, now()).await.unwrap());
        }
        assert_eq!(store.cluster_by_name(org_id, &c.name).await.unwrap(), None);
        store.insert_cluster(&twin, "create requested").await.unwrap();
        assert_eq!(store.cluster(org_id, c.id).await.unwrap().unwrap().status, ClusterStatus::Deleted);
    }
}

store_test! {
    async fn a_status_changes_only_from_the_expected_one_and_every_change_is_logged(store: Store) {
        let org_id = an_org(&store).await;
        let c = cluster(org_id, "dev", "local", &[]);
        store.insert_cluster(&c, "create requested").await.unwrap();
        let op = WorkflowId::new();
        assert!(store.change_cluster_status(c.id, ClusterStatus::Pending, ClusterStatus::Creating, "creating", Some(op), at(1)).await.unwrap());
        // A second operation that read the old status loses.
        assert!(!store.change_cluster_status(c.id, ClusterStatus::Pending, ClusterStatus::Deleting, "deleting", None, at(2)).await.unwrap());
        assert!(store.change_cluster_status(c.id, ClusterStatus::Creating, ClusterStatus::Running, "created", None, at(3)).await.unwrap());
        let now_c = store.cluster(org_id, c.id).await.unwrap().unwrap();
        assert_eq!((now_c.status, now_c.status_message.as_str(), now_c.operation), (ClusterStatus::Running, "created", Some(op)));
        let log = store.cluster_status_changes(c.id).await.unwrap();
        let steps: Vec<(Option<ClusterStatus>, ClusterStatus, &str)> =
            log.iter().map(|l| (l.from, l.to, l.cause.as_str())).collect();
        assert_eq!(steps, [
            (None, ClusterStatus::Pending, "create requested"),
            (Some(ClusterStatus::Pending), ClusterStatus::Creating, "creating"),
            (Some(ClusterStatus::Creating), ClusterStatus::Running, "created"),
        ]);
        assert_eq!((log[1].operation, log[1].at), (Some(op), at(1)));
    }
}

store_test! {
    async fn an_update_changes_only_what_it_names(store: Store) {
        let org_id = an_org(&store).await;
        let c = cluster(org_id, "dev", "local", &[("env", "dev"), ("team", "a")]);
        store.insert_cluster(&c, "create requested").await.unwrap();
        let update = ClusterUpdate {
            node_pools: Some(vec![pool("workers", 4), pool("gpu", 1)]),
            labels: Some(BTreeMap::from([("env".to_owned(), "prod".to_owned())])),
            endpoint: Some("https://127.0.0.1:6443".to_owned()),
            ..ClusterUpdate::default()
        };
        assert!(store.update_cluster(c.id, &update, at(5)).await.unwrap());
        let got = store.cluster(org_id, c.id).await.unwrap().unwrap();
        assert_eq!(got.node_pools, update.node_pools.clone().unwrap());
        assert_eq!(got.labels, update.labels.clone().unwrap());
        assert_eq!(got.endpoint.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!((got.kubernetes_version, got.updated_at), (c.kubernetes_version.clone(), at(5)));
        assert!(!store.update_cluster(ClusterId::new(), &update, at(6)).await.unwrap());
    }
}

store_test! {
    async fn lists_page_through_and_filter_by_status_provider_and_labels(store: Store) {
        let org_id = an_org(&store).await;
        let mut made = Vec::new();
        for i in 0..7 {
            let provider = if i % 2 == 0 { "local" } else { "import" };
            let env = if i < 3 { "dev" } else { "prod" };
            let c = cluster(org_id, &format!("c{i}"), provider, &[("env", env), ("n", &i.to_string())]);
            store.insert_cluster(&c, "create requested").await.unwrap();
            made.push(c);
        }
        store.change_cluster_status(made[6].id, ClusterStatus::Pending, ClusterStatus::Deleting, "x", None, now()).await.unwrap();
        store.change_cluster_status(made[6].id, ClusterStatus::Deleting, ClusterStatus::Deleted, "x", None, now()).await.unwrap();
        let names = |page: Vec<Cluster>| page.into_iter().map(|c| c.name.to_string()).collect::<Vec<_>>();

        let (all, pages) = all_pages(2, |p| {
            let store = store.clone();
            async move { store.clusters(org_id, &ClusterFilter::default(), &p).await }
        })
        .await;
        assert_eq!((names(all), pages), (vec!["c0", "c1", "c2", "c3", "c4", "c5"].into_iter().map(String::from).collect(), 3));

        let list = |filter: ClusterFilter| {
            let store = store.clone();
            async move { names(store.clusters(org_id, &filter, &reef_core::PageRequest::first()).await.unwrap().items) }
        };
        assert_eq!(list(ClusterFilter { provider: Some("import".into()), ..Default::default() }).await, ["c1", "c3", "c5"]);
        let prod = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        assert_eq!(list(ClusterFilter { labels: prod.clone(), ..Default::default() }).await, ["c3", "c4", "c5"]);
        let both = BTreeMap::from([("env".to_owned(), "prod".to_owned()), ("n".to_owned(), "4".to_owned())]);
        assert_eq!(list(ClusterFilter { labels: both, ..Default::default() }).await, ["c4"]);
        assert_eq!(list(ClusterFilter { status: Some(ClusterStatus::Deleted), ..Default::default() }).await, ["c6"]);
        assert_eq!(list(ClusterFilter { include_deleted: true, labels: prod, ..Default::default() }).await, ["c3", "c4", "c5", "c6"]);
    }
}

store_test! {
    async fn a_kubeconfig_is_kept_sealed_and_can_be_forgotten(store: Store) {
        let org_id = an_org(&store).await;
        let c = cluster(org_id, "dev", "local", &[]);
        store.insert_cluster(&c, "create requested").await.unwrap();
        assert_eq!(store.cluster_kubeconfig(c.id).await.unwrap(), None);
        assert!(store.set_cluster_kubeconfig(c.id, Some("sealed:abc")).await.unwrap());
        assert_eq!(store.cluster_kubeconfig(c.id).await.unwrap().as_deref(), Some("sealed:abc"));
        assert!(store.set_cluster_kubeconfig(c.id, None).await.unwrap());
        assert_eq!(store.cluster_kubeconfig(c.id).await.unwrap(), None);
        assert!(!store.set_cluster_kubeconfig(ClusterId::new(), Some("x")).await.unwrap());
    }
}

store_test! {
    async fn a_health_check_is_claimed_by_one_checker_per_interval_and_its_finding_reads_back(store: Store) {
        let org_id = an_org(&store).await;
        let mut running = cluster(org_id, "up", "import", &[]);
        running.status = ClusterStatus::Running;
        let pending = cluster(org_id, "new", "import", &[]);
        for c in [&running, &pending] {
            store.insert_cluster(c, "imported").await.unwrap();
            store.set_cluster_kubeconfig(c.id, Some("sealed")).await.unwrap();
        }
        let mut no_kubeconfig = cluster(org_id, "bare", "import", &[]);
        no_kubeconfig.status = ClusterStatus::Warning;
        store.insert_cluster(&no_kubeconfig, "imported").await.unwrap();
        let due = |before| {
            let store = store.clone();
            async move {
                let all = store.clusters_due_for_health(before, 1000).await.unwrap();
                all.into_iter().filter(|(o, _)| *o == org_id).map(|(_, c)| c).collect::<Vec<_>>()
            }
        };
        // Only a running (or warning) cluster with a kubeconfig is checked.
        assert_eq!(due(at(10)).await, [running.id]);
        assert!(store.claim_health_check(running.id, at(10), at(10)).await.unwrap());
        // Claimed at 10: not due again before then, and a second checker loses the claim.
        assert_eq!(due(at(10)).await, []);
        assert!(!store.claim_health_check(running.id, at(10), at(10)).await.unwrap());
        assert!(store.cluster(org_id, running.id).await.unwrap().unwrap().health.unwrap().problem.is_none());
        store.record_health(running.id, Some("2 of 3 nodes are not ready")).await.unwrap();
        let health = store.cluster(org_id, running.id).await.unwrap().unwrap().health.unwrap();
        assert_eq!((health.checked_at, health.problem.as_deref()), (at(10), Some("2 of 3 nodes are not ready")));
        assert_eq!(due(at(11)).await, [running.id]);
        assert!(store.claim_health_check(running.id, at(11), at(11)).await.unwrap());
        assert!(store.cluster(org_id, pending.id).await.unwrap().unwrap().health.is_none());
    }
}
