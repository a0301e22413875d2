//! The two-factor pages of a user: the second step of the login (`/login/two-factor`) and
//! their own set-up under My account (`/account/two-factor`). Thin: parse, call a command,
//! render.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, Confirmed, Enrolment};
use super::login::{self, CodeAttempt, PendingLogin, SecondStep};
use crate::auth::current_user::EnrollingUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::error::AppResult;
use crate::web::format::format_time;
use crate::web::forms::FieldErrors;
use crate::web::respond::{html, redirect};
use crate::web::{client_ip, AppState, PageCtx};

// ---- /login/two-factor ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct CodePage {
    ctx: PageCtx,
    error: String,
}

fn render_code(session: &Session, error: String, status: StatusCode) -> AppResult<HttpResponse> {
    let page = CodePage {
        ctx: PageCtx::new(session, None, "Two-factor login", ""),
        error,
    };
    html(status, page.render())
}

fn start_again(session: &Session, message: &str) -> AppResult<HttpResponse> {
    sess::clear_pending_login(session);
    sess::flash(session, FlashKind::Info, message);
    Ok(redirect("/login"))
}

pub async fn code_form(session: Session) -> AppResult<HttpResponse> {
    if sess::pending_login::<PendingLogin>(&session).is_none() {
        return start_again(&session, "Log in with your username and password first.");
    }
    render_code(&session, String::new(), StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn submit_code(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let (form, _) = form.into_parts();
    let Some((pending, next)) = sess::pending_login::<PendingLogin>(&session) else {
        return start_again(&session, "Log in with your username and password first.");
    };
    let code = form.code.trim().to_string();
    if code.is_empty() {
        return render_code(
            &session,
            "Enter the code from your authenticator app, or a recovery code.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let attempt = CodeAttempt {
        code,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
        user_agent: crate::web::user_agent(&req),
    };
    match login::complete(&state, pending, attempt).await? {
        SecondStep::Success {
            tokens,
            device_token,
        } => crate::auth::pages::begin_session(
            &session,
            &tokens,
            device_token,
            &next,
            state.config.cookie_secure,
        ),
        SecondStep::Wrong => render_code(
            &session,
            "This code is not right, or was already used. Enter the code shown now.".into(),
            StatusCode::UNAUTHORIZED,
        ),
        SecondStep::Locked { retry_after_secs } => {
            let minutes = retry_after_secs.div_ceil(60);
            let mut resp = render_code(
                &session,
                format!("Too many failed attempts. Try again in {minutes} minute(s)."),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(resp)
        }
        SecondStep::Expired => start_again(
            &session,
            "The time to enter the code ran out. Log in again.",
        ),
    }
}

// ---- /account/two-factor --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct AccountPage {
    ctx: PageCtx,
    /// When the factor was confirmed, if it is on.
    enabled_since: String,
    recovery_left: i64,
    required: bool,
    enrolment: Option<Enrolment>,
    /// New recovery codes, shown this once.
    recovery_codes: Vec<String>,
    errors: FieldErrors,
}

async fn render_account(
    session: &Session,
    state: &web::Data<AppState>,
    actor: &Actor,
    recovery_codes: Vec<String>,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let st = state.clone();
    let (status_now, enrolment) = crate::db::run(&state.pool, move |conn| {
        let s = super::queries::status(conn, a.person()?)?;
        let e = if s.pending.is_some() {
            commands::pending_enrolment(conn, &st, &a)?
        } else {
            None
        };
        Ok((s, e))
    })
    .await?;
    let page = AccountPage {
        ctx: PageCtx::new(session, Some(actor), "Two-factor login", "/account"),
        enabled_since: status_now.confirmed_at.map(format_time).unwrap_or_default(),
        recovery_left: status_now.recovery_left,
        required: status_now.policy.requires(actor.role),
        enrolment,
        recovery_codes,
        errors,
    };
    html(status, page.render())
}

pub async fn account(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageOwnTwoFactor)?;
    render_account(
        &session,
        &state,
        &user.0,
        Vec::new(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn start(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageOwnTwoFactor)?;
    let st = state.clone();
    let started =
        crate::db::run(&state.pool, move |conn| commands::start(conn, &st, &actor)).await?;
    if started.is_none() {
        sess::flash(
            &session,
            FlashKind::Info,
            "Two-factor login is already on. Turn it off first to use another authenticator.",
        );
    }
    Ok(redirect("/account/two-factor"))
}

pub async fn confirm(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageOwnTwoFactor)?;
    let (form, _) = form.into_parts();
    let (st, a) = (state.clone(), actor.clone());
    let outcome = crate::db::run(&state.pool, move |conn| {
        commands::confirm(conn, &st, &a, &form.code)
    })
    .await?;
    match outcome {
        Confirmed::Enabled(codes) => {
            sess::flash(&session, FlashKind::Success, "Two-factor login is on.");
            render_account(
                &session,
                &state,
                &actor,
                codes,
                FieldErrors::new(),
                StatusCode::OK,
            )
            .await
        }
        Confirmed::Invalid(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_account(&session, &state, &actor, Vec::new(), errors, status).await
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    /// `disable_password` on the turn-off form (two password fields share the page).
    #[serde(default, alias = "disable_password")]
    current_password: String,
}

pub async fn disable(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageOwnTwoFactor)?;
    // A password: a secret, never screened as text.
    let (form, _) = form.into_parts();
    match commands::disable(&state, &actor, form.current_password).await? {
        Ok(()) => {
            sess::flash(&session, FlashKind::Success, "Two-factor login is off.");
            Ok(redirect("/account/two-factor"))
        }
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_account(&session, &state, &actor, Vec::new(), errors, status).await
        }
    }
}

pub async fn renew_codes(
    user: EnrollingUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageOwnTwoFactor)?;
    let (form, _) = form.into_parts();
    let outcome = commands::regenerate_codes(&state, &actor, form.current_password).await?;
    let (codes, errors, status) = match outcome {
        Ok(Some(codes)) => (codes, FieldErrors::new(), StatusCode::OK),
        Ok(None) => {
            sess::flash(&session, FlashKind::Info, "Turn on two-factor login first.");
            return Ok(redirect("/account/two-factor"));
        }
        Err(errors) => (Vec::new(), errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    render_account(&session, &state, &actor, codes, errors, status).await
}
