//! Settings → Service accounts (Admins): the list with a form to make one, one account's
//! page (what it runs, its tokens, a form to make a token whose secret is shown once,
//! disable and enable) and its edit page. Thin: the commands and queries are in
//! `service_accounts` and `api_tokens`.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::api_token_pages::{AreaChoice, Made, TokenForm, TokenView};
use super::api_tokens::commands as token_commands;
use super::api_tokens::queries as token_queries;
use super::current_user::CurrentUser;
use super::service_accounts::{
    self as accounts, Choices, ServiceAccountDetail, ServiceAccountRequest,
};
use crate::authz::{authorize, Action, Actor};
use crate::domain::ServiceAccountId;
use crate::error::{AppResult, CommandError};
use crate::web::format::format_time;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{after_command, html, redirect, run_command};
use crate::web::{AppState, PageCtx};

/// Where the list lives.
const LIST: &str = "/settings/service-accounts";

fn detail_url(id: ServiceAccountId) -> String {
    format!("{LIST}/{id}")
}

/// The service account form, as typed (kept when it is shown again with errors).
#[derive(Debug, Clone, Default)]
pub struct AccountForm {
    pub name: String,
    pub description: String,
    pub role: String,
    pub services: Vec<i64>,
    pub products: Vec<i64>,
}

impl AccountForm {
    /// Parsed by hand: `services` and `products` repeat, which `web::Form` cannot read.
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v,
                "description" => f.description = v,
                "role" => f.role = v,
                "services" => f.services.extend(v.parse::<i64>().ok()),
                "products" => f.products.extend(v.parse::<i64>().ok()),
                _ => {}
            }
        }
        f
    }

    /// Whether the form has service (product) `id` chosen: its select's `selected`.
    pub fn service_chosen(&self, id: &i64) -> bool {
        self.services.contains(id)
    }

    pub fn product_chosen(&self, id: &i64) -> bool {
        self.products.contains(id)
    }

    fn request(&self) -> Result<ServiceAccountRequest, FieldErrors> {
        ServiceAccountRequest::new(
            &self.name,
            &self.description,
            &self.role,
            self.services.clone(),
            self.products.clone(),
        )
    }

    fn of(d: &ServiceAccountDetail) -> Self {
        Self {
            name: d.account.name.clone(),
            description: d.account.description.clone(),
            role: d.account.role.as_str().into(),
            services: d.services.iter().map(|(id, _)| *id).collect(),
            products: d.products.iter().map(|(id, _)| *id).collect(),
        }
    }
}

/// One service account as the list shows it.
pub struct AccountView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub role: &'static str,
    /// What it runs, in words ("everything" for an Admin).
    pub runs: String,
    pub active_tokens: i64,
    pub disabled: bool,
    pub created: String,
}

impl AccountView {
    fn new(d: ServiceAccountDetail) -> Self {
        let runs = match (d.services.is_empty(), d.products.is_empty()) {
            (true, true) => "everything (Admin)".to_string(),
            _ => d
                .services
                .iter()
                .chain(d.products.iter())
                .map(|(_, name)| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        Self {
            id: d.account.id.get(),
            role: d.account.role.label(),
            disabled: d.account.disabled_at.is_some(),
            created: format_time(d.account.created_at),
            name: d.account.name,
            description: d.account.description,
            runs,
            active_tokens: d.active_tokens,
        }
    }
}

#[derive(Template)]
#[template(path = "settings_service_accounts.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<AccountView>,
    form: AccountForm,
    errors: FieldErrors,
    choices: Choices,
}

async fn render_list(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    form: AccountForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (rows, choices) = crate::db::run(&state.pool, move |conn| {
        Ok((accounts::list(conn, &a)?, accounts::choices(conn, &a)?))
    })
    .await?;
    let page = ListPage {
        ctx: PageCtx::new(session, Some(actor), "Service accounts", "/settings"),
        rows: rows.into_iter().map(AccountView::new).collect(),
        form,
        errors,
        choices,
    };
    html(crate::web::forms::status(&page.errors), page.render())
}

/// Settings → Service accounts.
pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let form = AccountForm {
        role: "admin".into(),
        ..AccountForm::default()
    };
    render_list(&session, &state, &user.0, form, FieldErrors::new()).await
}

/// Makes a service account, then shows its page to make its first token.
pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let (pairs, refused) = body.into_parts();
    let form = AccountForm::parse(pairs);
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        refused,
        form.request(),
        move |conn, actor, request| accounts::create(conn, actor, request, now),
    )
    .await?;
    match after_command(
        &session,
        result,
        |id| {
            (
                "Service account made. Make a token for it below.".into(),
                detail_url(*id),
            )
        },
        LIST,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_list(&session, &state, &user.0, form, errors).await,
    }
}

#[derive(Template)]
#[template(path = "settings_service_account.html")]
struct DetailPage {
    ctx: PageCtx,
    account: AccountView,
    services: Vec<String>,
    products: Vec<String>,
    rows: Vec<TokenView>,
    form: TokenForm,
    areas: Vec<AreaChoice>,
    errors: FieldErrors,
    made: Option<Made>,
    today: String,
    /// Where the table's revoke buttons post to (`<prefix>/<id>/revoke`).
    revoke_prefix: String,
}

