//! Inventory pages for services: the list, a service's page, and its forms.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands::{self, Lifecycled};
use super::model::ServiceForm;
use super::queries::{self, PersonRef, ServiceDetail, ServiceFilter, ServiceList};
use super::requests::{AdminChange, Item, Lifecycle, LifecycleChange, ServiceUpdate};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, authorize_on, can, Action, Actor, Object, ObjectAction, Role};
use crate::domain::{InventoryStatus, PersonId, ServiceId};
use crate::error::{AppError, AppResult};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, html, redirect};
use crate::web::urls;
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "inventory/list.html")]
struct ListPage {
    ctx: PageCtx,
    filter: ServiceFilter,
    list: ServiceList,
    pager: Pager,
    can_create: bool,
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<ServiceFilter>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewInventory)?;
    let filter = query.into_inner();
    let (f, a) = (filter.clone(), actor.clone());
    let list = crate::db::run(&state.pool, move |conn| {
        queries::list_services(conn, &a, &f)
    })
    .await?;
    let pager = Pager::new(
        "/inventory",
        &[
            ("q", &filter.q),
            ("category", &filter.category),
            ("status", &filter.status),
            ("sort", &filter.sort),
            ("dir", &filter.dir),
        ],
        filter.page.unwrap_or(1),
        list.total,
    );
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&actor), "Inventory", "/inventory"),
        can_create: can(&actor, Action::ManageServices),
        filter,
        list,
        pager,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "inventory/service.html")]
struct ServicePage {
    ctx: PageCtx,
    d: ServiceDetail,
    can_edit: bool,
    can_manage: bool,
    can_assign: bool,
    candidates: Vec<PersonRef>,
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    let (d, candidates) = crate::db::run(&state.pool, move |conn| {
        let d = queries::service_detail(conn, &a, id)?;
        let candidates = queries::scope_candidates(conn, &a, Role::ServiceAdmin)?;
        Ok((d, candidates))
    })
    .await?;
    let page = ServicePage {
        ctx: PageCtx::new(&session, Some(&actor), d.service.name.clone(), "/inventory"),
        can_edit: authorize_on(&actor, ObjectAction::Edit, Object::Service(id.into())).is_ok(),
        can_manage: can(&actor, Action::ManageServices),
        can_assign: can(&actor, Action::ManagePeople),
        candidates,
        d,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "inventory/service_form.html")]
struct ServiceFormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<ServiceId>,
    form: ServiceForm,
    errors: FieldErrors,
}

fn render_form(
    session: &Session,
    actor: &Actor,
    id: Option<ServiceId>,
    form: ServiceForm,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let status = crate::web::forms::status(&errors);
    let title = if id.is_some() {
        "Edit service"
    } else {
        "New service"
    };
    let page = ServiceFormPage {
        ctx: PageCtx::new(session, Some(actor), title, "/inventory"),
        id,
        form,
        errors,
    };
    html(status, page.render())
}

pub async fn new_form(user: CurrentUser, session: Session) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServices)?;
    render_form(
        &session,
        &user.0,
        None,
        ServiceForm::default(),
        FieldErrors::new(),
    )
}

pub async fn create(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: Form<ServiceForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    // Refused before the form is looked at, as the command would refuse it.
    authorize(&actor, Action::ManageServices)?;
    let (form, checked) = form.check(ServiceForm::validate);
    let changes = match checked {
        Ok(changes) => changes,
        Err(errors) => return render_form(&session, &actor, None, form, errors),
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_service(conn, &a, changes))
    })
    .await?;
    match after_command(
        &session,
        result,
        |id| {
            (
                format!("Service '{}' created.", form.name),
                urls::service(id),
            )
        },
        "/inventory",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &actor, None, form, errors),
    }
}

pub async fn edit_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let service = crate::db::run(&state.pool, move |conn| {
        queries::service_in_scope(conn, &a, id, ObjectAction::Edit)
    })
    .await?;
    render_form(
        &session,
        &user.0,
        Some(id),
        ServiceForm::of(&service),
        FieldErrors::new(),
    )
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
    form: Form<ServiceForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    // Refused before the form is looked at, as the command would refuse it.
    authorize_on(&actor, ObjectAction::Edit, Object::Service(id.into()))?;
    let (form, checked) = form.check(ServiceForm::validate);
    let changes = match checked {
        Ok(changes) => changes,
        Err(errors) => return render_form(&session, &actor, Some(id), form, errors),
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_service(
            conn,
            &a,
            ServiceUpdate { id, changes },
        ))
    })
    .await?;
    let back = urls::service(id);
    match after_command(
        &session,
        result,
        |_| ("Service saved.".into(), back.clone()),
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &actor, Some(id), form, errors),
    }
}

/// Archive, restore or delete, from the service's page.
pub async fn lifecycle(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ServiceId, String)>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let (id, op) = path.into_inner();
    let change = Lifecycle::parse(&op).ok_or(AppError::NotFound)?;
    let back = urls::service(id);
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::lifecycle(
            conn,
            &actor,
            LifecycleChange {
                item: Item::Service(id),
                change,
            },
        ))
    })
    .await?;
    let done = |d: &Lifecycled| match change {
        Lifecycle::SetStatus(InventoryStatus::Archived) => {
            ("Service archived.".into(), back.clone())
        }
        Lifecycle::SetStatus(InventoryStatus::Active) => ("Service restored.".into(), back.clone()),
        Lifecycle::Delete => (
            format!("Service '{}' deleted.", d.name),
            "/inventory".into(),
        ),
    };
    match after_command(&session, result, done, &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

/// The person chosen to administer a service or product (a select: empty when none).
#[derive(Deserialize)]
pub struct AdminForm {
    user_id: Option<i64>,
}

impl AdminForm {
    pub(super) fn user_id(&self) -> Option<PersonId> {
        self.user_id.map(PersonId)
    }
}

/// Adds (`user_id` in the form) or removes (`/admins/{uid}/remove`) a Service Administrator.
pub async fn add_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
    form: Form<AdminForm>,
) -> AppResult<HttpResponse> {
    // A select of people: nothing typed to refuse.
    let (form, _) = form.into_parts();
    let change = AdminChange {
        item: Item::Service(path.into_inner()),
        person: form.user_id(),
        add: true,
    };
    change_admin(user, session, state, change).await
}

pub async fn remove_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ServiceId, PersonId)>,
) -> AppResult<HttpResponse> {
    let (id, uid) = path.into_inner();
    let change = AdminChange {
        item: Item::Service(id),
        person: Some(uid),
        add: false,
    };
    change_admin(user, session, state, change).await
}

/// Adds or removes an administrator of a service or product, from its page (and back to it).
pub(super) async fn change_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    change: AdminChange,
) -> AppResult<HttpResponse> {
    let (back, who) = match change.item {
        Item::Service(id) => (urls::service(id), "Service Administrator"),
        Item::Product(id) => (urls::product(id), "Product Administrator"),
    };
    let actor = user.0;
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::change_admin(conn, &actor, change))
    })
    .await?;
    let msg = if change.add {
        format!("{who} added.")
    } else {
        format!("{who} removed.")
    };
    match after_command(&session, result, |_| (msg, back.clone()), &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}
