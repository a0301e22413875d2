//! `POST /api/v1/grants`, `GET /api/v1/grants/{id}` and `POST /api/v1/grants/{id}/revoke`:
//! the directory's grant and revoke commands (same validation, authorization, card-number
//! refusal and audit entry, in one transaction) and one grant in the caller's scope, as JSON.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json, Problem};
use crate::authz::{authorize, Action};
use crate::directory::grants::{self, Revoke};
use crate::directory::queries;
use crate::domain::{GrantId, PersonId, ProductId};
use crate::error::CommandError;
use crate::web::AppState;
use crate::workflows::commands::OffboardingRevokes;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewGrant {
    /// The person's email address or directory id.
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    person: String,
    #[schema(required = true)]
    product_id: Option<ProductId>,
    #[serde(default)]
    account_identifier: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Granted {
    id: GrantId,
}

/// Give a person access to a product (Admins, and administrators of the product's scope).
#[utoipa::path(post, path = "/api/v1/grants", tag = "directory", operation_id = "grant",
    request_body = NewGrant,
    responses((status = 201, description = "Granted", body = Granted,
        headers(("Location" = String, description = "The new grant")))))]
pub async fn create(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<NewGrant>,
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
    let request = grants::NewGrant::new(
        &body.person,
        product_id,
        &body.account_identifier,
        &body.note,
    )
    .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(grants::grant(conn, &actor, request, &OffboardingRevokes))
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/grants/{id}")))
        .json(Granted { id }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Grant {
    id: GrantId,
    person_id: PersonId,
    product_id: ProductId,
    service: String,
    product: String,
    granted_at: String,
    granted_by: String,
    account_identifier: String,
    note: String,
    active: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoked_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoked_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoke_note: String,
}

/// One grant, active or revoked (Admins, and administrators of the product's scope; any
/// other grant is not found).
#[utoipa::path(get, path = "/api/v1/grants/{id}", tag = "directory", operation_id = "get_grant",
    params(("id" = i64, Path, description = "The grant's id")),
    responses((status = 200, description = "The grant", body = Grant)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<GrantId>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDirectory)?;
    let id = path.into_inner();
    let (person_id, g) = crate::db::run(&state.pool, move |conn| {
        queries::grant_in_scope(conn, &actor, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Grant {
        id: g.id,
        person_id,
        product_id: g.product_id,
        service: g.service_name,
        product: g.product_name,
        granted_at: g.granted_at,
        granted_by: g.granted_by,
        account_identifier: g.account_identifier,
        note: g.note,
        active: g.revoked_at.is_empty(),
        revoked_at: g.revoked_at,
        revoked_by: g.revoked_by,
        revoke_note: g.revoke_note,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Revocation {
    #[serde(default)]
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Revoked {
    id: GrantId,
    product_id: ProductId,
    person_id: PersonId,
}

/// Take a person's access away, with a reason (same rights as granting).
#[utoipa::path(post, path = "/api/v1/grants/{id}/revoke", tag = "directory", operation_id = "revoke",
    params(("id" = i64, Path, description = "The grant's id")),
    request_body = Revocation,
    responses((status = 200, description = "Revoked", body = Revoked)))]
pub async fn revoke(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<GrantId>,
    body: Json<Revocation>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let request = Revoke::new(id, &body.into_inner().reason)
        .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    let revoked = crate::db::run(&state.pool, move |conn| {
        Ok(grants::revoke(conn, &actor, request))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Revoked {
        id,
        product_id: revoked.product,
        person_id: revoked.person,
    }))
}
