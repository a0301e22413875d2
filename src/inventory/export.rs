//! The inventory as CSV: one row per product (services without products get one row),
//! in the import's column order plus status and seat use.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::db::schema::{access_grants, products, services};
use crate::error::AppResult;
use crate::inventory::queries::{Product, Service};
use crate::web::csv_out::attachment;
use crate::web::AppState;

const HEADER: &[&str] = &[
    "service_name",
    "vendor",
    "category",
    "website",
    "service_description",
    "product_name",
    "license_model",
    "seats_purchased",
    "product_description",
    "service_status",
    "product_status",
    "seats_used",
];

pub async fn inventory_csv(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageServices)?;
    let rows = crate::db::run(&state.pool, move |conn| {
        let all_services: Vec<Service> = services::table
            .select(Service::as_select())
            .order(crate::db::lower(services::name).asc())
            .load(conn)?;
        let mut by_service: HashMap<i64, Vec<Product>> = HashMap::new();
        for p in products::table
            .select(Product::as_select())
            .order(crate::db::lower(products::name).asc())
            .load::<Product>(conn)?
        {
            by_service.entry(p.service_id).or_default().push(p);
        }
        let used: HashMap<i64, i64> = access_grants::table
            .filter(access_grants::revoked_at.is_null())
            .group_by(access_grants::product_id)
            .select((access_grants::product_id, count_star()))
            .load::<(i64, i64)>(conn)?
            .into_iter()
            .collect();
        let mut rows = Vec::new();
        for s in all_services {
            let service_cells = vec![
                s.name.clone(),
                s.vendor.clone(),
                s.category.clone(),
                s.website.clone(),
                s.description.clone(),
            ];
            let prods = by_service.remove(&s.id).unwrap_or_default();
            if prods.is_empty() {
                let mut row = service_cells.clone();
                row.extend(["", "", "", ""].map(String::from));
                row.extend([s.status.clone(), String::new(), String::new()]);
                rows.push(row);
            }
            for p in prods {
                let mut row = service_cells.clone();
                row.extend([
                    p.name,
                    p.license_model,
                    p.seats_purchased.map(|n| n.to_string()).unwrap_or_default(),
                    p.description,
                    s.status.clone(),
                    p.status,
                    used.get(&p.id).copied().unwrap_or(0).to_string(),
                ]);
                rows.push(row);
            }
        }
        Ok(rows)
    })
    .await?;
    attachment("portalops-inventory.csv", HEADER, rows)
}
