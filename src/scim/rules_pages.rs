//! Settings → Provisioning (Admins): the rules that start onboardings and give roles from
//! the identity provider's groups and departments, a form to add one, and the delay of a
//! deactivation's last day. Thin: the commands and queries are in `rules`.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::rules::{self, Choices, NewRule, RuleView};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::domain::{Role, RuleSource};
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{after_command, html, redirect, run_command};
use crate::web::{AppState, PageCtx};

/// Where the page lives.
pub const PAGE: &str = "/settings/provisioning";

/// The rule form, as typed (kept when it is shown again with errors).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub match_value: String,
    #[serde(default)]
    pub template_id: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub service_id: String,
    #[serde(default)]
    pub product_id: String,
}

impl RuleForm {
    /// An empty form, matching a group.
    fn blank() -> Self {
        Self {
            source: RuleSource::Group.as_str().into(),
            ..Self::default()
        }
    }

    fn request(&self) -> Result<NewRule, FieldErrors> {
        NewRule::new(
            &self.source,
            &self.match_value,
            &self.template_id,
            &self.role,
            &self.service_id,
            &self.product_id,
        )
    }
}

/// The delay form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DelayForm {
    #[serde(default)]
    pub delay_days: String,
}

/// One rule as the table shows it.
pub struct RuleRow {
    pub id: i64,
    pub source: &'static str,
    pub name: String,
    pub template: String,
    pub template_id: Option<i64>,
    pub role: String,
    pub matches: i64,
}

impl RuleRow {
    fn new(v: RuleView) -> Self {
        let role = match (v.rule.role, v.scope) {
            (None, _) => String::new(),
            (Some(r), None) => r.label().to_string(),
            (Some(r), Some(scope)) => format!("{} of {scope}", r.label()),
        };
        Self {
            id: v.rule.id,
            source: v.rule.source.label(),
            name: v.rule.match_value,
            template: v.template.unwrap_or_default(),
            template_id: v.rule.template_id.map(|t| t.0),
            role,
            matches: v.matches,
        }
    }
}

#[derive(Template)]
#[template(path = "settings_provisioning.html")]
struct Page {
    ctx: PageCtx,
    rows: Vec<RuleRow>,
    form: RuleForm,
    errors: FieldErrors,
    delay: DelayForm,
    delay_errors: FieldErrors,
    delay_words: String,
    sources: Vec<(String, String)>,
    templates: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    services: Vec<(String, String)>,
    products: Vec<(String, String)>,
    names: Vec<String>,
}

/// `(value, label)` options with a blank first one.
fn options(blank: &str, items: &[(i64, String)]) -> Vec<(String, String)> {
    std::iter::once((String::new(), blank.to_string()))
        .chain(items.iter().map(|(id, n)| (id.to_string(), n.clone())))
        .collect()
}

async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    form: RuleForm,
    errors: FieldErrors,
    delay: Option<(DelayForm, FieldErrors)>,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (rows, choices, days): (Vec<RuleView>, Choices, i64) =
        crate::db::run(&state.pool, move |conn| {
            Ok((
                rules::list(conn, &a)?,
                rules::choices(conn, &a)?,
                rules::delay_days(conn)?,
            ))
        })
        .await?;
    let status = match &delay {
        Some((_, e)) if !e.is_empty() => crate::web::forms::status(e),
        _ => crate::web::forms::status(&errors),
    };
    let (delay, delay_errors) = delay.unwrap_or_else(|| {
        (
            DelayForm {
                delay_days: days.to_string(),
            },
            FieldErrors::new(),
        )
    });
    let mut names = choices.groups.clone();
    names.extend(choices.departments.iter().cloned());
    names.sort_by_key(|n| n.to_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let page = Page {
        ctx: PageCtx::new(session, Some(actor), "Provisioning", "/settings"),
        rows: rows.into_iter().map(RuleRow::new).collect(),
        form,
        errors,
        delay,
        delay_errors,
        delay_words: rules::delay_words(days),
        sources: RuleSource::OPTIONS
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect(),
        templates: options("— none —", &choices.templates),
        roles: std::iter::once((String::new(), "— none —".to_string()))
            .chain(
                [Role::Admin, Role::ServiceAdmin, Role::ProductAdmin]
                    .iter()
                    .map(|r| (r.as_str().to_string(), r.label().to_string())),
            )
            .collect(),
        services: options("— any (no scope) —", &choices.services),
        products: options("— any (no scope) —", &choices.products),
        names,
    };
    html(status, page.render())
}

/// Settings → Provisioning.
pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    render(
        &session,
        &state,
        &user.0,
        RuleForm::blank(),
        FieldErrors::new(),
        None,
    )
    .await
}

/// Adds a rule.
pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    body: Form<RuleForm>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let (form, request) = body.check(|f| f.request());
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        request,
        move |conn, actor, rule| rules::create(conn, actor, rule, now),
    )
    .await?;
    match after_command(
        &session,
        result,
        |_| {
            (
                "Rule added: it acts on what the identity provider sends from now on.".into(),
                PAGE.into(),
            )
        },
        PAGE,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render(&session, &state, &user.0, form, errors, None).await,
    }
}

/// Deletes a rule.
pub async fn delete(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let id = path.into_inner();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        Ok(id),
        rules::delete,
    )
    .await?;
    match after_command(
        &session,
        result,
        |label| {
            (
                format!("Rule for the {label} deleted. What it did stays."),
                PAGE.into(),
            )
        },
        PAGE,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(PAGE)),
    }
}

/// Sets the deactivation delay.
pub async fn set_delay(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    body: Form<DelayForm>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let (form, request) = body.check(|f| rules::parse_delay(&f.delay_days));
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        request,
        rules::set_delay,
    )
    .await?;
    match after_command(
        &session,
        result,
        |_| ("Deactivation delay saved.".into(), PAGE.into()),
        PAGE,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            render(
                &session,
                &state,
                &user.0,
                RuleForm::blank(),
                FieldErrors::new(),
                Some((form, errors)),
            )
            .await
        }
    }
}
