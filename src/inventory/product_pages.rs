//! Inventory pages for products: a product's page (who has access), its forms, its
//! administrators, and granting and revoking access.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, product_object};
use super::model::{license_label, ProductForm, LICENSE_MODELS};
use super::queries::{self, PersonRef, Product, ProductDetail};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, authorize_on, can, Action, Actor, Object, ObjectAction, Role};
use crate::directory::grants::{self, GrantForm};
use crate::error::{AppError, AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::input::{unless_refused, Form};
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, html, redirect};
use crate::web::{safe_next, AppState, PageCtx};

#[derive(Template)]
#[template(path = "inventory/product.html")]
struct ProductPage {
    ctx: PageCtx,
    product: Product,
    d: ProductDetail,
    pager: Pager,
    can_edit: bool,
    can_grant: bool,
    can_assign: bool,
    candidates: Vec<PersonRef>,
    grant: GrantForm,
    errors: FieldErrors,
    can_bill: bool,
    billing: Vec<crate::payments::queries::RegisterRow>,
}

impl ProductPage {
    fn license(&self) -> &'static str {
        license_label(&self.product.license_model)
    }
    fn over(&self) -> bool {
        self.product
            .seats_purchased
            .is_some_and(|p| self.d.seats_used > i64::from(p))
    }
    fn seats(&self) -> String {
        match self.product.seats_purchased {
            Some(p) => format!("{} of {p}", self.d.seats_used),
            None => format!("{} (no seat limit recorded)", self.d.seats_used),
        }
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

async fn render_product(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: i64,
    page: i64,
    grant: GrantForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let can_assign = can(actor, Action::ManagePeople);
    let a = actor.clone();
    let (product, d, candidates, billing) = crate::db::run(&state.pool, move |conn| {
        let product = queries::find_product(conn, id)?;
        authorize_on(&a, ObjectAction::View, product_object(&product))?;
        let billing = if authorize_on(&a, ObjectAction::Billing, product_object(&product)).is_ok() {
            crate::payments::queries::records_of_product(conn, &a, id)?
        } else {
            Vec::new()
        };
        let d = queries::product_detail(conn, &product, page)?;
        let candidates = if can_assign {
            queries::people_with_role(conn, Role::ProductAdmin)?
        } else {
            Vec::new()
        };
        Ok((product, d, candidates, billing))
    })
    .await?;
    let obj = product_object(&product);
    let status = crate::web::forms::status(&errors);
    let view = ProductPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            format!("{} → {}", d.service_name, product.name),
            "/inventory",
        ),
        pager: Pager::new(
            &format!("/inventory/products/{id}"),
            &[],
            page,
            d.seats_used,
        ),
        can_edit: authorize_on(actor, ObjectAction::Edit, obj).is_ok(),
        can_grant: authorize_on(actor, ObjectAction::Grant, obj).is_ok(),
        can_bill: authorize_on(actor, ObjectAction::Billing, obj).is_ok(),
        billing,
        can_assign,
        candidates,
        product,
        d,
        grant,
        errors,
    };
    html(status, view.render())
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = query.page.unwrap_or(1);
    render_product(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        page,
        GrantForm::default(),
        FieldErrors::new(),
    )
    .await
}

#[derive(Template)]
#[template(path = "inventory/product_form.html")]
struct ProductFormPage {
    ctx: PageCtx,
    service_id: i64,
    service_name: String,
    /// None when creating.
    id: Option<i64>,
    form: ProductForm,
    errors: FieldErrors,
    models: &'static [(&'static str, &'static str)],
}

async fn render_form(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    service_id: i64,
    id: Option<i64>,
    form: ProductForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let service = crate::db::run(&state.pool, move |conn| {
        queries::find_service(conn, service_id)
    })
    .await?;
    let status = crate::web::forms::status(&errors);
    let title = if id.is_some() {
        "Edit product"
    } else {
        "New product"
    };
    let page = ProductFormPage {
        ctx: PageCtx::new(session, Some(actor), title, "/inventory"),
        service_id,
        service_name: service.name,
        id,
        form,
        errors,
        models: LICENSE_MODELS,
    };
    html(status, page.render())
}

pub async fn new_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let service_id = path.into_inner();
    authorize_on(&user.0, ObjectAction::Edit, Object::Service(service_id))?;
    let form = ProductForm {
        license_model: "per_seat".into(),
        ..Default::default()
    };
    render_form(
        &session,
        &state,
        &user.0,
        service_id,
        None,
        form,
        FieldErrors::new(),
    )
    .await
}

pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ProductForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let service_id = path.into_inner();
    authorize_on(&actor, ObjectAction::Edit, Object::Service(service_id))?;
    let (form, values) = form.check(ProductForm::validate);
    let values = match values {
        Ok(v) => v,
        Err(errors) => {
            return render_form(&session, &state, &actor, service_id, None, form, errors).await
        }
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_product(conn, &a, service_id, &values))
    })
    .await?;
    let back = format!("/inventory/services/{service_id}");
    match after_command(
        &session,
        result,
        |id| {
            (
                format!("Product '{}' created.", form.name),
                format!("/inventory/products/{id}"),
            )
        },
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &state, &actor, service_id, None, form, errors).await,
    }
}

