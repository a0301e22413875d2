//! Static assets, compiled into the binary so that a container or a copied binary always
//! serves the stylesheet that matches its templates (no CDN: it works offline).

use actix_web::{http::header, web, HttpResponse};

use crate::error::AppError;

/// `/static/{name}` (public), HEAD too.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{name}", web::get().to(asset))
        .route("/static/{name}", web::head().to(asset));
}

const CSS: &[u8] = include_bytes!("../../static/css/portalops.css");

/// A hash of the stylesheet, computed at compile time: the pages link
/// `/static/portalops.css?v=<this>`, so it can be cached for a year and a new release's
/// stylesheet is fetched at once.
pub const CSS_VERSION: u64 = fnv1a(CSS);

/// The pickers' script (the only script: progressive enhancement, served from here so the
/// CSP's `script-src 'self'` holds), versioned as the stylesheet is.
const PICKER: &[u8] = include_bytes!("../../static/js/picker.js");
pub const PICKER_VERSION: u64 = fnv1a(PICKER);

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("portalops.css", "text/css; charset=utf-8", CSS),
    ("picker.js", "text/javascript; charset=utf-8", PICKER),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

pub async fn asset(
    name: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or(AppError::NotFound)?;
    // A versioned asset never changes under its URL; anything else for a day.
    let versioned = req.query_string() == format!("v={}", fnv1a(body));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=86400"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(*body))
}
