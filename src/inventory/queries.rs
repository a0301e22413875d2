//! Inventory reads, filtered by the actor's scope in SQL. Every list page costs a fixed
//! number of queries: a count, the page, and one aggregate per column of counts. A query of
//! one service or product takes the actor and answers `NotFound` outside their scope (and
//! `Forbidden` inside it when the action is not theirs: `authz::authorize_on`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{count, count_star, exists, sum};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Deserialize;

use super::requests::Item;
use crate::authz::{authorize, authorize_on, can, Action, Actor, Object, ObjectAction, Role};
use crate::db::schema::{
    access_grants, product_admins, product_seat_counts, products, service_admins, services, users,
};
use crate::domain::{GrantId, InventoryStatus, LicenseModel, PersonId, ProductId, ServiceId};
use crate::error::AppError;
// The old home of the shared time format, for the pages that still import it from here.
use crate::db::contains_pattern;
pub use crate::web::format::format_time;
use crate::web::pagination::{Pager, PER_PAGE};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub category: String,
    /// "active" (default), "archived" or "all".
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    pub page: Option<i64>,
}

impl ServiceFilter {
    pub fn status_or_default(&self) -> &str {
        match self.status.as_str() {
            "archived" | "all" => &self.status,
            _ => "active",
        }
    }

    /// The one status listed, or `None` for all of them.
    pub fn only_status(&self) -> Option<InventoryStatus> {
        match self.status_or_default() {
            "all" => None,
            s => Some(InventoryStatus::parse(s).unwrap_or(InventoryStatus::Active)),
        }
    }
}

/// A service as the list shows it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = services, check_for_backend(Pg))]
pub struct ServiceSummary {
    pub id: ServiceId,
    pub name: String,
    pub vendor: String,
    pub category: String,
    pub status: InventoryStatus,
}

pub struct ServiceRow {
    pub service: ServiceSummary,
    pub products: i64,
    /// Active grants over the service's products (a person with two products counts twice).
    pub seats_in_use: i64,
}

pub struct ServiceList {
    pub rows: Vec<ServiceRow>,
    pub total: i64,
    pub categories: Vec<String>,
}

type ServiceQuery<'a> = services::BoxedQuery<'a, Pg>;

fn scoped_services<'a>(actor: &Actor, f: &ServiceFilter) -> ServiceQuery<'a> {
    let mut q = services::table.into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => q = q.filter(services::id.eq_any(actor.scope.services.clone())),
        Role::ProductAdmin => q = q.filter(services::id.eq_any(actor.scope.product_service_ids())),
        Role::User => q = q.filter(services::id.eq(-1)),
    }
    if !f.q.trim().is_empty() {
        let pat = contains_pattern(&f.q);
        q = q.filter(
            services::name
                .ilike(pat.clone())
                .or(services::vendor.ilike(pat.clone()))
                .or(exists(
                    products::table
                        .filter(products::service_id.eq(services::id))
                        .filter(products::name.ilike(pat)),
                )),
        );
    }
    if !f.category.trim().is_empty() {
        q = q.filter(services::category.eq(f.category.trim().to_string()));
    }
    if let Some(status) = f.only_status() {
        q = q.filter(services::status.eq(status));
    }
    q
}

pub fn list_services(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &ServiceFilter,
) -> Result<ServiceList, AppError> {
    list_services_page(conn, actor, f, f.page.unwrap_or(1), PER_PAGE)
}

/// Products and active grants of one service.
#[derive(Queryable)]
struct ServiceCounts {
    service_id: ServiceId,
    products: i64,
    seats: Option<i64>,
}

