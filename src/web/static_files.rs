//! Static assets, compiled into the binary so that a container or a copied binary always
//! serves the stylesheet that matches its templates (no CDN: it works offline).

use actix_web::{http::header, web, HttpResponse};

use crate::error::AppError;

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "portalops.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/portalops.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(*body))
}
