//! The flows a user goes through, driven through the CLI and the HTTP client.

use reef_api_types::{CreateTokenRequest, Role};

use crate::harness::{Cli, Reef};

#[tokio::test]
async fn first_start_creates_an_owner_a_default_organization_and_a_private_token_file() {
    let reef = Reef::start();
    assert!(reef.admin_token.starts_with("reef_pat_"), "no token printed: {:?}", reef.stdout);
    let path = reef.data_dir.join("admin-token");
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), reef.admin_token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let key = reef.data_dir.join("master.key");
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let orgs = reef.admin().list_orgs(&Default::default()).await.unwrap();
    assert_eq!(orgs.items.len(), 1);
    assert_eq!(orgs.items[0].name, "default");
    assert_eq!(orgs.items[0].role, Role::Owner);
}

#[tokio::test]
async fn a_restart_keeps_the_data_and_prints_no_new_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Reef::start_with(crate::harness::Options { data_dir: Some(data.clone()), ..Default::default() });
    let token = first.admin_token.clone();
    first.admin().create_org("kept").await.unwrap();
    assert!(first.stop(), "reef did not exit cleanly on SIGTERM");
    let second = Reef::start_with(crate::harness::Options { data_dir: Some(data), ..Default::default() });
    assert!(second.admin_token.is_empty(), "a second token was printed: {:?}", second.stdout);
    let client = second.anonymous().with_token(token);
    let names: Vec<_> =
        client.list_orgs(&Default::default()).await.unwrap().items.into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["default", "kept"]);
}