/// One page of `limit` services (the API chooses its page size; the pages use `PER_PAGE`).
pub fn list_services_page(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &ServiceFilter,
    page: i64,
    limit: i64,
) -> Result<ServiceList, AppError> {
    let total: i64 = scoped_services(actor, f).count().get_result(conn)?;
    let desc = f.dir == "desc";
    let q = scoped_services(actor, f);
    let q = match (f.sort.as_str(), desc) {
        ("vendor", false) => q.order((services::vendor.asc(), services::id.asc())),
        ("vendor", true) => q.order((services::vendor.desc(), services::id.desc())),
        ("category", false) => q.order((services::category.asc(), services::id.asc())),
        ("category", true) => q.order((services::category.desc(), services::id.desc())),
        ("updated", false) => q.order((services::updated_at.asc(), services::id.asc())),
        ("updated", true) => q.order((services::updated_at.desc(), services::id.desc())),
        (_, false) => q.order((crate::db::lower(services::name).asc(), services::id.asc())),
        (_, true) => q.order((crate::db::lower(services::name).desc(), services::id.desc())),
    };
    let rows: Vec<ServiceSummary> = q
        .select(ServiceSummary::as_select())
        .limit(limit)
        .offset(crate::web::pagination::offset(page, limit))
        .load(conn)?;
    let ids: Vec<ServiceId> = rows.iter().map(|r| r.id).collect();
    // Products and seats in use per service in one pass over the page's products. Seats are
    // summed from the per-product counters: counting distinct people over every grant of 50
    // services cost 3–5 ms per request at 100,000 grants (the service page still shows them).
    let counts: HashMap<ServiceId, ServiceCounts> = products::table
        .left_join(product_seat_counts::table)
        .filter(products::service_id.eq_any(&ids))
        .group_by(products::service_id)
        .select((
            products::service_id,
            count_star(),
            sum(product_seat_counts::active_grants.nullable()),
        ))
        .load::<ServiceCounts>(conn)?
        .into_iter()
        .map(|c| (c.service_id, c))
        .collect();
    let categories: Vec<String> = services::table
        .filter(services::category.ne(""))
        .select(services::category)
        .distinct()
        .order(services::category.asc())
        .load(conn)?;
    Ok(ServiceList {
        rows: rows
            .into_iter()
            .map(|service| {
                let c = counts.get(&service.id);
                ServiceRow {
                    products: c.map_or(0, |c| c.products),
                    seats_in_use: c.and_then(|c| c.seats).unwrap_or(0),
                    service,
                }
            })
            .collect(),
        total,
        categories,
    })
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = services, check_for_backend(Pg))]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub vendor: String,
    pub category: String,
    pub website: String,
    pub description: String,
    pub status: InventoryStatus,
    pub updated_at: DateTime<Utc>,
}

