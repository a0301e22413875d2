//! The inventory as CSV: one row per product (services without products get one row),
//! in the import's column order plus status and seat use.

use actix_web::{web, HttpResponse};

use crate::auth::current_user::CurrentUser;
use crate::error::AppResult;
use crate::inventory::queries;
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
    let actor = user.0;
    let inventory = crate::db::run(&state.pool, move |conn| {
        queries::inventory_export(conn, &actor)
    })
    .await?;
    let mut rows = Vec::new();
    for e in inventory {
        let s = e.service;
        let service_cells = vec![s.name, s.vendor, s.category, s.website, s.description];
        if e.products.is_empty() {
            let mut row = service_cells.clone();
            row.extend(["", "", "", ""].map(String::from));
            row.extend([s.status.to_string(), String::new(), String::new()]);
            rows.push(row);
        }
        for r in e.products {
            let p = r.product;
            let mut row = service_cells.clone();
            row.extend([
                p.name,
                p.license_model.to_string(),
                p.seats_purchased.map(|n| n.to_string()).unwrap_or_default(),
                p.description,
                s.status.to_string(),
                p.status.to_string(),
                r.seats_used.to_string(),
            ]);
            rows.push(row);
        }
    }
    attachment("portalops-inventory.csv", HEADER, rows)
}
