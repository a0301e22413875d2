//! `POST /api/v1/auth/login`, `/auth/refresh`, `/auth/logout` and `GET /api/v1/me`: the
//! same login command, throttling, token rotation and audit as the login page, with the
//! tokens in the JSON body instead of the session cookie.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json, Problem};
use crate::auth::commands::{self, LoginAttempt, LoginOutcome};
use crate::auth::forwarding;
use crate::auth::tokens::{self, RefreshOutcome};
use crate::auth::two_factor::{self, login::CodeAttempt, login::SecondStep};
use crate::authz::{Principal, Role};
use crate::web::{client_ip, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    username: String,
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    password: String,
    /// The `device_token` of an earlier login of this account from this client: a known
    /// device is not locked out by other clients' failures (docs/rbac.md, "Login throttling").
    #[serde(default)]
    device_token: Option<String>,
    /// The current code of the account's authenticator app (6 digits), or one of its
    /// recovery codes: required when the account has two-factor login on. A wrong one is
    /// counted like a wrong password; each code works once.
    #[serde(default)]
    #[schema(max_length = 64)]
    totp: Option<String>,
}

/// A new access token (a JWT for `Authorization: Bearer …`) and its refresh token.
#[derive(Serialize, utoipa::ToSchema)]
struct TokenPair {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Exchange at `/api/v1/auth/refresh` once, for a new pair; it rotates on every use.
    refresh_token: String,
    /// Login only: send it with the next logins of this account from this client, so that
    /// other clients' failures do not lock it out. Not a credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

fn token_pair(
    state: &AppState,
    access: String,
    refresh: String,
    device_token: Option<String>,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenPair {
            access_token: access,
            token_type: "Bearer",
            expires_in: state.config.access_token_ttl.as_secs(),
            refresh_token: refresh,
            device_token,
        })
}

/// Log in with a username and password.
///
/// The same throttling as the login page (docs/rbac.md, "Login throttling"): delays after
/// repeated failures, then 429 with `Retry-After` while this client is locked out of the
/// username, or its address is locked. Send back the `device_token` of an earlier login to
/// be a known device, which other clients' failures do not lock out.
///
/// An account with two-factor login on also needs `totp`: without it the answer is a 401
/// saying that a second-factor code is required; a wrong or already used code is a 401 and
/// counts as a failed attempt. An account of whom two-factor login is required but not yet
/// set up gets tokens, and every other call answers 403 until it is set up in the browser.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = Credentials,
    responses((status = 200, description = "Logged in", body = TokenPair)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<Credentials>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let username = body.username.trim().to_string();
    if username.is_empty() {
        return Err(Problem::invalid("username", "Enter your username."));
    }
    if body.password.is_empty() {
        return Err(Problem::invalid("password", "Enter your password."));
    }
    let totp = body
        .totp
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if totp.as_ref().is_some_and(|c| c.chars().count() > 64) {
        return Err(Problem::invalid(
            "totp",
            "Send the 6-digit code of your authenticator app, or a recovery code.",
        ));
    }
    let attempt = LoginAttempt {
        username,
        password: body.password,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
        user_agent: crate::web::user_agent(&req),
        device_token: body.device_token,
        untrusted_forwarder: forwarding::untrusted_forwarder(&req, &state.config.trusted_proxies),
    };
    match commands::login(&state, attempt).await? {
        LoginOutcome::Success {
            tokens,
            device_token,
        } => Ok(token_pair(
            &state,
            tokens.access,
            tokens.refresh,
            Some(device_token),
        )),
        LoginOutcome::Failed => Err(Problem::unauthorized("Invalid username or password.")),
        LoginOutcome::Locked { retry_after_secs } => Err(locked(retry_after_secs)),
        LoginOutcome::SecondFactor(pending) => {
            let Some(code) = totp else {
                return Err(Problem::unauthorized(
                    "A second-factor code is required: send the current code of your \
                     authenticator app (or a recovery code) as `totp`.",
                ));
            };
            let attempt = CodeAttempt {
                code,
                client_ip: client_ip(&req, &state.config.trusted_proxies),
                user_agent: crate::web::user_agent(&req),
            };
            match two_factor::login::complete(&state, pending, attempt).await? {
                SecondStep::Success {
                    tokens,
                    device_token,
                } => Ok(token_pair(
                    &state,
                    tokens.access,
                    tokens.refresh,
                    Some(device_token),
                )),
                SecondStep::Locked { retry_after_secs } => Err(locked(retry_after_secs)),
                SecondStep::Wrong | SecondStep::Expired => Err(Problem::unauthorized(
                    "The second-factor code is not right, or was already used.",
                )),
            }
        }
    }
}

