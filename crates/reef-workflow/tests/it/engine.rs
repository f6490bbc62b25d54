//! Runs: steps in order, retries, unwinding, cancelling, leases, and the two checks every
//! workflow gets.

use std::sync::Arc;
use std::time::Duration;

use reef_core::{StepStatus, WorkflowStatus};
use reef_workflow::testing::{INJECTED, each_step_twice, failing_at, run_to_end};
use reef_workflow::{Engine, EngineError, EngineOptions};
use tokio::sync::Notify;

use crate::support::{Cloud, Input, TestDb, call_counts, create, db_test, fast, made_by};

const LIMIT: Duration = Duration::from_secs(30);

fn engine(db: &TestDb, cloud: &Arc<Cloud>, opts: EngineOptions) -> Engine<Cloud> {
    let mut engine = Engine::new(db.store.clone(), cloud.clone(), opts);
    engine.register(create());
    engine
}

fn input(name: &str) -> Input {
    Input { name: name.to_owned() }
}

db_test! {
    async fn a_run_does_its_steps_in_order_and_hands_each_the_outputs_before_it(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let engine = engine(db, &cloud, fast());
        let id = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let pending = engine.get(db.org, id).await.unwrap().unwrap();
        assert_eq!(pending.status, WorkflowStatus::Pending);
        assert!(pending.steps.iter().all(|s| s.status == StepStatus::Pending && s.attempts == 0));

        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
        assert_eq!(run.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["network", "cluster", "nodes", "check"]);
        for s in &run.steps {
            assert_eq!((s.status, s.attempts, s.error.as_deref()), (StepStatus::Done, 1, None), "{s:?}");
            assert!(s.started_at.is_some() && s.finished_at >= s.started_at, "{s:?}");
        }
        assert!(run.finished_at.is_some());
        assert_eq!(cloud.resources(), made_by("c1"));
        let order: Vec<String> = cloud.calls().into_iter().map(|c| c.1).collect();
        assert_eq!(order, ["network", "cluster", "nodes", "check"]);
        // Durations of past steps are there for estimates.
        let mean = db.store.mean_step_millis("toy.create", "cluster", 10).await.unwrap();
        assert!(mean.is_some_and(|m| m >= 0), "{mean:?}");
        assert_eq!(db.store.mean_step_millis("toy.create", "nope", 10).await.unwrap(), None);
    }
}

db_test! {
    async fn each_step_run_twice_leaves_what_one_run_leaves(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let mut engine = engine(db, &cloud, fast());
        engine.register(each_step_twice(&create()));
        let id = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
        assert_eq!(cloud.resources(), made_by("c1"));
        assert!(call_counts(&cloud.calls()).values().all(|n| *n == 2));

        // Unwinding with each undo run twice leaves nothing either.
        *cloud.broken.lock().unwrap() = true;
        let id = engine.start(db.org, "toy.create", "c2", &input("c2")).await.unwrap();
        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Failed, "{run:?}");
        assert_eq!(cloud.resources(), made_by("c1"));
    }
}

db_test! {
    async fn a_failure_at_each_step_undoes_every_step_before_it(db: &TestDb) {
        let steps = create().steps().len();
        for at in 0..steps {
            let cloud = Arc::new(Cloud::default());
            let mut engine = engine(db, &cloud, fast());
            engine.register(failing_at(&create(), at));
            let subject = format!("fail-at-{at}");
            let id = engine.start(db.org, "toy.create", &subject, &input(&subject)).await.unwrap();
            let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
            assert_eq!(run.status, WorkflowStatus::Failed, "{run:?}");
            assert_eq!(run.failed_step.as_deref(), Some(create().steps()[at].name()));
            assert_eq!(run.error.as_deref(), Some(INJECTED));
            assert!(cloud.resources().is_empty(), "failing at {at} left {:?}", cloud.resources());
            for (i, s) in run.steps.iter().enumerate() {
                let expected = match i.cmp(&at) {
                    std::cmp::Ordering::Less => StepStatus::Undone,
                    std::cmp::Ordering::Equal => StepStatus::Failed,
                    std::cmp::Ordering::Greater => StepStatus::Pending,
                };
                assert_eq!(s.status, expected, "step {i} after a failure at {at}: {run:?}");
            }
            // Undone latest first, then the workflow's hook, once.
            let after: Vec<String> = cloud
                .calls()
                .into_iter()
                .map(|c| c.1)
                .filter(|c| c.starts_with("undo:") || c == "unwound")
                .collect();
            let mut expected: Vec<String> =
                create().steps()[..at].iter().map(|s| format!("undo:{}", s.name())).collect();
            expected.reverse();
            expected.push("unwound".to_owned());
            assert_eq!(after, expected);
        }
    }
}

