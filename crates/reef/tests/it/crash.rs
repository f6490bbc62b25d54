//! The server killed (SIGKILL) while a cluster's create and its delete run, then started again
//! on the same data: every operation completes, a step runs again at most once (the one it was
//! killed in), nothing is made twice and the delete leaves nothing. The kills land in the middle
//! of each of the provider's steps (they last 400 ms here), at the very start of each operation
//! (in or before `begin`), and in reef's own `save_kubeconfig` and `finish`, which last a few
//! milliseconds: there the server is started with `--hold-after-step`, which holds a step
//! after its work is done and before it is recorded, the worst moment to die.

use std::path::Path;
use std::time::Duration;

use reef_api_types::{CreateClusterRequest, OperationView};
use reef_client::Client;

use crate::harness::{Options, Reef, kept_clusters};

const LIMIT: Duration = Duration::from_secs(120);

/// A server whose operations are taken over 2 s after it dies, and whose local steps last long
/// enough to be killed in.
fn start(data: &Path) -> Reef {
    start_holding(data, None)
}

/// [`start`], holding step `hold` (if any) for 30 s once its work is done.
fn start_holding(data: &Path, hold: Option<&str>) -> Reef {
    let mut args: Vec<String> =
        ["--workflow-lease-seconds", "2", "--local-step-delay-ms", "400"].map(str::to_owned).to_vec();
    if let Some(step) = hold {
        args.extend(["--hold-after-step".to_owned(), format!("{step}=30000")]);
    }
    Reef::start_with(Options { data_dir: Some(data.to_path_buf()), args, ..Options::default() })
}

fn spec(name: &str) -> CreateClusterRequest {
    crate::clusters::spec(name, vec![crate::clusters::pool("workers", "small", 2)])
}

