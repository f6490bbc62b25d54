//! reef-kubesim: a simulated Kubernetes API server, in the spirit of kwok (Kubernetes
//! WithOut Kubelet): a real API that kubectl, helm and kube-rs accept, over simulated nodes and
//! workloads. It backs reef's `local` provider and reef's own tests.
//!
//! Layers: [`resource`] (what kinds exist), [`store`] (objects, resource versions, watches,
//! patches, selectors: the API semantics, no IO), and the HTTPS server that exposes a store as
//! a cluster. This crate must not depend on other reef crates: reef's providers depend on it.

pub mod cluster;
pub mod controllers;
pub mod cron;
pub mod discovery;
pub mod kubeconfig;
pub mod logs;
pub mod managed_fields;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod resource;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
mod validation;

pub use controllers::{Controllers, NodePool, SimConfig};
pub use resource::{Registry, ResourceType};
pub use server::SimServer;
pub use status::ApiStatus;
pub use store::Store;

/// The Kubernetes version a simulated cluster reports.
pub const KUBERNETES_VERSION: &str = "v1.35.0";
