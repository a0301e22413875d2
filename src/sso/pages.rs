//! The single sign-on pages (thin: parse, call the flow, render): the start, which sends
//! the browser to the provider, and the callback, which logs in or shows why not.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::Client;
use super::flow::{self, Callback, Failure};
use super::Provider;
use crate::auth::session as sess;
use crate::error::{AppError, AppResult};
use crate::web::respond::{html, redirect};
use crate::web::{client_ip, safe_next, AppState, PageCtx};

/// The state this browser was given, in its (encrypted) session cookie.
const BROWSER_STATE: &str = "sso_state";

#[derive(Template)]
#[template(path = "sso/refused.html")]
struct RefusedPage {
    ctx: PageCtx,
    heading: &'static str,
    message: String,
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

fn provider(p: Option<web::Data<Provider>>) -> AppResult<web::Data<Provider>> {
    p.ok_or(AppError::NotFound)
}

pub async fn start(
    session: Session,
    state: web::Data<AppState>,
    p: Option<web::Data<Provider>>,
    query: web::Query<StartQuery>,
) -> AppResult<HttpResponse> {
    let p = provider(p)?;
    let next = safe_next(query.next.as_deref());
    match flow::begin(&state, &p, next).await {
        Ok(begun) => {
            let _ = session.insert(BROWSER_STATE, &begun.state);
            Ok(redirect(&begun.url))
        }
        Err(f) => failure_page(&session, f),
    }
}

pub async fn callback(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    p: Option<web::Data<Provider>>,
    query: web::Query<Callback>,
) -> AppResult<HttpResponse> {
    let p = provider(p)?;
    let browser_state = session.get::<String>(BROWSER_STATE).ok().flatten();
    session.remove(BROWSER_STATE);
    let client = Client {
        ip: client_ip(&req, &state.config.trusted_proxies),
        user_agent: crate::web::user_agent(&req),
    };
    match flow::finish(&state, &p, query.into_inner(), browser_state, client).await {
        Ok(done) => {
            sess::begin(&session, &done.tokens.access, &done.tokens.refresh);
            let target = safe_next(done.next.as_deref()).unwrap_or_else(|| "/".into());
            Ok(redirect(&target))
        }
        Err(f) => failure_page(&session, f),
    }
}

fn failure_page(session: &Session, f: Failure) -> AppResult<HttpResponse> {
    let (status, heading, message) = match f {
        Failure::Internal(e) => return Err(e),
        Failure::Unreachable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in provider unavailable",
            "The sign-in provider could not be reached; sign in with your password or try again in a moment.".to_string(),
        ),
        Failure::Refused(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN),
            "Not signed in",
            r.message,
        ),
    };
    let page = RefusedPage {
        ctx: PageCtx::new(session, None, heading, ""),
        heading,
        message,
    };
    html(status, page.render())
}