#[tokio::test]
async fn the_cli_logs_in_with_the_admin_token_and_manages_organizations_members_and_tokens() {
    let reef = Reef::start();
    let cli = Cli::new();
    let data_dir = reef.data_dir.to_str().unwrap();
    let out = cli.ok(&["login", "--url", &reef.url, "--data-dir", data_dir]);
    assert!(out.contains("as `admin`"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(cli.config_path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the contexts file holds tokens");
    }

    let whoami = cli.json(&["user", "whoami"]);
    assert_eq!(whoami["username"], "admin");

    // A second user, who logs in with a password in another context.
    let out = cli.run_with_stdin(&["user", "create", "alice", "--password-stdin"], "correct horse battery\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alice = Cli::new();
    let out = alice.run_with_stdin(&["login", "--url", &reef.url, "--username", "alice"], "correct horse battery\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = alice.run_with_stdin(&["login", "--url", &reef.url, "--username", "alice"], "wrong password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_credentials"));

    // Organizations and members.
    let team = cli.json(&["org", "create", "team"]);
    assert_eq!(team["role"], "owner");
    assert!(alice.fails(&["org", "get", "team"]).contains("not_found"));
    cli.ok(&["member", "add", "alice", "--org", "team", "--role", "viewer"]);
    assert_eq!(alice.json(&["org", "get", "team"])["role"], "viewer");
    let members = cli.json(&["member", "list", "--org", "team"]);
    let names: Vec<_> = members["items"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"alice") && names.contains(&"admin"));
    cli.ok(&["member", "update", "alice", "--org", "team", "--role", "admin"]);
    assert_eq!(alice.json(&["org", "get", "team"])["role"], "admin");
    assert!(cli.fails(&["member", "remove", "admin", "--org", "team"]).contains("last_owner"));
    cli.ok(&["member", "remove", "alice", "--org", "team"]);
    assert!(alice.fails(&["org", "get", "team"]).contains("not_found"));

    // Tokens: created with a secret shown once, listed without it, revoked.
    let created = cli.json(&["token", "create", "ci", "--expires-in-days", "7"]);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = cli.ok(&["token", "list", "-o", "json"]);
    assert!(!listed.contains(&secret), "a token list shows a secret");
    let with_token = reef.anonymous().with_token(secret.clone());
    assert_eq!(with_token.whoami().await.unwrap().username, "admin");
    cli.ok(&["token", "revoke", &id]);
    let err = with_token.whoami().await.unwrap_err();
    assert_eq!(err.status(), Some(401));

    // Deleting an organization.
    cli.ok(&["org", "delete", "team"]);
    assert!(cli.fails(&["org", "get", "team"]).contains("not_found"));

    // Logging out of a password session ends it on the server.
    let session = reef.anonymous().login("alice", "correct horse battery").await.unwrap().token;
    let c = reef.anonymous().with_token(session);
    c.logout().await.unwrap();
    assert_eq!(c.whoami().await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn the_cli_creates_reads_updates_and_deletes_secrets() {
    let reef = Reef::start();
    let cli = Cli::new();
    cli.ok(&["login", "--url", &reef.url, "--with-token", &reef.admin_token]);

    let types = cli.ok(&["secret", "types"]);
    for t in ["amazon", "google", "azure", "digitalocean", "kubeconfig", "ssh", "tls", "password", "generic"] {
        assert!(types.contains(t), "{t} missing from:\n{types}");
    }

    let created = cli.json(&[
        "secret",
        "create",
        "db",
        "--type",
        "password",
        "--field",
        "username=app",
        "--field",
        "password=s3cret-value",
        "--tag",
        "prod",
    ]);
    assert_eq!(created["version"], 1);
    assert!(created.get("values").is_none());

    let bad = cli.fails(&["secret", "create", "bad", "--type", "password", "--field", "username=app"]);
    assert!(bad.contains("invalid_secret") && bad.contains("password"), "{bad}");

    // Values from a file: a YAML map of fields.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generic.yaml");
    std::fs::write(&file, "api_key: k-123\nendpoint: https://example.invalid\n").unwrap();
    cli.ok(&["secret", "create", "svc", "--type", "generic", "--from-file", file.to_str().unwrap()]);

    let list = cli.ok(&["secret", "list"]);
    assert!(list.contains("db") && list.contains("svc"), "{list}");
    assert!(!list.contains("s3cret-value"));
    let only_prod = cli.json(&["secret", "list", "--tag", "prod"]);
    assert_eq!(only_prod["items"].as_array().unwrap().len(), 1);

    let meta = cli.json(&["secret", "get", "db"]);
    assert!(meta.get("values").is_none());
    let revealed = cli.json(&["secret", "get", "db", "--reveal"]);
    assert_eq!(revealed["values"]["password"], "s3cret-value");

    let updated = cli.json(&["secret", "update", "db", "--field", "username=app", "--field", "password=rotated-value"]);
    assert_eq!(updated["version"], 2);
    let versions = cli.json(&["secret", "versions", "db"]);
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let old = cli.json(&["secret", "get", "db", "--reveal", "--version", "1"]);
    assert_eq!(old["values"]["password"], "s3cret-value");
    let stale = cli.fails(&["secret", "update", "db", "--tag", "x", "--expected-version", "1"]);
    assert!(stale.contains("version_mismatch"), "{stale}");

    cli.ok(&["secret", "delete", "db"]);
    assert!(cli.fails(&["secret", "get", "db"]).contains("not_found"));

    // The audit log saw all of it, without a value.
    let audit = cli.ok(&["audit", "-o", "json"]);
    for op in ["secret.create", "secret.update", "secret.delete", "secret.reveal"] {
        assert!(audit.contains(op), "{op} not audited");
    }
    assert!(!audit.contains("s3cret-value") && !audit.contains("rotated-value"));
    let failures = cli.json(&["audit", "--outcome", "failure"]);
    assert!(failures["items"].as_array().unwrap().iter().any(|e| e["error_code"] == "invalid_secret"));
}

#[tokio::test]
async fn an_expired_or_malformed_token_is_refused() {
    let reef = Reef::start();
    let admin = reef.admin();
    let soon = chrono::Utc::now() + chrono::Duration::seconds(1);
    let err = admin
        .create_token(&CreateTokenRequest {
            name: "past".into(),
            expires_at: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_expiry"));
    let t = admin.create_token(&CreateTokenRequest { name: "short".into(), expires_at: Some(soon) }).await.unwrap();
    let client = reef.anonymous().with_token(t.secret);
    // Poll with a deadline until the expiry passes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match client.whoami().await {
            Err(e) if e.status() == Some(401) => break,
            _ if std::time::Instant::now() > deadline => panic!("the token never expired"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    for bad in ["", "reef_pat_", "Bearer", "reef_pat_notarealtoken", "x".repeat(4000).as_str()] {
        let err = reef.anonymous().with_token(bad).whoami().await.unwrap_err();
        assert_eq!(err.status(), Some(401), "{bad:?}");
    }
}
