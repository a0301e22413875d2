//! `POST /api/v1/grants` and `POST /api/v1/grants/{id}/revoke`: the directory's grant and
//! revoke commands (same validation, authorization, card-number refusal and audit entry, in
//! one transaction) behind JSON.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Problem};
use crate::directory::grants::{self, GrantForm};
use crate::web::AppState;

#[derive(Deserialize)]
pub struct NewGrant {
    /// The person's email address or directory id.
    #[serde(default)]
    person: String,
    product_id: Option<i64>,
    #[serde(default)]
    account_identifier: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize)]
struct Granted {
    id: i64,
}

pub async fn create(
    user: ApiUser,
    state: web::Data<AppState>,
    body: web::Json<NewGrant>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let body = body.into_inner();
    let Some(product_id) = body.product_id else {
        return Err(Problem::invalid("product_id", "Choose a product."));
    };
    if body.person.trim().is_empty() {
        return Err(Problem::invalid(
            "person",
            "Name the person by email address or directory id.",
        ));
    }
    let form = GrantForm {
        person: body.person,
        product_id: Some(product_id),
        account_identifier: body.account_identifier,
        note: body.note,
    };
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(grants::grant(conn, &actor, product_id, &form))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/grants/{id}")))
        .json(Granted { id }))
}

#[derive(Deserialize)]
pub struct Revocation {
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct Revoked {
    id: i64,
    product_id: i64,
    person_id: i64,
}

pub async fn revoke(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Revocation>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let (product_id, person_id) = crate::db::run(&state.pool, move |conn| {
        Ok(grants::revoke(conn, &actor, id, &reason))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Revoked {
        id,
        product_id,
        person_id,
    }))
}
