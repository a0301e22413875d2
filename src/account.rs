//! The logged-in user's own account: profile details, password change and the personal
//! calendar feed link.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::commands::{self, ChangeOutcome, PasswordChange};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

/// My account: the profile, the password change, a new calendar feed link.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(show))
        .route("/account/password", web::post().to(change_password))
        .route("/account/calendar-token", web::post().to(rotate_calendar));
}

#[derive(Template)]
#[template(path = "account/profile.html")]
struct ProfilePage {
    ctx: PageCtx,
    full_name: String,
    email: String,
    username: String,
    role: &'static str,
    errors: FieldErrors,
    has_feed: bool,
    /// The new feed URL, shown once right after it is made.
    feed_url: String,
}

async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    render_with(session, state, actor, errors, status, String::new()).await
}

async fn render_with(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    errors: FieldErrors,
    status: StatusCode,
    feed_url: String,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let profile = crate::db::run(&state.pool, move |conn| {
        crate::directory::queries::own_profile(conn, &a)
    })
    .await?;
    let page = ProfilePage {
        ctx: PageCtx::new(session, Some(actor), "My account", "/account"),
        full_name: profile.full_name,
        email: profile.email,
        username: actor.username.clone(),
        role: actor.role.label(),
        errors,
        has_feed: profile.has_feed,
        feed_url,
    };
    html(status, page.render())
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ChangeOwnPassword)?;
    render(
        &session,
        &state,
        &user.0,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn change_password(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<PasswordChange>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ChangeOwnPassword)?;
    // Only passwords, which are secrets and never screened as text.
    let (form, _) = form.into_parts();
    match commands::change_password(&state, &user.0, form).await? {
        ChangeOutcome::Changed {
            other_sessions_ended,
        } => {
            let msg = match other_sessions_ended {
                0 => "Password changed.".to_string(),
                n => format!("Password changed. {n} other session(s) were logged out."),
            };
            sess::flash(&session, FlashKind::Success, &msg);
            Ok(redirect("/account"))
        }
        ChangeOutcome::Invalid(errors) => {
            render(
                &session,
                &state,
                &user.0,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Makes a new personal calendar feed link (the old one stops working at once).
pub async fn rotate_calendar(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewPayments)?;
    let a = user.0.clone();
    let token = crate::db::run(&state.pool, move |conn| {
        crate::payments::calendar::rotate_token(conn, &a)
    })
    .await?;
    let url = format!("{}/calendar/feed/{token}.ics", state.config.public_url);
    render_with(
        &session,
        &state,
        &user.0,
        FieldErrors::new(),
        StatusCode::OK,
        url,
    )
    .await
}
