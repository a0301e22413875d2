//! The directory as CSV: one row per person with their active access.

use actix_web::{web, HttpResponse};

use super::queries;
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
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
