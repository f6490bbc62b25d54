//! reef-kubesim's integration tests: a `SimServer` on a fresh `Store`, driven by the real
//! `kubectl` and `helm` (found by `REEF_KUBECTL` and `REEF_HELM` or on PATH; `scripts/test`
//! installs them) and by raw
//! HTTPS requests checked against what a real API server answers
//! (`shared/specs/kubernetes-1.28/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helm;
mod helm_chart;
mod http;
mod kube_client;
mod kubectl;
mod kubectl_workloads;
mod printing;
mod ssa;
mod support;
mod validation;
