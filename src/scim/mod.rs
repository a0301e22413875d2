//! The SCIM 2.0 service (RFC 7643/7644, issue #18), `/scim/v2`: the door an identity
//! provider (Okta, Entra ID, Google Workspace through a connector, authentik, Keycloak)
//! keeps the directory through. A third door onto the same commands as the pages and the
//! REST API: a SCIM user is a directory person (`users`), created and changed by
//! `directory::commands`, deactivated by starting an offboarding (`workflows::commands`), so
//! every rule of PortalOps holds for what a provider sends.
//!
//! Authenticated by an API token with the `scim` scope only (best: a service account's,
//! Settings → Service accounts); its owner must be an Admin. JSON in and out as
//! `application/scim+json`, every error a SCIM error body with its `scimType`.
//!
//! `filter` parses filters and PATCH paths, `patch` applies PATCH operations, `users` and
//! `groups` are the resources, `discovery` the ServiceProviderConfig, ResourceTypes and
//! Schemas.

pub mod discovery;
pub mod filter;
pub mod groups;
pub mod handlers;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod rules;
pub mod rules_pages;
pub mod users;

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use serde_json::{json, Value};

use crate::authz::{authorize, Action, Actor};
use crate::domain::{ApiAccess, ApiArea};
use crate::error::{AppError, CommandError};
use crate::web::{client_ip, AppState};

/// The media type of every SCIM body.
pub const CONTENT_TYPE: &str = "application/scim+json";

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The largest body a SCIM request may have (a group with thousands of members fits).
const BODY_LIMIT: usize = 1024 * 1024;

/// A page holds at most this many resources (`count`), and this many when none is asked.
pub const MAX_COUNT: i64 = 1000;
pub const DEFAULT_COUNT: i64 = 100;

/// Every SCIM route, under `/scim/v2`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(rules_pages::PAGE, web::get().to(rules_pages::show))
        .route(
            "/settings/provisioning/rules",
            web::post().to(rules_pages::create),
        )
        .route(
            "/settings/provisioning/rules/{id}/delete",
            web::post().to(rules_pages::delete),
        )
        .route(
            "/settings/provisioning/delay",
            web::post().to(rules_pages::set_delay),
        );
    cfg.service(
        web::scope("/scim/v2")
            .app_data(
                web::PathConfig::default().error_handler(|_, _| {
                    ScimError::not_found("There is no such resource.").into()
                }),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ScimError::bad(None, format!("A query parameter is invalid: {e}")).into()
            }))
            .service(
                one("/ServiceProviderConfig")
                    .route(web::get().to(discovery::service_provider_config)),
            )
            .service(one("/ResourceTypes").route(web::get().to(discovery::resource_types)))
            .service(one("/ResourceTypes/{id}").route(web::get().to(discovery::resource_type)))
            .service(one("/Schemas").route(web::get().to(discovery::schemas)))
            .service(one("/Schemas/{id}").route(web::get().to(discovery::schema)))
            .service(
                one("/Users")
                    .route(web::get().to(handlers::list))
                    .route(web::post().to(handlers::create::<resource::Users>)),
            )
            .service(one("/.search").route(web::post().to(handlers::search_all)))
            .service(one("/Users/.search").route(web::post().to(handlers::search)))
            .service(
                one("/Users/{id}")
                    .route(web::get().to(handlers::get::<resource::Users>))
                    .route(web::put().to(handlers::replace::<resource::Users>))
                    .route(web::patch().to(handlers::patch::<resource::Users>))
                    .route(web::delete().to(handlers::delete::<resource::Users>)),
            )
            .service(
                one("/Groups")
                    .route(web::get().to(handlers::list_groups))
                    .route(web::post().to(handlers::create::<resource::Groups>)),
            )
            .service(one("/Groups/.search").route(web::post().to(handlers::search_groups)))
            .service(
                one("/Groups/{id}")
                    .route(web::get().to(handlers::get::<resource::Groups>))
                    .route(web::put().to(handlers::replace::<resource::Groups>))
                    .route(web::patch().to(handlers::patch::<resource::Groups>))
                    .route(web::delete().to(handlers::delete::<resource::Groups>)),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ScimError::not_found(
                    "There is no such SCIM endpoint (see /scim/v2/ResourceTypes).",
                ))
            })),
    );
}

