//! The REST API, `/api/v1/…` (issue #8): a second door onto the same commands, queries and
//! authorization as the pages. Bearer credentials only (cookies never authenticate an API
//! call, so CSRF does not apply): a JWT access token from the login, or a long-lived API
//! token (`po_…`, issue #17) whose scopes `token_gate` checks against `route_scopes` before
//! any handler runs. JSON in and out, and every error an RFC 9457 problem document.
//!
//! One module per area (auth, inventory, people and grants, roles, workflows, templates,
//! tasks, billing, notifications, audit); `openapi` generates the OpenAPI 3.1 document from
//! their annotations and `reference` renders it as the `/api/v1/docs` page. docs/api.md has
//! the overview and curl examples.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod grants;
pub mod inventory;
pub mod notifications;
pub mod openapi;
pub mod people;
pub mod problem;
pub mod reference;
pub mod roles;
pub mod route_scopes;
pub mod tasks;
pub mod templates;
pub mod tokens;
pub mod workflows;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::auth::tokens::AccessError;
use crate::authz::Actor;
use crate::web::{client_ip, AppState};
pub use problem::{ApiResult, Problem};

/// Every API route, under `/api/v1`. Each path is one resource: a method it does not serve
/// answers 405 with the `Allow` header the OpenAPI document gives for that path.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .wrap(from_fn(token_gate))
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
            .service(at("/openapi.json").get(openapi_json))
            .service(at("/docs").get(reference::page))
            .service(at("/auth/login").post(auth::login))
            .service(at("/auth/refresh").post(auth::refresh))
            .service(at("/auth/logout").post(auth::logout))
            .service(at("/me").get(auth::me))
            .service(at("/tokens").get(tokens::list).post(tokens::create))
            .service(at("/tokens/{id}").delete(tokens::revoke))
            .service(at("/services").get(inventory::list_services))
            .service(at("/services/{id}").get(inventory::service))
            .service(at("/services/{id}/admins").post(roles::add_service_admin))
            .service(at("/services/{id}/admins/{person_id}").delete(roles::remove_service_admin))
            .service(at("/products/{id}").get(inventory::product))
            .service(at("/products/{id}/admins").post(roles::add_product_admin))
            .service(at("/products/{id}/grants/bulk").post(grants::bulk_create))
            .service(at("/products/{id}/admins/{person_id}").delete(roles::remove_product_admin))
            .service(at("/people").get(people::list))
            .service(at("/people/{id}").get(people::show))
            .service(at("/people/{id}/role").put(roles::set_role))
            .service(at("/people/{id}/grants").post(grants::person_create))
            .service(at("/people/{id}/history").get(audit::person_history))
            .service(at("/products/{id}/history").get(audit::product_history))
            .service(at("/audit").get(audit::list))
            .service(at("/workflows").get(workflows::list))
            .service(at("/workflows/onboarding").post(workflows::onboard))
            .service(at("/workflows/offboarding").post(workflows::offboard))
            .service(at("/workflows/{id}").get(workflows::show))
            .service(at("/workflows/{id}/cancel").post(workflows::cancel))
            .service(
                at("/billing-records")
                    .get(billing::list)
                    .post(billing::create),
            )
            .service(
                at("/billing-records/{id}")
                    .get(billing::show)
                    .put(billing::update),
            )
            .service(at("/billing-records/{id}/attachments").post(billing::attach))
            .service(at("/attachments/{id}").get(billing::download))
            .service(at("/notifications").get(notifications::list))
            .service(at("/notifications/read").post(notifications::read_all))
            .service(at("/notifications/{id}/read").post(notifications::read_one))
            .service(
                at("/templates")
                    .get(templates::list)
                    .post(templates::create),
            )
            .service(
                at("/templates/{id}")
                    .get(templates::show)
                    .put(templates::update)
                    .delete(templates::delete),
            )
            .service(at("/tasks").get(tasks::mine))
            .service(at("/tasks/{id}").get(tasks::show))
            .service(at("/tasks/{id}/complete").post(tasks::complete))
            .service(at("/tasks/{id}/not-needed").post(tasks::not_needed))
            .service(at("/grants").post(grants::create))
            .service(at("/grants/bulk-revoke").post(grants::bulk_revoke))
            .service(at("/grants/{id}").get(grants::show))
            .service(at("/grants/{id}/revoke").post(grants::revoke))
            .default_service(web::to(|| async { Err::<String, _>(Problem::not_found()) })),
    );
}

