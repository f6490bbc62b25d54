//! Amazon EKS for reef: signed calls to AWS's APIs, the caller's identity, and the token EKS's
//! API servers take. The provider's workflow steps build on these.

pub mod aws;
pub mod catalog;
pub mod ec2;
pub mod eks;
pub mod iam;
pub mod network;
pub mod preflight;
pub mod provider;
pub mod steps;
pub mod sts;

pub use aws::{AccessKey, Aws, AwsError, Endpoints};
pub use provider::{AmazonOptions, AmazonProvider};
