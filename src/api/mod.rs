//! The REST API, `/api/v1/…` (issue #8): a second door onto the same commands, queries and
//! authorization as the pages. Bearer access tokens only (cookies never authenticate an API
//! call, so CSRF does not apply), JSON in and out, and every error an RFC 9457 problem
//! document.
//!
//! First increment: authentication (login, refresh with rotation and re-use detection,
//! logout), `me`, the services of the inventory, the directory's people, granting and
//! revoking access, starting onboardings and offboardings, and the audit log. The other
//! modules follow.

pub mod audit;
pub mod auth;
pub mod grants;
pub mod inventory;
pub mod people;
pub mod problem;
pub mod workflows;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::tokens::AccessError;
use crate::authz::Actor;
use crate::web::{client_ip, AppState};
pub use problem::{ApiResult, Problem};

/// Every API route, under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(
                web::JsonConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| {
                        Problem::bad_request(format!("The JSON body could not be read: {e}")).into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                Problem::bad_request(format!("A query parameter is invalid: {e}")).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| Problem::not_found().into()))
            .route("/auth/login", web::post().to(auth::login))
            .route("/auth/refresh", web::post().to(auth::refresh))
            .route("/auth/logout", web::post().to(auth::logout))
            .route("/me", web::get().to(auth::me))
            .route("/services", web::get().to(inventory::list_services))
            .route("/services/{id}", web::get().to(inventory::service))
            .route("/people", web::get().to(people::list))
            .route("/people/{id}", web::get().to(people::show))
            .route("/audit", web::get().to(audit::list))
            .route("/workflows/onboarding", web::post().to(workflows::onboard))
            .route(
                "/workflows/offboarding",
                web::post().to(workflows::offboard),
            )
            .route("/grants", web::post().to(grants::create))
            .route("/grants/{id}/revoke", web::post().to(grants::revoke))
            .default_service(web::to(|| async { Err::<String, _>(Problem::not_found()) })),
    );
}

/// The caller of an API request, from `Authorization: Bearer <access token>` alone. The
/// token's session is checked in the database on every call, so logout, deactivation and
/// role changes apply at once; an expired token is refreshed by the client, not here.
pub struct ApiUser(pub Actor);

impl FromRequest for ApiUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ApiUser) })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Actor, Problem> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Problem::from(crate::error::AppError::internal("state missing")))?
        .clone();
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| Problem::unauthorized("Send an access token: Authorization: Bearer …"))?;
    let claims = state.keys.decode_access(token).map_err(|e| match e {
        AccessError::Expired => Problem::unauthorized(
            "The access token has expired: refresh it at /api/v1/auth/refresh.",
        ),
        AccessError::Invalid => Problem::unauthorized("The access token is not valid."),
    })?;
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| Problem::unauthorized("The access token is not valid."))?;
    let session_id = claims.sid;
    let actor = crate::db::run(&state.pool, move |conn| {
        crate::auth::current_user::load_actor(conn, user_id, session_id)
    })
    .await?;
    let mut actor = actor.ok_or_else(|| {
        Problem::unauthorized("The session has ended (logged out, expired or the account changed).")
    })?;
    actor.client_ip = client_ip(req, state.config.trust_proxy);
    Ok(actor)
}

/// One page of a list endpoint.
#[derive(serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub limit: i64,
    /// Items matching the filters, over all pages.
    pub total: i64,
}

/// `page` (1-based) and `limit` (1–200, default 50) of a list endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: Option<i64>,
    pub limit: Option<i64>,
}

impl Paging {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn limit(&self) -> Result<i64, Problem> {
        match self.limit.unwrap_or(50) {
            n @ 1..=200 => Ok(n),
            _ => Err(Problem::invalid("limit", "Use a limit between 1 and 200.")),
        }
    }
}