/// Waits until step `step` of operation `id` is running.
async fn until_running(client: &Client, id: &str, step: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let op = client.get_operation("default", id).await.unwrap();
        if op.steps.iter().any(|s| s.name == step && s.status == "running") {
            return;
        }
        assert!(op.status != "succeeded" && tokio::time::Instant::now() < deadline, "{step} never seen: {op:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The operation ran to success, each step once, but for at most one that ran twice: the
/// one the server was killed in.
fn ran_to_the_end(op: &OperationView) {
    assert_eq!(op.status, "succeeded", "{op:?}");
    assert!(op.steps.iter().all(|s| s.status == "done" && (1..=2).contains(&s.attempts)), "{op:?}");
    assert!(op.steps.iter().filter(|s| s.attempts == 2).count() <= 1, "{op:?}");
}

/// Kills the server once step `step` of operation `id` runs (`None`: at once), starts it
/// again (plain), and waits for the operation to end: it must have run to the end, each step
/// once but the one it was killed in.
async fn kill_in(reef: &mut Reef, data: &Path, token: &str, id: &str, step: Option<&str>) -> (Client, OperationView) {
    let client = Client::new(&reef.url, Some(token.to_owned())).unwrap();
    if let Some(step) = step {
        until_running(&client, id, step).await;
    }
    reef.kill();
    // The admin token is printed on the first start only.
    *reef = start(data);
    let client = Client::new(&reef.url, Some(token.to_owned())).unwrap();
    let op = client.wait_for_operation("default", id, LIMIT).await.unwrap();
    ran_to_the_end(&op);
    (client, op)
}

#[tokio::test]
async fn operations_killed_while_they_run_finish_after_a_restart_without_doing_anything_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut reef = start(&data);
    let token = reef.admin_token.clone();
    let create_steps = ["begin", "start_api_server", "create_node_pools", "wait_for_nodes"];
    let delete_steps = ["begin", "delete_node_pools", "stop_api_server"];
    let mut reran = Vec::new();
    for (i, step) in create_steps.iter().enumerate() {
        let name = format!("crash-{i}");
        let client = Client::new(&reef.url, Some(token.clone())).unwrap();
        let created = client.create_cluster("default", &spec(&name)).await.unwrap();
        // `begin` is killed in (or before) at once.
        let wait = (*step != "begin").then_some(*step);
        let (client, op) = kill_in(&mut reef, &data, &token, &created.operation.id.to_string(), wait).await;
        reran.extend(op.steps.iter().filter(|s| s.attempts == 2).map(|s| s.name.clone()));
        let cluster = client.get_cluster("default", &name).await.unwrap();
        assert_eq!(cluster.status, "running", "{cluster:?}");
        // One simulated cluster per created cluster, whatever was killed.
        assert_eq!(kept_clusters(&data), i + 1);
    }
    for (i, step) in delete_steps.iter().enumerate() {
        let name = format!("crash-{i}");
        let client = Client::new(&reef.url, Some(token.clone())).unwrap();
        let deleting = client.delete_cluster("default", &name).await.unwrap();
        let wait = (*step != "begin").then_some(*step);
        let (client, op) = kill_in(&mut reef, &data, &token, &deleting.operation.id.to_string(), wait).await;
        reran.extend(op.steps.iter().filter(|s| s.attempts == 2).map(|s| s.name.clone()));
        let gone = client.get_cluster("default", &deleting.cluster.id.to_string()).await.unwrap();
        assert_eq!(gone.status, "deleted", "{gone:?}");
        // Nothing of the deleted cluster is left.
        assert_eq!(kept_clusters(&data), create_steps.len() - i - 1);
    }
    // The provider's steps, which last 400 ms, were each killed while running.
    for step in ["start_api_server", "create_node_pools", "wait_for_nodes", "delete_node_pools", "stop_api_server"] {
        assert!(reran.iter().any(|s| s == step), "{step} was never killed while running: {reran:?}");
    }
}

#[tokio::test]
async fn operations_killed_in_reefs_own_steps_after_their_work_finish_without_doing_it_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut reef = start(&data);
    let token = reef.admin_token.clone();
    // Creates killed in begin, save_kubeconfig and finish; then deletes killed in begin and
    // finish.
    let kills = [
        ("create", "begin", "a"),
        ("create", "save_kubeconfig", "b"),
        ("create", "finish", "c"),
        ("delete", "begin", "a"),
        ("delete", "finish", "b"),
    ];
    for (operation, step, name) in kills {
        reef.kill();
        reef = start_holding(&data, Some(step));
        let client = Client::new(&reef.url, Some(token.clone())).unwrap();
        let started = match operation {
            "create" => client.create_cluster("default", &spec(name)).await.unwrap(),
            _ => client.delete_cluster("default", name).await.unwrap(),
        };
        let (client, op) = kill_in(&mut reef, &data, &token, &started.operation.id.to_string(), Some(step)).await;
        let again: Vec<&str> = op.steps.iter().filter(|s| s.attempts == 2).map(|s| s.name.as_str()).collect();
        assert_eq!(again, [step], "{operation} killed in {step}: {op:?}");
        let cluster = client.get_cluster("default", &started.cluster.id.to_string()).await.unwrap();
        if operation == "create" {
            assert_eq!((cluster.status.as_str(), cluster.status_message.as_str()), ("running", "created"));
            // The kubeconfig saved twice is one that works, once the restarted server has
            // brought the cluster back (it does so as it starts, beside the workers).
            let deadline = tokio::time::Instant::now() + LIMIT;
            let nodes = loop {
                match client.cluster_nodes("default", name).await {
                    Err(e) if e.code() == Some("api_server_unreachable") && tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    done => break done.unwrap(),
                }
            };
            assert_eq!(nodes.len(), 2);
        } else {
            assert_eq!((cluster.status.as_str(), cluster.status_message.as_str()), ("deleted", "deleted"));
        }
    }
    // c is running, a and b are deleted: one simulated cluster is left.
    assert_eq!(kept_clusters(&data), 1);
}
