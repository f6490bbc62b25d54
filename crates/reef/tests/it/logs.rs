//! What reef logs: JSON lines when asked, and never a token, a password or a secret value,
//! even at debug level.

use reef_api_types::{CreateSecretRequest, CreateTokenRequest, CreateUserRequest};
use reqwest::Method;

use crate::harness::{Options, Reef};

#[tokio::test]
async fn debug_logs_are_json_lines_without_tokens_passwords_or_secret_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("reef.log");
    let mut reef = Reef::start_with(Options {
        args: vec!["--log".into(), "debug".into(), "--log-format".into(), "json".into()],
        stderr: Some(log.clone()),
        ..Default::default()
    });
    let admin = reef.admin();
    let password = "LOGMARKER-password-3e9d";
    admin
        .create_user(&CreateUserRequest {
            username: "carol".into(),
            password: Some(password.into()),
            server_admin: false,
        })
        .await
        .unwrap();
    let session = reef.anonymous().login("carol", password).await.unwrap().token;
    let _ = reef.anonymous().login("carol", "LOGMARKER-wrong-password").await.unwrap_err();
    // A password typed into the user name field is not logged either.
    let _ = reef.anonymous().login("LOGMARKER-typed-into-name", "x").await.unwrap_err();
    let token = admin.create_token(&CreateTokenRequest { name: "t".into(), expires_at: None }).await.unwrap().secret;
    admin
        .create_secret(
            "default",
            &CreateSecretRequest {
                name: "s".into(),
                secret_type: "generic".into(),
                values: [("key".to_owned(), "LOGMARKER-secret-value".to_owned())].into(),
                tags: vec![],
            },
        )
        .await
        .unwrap();
    admin.get_secret("default", "s", true, None).await.unwrap();
    let bad =
        serde_json::json!({"name": "bad", "type": "password", "values": {"password": "LOGMARKER-invalid-secret"}});
    let (status, _) = admin.raw(Method::POST, "/api/v1/orgs/default/secrets", Some(bad)).await.unwrap();
    assert_eq!(status, 422);
    assert!(reef.stop());

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 10, "too few log lines to judge: {text}");
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(parsed.get("level").is_some() && parsed.get("timestamp").is_some(), "{line}");
    }
    for secret in [reef.admin_token.as_str(), session.as_str(), token.as_str(), "LOGMARKER"] {
        assert!(!text.contains(secret), "the logs contain {secret:?}");
    }
}
