//! CSRF protection for every cookie-authenticated state change, as one middleware so that no
//! handler can forget it: unsafe methods need the session's token (hidden form field
//! `csrf_token`, or the `X-CSRF-Token` header), and a foreign `Origin` is refused outright.

use actix_session::SessionExt as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};

use super::constant_time_eq;
use super::session::existing_csrf_token;
use crate::error::AppError;
use crate::web::AppState;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

pub async fn guard<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // The API (`/api/`) authenticates by bearer token only and never reads the cookie, so
    // a forged cross-site request carries no credential there: no CSRF token to check.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.path().starts_with("/api/")
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    if !origin_allowed(&req) {
        tracing::warn!(
            path = req.path(),
            "refused a state change from a foreign Origin"
        );
        return Ok(refuse(req));
    }
    let Some(expected) = existing_csrf_token(&req.get_session()) else {
        return Ok(refuse(req));
    };
    let presented = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        Some(h) => Some(h.to_string()),
        None if is_urlencoded_form(&req) => {
            let body = req.extract::<Bytes>().await?;
            let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
            // Put the body back for the handler's own extractor.
            req.set_payload(actix_web::dev::Payload::from(body));
            token
        }
        // A file upload's body is not buffered here: its form carries the token in its
        // action URL instead (same-origin only: Referrer-Policy keeps it from leaving).
        None if is_multipart(&req) => {
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v))
        }
        None => None,
    };
    match presented {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        _ => Ok(refuse(req)),
    }
}

fn refuse<B>(req: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    req.error_response(AppError::Csrf).map_into_right_body()
}

fn is_multipart(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
}

pub(crate) fn is_urlencoded_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// No Origin header (older browsers, curl) passes on the token alone; a present Origin must
/// be this site: the configured public URL or the Host the request was sent to.
fn origin_allowed(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        if origin == state.config.public_url {
            return true;
        }
    }
    let host = req.connection_info().host().to_string();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}
