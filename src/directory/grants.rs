//! Access grants: who has access to which product. Granting and revoking are authorized
//! here (Admins everywhere; Service Administrators on their services' products; Product
//! Administrators on their products), so every door (pages, API) gets the same rule.

use chrono::Utc;
use diesel::dsl::exists;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::authz::{authorize_on, Actor, ObjectAction};
use crate::db::lower;
use crate::db::schema::{access_grants, products, services, users};
use crate::error::{invalid, CommandError};
use crate::inventory::commands::product_object;
use crate::inventory::queries::find_product;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GrantForm {
    /// The person's email address (or their directory id, from a person's page).
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub account_identifier: String,
    #[serde(default)]
    pub note: String,
}

impl GrantForm {
    /// Empties the fields refused for holding a card number, before the form is shown again.
    pub fn clear_refused(&mut self, errors: &crate::web::forms::FieldErrors) {
        for (field, value) in [
            ("account_identifier", &mut self.account_identifier),
            ("note", &mut self.note),
            ("person", &mut self.person),
        ] {
            if errors.get(field) == crate::domain::card::REFUSAL {
                value.clear();
            }
        }
    }
}

/// Grants `product_id` to the person named in the form; returns the grant id.
pub fn grant(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
    form: &GrantForm,
) -> Result<i64, CommandError> {
    for (field, value) in [
        ("account_identifier", &form.account_identifier),
        ("note", &form.note),
        ("person", &form.person),
    ] {
        if crate::domain::card::contains_card_number(value) {
            return Err(invalid(field, crate::domain::card::REFUSAL));
        }
    }
    crate::db::transaction(conn, |conn| {
        let product = find_product(conn, product_id)?;
        authorize_on(actor, ObjectAction::Grant, product_object(&product))?;
        let service_name: String = services::table
            .find(product.service_id)
            .select(services::name)
            .first(conn)?;
        let who = form.person.trim();
        let person: Option<(i64, String, String)> = if let Ok(id) = who.parse::<i64>() {
            users::table
                .find(id)
                .select((users::id, users::full_name, users::employment_status))
                .first(conn)
                .optional()?
        } else {
            users::table
                .filter(lower(users::email).eq(who.to_lowercase()))
                .select((users::id, users::full_name, users::employment_status))
                .first(conn)
                .optional()?
        };
        let Some((user_id, full_name, status)) = person else {
            return Err(invalid(
                "person",
                "Nobody in the directory has this email address.",
            ));
        };
        if status == "offboarded" {
            return Err(invalid("person", "This person has been offboarded."));
        }
        if product.status == "archived" {
            return Err(CommandError::Refused(
                "This product is archived: restore it before granting access.".into(),
            ));
        }
        let account_identifier = form.account_identifier.trim();
        let note = form.note.trim();
        if account_identifier.chars().count() > 200 {
            return Err(invalid(
                "account_identifier",
                "The account identifier is too long (at most 200 characters).",
            ));
        }
        if note.chars().count() > 1000 {
            return Err(invalid(
                "note",
                "The note is too long (at most 1000 characters).",
            ));
        }
        let already: bool = diesel::select(exists(
            access_grants::table
                .filter(access_grants::user_id.eq(user_id))
                .filter(access_grants::product_id.eq(product_id))
                .filter(access_grants::revoked_at.is_null()),
        ))
        .get_result(conn)?;
        if already {
            return Err(invalid(
                "person",
                "This person already has access to this product.",
            ));
        }
        let id: i64 = diesel::insert_into(access_grants::table)
            .values((
                access_grants::user_id.eq(user_id),
                access_grants::product_id.eq(product_id),
                access_grants::granted_by.eq(actor.id),
                access_grants::account_identifier.eq(account_identifier),
                access_grants::note.eq(note),
            ))
            .returning(access_grants::id)
            .get_result(conn)?;
        crate::workflows::commands::on_new_grant(conn, user_id, product_id, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "grant.created", "access_grant", Some(id.to_string()))
                .summary(format!(
                    "Granted {service_name} → {} to {full_name}",
                    product.name
                ))
                .after(json!({"user_id": user_id, "product_id": product_id,
                              "account_identifier": account_identifier, "note": note})),
        )?;
        Ok(id)
    })
}

/// Revokes an active grant, keeping the record; returns (product id, person id).
pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    grant_id: i64,
    reason: &str,
) -> Result<(i64, i64), CommandError> {
    if crate::domain::card::contains_card_number(reason) {
        return Err(invalid("reason", crate::domain::card::REFUSAL));
    }
    crate::db::transaction(conn, |conn| {
        let row: Option<(i64, i64, Option<chrono::DateTime<Utc>>, String)> = access_grants::table
            .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
            .filter(access_grants::id.eq(grant_id))
            .select((
                access_grants::user_id,
                access_grants::product_id,
                access_grants::revoked_at,
                users::full_name,
            ))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((user_id, product_id, revoked_at, full_name)) = row else {
            return Err(CommandError::Other(crate::error::AppError::NotFound));
        };
        let product = find_product(conn, product_id)?;
        authorize_on(actor, ObjectAction::Grant, product_object(&product))?;
        if revoked_at.is_some() {
            return Err(CommandError::Refused(
                "This access was already revoked.".into(),
            ));
        }
        let reason = reason.trim();
        if reason.chars().count() > 1000 {
            return Err(invalid(
                "reason",
                "The reason is too long (at most 1000 characters).",
            ));
        }
        diesel::update(access_grants::table.find(grant_id))
            .set((
                access_grants::revoked_at.eq(crate::clock::now()),
                access_grants::revoked_by.eq(actor.id),
                access_grants::revoke_note.eq(reason),
            ))
            .execute(conn)?;
        let service_name: String = products::table
            .inner_join(services::table)
            .filter(products::id.eq(product_id))
            .select(services::name)
            .first(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "grant.revoked",
                "access_grant",
                Some(grant_id.to_string()),
            )
            .summary(format!(
                "Revoked {service_name} → {} from {full_name}",
                product.name
            ))
            .before(json!({"user_id": user_id, "product_id": product_id, "active": true}))
            .after(json!({"active": false, "reason": reason})),
        )?;
        Ok((product_id, user_id))
    })
}
