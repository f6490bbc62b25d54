//! The preflight refuses, before anything is made, what AWS would refuse half way: a region
//! or instance type AWS does not offer, a wrong secret key, an unknown access key, and
//! credentials without the permissions a create needs (moto checking IAM as AWS does).

use std::collections::BTreeMap;

use reef_provider::Retry;
use reef_provider_amazon::aws::xml_text;
use reef_provider_amazon::{AccessKey, Aws, Endpoints, preflight};
use reef_testkit::{Moto, missing_peer};

use crate::steps::spec;
use crate::sts::{client, moto};

fn in_region(moto: &Moto, key: AccessKey, region: &str) -> Aws {
    Aws::new(key, region, Endpoints { all: Some(moto.endpoint.clone()) }).unwrap()
}

#[tokio::test]
async fn a_region_or_instance_type_aws_does_not_offer_is_refused_up_front() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    preflight::check(&aws, &spec()).await.unwrap();

    let mut odd = spec();
    odd.node_pools[1].instance_type = "m5.colossal".into();
    let e = preflight::check(&aws, &odd).await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Permanent, "instance_type_unknown"));
    assert!(e.message.contains("m5.colossal") && !e.message.contains("m5.large"), "{}", e.message);

    let nowhere =
        in_region(&moto, AccessKey::new("AKIAIOSFODNN7EXAMPLE", "x".repeat(40).as_str(), None), "xx-nowhere-1");
    let e = preflight::check(&nowhere, &spec()).await.unwrap_err();
    assert_eq!(e.code, "region_unknown");
    assert!(e.message.contains("xx-nowhere-1") && e.message.contains("eu-west-1"), "{}", e.message);
}

async fn iam(aws: &Aws, action: &str, params: &[(&str, &str)]) -> String {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    aws.query("iam", "2010-05-08", action, &params).await.unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// A user with an access key: (key id, secret key).
async fn user(aws: &Aws, name: &str, policy: Option<&str>) -> (String, String) {
    iam(aws, "CreateUser", &[("UserName", name)]).await;
    if let Some(policy) = policy {
        iam(aws, "AttachUserPolicy", &[("UserName", name), ("PolicyArn", policy)]).await;
    }
    let xml = iam(aws, "CreateAccessKey", &[("UserName", name)]).await;
    (xml_text(&xml, "AccessKeyId").unwrap(), xml_text(&xml, "SecretAccessKey").unwrap())
}

#[tokio::test]
async fn bad_credentials_and_missing_permissions_are_refused_with_what_to_do() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The first five calls set up two users; every call after is checked.
    let Some(moto) = Moto::start_with_auth(5).expect("starting moto") else {
        missing_peer("moto_server", "$REEF_MOTO or PATH; scripts/test installs moto[server] from PyPI");
        return;
    };
    let setup = client(&moto);
    let (admin_id, admin_secret) = user(&setup, "admin", Some("arn:aws:iam::aws:policy/AdministratorAccess")).await;
    let (bare_id, bare_secret) = user(&setup, "bare", None).await;

    let admin = in_region(&moto, AccessKey::new(&admin_id, &admin_secret, None), "eu-west-1");
    preflight::check(&admin, &spec()).await.unwrap();

    let wrong_secret = in_region(&moto, AccessKey::new(&admin_id, &"w".repeat(40), None), "eu-west-1");
    let e = preflight::check(&wrong_secret, &spec()).await.unwrap_err();
    assert_eq!((e.retry, e.code.as_str()), (Retry::Permanent, "SignatureDoesNotMatch"), "{e:?}");
    assert!(e.message.contains("AWS_SECRET_ACCESS_KEY"), "{}", e.message);

    let unknown = in_region(&moto, AccessKey::new("AKIAUNKNOWNKEY000000", &admin_secret, None), "eu-west-1");
    let e = preflight::check(&unknown, &spec()).await.unwrap_err();
    assert_eq!(e.code, "InvalidClientTokenId", "{e:?}");
    assert!(e.message.contains("AWS_ACCESS_KEY_ID"), "{}", e.message);

    let bare = in_region(&moto, AccessKey::new(&bare_id, &bare_secret, None), "eu-west-1");
    let e = preflight::check(&bare, &spec()).await.unwrap_err();
    assert_eq!(e.retry, Retry::Permanent, "{e:?}");
    assert!(["AccessDenied", "UnauthorizedOperation", "permission_missing"].contains(&e.code.as_str()), "{e:?}");
    assert!(e.message.contains("grant"), "{}", e.message);
    let _ = BTreeMap::<String, String>::new();
}
