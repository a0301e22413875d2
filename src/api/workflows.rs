//! `POST /api/v1/workflows/onboarding` and `/workflows/offboarding`: what an HR system calls
//! when someone is hired or leaves. The workflow commands of the pages, unchanged (Admins;
//! one transaction with tasks, notifications and the audit entry).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json};
use crate::authz::{authorize, Action};
use crate::web::AppState;
use crate::workflows::commands::{self, OffboardForm, OnboardForm};

#[derive(Serialize, utoipa::ToSchema)]
struct Started {
    id: i64,
}

fn started(id: i64) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/workflows/{id}")))
        .json(Started { id })
}

/// Start an onboarding (Admins): what an HR system calls when someone is hired.
///
/// The person is created when the email address is new; each product becomes a grant task
/// for its administrator, due before the start date.
#[utoipa::path(post, path = "/api/v1/workflows/onboarding", tag = "workflows", operation_id = "start_onboarding",
    request_body = OnboardForm,
    responses((status = 201, description = "Started", body = Started,
        headers(("Location" = String, description = "The workflow")))))]
pub async fn onboard(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<OnboardForm>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let form = body.into_inner();
    let lead = state.config.task_lead_days;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_onboarding(conn, &actor, &form, lead))
    })
    .await??;
    Ok(started(id))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Offboarding {
    /// The leaver's email address.
    #[serde(default)]
    #[schema(required = true, format = Email)]
    email: String,
    /// The last working day, YYYY-MM-DD.
    #[serde(default)]
    #[schema(required = true, format = Date)]
    last_day: String,
    /// Disable the login now rather than after the last day.
    #[serde(default)]
    disable_now: bool,
}

/// Start an offboarding (Admins): every access the person has becomes a revoke task.
#[utoipa::path(post, path = "/api/v1/workflows/offboarding", tag = "workflows", operation_id = "start_offboarding",
    request_body = Offboarding,
    responses((status = 201, description = "Started", body = Started,
        headers(("Location" = String, description = "The workflow")))))]
pub async fn offboard(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<Offboarding>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let body = body.into_inner();
    let form = OffboardForm {
        email: body.email,
        last_day: body.last_day,
        disable_now: body.disable_now.then(|| "on".to_string()),
    };
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_offboarding(conn, &actor, &form))
    })
    .await??;
    Ok(started(id))
}