/// A service by id, whoever asks (for commands, which authorize themselves).
pub(super) fn find_service(conn: &mut PgConnection, id: ServiceId) -> Result<Service, AppError> {
    services::table
        .find(id)
        .select(Service::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// The ids of service `id`'s products that `actor` sees (all of them but for a Product
/// Administrator, who sees theirs).
pub fn product_ids_of_service(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceId,
) -> Result<Vec<i64>, AppError> {
    let ids: Vec<i64> = products::table
        .filter(products::service_id.eq(id))
        .select(products::id)
        .load(conn)?;
    Ok(match actor.role {
        crate::authz::Role::ProductAdmin => {
            let mine = actor.scope.product_ids();
            ids.into_iter().filter(|p| mine.contains(p)).collect()
        }
        _ => ids,
    })
}

/// A service `actor` may do `action` on (404 outside their scope, 403 inside it when the
/// action is not theirs).
pub fn service_in_scope(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceId,
    action: ObjectAction,
) -> Result<Service, AppError> {
    authorize_on(actor, action, Object::Service(id.into()))?;
    find_service(conn, id)
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = products, check_for_backend(Pg))]
pub struct Product {
    pub id: ProductId,
    pub service_id: ServiceId,
    pub name: String,
    pub description: String,
    pub license_model: LicenseModel,
    pub seats_purchased: Option<i32>,
    pub status: InventoryStatus,
    pub refuse_over_seats: bool,
}

impl Product {
    /// What scope checks need to know of it.
    pub fn object(&self) -> Object {
        Object::Product {
            id: self.id.into(),
            service_id: self.service_id.into(),
        }
    }
}

/// A product by id, whoever asks (for commands, which authorize on `Product::object`). Takes
/// a `ProductId`, or a bare `i64` from the callers outside the inventory not yet typed.
pub fn find_product(conn: &mut PgConnection, id: impl Into<i64>) -> Result<Product, AppError> {
    products::table
        .find(ProductId(id.into()))
        .select(Product::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// A product `actor` may do `action` on (404 outside their scope, 403 inside it when the
/// action is not theirs).
pub fn product_in_scope(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ProductId,
    action: ObjectAction,
) -> Result<Product, AppError> {
    let p = find_product(conn, id)?;
    authorize_on(actor, action, p.object())?;
    Ok(p)
}

pub struct ProductRow {
    pub product: Product,
    pub seats_used: i64,
}

impl ProductRow {
    pub fn over(&self) -> bool {
        self.product
            .seats_purchased
            .is_some_and(|p| self.seats_used > i64::from(p))
    }
}

/// A person named on a page: id, name, username.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub struct PersonRef {
    pub id: PersonId,
    pub full_name: String,
    pub email: String,
}

/// The administrators of a service or product, by name.
fn admins_of(conn: &mut PgConnection, item: Item) -> Result<Vec<PersonRef>, AppError> {
    Ok(match item {
        Item::Service(id) => service_admins::table
            .inner_join(users::table)
            .filter(service_admins::service_id.eq(id))
            .select(PersonRef::as_select())
            .order(users::full_name.asc())
            .load(conn)?,
        Item::Product(id) => product_admins::table
            .inner_join(users::table)
            .filter(product_admins::product_id.eq(id))
            .select(PersonRef::as_select())
            .order(users::full_name.asc())
            .load(conn)?,
    })
}

pub struct ServiceDetail {
    pub service: Service,
    pub products: Vec<ProductRow>,
    pub admins: Vec<PersonRef>,
    pub people_with_access: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = product_seat_counts, check_for_backend(Pg))]
struct SeatCount {
    product_id: ProductId,
    active_grants: i32,
}

/// Active grants per product, for the given products, from the trigger-kept counters
/// (migration 0011); a product missing from the map has none.
fn seat_counts(
    conn: &mut PgConnection,
    product_ids: &[ProductId],
) -> Result<HashMap<ProductId, i64>, AppError> {
    Ok(product_seat_counts::table
        .filter(product_seat_counts::product_id.eq_any(product_ids))
        .select(SeatCount::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| (c.product_id, i64::from(c.active_grants)))
        .collect())
}

/// A service's page: Product Administrators see only their own products of it.
pub fn service_detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceId,
) -> Result<ServiceDetail, AppError> {
    let service = service_in_scope(conn, actor, id, ObjectAction::View)?;
    let mut q = products::table
        .filter(products::service_id.eq(service.id))
        .select(Product::as_select())
        .order((crate::db::lower(products::name).asc(), products::id.asc()))
        .into_boxed();
    if actor.role == Role::ProductAdmin {
        q = q.filter(products::id.eq_any(actor.scope.product_ids()));
    }
    let prods: Vec<Product> = q.load(conn)?;
    let ids: Vec<ProductId> = prods.iter().map(|p| p.id).collect();
    let used = seat_counts(conn, &ids)?;
    let admins = admins_of(conn, Item::Service(service.id))?;
    let people_with_access: i64 = access_grants::table
        .filter(access_grants::product_id.eq_any(&ids))
        .filter(access_grants::revoked_at.is_null())
        .select(count(access_grants::user_id).aggregate_distinct())
        .get_result(conn)?;
    Ok(ServiceDetail {
        products: prods
            .into_iter()
            .map(|p| ProductRow {
                seats_used: used.get(&p.id).copied().unwrap_or(0),
                product: p,
            })
            .collect(),
        service,
        admins,
        people_with_access,
    })
}

/// An active grant as stored, with the names of the person and of who granted it.
#[derive(Queryable)]
struct GrantRecord {
    id: GrantId,
    person_id: PersonId,
    person_name: String,
    person_email: String,
    granted_at: DateTime<Utc>,
    granted_by: Option<String>,
    account_identifier: String,
    note: String,
    last_active_on: Option<NaiveDate>,
    usage_tier: Option<String>,
    usage_checked_at: Option<DateTime<Utc>>,
    usage_listed: Option<bool>,
}

/// An active grant as a product's page shows it.
pub struct GrantRow {
    pub id: GrantId,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_email: String,
    pub granted_at: String,
    pub granted_by: String,
    pub account_identifier: String,
    pub note: String,
    /// From the last applied usage export: a date, "never", "not in the export", or ""
    /// when no export has covered the grant.
    pub last_active: String,
    pub usage_tier: String,
    /// The same, as stored: the last active day, when an export last covered the grant,
    /// and whether it listed the holder.
    pub last_active_on: Option<NaiveDate>,
    pub usage_checked_at: Option<DateTime<Utc>>,
    pub usage_listed: Option<bool>,
}