fn locked(retry_after_secs: u64) -> Problem {
    crate::error::AppError::TooManyRequests {
        message: format!(
            "Too many failed attempts. Try again in {} minute(s).",
            retry_after_secs.div_ceil(60)
        ),
        retry_after_secs,
    }
    .into()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    refresh_token: String,
}

/// Exchange a refresh token for a new pair.
///
/// The old refresh token stops working (a retry within a few seconds gets the same
/// successor); presenting it again later revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshBody,
    responses((status = 200, description = "A new token pair", body = TokenPair)))]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RefreshBody>,
) -> ApiResult<HttpResponse> {
    let token = body.into_inner().refresh_token;
    if token.is_empty() {
        return Err(Problem::invalid("refresh_token", "Send the refresh token."));
    }
    let keys = state.keys.clone();
    let clock = state.clock.clone();
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let outcome = crate::db::run(&state.pool, move |conn| {
        let outcome = tokens::rotate(conn, &keys, &token, ip.as_deref())?;
        // The account may have been deactivated or demoted since the login.
        if let RefreshOutcome::Rotated {
            user_id,
            session_id,
            ..
        } = &outcome
        {
            if crate::auth::current_user::load_actor(conn, *user_id, *session_id, &clock)?.is_none()
            {
                return Ok(RefreshOutcome::Invalid);
            }
        }
        Ok(outcome)
    })
    .await?;
    match outcome {
        RefreshOutcome::Rotated {
            user_id,
            session_id,
            refresh,
        } => {
            let access = state.keys.issue_access(user_id, session_id)?;
            Ok(token_pair(&state, access, refresh, None))
        }
        RefreshOutcome::Invalid => Err(Problem::unauthorized(
            "The refresh token is not valid (unknown, expired or its session has ended).",
        )),
        RefreshOutcome::ReuseDetected => Err(Problem::unauthorized(
            "This refresh token was already used: the session has been revoked. Log in again.",
        )),
    }
}

/// Log out: end the token's session, its refresh token with it (audited).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    responses((status = 204, description = "Logged out")))]
pub async fn logout(user: ApiUser, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    commands::logout(&state, &user.0).await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}

#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    /// `person` (a person's login or token), or `service` (a service account's token).
    kind: &'static str,
    /// The person's id in the directory, or the service account's id.
    id: i64,
    username: String,
    full_name: String,
    /// admin, service_admin, product_admin (plain users cannot log in).
    role: &'static str,
    /// Services run as a Service Administrator.
    services: Vec<i64>,
    /// Products run as a Product Administrator.
    products: Vec<i64>,
}

/// Who the token belongs to, their role and their scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", operation_id = "me",
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(user: ApiUser) -> ApiResult<HttpResponse> {
    let a = user.0;
    let (kind, id) = match a.principal {
        Principal::Person(id) => ("person", id),
        Principal::Service(id) => ("service", id.get()),
    };
    Ok(HttpResponse::Ok().json(Me {
        kind,
        id,
        username: a.username,
        full_name: a.full_name,
        role: match a.role {
            Role::Admin => "admin",
            Role::ServiceAdmin => "service_admin",
            Role::ProductAdmin => "product_admin",
            Role::User => "user",
        },
        products: a.scope.product_ids(),
        services: a.scope.services,
    }))
}
