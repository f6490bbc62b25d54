//! An organization never sees another's data: every organization-scoped endpoint, walked from
//! the live OpenAPI document, answers 404 to a caller from another organization, exactly as
//! for an organization that does not exist.

use reef_api_types::{CreateClusterRequest, CreateSecretRequest, Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Reef;

/// A body the operation accepts, so that only authorization can refuse the call.
fn body_for(method: &Method, path: &str) -> Option<Value> {
    match (method.as_str(), path) {
        (_, _) if matches!(*method, Method::GET | Method::DELETE) => None,
        ("POST", "/api/v1/orgs/{org}/members") => Some(json!({"username": "mallory", "role": "owner"})),
        ("PUT", "/api/v1/orgs/{org}/members/{username}") => Some(json!({"role": "owner"})),
        ("POST", "/api/v1/orgs/{org}/secrets") => {
            Some(json!({"name": "planted", "type": "password", "values": {"username": "u", "password": "p-12345678"}}))
        }
        ("PATCH", "/api/v1/orgs/{org}/secrets/{secret}") => Some(json!({"tags": ["tampered"]})),
        ("POST", "/api/v1/orgs/{org}/clusters") => Some(json!({
            "name": "planted",
            "provider": "local",
            "region": "local",
            "node_pools": [{"name": "workers", "instance_type": "small", "count": 1}],
        })),
        ("PATCH", "/api/v1/orgs/{org}/clusters/{cluster}") => Some(json!({"labels": {"tampered": "yes"}})),
        ("POST", "/api/v1/orgs/{org}/clusters/{cluster}/secrets") => {
            Some(json!({"secret": "victim-secret", "namespace": "default"}))
        }
        ("POST", "/api/v1/orgs/{org}/clusters/{cluster}/deployments")
        | ("PUT", "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}") => {
            // An empty archive: authorization answers before the chart is read.
            Some(json!({"release": "planted", "chart": ""}))
        }
        ("POST", "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/rollback") => Some(json!({})),
        ("POST", "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/test") => None,
        ("POST", "/api/v1/orgs/{org}/clusters/{cluster}/deployments/{release}/diff") => {
            Some(json!({"release": "planted", "chart": ""}))
        }
        ("POST", "/api/v1/orgs/{org}/deployments") => {
            Some(json!({"clusters": ["victim-cluster"], "deployment": {"release": "planted", "chart": ""}}))
        }
        ("POST", "/api/v1/orgs/{org}/helm/repos") => Some(json!({"name": "planted", "url": "http://127.0.0.1:9/"})),
        ("POST", "/api/v1/orgs/{org}/helm/repos/{repo}/update") => None,
        ("POST", "/api/v1/orgs/{org}/operations/{id}/cancel") => None,
        _ => panic!("no request body known for {method} {path}: add one to isolation.rs"),
    }
}

/// The victim's objects that paths name.
struct Victims {
    cluster: String,
    operation: String,
}

fn fill(path: &str, org: &str, victims: &Victims) -> String {
    path.replace("{org}", org)
        .replace("{secret}", "victim-secret")
        .replace("{username}", "admin")
        .replace("{cluster}", &victims.cluster)
        .replace("{id}", &victims.operation)
        .replace("{release}", "victim-release")
        .replace("{repo}", "victim-repo")
}

#[tokio::test]
async fn every_organization_endpoint_answers_404_to_another_organizations_caller() {
    let reef = Reef::start();
    let admin = reef.admin();
    let victim_org = admin.create_org("victim").await.unwrap();
    admin
        .create_secret(
            "victim",
            &CreateSecretRequest {
                name: "victim-secret".into(),
                secret_type: "password".into(),
                values: [("username".to_owned(), "u".to_owned()), ("password".to_owned(), "p-12345678".to_owned())]
                    .into(),
                tags: vec![],
            },
        )
        .await
        .unwrap();
    let cluster = CreateClusterRequest {
        name: "victim-cluster".into(),
        provider: "local".into(),
        region: "local".into(),
        kubernetes_version: None,
        node_pools: vec![],
        secret: None,
        labels: Default::default(),
        options: Default::default(),
    };
    let created = admin.create_cluster("victim", &cluster).await.unwrap();
    let victims = Victims { cluster: created.cluster.id.to_string(), operation: created.operation.id.to_string() };
    // Mallory owns an organization of her own, so she holds every role, just not in `victim`.
    let mallory = reef.user("mallory").await;
    mallory.create_org("mallory-org").await.unwrap();

    let (status, doc) = reef.anonymous().raw(Method::GET, "/api/v1/openapi.json", None).await.unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let mut walked = 0;
    let mut failures = Vec::new();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains("{org}") {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path.clone()));
            }
        }
    }
    // Deleting comes last, so that every other call meets the victim's data intact.
    operations.sort_by_key(|(m, p)| (*m == Method::DELETE, p.len()));
    for (method, path) in &operations {
        for org in ["victim", &victim_org.id.to_string(), "no-such-org"] {
            let (status, body) =
                mallory.raw(method.clone(), &fill(path, org, &victims), body_for(method, path)).await.unwrap();
            walked += 1;
            if status != 404 {
                failures.push(format!("{method} {path} with org={org}: {status} {body}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "another organization's caller got an answer other than 404:\n{}",
        failures.join("\n")
    );
    assert!(walked >= 3 * 10, "only {walked} calls: did the OpenAPI document lose the organization endpoints?");

    // Nothing was changed: the victim still has its organization, secret and only member.
    let secret = admin.get_secret("victim", "victim-secret", true, None).await.unwrap();
    assert_eq!(secret.version, 1);
    assert!(secret.tags.is_empty());
    let members = admin.list_members("victim", &Default::default()).await.unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].role, Role::Owner);
    let secrets = admin.list_secrets("victim", None, None, &Default::default()).await.unwrap();
    assert_eq!(secrets.items.len(), 1);
    let op = admin.get_operation("victim", &victims.operation).await.unwrap();
    assert!(!op.cancel_requested, "{op:?}");
    let clusters = admin.list_clusters("victim", &[], &Default::default()).await.unwrap();
    assert_eq!(clusters.items.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["victim-cluster"]);
}

#[tokio::test]
async fn a_caller_sees_only_their_own_organizations_and_tokens() {
    let reef = Reef::start();
    let admin = reef.admin();
    admin.create_org("hidden").await.unwrap();
    let eve = reef.user("eve").await;
    let orgs = eve.list_orgs(&Default::default()).await.unwrap();
    assert!(orgs.items.is_empty(), "eve sees {orgs:?}");
    let admin_tokens = admin.list_tokens(&Default::default()).await.unwrap();
    let id = admin_tokens.items[0].id.to_string();
    let err = eve.revoke_token(&id).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(eve.list_tokens(&Default::default()).await.unwrap().items.is_empty());
}
