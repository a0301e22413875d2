//! `GET /api/v1/services` and `GET /api/v1/services/{id}`: the inventory's queries and
//! authorization, as JSON.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_limit, page_number, ApiResult, ApiUser, Page, Problem};
use crate::authz::{authorize, Action};
use crate::domain::{GrantId, InventoryStatus, LicenseModel, PersonId, ProductId, ServiceId};
use crate::inventory::queries::{self, ServiceFilter};
use crate::web::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// Words to find in the name, vendor or category.
    #[serde(default)]
    q: String,
    /// Exactly this category.
    #[serde(default)]
    category: String,
    /// `active` when absent.
    #[param(inline)]
    status: Option<ServiceStatus>,
    // Not a `#[serde(flatten)]` paging struct: flattened fields lose the query string's number
    // parsing.
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    Active,
    Archived,
    All,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ServiceItem {
    id: ServiceId,
    name: String,
    vendor: String,
    category: String,
    status: InventoryStatus,
    /// Products of the service (in the caller's scope).
    products: i64,
    /// Active grants over the service's products.
    seats_in_use: i64,
}

/// The services in the caller's scope, searched, filtered and paged like the inventory page.
#[utoipa::path(get, path = "/api/v1/services", tag = "inventory", operation_id = "list_services",
    params(ServiceQuery),
    responses((status = 200, description = "One page of services", body = Page<ServiceItem>)))]
pub async fn list_services(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<ServiceQuery>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewInventory)?;
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let page = page_number(q.page)?;
    let status = match q.status {
        None | Some(ServiceStatus::Active) => "active",
        Some(ServiceStatus::Archived) => "archived",
        Some(ServiceStatus::All) => "all",
    };
    let filter = ServiceFilter {
        q: q.q,
        category: q.category,
        status: status.into(),
        ..Default::default()
    };
    let list = crate::db::run(&state.pool, move |conn| {
        queries::list_services_page(conn, &actor, &filter, page, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: list
            .rows
            .into_iter()
            .map(|r| ServiceItem {
                id: r.service.id,
                name: r.service.name,
                vendor: r.service.vendor,
                category: r.service.category,
                status: r.service.status,
                products: r.products,
                seats_in_use: r.seats_in_use,
            })
            .collect(),
        page,
        limit,
        total: list.total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProductItem {
    id: ProductId,
    name: String,
    license_model: LicenseModel,
    seats_purchased: Option<i32>,
    /// Grants beyond the purchased seats are refused (else they are asked to be confirmed).
    refuse_over_seats: bool,
    seats_used: i64,
    status: InventoryStatus,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ServiceDetail {
    id: ServiceId,
    name: String,
    vendor: String,
    category: String,
    website: String,
    description: String,
    status: InventoryStatus,
    people_with_access: i64,
    products: Vec<ProductItem>,
}

/// One service with its products in the caller's scope.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "inventory", operation_id = "get_service",
    params(("id" = i64, Path, description = "The service's id")),
    responses((status = 200, description = "The service", body = ServiceDetail)))]
pub async fn service(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<ServiceId>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let d = crate::db::run(&state.pool, move |conn| {
        queries::service_detail(conn, &actor, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ServiceDetail {
        id: d.service.id,
        name: d.service.name,
        vendor: d.service.vendor,
        category: d.service.category,
        website: d.service.website,
        description: d.service.description,
        status: d.service.status,
        people_with_access: d.people_with_access,
        products: d
            .products
            .into_iter()
            .map(|p| ProductItem {
                id: p.product.id,
                name: p.product.name,
                license_model: p.product.license_model,
                seats_purchased: p.product.seats_purchased,
                refuse_over_seats: p.product.refuse_over_seats,
                seats_used: p.seats_used,
                status: p.product.status,
            })
            .collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonRef {
    id: PersonId,
    full_name: String,
    email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProductGrant {
    id: GrantId,
    person_id: PersonId,
    person: String,
    email: String,
    granted_at: String,
    granted_by: String,
    account_identifier: String,
    note: String,
    /// The holder's last activity by the last applied usage export (null: never active,
    /// not in it, or no export has covered the grant — see the next two).
    last_active_on: Option<chrono::NaiveDate>,
    /// When an applied usage export last covered the grant (null: never).
    usage_checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether that export listed the holder.
    in_usage_export: Option<bool>,
    /// The licence or tier the export gave.
    usage_tier: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProductDetail {
    id: ProductId,
    service_id: ServiceId,
    service: String,
    name: String,
    description: String,
    /// e.g. `per_seat`, `flat`, `usage`.
    license_model: LicenseModel,
    seats_purchased: Option<i32>,
    /// Grants beyond the purchased seats are refused (else they are asked to be confirmed).
    refuse_over_seats: bool,
    seats_used: i64,
    status: InventoryStatus,
    /// Its Product Administrators.
    admins: Vec<PersonRef>,
    /// Who has access: this page of them (50 each), by name.
    grants: Page<ProductGrant>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// The page of the people with access (50 each), from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Only the holders inactive for this many days by the product's usage evidence (not
    /// in the last applied export, never active, or last active before then), 1–3650.
    #[param(minimum = 1, maximum = 3650)]
    inactive: Option<i64>,
}

/// One product: its administrators and the people who have access (in the caller's scope).
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "inventory", operation_id = "get_product",
    params(("id" = i64, Path, description = "The product's id"), ProductQuery),
    responses((status = 200, description = "The product", body = ProductDetail)))]
pub async fn product(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    query: web::Query<ProductQuery>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let page = page_number(query.page)?;
    let cutoff = match query.inactive {
        None => None,
        Some(n @ 1..=3650) => Some(actor.today - chrono::TimeDelta::days(n)),
        Some(_) => {
            return Err(Problem::invalid(
                "inactive",
                "Inactivity is counted in days, from 1 to 3650.",
            ))
        }
    };
    let d = crate::db::run(&state.pool, move |conn| {
        queries::product_detail(conn, &actor, id, page, cutoff)
    })
    .await?;
    let p = d.product;
    Ok(HttpResponse::Ok().json(ProductDetail {
        id: p.id,
        service_id: p.service_id,
        service: d.service_name,
        name: p.name,
        description: p.description,
        license_model: p.license_model,
        seats_purchased: p.seats_purchased,
        refuse_over_seats: p.refuse_over_seats,
        seats_used: d.seats_used,
        status: p.status,
        admins: d
            .admins
            .into_iter()
            .map(|a| PersonRef {
                id: a.id,
                full_name: a.full_name,
                email: a.email,
            })
            .collect(),
        grants: Page {
            items: d
                .grants
                .into_iter()
                .map(|g| ProductGrant {
                    id: g.id,
                    person_id: g.person_id,
                    person: g.person_name,
                    email: g.person_email,
                    granted_at: g.granted_at,
                    granted_by: g.granted_by,
                    account_identifier: g.account_identifier,
                    note: g.note,
                    last_active_on: g.last_active_on,
                    usage_checked_at: g.usage_checked_at,
                    in_usage_export: g.usage_listed,
                    usage_tier: Some(g.usage_tier).filter(|t| !t.is_empty()),
                })
                .collect(),
            page,
            limit: crate::web::pagination::PER_PAGE,
            total: d.inactive.unwrap_or(d.seats_used),
        },
    }))
}