/// A SCIM endpoint: a method it does not serve answers 405 (as a SCIM error).
fn one(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "This endpoint does not serve that method.",
        ))
    }))
}

/// A SCIM error (RFC 7644 §3.12).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// A deadlock or serialization failure: the transaction may run again.
    transient: bool,
    /// The directory refused to deactivate this person, the last active Admin: the Admins
    /// are told once the refused transaction has rolled back.
    pub(crate) last_admin: Option<i64>,
}

impl crate::error::Transient for ScimError {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
            transient: false,
            last_admin: None,
        }
    }

    pub fn bad(scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, scim_type, detail)
    }

    /// A value the provider sent that a rule refuses (`invalidValue`).
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::bad(Some("invalidValue"), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut resp = HttpResponse::build(self.status);
        resp.content_type(CONTENT_TYPE);
        if self.status == StatusCode::UNAUTHORIZED {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"PortalOps SCIM\""));
        }
        resp.body(body.to_string())
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        let transient = crate::error::Transient::is_transient(&e);
        let status = match &e {
            AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
            AppError::SecondFactorSetupRequired | AppError::Csrf => StatusCode::FORBIDDEN,
            other => other.status_code(),
        };
        let (scim_type, detail) = match &e {
            AppError::NotFound => (None, "There is no such resource.".to_string()),
            AppError::Forbidden => (None, "The token's owner may not do this.".to_string()),
            AppError::BadRequest(m) => (Some("invalidValue"), m.clone()),
            AppError::PayloadTooLarge(m) | AppError::TooManyRequests { message: m, .. } => {
                (None, m.clone())
            }
            AppError::Database(_) if status == StatusCode::CONFLICT => {
                (Some("uniqueness"), crate::error::CONFLICT.to_string())
            }
            AppError::Database(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                (None, crate::error::BUSY.to_string())
            }
            AppError::Pool(_) => (None, "The database is not answering. Try again.".into()),
            _ => {
                tracing::error!(error = %e, "SCIM request failed");
                (
                    None,
                    "The error has been logged. Quote the request id if you report it.".into(),
                )
            }
        };
        let mut out = Self::new(status, scim_type, detail);
        out.transient = transient;
        out
    }
}

impl From<CommandError> for ScimError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Invalid(fields) => {
                let detail = fields
                    .iter()
                    .map(|(field, message)| format!("{}: {message}", users::attribute_of(field)))
                    .collect::<Vec<_>>()
                    .join(" ");
                // Taken (found by the command's check or by the index at the same moment):
                // the provider's `uniqueness`, whatever the directory's own status is.
                let taken = fields
                    .iter()
                    .any(|(_, m)| crate::error::is_unique_rule_message(m));
                if taken || crate::web::forms::status(&fields) == StatusCode::CONFLICT {
                    Self::uniqueness(detail)
                } else {
                    Self::invalid(detail)
                }
            }
            CommandError::Refused(m) => Self::bad(Some("mutability"), m),
            CommandError::Other(e) => e.into(),
        }
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// The provider calling: the owner of an API token with the `scim` scope, an Admin.
pub struct ScimCaller(pub Actor);

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ScimCaller) })
    }
}

async fn authenticate(req: &HttpRequest) -> ScimResult<Actor> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ScimError::from(AppError::internal("state missing")))?;
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| crate::auth::api_tokens::is_api_token(s))
        .map(str::to_string)
        .ok_or_else(|| {
            ScimError::unauthorized(
                "Send an API token with the scim scope as `Authorization: Bearer po_…` \
                 (Settings → Service accounts).",
            )
        })?;
    let ip = client_ip(req, &state.config.trusted_proxies);
    let clock = state.clock.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        crate::auth::api_tokens::authenticate(conn, &secret, ip.as_deref(), &clock)
    })
    .await?;
    let caller = outcome.map_err(|refusal| ScimError::unauthorized(refusal.message()))?;
    if !caller.scopes.allows(ApiArea::Scim, ApiAccess::Read) {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            format!(
                "This API token lacks the scim scope (it has: {}).",
                caller.scopes
            ),
        ));
    }
    let write = !matches!(*req.method(), actix_web::http::Method::GET);
    if write && !caller.scopes.allows(ApiArea::Scim, ApiAccess::Write) {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "This API token may only read (scim:read): provisioning needs scim:write.",
        ));
    }
    let mut actor = caller.actor;
    authorize(&actor, Action::ManagePeople).map_err(|_| {
        ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "Only an Admin's (or an Admin service account's) token provisions people.",
        )
    })?;
    actor.client_ip = client_ip(req, &state.config.trusted_proxies);
    Ok(actor)
}