pub async fn edit_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let product = crate::db::run(&state.pool, move |conn| {
        let p = queries::find_product(conn, id)?;
        authorize_on(&a, ObjectAction::Edit, product_object(&p))?;
        Ok(p)
    })
    .await?;
    let form = ProductForm {
        name: product.name,
        description: product.description,
        license_model: product.license_model,
        seats_purchased: product
            .seats_purchased
            .map(|n| n.to_string())
            .unwrap_or_default(),
    };
    render_form(
        &session,
        &state,
        &user.0,
        product.service_id,
        Some(id),
        form,
        FieldErrors::new(),
    )
    .await
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ProductForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    let product = crate::db::run(&state.pool, move |conn| {
        let p = queries::find_product(conn, id)?;
        authorize_on(&a, ObjectAction::Edit, product_object(&p))?;
        Ok(p)
    })
    .await?;
    let (form, values) = form.check(ProductForm::validate);
    let values = match values {
        Ok(v) => v,
        Err(errors) => {
            return render_form(
                &session,
                &state,
                &actor,
                product.service_id,
                Some(id),
                form,
                errors,
            )
            .await
        }
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_product(conn, &a, id, &values))
    })
    .await?;
    let back = format!("/inventory/products/{id}");
    match after_command(
        &session,
        result,
        |_| ("Product saved.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            render_form(
                &session,
                &state,
                &actor,
                product.service_id,
                Some(id),
                form,
                errors,
            )
            .await
        }
    }
}

/// Archive, restore or delete, from the product's page.
pub async fn lifecycle(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let (id, op) = path.into_inner();
    let back = format!("/inventory/products/{id}");
    let a = actor.clone();
    let result: Result<(String, String), CommandError> = crate::db::run(&state.pool, move |conn| {
        Ok(match op.as_str() {
            "archive" => commands::set_product_status(conn, &a, id, "archived").map(|_| {
                (
                    "Product archived.".to_string(),
                    format!("/inventory/products/{id}"),
                )
            }),
            "restore" => commands::set_product_status(conn, &a, id, "active").map(|_| {
                (
                    "Product restored.".to_string(),
                    format!("/inventory/products/{id}"),
                )
            }),
            "delete" => commands::delete_product(conn, &a, id).map(|service_id| {
                (
                    "Product deleted.".to_string(),
                    format!("/inventory/services/{service_id}"),
                )
            }),
            _ => Err(CommandError::Other(AppError::NotFound)),
        })
    })
    .await?;
    match after_command(
        &session,
        result,
        |(msg, to)| (msg.clone(), to.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

#[derive(Deserialize)]
pub struct AdminForm {
    user_id: Option<i64>,
}

pub async fn add_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<AdminForm>,
) -> AppResult<HttpResponse> {
    // A select of people: nothing typed to refuse.
    let (form, _) = form.into_parts();
    set_admin(user, session, state, path.into_inner(), form.user_id, true).await
}

pub async fn remove_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, uid) = path.into_inner();
    set_admin(user, session, state, id, Some(uid), false).await
}

async fn set_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    id: i64,
    uid: Option<i64>,
    add: bool,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        let p = queries::find_product(conn, id)?;
        authorize_on(&a, ObjectAction::View, product_object(&p))
    })
    .await?;
    authorize(&actor, Action::ManagePeople)?;
    let back = format!("/inventory/products/{id}");
    let Some(uid) = uid else {
        sess::flash(&session, FlashKind::Error, "Choose a person to add.");
        return Ok(redirect(&back));
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::set_product_admin(conn, &a, id, uid, add))
    })
    .await?;
    let msg = if add {
        "Product Administrator added."
    } else {
        "Product Administrator removed."
    };
    match after_command(&session, result, |_| (msg.into(), back.clone()), &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

/// Grants the product to a person (from the product's page).
pub async fn grant(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<GrantForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let (form, refused) = form.into_parts();
    let request = form.request(crate::domain::ProductId(id));
    let (a, pool) = (actor.clone(), state.pool.clone());
    let result = unless_refused(refused, async move {
        match request {
            Ok(r) => crate::db::run(&pool, move |conn| Ok(grants::grant(conn, &a, r))).await,
            Err(errors) => Ok(Err(CommandError::Invalid(errors))),
        }
    })
    .await?;
    let back = format!("/inventory/products/{id}");
    match after_command(
        &session,
        result,
        |_| ("Access granted.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            let mut form = form;
            form.clear_refused(&errors);
            render_product(&session, &state, &actor, id, 1, form, errors).await
        }
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    return_to: String,
}

/// Revokes a grant; goes back to the page it was revoked from.
pub async fn revoke(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<RevokeForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let grant_id = path.into_inner();
    let (form, refused) = form.into_parts();
    let request = grants::Revoke::new(crate::domain::GrantId(grant_id), &form.reason);
    let (a, pool) = (actor.clone(), state.pool.clone());
    let result = unless_refused(refused, async move {
        match request {
            Ok(r) => crate::db::run(&pool, move |conn| Ok(grants::revoke(conn, &a, r))).await,
            Err(errors) => Ok(Err(CommandError::Invalid(errors))),
        }
    })
    .await?;
    let back = safe_next(Some(&form.return_to)).unwrap_or_else(|| "/inventory".into());
    match after_command(
        &session,
        result,
        |_| ("Access revoked.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            sess::flash(&session, FlashKind::Error, errors.get("reason"));
            Ok(redirect(&back))
        }
    }
}
