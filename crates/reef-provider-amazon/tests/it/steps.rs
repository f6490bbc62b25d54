//! The create steps against moto: a whole cluster made (each step run twice makes one of each
//! thing) and deleted by what it is tagged and named, leaving nothing; and a failure at each
//! step in turn, unwound by the undos of the steps before it, leaving nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use reef_core::cluster::{ClusterSpec, NodePool};
use reef_core::{ClusterName, KubernetesVersion, NodePoolName};
use reef_provider_amazon::ec2::{self, Owner};
use reef_provider_amazon::steps::{CREATE, ClusterSteps, UPDATE, eks_name};
use reef_provider_amazon::{Aws, eks, iam};
use serde_json::Value;

use crate::sts::{client, moto};

pub fn spec() -> ClusterSpec {
    ClusterSpec {
        name: ClusterName::parse("prod").unwrap(),
        provider: "amazon".to_owned(),
        region: "eu-west-1".to_owned(),
        kubernetes_version: Some(KubernetesVersion::parse("1.31").unwrap()),
        node_pools: vec![
            NodePool {
                name: NodePoolName::parse("workers").unwrap(),
                instance_type: "m5.large".to_owned(),
                count: 2,
                min: Some(1),
                max: Some(3),
                autoscaling: false,
                spot: false,
                labels: BTreeMap::from([("tier".to_owned(), "web".to_owned())]),
                taints: Vec::new(),
                disk_size_gib: None,
            },
            NodePool {
                name: NodePoolName::parse("batch").unwrap(),
                instance_type: "m5.xlarge".to_owned(),
                count: 1,
                min: None,
                max: None,
                autoscaling: false,
                spot: true,
                labels: BTreeMap::new(),
                taints: Vec::new(),
                disk_size_gib: None,
            },
        ],
        secret: None,
        labels: BTreeMap::new(),
        options: Default::default(),
    }
}

fn owner(cluster: &str) -> Owner {
    Owner { org: "org-1".to_owned(), cluster: cluster.to_owned(), name: "prod".to_owned() }
}

/// Everything of the cluster's that exists: EC2 resources, IAM roles, the EKS cluster.
async fn left(aws: &Aws, owner: &Owner) -> Vec<String> {
    let mut out: Vec<String> =
        ec2::tagged(aws, &owner.cluster).await.unwrap().into_iter().map(|(k, id)| format!("{k} {id}")).collect();
    for what in ["cluster", "nodes"] {
        let name = format!("reef-{}-{what}", owner.cluster);
        if iam::role_exists(aws, &name).await.unwrap() {
            out.push(format!("role {name}"));
        }
    }
    if let Some(c) = eks::describe_cluster(aws, &eks_name(owner)).await.unwrap() {
        out.push(format!("eks cluster {} ({})", c.name, c.status));
        for g in eks::list_node_groups(aws, &c.name).await.unwrap() {
            out.push(format!("node group {g}"));
        }
    }
    out
}

#[tokio::test]
async fn a_cluster_is_made_step_by_step_and_deleted_leaving_nothing() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    let spec = spec();
    let steps = ClusterSteps {
        aws: &aws,
        owner: owner("c-whole"),
        spec: &spec,
        previous: None,
        poll: Duration::from_millis(10),
    };
    let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
    for step in CREATE {
        let first = steps.run(step, &outputs).await.unwrap_or_else(|e| panic!("{step}: {e}"));
        // A step run again (its worker died before its output was recorded) makes nothing new.
        let again = steps.run(step, &outputs).await.unwrap();
        if *step != "eks_cluster" {
            assert_eq!(first, again, "{step}");
        }
        outputs.insert((*step).to_owned(), first);
    }
    let made = left(&aws, &steps.owner).await;
    let cluster = eks::describe_cluster(&aws, &eks_name(&steps.owner)).await.unwrap().unwrap();
    assert_eq!((cluster.status.as_str(), cluster.version.as_deref()), ("ACTIVE", Some("1.31")));
    assert!(cluster.endpoint.is_some());
    let workers = eks::describe_node_group(&aws, &cluster.name, "workers").await.unwrap().unwrap();
    assert_eq!(workers.scaling, (1, 3, 2));
    assert_eq!(made.len(), 10 + 2 + 1 + 2, "{made:#?}");

    steps.delete_all().await.unwrap();
    assert_eq!(left(&aws, &steps.owner).await, Vec::<String>::new());
    // Deleting again finds nothing to do.
    steps.delete_all().await.unwrap();
}

