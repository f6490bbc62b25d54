//! A fresh database with an organization for each test, and the toy cloud and workflow the
//! tests run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reef_core::{OrgId, OrgName, UserId, UserName};
use reef_store::Store;
use reef_store::users::NewUser;
use reef_workflow::{Backoff, EngineOptions, StepContext, StepError, Workflow};
use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use tokio::sync::Notify;

/// Generates `<name>::on_sqlite` and `<name>::on_postgres` for one async test body taking a
/// `&TestDb`.
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : &TestDb) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($arg: &$crate::support::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                let db = $crate::support::TestDb::sqlite().await;
                body(&db).await;
                db.store.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                let Some(db) = $crate::support::TestDb::postgres().await else { return };
                body(&db).await;
                db.store.close().await;
            }
        }
    };
}
pub(crate) use db_test;

/// A fresh, migrated database with one organization.
pub struct TestDb {
    pub store: Store,
    pub org: OrgId,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("reef.db").display());
        TestDb::open(url, Some(dir)).await
    }

    pub async fn postgres() -> Option<TestDb> {
        let url = tokio::task::spawn_blocking(|| {
            let server = reef_testkit::shared_postgres()?;
            Some(server.create_database().expect("creating a PostgreSQL test database"))
        })
        .await
        .expect("the PostgreSQL set-up ran")?;
        Some(TestDb::open(url, None).await)
    }

    async fn open(url: String, dir: Option<TempDir>) -> TestDb {
        let store = Store::connect(&url).await.expect("opening the test database");
        let user = NewUser {
            id: UserId::new(),
            username: UserName::parse("owner").unwrap(),
            password_hash: None,
            server_admin: false,
            created_at: Utc::now(),
        };
        store.create_user(&user).await.unwrap();
        let org = OrgId::new();
        store.create_org(org, &OrgName::parse("acme").unwrap(), user.id, Utc::now()).await.unwrap();
        TestDb { store, org, _dir: dir }
    }
}

/// Options for tests: short leases and retries.
pub fn fast() -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_millis(500),
        poll: Duration::from_millis(20),
        retry: Backoff { first: Duration::from_millis(10), max: Duration::from_millis(40), attempts: 3 },
        hold_after: None,
    }
}

/// A cloud in memory: the resources that exist, every call made, and knobs for tests.
#[derive(Default)]
pub struct Cloud {
    /// What exists, by name.
    pub resources: Mutex<BTreeSet<String>>,
    /// Every step and undo run: (run, step or "undo:step", attempt).
    pub calls: Mutex<Vec<(String, String, u32)>>,
    /// Transient failures the `cluster` step still answers with.
    pub flaky: Mutex<u32>,
    /// When set, the `cluster` step of a first attempt waits for this before doing anything.
    pub gate: Mutex<Option<Arc<Notify>>>,
    /// Wakes a test once the `cluster` step has started.
    pub started: Notify,
    /// Failures the `cluster` step answers with for good when set.
    pub broken: Mutex<bool>,
}

impl Cloud {
    pub fn resources(&self) -> BTreeSet<String> {
        self.resources.lock().unwrap().clone()
    }

    pub fn calls(&self) -> Vec<(String, String, u32)> {
        self.calls.lock().unwrap().clone()
    }

    fn call(&self, cx: &StepContext<Cloud>, what: &str) {
        self.calls.lock().unwrap().push((cx.run.to_string(), what.to_owned(), cx.attempt));
    }

    fn make(&self, name: &str) {
        self.resources.lock().unwrap().insert(name.to_owned());
    }

    fn remove(&self, name: &str) {
        self.resources.lock().unwrap().remove(name);
    }
}

/// The input of the toy workflow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Made {
    pub resource: String,
}

/// The toy create workflow: a network, a cluster on it, its nodes, and a final read-only
/// check.
pub fn create() -> Workflow<Cloud> {
    Workflow::new("toy.create")
        .step_with_undo(
            "network",
            |cx: StepContext<Cloud>| async move {
                cx.app.call(&cx, "network");
                let input: Input = cx.input()?;
                let resource = format!("net-{}", input.name);
                cx.app.make(&resource);
                Ok(Made { resource })
            },
            |cx: StepContext<Cloud>, made: Made| async move {
                cx.app.call(&cx, "undo:network");
                cx.app.remove(&made.resource);
                Ok(())
            },
        )
        .step_with_undo(
            "cluster",
            |cx: StepContext<Cloud>| async move {
                cx.app.call(&cx, "cluster");
                cx.app.started.notify_one();
                let gate = cx.app.gate.lock().unwrap().clone();
                if let Some(gate) = gate
                    && cx.attempt == 1
                {
                    gate.notified().await;
                }
                {
                    let mut flaky = cx.app.flaky.lock().unwrap();
                    if *flaky > 0 {
                        *flaky -= 1;
                        return Err(StepError::transient("the cloud is throttling requests"));
                    }
                }
                if *cx.app.broken.lock().unwrap() {
                    return Err(StepError::permanent("the instance type does not exist"));
                }
                let network: Made = cx.output("network")?;
                let resource = format!("cluster-on-{}", network.resource);
                cx.app.make(&resource);
                Ok(Made { resource })
            },
            |cx: StepContext<Cloud>, made: Made| async move {
                cx.app.call(&cx, "undo:cluster");
                cx.app.remove(&made.resource);
                Ok(())
            },
        )
        .step_with_undo(
            "nodes",
            |cx: StepContext<Cloud>| async move {
                cx.app.call(&cx, "nodes");
                let cluster: Made = cx.output("cluster")?;
                let resource = format!("nodes-of-{}", cluster.resource);
                cx.app.make(&resource);
                Ok(Made { resource })
            },
            |cx: StepContext<Cloud>, made: Made| async move {
                cx.app.call(&cx, "undo:nodes");
                cx.app.remove(&made.resource);
                Ok(())
            },
        )
        .step("check", |cx: StepContext<Cloud>| async move {
            cx.app.call(&cx, "check");
            Ok(cx.app.resources().len())
        })
        .on_unwound(|cx: StepContext<Cloud>| async move {
            cx.app.call(&cx, "unwound");
            Ok(())
        })
}

/// What one successful run of [`create`] named `name` leaves.
pub fn made_by(name: &str) -> BTreeSet<String> {
    [format!("net-{name}"), format!("cluster-on-net-{name}"), format!("nodes-of-cluster-on-net-{name}")]
        .into_iter()
        .collect()
}

/// How many times each (run, call) happened.
pub fn call_counts(calls: &[(String, String, u32)]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for (run, what, _) in calls {
        *counts.entry((run.clone(), what.clone())).or_insert(0) += 1;
    }
    counts
}
