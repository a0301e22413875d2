//! `GET/POST /api/v1/tokens` and `DELETE /api/v1/tokens/{id}`: the caller's long-lived API
//! tokens for scripts (`auth::api_tokens`, the pages' commands and queries). The secret is in
//! the answer to the POST and nowhere else, ever. Making and revoking needs a login (a JWT):
//! a token cannot make or revoke tokens (`route_scopes::Need::LoginOnly`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json};
use crate::auth::api_tokens::commands::{self, NewToken};
use crate::auth::api_tokens::queries::{self, TokenRow};
use crate::domain::{ApiTokenId, TokenScopes};
use crate::error::CommandError;
use crate::web::AppState;

/// One of the caller's API tokens (never the secret).
#[derive(Serialize, utoipa::ToSchema)]
struct TokenItem {
    id: i64,
    name: String,
    /// The visible start of the token, `po_` and 8 characters.
    prefix: String,
    /// `area:read` or `area:write` for each area the token may use.
    scopes: Vec<String>,
    /// active, expired or revoked.
    state: &'static str,
    created_at: chrono::DateTime<chrono::Utc>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    last_used_ip: Option<String>,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TokenItem {
    fn new(t: TokenRow, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            state: t.state(now).label(),
            id: t.id.get(),
            scopes: t.scopes.split_whitespace().map(str::to_string).collect(),
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            last_used_ip: t.last_used_ip,
            revoked_at: t.revoked_at,
        }
    }
}

/// The caller's API tokens, newest first (revoked and expired ones too).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", operation_id = "list_tokens",
    responses((status = 200, description = "The caller's tokens", body = Vec<TokenItem>)))]
pub async fn list(user: ApiUser, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let rows = crate::db::run(&state.pool, move |conn| queries::own(conn, &actor)).await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|t| TokenItem::new(t, now))
            .collect::<Vec<_>>(),
    ))
}

/// A token to make.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTokenBody {
    /// What the token is for, e.g. "nightly export".
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 100)]
    name: String,
    /// The last day it works (`YYYY-MM-DD`, today or later); absent or null: no expiry.
    #[serde(default)]
    #[schema(format = Date)]
    expires_on: Option<String>,
    /// `read` (every area read-only) or `AREA:read` / `AREA:write` with AREA one of
    /// people, inventory, billing, workflows, audit. They only narrow your own rights.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    scopes: Vec<String>,
}

/// A token just made: `token` is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
struct CreatedToken {
    id: i64,
    /// The secret: send it as `Authorization: Bearer <token>`. It cannot be shown again.
    token: String,
    prefix: String,
    name: String,
    scopes: Vec<String>,
    expires_on: Option<chrono::NaiveDate>,
}

/// Make an API token for the caller (audited; needs a login, not a token).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", operation_id = "create_token",
    request_body = NewTokenBody,
    responses((status = 201, description = "Made: the secret is in `token`, this once", body = CreatedToken)))]
pub async fn create(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<NewTokenBody>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let body = body.into_inner();
    let request = NewToken::new(
        &body.name,
        body.expires_on.as_deref().unwrap_or(""),
        TokenScopes::parse_words(body.scopes.iter().map(String::as_str)),
        &state.clock,
    )
    .map_err(CommandError::Invalid)?;
    let now = state.clock.now();
    let made = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create(conn, &actor, request, now))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedToken {
            id: made.id.get(),
            token: made.secret,
            prefix: made.prefix,
            name: made.name,
            scopes: made.scopes.words(),
            expires_on: made.expires_on,
        }))
}

/// Revoke a token: the caller's own, or anyone's for an Admin. It stops working at the next
/// request, on every instance (audited; needs a login, not a token).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", operation_id = "revoke_token",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = ApiTokenId(path.into_inner());
    let now = state.clock.now();
    crate::db::run(&state.pool, move |conn| {
        Ok(commands::revoke(conn, &actor, id, now))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