/// A SCIM request body: JSON (sent as `application/scim+json` or `application/json`),
/// screened by `web::input` like every door's (a card number anywhere is refused).
pub struct ScimJson(pub Value);

impl FromRequest for ScimJson {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        Box::pin(async move {
            if length.is_some_and(|l| l > BODY_LIMIT) {
                return Err(ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Some("tooLarge"),
                    "The body is larger than 1 MiB.",
                ));
            }
            let bytes = body.await.map_err(|e| {
                ScimError::bad(
                    Some("invalidSyntax"),
                    format!("The body could not be read: {e}"),
                )
            })?;
            let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                ScimError::bad(Some("invalidSyntax"), format!("The body is not JSON: {e}"))
            })?;
            strip_nul(&mut value);
            let refused = crate::web::input::screen_json(&mut value);
            if !refused.is_empty() {
                return Err(CommandError::Invalid(refused).into());
            }
            Ok(ScimJson(value))
        })
    }
}

/// NUL characters leave strings (PostgreSQL text cannot hold them; nobody types them).
fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(fields) => fields.values_mut().for_each(strip_nul),
        _ => {}
    }
}

/// A SCIM answer: `body` as `application/scim+json`, with its `Location` and `ETag` when it
/// is a resource.
pub fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.content_type(CONTENT_TYPE);
    if let Some(location) = body["meta"]["location"].as_str() {
        if status == StatusCode::CREATED {
            resp.insert_header((header::LOCATION, location.to_string()));
        }
    }
    if let Some(version) = body["meta"]["version"].as_str() {
        resp.insert_header((header::ETAG, version.to_string()));
    }
    resp.body(body.to_string())
}

/// The base URL resources are located under (`<public URL>/scim/v2`).
pub fn base_url(state: &AppState) -> String {
    format!("{}/scim/v2", state.config.public_url.trim_end_matches('/'))
}

/// `startIndex` and `count` of a list request, checked (RFC 7644 §3.4.2.4: a `startIndex`
/// below 1 counts as 1, a negative `count` as 0).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// 0-based.
    pub offset: i64,
    pub count: i64,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ListQuery {
    pub filter: Option<String>,
    #[serde(rename = "startIndex")]
    pub start_index: Option<String>,
    pub count: Option<String>,
    #[serde(rename = "sortBy")]
    pub sort_by: Option<String>,
    pub attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

impl ListQuery {
    pub fn paging(&self) -> ScimResult<Paging> {
        let number = |name: &str, v: &Option<String>| -> ScimResult<Option<i64>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                    ScimError::bad(
                        Some("invalidValue"),
                        format!("{name} must be a whole number."),
                    )
                }),
            }
        };
        let start = number("startIndex", &self.start_index)?.unwrap_or(1).max(1);
        let count = number("count", &self.count)?
            .unwrap_or(DEFAULT_COUNT)
            .clamp(0, MAX_COUNT);
        Ok(Paging {
            offset: (start - 1).min(i64::from(i32::MAX)),
            count,
        })
    }
}

/// A ListResponse of `resources`, `total` of them matching.
pub fn list_response(resources: Vec<Value>, total: i64, paging: Paging) -> HttpResponse {
    respond(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": paging.offset + 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// Whether an `If-Match` header (if any) names `version`: a PUT, PATCH or DELETE on a
/// resource changed meanwhile is refused with 412 (RFC 7644 §3.14).
pub fn check_if_match(wanted: Option<&str>, version: &str) -> ScimResult<()> {
    let Some(wanted) = wanted else {
        return Ok(());
    };
    let matches = wanted.split(',').map(str::trim).any(|w| {
        w == "*" || w == version || w.trim_start_matches("W/") == version.trim_start_matches("W/")
    });
    if matches {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "The resource changed since that version (If-Match): read it again.",
        ))
    }
}

/// The request's `If-Match` header, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A version tag for a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}
