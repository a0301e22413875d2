//! PostgreSQL text cannot hold the NUL character, so a `%00` in a query string or form would
//! reach the database and fail there as a server error. No person types a NUL (it comes from
//! fuzzers and broken scripts), so this middleware removes it from the query string and from
//! form bodies before any handler sees them; everything else in the request is unchanged.
//! (The API's JSON bodies get the same treatment in `api::Json`, after parsing.)

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use crate::web::csrf::is_urlencoded_form;

pub async fn remove<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    if let Some(query) = without_encoded_nul(req.query_string().as_bytes()) {
        let path_and_query = format!("{}?{}", req.path(), String::from_utf8_lossy(&query));
        if let Ok(uri) = path_and_query.parse::<Uri>() {
            // The path is unchanged, so routing is too; `web::Query` reads the new query.
            req.head_mut().uri = uri;
        }
    }
    if is_urlencoded_form(&req) {
        let body = req.extract::<Bytes>().await?;
        let body = without_encoded_nul(&body).map_or(body, Bytes::from);
        // Put the body back for the next reader.
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    next.call(req).await
}

/// `bytes` without its `%00` sequences, or `None` when there are none.
fn without_encoded_nul(bytes: &[u8]) -> Option<Vec<u8>> {
    let found = bytes.windows(3).any(|w| w == b"%00");
    found.then(|| {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"%00") {
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_encoded_nuls_and_leaves_lookalikes() {
        assert_eq!(
            without_encoded_nul(b"q=a%00b%00").as_deref(),
            Some(&b"q=ab"[..])
        );
        assert_eq!(without_encoded_nul(b"q=%000").as_deref(), Some(&b"q=0"[..]));
        assert_eq!(without_encoded_nul(b"q=100%25&n=%0A%30"), None);
        assert_eq!(without_encoded_nul(b"q=%2500"), None);
    }
}
