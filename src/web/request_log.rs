//! The outer frame of every response: a request id, one structured log line per request
//! (method, path without query and with its secrets redacted, status, latency; never bodies,
//! cookies or tokens), errors turned into pages, and the security headers.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

pub use crate::telemetry::{add_queries, current_request_id};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn frame(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = hex_id();
    let method = req.method().to_string();
    let path = super::redact::loggable_path(req.path()).into_owned();
    let is_static = path.starts_with("/static/");

    // Handlers and the inner middleware turn their errors into pages themselves (inside this
    // scope, so error pages carry the request id).
    let (res, queries) = crate::telemetry::in_request(request_id.clone(), next.call(req)).await;
    let mut res = res?.map_into_boxed_body();

    // A page whose address holds a secret (an emailed link) sends `no-referrer` itself.
    let own_referrer_policy = res.headers().contains_key(header::REFERRER_POLICY);
    let headers = res.headers_mut();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !own_referrer_policy {
        set(header::REFERRER_POLICY, "same-origin");
    }
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(HeaderName::from_static("x-request-id"), &request_id);
    set(
        HeaderName::from_static("x-query-count"),
        &queries.to_string(),
    );
    if !is_static {
        set(header::CACHE_CONTROL, "no-store");
    }

    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(request_id, method, path, status, latency_ms, queries, "request");
    } else if !is_static {
        tracing::info!(request_id, method, path, status, latency_ms, queries, "request");
    }
    Ok(res)
}

fn hex_id() -> String {
    crate::crypto::random_bytes(8)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
