//! The directory as CSV: one row per person with their active access.

use actix_web::{web, HttpResponse};

use super::grant_rows::{self, GrantsOf};
use super::queries;
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::domain::{PersonId, ProductId, ServiceId};
use crate::error::AppResult;
use crate::web::csv_out::attachment;
use crate::web::AppState;

const HEADER: &[&str] = &[
    "full_name",
    "email",
    "username",
    "department",
    "job_title",
    "manager_email",
    "employment_status",
    "role",
    "start_date",
    "end_date",
    "access",
];

pub async fn directory_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let actor = user.0;
    let rows = crate::db::run(&state.pool, move |conn| queries::export_rows(conn, &actor)).await?;
    attachment("portalops-directory.csv", HEADER, rows)
}

/// Active grants as CSV, in the columns the grants import reads.
async fn grants_csv(
    user: CurrentUser,
    state: &AppState,
    of: GrantsOf,
    filename: String,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewDirectory)?;
    let actor = user.0;
    let rows = crate::db::run(&state.pool, move |conn| {
        grant_rows::export(conn, &actor, of)
    })
    .await?;
    attachment(&filename, grant_rows::COLUMNS, rows)
}

/// `GET /inventory/grants.csv`: every active grant in the actor's scope.
pub async fn all_grants_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    grants_csv(user, &state, GrantsOf::All, "portalops-grants.csv".into()).await
}

/// `GET /inventory/services/{id}/grants.csv`.
pub async fn service_grants_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let name = format!("portalops-grants-service-{id}.csv");
    grants_csv(user, &state, GrantsOf::Service(id), name).await
}

/// `GET /inventory/products/{id}/grants.csv`.
pub async fn product_grants_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let name = format!("portalops-grants-product-{id}.csv");
    grants_csv(user, &state, GrantsOf::Product(id), name).await
}

/// `GET /directory/{id}/grants.csv`: the person's active grants in the actor's scope.
pub async fn person_grants_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let name = format!("portalops-grants-person-{id}.csv");
    grants_csv(user, &state, GrantsOf::Person(id), name).await
}
