//! Roles and scopes (Admins): a person's role, and who administers which service or product.
//! The directory's role command (the person form's rules, one transaction) and the
//! inventory's scope commands of the pages: the same rules (a login role needs a username;
//! without a password it sends an invitation; the last Admin stays; a scope needs the matching role),
//! each change audited in its transaction.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json, Problem};
use crate::authz::{authorize, authorize_on, Action, Object, ObjectAction};
use crate::directory::commands as people;
use crate::directory::requests::{self, hash_if_given};
use crate::domain::{PersonId, Role};
use crate::error::CommandError;
use crate::inventory::commands as scopes;
use crate::web::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    #[schema(required = true)]
    role: Option<Role>,
    /// The login name; required for a login role when the person has none yet.
    username: Option<String>,
    /// Optional: a login role for someone with no password and none given here emails
    /// them an invitation to choose their own (at least 12 characters when given).
    #[schema(format = Password)]
    password: Option<String>,
    /// Whether the login is enabled (unchanged when absent).
    login_enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RoleSet {
    id: PersonId,
    role: Role,
    username: Option<String>,
    login_enabled: bool,
    /// An invitation to choose a password was emailed (a new login without a password).
    invitation_sent: bool,
}

/// Change a person's role (and give them a login). Scopes that no longer match the role are
/// dropped, as on the page; the last Admin cannot be demoted. A login without a password
/// emails the person an invitation to choose one.
#[utoipa::path(put, path = "/api/v1/people/{id}/role", tag = "roles", operation_id = "set_role",
    params(("id" = i64, Path, description = "The person's id")),
    request_body = RoleChange,
    responses((status = 200, description = "Changed", body = RoleSet)))]
pub async fn set_role(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    body: Json<RoleChange>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = path.into_inner();
    let body = body.into_inner();
    let mut change = requests::RoleChange::new(
        body.role,
        body.username.as_deref(),
        body.password.as_deref(),
        body.login_enabled,
    )
    .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    // Hashed here, off the database's threads; the command checks it against the person.
    hash_if_given(&state.hasher, &mut change.password).await?;
    let settings = crate::auth::links::LinkSettings::from_state(&state)?;
    let set = crate::db::run(&state.pool, move |conn| {
        Ok(people::change_role(conn, &actor, id, change, &settings))
    })
    .await??;
    Ok(HttpResponse::Ok().json(RoleSet {
        id: set.id,
        role: set.role,
        username: set.username,
        login_enabled: set.login_enabled,
        invitation_sent: set.invitation_sent,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Administrator {
    /// The person's id; they must have the matching role already.
    #[schema(required = true)]
    person_id: Option<i64>,
}

fn person(body: Administrator) -> Result<i64, Problem> {
    body.person_id
        .ok_or_else(|| Problem::invalid("person_id", "Choose a person."))
}

/// Make a Service Administrator administer this service.
#[utoipa::path(post, path = "/api/v1/services/{id}/admins", tag = "roles", operation_id = "add_service_admin",
    params(("id" = i64, Path, description = "The service's id")),
    request_body = Administrator,
    responses((status = 204, description = "Added (or already there)")))]
pub async fn add_service_admin(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Administrator>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    may_assign_service(&user, id)?;
    let uid = person(body.into_inner())?;
    assign(user, state, Scope::Service, id, uid, true).await
}

/// Stop a Service Administrator administering this service.
#[utoipa::path(delete, path = "/api/v1/services/{id}/admins/{person_id}", tag = "roles", operation_id = "remove_service_admin",
    params(("id" = i64, Path, description = "The service's id"),
        ("person_id" = i64, Path, description = "The administrator's id")),
    responses((status = 204, description = "Removed (or was not there)")))]
pub async fn remove_service_admin(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, uid) = path.into_inner();
    may_assign_service(&user, id)?;
    assign(user, state, Scope::Service, id, uid, false).await
}

/// Out of scope: 404; in scope but not an Admin: 403 — checked before the body is read.
fn may_assign_service(user: &ApiUser, service_id: i64) -> Result<(), Problem> {
    authorize_on(&user.0, ObjectAction::View, Object::Service(service_id))?;
    Ok(authorize(&user.0, Action::ManagePeople)?)
}

/// What an administrator is added to or removed from.
#[derive(Clone, Copy)]
enum Scope {
    Service,
    Product,
}

/// The inventory's scope command (which authorizes and audits in its transaction).
async fn assign(
    user: ApiUser,
    state: web::Data<AppState>,
    scope: Scope,
    id: i64,
    uid: i64,
    add: bool,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    crate::db::run(&state.pool, move |conn| {
        Ok(match scope {
            Scope::Service => scopes::set_service_admin(conn, &actor, id, uid, add),
            Scope::Product => scopes::set_product_admin(conn, &actor, id, uid, add),
        })
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Make a Product Administrator administer this product.
#[utoipa::path(post, path = "/api/v1/products/{id}/admins", tag = "roles", operation_id = "add_product_admin",
    params(("id" = i64, Path, description = "The product's id")),
    request_body = Administrator,
    responses((status = 204, description = "Added (or already there)")))]
pub async fn add_product_admin(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Administrator>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    authorize(&user.0, Action::ManagePeople)?;
    let uid = person(body.into_inner())?;
    assign(user, state, Scope::Product, id, uid, true).await
}

/// Stop a Product Administrator administering this product.
#[utoipa::path(delete, path = "/api/v1/products/{id}/admins/{person_id}", tag = "roles", operation_id = "remove_product_admin",
    params(("id" = i64, Path, description = "The product's id"),
        ("person_id" = i64, Path, description = "The administrator's id")),
    responses((status = 204, description = "Removed (or was not there)")))]
pub async fn remove_product_admin(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, uid) = path.into_inner();
    assign(user, state, Scope::Product, id, uid, false).await
}
