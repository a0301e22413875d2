//! Importing services with their products: one row per product (a row without a product
//! name describes the service only). Services are matched by name, products by name within
//! their service, both case-insensitively; empty cells keep existing values.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::json;

use super::{cell, read_csv, Outcome, RowError};
use crate::audit::{self, AuditEntry};
use crate::authz::Actor;
use crate::db::schema::{products, services};
use crate::domain::ServiceId;
use crate::error::AppError;
use crate::inventory::model::{ProductForm, ServiceForm};
use crate::inventory::queries::{Product, Service};
use crate::inventory::requests::ProductChanges;

pub const COLUMNS: &[&str] = &[
    "service_name",
    "vendor",
    "category",
    "website",
    "service_description",
    "product_name",
    "license_model",
    "seats_purchased",
    "product_description",
];

pub struct PlannedService {
    existing: Option<Service>,
    form: ServiceForm,
    changed: bool,
    products: Vec<PlannedProduct>,
}

struct PlannedProduct {
    existing: Option<Product>,
    values: ProductChanges,
    changed: bool,
}

fn err(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        row,
        field: field.into(),
        message: message.into(),
    }
}

fn or_old(new: &str, old: Option<&str>) -> String {
    if new.is_empty() {
        old.unwrap_or_default().to_string()
    } else {
        new.to_string()
    }
}

/// Checks every row against the file and the database; writes nothing.
pub fn plan(
    conn: &mut PgConnection,
    data: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Outcome, Vec<PlannedService>), AppError> {
    let (index, rows) = match read_csv(data, &["service_name"], COLUMNS) {
        Ok(v) => v,
        Err(errors) => {
            return Ok((
                Outcome {
                    errors,
                    ..Default::default()
                },
                Vec::new(),
            ))
        }
    };
    let total = rows.len();
    let existing_services: HashMap<String, Service> = services::table
        .select(Service::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.name.to_lowercase(), s))
        .collect();
    let existing_products: HashMap<(ServiceId, String), Product> = products::table
        .select(Product::as_select())
        .load(conn)?
        .into_iter()
        .map(|p| ((p.service_id, p.name.to_lowercase()), p))
        .collect();
    let mut outcome = Outcome {
        total,
        ..Default::default()
    };
    let mut planned: Vec<PlannedService> = Vec::new();
    let mut by_key: HashMap<String, (usize, usize)> = HashMap::new(); // key → (index, first row)
    let mut product_rows: HashMap<(String, String), usize> = HashMap::new();
    for (n, (line, r)) in rows.iter().enumerate() {
        let line = *line;
        progress(n + 1, total);
        let name = cell(&index, r, "service_name");
        let key = name.to_lowercase();
        if name.is_empty() {
            outcome
                .errors
                .push(err(line, "service_name", "Enter the service's name."));
            continue;
        }
        let old = existing_services.get(&key);
        let mut form = ServiceForm {
            name: old
                .map(|s| s.name.clone())
                .unwrap_or_else(|| name.to_string()),
            vendor: or_old(cell(&index, r, "vendor"), old.map(|s| s.vendor.as_str())),
            category: or_old(
                cell(&index, r, "category"),
                old.map(|s| s.category.as_str()),
            ),
            website: or_old(cell(&index, r, "website"), old.map(|s| s.website.as_str())),
            description: or_old(
                cell(&index, r, "service_description"),
                old.map(|s| s.description.as_str()),
            ),
        };
        if let Err(fields) = form.validate() {
            for (f, col) in [
                ("name", "service_name"),
                ("vendor", "vendor"),
                ("category", "category"),
                ("website", "website"),
                ("description", "service_description"),
            ] {
                if !fields.get(f).is_empty() {
                    outcome.errors.push(err(line, col, fields.get(f)));
                }
            }
            continue;
        }
        let idx = match by_key.get(&key) {
            Some((i, first)) => {
                let p = &planned[*i].form;
                let differs = [
                    (cell(&index, r, "vendor"), &p.vendor, "vendor"),
                    (cell(&index, r, "category"), &p.category, "category"),
                    (cell(&index, r, "website"), &p.website, "website"),
                    (
                        cell(&index, r, "service_description"),
                        &p.description,
                        "service_description",
                    ),
                ]
                .into_iter()
                .find(|(new, planned, _)| !new.is_empty() && new != planned);
                if let Some((_, _, col)) = differs {
                    outcome.errors.push(err(
                        line,
                        col,
                        format!("Differs from row {first} for the same service."),
                    ));
                    continue;
                }
                *i
            }
            None => {
                let changed = old.is_none_or(|s| {
                    (
                        s.vendor.as_str(),
                        s.category.as_str(),
                        s.website.as_str(),
                        s.description.as_str(),
                    ) != (
                        form.vendor.as_str(),
                        form.category.as_str(),
                        form.website.as_str(),
                        form.description.as_str(),
                    )
                });
                if old.is_none() {
                    outcome.creates += 1;
                } else if changed {
                    outcome.updates += 1;
                }
                planned.push(PlannedService {
                    existing: old.cloned(),
                    form,
                    changed,
                    products: Vec::new(),
                });
                by_key.insert(key.clone(), (planned.len() - 1, line));
                planned.len() - 1
            }
        };
        let product_name = cell(&index, r, "product_name");
        if product_name.is_empty() {
            continue;
        }
        let pkey = (key.clone(), product_name.to_lowercase());
        if let Some(first) = product_rows.insert(pkey.clone(), line) {
            outcome.errors.push(err(
                line,
                "product_name",
                format!("This product appears twice in the file (also row {first})."),
            ));
            continue;
        }
        let old_p = old.and_then(|s| existing_products.get(&(s.id, pkey.1.clone())));
        let seats = cell(&index, r, "seats_purchased");
        let mut pform = ProductForm {
            name: old_p
                .map(|p| p.name.clone())
                .unwrap_or_else(|| product_name.to_string()),
            description: or_old(
                cell(&index, r, "product_description"),
                old_p.map(|p| p.description.as_str()),
            ),
            license_model: or_old(
                &cell(&index, r, "license_model").to_lowercase(),
                Some(
                    old_p
                        .map(|p| p.license_model.as_str())
                        .unwrap_or("per_seat"),
                ),
            ),
            seats_purchased: if seats.is_empty() {
                old_p
                    .and_then(|p| p.seats_purchased)
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            } else {
                seats.to_string()
            },
            // Not a column: a re-import keeps the product's setting.
            refuse_over_seats: old_p
                .filter(|p| p.refuse_over_seats)
                .map(|_| "1".to_string()),
        };
        match pform.validate() {
            Ok(values) => {
                let changed = old_p.is_none_or(|p| {
                    (
                        p.description.as_str(),
                        p.license_model.as_str(),
                        p.seats_purchased,
                    ) != (
                        values.description.as_str(),
                        values.license_model.as_str(),
                        values.seats_purchased,
                    )
                });
                if old_p.is_none() {
                    outcome.creates += 1;
                } else if changed {
                    outcome.updates += 1;
                }
                planned[idx].products.push(PlannedProduct {
                    existing: old_p.cloned(),
                    values,
                    changed,
                });
            }
            Err(fields) => {
                for (f, col) in [
                    ("name", "product_name"),
                    ("license_model", "license_model"),
                    ("seats_purchased", "seats_purchased"),
                    ("refuse_over_seats", "seats_purchased"),
                    ("description", "product_description"),
                ] {
                    if !fields.get(f).is_empty() {
                        outcome.errors.push(err(line, col, fields.get(f)));
                    }
                }
            }
        }
    }
    outcome.errors.sort_by_key(|e| e.row);
    Ok((outcome, planned))
}

