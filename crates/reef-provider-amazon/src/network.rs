//! A cluster's network, as EKS wants it: a VPC with a public and a private subnet in each of
//! two availability zones, an internet gateway for the public subnets, a NAT gateway (with its
//! elastic IP) for the private ones, and their route tables.
//!
//! Each part is made by its own function, a workflow step, with a delete that undoes it. A
//! step run again finds what it made the first time by its tags instead of making another; a
//! delete succeeds when there is nothing left to delete.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError};
use crate::ec2::{self, Owner, Params, call, find, is_gone};

/// The VPC's address range; each subnet takes a /19 of it.
pub const VPC_CIDR: &str = "10.0.0.0/16";

/// The VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// Its id.
    pub vpc_id: String,
}

/// The subnets, one public and one private per zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnets {
    /// The availability zones.
    pub zones: Vec<String>,
    /// The public subnets' ids, one per zone.
    pub public: Vec<String>,
    /// The private subnets' ids, one per zone.
    pub private: Vec<String>,
}

/// The internet gateway, attached to the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGateway {
    /// Its id.
    pub internet_gateway_id: String,
}

/// The NAT gateway and its elastic IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    /// Its id.
    pub nat_gateway_id: String,
    /// The elastic IP's allocation id.
    pub allocation_id: String,
}

/// The route tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// The public subnets' table: the internet through the internet gateway.
    pub public_table: String,
    /// The private subnets' table: the internet through the NAT gateway.
    pub private_table: String,
}

fn first_id(items: &[ec2::Item], field: &str) -> Option<String> {
    items.first().and_then(|i| i.get(field)).map(str::to_owned)
}

fn created_id(xml: &str, field: &str) -> Result<String, AwsError> {
    crate::aws::xml_text(xml, field).ok_or_else(|| AwsError {
        service: "ec2",
        action: field.to_owned(),
        status: 200,
        code: "unreadable_answer".to_owned(),
        message: format!("the answer holds no {field}"),
    })
}

