//! The public pages of emailed login links: "Forgot password" and the page a link opens to
//! choose a password (thin: parse, call `links`, render). The link's pages send
//! `Referrer-Policy: no-referrer` and all of them `Cache-Control: no-store`, so the token
//! leaves in no `Referer` and stays in no cache; request logs show its path redacted
//! (`web::redact`).

use std::time::{Duration, Instant};

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::links::{self, LinkCheck, LinkSettings, Redeemed, ResetRequest};
use super::session::{self as sess, FlashKind};
use crate::domain::LinkPurpose;
use crate::error::{AppError, AppResult};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::redirect;
use crate::web::{client_ip, AppState, PageCtx};

/// "Forgot password" answers no sooner than this after the request arrived, whether or not
/// anyone has the address typed: the work for someone who exists (a link, an email, an
/// audit entry) takes a few milliseconds more, and the answer must not tell them apart.
const FORGOT_ANSWER_FLOOR: Duration = Duration::from_millis(300);

/// A page of these flows, never cached.
fn page(status: StatusCode, body: Result<String, askama::Error>) -> AppResult<HttpResponse> {
    let mut resp = crate::web::respond::html(status, body)?;
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// A page at a link's address (which holds its token): no request it makes — its
/// stylesheet, the form's post, a link followed — names the address in a `Referer` (the
/// browser then sends `Origin: null` with the form: `web::csrf` expects it here).
fn link_page(status: StatusCode, body: Result<String, askama::Error>) -> AppResult<HttpResponse> {
    let mut resp = page(status, body)?;
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    ctx: PageCtx,
    who: String,
    error: String,
}

#[derive(Template)]
#[template(path = "auth/forgot_sent.html")]
struct ForgotSentPage {
    ctx: PageCtx,
    valid_for: String,
}

pub async fn forgot_form(session: Session) -> AppResult<HttpResponse> {
    let p = ForgotPage {
        ctx: PageCtx::new(&session, None, "Forgot password", ""),
        who: String::new(),
        error: String::new(),
    };
    page(StatusCode::OK, p.render())
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    who: String,
}

fn lifetime(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes();
    match minutes {
        m if m % (24 * 60) == 0 => format!("{} day(s)", m / (24 * 60)),
        m if m % 60 == 0 => format!("{} hour(s)", m / 60),
        m => format!("{m} minute(s)"),
    }
}

pub async fn forgot(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: Form<ForgotForm>,
) -> AppResult<HttpResponse> {
    let started = Instant::now();
    // A card number typed here is emptied by the screen: asked again, never recorded.
    let (form, refused) = form.into_parts();
    let who = form.who.trim().to_string();
    if who.is_empty() || !refused.is_empty() || who.chars().count() > 254 {
        let p = ForgotPage {
            ctx: PageCtx::new(&session, None, "Forgot password", ""),
            who: if refused.is_empty() {
                who
            } else {
                String::new()
            },
            error: if refused.is_empty() {
                "Enter your email address or username.".into()
            } else {
                refused.get("who").to_string()
            },
        };
        return page(StatusCode::UNPROCESSABLE_ENTITY, p.render());
    }
    let settings = LinkSettings::from_state(&state)?;
    let valid_for = lifetime(settings.reset_ttl);
    let ip = client_ip(&req, &state.config.trusted_proxies).unwrap_or_else(|| "unknown".into());
    let throttle = state.config.throttle.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        links::request_reset(conn, &settings, &throttle, &who, &ip)
    })
    .await?;
    if let Some(rest) = FORGOT_ANSWER_FLOOR.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    match outcome {
        ResetRequest::Answered => {
            let p = ForgotSentPage {
                ctx: PageCtx::new(&session, None, "Check your email", ""),
                valid_for,
            };
            page(StatusCode::OK, p.render())
        }
        ResetRequest::Throttled { retry_after_secs } => Err(AppError::TooManyRequests {
            message: format!(
                "Too many password reset requests from your address. Try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            ),
            retry_after_secs,
        }),
    }
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    ctx: PageCtx,
    invitation: bool,
    full_name: String,
    username: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/link_invalid.html")]
struct InvalidLinkPage {
    ctx: PageCtx,
    heading: &'static str,
    message: &'static str,
}

/// The page for a link that cannot be used, with what to do instead.
fn invalid_link(session: &Session, why: &LinkCheck) -> AppResult<HttpResponse> {
    let (status, heading, message) = match why {
        LinkCheck::Used => (
            StatusCode::GONE,
            "This link was already used",
            "Each link sets a password once, and this one has been used (perhaps in another tab or window).",
        ),
        LinkCheck::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Links to set a password are valid for a limited time, and this one's time is up.",
        ),
        LinkCheck::Voided => (
            StatusCode::GONE,
            "This link is no longer valid",
            "A newer link was sent since, the password was set another way, or the login was switched off.",
        ),
        LinkCheck::Unknown | LinkCheck::Valid { .. } => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that the whole address from the email was opened; links are long and some mail programs break them.",
        ),
    };
    let p = InvalidLinkPage {
        ctx: PageCtx::new(session, None, heading, ""),
        heading,
        message,
    };
    link_page(status, p.render())
}

fn render_set(session: &Session, check: LinkCheck, errors: FieldErrors) -> AppResult<HttpResponse> {
    let LinkCheck::Valid {
        purpose,
        username,
        full_name,
    } = check
    else {
        return invalid_link(session, &check);
    };
    let status = crate::web::forms::status(&errors);
    let p = SetPasswordPage {
        ctx: PageCtx::new(session, None, "Choose a password", ""),
        invitation: purpose == LinkPurpose::Invitation,
        full_name,
        username,
        errors,
    };
    link_page(status, p.render())
}

async fn check_link(state: &AppState, token: String) -> AppResult<LinkCheck> {
    let (now, today) = (state.clock.now(), state.clock.today());
    crate::db::run(&state.pool, move |conn| {
        links::check(conn, &token, now, today)
    })
    .await
}

pub async fn set_form(
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let check = check_link(&state, path.into_inner()).await?;
    render_set(&session, check, FieldErrors::new())
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn set(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Form<SetPasswordForm>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let (form, _) = form.into_parts();
    let check = check_link(&state, token.clone()).await?;
    let LinkCheck::Valid {
        username,
        full_name,
        ..
    } = &check
    else {
        return invalid_link(&session, &check);
    };
    let mut errors = FieldErrors::new();
    if let Err(m) = super::password::check_policy(&form.password, Some(username), Some(full_name)) {
        errors.add("password", m);
    } else if form.password != form.password_confirm {
        errors.add("password_confirm", "The two passwords differ.");
    }
    if !errors.is_empty() {
        return render_set(&session, check, errors);
    }
    let typed = form.password;
    let hash = state
        .hasher
        .run(move || super::password::hash(&typed))
        .await??;
    let (now, today) = (state.clock.now(), state.clock.today());
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let outcome = crate::db::run(&state.pool, move |conn| {
        links::redeem(conn, &token, &hash, now, today, ip.as_deref())
    })
    .await?;
    match outcome {
        Redeemed::Done { .. } => {
            // The link's person's sessions are all ended (this browser's too, if it was
            // theirs); a browser logged in as someone else stays so.
            sess::flash(&session, FlashKind::Success, "Password set — log in");
            Ok(redirect("/login"))
        }
        Redeemed::Refused(why) => invalid_link(&session, &why),
    }
}
