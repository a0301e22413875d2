//! `GET /healthz`: 200 with JSON when the database answers, 503 when it does not.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl as _;

use crate::web::AppState;

/// `/healthz`, HEAD too: load balancers probe with it (actix answers HEAD without the body).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/healthz", web::head().to(healthz));
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).ok()
    })
    .await
    .ok()
    .flatten()
    .is_some();
    let version = env!("CARGO_PKG_VERSION");
    if ok {
        HttpResponse::Ok()
            .json(serde_json::json!({"status": "ok", "database": "ok", "version": version}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "unavailable", "database": "unreachable", "version": version}))
    }
}
