//! Onboarding templates (Admins): named bundles of products, optionally for a department.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{onboarding_templates, template_products, users};
use crate::error::{invalid, AppError, AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::input::{unless_refused, Form};
use crate::web::respond::{after_command, html, redirect};
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

pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub department: String,
    pub maintainer: String,
    pub products: i64,
}

#[derive(Template)]
#[template(path = "workflows/templates.html")]
struct TemplatesPage {
    ctx: PageCtx,
    rows: Vec<TemplateRow>,
    /// The template being edited (None: a new one).
    id: Option<i64>,
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
    id: Option<i64>,
    form: TemplateForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let (rows, products) = crate::db::run(&state.pool, move |conn| {
        Ok((
            templates(conn)?,
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

/// Every onboarding template, by name, with its maintainer and number of products.
pub(crate) fn templates(conn: &mut PgConnection) -> Result<Vec<TemplateRow>, AppError> {
    let rows: Vec<(i64, String, String, Option<String>)> = onboarding_templates::table
        .left_join(users::table.on(users::id.nullable().eq(onboarding_templates::maintainer_id)))
        .select((
            onboarding_templates::id,
            onboarding_templates::name,
            onboarding_templates::department,
            users::full_name.nullable(),
        ))
        .order(onboarding_templates::name.asc())
        .load(conn)?;
    let counts: std::collections::HashMap<i64, i64> = template_products::table
        .group_by(template_products::template_id)
        .select((template_products::template_id, count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, name, department, maintainer)| TemplateRow {
            products: counts.get(&id).copied().unwrap_or(0),
            id,
            name,
            department,
            maintainer: maintainer.unwrap_or_default(),
        })
        .collect())
}

/// Template `id` as its form: what an edit starts from.
pub(crate) fn template(conn: &mut PgConnection, id: i64) -> Result<TemplateForm, AppError> {
    let (name, department, description, maintainer_email): (
        String,
        String,
        String,
        Option<String>,
    ) = onboarding_templates::table
        .left_join(users::table.on(users::id.nullable().eq(onboarding_templates::maintainer_id)))
        .filter(onboarding_templates::id.eq(id))
        .select((
            onboarding_templates::name,
            onboarding_templates::department,
            onboarding_templates::description,
            users::email.nullable(),
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let product_ids = template_products::table
        .filter(template_products::template_id.eq(id))
        .select(template_products::product_id)
        .order(template_products::product_id.asc())
        .load(conn)?;
    Ok(TemplateForm {
        name,
        department,
        description,
        maintainer_email: maintainer_email.unwrap_or_default(),
        product_ids,
    })
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
    let id = path.into_inner();
    let form = crate::db::run(&state.pool, move |conn| template(conn, id)).await?;
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

/// Adds (`id` None) or saves an onboarding template, audited in the same transaction.
pub(crate) fn save(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Option<i64>,
    f: &TemplateForm,
) -> Result<i64, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    if f.name.is_empty() || f.name.chars().count() > 120 {
        return Err(invalid("name", "Enter a name of up to 120 characters."));
    }
    if f.product_ids.is_empty() {
        return Err(invalid(
            "product_ids",
            "Choose the products this template grants.",
        ));
    }
    crate::db::transaction(conn, |conn| {
        let taken: bool = diesel::select(diesel::dsl::exists(
            onboarding_templates::table
                .filter(crate::db::lower(onboarding_templates::name).eq(crate::db::lower(&f.name)))
                .filter(onboarding_templates::id.ne(id.unwrap_or(-1))),
        ))
        .get_result(conn)?;
        if taken {
            return Err(invalid("name", "A template with this name already exists."));
        }
        let known: i64 = crate::db::schema::products::table
            .filter(crate::db::schema::products::id.eq_any(&f.product_ids))
            .select(count_star())
            .get_result(conn)?;
        if known != f.product_ids.len() as i64 {
            return Err(invalid("product_ids", "Choose products that exist."));
        }
        let maintainer: Option<i64> = if f.maintainer_email.is_empty() {
            None
        } else {
            let found: Option<(i64, String)> = users::table
                .filter(crate::db::lower(users::email).eq(&f.maintainer_email))
                .select((users::id, users::employment_status))
                .first(conn)
                .optional()?;
            match found {
                None => {
                    return Err(invalid(
                        "maintainer_email",
                        "Nobody in the directory has this email address.",
                    ))
                }
                Some((_, st)) if st == "offboarded" => {
                    return Err(invalid(
                        "maintainer_email",
                        "This person has left: choose someone staying.",
                    ))
                }
                Some((uid, _)) => Some(uid),
            }
        };
        let id = match id {
            Some(id) => {
                let found = diesel::update(onboarding_templates::table.find(id))
                    .set((
                        onboarding_templates::name.eq(&f.name),
                        onboarding_templates::department.eq(&f.department),
                        onboarding_templates::description.eq(&f.description),
                        onboarding_templates::maintainer_id.eq(maintainer),
                        onboarding_templates::updated_at.eq(crate::clock::now()),
                    ))
                    .execute(conn)?;
                if found == 0 {
                    return Err(AppError::NotFound.into());
                }
                diesel::delete(
                    template_products::table.filter(template_products::template_id.eq(id)),
                )
                .execute(conn)?;
                id
            }
            None => diesel::insert_into(onboarding_templates::table)
                .values((
                    onboarding_templates::name.eq(&f.name),
                    onboarding_templates::department.eq(&f.department),
                    onboarding_templates::description.eq(&f.description),
                    onboarding_templates::maintainer_id.eq(maintainer),
                ))
                .returning(onboarding_templates::id)
                .get_result(conn)?,
        };
        let rows: Vec<_> = f
            .product_ids
            .iter()
            .map(|p| {
                (
                    template_products::template_id.eq(id),
                    template_products::product_id.eq(*p),
                )
            })
            .collect();
        diesel::insert_into(template_products::table)
            .values(rows)
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "template.saved",
                "onboarding_template",
                Some(id.to_string()),
            )
            .summary(format!(
                "Saved onboarding template '{}' ({} products)",
                f.name,
                f.product_ids.len()
            ))
            .after(json!({"name": f.name, "department": f.department, "maintainer_id": maintainer, "products": f.product_ids})),
        )?;
        Ok(id)
    })
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
    submit(user, session, state, Some(path.into_inner()), body).await
}

async fn submit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    id: Option<i64>,
    body: Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let (pairs, refused) = body.into_parts();
    let form = parse(pairs);
    let (a, f) = (actor.clone(), form.clone());
    let result = unless_refused(
        refused,
        crate::db::run(&state.pool, move |conn| Ok(save(conn, &a, id, &f))),
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
    let id = path.into_inner();
    crate::db::run(&state.pool, move |conn| remove(conn, &actor, id)).await?;
    sess::flash(&session, FlashKind::Success, "Template deleted.");
    Ok(redirect("/workflows/templates"))
}

/// Deletes template `id` (audited in the same transaction).
pub(crate) fn remove(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), AppError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let name: String = onboarding_templates::table
            .find(id)
            .select(onboarding_templates::name)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        diesel::delete(onboarding_templates::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "template.deleted",
                "onboarding_template",
                Some(id.to_string()),
            )
            .summary(format!("Deleted onboarding template '{name}'")),
        )?;
        Ok(())
    })
}