/// A resource at `path` (under `/api/v1`) whose other methods answer 405.
fn at(path: &'static str) -> Resource {
    Resource(
        web::resource(path).default_service(web::to(move || async move {
            Err::<String, _>(Problem::method_not_allowed(openapi::methods(path)))
        })),
    )
}

/// `web::Resource` with one-line method routes.
struct Resource(actix_web::Resource);

impl Resource {
    fn route<F, Args>(self, method: actix_web::Route, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        Self(self.0.route(method.to(handler)))
    }

    fn get<F, Args>(self, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.route(web::get(), handler)
    }

    fn post<F, Args>(self, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.route(web::post(), handler)
    }

    fn put<F, Args>(self, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.route(web::put(), handler)
    }

    fn delete<F, Args>(self, handler: F) -> Self
    where
        F: actix_web::Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.route(web::delete(), handler)
    }
}

impl actix_web::dev::HttpServiceFactory for Resource {
    fn register(self, config: &mut actix_web::dev::AppService) {
        self.0.register(config)
    }
}

/// The OpenAPI document (public: it describes the API, not the data).
async fn openapi_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::json())
}

/// The caller of an API request, from `Authorization: Bearer …` alone: a JWT access token,
/// whose session is checked in the database on every call (so logout, deactivation and role
/// changes apply at once; an expired token is refreshed by the client, not here), or an API
/// token, which `token_gate` has already checked and put in the request.
pub struct ApiUser(pub Actor);

impl FromRequest for ApiUser {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ApiUser) })
    }
}

/// The bearer credential of a request, if any.
fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, Problem> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Problem::from(crate::error::AppError::internal("state missing")))
}

/// The owner of an API token that `token_gate` let through.
#[derive(Clone)]
struct TokenActor(Actor);

/// Every request under `/api/v1` with an API token (`po_…`) passes here before its
/// handler: the token must be known, unrevoked and unexpired and its owner still allowed to
/// log in (else 401), and its scopes must cover the route (`route_scopes`; else 403 naming
/// the missing scope). A route the table does not know is refused to tokens. JWT callers
/// and anonymous requests pass untouched.
async fn token_gate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(secret) = bearer(req.request())
        .filter(|t| crate::auth::api_tokens::is_api_token(t))
        .map(str::to_string)
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let need = match req.match_pattern() {
        // Nothing routed here: the scope's 404 answers, no handler runs.
        None => None,
        Some(pattern) => match route_scopes::need(req.method().as_str(), &pattern) {
            None => {
                let refusal = Problem::forbidden(
                    "API tokens cannot use this route: it has no scope (docs/api.md).",
                );
                return Ok(req.error_response(refusal).map_into_right_body());
            }
            // A method the resource does not route: it answers 405, no handler runs.
            Some(None) => None,
            Some(Some(route_scopes::Need::Public)) => None,
            Some(Some(need)) => Some(need),
        },
    };
    let Some(need) = need else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let refusal = match authenticate_token(req.request(), secret).await {
        Err(problem) => Some(problem),
        Ok((actor, scopes)) => match route_scopes::allows(&scopes, need) {
            Err(reason) => Some(Problem::forbidden(reason)),
            Ok(()) => {
                req.extensions_mut().insert(TokenActor(actor));
                None
            }
        },
    };
    match refusal {
        Some(problem) => Ok(req.error_response(problem).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

async fn authenticate_token(
    req: &HttpRequest,
    secret: String,
) -> Result<(Actor, crate::domain::TokenScopes), Problem> {
    let state = app_state(req)?;
    let ip = client_ip(req, &state.config.trusted_proxies);
    let clock = state.clock.clone();
    let ip_for_db = ip.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        crate::auth::api_tokens::authenticate(conn, &secret, ip_for_db.as_deref(), &clock)
    })
    .await?;
    let caller = outcome.map_err(|refusal| Problem::unauthorized(refusal.message()))?;
    let mut actor = caller.actor;
    actor.client_ip = ip;
    Ok((actor, caller.scopes))
}

