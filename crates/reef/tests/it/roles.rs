//! Each role against each operation: what a role allows succeeds, what it does not answers
//! 403 with the code `forbidden`.

use reef_api_types::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Reef;

struct Case {
    name: &'static str,
    least: Role,
    method: Method,
    path: &'static str,
    body: Option<Value>,
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::Member => 1,
        Role::Admin => 2,
        Role::Owner => 3,
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

fn cases() -> Vec<Case> {
    let password = |p: &str| json!({"username": "u", "password": p});
    vec![
        Case {
            name: "read the organization",
            least: Role::Viewer,
            method: Method::GET,
            path: "/api/v1/orgs/{org}",
            body: None,
        },
        Case {
            name: "list members",
            least: Role::Viewer,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/members",
            body: None,
        },
        Case {
            name: "list secrets",
            least: Role::Viewer,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/secrets",
            body: None,
        },
        Case {
            name: "read secret metadata",
            least: Role::Viewer,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/secrets/keep",
            body: None,
        },
        Case {
            name: "list secret versions",
            least: Role::Viewer,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/secrets/keep/versions",
            body: None,
        },
        Case {
            name: "read secret values",
            least: Role::Admin,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/secrets/keep?reveal=true",
            body: None,
        },
        Case {
            name: "create a secret",
            least: Role::Member,
            method: Method::POST,
            path: "/api/v1/orgs/{org}/secrets",
            body: Some(json!({"name": "new", "type": "password", "values": password("p-12345678")})),
        },
        Case {
            name: "update a secret",
            least: Role::Member,
            method: Method::PATCH,
            path: "/api/v1/orgs/{org}/secrets/keep",
            body: Some(json!({"values": password("p-87654321")})),
        },
        Case {
            name: "delete a secret",
            least: Role::Member,
            method: Method::DELETE,
            path: "/api/v1/orgs/{org}/secrets/doomed",
            body: None,
        },
        Case {
            name: "read the audit log",
            least: Role::Admin,
            method: Method::GET,
            path: "/api/v1/orgs/{org}/audit",
            body: None,
        },
        Case {
            name: "add a member",
            least: Role::Admin,
            method: Method::POST,
            path: "/api/v1/orgs/{org}/members",
            body: Some(json!({"username": "newcomer", "role": "viewer"})),
        },
        Case {
            name: "change a member's role",
            least: Role::Admin,
            method: Method::PUT,
            path: "/api/v1/orgs/{org}/members/bystander",
            body: Some(json!({"role": "member"})),
        },
        Case {
            name: "grant the owner role",
            least: Role::Owner,
            method: Method::PUT,
            path: "/api/v1/orgs/{org}/members/promoted",
            body: Some(json!({"role": "owner"})),
        },
        Case {
            name: "remove a member",
            least: Role::Admin,
            method: Method::DELETE,
            path: "/api/v1/orgs/{org}/members/leaver",
            body: None,
        },
        Case {
            name: "delete the organization",
            least: Role::Owner,
            method: Method::DELETE,
            path: "/api/v1/orgs/{org}",
            body: None,
        },
    ]
}

#[tokio::test]
async fn each_role_may_do_exactly_what_its_rank_allows() {
    let reef = Reef::start();
    let admin = reef.admin();
    for name in ["newcomer", "bystander", "promoted", "leaver"] {
        let _ = reef.user(name).await;
    }
    let mut failures = Vec::new();
    for role in [Role::Viewer, Role::Member, Role::Admin, Role::Owner] {
        let org = format!("org-{}", role_name(role));
        admin.create_org(&org).await.unwrap();
        for (name, r) in [("bystander", Role::Viewer), ("promoted", Role::Member), ("leaver", Role::Viewer)] {
            admin.add_member(&org, name, r).await.unwrap();
        }
        for secret in ["keep", "doomed"] {
            admin
                .create_secret(
                    &org,
                    &reef_api_types::CreateSecretRequest {
                        name: secret.into(),
                        secret_type: "password".into(),
                        values: [
                            ("username".to_owned(), "u".to_owned()),
                            ("password".to_owned(), "p-12345678".to_owned()),
                        ]
                        .into(),
                        tags: vec![],
                    },
                )
                .await
                .unwrap();
        }
        let user = format!("as-{}", role_name(role));
        let client = reef.user(&user).await;
        admin.add_member(&org, &user, role).await.unwrap();
        for case in cases() {
            let (status, body) =
                client.raw(case.method.clone(), &case.path.replace("{org}", &org), case.body.clone()).await.unwrap();
            let allowed = rank(role) >= rank(case.least);
            let ok =
                if allowed { (200..300).contains(&status) } else { status == 403 && body.contains("\"forbidden\"") };
            if !ok {
                failures.push(format!(
                    "{} as {}: expected {}, got {status} {body}",
                    case.name,
                    role_name(role),
                    if allowed { "2xx" } else { "403" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn only_server_administrators_create_users() {
    let reef = Reef::start();
    let plain = reef.user("plain").await;
    let err = plain
        .create_user(&reef_api_types::CreateUserRequest {
            username: "other".into(),
            password: None,
            server_admin: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.code(), Some("server_admin_required"));
}