#[tokio::test]
async fn a_failure_at_any_step_is_unwound_by_the_undos_before_it_leaving_nothing() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    let spec = spec();
    for failing in 0..CREATE.len() {
        let steps = ClusterSteps {
            aws: &aws,
            owner: owner(&format!("c-fail-{failing}")),
            spec: &spec,
            previous: None,
            poll: Duration::from_millis(10),
        };
        let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
        for step in &CREATE[..failing] {
            let out = steps.run(step, &outputs).await.unwrap();
            outputs.insert((*step).to_owned(), out);
        }
        // The step at `failing` fails: the engine undoes the steps before it, newest first.
        for step in CREATE[..failing].iter().rev() {
            let out = outputs[*step].clone();
            steps.undo(step, &out, &outputs).await.unwrap_or_else(|e| panic!("undo {step}: {e}"));
        }
        assert_eq!(left(&aws, &steps.owner).await, Vec::<String>::new(), "failing at {}", CREATE[failing]);
    }
}

/// Creates a whole cluster for `owner` with `spec`; returns the create steps' outputs.
async fn create(aws: &Aws, owner: &Owner, spec: &ClusterSpec) -> BTreeMap<String, Value> {
    let steps = ClusterSteps { aws, owner: owner.clone(), spec, previous: None, poll: Duration::from_millis(10) };
    let mut outputs = BTreeMap::new();
    for step in CREATE {
        let out = steps.run(step, &outputs).await.unwrap_or_else(|e| panic!("{step}: {e}"));
        outputs.insert((*step).to_owned(), out);
    }
    outputs
}

/// The cluster's node groups: name and (min, max, desired).
async fn groups(aws: &Aws, owner: &Owner) -> Vec<(String, (u32, u32, u32))> {
    let name = eks_name(owner);
    let mut out = Vec::new();
    for g in eks::list_node_groups(aws, &name).await.unwrap() {
        let group = eks::describe_node_group(aws, &name, &g).await.unwrap().unwrap();
        out.push((g, group.scaling));
    }
    out.sort();
    out
}

#[tokio::test]
async fn node_pools_are_resized_added_and_removed_and_each_change_undone() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    let before = spec();
    let me = owner("c-update");
    create(&aws, &me, &before).await;
    let original = groups(&aws, &me).await;
    assert_eq!(original, [("batch".to_owned(), (1, 1, 1)), ("workers".to_owned(), (1, 3, 2))]);

    // workers grows to 3, batch goes, gpu comes.
    let mut after = spec();
    after.node_pools[0].count = 3;
    after.node_pools[0].max = Some(5);
    after.node_pools.remove(1);
    let mut gpu = before.node_pools[1].clone();
    gpu.name = NodePoolName::parse("gpu").unwrap();
    gpu.instance_type = "g5.xlarge".to_owned();
    after.node_pools.push(gpu);
    let steps = ClusterSteps {
        aws: &aws,
        owner: me.clone(),
        spec: &after,
        previous: Some(&before),
        poll: Duration::from_millis(10),
    };
    let mut outputs = BTreeMap::new();
    for step in UPDATE {
        let out = steps.run_update(step, &outputs).await.unwrap_or_else(|e| panic!("{step}: {e}"));
        outputs.insert((*step).to_owned(), out);
    }
    assert_eq!(groups(&aws, &me).await, [("gpu".to_owned(), (1, 1, 1)), ("workers".to_owned(), (1, 5, 3))]);
    // No version change: nothing upgraded.
    assert_eq!(outputs["upgrade_control_plane"], Value::Null);

    // Undone, newest first: back to where it started.
    for step in UPDATE.iter().rev() {
        steps.undo_update(step, &outputs[*step]).await.unwrap_or_else(|e| panic!("undo {step}: {e}"));
    }
    assert_eq!(groups(&aws, &me).await, original);
}