async fn authenticate(req: &HttpRequest) -> Result<Actor, Problem> {
    let state = app_state(req)?;
    let token = bearer(req)
        .ok_or_else(|| Problem::unauthorized("Send an access token: Authorization: Bearer …"))?;
    if crate::auth::api_tokens::is_api_token(token) {
        // Checked by `token_gate` for this very route; absent only if the gate was not in
        // front of it, which is then refused rather than trusted.
        return req
            .extensions()
            .get::<TokenActor>()
            .map(|t| t.0.clone())
            .ok_or_else(|| Problem::unauthorized("The API token is not valid."));
    }
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
    let clock = state.clock.clone();
    let actor = crate::db::run(&state.pool, move |conn| {
        crate::auth::current_user::load_actor_gated(conn, user_id, session_id, &clock)
    })
    .await?;
    let mut actor = actor.ok_or_else(|| {
        Problem::unauthorized("The session has ended (logged out, expired or the account changed).")
    })?;
    actor.client_ip = client_ip(req, &state.config.trusted_proxies);
    Ok(actor)
}

/// A JSON request body: `web::Json` (same size limit and problem on a bad body), screened by
/// `web::input` (a card number or a line break in a one-line field is a 422 naming each
/// field), and a whole number written with a fraction (`5.0`) is the integer it is. JSON has one number
/// type, and generated clients write either form.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = body.await?.into_inner();
            normalize(&mut value);
            // The input policy every door shares (web::input): card numbers and line breaks
            // in one-line fields are refused, every such field at once, before any handler.
            let refused = crate::web::input::screen_json(&mut value);
            if !refused.is_empty() {
                return Err(Problem::from(crate::error::CommandError::Invalid(refused)).into());
            }
            serde_json::from_value(value).map(Json).map_err(|e| {
                Problem::bad_request(format!("The JSON body could not be read: {e}")).into()
            })
        })
    }
}

/// Whole numbers become integers, and NUL characters (which PostgreSQL text cannot hold and
/// no person types) leave strings, as `web::nul_bytes` does for queries and forms. Object
/// keys are left alone: a key with a NUL names no field we read.
fn normalize(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Without a fraction and within i64's range (-2^63 inclusive, 2^63 exclusive).
                const BOUND: f64 = 9_223_372_036_854_775_808.0;
                if f.fract() == 0.0 && (-BOUND..BOUND).contains(&f) {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(fields) => fields.values_mut().for_each(normalize),
        _ => {}
    }
}

/// The wire name of an enum value (its serde name), which is also the database's.
pub(crate) fn wire_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One page of a list endpoint.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub limit: i64,
    /// Items matching the filters, over all pages.
    pub total: i64,
}

/// A list's `page` (1-based, 1 when absent, at most `MAX_PAGE`), or a 422 on `page`.
pub fn page_number(page: Option<i64>) -> Result<i64, Problem> {
    match page.unwrap_or(1) {
        n @ 1..=crate::web::pagination::MAX_PAGE => Ok(n),
        _ => Err(Problem::invalid(
            "page",
            "Pages are numbered from 1 to 1,000,000.",
        )),
    }
}

/// A list's `limit` (1–200, 50 when absent), or a 422 on `limit`.
pub fn page_limit(limit: Option<i64>) -> Result<i64, Problem> {
    match limit.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(Problem::invalid("limit", "Use a limit between 1 and 200.")),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    /// Whole numbers written with a fraction keep their exact value up to 2^53: JSON
    /// parsing is exact (serde_json's `float_roundtrip`), so `-4202497120312398.0` is not
    /// read as `…398.5` and refused as a fraction (schemathesis found it).
    #[test]
    fn whole_numbers_written_as_decimals_stay_exact() {
        for text in [
            "-4202497120312398.0",
            "2843434572587575.0",
            "-1110264158692.0",
            "9007199254740992.0",
        ] {
            let mut value: serde_json::Value = serde_json::from_str(text).expect("JSON");
            normalize(&mut value);
            let whole: i64 = text.trim_end_matches(".0").parse().expect("integer");
            assert_eq!(value, serde_json::Value::from(whole), "{text}");
        }
    }
}
