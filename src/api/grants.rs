//! `POST /api/v1/grants`, `GET /api/v1/grants/{id}` and `POST /api/v1/grants/{id}/revoke`:
//! the directory's grant and revoke commands (same validation, authorization, card-number
//! refusal and audit entry, in one transaction) and one grant in the caller's scope, as JSON.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Json, Problem};
use crate::authz::{authorize, Action};
use crate::directory::grant_batch;
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
    /// Grant even though it goes over the purchased seats (else 422 on `over_seats`, saying
    /// how many are free).
    #[serde(default)]
    over_seats: bool,
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
    let mut request = grants::NewGrant::new(
        &body.person,
        product_id,
        &body.account_identifier,
        &body.note,
    )
    .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    request.over_seats = body.over_seats;
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

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BulkGrantBody {
    /// Email addresses or directory ids, one per person (at most 1,000).
    #[serde(default)]
    #[schema(required = true)]
    people: Vec<String>,
    #[serde(default)]
    note: String,
    /// Only say what would happen (200): nothing is granted.
    #[serde(default)]
    dry_run: bool,
    /// Grant even though it goes over the purchased seats (else 422 on `over_seats`).
    #[serde(default)]
    over_seats: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkLine {
    given: String,
    person_id: Option<PersonId>,
    full_name: Option<String>,
    /// `grant`, `already`, `unknown` or `offboarded`.
    outcome: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkPlanned {
    lines: Vec<BulkLine>,
    to_grant: usize,
    refused: usize,
    seats_used: i64,
    seats_purchased: Option<i32>,
    seats_over: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkGranted {
    granted: Vec<GrantId>,
}

/// Give many people access to a product at once: each its own audited grant with the rules
/// of one, all in one transaction. A line that cannot be granted refuses them all (422, one
/// error per line, keyed `people.N`); `dry_run` only says what would happen.
#[utoipa::path(post, path = "/api/v1/products/{id}/grants/bulk", tag = "directory",
    operation_id = "bulk_grant",
    params(("id" = i64, Path, description = "The product's id")),
    request_body = BulkGrantBody,
    responses(
        (status = 201, description = "Granted", body = BulkGranted),
        (status = 200, description = "What a dry run would do", body = BulkPlanned)))]
pub async fn bulk_create(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    body: Json<BulkGrantBody>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let body = body.into_inner();
    let people: Vec<String> = body
        .people
        .iter()
        .flat_map(|p| crate::directory::requests::people_list(p))
        .collect();
    let mut request = grants::BulkGrant::new(path.into_inner(), &people, &body.note)
        .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    request.over_seats = body.over_seats;
    if body.dry_run {
        let plan = crate::db::run(&state.pool, move |conn| {
            Ok(grants::plan_bulk_grant(conn, &actor, &request))
        })
        .await??;
        let lines = plan
            .batch
            .rows
            .iter()
            .map(|r| BulkLine {
                given: r.line.given.clone(),
                person_id: r.person.as_ref().map(|p| p.id),
                full_name: r.person.as_ref().map(|p| p.full_name.clone()),
                outcome: r.outcome.as_str().to_string(),
            })
            .collect();
        return Ok(HttpResponse::Ok().json(BulkPlanned {
            lines,
            to_grant: plan.granted(),
            refused: plan.refused().count(),
            seats_used: plan.seats.used,
            seats_purchased: plan.seats.purchased,
            seats_over: plan.seats_over(),
        }));
    }
    let granted = crate::db::run(&state.pool, move |conn| {
        Ok(grants::grant_many(
            conn,
            &actor,
            request,
            &OffboardingRevokes,
        ))
    })
    .await??;
    Ok(HttpResponse::Created().json(BulkGranted { granted }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BulkRevocation {
    /// The grants' ids (at most 1,000).
    #[serde(default)]
    #[schema(required = true)]
    grants: Vec<i64>,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkRevoked {
    revoked: Vec<Revoked>,
}

/// Take many grants away with one reason, each audited, in one transaction: one already
/// revoked refuses them all (422, keyed `grants.ID`), one outside the caller's scope is
/// not found (404).
#[utoipa::path(post, path = "/api/v1/grants/bulk-revoke", tag = "directory",
    operation_id = "bulk_revoke",
    request_body = BulkRevocation,
    responses((status = 200, description = "Revoked", body = BulkRevoked)))]
pub async fn bulk_revoke(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<BulkRevocation>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let body = body.into_inner();
    let request = grants::BulkRevoke::new(&body.grants, &body.reason)
        .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    let ids = request.grants.clone();
    let ended = crate::db::run(&state.pool, move |conn| {
        Ok(grants::revoke_many(conn, &actor, request))
    })
    .await??;
    let revoked = ids
        .into_iter()
        .zip(ended)
        .map(|(id, r)| Revoked {
            id,
            product_id: r.product,
            person_id: r.person,
        })
        .collect();
    Ok(HttpResponse::Ok().json(BulkRevoked { revoked }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PersonGrantsBody {
    /// Products to grant, by id (at most 1,000).
    #[serde(default)]
    products: Vec<i64>,
    /// A colleague whose access to copy (their email address or directory id): their
    /// products that the caller may grant are added.
    #[serde(default)]
    copy_from: String,
    #[serde(default)]
    note: String,
    /// Only say what would happen (200): nothing is granted.
    #[serde(default)]
    dry_run: bool,
    /// Grant even though it goes over purchased seats (else 422 on `over_seats`).
    #[serde(default)]
    over_seats: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonGrantLine {
    product_id: Option<ProductId>,
    /// "Service → Product" (absent for a product the caller cannot see).
    product: Option<String>,
    /// `grant`, `already`, `no_product`, `not_yours`, `archived`, `offboarded`, `no_seat`…
    outcome: String,
    seats_purchased: Option<i32>,
    seats_free: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonGrantsPlanned {
    person_id: PersonId,
    copied_from: Option<PersonId>,
    /// What would be granted, and the lines that refuse the batch.
    lines: Vec<PersonGrantLine>,
    /// Products asked for (or copied) that the person already holds: left as they are.
    already: Vec<PersonGrantLine>,
    to_grant: usize,
    refused: usize,
}

/// Grant several products to one person at once, or copy a colleague's access: each its
/// own audited grant with the rules of one, all in one transaction. Products the person
/// already holds are left as they are; any other line that cannot be granted refuses them
/// all (422, keyed `products.N`); `dry_run` only says what would happen.
#[utoipa::path(post, path = "/api/v1/people/{id}/grants", tag = "directory",
    operation_id = "grant_to_person",
    params(("id" = i64, Path, description = "The person's id")),
    request_body = PersonGrantsBody,
    responses(
        (status = 201, description = "Granted", body = BulkGranted),
        (status = 200, description = "What a dry run would do", body = PersonGrantsPlanned)))]
pub async fn person_create(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    body: Json<PersonGrantsBody>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDirectory)?;
    let body = body.into_inner();
    let mut request = grant_batch::PersonGrants::new(
        path.into_inner(),
        &body.products,
        &body.copy_from,
        &body.note,
    )
    .map_err(|e| Problem::from(CommandError::Invalid(e)))?;
    request.over_seats = body.over_seats;
    if body.dry_run {
        let plan = crate::db::run(&state.pool, move |conn| {
            Ok(grant_batch::plan_for_person(conn, &actor, &request))
        })
        .await??;
        let line = |r: &grant_batch::BatchRow| {
            let seats = r
                .product
                .as_ref()
                .and_then(|p| plan.batch.seats.iter().find(|s| s.product.id == p.id));
            PersonGrantLine {
                product_id: r.product.as_ref().map(|p| p.id),
                product: r
                    .product
                    .as_ref()
                    .map(|p| format!("{} → {}", p.service_name, p.name)),
                outcome: r.outcome.as_str().to_string(),
                seats_purchased: seats.and_then(|s| s.seats.purchased),
                seats_free: seats.and_then(|s| s.free()),
            }
        };
        return Ok(HttpResponse::Ok().json(PersonGrantsPlanned {
            person_id: plan.person.id,
            copied_from: plan.colleague.as_ref().map(|c| c.id),
            lines: plan.batch.rows.iter().map(line).collect(),
            already: plan.already.iter().map(line).collect(),
            to_grant: plan.batch.granted(),
            refused: plan.batch.refused().count(),
        }));
    }
    let granted = crate::db::run(&state.pool, move |conn| {
        Ok(grant_batch::grant_for_person(
            conn,
            &actor,
            &request,
            &OffboardingRevokes,
        ))
    })
    .await??;
    Ok(HttpResponse::Created().json(BulkGranted { granted }))
}
