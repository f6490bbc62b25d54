//! One module per resource, each exposing `router()`.

pub mod audit;
pub mod auth;
pub mod clusters;
pub mod deployments;
pub mod health;
pub mod helm;
pub mod members;
pub mod orgs;
pub mod secrets;
pub mod tokens;
