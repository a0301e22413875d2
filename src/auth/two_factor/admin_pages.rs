//! The Admins' two-factor pages: Settings → Two-factor login (who must use it) and the
//! reset of a person's second factor from their directory page (the Admin's own password
//! required; never for a higher role, `authz`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, ResetOutcome};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action};
use crate::domain::{PersonId, TwoFactorPolicy};
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::respond::{html, redirect};
use crate::web::{urls, AppState, PageCtx};

#[derive(Template)]
#[template(path = "settings_two_factor.html")]
struct PolicyPage {
    ctx: PageCtx,
    policy: String,
    options: &'static [(&'static str, &'static str)],
    error: String,
}

async fn render_policy(
    session: &Session,
    state: &AppState,
    actor: &crate::authz::Actor,
    error: String,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let policy = crate::db::run(&state.pool, super::queries::policy).await?;
    let page = PolicyPage {
        ctx: PageCtx::new(session, Some(actor), "Two-factor login", "/settings"),
        policy: policy.as_str().to_string(),
        options: TwoFactorPolicy::OPTIONS,
        error,
    };
    html(status, page.render())
}

pub async fn policy_page(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    render_policy(&session, &state, &user.0, String::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    policy: String,
}

pub async fn set_policy(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<PolicyForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    let (form, _) = form.into_parts();
    let Some(policy) = TwoFactorPolicy::parse(form.policy.trim()) else {
        let msg = "Choose who must log in with a second factor.".to_string();
        return render_policy(
            &session,
            &state,
            &actor,
            msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        commands::set_policy(conn, &a, policy)
    })
    .await?;
    sess::flash(
        &session,
        FlashKind::Success,
        &format!("Two-factor login required for: {}.", policy.label()),
    );
    Ok(redirect("/settings/two-factor"))
}

#[derive(Template)]
#[template(path = "directory/two_factor_reset.html")]
struct ResetPage {
    ctx: PageCtx,
    person: PersonId,
    name: String,
    role: &'static str,
    has_factor: bool,
    errors: FieldErrors,
}

async fn render_reset(
    session: &Session,
    state: &AppState,
    actor: &crate::authz::Actor,
    person: PersonId,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let target = crate::db::run(&state.pool, move |conn| {
        super::queries::reset_target(conn, &a, person.get())
    })
    .await?;
    let page = ResetPage {
        ctx: PageCtx::new(session, Some(actor), "Reset two-factor login", "/directory"),
        person,
        name: target.name,
        role: target.role.label(),
        has_factor: target.has_factor,
        errors,
    };
    html(status, page.render())
}

pub async fn reset_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    let person = path.into_inner();
    render_reset(
        &session,
        &state,
        &user.0,
        person,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    current_password: String,
}

pub async fn reset(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    form: crate::web::input::Form<ResetForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let person = path.into_inner();
    // A password: a secret, never screened as text.
    let (form, _) = form.into_parts();
    match commands::reset(&state, &actor, person.get(), form.current_password).await? {
        ResetOutcome::Reset(name) => {
            let msg = format!("The two-factor login of {name} was reset.");
            sess::flash(&session, FlashKind::Success, &msg);
            Ok(redirect(&urls::person(person)))
        }
        ResetOutcome::NoFactor(name) => {
            let msg = format!("{name} has no second factor to reset.");
            sess::flash(&session, FlashKind::Info, &msg);
            Ok(redirect(&urls::person(person)))
        }
        ResetOutcome::WrongPassword(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_reset(&session, &state, &actor, person, errors, status).await
        }
    }
}