impl From<GrantRecord> for GrantRow {
    fn from(r: GrantRecord) -> Self {
        let last_active = match (r.usage_checked_at, r.usage_listed, r.last_active_on) {
            (None, _, _) => String::new(),
            (Some(_), Some(false), _) => "not in the last export".into(),
            (Some(_), _, Some(d)) => d.to_string(),
            (Some(_), _, None) => "never".into(),
        };
        Self {
            last_active,
            usage_tier: r.usage_tier.unwrap_or_default(),
            last_active_on: r.last_active_on,
            usage_checked_at: r.usage_checked_at,
            usage_listed: r.usage_listed,
            id: r.id,
            person_id: r.person_id,
            person_name: r.person_name,
            person_email: r.person_email,
            granted_at: format_time(r.granted_at),
            granted_by: r.granted_by.unwrap_or_else(|| "—".into()),
            account_identifier: r.account_identifier,
            note: r.note,
        }
    }
}

pub struct ProductDetail {
    pub product: Product,
    pub service_name: String,
    pub admins: Vec<PersonRef>,
    pub seats_used: i64,
    pub grants: Vec<GrantRow>,
    /// With an "inactive for N days" filter: how many grants it finds.
    pub inactive: Option<i64>,
}

/// A product's page: its admins and a page of the people who have access.
pub fn product_detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ProductId,
    page: i64,
    inactive_before: Option<NaiveDate>,
) -> Result<ProductDetail, AppError> {
    let product = product_in_scope(conn, actor, id, ObjectAction::View)?;
    let service_name: String = services::table
        .find(product.service_id)
        .select(services::name)
        .first(conn)?;
    let admins = admins_of(conn, Item::Product(product.id))?;
    let seats_used = seat_counts(conn, &[product.id])?
        .get(&product.id)
        .copied()
        .unwrap_or(0);
    let granter = diesel::alias!(users as granter);
    let inactive = match inactive_before {
        None => None,
        Some(cutoff) => Some(
            access_grants::table
                .filter(access_grants::product_id.eq(product.id))
                .filter(access_grants::revoked_at.is_null())
                .filter(crate::usage::store::inactive_since(cutoff))
                .count()
                .get_result(conn)?,
        ),
    };
    let mut q = access_grants::table
        .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
        .left_join(
            granter.on(granter
                .field(users::id)
                .nullable()
                .eq(access_grants::granted_by)),
        )
        .filter(access_grants::product_id.eq(product.id))
        .filter(access_grants::revoked_at.is_null())
        .order((
            crate::db::lower(users::full_name).asc(),
            access_grants::id.asc(),
        ))
        .select((
            access_grants::id,
            users::id,
            users::full_name,
            users::email,
            access_grants::granted_at,
            granter.field(users::full_name).nullable(),
            access_grants::account_identifier,
            access_grants::note,
            access_grants::last_active_on,
            access_grants::usage_tier,
            access_grants::usage_checked_at,
            access_grants::usage_listed,
        ))
        .limit(PER_PAGE)
        .offset(Pager::offset(page))
        .into_boxed();
    if let Some(cutoff) = inactive_before {
        q = q.filter(crate::usage::store::inactive_since(cutoff));
    }
    let grants = q
        .load::<GrantRecord>(conn)?
        .into_iter()
        .map(GrantRow::from)
        .collect();
    Ok(ProductDetail {
        product,
        service_name,
        admins,
        seats_used,
        grants,
        inactive,
    })
}

/// The people `actor` may make administrators of a service or product (the login users
/// holding `role`); nobody when `actor` may not assign them.
pub fn scope_candidates(
    conn: &mut PgConnection,
    actor: &Actor,
    role: Role,
) -> Result<Vec<PersonRef>, AppError> {
    if !can(actor, Action::ManagePeople) {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::role.eq(role))
        .filter(users::is_active.eq(true))
        .select(PersonRef::as_select())
        .order(users::full_name.asc())
        .load(conn)?)
}

/// A service with all its products and their active grants, for the CSV export.
pub struct ExportedService {
    pub service: Service,
    pub products: Vec<ProductRow>,
}

#[derive(Queryable)]
struct GrantCount {
    product_id: ProductId,
    grants: i64,
}

