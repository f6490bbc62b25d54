//! Credentials are checked with STS, and EKS's token is a presigned `GetCallerIdentity` that
//! answers for them.

use base64::Engine as _;
use reef_provider_amazon::sts::caller_identity;
use reef_provider_amazon::{AccessKey, Aws, Endpoints};
use reef_testkit::{Moto, missing_peer};

pub fn moto() -> Option<Moto> {
    // The process's TLS crypto, as the reef binary installs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let moto = Moto::start().expect("starting moto");
    if moto.is_none() {
        missing_peer("moto_server", "$REEF_MOTO or PATH; scripts/test installs moto[server] from PyPI");
    }
    moto
}

pub fn client(moto: &Moto) -> Aws {
    let key = AccessKey::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None);
    Aws::new(key, "eu-west-1", Endpoints { all: Some(moto.endpoint.clone()) }).unwrap()
}

#[tokio::test]
async fn the_caller_identity_names_the_account() {
    let Some(moto) = moto() else { return };
    let id = caller_identity(&client(&moto)).await.unwrap();
    assert_eq!(id.account, "123456789012");
    assert!(id.arn.starts_with("arn:aws:"), "{id:?}");
}

#[tokio::test]
async fn an_eks_token_is_a_presigned_get_caller_identity_for_the_cluster() {
    let Some(moto) = moto() else { return };
    let token = client(&moto).eks_token("prod").unwrap();
    let url = token.strip_prefix("k8s-aws-v1.").expect("the EKS token prefix");
    let url = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(url).unwrap()).unwrap();
    let parsed = reqwest::Url::parse(&url).unwrap();
    let q: std::collections::BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["Action"], "GetCallerIdentity");
    assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(q["X-Amz-Expires"], "60");
    assert!(
        q["X-Amz-Credential"].starts_with("AKIAIOSFODNN7EXAMPLE/")
            && q["X-Amz-Credential"].ends_with("/eu-west-1/sts/aws4_request")
    );
    assert_eq!(q["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
    assert_eq!(q["X-Amz-Signature"].len(), 64);
    // What the API server does with it: GET it with the cluster's header; STS answers who.
    // (moto serves every service at one address and picks the service from an Authorization
    // header's credential scope, which a presigned URL carries in its query instead: the
    // header below only routes the request to moto's STS.)
    let scope = format!("AWS4-HMAC-SHA256 Credential={}, SignedHeaders=host, Signature=0", q["X-Amz-Credential"]);
    let answer = reqwest::Client::new()
        .get(&url)
        .header("x-k8s-aws-id", "prod")
        .header("authorization", scope)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let body = answer.text().await.unwrap();
    assert!(body.contains("<Account>123456789012</Account>"), "{body}");
}
