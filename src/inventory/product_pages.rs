//! Inventory pages for products: a product's page (who has access), its forms, its
//! administrators, and granting and revoking access.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, Lifecycled};
use super::model::ProductForm;
use super::queries::{self, PersonRef, ProductDetail};
use super::requests::{AdminChange, Item, Lifecycle, LifecycleChange, NewProduct, ProductUpdate};
use super::service_pages::{change_admin, AdminForm};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize_on, can, Action, Actor, Object, ObjectAction, Role};
use crate::directory::grants::{self, AfterGrant, GrantForm};
use crate::domain::{InventoryStatus, LicenseModel, PersonId, ProductId, ServiceId};
use crate::error::{AppError, AppResult};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, after_inline_command, html, redirect, run_command};
use crate::web::urls;
use crate::web::{safe_next, AppState, PageCtx};

#[derive(Template)]
#[template(path = "inventory/product.html")]
struct ProductPage {
    ctx: PageCtx,
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
    /// The "inactive for N days" filter in force, and the ones offered.
    inactive: Option<i64>,
    inactive_choices: &'static [i64],
}

impl ProductPage {
    fn inactive_is(&self, n: &i64) -> bool {
        self.inactive == Some(*n)
    }
    fn over(&self) -> bool {
        self.d
            .product
            .seats_purchased
            .is_some_and(|p| self.d.seats_used > i64::from(p))
    }
    /// "3 of 20 seats are free", for the grant form (none when not counted by seat).
    fn free_seats(&self) -> Option<String> {
        crate::domain::Seats {
            used: self.d.seats_used,
            purchased: self.d.product.seats_purchased,
            refuse_over: self.d.product.refuse_over_seats,
        }
        .free_line()
    }
    fn seats(&self) -> String {
        match self.d.product.seats_purchased {
            Some(p) => format!("{} of {p}", self.d.seats_used),
            None => format!("{} (no seat limit recorded)", self.d.seats_used),
        }
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
    /// "Inactive for N days" (from usage evidence); blank or out of range: no filter.
    inactive: Option<String>,
}

/// The product's page for `actor` (404 outside their scope), with the grant form as given.
/// `id`: a `ProductId`, or the bare id of a path not yet typed.
async fn render_product(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    id: impl Into<i64>,
    (page, inactive): (i64, Option<i64>),
    grant: GrantForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let id = ProductId(id.into());
    let a = actor.clone();
    let cutoff = inactive.map(|n| actor.today - chrono::TimeDelta::days(n));
    let (d, candidates, billing) = crate::db::run(&state.pool, move |conn| {
        let d = queries::product_detail(conn, &a, id, page, cutoff)?;
        let billing = if authorize_on(&a, ObjectAction::Billing, d.product.object()).is_ok() {
            crate::payments::queries::records_of_product(conn, &a, id.into())?
        } else {
            Vec::new()
        };
        let candidates = queries::scope_candidates(conn, &a, Role::ProductAdmin)?;
        Ok((d, candidates, billing))
    })
    .await?;
    let obj = d.product.object();
    let status = crate::web::forms::status(&errors);
    let view = ProductPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            format!("{} → {}", d.service_name, d.product.name),
            "/inventory",
        ),
        pager: match (inactive, d.inactive) {
            (Some(n), Some(total)) => Pager::new(
                &urls::product(id),
                &[("inactive", &n.to_string())],
                page,
                total,
            ),
            _ => Pager::new(&urls::product(id), &[], page, d.seats_used),
        },
        inactive,
        inactive_choices: crate::usage::evidence::INACTIVE_DAYS,
        can_edit: authorize_on(actor, ObjectAction::Edit, obj).is_ok(),
        can_grant: authorize_on(actor, ObjectAction::Grant, obj).is_ok(),
        can_bill: authorize_on(actor, ObjectAction::Billing, obj).is_ok(),
        billing,
        can_assign: can(actor, Action::ManagePeople),
        candidates,
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
    path: web::Path<ProductId>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = query.page.unwrap_or(1);
    let inactive = crate::usage::evidence::inactive_days(query.inactive.as_deref());
    render_product(
        &session,
        &state,
        &user.0,
        path.into_inner(),
        (page, inactive),
        GrantForm::default(),
        FieldErrors::new(),
    )
    .await
}

#[derive(Template)]
#[template(path = "inventory/product_form.html")]
struct ProductFormPage {
    ctx: PageCtx,
    service_id: ServiceId,
    service_name: String,
    /// None when creating.
    id: Option<ProductId>,
    form: ProductForm,
    errors: FieldErrors,
    models: &'static [(&'static str, &'static str)],
}

