//! Chart repositories: one name per organization, their index replaced on update, and chart
//! archives kept once by digest.

use chrono::Utc;
use reef_store::chart_repos::ChartRepo;
use reef_store::{Store, StoreError};

use crate::support::{at, org, store_test, unique, user};

store_test! {
    async fn repositories_are_named_once_per_organization_updated_and_forgotten(store: Store) {
        let owner = user(&store, &unique("owner")).await;
        let acme = org(&store, &unique("org"), &owner).await.id;
        let other = org(&store, &unique("org"), &owner).await.id;
        let repo = |org, name: &str| ChartRepo {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: org,
            name: name.to_owned(),
            url: "http://charts.example.com".to_owned(),
            secret: None,
            plain_http: false,
            index_yaml: "apiVersion: v1\nentries: {}\n".to_owned(),
            charts: 0,
            created_at: at(1),
            updated_at: at(1),
        };
        let stable = repo(acme, "stable");
        store.insert_chart_repo(&stable).await.unwrap();
        assert!(matches!(store.insert_chart_repo(&repo(acme, "stable")).await, Err(StoreError::Duplicate)));
        store.insert_chart_repo(&repo(other, "stable")).await.unwrap();
        store.insert_chart_repo(&repo(acme, "another")).await.unwrap();
        let names: Vec<String> = store.chart_repos(acme).await.unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["another", "stable"]);

        assert!(store.set_chart_repo_index(&stable.id, "apiVersion: v1\nentries: {a: []}\n", 1, at(2)).await.unwrap());
        let got = store.chart_repo(acme, "stable").await.unwrap().unwrap();
        assert_eq!((got.charts, got.updated_at, got.created_at), (1, at(2), at(1)));
        assert!(store.delete_chart_repo(acme, "stable").await.unwrap());
        assert!(!store.delete_chart_repo(acme, "stable").await.unwrap());
        assert!(store.chart_repo(other, "stable").await.unwrap().is_some());

        assert_eq!(store.chart_archive("abc").await.unwrap(), None);
        store.keep_chart_archive("abc", "H4sI", Utc::now()).await.unwrap();
        store.keep_chart_archive("abc", "H4sI", Utc::now()).await.unwrap();
        assert_eq!(store.chart_archive("abc").await.unwrap().as_deref(), Some("H4sI"));
    }
}
