//! `GET /api/v1/people` and `GET /api/v1/people/{id}`: the directory's queries as JSON.
//! As on the pages, everyone who may see the directory finds people by name, email and
//! department; HR fields (job title, manager, dates, role, username) are an Admin's; grants
//! are those in the caller's scope.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_limit, page_number, ApiResult, ApiUser, Page};
use crate::authz::{authorize, Action};
use crate::directory::queries::{self, PeopleFilter, PersonGrant};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId, Role};
use crate::web::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Words to find in the name or email address.
    #[serde(default)]
    q: String,
    /// Exactly this department.
    #[serde(default)]
    department: String,
    /// Everyone when absent.
    #[param(inline)]
    status: Option<EmploymentStatus>,
    /// People with an active grant on this product.
    #[param(value_type = Option<i64>)]
    product_id: Option<ProductId>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonItem {
    id: PersonId,
    full_name: String,
    email: String,
    department: String,
    status: EmploymentStatus,
    /// Active grants (in the caller's scope).
    grants: i64,
}

/// The directory: everyone, searched, filtered and paged like the directory page.
#[utoipa::path(get, path = "/api/v1/people", tag = "directory", operation_id = "list_people",
    params(PeopleQuery),
    responses((status = 200, description = "One page of people", body = Page<PersonItem>)))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<PeopleQuery>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDirectory)?;
    let q = query.into_inner();
    let (page, limit) = (page_number(q.page)?, page_limit(q.limit)?);
    let filter = PeopleFilter {
        q: q.q,
        department: q.department,
        status: q.status.map(EmploymentStatus::as_str).unwrap_or("").into(),
        product_id: q.product_id.map(ProductId::get),
        ..Default::default()
    };
    let list = crate::db::run(&state.pool, move |conn| {
        queries::list_people_page(conn, &actor, &filter, page, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: list
            .rows
            .into_iter()
            .map(|r| PersonItem {
                id: r.id,
                full_name: r.full_name,
                email: r.email,
                department: r.department,
                status: r.status,
                grants: r.grants,
            })
            .collect(),
        page,
        limit,
        total: list.total,
    }))
}

/// HR fields, for Admins only.
#[derive(Serialize, utoipa::ToSchema)]
struct HrFields {
    job_title: Option<String>,
    manager_id: Option<PersonId>,
    start_date: Option<chrono::NaiveDate>,
    end_date: Option<chrono::NaiveDate>,
    role: Role,
    username: Option<String>,
    login_enabled: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct GrantItem {
    id: GrantId,
    product_id: ProductId,
    service: String,
    product: String,
    granted_at: String,
    granted_by: String,
    account_identifier: String,
    note: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoked_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoked_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoke_note: String,
}

impl From<PersonGrant> for GrantItem {
    fn from(g: PersonGrant) -> Self {
        Self {
            id: g.id,
            product_id: g.product_id,
            service: g.service_name,
            product: g.product_name,
            granted_at: g.granted_at,
            granted_by: g.granted_by,
            account_identifier: g.account_identifier,
            note: g.note,
            revoked_at: g.revoked_at,
            revoked_by: g.revoked_by,
            revoke_note: g.revoke_note,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonDetail {
    id: PersonId,
    full_name: String,
    email: String,
    department: Option<String>,
    status: EmploymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr: Option<HrFields>,
    active_grants: Vec<GrantItem>,
    revoked_grants: Vec<GrantItem>,
}

/// One person with their grants in the caller's scope (HR fields for Admins only).
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "directory", operation_id = "get_person",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "The person", body = PersonDetail)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDirectory)?;
    let id = path.into_inner();
    let is_admin = actor.is_admin();
    let d = crate::db::run(&state.pool, move |conn| {
        queries::person_detail(conn, &actor, id)
    })
    .await?;
    let p = d.person;
    Ok(HttpResponse::Ok().json(PersonDetail {
        id: p.id,
        full_name: p.full_name,
        email: p.email,
        department: p.department,
        status: p.employment_status,
        hr: is_admin.then_some(HrFields {
            job_title: p.job_title,
            manager_id: p.manager_id,
            start_date: p.start_date,
            end_date: p.end_date,
            role: p.role,
            username: p.username,
            login_enabled: p.is_active,
        }),
        active_grants: d.active.into_iter().map(GrantItem::from).collect(),
        revoked_grants: d.revoked.into_iter().map(GrantItem::from).collect(),
    }))
}