async fn render_form(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    service_id: ServiceId,
    id: Option<ProductId>,
    form: ProductForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    let service = crate::db::run(&state.pool, move |conn| {
        queries::service_in_scope(conn, &a, service_id, ObjectAction::Edit)
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
        models: LicenseModel::OPTIONS,
    };
    html(status, page.render())
}

pub async fn new_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
) -> AppResult<HttpResponse> {
    let service_id = path.into_inner();
    authorize_on(
        &user.0,
        ObjectAction::Edit,
        Object::Service(service_id.into()),
    )?;
    let form = ProductForm {
        license_model: LicenseModel::PerSeat.as_str().into(),
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
    path: web::Path<ServiceId>,
    form: Form<ProductForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let service_id = path.into_inner();
    // Refused before the form is looked at, as the command would refuse it.
    authorize_on(
        &actor,
        ObjectAction::Edit,
        Object::Service(service_id.into()),
    )?;
    let (form, checked) = form.check(ProductForm::validate);
    let changes = match checked {
        Ok(changes) => changes,
        Err(errors) => {
            return render_form(&session, &state, &actor, service_id, None, form, errors).await
        }
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_product(
            conn,
            &a,
            NewProduct {
                service_id,
                changes,
            },
        ))
    })
    .await?;
    let back = urls::service(service_id);
    match after_command(
        &session,
        result,
        |id| {
            (
                format!("Product '{}' created.", form.name),
                urls::product(id),
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
    path: web::Path<ProductId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let product = crate::db::run(&state.pool, move |conn| {
        queries::product_in_scope(conn, &a, id, ObjectAction::Edit)
    })
    .await?;
    render_form(
        &session,
        &state,
        &user.0,
        product.service_id,
        Some(id),
        ProductForm::of(&product),
        FieldErrors::new(),
    )
    .await
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    form: Form<ProductForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    // Refused before the form is looked at; the form needs the product's service anyway.
    let product = crate::db::run(&state.pool, move |conn| {
        queries::product_in_scope(conn, &a, id, ObjectAction::Edit)
    })
    .await?;
    let service_id = product.service_id;
    let (form, checked) = form.check(ProductForm::validate);
    let changes = match checked {
        Ok(changes) => changes,
        Err(errors) => {
            return render_form(&session, &state, &actor, service_id, Some(id), form, errors).await
        }
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_product(
            conn,
            &a,
            ProductUpdate { id, changes },
        ))
    })
    .await?;
    let back = urls::product(id);
    match after_command(
        &session,
        result,
        |_| ("Product saved.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            render_form(&session, &state, &actor, service_id, Some(id), form, errors).await
        }
    }
}

/// Archive, restore or delete, from the product's page.
pub async fn lifecycle(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, String)>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let (id, op) = path.into_inner();
    let change = Lifecycle::parse(&op).ok_or(AppError::NotFound)?;
    let back = urls::product(id);
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::lifecycle(
            conn,
            &actor,
            LifecycleChange {
                item: Item::Product(id),
                change,
            },
        ))
    })
    .await?;
    let done = |d: &Lifecycled| match change {
        Lifecycle::SetStatus(InventoryStatus::Archived) => {
            ("Product archived.".into(), back.clone())
        }
        Lifecycle::SetStatus(InventoryStatus::Active) => ("Product restored.".into(), back.clone()),
        Lifecycle::Delete => ("Product deleted.".into(), urls::service(d.service_id)),
    };
    match after_command(&session, result, done, &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

pub async fn add_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    form: Form<AdminForm>,
) -> AppResult<HttpResponse> {
    // A select of people: nothing typed to refuse.
    let (form, _) = form.into_parts();
    let change = AdminChange {
        item: Item::Product(path.into_inner()),
        person: form.user_id(),
        add: true,
    };
    change_admin(user, session, state, change).await
}

pub async fn remove_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, PersonId)>,
) -> AppResult<HttpResponse> {
    let (id, uid) = path.into_inner();
    let change = AdminChange {
        item: Item::Product(id),
        person: Some(uid),
        add: false,
    };
    change_admin(user, session, state, change).await
}

/// Grants the product to a person (from the product's page).
pub async fn grant(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<GrantForm>,
    after: web::Data<dyn AfterGrant>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let (form, refused) = form.into_parts();
    let request = form.request(crate::domain::ProductId(id));
    let result = run_command(&state.pool, &actor, refused, request, move |conn, a, r| {
        grants::grant(conn, a, r, after.get_ref())
    })
    .await?;
    let back = urls::product(id);
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
            render_product(&session, &state, &actor, id, (1, None), form, errors).await
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
    let result = run_command(&state.pool, &actor, refused, request, grants::revoke).await?;
    let back = safe_next(Some(&form.return_to)).unwrap_or_else(|| "/inventory".into());
    after_inline_command(
        &session,
        result,
        |_| ("Access revoked.".into(), back.clone()),
        &back,
        "reason",
    )
}
