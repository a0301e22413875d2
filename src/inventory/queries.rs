//! Inventory reads, filtered by the actor's scope in SQL. Every list page costs a fixed
//! number of queries: a count, the page, and one aggregate per column of counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::{count, count_star, exists, sum};
use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Deserialize;

use crate::authz::{Actor, Role};
use crate::db::schema::{
    access_grants, product_admins, product_seat_counts, products, service_admins, services, users,
};
use crate::error::AppError;
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
}

pub struct ServiceRow {
    pub id: i64,
    pub name: String,
    pub vendor: String,
    pub category: String,
    pub status: String,
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

/// LIKE pattern for a substring search typed by a user.
pub fn contains_pattern(s: &str) -> String {
    format!(
        "%{}%",
        s.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

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
    match f.status_or_default() {
        "all" => {}
        s => q = q.filter(services::status.eq(s.to_string())),
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
    let rows: Vec<(i64, String, String, String, String)> = q
        .select((
            services::id,
            services::name,
            services::vendor,
            services::category,
            services::status,
        ))
        .limit(limit)
        .offset(crate::web::pagination::offset(page, limit))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    // Products and seats in use per service in one pass over the page's products. Seats are
    // summed from the per-product counters: counting distinct people over every grant of 50
    // services cost 3–5 ms per request at 100,000 grants (the service page still shows them).
    let counts: HashMap<i64, (i64, i64)> = products::table
        .left_join(product_seat_counts::table)
        .filter(products::service_id.eq_any(&ids))
        .group_by(products::service_id)
        .select((
            products::service_id,
            count_star(),
            sum(product_seat_counts::active_grants.nullable()),
        ))
        .load::<(i64, i64, Option<i64>)>(conn)?
        .into_iter()
        .map(|(id, products, seats)| (id, (products, seats.unwrap_or(0))))
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
            .map(|(id, name, vendor, category, status)| ServiceRow {
                products: counts.get(&id).map_or(0, |c| c.0),
                seats_in_use: counts.get(&id).map_or(0, |c| c.1),
                id,
                name,
                vendor,
                category,
                status,
            })
            .collect(),
        total,
        categories,
    })
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = services, check_for_backend(Pg))]
pub struct Service {
    pub id: i64,
    pub name: String,
    pub vendor: String,
    pub category: String,
    pub website: String,
    pub description: String,
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

pub fn find_service(conn: &mut PgConnection, id: i64) -> Result<Service, AppError> {
    services::table
        .find(id)
        .select(Service::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = products, check_for_backend(Pg))]
pub struct Product {
    pub id: i64,
    pub service_id: i64,
    pub name: String,
    pub description: String,
    pub license_model: String,
    pub seats_purchased: Option<i32>,
    pub status: String,
}

pub fn find_product(conn: &mut PgConnection, id: i64) -> Result<Product, AppError> {
    products::table
        .find(id)
        .select(Product::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
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
pub struct PersonRef {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

pub struct ServiceDetail {
    pub service: Service,
    pub products: Vec<ProductRow>,
    pub admins: Vec<PersonRef>,
    pub people_with_access: i64,
}

/// Active grants per product, for the given products, from the trigger-kept counters
/// (migration 0011); a product missing from the map has none.
pub fn seats_used(
    conn: &mut PgConnection,
    product_ids: &[i64],
) -> Result<HashMap<i64, i64>, AppError> {
    Ok(product_seat_counts::table
        .filter(product_seat_counts::product_id.eq_any(product_ids))
        .select((
            product_seat_counts::product_id,
            product_seat_counts::active_grants,
        ))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .map(|(id, n)| (id, i64::from(n)))
        .collect())
}

/// A service page: Product Administrators see only their own products of it.
pub fn service_detail(
    conn: &mut PgConnection,
    actor: &Actor,
    service: Service,
) -> Result<ServiceDetail, AppError> {
    let mut q = products::table
        .filter(products::service_id.eq(service.id))
        .select(Product::as_select())
        .order((crate::db::lower(products::name).asc(), products::id.asc()))
        .into_boxed();
    if actor.role == Role::ProductAdmin {
        q = q.filter(products::id.eq_any(actor.scope.product_ids()));
    }
    let prods: Vec<Product> = q.load(conn)?;
    let ids: Vec<i64> = prods.iter().map(|p| p.id).collect();
    let used = seats_used(conn, &ids)?;
    let admins = service_admins::table
        .inner_join(users::table)
        .filter(service_admins::service_id.eq(service.id))
        .select((users::id, users::full_name, users::email))
        .order(users::full_name.asc())
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, full_name, email)| PersonRef {
            id,
            full_name,
            email,
        })
        .collect();
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

pub struct GrantRow {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub person_email: String,
    pub granted_at: String,
    pub granted_by: String,
    pub account_identifier: String,
    pub note: String,
}

pub struct ProductDetail {
    pub service_name: String,
    pub admins: Vec<PersonRef>,
    pub seats_used: i64,
    pub grants: Vec<GrantRow>,
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A product page: its admins and a page of the people who have access.
pub fn product_detail(
    conn: &mut PgConnection,
    product: &Product,
    page: i64,
) -> Result<ProductDetail, AppError> {
    let service_name: String = services::table
        .find(product.service_id)
        .select(services::name)
        .first(conn)?;
    let admins = product_admins::table
        .inner_join(users::table)
        .filter(product_admins::product_id.eq(product.id))
        .select((users::id, users::full_name, users::email))
        .order(users::full_name.asc())
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, full_name, email)| PersonRef {
            id,
            full_name,
            email,
        })
        .collect();
    let seats_used = seats_used(conn, &[product.id])?
        .get(&product.id)
        .copied()
        .unwrap_or(0);
    let granter = diesel::alias!(users as granter);
    let rows: Vec<(
        i64,
        i64,
        String,
        String,
        DateTime<Utc>,
        Option<String>,
        String,
        String,
    )> = access_grants::table
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
        ))
        .limit(PER_PAGE)
        .offset(Pager::offset(page))
        .load(conn)?;
    Ok(ProductDetail {
        service_name,
        admins,
        seats_used,
        grants: rows
            .into_iter()
            .map(|r| GrantRow {
                id: r.0,
                person_id: r.1,
                person_name: r.2,
                person_email: r.3,
                granted_at: format_time(r.4),
                granted_by: r.5.unwrap_or_else(|| "—".into()),
                account_identifier: r.6,
                note: r.7,
            })
            .collect(),
    })
}

/// People who may be given a role's scope: the login users holding that role.
pub fn people_with_role(conn: &mut PgConnection, role: Role) -> Result<Vec<PersonRef>, AppError> {
    Ok(users::table
        .filter(users::role.eq(role.as_str()))
        .filter(users::is_active.eq(true))
        .select((users::id, users::full_name, users::email))
        .order(users::full_name.asc())
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, full_name, email)| PersonRef {
            id,
            full_name,
            email,
        })
        .collect())
}
