//! Request metrics: a counter by route, method and status, and a latency histogram.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Counts and times every request under its route template (not its raw path, which would
/// make one series per object).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("reef_http_requests_total", &labels).increment(1);
    metrics::histogram!("reef_http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    response
}
