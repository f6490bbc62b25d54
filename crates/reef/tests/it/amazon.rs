//! An EKS cluster through reef's API against moto's AWS: created with an `amazon` secret,
//! every resource reef made listed while it runs (VPC, subnets, gateways, route tables, IAM
//! roles, the EKS cluster and a node group per pool), a kubeconfig that authenticates with
//! EKS's token, and all of it gone after the delete.

use std::time::Duration;

use reef_api_types::CreateSecretRequest;
use reef_provider_amazon::ec2::{self, Owner};
use reef_provider_amazon::steps::eks_name;
use reef_provider_amazon::{AccessKey, Aws, Endpoints, eks, iam};
use reef_testkit::{Moto, missing_peer};

use crate::clusters::{pool, spec};
use crate::harness::{Options, Reef};

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eks_cluster_is_created_with_everything_it_needs_and_deleted_leaving_nothing() {
    let Some(moto) = Moto::start().expect("starting moto") else {
        missing_peer("moto_server", "$REEF_MOTO or PATH; scripts/test installs moto[server] from PyPI");
        return;
    };
    let reef = Reef::start_with(Options {
        args: ["--aws-endpoint-url", &moto.endpoint].map(str::to_owned).to_vec(),
        ..Options::default()
    });
    let admin = reef.admin();
    let (key_id, secret_key) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let values = [
        ("AWS_ACCESS_KEY_ID".to_owned(), key_id.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret_key.to_owned()),
    ];
    let req =
        CreateSecretRequest { name: "aws".into(), secret_type: "amazon".into(), values: values.into(), tags: vec![] };
    admin.create_secret("default", &req).await.unwrap();

    // What amazon offers these credentials, as AWS lists it.
    let offer = admin.live_catalog("default", "amazon", Some("aws"), "eu-west-1").await.unwrap();
    assert!(offer.regions.iter().any(|r| r.name == "eu-west-1"), "{:?}", offer.regions);
    let m5 = offer.instance_types.iter().find(|t| t.name == "m5.large").expect("m5.large");
    assert_eq!((m5.vcpus, m5.memory_mib), (2, 8192));
    assert!(offer.options.iter().any(|o| o.name == "vpc_id"));

    let mut request = spec("prod", vec![pool("workers", "m5.large", 2), pool("batch", "m5.xlarge", 1)]);
    request.provider = "amazon".into();
    request.region = "eu-west-1".into();
    request.secret = Some("aws".into());
    // An option amazon does not take is refused, named, before anything starts.
    request.options = [("colour".to_owned(), "blue".to_owned())].into();
    match admin.create_cluster("default", &request).await.unwrap_err() {
        reef_client::ClientError::Api { status, problem } => {
            assert_eq!(status, 422);
            assert!(problem.problems.iter().any(|p| p.field == "options.colour"), "{problem:?}");
        }
        e => panic!("{e}"),
    }
    request.options = [("endpoint_private_access".to_owned(), "true".to_owned())].into();
    let created = admin.create_cluster("default", &request).await.unwrap();
    let op = admin.wait_for_operation("default", &created.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    let cluster = admin.get_cluster("default", "prod").await.unwrap();
    assert_eq!((cluster.status.as_str(), cluster.kubernetes_version.as_deref()), ("running", Some("1.33")));
    assert_eq!(cluster.options, request.options);

    // What reef made, as AWS lists it.
    let aws =
        Aws::new(AccessKey::new(key_id, secret_key, None), "eu-west-1", Endpoints { all: Some(moto.endpoint.clone()) })
            .unwrap();
    let owner = Owner { org: String::new(), cluster: cluster.id.to_string(), name: "prod".into() };
    let made = ec2::tagged(&aws, &owner.cluster).await.unwrap();
    let kinds: Vec<&str> = made.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "elastic-ip",
            "internet-gateway",
            "natgateway",
            "route-table",
            "route-table",
            "subnet",
            "subnet",
            "subnet",
            "subnet",
            "vpc"
        ],
        "{made:?}"
    );
    let eks_cluster = eks::describe_cluster(&aws, &eks_name(&owner)).await.unwrap().expect("the EKS cluster");
    assert_eq!(eks_cluster.status, "ACTIVE");
    let mut groups = eks::list_node_groups(&aws, &eks_cluster.name).await.unwrap();
    groups.sort();
    assert_eq!(groups, ["batch", "workers"]);
    for role in ["cluster", "nodes"] {
        assert!(iam::role_exists(&aws, &format!("reef-{}-{role}", owner.cluster)).await.unwrap(), "{role} role");
    }

    // The kubeconfig points at the EKS endpoint and carries EKS's token.
    let kubeconfig = admin.cluster_kubeconfig("default", "prod").await.unwrap();
    assert!(kubeconfig.contains(&format!("server: {}", eks_cluster.endpoint.clone().unwrap())), "{kubeconfig}");
    assert!(kubeconfig.contains("token: k8s-aws-v1."), "{kubeconfig}");

    let deleting = admin.delete_cluster("default", "prod").await.unwrap();
    let op = admin.wait_for_operation("default", &deleting.operation.id.to_string(), LIMIT).await.unwrap();
    assert_eq!(op.status, "succeeded", "{op:?}");
    assert_eq!(ec2::tagged(&aws, &owner.cluster).await.unwrap(), Vec::<(String, String)>::new());
    assert!(eks::describe_cluster(&aws, &eks_name(&owner)).await.unwrap().is_none());
    for role in ["cluster", "nodes"] {
        assert!(!iam::role_exists(&aws, &format!("reef-{}-{role}", owner.cluster)).await.unwrap(), "{role} role");
    }
}