async fn render_detail(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: ServiceAccountId,
    form: TokenForm,
    errors: FieldErrors,
    made: Option<Made>,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (detail, tokens) = crate::db::run(&state.pool, move |conn| {
        Ok((
            accounts::get(conn, &a, id)?,
            token_queries::of_service(conn, &a, id)?,
        ))
    })
    .await?;
    let now = state.clock.now();
    let services = detail.services.iter().map(|(_, n)| n.clone()).collect();
    let products = detail.products.iter().map(|(_, n)| n.clone()).collect();
    let account = AccountView::new(detail);
    let revoke_prefix = format!("{}/tokens", detail_url(id));
    let page = DetailPage {
        revoke_prefix,
        ctx: PageCtx::new(session, Some(actor), account.name.clone(), "/settings"),
        account,
        services,
        products,
        rows: tokens
            .into_iter()
            .map(|t| TokenView::new(t, String::new(), now))
            .collect(),
        areas: form.areas(),
        form,
        errors,
        made,
        today: state.clock.today().to_string(),
    };
    html(crate::web::forms::status(&page.errors), page.render())
}

/// One service account: what it runs and its tokens.
pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let id = ServiceAccountId(path.into_inner());
    render_detail(
        &session,
        &state,
        &user.0,
        id,
        TokenForm::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

/// Makes a token for the service account and shows its secret once, on this answer only.
pub async fn create_token(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<TokenForm>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let id = ServiceAccountId(path.into_inner());
    let (form, request) = form.check(|f| f.request(&state.clock));
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        request,
        move |conn, actor, request| {
            token_commands::create_for_service(conn, actor, id, request, now)
        },
    )
    .await?;
    let (form, errors, made) = match result {
        Ok(made) => (
            TokenForm::default(),
            FieldErrors::new(),
            Some(Made {
                secret: made.secret,
                name: made.name,
            }),
        ),
        Err(CommandError::Invalid(errors)) => (form, errors, None),
        Err(CommandError::Refused(m)) => {
            crate::web::session::flash(&session, crate::web::session::FlashKind::Error, &m);
            return Ok(redirect(&detail_url(id)));
        }
        Err(CommandError::Other(e)) => return Err(e),
    };
    render_detail(&session, &state, &user.0, id, form, errors, made).await
}

/// Revokes one of the service account's tokens.
pub async fn revoke_token(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let (id, token) = path.into_inner();
    let back = detail_url(ServiceAccountId(id));
    super::api_token_pages::revoke(user, session, state, token, &back).await
}

async fn set_enabled(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    id: i64,
    enable: bool,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let id = ServiceAccountId(id);
    let now = state.clock.now();
    let actor = user.0.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(accounts::set_enabled(conn, &actor, id, enable, now))
    })
    .await?;
    let back = detail_url(id);
    let to = back.clone();
    match after_command(
        &session,
        result,
        move |_| {
            let message = if enable {
                "Service account enabled: its tokens that are neither revoked nor expired work again."
            } else {
                "Service account disabled: none of its tokens works any more."
            };
            (message.into(), to)
        },
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

pub async fn disable(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    set_enabled(user, session, state, path.into_inner(), false).await
}

pub async fn enable(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    set_enabled(user, session, state, path.into_inner(), true).await
}

#[derive(Template)]
#[template(path = "settings_service_account_edit.html")]
struct EditPage {
    ctx: PageCtx,
    id: i64,
    form: AccountForm,
    errors: FieldErrors,
    choices: Choices,
}

async fn render_edit(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: ServiceAccountId,
    form: Option<AccountForm>,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (detail, choices) = crate::db::run(&state.pool, move |conn| {
        Ok((accounts::get(conn, &a, id)?, accounts::choices(conn, &a)?))
    })
    .await?;
    let page = EditPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            format!("Edit {}", detail.account.name),
            "/settings",
        ),
        id: id.get(),
        form: form.unwrap_or_else(|| AccountForm::of(&detail)),
        errors,
        choices,
    };
    html(crate::web::forms::status(&page.errors), page.render())
}

/// The edit page of a service account.
pub async fn edit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let id = ServiceAccountId(path.into_inner());
    render_edit(&session, &state, &user.0, id, None, FieldErrors::new()).await
}

/// Saves a service account's name, description, role and scope.
pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServiceAccounts)?;
    let id = ServiceAccountId(path.into_inner());
    let (pairs, refused) = body.into_parts();
    let form = AccountForm::parse(pairs);
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        refused,
        form.request(),
        move |conn, actor, request| accounts::update(conn, actor, id, request, now),
    )
    .await?;
    let edit_url = format!("{}/edit", detail_url(id));
    match after_command(
        &session,
        result,
        |_| {
            (
                "Service account saved: its tokens have the new rights from their next request."
                    .into(),
                detail_url(id),
            )
        },
        &edit_url,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_edit(&session, &state, &user.0, id, Some(form), errors).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_every_repeated_choice() {
        let f = AccountForm::parse(vec![
            ("name".into(), "scim".into()),
            ("role".into(), "service_admin".into()),
            ("services".into(), "3".into()),
            ("services".into(), "5".into()),
            ("products".into(), "x".into()),
        ]);
        assert_eq!(f.services, vec![3, 5]);
        assert!(f.products.is_empty());
        assert!(f.request().is_ok());
    }
}
