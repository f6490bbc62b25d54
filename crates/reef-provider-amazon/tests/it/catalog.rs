//! The catalog as AWS lists it (moto): the account's regions, the region's instance types with
//! vCPUs and memory, and EKS's versions (the ones reef knows, as moto has no
//! `DescribeClusterVersions`); a create's spec is checked against it.

use std::collections::BTreeMap;

use reef_provider::{Call, Credentials, Provider as _};
use reef_provider_amazon::{AmazonOptions, AmazonProvider, Endpoints, catalog};

use crate::steps::spec;
use crate::sts::{client, moto};

#[tokio::test]
async fn the_live_catalog_comes_from_aws_and_checks_a_spec() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    let regions = catalog::regions(&aws).await.unwrap();
    assert!(
        regions.iter().any(|r| r.name == "eu-west-1") && regions.iter().any(|r| r.name == "us-east-1"),
        "{regions:?}"
    );
    let types = catalog::instance_types(&aws).await.unwrap();
    let m5 = types.iter().find(|t| t.name == "m5.large").expect("m5.large");
    assert_eq!((m5.vcpus, m5.memory_mib, m5.regions.as_slice()), (2, 8192, ["eu-west-1".to_owned()].as_slice()));
    assert!(types.len() > 100, "{} instance types", types.len());
    assert_eq!(catalog::versions(&aws).await.unwrap(), None, "moto has no DescribeClusterVersions");

    let provider = AmazonProvider::new(AmazonOptions {
        endpoints: Endpoints { all: Some(moto.endpoint.clone()) },
        ..AmazonOptions::default()
    });
    let credentials = Credentials(BTreeMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), "AKIAIOSFODNN7EXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned()),
    ]));
    let mut spec = spec();
    let outputs = BTreeMap::new();
    let call = |spec| Call {
        org: reef_core::OrgId::new(),
        cluster: reef_core::ClusterId::new(),
        spec,
        previous: None,
        credentials: Some(&credentials),
        outputs: &outputs,
    };
    let live = provider.live_catalog(call(&spec)).await.unwrap();
    assert_eq!(live.regions, regions);
    assert_eq!(live.instance_types, types);
    assert_eq!(live.kubernetes_versions.iter().map(ToString::to_string).collect::<Vec<_>>(), ["1.31", "1.32", "1.33"]);
    assert!(live.check(&spec).is_empty(), "{:?}", live.check(&spec));
    // Kept: asked again, the same catalog, even with moto gone.
    drop(moto);
    assert_eq!(provider.live_catalog(call(&spec)).await.unwrap(), live);
    spec.node_pools[0].instance_type = "m5.colossal".into();
    let problems = live.check(&spec);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "node_pools[0].instance_type");
}
