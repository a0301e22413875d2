//! Access grants: who has access to which product. Granting and revoking are authorized
//! here (Admins everywhere; Service Administrators on their services' products; Product
//! Administrators on their products), so every door (pages, API) gets the same rule.
//!
//! What must follow a new grant in its transaction belongs to a feature above this one
//! (workflows: a grant made during the person's open offboarding gets its own revoke task).
//! `grant` takes it as an [`AfterGrant`]; directory does not import workflows. There is no
//! implementation that does nothing, so a door cannot forget the follow-up: the API passes
//! workflows' directly, the pages (inside directory and inventory, below workflows) take it
//! from the app's data, wired once in `lib.rs`.

use chrono::Utc;
use diesel::dsl::exists;
use diesel::prelude::*;
use serde_json::json;

use super::requests::Grantee;
pub use super::requests::{NewGrant, Revoke};
use crate::audit::{self, AuditEntry};
use crate::authz::{load_product, Actor, ObjectAction};
use crate::db::lower;
use crate::db::schema::{access_grants, users};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId};
use crate::error::{invalid, AppError, CommandError};
use crate::web::forms::FieldErrors;

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
    /// The request for granting `product` (the product's page has it in its path, the
    /// person's page in the form).
    pub fn request(&self, product: ProductId) -> Result<NewGrant, FieldErrors> {
        NewGrant::new(&self.person, product, &self.account_identifier, &self.note)
    }

    /// Empties the fields refused for holding a card number, before the form is shown again.
    pub fn clear_refused(&mut self, errors: &FieldErrors) {
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

/// A grant just made: what the follow-up of [`AfterGrant`] is told.
#[derive(Debug, Clone, Copy)]
pub struct GrantMade {
    pub grant: GrantId,
    pub person: PersonId,
    pub product: ProductId,
}

/// What follows a new grant, in the grant's transaction (an error undoes the grant).
pub trait AfterGrant: Send + Sync {
    fn granted(&self, conn: &mut PgConnection, made: GrantMade) -> Result<(), AppError>;
}

/// Grants the request's product to its person, then runs `after` in the same transaction;
/// returns the grant's id.
pub fn grant(
    conn: &mut PgConnection,
    actor: &Actor,
    req: NewGrant,
    after: &dyn AfterGrant,
) -> Result<GrantId, CommandError> {
    crate::db::transaction(conn, |conn| {
        let product = load_product(conn, actor, ObjectAction::Grant, req.product)?;
        let who = users::table.select((users::id, users::full_name, users::employment_status));
        let person: Option<(PersonId, String, EmploymentStatus)> = match &req.person {
            Grantee::Id(id) => who.filter(users::id.eq(*id)).first(conn).optional()?,
            Grantee::Email(email) => who
                .filter(lower(users::email).eq(email.to_lowercase()))
                .first(conn)
                .optional()?,
            Grantee::Nobody => None,
        };
        let Some((user_id, full_name, status)) = person else {
            return Err(invalid(
                "person",
                "Nobody in the directory has this email address.",
            ));
        };
        if status == EmploymentStatus::Offboarded {
            return Err(invalid("person", "This person has been offboarded."));
        }
        if product.status.is_archived() {
            return Err(CommandError::Refused(
                "This product is archived: restore it before granting access.".into(),
            ));
        }
        let already: bool = diesel::select(exists(
            access_grants::table
                .filter(access_grants::user_id.eq(user_id))
                .filter(access_grants::product_id.eq(product.id))
                .filter(access_grants::revoked_at.is_null()),
        ))
        .get_result(conn)?;
        if already {
            return Err(invalid(
                "person",
                "This person already has access to this product.",
            ));
        }
        let (account_identifier, note) = (req.account_identifier.as_str(), req.note.as_str());
        let id: GrantId = diesel::insert_into(access_grants::table)
            .values((
                access_grants::user_id.eq(user_id),
                access_grants::product_id.eq(product.id),
                access_grants::granted_by.eq(actor.person_id()),
                access_grants::account_identifier.eq(account_identifier),
                access_grants::note.eq(note),
            ))
            .returning(access_grants::id)
            .get_result(conn)?;
        after.granted(
            conn,
            GrantMade {
                grant: id,
                person: user_id,
                product: product.id,
            },
        )?;
        audit::record(
            conn,
            AuditEntry::by(actor, "grant.created", "access_grant", Some(id.to_string()))
                .summary(format!(
                    "Granted {} → {} to {full_name}",
                    product.service_name, product.name
                ))
                .after(json!({"user_id": user_id, "product_id": product.id,
                              "account_identifier": account_identifier, "note": note})),
        )?;
        Ok(id)
    })
}

/// What a revocation ended: the grant's product and person.
#[derive(Debug, Clone, Copy)]
pub struct Revoked {
    pub product: ProductId,
    pub person: PersonId,
}

/// Revokes an active grant, keeping the record.
pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    req: Revoke,
) -> Result<Revoked, CommandError> {
    let grant_id = req.grant;
    crate::db::transaction(conn, |conn| {
        let row: Option<(PersonId, ProductId, Option<chrono::DateTime<Utc>>, String)> =
            access_grants::table
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
            return Err(CommandError::Other(AppError::NotFound));
        };
        let product = load_product(conn, actor, ObjectAction::Grant, product_id)?;
        if revoked_at.is_some() {
            return Err(CommandError::Refused(
                "This access was already revoked.".into(),
            ));
        }
        let reason = req.reason.as_str();
        diesel::update(access_grants::table.find(grant_id))
            .set((
                access_grants::revoked_at.eq(crate::clock::now()),
                access_grants::revoked_by.eq(actor.person_id()),
                access_grants::revoke_note.eq(reason),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "grant.revoked",
                "access_grant",
                Some(grant_id.to_string()),
            )
            .summary(format!(
                "Revoked {} → {} from {full_name}",
                product.service_name, product.name
            ))
            .before(json!({"user_id": user_id, "product_id": product_id, "active": true}))
            .after(json!({"active": false, "reason": reason})),
        )?;
        Ok(Revoked {
            product: product_id,
            person: user_id,
        })
    })
}
