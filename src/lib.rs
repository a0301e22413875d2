//! PortalOps: a self-hosted portal for running a company's SaaS estate.
//!
//! `build_server` assembles the HTTP application (routes, middleware, state); `main.rs` and
//! the integration tests both use it. See docs/architecture.md for the map.

pub mod account;
pub mod api;
pub mod audit;
pub mod audit_pages;
pub mod auth;
pub mod authz;
pub mod backup;
pub use domain::clock;
pub mod config;
pub mod crypto;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod error;
pub mod health;
pub mod history;
pub mod history_pages;
pub mod imports;
pub mod inventory;
pub mod jobs;
pub mod notify;
pub mod notify_pages;
pub mod payments;
pub mod pick;
pub mod scim;
pub mod settings;
pub mod setup;
pub mod sso;
pub mod startup;
pub mod sys;
pub mod telemetry;
pub mod usage;
pub mod web;
pub mod workflows;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_session::config::PersistentSession;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web as aw, App, HttpServer};

use crate::auth::password::Hasher;
use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::PgPool;
use crate::error::AppError;
use crate::web::AppState;

/// Builds the shared state. `config` must have its secrets resolved.
pub fn app_state(config: Config, pool: PgPool) -> Result<AppState, AppError> {
    let secret = config
        .jwt_secret
        .as_ref()
        .ok_or_else(|| AppError::internal("JWT secret not resolved"))?;
    let keys = TokenKeys::new(
        secret.expose(),
        config.access_token_ttl,
        config.refresh_token_ttl,
        config.refresh_grace,
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(AppState {
        pool,
        keys: Arc::new(keys),
        // Half the cores hash; 16 more logins may wait their turn, others up to 5 s for
        // room in that queue, then 429.
        hasher: Hasher::new(cores / 2, 16, std::time::Duration::from_secs(5)),
        setup_token: Arc::new(Mutex::new(None)),
        clock: Arc::new(clock::Clock::new(config.timezone)),
        // 64 results of the newest snapshot: the largest (a printed register of 1,500 rows)
        // is about 0.5 MB.
        cache: Arc::new(crate::db::snapshot_cache::SnapshotCache::new(64)),
        db_url: None,
        config: Arc::new(config),
    })
}

/// Every route. Public: /login, /setup, /healthz, /static. Everything else requires a
/// login (the `CurrentUser` extractor) and an `authz::authorize` check.
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.configure(health::routes)
        .configure(web::static_files::routes)
        .configure(auth::routes)
        .configure(setup::routes)
        .configure(dashboard::routes)
        .configure(account::routes)
        .configure(audit_pages::routes)
        .configure(settings::routes)
        .configure(inventory::routes)
        .configure(payments::routes)
        .configure(workflows::routes)
        .configure(notify_pages::routes)
        .configure(imports::routes)
        .configure(directory::routes)
        .configure(sso::routes)
        .configure(scim::routes)
        .configure(usage::routes)
        .configure(pick::routes)
        .configure(history_pages::routes);
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// The HTTP server on `listener`, ready to `.await`. Handles SIGINT/SIGTERM by draining.
pub fn build_server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let session_key = state
        .config
        .session_key
        .as_ref()
        .and_then(|k| Key::try_from(k.expose()).ok())
        .ok_or_else(|| std::io::Error::other("session key missing or shorter than 64 bytes"))?;
    let workers = state.config.workers;
    let blocking_threads = (state.config.db_pool_size as usize / workers).max(1);
    // The OpenID provider (discovery cache and HTTP client), shared by every worker.
    let sso = match state.config.sso.clone() {
        Some(c) => Some(aw::Data::new(
            sso::Provider::new(c).map_err(|e| std::io::Error::other(e.to_string()))?,
        )),
        None => None,
    };
    let data = aw::Data::new(state);
    // What follows a grant made from a page (directory and inventory sit below workflows).
    let after_grant: aw::Data<dyn directory::grants::AfterGrant> =
        aw::Data::from(Arc::new(workflows::commands::OffboardingRevokes)
            as Arc<dyn directory::grants::AfterGrant>);
    let server = HttpServer::new(move || {
        let config = &data.config;
        let cookie_name = if config.cookie_secure {
            "__Host-portalops"
        } else {
            "portalops_session"
        };
        let ttl =
            actix_web::cookie::time::Duration::seconds(config.refresh_token_ttl.as_secs() as i64);
        let sessions =
            SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                .cookie_name(cookie_name.to_string())
                .cookie_secure(config.cookie_secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_path("/".to_string())
                .session_lifecycle(PersistentSession::default().session_ttl(ttl))
                .build();
        let mut app = App::new();
        if let Some(p) = &sso {
            app = app.app_data(p.clone());
        }
        app.app_data(data.clone())
            .app_data(after_grant.clone())
            .app_data(
                aw::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| {
                        AppError::BadRequest(format!("The form could not be read: {e}")).into()
                    }),
            )
            .app_data(aw::QueryConfig::default().error_handler(|e, _| {
                AppError::BadRequest(format!("The address has an invalid parameter: {e}")).into()
            }))
            .app_data(aw::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .wrap(from_fn(auth::csrf::guard))
            .wrap(from_fn(web::nul_bytes::remove))
            .wrap(sessions)
            .wrap(from_fn(web::request_log::frame))
            .configure(api::routes)
            .configure(routes)
            .default_service(aw::to(not_found))
    })
    .workers(workers)
    // Each worker's blocking threads (where Diesel runs) are capped at its share of the pool,
    // so requests wait in the runtime's FIFO queue rather than racing for a connection in
    // r2d2, which is not fair: at 32 connections a few requests starved for 0.5 s there.
    .worker_max_blocking_threads(blocking_threads)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
