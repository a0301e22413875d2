//! Inventory writes: validate → authorize → change + audit (before/after) in one transaction.

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use serde_json::json;

use super::model::{ProductValues, ServiceForm};
use super::queries::{find_product, find_service, Product, Service};
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, authorize_on, Action, Actor, Object, ObjectAction, Role};
use crate::db::lower;
use crate::db::schema::{
    access_grants, billing_records, product_admins, products, service_admins, services, users,
};
use crate::error::{invalid, AppError, CommandError};

pub fn product_object(p: &Product) -> Object {
    Object::Product {
        id: p.id,
        service_id: p.service_id,
    }
}

fn service_json(s: &Service) -> serde_json::Value {
    json!({"name": s.name, "vendor": s.vendor, "category": s.category, "website": s.website,
           "description": s.description, "status": s.status})
}

fn product_json(p: &Product) -> serde_json::Value {
    json!({"service_id": p.service_id, "name": p.name, "description": p.description,
           "license_model": p.license_model, "seats_purchased": p.seats_purchased, "status": p.status})
}

fn service_name_taken(
    conn: &mut PgConnection,
    name: &str,
    except: Option<i64>,
) -> Result<bool, AppError> {
    Ok(diesel::select(exists(
        services::table
            .filter(lower(services::name).eq(lower(name)))
            .filter(services::id.ne(except.unwrap_or(-1))),
    ))
    .get_result(conn)?)
}

pub fn create_service(
    conn: &mut PgConnection,
    actor: &Actor,
    form: &ServiceForm,
) -> Result<i64, CommandError> {
    authorize(actor, Action::ManageServices)?;
    crate::db::transaction(conn, |conn| {
        if service_name_taken(conn, &form.name, None)? {
            return Err(invalid("name", "A service with this name already exists."));
        }
        let id: i64 = diesel::insert_into(services::table)
            .values((
                services::name.eq(&form.name),
                services::vendor.eq(&form.vendor),
                services::category.eq(&form.category),
                services::website.eq(&form.website),
                services::description.eq(&form.description),
            ))
            .returning(services::id)
            .get_result(conn)?;
        let created = find_service(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "service.created", "service", Some(id.to_string()))
                .summary(format!("Created service '{}'", form.name))
                .after(service_json(&created)),
        )?;
        Ok(id)
    })
}

pub fn update_service(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    form: &ServiceForm,
) -> Result<(), CommandError> {
    authorize_on(actor, ObjectAction::Edit, Object::Service(id))?;
    crate::db::transaction(conn, |conn| {
        let before = find_service(conn, id)?;
        if service_name_taken(conn, &form.name, Some(id))? {
            return Err(invalid("name", "A service with this name already exists."));
        }
        diesel::update(services::table.find(id))
            .set((
                services::name.eq(&form.name),
                services::vendor.eq(&form.vendor),
                services::category.eq(&form.category),
                services::website.eq(&form.website),
                services::description.eq(&form.description),
                services::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let after = find_service(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "service.updated", "service", Some(id.to_string()))
                .summary(format!("Edited service '{}'", after.name))
                .before(service_json(&before))
                .after(service_json(&after)),
        )?;
        Ok(())
    })
}

pub fn set_service_status(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    status: &str,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManageServices)?;
    crate::db::transaction(conn, |conn| {
        let before = find_service(conn, id)?;
        diesel::update(services::table.find(id))
            .set((
                services::status.eq(status),
                services::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let verb = if status == "archived" {
            "Archived"
        } else {
            "Restored"
        };
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                &format!("service.{status}"),
                "service",
                Some(id.to_string()),
            )
            .summary(format!("{verb} service '{}'", before.name))
            .before(json!({"status": before.status}))
            .after(json!({"status": status})),
        )?;
        Ok(())
    })
}

fn billing_count(conn: &mut PgConnection, product_ids: &[i64]) -> Result<i64, AppError> {
    Ok(billing_records::table
        .filter(billing_records::product_id.eq_any(product_ids))
        .select(count_star())
        .get_result(conn)?)
}

fn grant_count(conn: &mut PgConnection, product_ids: &[i64]) -> Result<i64, AppError> {
    Ok(access_grants::table
        .filter(access_grants::product_id.eq_any(product_ids))
        .select(count_star())
        .get_result(conn)?)
}

