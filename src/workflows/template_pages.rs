//! Onboarding templates (Admins): named bundles of products, optionally for a department.
//! The page; the reads and writes are in `templates`.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::requests::TemplateChanges;
use super::templates::{self, TemplateDetail, TemplateRow};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::domain::TemplateId;
use crate::error::AppResult;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{after_command, html, redirect, run_command};
use crate::web::{AppState, PageCtx};

#[derive(Debug, Clone, Default)]
pub struct TemplateForm {
    pub name: String,
    pub department: String,
    pub description: String,
    /// Who keeps the template up to date (optional): handed over when they leave.
    pub maintainer_email: String,
    pub product_ids: Vec<i64>,
}

impl TemplateForm {
    pub fn request(&self) -> Result<TemplateChanges, FieldErrors> {
        TemplateChanges::new(
            &self.name,
            &self.department,
            &self.description,
            &self.maintainer_email,
            &self.product_ids,
        )
    }
}

impl From<TemplateDetail> for TemplateForm {
    fn from(t: TemplateDetail) -> Self {
        Self {
            name: t.name,
            department: t.department,
            description: t.description,
            maintainer_email: t.maintainer_email,
            product_ids: t.product_ids.into_iter().map(i64::from).collect(),
        }
    }
}

fn parse(pairs: Vec<(String, String)>) -> TemplateForm {
    let mut f = TemplateForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => f.name = v.trim().to_string(),
            "department" => f.department = v.trim().to_string(),
            "description" => f.description = v.trim().to_string(),
            "maintainer_email" => f.maintainer_email = v.trim().to_lowercase(),
            "product_ids" => f.product_ids.extend(v.parse::<i64>().ok()),
            _ => {}
        }
    }
    f.product_ids.sort_unstable();
    f.product_ids.dedup();
    f
}

#[derive(Template)]
#[template(path = "workflows/templates.html")]
struct TemplatesPage {
    ctx: PageCtx,
    rows: Vec<TemplateRow>,
    /// The template being edited (None: a new one).
    id: Option<TemplateId>,
    form: TemplateForm,
    errors: FieldErrors,
    products: Vec<(i64, String)>,
}

impl TemplatesPage {
    fn chosen(&self, id: &i64) -> bool {
        self.form.product_ids.contains(id)
    }
}

async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: Option<TemplateId>,
    form: TemplateForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (rows, products) = crate::db::run(&state.pool, move |conn| {
        Ok((
            templates::list(conn, &a)?,
            crate::directory::queries::grantable_products(conn, &a)?,
        ))
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let page = TemplatesPage {
        ctx: PageCtx::new(session, Some(actor), "Onboarding templates", "/workflows"),
        rows,
        id,
        form,
        errors,
        products,
    };
    html(status, page.render())
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    render(
        &session,
        &state,
        &user.0,
        None,
        TemplateForm::default(),
        FieldErrors::new(),
    )
    .await
}

pub async fn edit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let (a, id) = (user.0.clone(), TemplateId(path.into_inner()));
    let form: TemplateForm =
        crate::db::run(&state.pool, move |conn| templates::detail(conn, &a, id))
            .await?
            .into();
    render(
        &session,
        &state,
        &user.0,
        Some(id),
        form,
        FieldErrors::new(),
    )
    .await
}

pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    submit(user, session, state, None, body).await
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    submit(
        user,
        session,
        state,
        Some(TemplateId(path.into_inner())),
        body,
    )
    .await
}

async fn submit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    id: Option<TemplateId>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let (pairs, refused) = body.into_parts();
    let form = parse(pairs);
    let result = run_command(
        &state.pool,
        &actor,
        refused,
        form.request(),
        move |conn, a, r| templates::save(conn, a, id, r),
    )
    .await?;
    match after_command(
        &session,
        result,
        |_| ("Template saved.".into(), "/workflows/templates".into()),
        "/workflows/templates",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render(&session, &state, &actor, id, form, errors).await,
    }
}

pub async fn delete(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = TemplateId(path.into_inner());
    crate::db::run(&state.pool, move |conn| templates::remove(conn, &actor, id)).await?;
    sess::flash(&session, FlashKind::Success, "Template deleted.");
    Ok(redirect("/workflows/templates"))
}