/// The whole inventory, by name (Admins only).
pub fn inventory_export(
    conn: &mut PgConnection,
    actor: &Actor,
) -> Result<Vec<ExportedService>, AppError> {
    authorize(actor, Action::ManageServices)?;
    let all_services: Vec<Service> = services::table
        .select(Service::as_select())
        .order(crate::db::lower(services::name).asc())
        .load(conn)?;
    let used: HashMap<ProductId, i64> = access_grants::table
        .filter(access_grants::revoked_at.is_null())
        .group_by(access_grants::product_id)
        .select((access_grants::product_id, count_star()))
        .load::<GrantCount>(conn)?
        .into_iter()
        .map(|c| (c.product_id, c.grants))
        .collect();
    let mut by_service: HashMap<ServiceId, Vec<ProductRow>> = HashMap::new();
    for p in products::table
        .select(Product::as_select())
        .order(crate::db::lower(products::name).asc())
        .load::<Product>(conn)?
    {
        by_service
            .entry(p.service_id)
            .or_default()
            .push(ProductRow {
                seats_used: used.get(&p.id).copied().unwrap_or(0),
                product: p,
            });
    }
    Ok(all_services
        .into_iter()
        .map(|service| ExportedService {
            products: by_service.remove(&service.id).unwrap_or_default(),
            service,
        })
        .collect())
}

/// The estate at a glance (the Admin dashboard): active services and products, active
/// grants, and active products over their purchased seats.
#[derive(Debug, Clone, Copy, Default)]
pub struct EstateFigures {
    pub services: i64,
    pub products: i64,
    pub active_grants: i64,
    pub over_seats: i64,
}

/// The whole estate's figures (Admins only).
pub fn estate_figures(conn: &mut PgConnection, actor: &Actor) -> Result<EstateFigures, AppError> {
    authorize(actor, Action::ManageServices)?;
    // Both grant figures come from the per-product counters (migration 0011): counting
    // 100,000 grants twice per request was most of the dashboard's cost.
    let (active_grants, over_seats): (Option<i64>, i64) = products::table
        .inner_join(product_seat_counts::table)
        .select((
            sum(product_seat_counts::active_grants),
            // NULL (no seat limit recorded) is not over: FILTER treats it as false.
            count(products::id).aggregate_filter(
                products::status
                    .eq(InventoryStatus::Active)
                    .and(
                        product_seat_counts::active_grants
                            .nullable()
                            .gt(products::seats_purchased),
                    )
                    .assume_not_null(),
            ),
        ))
        .get_result(conn)?;
    Ok(EstateFigures {
        services: services::table
            .filter(services::status.eq(InventoryStatus::Active))
            .select(count_star())
            .get_result(conn)?,
        products: products::table
            .filter(products::status.eq(InventoryStatus::Active))
            .select(count_star())
            .get_result(conn)?,
        active_grants: active_grants.unwrap_or(0),
        over_seats,
    })
}

/// An active product the actor runs, with its seat use (the dashboard's "what you run").
#[derive(Debug, Clone)]
pub struct ProductSeatUse {
    pub product_id: ProductId,
    /// "Service → Product".
    pub label: String,
    pub seats_used: i64,
    pub seats_purchased: Option<i32>,
}

impl ProductSeatUse {
    pub fn is_over(&self) -> bool {
        self.seats_purchased
            .is_some_and(|p| self.seats_used > i64::from(p))
    }
}

/// Active products in the actor's scope with their active grant counts, by service and
/// product name: two queries. Admins see every product; Users none.
pub fn products_run_by(
    conn: &mut PgConnection,
    actor: &Actor,
) -> Result<Vec<ProductSeatUse>, AppError> {
    let mut q = products::table
        .inner_join(services::table)
        .filter(products::status.eq(InventoryStatus::Active))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
            products::seats_purchased,
        ))
        .order((services::name.asc(), products::name.asc()))
        .into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => {
            q = q.filter(products::service_id.eq_any(actor.scope.services.clone()))
        }
        Role::ProductAdmin => q = q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::User => return Ok(Vec::new()),
    }
    let rows: Vec<(ProductId, String, Option<i32>)> = q.load(conn)?;
    let ids: Vec<ProductId> = rows.iter().map(|r| r.0).collect();
    let used = seat_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(product_id, label, seats_purchased)| ProductSeatUse {
            seats_used: used.get(&product_id).copied().unwrap_or(0),
            product_id,
            label,
            seats_purchased,
        })
        .collect())
}
