//! CSRF protection for every cookie-authenticated state change, as one middleware so that no
//! handler can forget it: unsafe methods need the session's token (hidden form field
//! `csrf_token`, or the `X-CSRF-Token` header), and a foreign `Origin` is refused outright.
//! A file upload's form carries the token as its first multipart part, so the token never
//! appears in a URL (logs, browser history) and is checked before the handler reads the file.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_session::SessionExt as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage as _;
use futures_util::StreamExt as _;

use super::session::existing_csrf_token;
use crate::crypto::constant_time_eq;
use crate::error::AppError;
use crate::web::AppState;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

pub async fn guard<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // The API (`/api/`) and the SCIM service (`/scim/`) authenticate by bearer token only
    // and never read the cookie, so a forged cross-site request carries no credential
    // there: no CSRF token to check.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.path().starts_with("/api/")
        || req.path().starts_with("/scim/")
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    if !origin_allowed(&req) {
        tracing::warn!(
            path = %crate::web::redact::loggable_path(req.path()),
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
        // A file upload is not buffered: only its first part is read (it must be the
        // token), and the bytes read are put back in front of the rest for the handler.
        None if is_multipart(&req) => multipart_token(&mut req).await,
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

/// The most a multipart body's first part (headers and the token) may take to arrive.
const FIRST_PART_LIMIT: usize = 8 * 1024;

/// The value of a multipart body's first part if it is the `csrf_token` field. The bytes
/// read to find it (at most `FIRST_PART_LIMIT` and the chunk that crossed it) are put back, so
/// the handler reads the whole body as sent.
async fn multipart_token(req: &mut ServiceRequest) -> Option<String> {
    let source = Rc::new(RefCell::new(req.take_payload()));
    let seen = Rc::new(RefCell::new(Vec::<Bytes>::new()));
    let tee = Tee {
        source: source.clone(),
        seen: seen.clone(),
        read: 0,
    };
    let mut parts = actix_multipart::Multipart::new(req.headers(), tee);
    let token = match parts.next().await {
        Some(Ok(mut field)) if field.name() == Some(FIELD) => {
            let mut value = Vec::new();
            let mut ok = true;
            while let Some(chunk) = field.next().await {
                match chunk {
                    Ok(c) if value.len() + c.len() <= FIRST_PART_LIMIT => {
                        value.extend_from_slice(&c)
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            ok.then(|| String::from_utf8(value).ok()).flatten()
        }
        _ => None,
    };
    drop(parts);
    let rest = source.replace(Payload::None);
    let replay = futures_util::stream::iter(seen.take().into_iter().map(Ok)).chain(rest);
    req.set_payload(Payload::Stream {
        payload: Box::pin(replay),
    });
    token
}

/// The request body, recording each chunk it yields (so it can be replayed), and ending
/// early once more than `FIRST_PART_LIMIT` bytes were read (the parser sees the end of the
/// body: the first part is complete by then, or the request is refused).
struct Tee {
    source: Rc<RefCell<Payload>>,
    seen: Rc<RefCell<Vec<Bytes>>>,
    read: usize,
}

impl futures_util::Stream for Tee {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.read > FIRST_PART_LIMIT {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut *self.source.borrow_mut()).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.read += chunk.len();
            self.seen.borrow_mut().push(chunk.clone());
        }
        polled
    }
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

/// Pages whose address holds a secret (an emailed login link's token) send
/// `Referrer-Policy: no-referrer`, so that no `Referer` carries it; a browser then sends
/// `Origin: null` with the page's own form. Those forms pass on the token alone, as a
/// request without `Origin` does.
const NO_REFERRER_FORMS: &[&str] = &["/password/set/"];

/// No Origin header (older browsers, curl) passes on the token alone; a present Origin must
/// be this site: the configured public URL or the Host the request was sent to.
fn origin_allowed(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == "null" && NO_REFERRER_FORMS.iter().any(|p| req.path().starts_with(p)) {
        return true;
    }
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        if origin == state.config.public_url {
            return true;
        }
    }
    let host = req.connection_info().host().to_string();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}