/// Ignores an error that says the work is already done.
fn done_already(result: Result<String, AwsError>, codes: &[&str]) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if codes.contains(&e.code.as_str()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Ignores an error that says the thing is gone.
fn gone_already(result: Result<String, AwsError>) -> Result<(), AwsError> {
    match result {
        Err(e) if !is_gone(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Makes (or finds) the VPC, with DNS hostnames on, as EKS needs.
pub async fn create_vpc(aws: &Aws, owner: &Owner) -> Result<Vpc, AwsError> {
    let found = find(aws, "DescribeVpcs", "vpcSet", "vpcId", &owner.cluster, "vpc").await?;
    let vpc_id = match first_id(&found, "vpcId") {
        Some(id) => id,
        None => {
            let xml =
                call(aws, "CreateVpc", Params::default().with("CidrBlock", VPC_CIDR).tags("vpc", owner, "vpc")).await?;
            created_id(&xml, "vpcId")?
        }
    };
    for attribute in ["EnableDnsSupport", "EnableDnsHostnames"] {
        let params = Params::default().with("VpcId", &vpc_id).with(format!("{attribute}.Value"), "true");
        call(aws, "ModifyVpcAttribute", params).await?;
    }
    Ok(Vpc { vpc_id })
}

/// Deletes the VPC.
pub async fn delete_vpc(aws: &Aws, vpc: &Vpc) -> Result<(), AwsError> {
    gone_already(call(aws, "DeleteVpc", Params::default().with("VpcId", &vpc.vpc_id)).await)
}

/// Makes (or finds) a public and a private subnet in each of the region's first two zones.
pub async fn create_subnets(aws: &Aws, owner: &Owner, vpc: &Vpc) -> Result<Subnets, AwsError> {
    let xml = call(aws, "DescribeAvailabilityZones", Params::default().filter(1, "state", &["available"])).await?;
    let mut zones: Vec<String> =
        ec2::items(&xml, "availabilityZoneInfo").iter().filter_map(|z| z.get("zoneName").map(str::to_owned)).collect();
    zones.sort();
    zones.truncate(2);
    if zones.len() < 2 {
        return Err(AwsError {
            service: "ec2",
            action: "DescribeAvailabilityZones".to_owned(),
            status: 200,
            code: "not_enough_zones".to_owned(),
            message: format!("EKS needs two availability zones; {} has {}", aws.region(), zones.len()),
        });
    }
    let mut subnets = Subnets { zones: zones.clone(), public: Vec::new(), private: Vec::new() };
    for (i, zone) in zones.iter().enumerate() {
        for (public, offset) in [(true, 0), (false, 2)] {
            let part = format!("{}-{}", if public { "public" } else { "private" }, i);
            let found = find(aws, "DescribeSubnets", "subnetSet", "subnetId", &owner.cluster, &part).await?;
            let id = match first_id(&found, "subnetId") {
                Some(id) => id,
                None => {
                    let cidr = format!("10.0.{}.0/19", (i + offset) * 32);
                    let params = Params::default()
                        .with("VpcId", &vpc.vpc_id)
                        .with("CidrBlock", cidr)
                        .with("AvailabilityZone", zone)
                        .tags("subnet", owner, &part);
                    created_id(&call(aws, "CreateSubnet", params).await?, "subnetId")?
                }
            };
            if public {
                let params = Params::default().with("SubnetId", &id).with("MapPublicIpOnLaunch.Value", "true");
                call(aws, "ModifySubnetAttribute", params).await?;
                subnets.public.push(id);
            } else {
                subnets.private.push(id);
            }
        }
    }
    Ok(subnets)
}

/// Deletes the subnets.
pub async fn delete_subnets(aws: &Aws, subnets: &Subnets) -> Result<(), AwsError> {
    delete_subnet_ids(aws, &[subnets.public.as_slice(), subnets.private.as_slice()].concat()).await
}

async fn delete_subnet_ids(aws: &Aws, ids: &[String]) -> Result<(), AwsError> {
    for id in ids {
        gone_already(call(aws, "DeleteSubnet", Params::default().with("SubnetId", id)).await)?;
    }
    Ok(())
}

/// Makes (or finds) the internet gateway and attaches it to the VPC.
pub async fn create_internet_gateway(aws: &Aws, owner: &Owner, vpc: &Vpc) -> Result<InternetGateway, AwsError> {
    let found =
        find(aws, "DescribeInternetGateways", "internetGatewaySet", "internetGatewayId", &owner.cluster, "igw").await?;
    let id = match first_id(&found, "internetGatewayId") {
        Some(id) => id,
        None => {
            let xml =
                call(aws, "CreateInternetGateway", Params::default().tags("internet-gateway", owner, "igw")).await?;
            created_id(&xml, "internetGatewayId")?
        }
    };
    let attach =
        call(aws, "AttachInternetGateway", Params::default().with("InternetGatewayId", &id).with("VpcId", &vpc.vpc_id));
    done_already(attach.await, &["Resource.AlreadyAssociated"])?;
    Ok(InternetGateway { internet_gateway_id: id })
}

/// Detaches and deletes the internet gateway.
pub async fn delete_internet_gateway(aws: &Aws, vpc: &Vpc, gateway: &InternetGateway) -> Result<(), AwsError> {
    let id = &gateway.internet_gateway_id;
    let detach =
        call(aws, "DetachInternetGateway", Params::default().with("InternetGatewayId", id).with("VpcId", &vpc.vpc_id));
    match detach.await {
        Err(e) if !is_gone(&e) && e.code != "Gateway.NotAttached" => return Err(e),
        _ => {}
    }
    gone_already(call(aws, "DeleteInternetGateway", Params::default().with("InternetGatewayId", id)).await)
}

/// Makes (or finds) an elastic IP and the NAT gateway in the first public subnet.
pub async fn create_nat_gateway(aws: &Aws, owner: &Owner, subnets: &Subnets) -> Result<NatGateway, AwsError> {
    let found = find(aws, "DescribeAddresses", "addressesSet", "allocationId", &owner.cluster, "nat-ip").await?;
    let allocation_id = match first_id(&found, "allocationId") {
        Some(id) => id,
        None => {
            let params = Params::default().with("Domain", "vpc").tags("elastic-ip", owner, "nat-ip");
            created_id(&call(aws, "AllocateAddress", params).await?, "allocationId")?
        }
    };
    let found = find(aws, "DescribeNatGateways", "natGatewaySet", "natGatewayId", &owner.cluster, "nat").await?;
    let nat_gateway_id = match first_id(&found, "natGatewayId") {
        Some(id) => id,
        None => {
            let params = Params::default()
                .with("SubnetId", &subnets.public[0])
                .with("AllocationId", &allocation_id)
                .tags("natgateway", owner, "nat");
            created_id(&call(aws, "CreateNatGateway", params).await?, "natGatewayId")?
        }
    };
    Ok(NatGateway { nat_gateway_id, allocation_id })
}

/// The state of a NAT gateway (`pending`, `available`, `deleting`, `deleted`, `failed`).
pub async fn nat_gateway_state(aws: &Aws, id: &str) -> Result<Option<String>, AwsError> {
    let xml = call(aws, "DescribeNatGateways", Params::default().with("NatGatewayId.1", id)).await;
    match xml {
        Ok(xml) => Ok(ec2::items(&xml, "natGatewaySet").first().and_then(|i| i.get("state")).map(str::to_owned)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes the NAT gateway, waits until it is gone (its address stays in use until then), and
/// releases the elastic IP.
pub async fn delete_nat_gateway(aws: &Aws, nat: &NatGateway) -> Result<(), AwsError> {
    delete_nat(aws, &nat.nat_gateway_id).await?;
    release_address(aws, &nat.allocation_id).await
}

/// Deletes a NAT gateway and waits until it is gone.
async fn delete_nat(aws: &Aws, id: &str) -> Result<(), AwsError> {
    gone_already(call(aws, "DeleteNatGateway", Params::default().with("NatGatewayId", id)).await)?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        match nat_gateway_state(aws, id).await?.as_deref() {
            None | Some("deleted" | "failed") => return Ok(()),
            Some(_) if tokio::time::Instant::now() > deadline => {
                return Err(AwsError {
                    service: "ec2",
                    action: "DeleteNatGateway".to_owned(),
                    status: 0,
                    code: "timeout".to_owned(),
                    message: "the NAT gateway is still being deleted after 10 minutes".to_owned(),
                });
            }
            Some(_) => tokio::time::sleep(std::time::Duration::from_secs(5)).await,
        }
    }
}

async fn release_address(aws: &Aws, allocation: &str) -> Result<(), AwsError> {
    gone_already(call(aws, "ReleaseAddress", Params::default().with("AllocationId", allocation)).await)
}

async fn route_table(
    aws: &Aws,
    owner: &Owner,
    vpc: &Vpc,
    part: &str,
    target: (&str, &str),
    subnets: &[String],
) -> Result<String, AwsError> {
    let found = find(aws, "DescribeRouteTables", "routeTableSet", "routeTableId", &owner.cluster, part).await?;
    let id = match first_id(&found, "routeTableId") {
        Some(id) => id,
        None => {
            let params = Params::default().with("VpcId", &vpc.vpc_id).tags("route-table", owner, part);
            created_id(&call(aws, "CreateRouteTable", params).await?, "routeTableId")?
        }
    };
    let route =
        Params::default().with("RouteTableId", &id).with("DestinationCidrBlock", "0.0.0.0/0").with(target.0, target.1);
    done_already(call(aws, "CreateRoute", route).await, &["RouteAlreadyExists"])?;
    let associated = associations(aws, &id).await?;
    for subnet in subnets {
        if associated.iter().any(|(_, s)| s == subnet) {
            continue;
        }
        let params = Params::default().with("RouteTableId", &id).with("SubnetId", subnet);
        done_already(call(aws, "AssociateRouteTable", params).await, &["Resource.AlreadyAssociated"])?;
    }
    Ok(id)
}

/// A route table's subnet associations: (association id, subnet id).
async fn associations(aws: &Aws, table: &str) -> Result<Vec<(String, String)>, AwsError> {
    let xml = match call(aws, "DescribeRouteTables", Params::default().with("RouteTableId.1", table)).await {
        Ok(xml) => xml,
        Err(e) if is_gone(&e) => return Ok(Vec::new()),
        Err(e) => Err(e)?,
    };
    let Ok(doc) = roxmltree::Document::parse(&xml) else { return Ok(Vec::new()) };
    let text = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).map(str::trim).map(str::to_owned)
    };
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("associationSet"))
        .flat_map(|set| set.children().filter(|c| c.has_tag_name("item")))
        .filter(|a| text(*a, "main").as_deref() != Some("true"))
        .filter_map(|a| Some((text(a, "routeTableAssociationId")?, text(a, "subnetId")?)))
        .collect())
}

/// Makes (or finds) the route tables and their routes, and associates the subnets.
pub async fn create_routes(
    aws: &Aws,
    owner: &Owner,
    vpc: &Vpc,
    subnets: &Subnets,
    internet: &InternetGateway,
    nat: &NatGateway,
) -> Result<Routes, AwsError> {
    let public_table =
        route_table(aws, owner, vpc, "public-routes", ("GatewayId", &internet.internet_gateway_id), &subnets.public)
            .await?;
    let private_table =
        route_table(aws, owner, vpc, "private-routes", ("NatGatewayId", &nat.nat_gateway_id), &subnets.private).await?;
    Ok(Routes { public_table, private_table })
}

/// Disassociates and deletes the route tables.
pub async fn delete_routes(aws: &Aws, routes: &Routes) -> Result<(), AwsError> {
    delete_route_table(aws, &routes.public_table).await?;
    delete_route_table(aws, &routes.private_table).await
}

async fn delete_route_table(aws: &Aws, table: &str) -> Result<(), AwsError> {
    for (association, _) in associations(aws, table).await? {
        gone_already(call(aws, "DisassociateRouteTable", Params::default().with("AssociationId", association)).await)?;
    }
    gone_already(call(aws, "DeleteRouteTable", Params::default().with("RouteTableId", table)).await)
}

/// Deletes every part of the cluster's network that exists, found by its tags, in the reverse
/// order of its making. Succeeds when nothing is left.
pub async fn delete_all(aws: &Aws, cluster: &str) -> Result<(), AwsError> {
    for part in ["public-routes", "private-routes"] {
        for table in tagged_ids(aws, cluster, "DescribeRouteTables", "routeTableSet", "routeTableId", part).await? {
            delete_route_table(aws, &table).await?;
        }
    }
    for nat in tagged_ids(aws, cluster, "DescribeNatGateways", "natGatewaySet", "natGatewayId", "nat").await? {
        delete_nat(aws, &nat).await?;
    }
    for allocation in tagged_ids(aws, cluster, "DescribeAddresses", "addressesSet", "allocationId", "nat-ip").await? {
        release_address(aws, &allocation).await?;
    }
    let vpcs = tagged_ids(aws, cluster, "DescribeVpcs", "vpcSet", "vpcId", "vpc").await?;
    let gateways =
        tagged_ids(aws, cluster, "DescribeInternetGateways", "internetGatewaySet", "internetGatewayId", "igw").await?;
    for igw in gateways {
        for vpc in &vpcs {
            let (vpc, gateway) = (Vpc { vpc_id: vpc.clone() }, InternetGateway { internet_gateway_id: igw.clone() });
            delete_internet_gateway(aws, &vpc, &gateway).await?;
        }
    }
    for part in ["public-0", "public-1", "private-0", "private-1"] {
        delete_subnet_ids(aws, &tagged_ids(aws, cluster, "DescribeSubnets", "subnetSet", "subnetId", part).await?)
            .await?;
    }
    for vpc in vpcs {
        delete_vpc(aws, &Vpc { vpc_id: vpc }).await?;
    }
    Ok(())
}

/// The ids of the cluster's resources of one kind (`describe`, its list `set` and id
/// `field`) tagged `part`.
async fn tagged_ids(
    aws: &Aws,
    cluster: &str,
    describe: &str,
    set: &str,
    field: &str,
    part: &str,
) -> Result<Vec<String>, AwsError> {
    Ok(find(aws, describe, set, field, cluster, part)
        .await?
        .iter()
        .filter_map(|i| i.get(field))
        .map(str::to_owned)
        .collect())
}

/// The cluster's private subnets, found by their tags.
pub async fn private_subnets(aws: &Aws, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    for part in ["private-0", "private-1"] {
        out.extend(tagged_ids(aws, cluster, "DescribeSubnets", "subnetSet", "subnetId", part).await?);
    }
    Ok(out)
}
