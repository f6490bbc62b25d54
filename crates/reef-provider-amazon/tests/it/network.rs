//! A cluster's network against moto: each step run twice makes one of each thing, everything
//! made is tagged as the cluster's, and the deletes, run in reverse (twice), leave nothing of
//! it, and nothing of another cluster's is touched.

use reef_provider_amazon::ec2::{self, Owner};
use reef_provider_amazon::network::{self, Vpc};

use crate::sts::{client, moto};

fn owner(cluster: &str) -> Owner {
    Owner { org: "org-1".to_owned(), cluster: cluster.to_owned(), name: format!("name-{cluster}") }
}

#[tokio::test]
async fn a_network_is_made_once_however_often_its_steps_run_and_its_deletes_leave_nothing() {
    let Some(moto) = moto() else { return };
    let aws = client(&moto);
    let me = owner("c-1");
    let neighbour = network::create_vpc(&aws, &owner("c-2")).await.unwrap();

    let vpc = network::create_vpc(&aws, &me).await.unwrap();
    assert_eq!(network::create_vpc(&aws, &me).await.unwrap(), vpc);
    let subnets = network::create_subnets(&aws, &me, &vpc).await.unwrap();
    assert_eq!(network::create_subnets(&aws, &me, &vpc).await.unwrap(), subnets);
    assert_eq!((subnets.zones.len(), subnets.public.len(), subnets.private.len()), (2, 2, 2));
    let internet = network::create_internet_gateway(&aws, &me, &vpc).await.unwrap();
    assert_eq!(network::create_internet_gateway(&aws, &me, &vpc).await.unwrap(), internet);
    let nat = network::create_nat_gateway(&aws, &me, &subnets).await.unwrap();
    assert_eq!(network::create_nat_gateway(&aws, &me, &subnets).await.unwrap(), nat);
    let routes = network::create_routes(&aws, &me, &vpc, &subnets, &internet, &nat).await.unwrap();
    assert_eq!(network::create_routes(&aws, &me, &vpc, &subnets, &internet, &nat).await.unwrap(), routes);

    let made = ec2::tagged(&aws, &me.cluster).await.unwrap();
    let count = |kind: &str| made.iter().filter(|(t, _)| t == kind).count();
    assert_eq!(
        (
            count("vpc"),
            count("subnet"),
            count("internet-gateway"),
            count("route-table"),
            count("natgateway"),
            count("elastic-ip")
        ),
        (1, 4, 1, 2, 1, 1),
        "{made:?}"
    );

    for _ in 0..2 {
        network::delete_routes(&aws, &routes).await.unwrap();
        network::delete_nat_gateway(&aws, &nat).await.unwrap();
        network::delete_internet_gateway(&aws, &vpc, &internet).await.unwrap();
        network::delete_subnets(&aws, &subnets).await.unwrap();
        network::delete_vpc(&aws, &vpc).await.unwrap();
    }
    assert_eq!(ec2::tagged(&aws, &me.cluster).await.unwrap(), Vec::<(String, String)>::new());
    let released = ec2::call(&aws, "DescribeAddresses", ec2::Params::default()).await.unwrap();
    assert!(!released.contains(&nat.allocation_id), "the elastic IP was released");
    // The other cluster's VPC is still there.
    let theirs = ec2::tagged(&aws, "c-2").await.unwrap();
    assert_eq!(theirs, vec![("vpc".to_owned(), neighbour.vpc_id.clone())]);
    network::delete_vpc(&aws, &Vpc { vpc_id: neighbour.vpc_id }).await.unwrap();
}