db_test! {
    async fn transient_errors_are_retried_with_backoff_until_the_attempts_run_out(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let engine = engine(db, &cloud, fast());
        *cloud.flaky.lock().unwrap() = 2;
        let id = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
        let cluster = &run.steps[1];
        assert_eq!((cluster.attempts, cluster.error.as_deref()), (3, None));

        // Three attempts in all: a fourth failure is not waited for.
        *cloud.flaky.lock().unwrap() = 3;
        let id = engine.start(db.org, "toy.create", "c2", &input("c2")).await.unwrap();
        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Failed, "{run:?}");
        assert_eq!(run.steps[1].attempts, 3);
        assert_eq!(
            run.error.as_deref(),
            Some("the cloud is throttling requests (gave up after 3 attempts)")
        );
        assert_eq!(cloud.resources(), made_by("c1"));
    }
}

db_test! {
    async fn a_second_run_on_a_busy_subject_is_refused_with_the_running_one(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let engine = engine(db, &cloud, fast());
        let first = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        match engine.start(db.org, "toy.create", "c1", &input("c1")).await {
            Err(EngineError::Busy { running, subject }) => assert_eq!((running, subject.as_str()), (first, "c1")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            engine.start(db.org, "toy.nope", "c2", &input("c2")).await,
            Err(EngineError::UnknownWorkflow(_))
        ));
        run_to_end(&engine, db.org, first, LIMIT).await.unwrap();
        // Once it ended, the subject is free again.
        engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
    }
}

db_test! {
    async fn a_cancelled_run_finishes_its_step_then_unwinds(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let gate = Arc::new(Notify::new());
        *cloud.gate.lock().unwrap() = Some(gate.clone());
        let engine = Arc::new(engine(db, &cloud, fast()));
        let workers = engine.spawn_workers(1);
        let id = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        cloud.started.notified().await;
        assert!(engine.cancel(db.org, id).await.unwrap());
        gate.notify_one();
        let run = run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        workers.stop().await;
        assert_eq!(run.status, WorkflowStatus::Cancelled, "{run:?}");
        assert!(run.cancel_requested);
        assert_eq!(run.steps.iter().map(|s| s.status).collect::<Vec<_>>(), [
            StepStatus::Undone,
            StepStatus::Undone,
            StepStatus::Pending,
            StepStatus::Pending
        ]);
        assert!(cloud.resources().is_empty());
        // An ended run cannot be cancelled.
        assert!(!engine.cancel(db.org, id).await.unwrap());
    }
}