#[tokio::test]
async fn a_cluster_in_the_users_vpc_with_the_users_roles_leaves_them_after_its_delete() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    // The user's network and roles, made outside reef.
    let vpc = ec2::call(&aws, "CreateVpc", ec2::Params::default().with("CidrBlock", "10.9.0.0/16")).await.unwrap();
    let vpc = reef_provider_amazon::aws::xml_text(&vpc, "vpcId").unwrap();
    let mut subnets = Vec::new();
    for (i, zone) in ["eu-west-1a", "eu-west-1b"].iter().enumerate() {
        let params = ec2::Params::default()
            .with("VpcId", &vpc)
            .with("CidrBlock", format!("10.9.{i}.0/24"))
            .with("AvailabilityZone", *zone);
        let xml = ec2::call(&aws, "CreateSubnet", params).await.unwrap();
        subnets.push(reef_provider_amazon::aws::xml_text(&xml, "subnetId").unwrap());
    }
    let mut roles = Vec::new();
    for (name, service) in [("team-eks", "eks.amazonaws.com"), ("team-nodes", "ec2.amazonaws.com")] {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let params = [("RoleName".to_owned(), name.to_owned()), ("AssumeRolePolicyDocument".to_owned(), doc)];
        let xml = aws.query("iam", "2010-05-08", "CreateRole", &params).await.unwrap();
        roles.push(reef_provider_amazon::aws::xml_text(&xml, "Arn").unwrap());
    }

    let mut spec = spec();
    spec.node_pools[0].disk_size_gib = Some(50);
    spec.options = BTreeMap::from([
        ("vpc_id".to_owned(), vpc.clone()),
        ("subnet_ids".to_owned(), subnets.join(",")),
        ("cluster_role_arn".to_owned(), roles[0].clone()),
        ("node_role_arn".to_owned(), roles[1].clone()),
        ("endpoint_public_access".to_owned(), "false".to_owned()),
    ]);
    reef_provider_amazon::preflight::check(&aws, &spec).await.unwrap();
    // Each option is checked before anything is made.
    let refused = async |key: &str, value: Option<&str>| {
        let mut bad = spec.clone();
        match value {
            Some(v) => bad.options.insert(key.to_owned(), v.to_owned()),
            None => bad.options.remove(key),
        };
        let e = reef_provider_amazon::preflight::check(&aws, &bad).await.unwrap_err();
        assert_eq!(e.code, "option_invalid", "{key}: {e:?}");
        e.message
    };
    assert!(refused("subnet_ids", None).await.contains("both vpc_id and subnet_ids"));
    assert!(refused("subnet_ids", Some(&subnets[0])).await.contains("two availability zones"));
    assert!(refused("vpc_id", Some("vpc-0000000000000000")).await.contains("be in vpc-0000000000000000"));
    assert!(refused("node_role_arn", Some("arn:aws:iam::123456789012:role/nobody")).await.contains("does not exist"));
    assert!(refused("endpoint_private_access", Some("false")).await.contains("reachable from somewhere"));

    let me = owner("c-byo");
    let steps =
        ClusterSteps { aws: &aws, owner: me.clone(), spec: &spec, previous: None, poll: Duration::from_millis(10) };
    let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
    for step in CREATE {
        let out = steps.run(step, &outputs).await.unwrap_or_else(|e| panic!("{step}: {e}"));
        outputs.insert((*step).to_owned(), out);
    }
    // Nothing made in EC2 or IAM: the cluster runs in the user's VPC, with the user's roles.
    assert_eq!(ec2::tagged(&aws, &me.cluster).await.unwrap(), Vec::<(String, String)>::new());
    assert!(!iam::role_exists(&aws, &format!("reef-{}-cluster", me.cluster)).await.unwrap());
    let name = eks_name(&me);
    let cluster = aws.rest_json("eks", reqwest::Method::GET, &format!("/clusters/{name}"), None).await.unwrap();
    let config = &cluster["cluster"]["resourcesVpcConfig"];
    assert_eq!(config["endpointPublicAccess"], Value::Bool(false), "{config}");
    let mut used: Vec<String> =
        config["subnetIds"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    used.sort();
    let mut given = subnets.clone();
    given.sort();
    assert_eq!(used, given);
    assert_eq!(cluster["cluster"]["roleArn"], Value::String(roles[0].clone()));
    let group = aws
        .rest_json("eks", reqwest::Method::GET, &format!("/clusters/{name}/node-groups/workers"), None)
        .await
        .unwrap();
    assert_eq!(group["nodegroup"]["diskSize"], Value::from(50));
    assert_eq!(group["nodegroup"]["nodeRole"], Value::String(roles[1].clone()));

    // The delete removes the EKS cluster and leaves the user's VPC, subnets and roles.
    steps.delete_all().await.unwrap();
    assert!(eks::describe_cluster(&aws, &name).await.unwrap().is_none());
    let left = ec2::call(&aws, "DescribeSubnets", ec2::Params::default().filter(1, "vpc-id", &[&vpc])).await.unwrap();
    assert_eq!(ec2::items(&left, "subnetSet").len(), 2);
    assert!(iam::role_exists(&aws, "team-eks").await.unwrap() && iam::role_exists(&aws, "team-nodes").await.unwrap());
}
