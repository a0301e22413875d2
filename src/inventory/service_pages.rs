//! Inventory pages for services: the list, a service's page, and its forms.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::commands;
use super::model::{license_label, ServiceForm};
use super::queries::{self, PersonRef, Service, ServiceDetail, ServiceFilter, ServiceList};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, authorize_on, can, Action, Object, ObjectAction, Role};
use crate::error::{AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::pagination::Pager;
use crate::web::respond::{after_command, html, redirect};
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

impl ServicePage {
    fn license(&self, key: &str) -> &'static str {
        license_label(key)
    }
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    authorize_on(&actor, ObjectAction::View, Object::Service(id))?;
    let a = actor.clone();
    let can_assign = can(&actor, Action::ManagePeople);
    let (d, candidates) = crate::db::run(&state.pool, move |conn| {
        let service = queries::find_service(conn, id)?;
        let d = queries::service_detail(conn, &a, service)?;
        let candidates = if can_assign {
            queries::people_with_role(conn, Role::ServiceAdmin)?
        } else {
            Vec::new()
        };
        Ok((d, candidates))
    })
    .await?;
    let page = ServicePage {
        ctx: PageCtx::new(&session, Some(&actor), d.service.name.clone(), "/inventory"),
        can_edit: authorize_on(&actor, ObjectAction::Edit, Object::Service(id)).is_ok(),
        can_manage: can(&actor, Action::ManageServices),
        can_assign,
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
    id: Option<i64>,
    form: ServiceForm,
    errors: FieldErrors,
}

fn render_form(
    session: &Session,
    actor: &crate::authz::Actor,
    id: Option<i64>,
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
    authorize(&actor, Action::ManageServices)?;
    let (form, checked) = form.check(ServiceForm::validate);
    if let Err(errors) = checked {
        return render_form(&session, &actor, None, form, errors);
    }
    let (a, f) = (actor.clone(), form.clone());
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::create_service(conn, &a, &f))
    })
    .await?;
    match after_command(
        &session,
        result,
        |id| {
            (
                format!("Service '{}' created.", form.name),
                format!("/inventory/services/{id}"),
            )
        },
        "/inventory",
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render_form(&session, &actor, None, form, errors),
    }
}

fn form_of(s: &Service) -> ServiceForm {
    ServiceForm {
        name: s.name.clone(),
        vendor: s.vendor.clone(),
        category: s.category.clone(),
        website: s.website.clone(),
        description: s.description.clone(),
    }
}

pub async fn edit_form(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    authorize_on(&user.0, ObjectAction::Edit, Object::Service(id))?;
    let service = crate::db::run(&state.pool, move |conn| queries::find_service(conn, id)).await?;
    render_form(
        &session,
        &user.0,
        Some(id),
        form_of(&service),
        FieldErrors::new(),
    )
}

pub async fn update(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ServiceForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    authorize_on(&actor, ObjectAction::Edit, Object::Service(id))?;
    let (form, checked) = form.check(ServiceForm::validate);
    if let Err(errors) = checked {
        return render_form(&session, &actor, Some(id), form, errors);
    }
    let (a, f) = (actor.clone(), form.clone());
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::update_service(conn, &a, id, &f))
    })
    .await?;
    let back = format!("/inventory/services/{id}");
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
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let (id, op) = path.into_inner();
    authorize_on(&actor, ObjectAction::View, Object::Service(id))?;
    authorize(&actor, Action::ManageServices)?;
    let back = format!("/inventory/services/{id}");
    let a = actor.clone();
    let op2 = op.clone();
    let result: Result<String, CommandError> = crate::db::run(&state.pool, move |conn| {
        Ok(match op2.as_str() {
            "archive" => commands::set_service_status(conn, &a, id, "archived")
                .map(|_| "Service archived.".to_string()),
            "restore" => commands::set_service_status(conn, &a, id, "active")
                .map(|_| "Service restored.".to_string()),
            "delete" => commands::delete_service(conn, &a, id)
                .map(|name| format!("Service '{name}' deleted.")),
            _ => Err(CommandError::Other(crate::error::AppError::NotFound)),
        })
    })
    .await?;
    let to = if op == "delete" {
        "/inventory".to_string()
    } else {
        back.clone()
    };
    match after_command(&session, result, |msg| (msg.clone(), to.clone()), &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}

#[derive(Deserialize)]
pub struct AdminForm {
    user_id: Option<i64>,
}

/// Adds (`user_id` in the form) or removes (`/admins/{uid}/remove`) a Service Administrator.
pub async fn add_admin(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<AdminForm>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    // A select of people: nothing typed to refuse.
    let (form, _) = form.into_parts();
    set_admin(user, session, state, id, form.user_id, true).await
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
    authorize_on(&actor, ObjectAction::View, Object::Service(id))?;
    authorize(&actor, Action::ManagePeople)?;
    let back = format!("/inventory/services/{id}");
    let Some(uid) = uid else {
        crate::auth::session::flash(
            &session,
            crate::auth::session::FlashKind::Error,
            "Choose a person to add.",
        );
        return Ok(redirect(&back));
    };
    let a = actor.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        Ok(commands::set_service_admin(conn, &a, id, uid, add))
    })
    .await?;
    let msg = if add {
        "Service Administrator added."
    } else {
        "Service Administrator removed."
    };
    match after_command(&session, result, |_| (msg.into(), back.clone()), &back)? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}
