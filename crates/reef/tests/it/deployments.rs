//! Deployments end to end: a chart from the corpus deployed into a `local` cluster with the
//! CLI (`reef deploy`, `reef release ...`), followed as an operation, and checked from the
//! outside with the real helm 4.2.3 through the cluster's kubeconfig: helm sees reef's
//! release, and reef carries on after helm upgrades it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reef_testkit::missing_peer;

use crate::harness::{Cli, Options, Reef};

const LIMIT: Duration = Duration::from_secs(120);

/// A server whose `local` clusters are made without the simulated cloud's step delays.
pub(crate) fn quick_reef() -> Reef {
    Reef::start_with(Options { args: ["--local-step-delay-ms", "0"].map(str::to_owned).to_vec(), ..Options::default() })
}

/// Creates a `local` cluster with one pool of `count` nodes of `instance_type`, and waits
/// until it runs.
pub(crate) async fn local_cluster(admin: &reef_client::Client, name: &str, instance_type: &str, count: u32) {
    let spec = crate::clusters::spec(name, vec![crate::clusters::pool("workers", instance_type, count)]);
    let created = admin.create_cluster("default", &spec).await.unwrap();
    let op = admin.wait_for_operation("default", &created.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
}

fn run_helm(helm: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(helm).args(args).arg("--kubeconfig").arg(kubeconfig).output().unwrap();
    assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_is_deployed_upgraded_rolled_back_and_uninstalled_with_the_cli_as_helm_sees_it() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let helm = reef_testkit::helm();
    if helm.is_none() {
        missing_peer("helm 4.2.3", "$REEF_HELM or the reef-test-peers cache");
    }
    let reef = quick_reef();
    let admin = reef.admin();
    local_cluster(&admin, "dev", "small", 2).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, admin.cluster_kubeconfig("default", "dev").await.unwrap()).unwrap();

    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    let chart = corpus.join("podinfo");
    let chart = chart.to_str().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "replicaCount: 2\nui:\n  message: from reef\n").unwrap();
    let out = cli.run(&[
        "deploy",
        "dev",
        chart,
        "--release",
        "web",
        "-n",
        "apps",
        "--create-namespace",
        "-f",
        values.to_str().unwrap(),
        "--wait",
        "-o",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for step in ["begin", "crds", "pre_hooks", "apply", "wait", "post_hooks", "finish"] {
        assert!(stderr.contains(step), "{step} missing from the progress:\n{stderr}");
    }
    assert!(stderr.contains("Installing release `web`"), "{stderr}");
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((detail["revision"].as_u64(), detail["status"].as_str()), (Some(1), Some("deployed")), "{detail}");
    let kinds: Vec<(&str, bool)> = detail["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["ready"].as_bool().unwrap()))
        .collect();
    assert_eq!(kinds, [("Service", true), ("Deployment", true)]);
    if let Some(helm) = &helm {
        let list: serde_json::Value =
            serde_json::from_str(&run_helm(helm, &kubeconfig, &["list", "-n", "apps", "-o", "json"])).unwrap();
        assert_eq!((list[0]["name"].as_str(), list[0]["status"].as_str()), (Some("web"), Some("deployed")));
        let values = run_helm(helm, &kubeconfig, &["get", "values", "web", "-n", "apps", "-o", "json"]);
        let values: serde_json::Value = serde_json::from_str(&values).unwrap();
        assert_eq!(values["ui"]["message"], "from reef");
    }

    // A dry run shows what an upgrade would change, and changes nothing.
    let dry =
        cli.json(&["deploy", "dev", chart, "--release", "web", "-n", "apps", "--set", "replicaCount=3", "--dry-run"]);
    assert_eq!((dry["change"].as_str(), dry["revision"].as_u64()), (Some("upgrade"), Some(2)), "{dry}");
    let diff = dry["diff"].as_str().unwrap();
    assert!(diff.contains("~ Deployment apps/web-podinfo") && diff.contains("+     replicas: 3"), "{diff}");
    assert!(!diff.contains("Service"), "the Service does not change: {diff}");
    assert_eq!(cli.json(&["release", "history", "dev", "web", "-n", "apps"]).as_array().unwrap().len(), 1);

    // The chart's tests (podinfo's test pods) run and pass.
    let tested = cli.json(&["release", "test", "dev", "web", "-n", "apps"]);
    let passed: Vec<&str> = tested["passed"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(passed.len(), 3, "{tested}");
    assert!(passed.iter().all(|p| p.starts_with("Pod apps/web-podinfo-")), "{passed:?}");
    // The runs are recorded in the revision as helm records them: helm status shows the suite.
    if let Some(helm) = &helm {
        let status = run_helm(helm, &kubeconfig, &["status", "web", "-n", "apps"]);
        assert!(status.contains("TEST SUITE:"), "{status}");
        for p in &passed {
            let pod = p.trim_start_matches("Pod apps/");
            assert!(status.contains(&format!("TEST SUITE:     {pod}")), "{pod} missing:\n{status}");
        }
        assert_eq!(status.matches("Phase:          Succeeded").count(), 3, "{status}");
    }

    // The same command again upgrades.
    let out = cli.run(&["deploy", "dev", chart, "--release", "web", "-n", "apps", "--set", "replicaCount=3", "--wait"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("Upgrading release `web`"), "{stderr}");
    let history = cli.json(&["release", "history", "dev", "web", "-n", "apps"]);
    let seen: Vec<(u64, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(1, "superseded"), (2, "deployed")]);

    cli.ok(&["release", "rollback", "dev", "web", "1", "-n", "apps", "--wait"]);
    let got = cli.json(&["release", "get", "dev", "web", "-n", "apps"]);
    assert_eq!((got["revision"].as_u64(), got["description"].as_str()), (Some(3), Some("Rollback to 1")));
    assert_eq!(got["values"]["replicaCount"], 2);

    // helm upgrades what reef made; reef lists it and uninstalls it.
    if let Some(helm) = &helm {
        run_helm(
            helm,
            &kubeconfig,
            &["upgrade", "web", chart, "-n", "apps", "--reuse-values", "--set", "replicaCount=1"],
        );
        let listed = cli.json(&["release", "list", "dev"]);
        assert_eq!((listed[0]["revision"].as_u64(), listed[0]["namespace"].as_str()), (Some(4), Some("apps")));
    }
    // A viewer reads releases but changes none; their values are not shown to them.
    let viewer = reef.user("vera").await;
    admin.add_member("default", "vera", reef_api_types::Role::Viewer).await.unwrap();
    let seen = viewer.get_release("default", "dev", "web", "apps").await.unwrap();
    assert!(seen.release.values.is_empty(), "{seen:?}");
    let e = viewer.uninstall_release("default", "dev", "web", "apps", false).await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    let e = admin.get_release("default", "dev", "nope", "apps").await.unwrap_err();
    assert_eq!(e.status(), Some(404));

    cli.ok(&["release", "uninstall", "dev", "web", "-n", "apps", "--wait"]);
    assert!(cli.json(&["release", "list", "dev"]).as_array().unwrap().is_empty());
    if let Some(helm) = &helm {
        let left = run_helm(helm, &kubeconfig, &["list", "-n", "apps", "-q"]);
        assert_eq!(left.trim(), "");
    }
}

/// A chart whose three tests are pods of weights 1, 2 and 3: `ok` passes; `bad` fails, its
/// containers ending with exit code 2 (kubesim's `sim.reef.dev/exit-code`); `after` would pass.
fn chart_with_a_failing_test(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates/tests")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: checks\nversion: 0.1.0\n").unwrap();
    std::fs::write(
        dir.join("templates/config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  a: b\n",
    )
    .unwrap();
    for (name, weight, code) in [("ok", 1, 0), ("bad", 2, 2), ("after", 3, 0)] {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\n  annotations:\n    \
             helm.sh/hook: test\n    helm.sh/hook-weight: \"{weight}\"\n    sim.reef.dev/exit-code: \"{code}\"\n\
             spec:\n  restartPolicy: Never\n  containers:\n    - name: check\n      image: busybox\n"
        );
        std::fs::write(dir.join(format!("templates/tests/{name}.yaml")), pod).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_test_is_reported_with_the_tests_before_it_and_the_cli_exits_non_zero() {
    let reef = quick_reef();
    let admin = reef.admin();
    local_cluster(&admin, "dev", "small", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("checks");
    chart_with_a_failing_test(&chart);
    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    cli.ok(&[
        "deploy",
        "dev",
        chart.to_str().unwrap(),
        "--release",
        "qa",
        "-n",
        "apps",
        "--create-namespace",
        "--wait",
    ]);

    let out = cli.run(&["release", "test", "dev", "qa", "-n", "apps", "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failing test fails the command: {stderr}");
    assert!(stderr.contains("test Pod apps/qa-bad of `qa` failed"), "{stderr}");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["passed"], serde_json::json!(["Pod apps/qa-ok"]), "{run}");
    assert_eq!(run["failed"], serde_json::json!({"test": "Pod apps/qa-bad", "reason": "failed"}), "{run}");

    // Through the API a failed test is a result, not an error; the test after it never ran.
    let run = admin.test_release("default", "dev", "qa", "apps").await.unwrap();
    assert_eq!(run.failed.map(|f| f.test).as_deref(), Some("Pod apps/qa-bad"));
    let kubeconfig = admin.cluster_kubeconfig("default", "dev").await.unwrap();
    let client = reef_kube::ClusterClient::connect(&kubeconfig, LIMIT).await.unwrap();
    let pod = |name: &str| reef_kube::ObjectRef {
        api_version: "v1".to_owned(),
        kind: "Pod".to_owned(),
        namespace: Some("apps".to_owned()),
        name: name.to_owned(),
    };
    let bad = client.get_object(&pod("qa-bad")).await.unwrap().expect("the failed test's pod is kept");
    assert_eq!(bad["status"]["phase"], "Failed");
    assert_eq!(bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 2);
    assert!(client.get_object(&pod("qa-after")).await.unwrap().is_none(), "the test after the failure never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_cannot_be_made_is_refused_with_a_clear_error() {
    let reef = Reef::start();
    let admin = reef.admin();
    local_cluster(&admin, "dev", "small", 1).await;
    let req = |release: &str, chart: &str| reef_api_types::DeployRequest {
        release: release.to_owned(),
        namespace: "default".to_owned(),
        chart: chart.to_owned(),
        chart_ref: None,
        values: Vec::new(),
        set: Vec::new(),
        set_string: Vec::new(),
        set_json: Vec::new(),
        values_from: Vec::new(),
        wait: false,
        atomic: false,
        create_namespace: false,
        no_hooks: false,
        timeout_seconds: None,
    };
    let e = admin.install_release("default", "dev", &req("web", "not base64!")).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(422), Some("invalid_chart")), "{e}");
    let e = admin.install_release("default", "dev", &req("web", "aGVsbG8=")).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(422), Some("invalid_chart")), "{e}");
    let e = admin.install_release("default", "dev", &req("Bad_Name", "aGVsbG8=")).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(422), Some("invalid_deployment")), "{e}");
    let e = admin.install_release("default", "nowhere", &req("web", "aGVsbG8=")).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_a_secret_reach_the_chart_but_not_the_release_values_nor_the_database() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    const MARKER: &str = "MARKER-greeting-9e41c7";
    let reef = quick_reef();
    let admin = reef.admin();
    local_cluster(&admin, "dev", "small", 1).await;
    let secret = reef_api_types::CreateSecretRequest {
        name: "greeting".to_owned(),
        secret_type: "generic".to_owned(),
        values: [("text".to_owned(), MARKER.to_owned())].into(),
        tags: Vec::new(),
    };
    admin.create_secret("default", &secret).await.unwrap();

    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    let chart = corpus.join("podinfo");
    cli.ok(&[
        "deploy",
        "dev",
        chart.to_str().unwrap(),
        "--release",
        "web",
        "--set",
        "replicaCount=1",
        "--set-from-secret",
        "ui.message=greeting:text",
        "--wait",
    ]);
    // The chart got the value: podinfo passes it to its container.
    let kubeconfig = admin.cluster_kubeconfig("default", "dev").await.unwrap();
    let client = reef_kube::ClusterClient::connect(&kubeconfig, LIMIT).await.unwrap();
    let deployment = reef_kube::ObjectRef {
        api_version: "apps/v1".to_owned(),
        kind: "Deployment".to_owned(),
        namespace: Some("default".to_owned()),
        name: "web-podinfo".to_owned(),
    };
    let d = client.get_object(&deployment).await.unwrap().unwrap();
    assert!(d.to_string().contains(MARKER), "the value did not reach the chart: {d}");
    // The release's values have the rest but not it.
    let got = admin.get_release("default", "dev", "web", "default").await.unwrap();
    assert_eq!(serde_json::Value::Object(got.release.values), serde_json::json!({"replicaCount": 1}));
    // A member may not deploy with secrets' values; a missing field is named.
    let bad = reef_api_types::ValueFromSecret { path: "a".into(), secret: "greeting".into(), key: "nope".into() };
    let req = reef_api_types::DeployRequest {
        release: "other".to_owned(),
        namespace: "default".to_owned(),
        chart: {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(reef_helm::chart::package_dir(&chart).unwrap())
        },
        chart_ref: None,
        values: Vec::new(),
        set: Vec::new(),
        set_string: Vec::new(),
        set_json: Vec::new(),
        values_from: vec![bad],
        wait: false,
        atomic: false,
        create_namespace: false,
        no_hooks: false,
        timeout_seconds: None,
    };
    let e = admin.install_release("default", "dev", &req).await.unwrap_err();
    assert_eq!(e.code(), Some("invalid_values_from"), "{e}");
    let member = reef.user("mia").await;
    admin.add_member("default", "mia", reef_api_types::Role::Member).await.unwrap();
    assert_eq!(member.install_release("default", "dev", &req).await.unwrap_err().status(), Some(403));
    // The operation kept the reference, not the value: the database files do not hold it.
    for entry in std::fs::read_dir(&reef.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()), "{} holds the value", path.display());
        }
    }
}