/// Deletes a service and its products, unless any of them has access grants (current or
/// past): those must be archived so that their history stays.
pub fn delete_service(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<String, CommandError> {
    authorize(actor, Action::ManageServices)?;
    crate::db::transaction(conn, |conn| {
        let before = find_service(conn, id)?;
        let product_ids: Vec<i64> = products::table
            .filter(products::service_id.eq(id))
            .select(products::id)
            .load(conn)?;
        let records = billing_count(conn, &product_ids)?;
        if records > 0 {
            return Err(CommandError::Refused(format!(
                "'{}' cannot be deleted: its products have {records} billing record(s). Archive it instead to keep its history.",
                before.name
            )));
        }
        let grants = grant_count(conn, &product_ids)?;
        if grants > 0 {
            return Err(CommandError::Refused(format!(
                "'{}' cannot be deleted: its products have {grants} access grant(s) on record. Archive it instead to keep its history.",
                before.name
            )));
        }
        diesel::delete(products::table.filter(products::service_id.eq(id))).execute(conn)?;
        diesel::delete(services::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "service.deleted", "service", Some(id.to_string()))
                .summary(format!(
                    "Deleted service '{}' and its {} product(s)",
                    before.name,
                    product_ids.len()
                ))
                .before(service_json(&before)),
        )?;
        Ok(before.name)
    })
}

fn product_name_taken(
    conn: &mut PgConnection,
    service_id: i64,
    name: &str,
    except: Option<i64>,
) -> Result<bool, AppError> {
    Ok(diesel::select(exists(
        products::table
            .filter(products::service_id.eq(service_id))
            .filter(lower(products::name).eq(lower(name)))
            .filter(products::id.ne(except.unwrap_or(-1))),
    ))
    .get_result(conn)?)
}

pub fn create_product(
    conn: &mut PgConnection,
    actor: &Actor,
    service_id: i64,
    v: &ProductValues,
) -> Result<i64, CommandError> {
    authorize_on(actor, ObjectAction::Edit, Object::Service(service_id))?;
    crate::db::transaction(conn, |conn| {
        let service = find_service(conn, service_id)?;
        if service.status == "archived" {
            return Err(CommandError::Refused(
                "This service is archived: restore it before adding products.".into(),
            ));
        }
        if product_name_taken(conn, service_id, &v.name, None)? {
            return Err(invalid(
                "name",
                "This service already has a product with this name.",
            ));
        }
        let id: i64 = diesel::insert_into(products::table)
            .values((
                products::service_id.eq(service_id),
                products::name.eq(&v.name),
                products::description.eq(&v.description),
                products::license_model.eq(&v.license_model),
                products::seats_purchased.eq(v.seats_purchased),
            ))
            .returning(products::id)
            .get_result(conn)?;
        let created = find_product(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "product.created", "product", Some(id.to_string()))
                .summary(format!("Created product '{} → {}'", service.name, v.name))
                .after(product_json(&created)),
        )?;
        Ok(id)
    })
}

