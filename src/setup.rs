//! First run: while no Admin exists, start-up prints a one-time setup URL; its page creates
//! the first Admin and stops existing once one exists. `portalops admin create` is the shell
//! equivalent.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::{self as sess, FlashKind};
use crate::auth::{constant_time_eq, password};
use crate::directory::commands::{create_first_admin, CreateError, NewLoginUser};
use crate::error::{AppError, AppResult};
use crate::web::forms::FieldErrors;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

/// The first-run page (public while no Admin exists).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(form))
        .route("/setup", web::post().to(submit));
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    ctx: PageCtx,
    token: String,
    form: NewLoginUser,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(flatten)]
    user: NewLoginUser,
}

/// The setup token matches, and no Admin exists yet; otherwise the page does not exist.
fn check_token(state: &AppState, presented: &str) -> AppResult<()> {
    let guard = state
        .setup_token
        .lock()
        .map_err(|_| AppError::internal("setup lock poisoned"))?;
    match guard.as_deref() {
        Some(t) if constant_time_eq(t.as_bytes(), presented.as_bytes()) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

pub async fn form(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    let token = query.into_inner().token.unwrap_or_default();
    check_token(&state, &token)?;
    let page = SetupPage {
        ctx: PageCtx::new(&session, None, "Set up PortalOps", ""),
        token,
        form: NewLoginUser::default(),
        errors: FieldErrors::new(),
    };
    html(StatusCode::OK, page.render())
}

pub async fn submit(
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<SetupForm>,
) -> AppResult<HttpResponse> {
    let (SetupForm { token, mut user }, refused) = form.into_parts();
    check_token(&state, &token)?;
    let rerender = |user: NewLoginUser, errors: FieldErrors| {
        let page = SetupPage {
            ctx: PageCtx::new(&session, None, "Set up PortalOps", ""),
            token: token.clone(),
            form: NewLoginUser {
                password: String::new(),
                password_confirm: String::new(),
                ..user
            },
            errors,
        };
        html(StatusCode::UNPROCESSABLE_ENTITY, page.render())
    };
    if let Err(errors) = crate::web::input::with_refusals(refused, user.validate()) {
        return rerender(user, errors);
    }
    let pw = user.password.clone();
    let hash = state.hasher.run(move || password::hash(&pw)).await??;
    let to_insert = user.clone();
    let created = crate::db::run(&state.pool, move |conn| {
        Ok(create_first_admin(conn, &to_insert, &hash))
    })
    .await?;
    match created {
        Ok(_) => {
            if let Ok(mut t) = state.setup_token.lock() {
                *t = None;
            }
            tracing::info!(
                "first Admin created through the setup page; the setup URL is now disabled"
            );
            sess::flash(
                &session,
                FlashKind::Success,
                "Your Admin account is ready. Log in to continue.",
            );
            Ok(redirect("/login"))
        }
        Err(CreateError::Invalid(errors)) => rerender(user, errors),
        Err(CreateError::Other(e)) => Err(e),
    }
}