/// Writes a clean plan: call inside the commit transaction.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    planned: &[PlannedService],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), AppError> {
    let total = planned.len();
    for (n, s) in planned.iter().enumerate() {
        let f = &s.form;
        let after = json!({"name": f.name, "vendor": f.vendor, "category": f.category, "website": f.website, "description": f.description});
        let service_id = match &s.existing {
            Some(old) => {
                if s.changed {
                    diesel::update(services::table.find(old.id))
                        .set((
                            services::vendor.eq(&f.vendor),
                            services::category.eq(&f.category),
                            services::website.eq(&f.website),
                            services::description.eq(&f.description),
                            services::updated_at.eq(crate::clock::now()),
                        ))
                        .execute(conn)?;
                    audit::record(
                        conn,
                        AuditEntry::by(actor, "service.updated", "service", Some(old.id.to_string()))
                            .summary(format!("Updated service '{}' from a CSV import", f.name))
                            .before(json!({"vendor": old.vendor, "category": old.category, "website": old.website, "description": old.description}))
                            .after(after),
                    )?;
                }
                old.id.get()
            }
            None => {
                let id: i64 = diesel::insert_into(services::table)
                    .values((
                        services::name.eq(&f.name),
                        services::vendor.eq(&f.vendor),
                        services::category.eq(&f.category),
                        services::website.eq(&f.website),
                        services::description.eq(&f.description),
                    ))
                    .returning(services::id)
                    .get_result(conn)?;
                audit::record(
                    conn,
                    AuditEntry::by(actor, "service.created", "service", Some(id.to_string()))
                        .summary(format!("Created service '{}' from a CSV import", f.name))
                        .after(after),
                )?;
                id
            }
        };
        for p in &s.products {
            let v = &p.values;
            let after = json!({"service_id": service_id, "name": v.name, "description": v.description,
                               "license_model": v.license_model, "seats_purchased": v.seats_purchased});
            match &p.existing {
                Some(old) if p.changed => {
                    diesel::update(products::table.find(old.id))
                        .set((
                            products::description.eq(v.description.as_str()),
                            products::license_model.eq(v.license_model),
                            products::seats_purchased.eq(v.seats_purchased),
                            products::updated_at.eq(crate::clock::now()),
                        ))
                        .execute(conn)?;
                    audit::record(
                        conn,
                        AuditEntry::by(actor, "product.updated", "product", Some(old.id.to_string()))
                            .summary(format!("Updated product '{} → {}' from a CSV import", f.name, v.name))
                            .before(json!({"description": old.description, "license_model": old.license_model, "seats_purchased": old.seats_purchased}))
                            .after(after),
                    )?;
                }
                Some(_) => {}
                None => {
                    let id: i64 = diesel::insert_into(products::table)
                        .values((
                            products::service_id.eq(service_id),
                            products::name.eq(v.name.as_str()),
                            products::description.eq(v.description.as_str()),
                            products::license_model.eq(v.license_model),
                            products::seats_purchased.eq(v.seats_purchased),
                        ))
                        .returning(products::id)
                        .get_result(conn)?;
                    audit::record(
                        conn,
                        AuditEntry::by(actor, "product.created", "product", Some(id.to_string()))
                            .summary(format!(
                                "Created product '{} → {}' from a CSV import",
                                f.name, v.name
                            ))
                            .after(after),
                    )?;
                }
            }
        }
        progress(n + 1, total);
    }
    Ok(())
}