pub fn update_product(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    v: &ProductValues,
) -> Result<(), CommandError> {
    crate::db::transaction(conn, |conn| {
        let before = find_product(conn, id)?;
        authorize_on(actor, ObjectAction::Edit, product_object(&before))?;
        if product_name_taken(conn, before.service_id, &v.name, Some(id))? {
            return Err(invalid(
                "name",
                "This service already has a product with this name.",
            ));
        }
        diesel::update(products::table.find(id))
            .set((
                products::name.eq(&v.name),
                products::description.eq(&v.description),
                products::license_model.eq(&v.license_model),
                products::seats_purchased.eq(v.seats_purchased),
                products::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let after = find_product(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "product.updated", "product", Some(id.to_string()))
                .summary(format!("Edited product '{}'", after.name))
                .before(product_json(&before))
                .after(product_json(&after)),
        )?;
        Ok(())
    })
}

pub fn set_product_status(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    status: &str,
) -> Result<(), CommandError> {
    crate::db::transaction(conn, |conn| {
        let before = find_product(conn, id)?;
        authorize_on(actor, ObjectAction::Edit, product_object(&before))?;
        diesel::update(products::table.find(id))
            .set((
                products::status.eq(status),
                products::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let verb = if status == "archived" {
            "Archived"
        } else {
            "Restored"
        };
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                &format!("product.{status}"),
                "product",
                Some(id.to_string()),
            )
            .summary(format!("{verb} product '{}'", before.name))
            .before(json!({"status": before.status}))
            .after(json!({"status": status})),
        )?;
        Ok(())
    })
}

pub fn delete_product(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<i64, CommandError> {
    crate::db::transaction(conn, |conn| {
        let before = find_product(conn, id)?;
        authorize_on(actor, ObjectAction::Edit, product_object(&before))?;
        let records = billing_count(conn, &[id])?;
        if records > 0 {
            return Err(CommandError::Refused(format!(
                "'{}' cannot be deleted: it has {records} billing record(s). Archive it instead to keep its history.",
                before.name
            )));
        }
        let grants = grant_count(conn, &[id])?;
        if grants > 0 {
            return Err(CommandError::Refused(format!(
                "'{}' cannot be deleted: it has {grants} access grant(s) on record. Archive it instead to keep its history.",
                before.name
            )));
        }
        diesel::delete(products::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "product.deleted", "product", Some(id.to_string()))
                .summary(format!("Deleted product '{}'", before.name))
                .before(product_json(&before)),
        )?;
        Ok(before.service_id)
    })
}

/// The person to add to a scope, who must hold `role`.
fn scope_candidate(
    conn: &mut PgConnection,
    user_id: i64,
    role: Role,
) -> Result<String, CommandError> {
    let row: Option<(String, String)> = users::table
        .find(user_id)
        .select((users::full_name, users::role))
        .first(conn)
        .optional()?;
    match row {
        Some((name, r)) if r == role.as_str() => Ok(name),
        Some((name, _)) => Err(CommandError::Refused(format!(
            "{name} is not a {}: change their role in the directory first.",
            role.label()
        ))),
        None => Err(CommandError::Refused("Choose a person.".into())),
    }
}

/// Adds or removes a Service Administrator of a service (Admins only).
pub fn set_service_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    service_id: i64,
    user_id: i64,
    add: bool,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let service = find_service(conn, service_id)?;
        let name = if add {
            let name = scope_candidate(conn, user_id, Role::ServiceAdmin)?;
            diesel::insert_into(service_admins::table)
                .values((
                    service_admins::user_id.eq(user_id),
                    service_admins::service_id.eq(service_id),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            name
        } else {
            diesel::delete(service_admins::table.find((user_id, service_id))).execute(conn)?;
            users::table
                .find(user_id)
                .select(users::full_name)
                .first(conn)
                .optional()?
                .unwrap_or_default()
        };
        let (action, summary) = if add {
            (
                "scope.service_admin_added",
                format!("{name} now runs service '{}'", service.name),
            )
        } else {
            (
                "scope.service_admin_removed",
                format!("{name} no longer runs service '{}'", service.name),
            )
        };
        audit::record(
            conn,
            AuditEntry::by(actor, action, "user", Some(user_id.to_string()))
                .summary(summary)
                .after(json!({"service_id": service_id, "user_id": user_id, "assigned": add})),
        )?;
        Ok(())
    })
}

/// Adds or removes a Product Administrator of a product (Admins only).
pub fn set_product_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
    user_id: i64,
    add: bool,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let product = find_product(conn, product_id)?;
        let name = if add {
            let name = scope_candidate(conn, user_id, Role::ProductAdmin)?;
            diesel::insert_into(product_admins::table)
                .values((
                    product_admins::user_id.eq(user_id),
                    product_admins::product_id.eq(product_id),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            name
        } else {
            diesel::delete(product_admins::table.find((user_id, product_id))).execute(conn)?;
            users::table
                .find(user_id)
                .select(users::full_name)
                .first(conn)
                .optional()?
                .unwrap_or_default()
        };
        let (action, summary) = if add {
            (
                "scope.product_admin_added",
                format!("{name} now runs product '{}'", product.name),
            )
        } else {
            (
                "scope.product_admin_removed",
                format!("{name} no longer runs product '{}'", product.name),
            )
        };
        audit::record(
            conn,
            AuditEntry::by(actor, action, "user", Some(user_id.to_string()))
                .summary(summary)
                .after(json!({"product_id": product_id, "user_id": user_id, "assigned": add})),
        )?;
        Ok(())
    })
}
