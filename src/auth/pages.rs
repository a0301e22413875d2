//! Login and logout pages (thin: parse, call a command, render).

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, LoginAttempt, LoginOutcome};
use super::current_user::EnrollingUser;
use super::session::{self as sess, FlashKind};
use super::{forwarding, known_device};
use crate::error::{AppError, AppResult};
use crate::web::respond::{html, redirect};
use crate::web::{client_ip, safe_next, AppState, PageCtx};

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageCtx,
    username: String,
    next: String,
    error: String,
    /// The single sign-on button's label; empty without single sign-on.
    sso_label: String,
    /// Whether the password form is shown (not with password login switched off).
    password_form: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> AppResult<HttpResponse> {
    render_login(
        &state,
        &session,
        String::new(),
        query.next.as_deref(),
        String::new(),
        StatusCode::OK,
    )
}

fn render_login(
    state: &AppState,
    session: &Session,
    username: String,
    next: Option<&str>,
    error: String,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let page = LoginPage {
        ctx: PageCtx::new(session, None, "Log in", ""),
        username,
        next: safe_next(next).unwrap_or_default(),
        error,
        sso_label: state
            .config
            .sso
            .as_ref()
            .map(|s| s.button_label.clone())
            .unwrap_or_default(),
        password_form: state.config.password_login != crate::config::PasswordLogin::Off,
    };
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    // A username holding a card number is emptied by the screen: asked again, never recorded.
    let (form, _) = form.into_parts();
    let username = form.username.trim().to_string();
    if username.is_empty() || form.password.is_empty() {
        let msg = "Enter your username and password.".to_string();
        return render_login(
            &state,
            &session,
            username,
            Some(&form.next),
            msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let secure = state.config.cookie_secure;
    let attempt = LoginAttempt {
        username: username.clone(),
        password: form.password,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
        user_agent: crate::web::user_agent(&req),
        device_token: req
            .cookie(known_device::cookie_name(secure))
            .map(|c| c.value().to_string()),
        untrusted_forwarder: forwarding::untrusted_forwarder(&req, &state.config.trusted_proxies),
    };
    let outcome = match commands::login(&state, attempt).await {
        Ok(outcome) => outcome,
        // Too many logins waiting for a password check: the form again, with what was typed.
        Err(AppError::TooManyRequests {
            message,
            retry_after_secs,
        }) => {
            return refused(
                &state,
                &session,
                username,
                &form.next,
                message,
                retry_after_secs,
            )
        }
        Err(e) => return Err(e),
    };
    match outcome {
        LoginOutcome::Success {
            tokens,
            device_token,
        } => begin_session(&session, &tokens, device_token, &form.next, secure),
        LoginOutcome::SecondFactor(pending) => {
            sess::set_pending_login(&session, &pending, &form.next);
            Ok(redirect("/login/two-factor"))
        }
        LoginOutcome::Failed => render_login(
            &state,
            &session,
            username,
            Some(&form.next),
            "Invalid username or password.".into(),
            StatusCode::UNAUTHORIZED,
        ),
        LoginOutcome::Locked { retry_after_secs } => {
            let minutes = retry_after_secs.div_ceil(60);
            let msg = format!("Too many failed attempts. Try again in {minutes} minute(s).");
            refused(
                &state,
                &session,
                username,
                &form.next,
                msg,
                retry_after_secs,
            )
        }
    }
}

/// Starts the browser session of a completed login (after the password, or after the
/// second factor) and marks the client as a known device of the account.
pub(super) fn begin_session(
    session: &Session,
    tokens: &super::tokens::IssuedTokens,
    device_token: String,
    next: &str,
    secure: bool,
) -> AppResult<HttpResponse> {
    sess::begin(session, &tokens.access, &tokens.refresh);
    let target = safe_next(Some(next)).unwrap_or_else(|| "/".into());
    let mut resp = redirect(&target);
    let max_age = actix_web::cookie::time::Duration::seconds(known_device::LIFETIME.num_seconds());
    let cookie = Cookie::build(known_device::cookie_name(secure), device_token)
        .path("/")
        .secure(secure)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish();
    resp.add_cookie(&cookie)
        .map_err(|e| AppError::internal(format!("device cookie: {e}")))?;
    Ok(resp)
}

/// The login form again with a 429, the reason and `Retry-After`.
fn refused(
    state: &AppState,
    session: &Session,
    username: String,
    next: &str,
    message: String,
    retry_after_secs: u64,
) -> AppResult<HttpResponse> {
    let mut resp = render_login(
        state,
        session,
        username,
        Some(next),
        message,
        StatusCode::TOO_MANY_REQUESTS,
    )?;
    if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}

pub async fn logout(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    commands::logout(&state, &user.0).await?;
    sess::end(&session);
    sess::flash(&session, FlashKind::Info, "You are logged out.");
    Ok(redirect("/login"))
}