db_test! {
    async fn a_run_whose_worker_stalled_is_taken_over_and_the_stalled_worker_cannot_write(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let gate = Arc::new(Notify::new());
        *cloud.gate.lock().unwrap() = Some(gate.clone());
        // A's lease runs out long before it would renew it.
        let short = EngineOptions { lease: Duration::from_millis(300), heartbeat: Duration::from_secs(60), ..fast() };
        let a = Arc::new(engine(db, &cloud, short));
        let b = engine(db, &cloud, fast());
        let id = a.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let stalled = {
            let a = a.clone();
            tokio::spawn(async move { a.run_next().await })
        };
        cloud.started.notified().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        // B takes the run over: the cluster step runs again (its second attempt does not wait).
        let run = run_to_end(&b, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
        assert_eq!(run.steps[1].attempts, 2);
        // A wakes up: what it would record is refused, and the run stays as B left it.
        gate.notify_one();
        assert!(stalled.await.unwrap().unwrap());
        assert_eq!(b.get(db.org, id).await.unwrap().unwrap(), run);
        assert_eq!(cloud.resources(), made_by("c1"));
    }
}

db_test! {
    async fn a_run_whose_worker_died_is_finished_by_another_after_its_lease(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let gate = Arc::new(Notify::new());
        *cloud.gate.lock().unwrap() = Some(gate);
        let short = EngineOptions { lease: Duration::from_millis(300), heartbeat: Duration::from_millis(100), ..fast() };
        let a = Arc::new(engine(db, &cloud, short));
        let b = engine(db, &cloud, short);
        let id = a.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let dying = {
            let a = a.clone();
            tokio::spawn(async move { a.run_next().await })
        };
        cloud.started.notified().await;
        // A renews its lease while it lives...
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!b.run_next().await.unwrap(), "B took a run A still holds");
        // ...and dies in the middle of the step.
        dying.abort();
        let run = run_to_end(&b, db.org, id, LIMIT).await.unwrap();
        assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
        assert_eq!(run.steps[1].attempts, 2);
        assert_eq!(cloud.resources(), made_by("c1"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_sharing_postgres_run_each_run_exactly_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let cloud = Arc::new(Cloud::default());
    let engines: Vec<Arc<Engine<Cloud>>> = (0..2).map(|_| Arc::new(engine(&db, &cloud, fast()))).collect();
    let workers: Vec<_> = engines.iter().map(|e| e.spawn_workers(3)).collect();
    let mut ids = Vec::new();
    for i in 0..40 {
        let name = format!("c{i}");
        ids.push(engines[i % 2].start(db.org, "toy.create", &name, &input(&name)).await.unwrap());
    }
    for id in &ids {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let run = engines[0].get(db.org, *id).await.unwrap().unwrap();
            if run.status.is_final() {
                assert_eq!(run.status, WorkflowStatus::Succeeded, "{run:?}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{run:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for w in workers {
        w.stop().await;
    }
    let counts = call_counts(&cloud.calls());
    assert_eq!(counts.len(), 40 * 4);
    assert!(counts.values().all(|n| *n == 1), "a step ran twice: {counts:?}");
    db.store.close().await;
}

db_test! {
    async fn a_watcher_sees_each_change_and_an_estimate_comes_from_past_runs(db: &TestDb) {
        let cloud = Arc::new(Cloud::default());
        let engine = Arc::new(engine(db, &cloud, fast()));
        let id = engine.start(db.org, "toy.create", "c1", &input("c1")).await.unwrap();
        let first = engine.get(db.org, id).await.unwrap().unwrap();
        // Nothing happens: the watcher answers after its timeout with the run unchanged.
        let same = engine.wait_for_change(db.org, id, Some(&first), Duration::from_millis(100)).await.unwrap();
        assert_eq!(same.as_ref(), Some(&first));
        // No workflow of this kind ever ran: no estimate.
        assert_eq!(engine.estimate_remaining(&first).await.unwrap(), None);

        // The run is held at its `cluster` step, so that the watcher sees it under way however
        // fast the machine runs the steps, then let go to its end.
        let gate = Arc::new(Notify::new());
        *cloud.gate.lock().unwrap() = Some(gate.clone());
        let workers = engine.spawn_workers(1);
        cloud.started.notified().await;
        let mut seen = engine.wait_for_change(db.org, id, Some(&first), LIMIT).await.unwrap().unwrap();
        assert!(seen != first && !seen.status.is_final(), "{seen:?}");
        let mut views = 1;
        *cloud.gate.lock().unwrap() = None;
        gate.notify_one();
        while !seen.status.is_final() {
            let next = engine.wait_for_change(db.org, id, Some(&seen), LIMIT).await.unwrap().unwrap();
            assert!(next != seen || next.status.is_final());
            seen = next;
            views += 1;
        }
        assert_eq!(seen.status, WorkflowStatus::Succeeded);
        assert!(views >= 2, "a run of four steps was seen in {views} views");

        // The next run of the same workflow has an estimate from this one.
        let gate = Arc::new(Notify::new());
        *cloud.gate.lock().unwrap() = Some(gate.clone());
        let id = engine.start(db.org, "toy.create", "c2", &input("c2")).await.unwrap();
        cloud.started.notified().await;
        let running = engine.get(db.org, id).await.unwrap().unwrap();
        let left = engine.estimate_remaining(&running).await.unwrap();
        assert!(left.is_some_and(|d| d < Duration::from_secs(5)), "{left:?}");
        gate.notify_one();
        run_to_end(&engine, db.org, id, LIMIT).await.unwrap();
        workers.stop().await;
        let unknown = reef_core::WorkflowId::new();
        assert_eq!(engine.wait_for_change(db.org, unknown, None, Duration::from_millis(10)).await.unwrap(), None);
    }
}