/// A Helm chart repository served over local HTTP that asks for basic auth: its index lists
/// the corpus's podinfo (6.14.1) and a pre-release that is not picked by default.
async fn serve_repository(archive: Vec<u8>, digest: String) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode, header};
    let index = format!(
        "apiVersion: v1\nentries:\n  podinfo:\n    - name: podinfo\n      version: 7.0.0-rc.1\n      appVersion: \"7.0.0\"\n      description: Podinfo Helm chart for Kubernetes\n      urls: [podinfo-7.0.0-rc.1.tgz]\n    - name: podinfo\n      version: 6.14.1\n      appVersion: \"6.14.1\"\n      description: Podinfo Helm chart for Kubernetes\n      urls: [charts/podinfo-6.14.1.tgz]\n      digest: {digest}\ngenerated: \"2026-11-24T00:00:00Z\"\n"
    );
    let authorized = |h: &HeaderMap| {
        use base64::Engine as _;
        let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ci:s3cret-pw"));
        h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(want.as_str())
    };
    let app = axum::Router::new()
        .route(
            "/index.yaml",
            axum::routing::get(move |h: HeaderMap| async move {
                if authorized(&h) {
                    (StatusCode::OK, index.clone()).into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/charts/podinfo-6.14.1.tgz",
            axum::routing::get(move |h: HeaderMap| async move {
                if authorized(&h) {
                    (StatusCode::OK, archive.clone()).into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        );
    use axum::response::IntoResponse as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_a_repository_served_over_http_is_searched_and_deployed() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let archive = reef_helm::chart::package_dir(&corpus.join("podinfo")).unwrap();
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&archive).iter().map(|b| format!("{b:02x}")).collect()
    };
    let (url, server) = serve_repository(archive, digest).await;
    let reef = quick_reef();
    let admin = reef.admin();
    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    let creds = reef_api_types::CreateSecretRequest {
        name: "repo-creds".to_owned(),
        secret_type: "password".to_owned(),
        values: [("username".to_owned(), "ci".to_owned()), ("password".to_owned(), "s3cret-pw".to_owned())].into(),
        tags: Vec::new(),
    };
    admin.create_secret("default", &creds).await.unwrap();

    // Without credentials the repository refuses, and nothing is added.
    let err = cli.fails(&["repo", "add", "charts", &url]);
    assert!(err.contains("repository_refused"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    cli.ok(&["repo", "add", "charts", &url, "--secret", "repo-creds"]);
    let repos = cli.json(&["repo", "list"]);
    assert_eq!((repos[0]["name"].as_str(), repos[0]["charts"].as_i64()), (Some("charts"), Some(1)));
    let found = cli.json(&["chart", "search", "podinfo"]);
    assert_eq!((found[0]["repo"].as_str(), found[0]["version"].as_str()), (Some("charts"), Some("6.14.1")), "{found}");
    assert_eq!(found[0]["versions"], 2);
    assert!(cli.json(&["chart", "search", "nothing-like-it"]).as_array().unwrap().is_empty());

    local_cluster(&admin, "dev", "small", 1).await;
    let out = cli.run(&[
        "deploy",
        "dev",
        "charts/podinfo",
        "--release",
        "web",
        "--set",
        "replicaCount=1",
        "--wait",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((detail["chart"].as_str(), detail["status"].as_str()), (Some("podinfo-6.14.1"), Some("deployed")));
    let err = cli.fails(&["deploy", "dev", "charts/podinfo", "--release", "other", "--version", "9.x"]);
    assert!(err.contains("chart_not_found"), "{err}");
    let err = cli.fails(&["deploy", "dev", "charts/nothing", "--release", "other"]);
    assert!(err.contains("chart_not_found"), "{err}");

    cli.ok(&["repo", "update"]);
    cli.ok(&["repo", "remove", "charts"]);
    assert!(cli.json(&["repo", "list"]).as_array().unwrap().is_empty());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_deployment_goes_to_several_clusters_with_a_result_for_each() {
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let reef = quick_reef();
    let admin = reef.admin();
    for name in ["dev", "prod"] {
        local_cluster(&admin, name, "small", 1).await;
    }
    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--data-dir", reef.data_dir.to_str().unwrap()]);
    let chart = corpus.join("podinfo");
    let chart = chart.to_str().unwrap();
    // prod has the release already: it is upgraded there, installed in dev.
    cli.ok(&["deploy", "prod", chart, "--release", "web", "--wait"]);
    let out =
        cli.run(&["deploy", "dev,prod,nowhere", chart, "--release", "web", "--set", "replicaCount=2", "-o", "json"]);
    assert!(!out.status.success(), "a cluster that does not exist fails the command");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen: Vec<(&str, Option<&str>)> =
        rows.as_array().unwrap().iter().map(|r| (r["cluster"].as_str().unwrap(), r["change"].as_str())).collect();
    assert_eq!(seen, [("dev", Some("install")), ("prod", Some("upgrade")), ("nowhere", None)]);
    assert!(rows[2]["outcome"].as_str().unwrap().contains("not_found"), "{rows}");
    for (cluster, revision) in [("dev", 1), ("prod", 2)] {
        let got = admin.get_release("default", cluster, "web", "default").await.unwrap();
        assert_eq!((got.release.revision, got.release.status.as_str()), (revision, "deployed"), "{cluster}");
        assert_eq!(got.release.values["replicaCount"], 2);
    }
}

/// Values tried, in order, for an upgrade that changes a chart's objects; the first that a dry
/// run shows changing something is used (a chart whose schema refuses a key refuses the try).
const UPGRADES: &[&str] = &[
    "replicaCount=2",
    "replicas=2",
    "deployment.replicas=2",
    "controller.replicaCount=2",
    "server.replicaCount=2",
    "gateway.replicas=2",
    "controllerManager.replicas=2",
    "commonLabels.reef-upgrade=changed",
    "podAnnotations.reef-upgrade=changed",
    "podLabels.reef-upgrade=changed",
    "commonAnnotations.reef-upgrade=changed",
    "customLabels.reef-upgrade=changed",
    "additionalLabels.reef-upgrade=changed",
    "global.commonLabels.reef-upgrade=changed",
    "global.podAnnotations.reef-upgrade=changed",
];

/// The scalar leaves of `v` as (JSON pointer, value); nulls and empty maps and lists, which
/// an apply leaves out, are not leaves.
fn leaves(v: &serde_json::Value, path: &str, out: &mut Vec<(String, serde_json::Value)>) {
    use serde_json::Value;
    match v {
        Value::Null => {}
        Value::Object(m) => {
            for (k, v) in m {
                leaves(v, &format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                leaves(v, &format!("{path}/{i}"), out);
            }
        }
        scalar => out.push((path.to_owned(), scalar.clone())),
    }
}

/// Whether a live value is what the manifest says, as the API server stores it (`80` and
/// `"80"` alike).
fn same(live: &serde_json::Value, desired: &serde_json::Value) -> bool {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    live == desired || text(live) == text(desired)
}

/// Each object of `manifest`, keyed `Kind namespace/name`, with its reference.
fn manifest_objects(manifest: &str) -> std::collections::BTreeMap<String, (reef_kube::ObjectRef, serde_json::Value)> {
    let mut out = std::collections::BTreeMap::new();
    for doc in reef_helm::manifest::split_manifests(manifest) {
        let object = reef_deploy::object_of(&doc).unwrap();
        if object.is_null() {
            continue;
        }
        let target = reef_deploy::objects_of(&doc, "apps").unwrap().remove(0);
        out.insert(target.to_string(), (target, object));
    }
    out
}

/// How the cluster's objects differ from what revision `desired` says of the objects that
/// differ between it and revision `other`: a leaf of `desired` the live object lacks or holds
/// otherwise, or a leaf only `other` has that the live object still holds. Secrets' `stringData`
/// is stored as `data`, and is left out.
async fn drift(kube: &reef_kube::ClusterClient, desired: &str, other: &str) -> Vec<String> {
    let (desired, other) = (manifest_objects(desired), manifest_objects(other));
    let mut out = Vec::new();
    for (key, (target, want)) in &desired {
        let before = other.get(key).map(|(_, o)| o);
        if before == Some(want) {
            continue;
        }
        let Some(live) = kube.get_object(target).await.unwrap() else {
            out.push(format!("{key} is missing"));
            continue;
        };
        let (mut wanted, mut previous) = (Vec::new(), Vec::new());
        leaves(want, "", &mut wanted);
        if let Some(before) = before {
            leaves(before, "", &mut previous);
        }
        for (path, value) in &wanted {
            if path.starts_with("/stringData/") {
                continue;
            }
            match live.pointer(path) {
                Some(v) if same(v, value) => {}
                found => out.push(format!("{key}: {path} is {found:?}, not {value}")),
            }
        }
        for (path, _) in previous.iter().filter(|(p, _)| !p.starts_with("/stringData/")) {
            if want.pointer(path).is_none() && live.pointer(path).is_some() {
                out.push(format!("{key}: {path} is still there"));
            }
        }
    }
    out
}

/// Every chart of the corpus that renders with its default values goes through reef's API
/// into a `local` cluster: installed and waited for until ready; upgraded with a value that
/// changes its objects, after which the cluster's objects are revision 2's; rolled back, after
/// which they are revision 1's again; and uninstalled, after which its objects and release are
/// gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_charts_are_deployed_through_the_api_and_taken_through_their_lifecycle() {
    use base64::Engine as _;
    let Some(corpus) = reef_testkit::chart_corpus() else {
        missing_peer("the chart corpus", "shared/charts or $REEF_CHART_CORPUS");
        return;
    };
    let reef = quick_reef();
    let admin = reef.admin();
    local_cluster(&admin, "dev", "large", 3).await;
    let kube = reef_kube::ClusterClient::connect(&admin.cluster_kubeconfig("default", "dev").await.unwrap(), LIMIT)
        .await
        .unwrap();
    let releases = reef_deploy::Releases::new(kube.clone(), reef_deploy::Options::default());
    let manifests = |release: String| {
        let releases = &releases;
        async move {
            let history = releases.history("apps", &release).await.unwrap();
            history.into_iter().map(|r| r.manifest).collect::<Vec<String>>()
        }
    };
    let mut charts: Vec<std::path::PathBuf> =
        std::fs::read_dir(&corpus).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    charts.sort();
    let deploy = |release: &str, archive: &str, set: Vec<String>| reef_api_types::DeployRequest {
        release: release.to_owned(),
        namespace: "apps".to_owned(),
        chart: archive.to_owned(),
        chart_ref: None,
        values: Vec::new(),
        set,
        set_string: Vec::new(),
        set_json: Vec::new(),
        values_from: Vec::new(),
        wait: true,
        atomic: false,
        create_namespace: true,
        no_hooks: false,
        timeout_seconds: Some(120),
    };
    let wait = |op: reef_api_types::OperationView| {
        let admin = &admin;
        async move { admin.wait_for_operation("default", &op.id.to_string(), LIMIT).await.unwrap() }
    };
    let (mut done, mut failures, mut needs_crds) = (Vec::new(), Vec::new(), Vec::new());
    for chart in &charts {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        // What helm cannot render offline with the default values is not an install case.
        let opts = reef_helm::template::TemplateOptions {
            release_name: "probe".to_owned(),
            chart: chart.clone(),
            namespace: "apps".to_owned(),
            ..Default::default()
        };
        let Ok(probe) = reef_helm::template::render_release(&opts, 1) else { continue };
        // Namespaces a chart expects to exist besides its own are made first, as its docs say.
        for r in &probe.resources {
            let object = reef_deploy::object_of(&r.content).unwrap();
            if let Some(ns) = object.pointer("/metadata/namespace").and_then(|v| v.as_str()) {
                kube.ensure_namespace(ns).await.unwrap();
            }
        }
        let archive = base64::engine::general_purpose::STANDARD.encode(reef_helm::chart::package_dir(chart).unwrap());
        let release = format!("a-{}", name.chars().take(20).collect::<String>()).trim_end_matches('-').to_owned();
        let started = std::time::Instant::now();
        let install =
            wait(admin.install_release("default", "dev", &deploy(&release, &archive, Vec::new())).await.unwrap()).await;
        if install.status != "succeeded" {
            let error = install.error.clone().unwrap_or_default();
            if error.contains("does not serve") {
                needs_crds.push(name);
            } else {
                failures.push(format!("{name}: install: {error}"));
            }
            let _ = admin.uninstall_release("default", "dev", &release, "apps", false).await;
            continue;
        }
        let detail = admin.get_release("default", "dev", &release, "apps").await.unwrap();
        let unready: Vec<String> =
            detail.resources.iter().filter(|r| !r.ready).map(|r| format!("{} {}", r.kind, r.name)).collect();
        if !unready.is_empty() {
            failures.push(format!("{name}: not ready after the install: {unready:?}"));
        }
        // The first value a dry run shows changing the chart's objects.
        let mut changed = None;
        for set in UPGRADES {
            let req = deploy(&release, &archive, vec![(*set).to_owned()]);
            if let Ok(d) = admin.diff_release("default", "dev", &release, &req).await
                && d.diff.contains("~ ")
            {
                changed = Some(*set);
                break;
            }
        }
        let Some(changed) = changed else {
            failures.push(format!("{name}: none of the upgrade values changes its objects"));
            continue;
        };
        let upgrade = wait(
            admin
                .upgrade_release("default", "dev", &release, &deploy(&release, &archive, vec![changed.to_owned()]))
                .await
                .unwrap(),
        )
        .await;
        let revisions = manifests(release.clone()).await;
        if upgrade.status != "succeeded" || revisions.len() != 2 || revisions[0] == revisions[1] {
            failures.push(format!("{name}: upgrade with {changed}: {} ({:?})", upgrade.status, upgrade.error));
            continue;
        }
        let after_upgrade = drift(&kube, &revisions[1], &revisions[0]).await;
        let rollback = wait(admin.rollback_release("default", "dev", &release, "apps", Some(1)).await.unwrap()).await;
        let after_rollback = drift(&kube, &revisions[0], &revisions[1]).await;
        let history = admin.release_history("default", "dev", &release, "apps").await.unwrap();
        let statuses: Vec<&str> = history.iter().map(|r| r.status.as_str()).collect();
        if rollback.status != "succeeded" || statuses != ["superseded", "superseded", "deployed"] {
            failures.push(format!("{name}: rollback {} ({:?}), history {statuses:?}", rollback.status, rollback.error));
        }
        if !after_upgrade.is_empty() || !after_rollback.is_empty() {
            failures.push(format!(
                "{name}: the cluster differs from revision 2 after the upgrade with {changed}: {after_upgrade:?}; \
                 from revision 1 after the rollback: {after_rollback:?}"
            ));
        }
        let uninstall = wait(admin.uninstall_release("default", "dev", &release, "apps", false).await.unwrap()).await;
        if uninstall.status != "succeeded" || admin.get_release("default", "dev", &release, "apps").await.is_ok() {
            failures.push(format!("{name}: uninstall {} ({:?})", uninstall.status, uninstall.error));
        }
        let mut left = Vec::new();
        for (key, (target, object)) in manifest_objects(&revisions[0]) {
            let keep = object.pointer("/metadata/annotations/helm.sh~1resource-policy").and_then(|v| v.as_str());
            if keep != Some("keep") && kube.get_object(&target).await.unwrap().is_some() {
                left.push(key);
            }
        }
        if !left.is_empty() {
            failures.push(format!("{name}: left after the uninstall: {left:?}"));
        }
        done.push(format!(
            "{name}: {} objects, upgraded with {changed} in {:.1}s",
            detail.resources.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    eprintln!("corpus deployments through the API:\n  {}", done.join("\n  "));
    assert!(failures.is_empty(), "{} charts failed:\n{}", failures.len(), failures.join("\n"));
    // tidb-cluster's kinds come from CRDs the corpus does not hold: helm cannot install it either.
    assert_eq!(needs_crds, ["tidb-cluster"]);
    assert!(done.len() >= 21, "{done:?}");
}
