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
pub use super::requests::{BulkGrant, BulkRevoke, NewGrant, Revoke};
use crate::audit::{self, AuditEntry};
use crate::authz::{load_product, Actor, ObjectAction, ProductFacts};
use crate::db::lower;
use crate::db::schema::{access_grants, product_seat_counts, products, users};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId, Seats};
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
    /// "Grant anyway": the person acting was told the grant goes over the purchased seats.
    #[serde(default)]
    pub over_seats: Option<String>,
}

impl GrantForm {
    /// The request for granting `product` (the product's page has it in its path, the
    /// person's page in the form).
    pub fn request(&self, product: ProductId) -> Result<NewGrant, FieldErrors> {
        let mut req = NewGrant::new(&self.person, product, &self.account_identifier, &self.note)?;
        req.over_seats = self.over_seats.as_deref().is_some_and(|v| !v.is_empty());
        Ok(req)
    }

    /// Whether "Grant anyway" was ticked.
    pub fn over_seats_ticked(&self) -> bool {
        self.over_seats.as_deref().is_some_and(|v| !v.is_empty())
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
        check_seats(conn, &product, 1, req.over_seats)?;
        insert_grant(
            conn,
            actor,
            &product,
            (user_id, &full_name),
            (req.account_identifier.as_str(), req.note.as_str()),
            None,
            after,
        )
    })
}

/// The columns a product's `Seats` are read from (it joined to its seat counter).
pub(super) fn seat_columns() -> SeatColumns {
    (
        product_seat_counts::active_grants.nullable(),
        products::seats_purchased,
        products::refuse_over_seats,
    )
}

pub(super) type SeatColumns = (
    diesel::dsl::Nullable<product_seat_counts::active_grants>,
    products::seats_purchased,
    products::refuse_over_seats,
);

/// A product's seats now.
pub fn seats_of(conn: &mut PgConnection, product: ProductId) -> Result<Seats, AppError> {
    let row: (Option<i32>, Option<i32>, bool) = products::table
        .left_join(product_seat_counts::table)
        .filter(products::id.eq(product))
        .select(seat_columns())
        .first(conn)?;
    Ok(row.into())
}

/// Refuses `adding` grants of `product` that would take it over its purchased seats unless
/// the person acting `confirmed` it, saying how many are free (keyed `over_seats`): every
/// door that grants one product asks first (a page with a "Grant anyway" tick, the API
/// with `"over_seats": true`, an onboarding task's completion). A product set to refuse
/// going over is refused whatever was confirmed (keyed `seats`).
pub fn check_seats(
    conn: &mut PgConnection,
    product: &ProductFacts,
    adding: i64,
    confirmed: bool,
) -> Result<(), CommandError> {
    let seats = seats_of(conn, product.id)?;
    let (over, Some(bought)) = (seats.over_after(adding), seats.purchased) else {
        return Ok(());
    };
    let used = seats.used;
    if over == 0 {
        return Ok(());
    }
    if seats.refuse_over {
        return Err(invalid(
            "seats",
            &format!(
                "{} → {} has {} of {bought} seats free and refuses grants beyond them: buy \
                 more seats (edit the product) or revoke a grant first.",
                product.service_name,
                product.name,
                (i64::from(bought) - used).max(0)
            ),
        ));
    }
    if confirmed {
        return Ok(());
    }
    Err(invalid(
        "over_seats",
        &format!(
            "{} → {} has {} of {bought} seats free: this takes it {over} over its purchased \
             seats. Tick “Grant anyway” to go on.",
            product.service_name,
            product.name,
            (i64::from(bought) - used).max(0)
        ),
    ))
}

/// The grant's row, the follow-up and the audit entry: what one grant and each of a bulk
/// grant's are, once their checks have passed.
pub(super) fn insert_grant(
    conn: &mut PgConnection,
    actor: &Actor,
    product: &ProductFacts,
    (user_id, full_name): (PersonId, &str),
    (account_identifier, note): (&str, &str),
    granted_at: Option<chrono::DateTime<Utc>>,
    after: &dyn AfterGrant,
) -> Result<GrantId, CommandError> {
    let id: GrantId = diesel::insert_into(access_grants::table)
        .values((
            access_grants::granted_at.eq(granted_at.unwrap_or_else(crate::clock::now)),
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
            .summary(match granted_at {
                Some(at) => format!(
                    "Granted {} → {} to {full_name} (held since {})",
                    product.service_name,
                    product.name,
                    at.date_naive()
                ),
                None => format!(
                    "Granted {} → {} to {full_name}",
                    product.service_name, product.name
                ),
            })
            .after(json!({"user_id": user_id, "product_id": product.id,
                          "account_identifier": account_identifier, "note": note,
                          "granted_at": granted_at})),
    )?;
    Ok(id)
}

pub use super::grant_batch::{BatchPlan, BatchRow, BulkOutcome, BulkPerson};
use super::grant_batch::{GrantLine, ProductRef};

/// What a product page's bulk grant would do: the batch planned, and the product's seats.
#[derive(Debug, Clone)]
pub struct BulkPlan {
    pub product: ProductFacts,
    pub batch: BatchPlan,
    /// The product's seats now.
    pub seats: Seats,
}

impl BulkPlan {
    /// The lines that would be granted.
    pub fn granted(&self) -> usize {
        self.batch.granted()
    }

    /// The lines that cannot be: each refuses the batch.
    pub fn refused(&self) -> impl Iterator<Item = &BatchRow> {
        self.batch.refused()
    }

    /// Seats over the purchased number once the grants are made (0 when within them).
    pub fn seats_over(&self) -> i64 {
        self.seats.over_after(self.granted() as i64)
    }

    /// Each refused line as a message (keyed `people.N` under `people`).
    pub fn errors(&self) -> FieldErrors {
        self.batch.errors("people", "people named")
    }
}

/// A bulk grant's lines: each person named, the one product.
fn lines_of(req: &BulkGrant) -> Vec<GrantLine> {
    req.people
        .iter()
        .map(|(given, who)| GrantLine {
            given: given.clone(),
            person: who.clone(),
            product: ProductRef::Id(req.product),
            account_identifier: Default::default(),
            note: req.note.clone(),
            granted_on: None,
        })
        .collect()
}

/// Whom each line of `req` names and what granting would do (Grant scope on the product,
/// else 404; an archived product refuses).
pub fn plan_bulk_grant(
    conn: &mut PgConnection,
    actor: &Actor,
    req: &BulkGrant,
) -> Result<BulkPlan, CommandError> {
    let product = load_product(conn, actor, ObjectAction::Grant, req.product)?;
    if product.status.is_archived() {
        return Err(CommandError::Refused(
            "This product is archived: restore it before granting access.".into(),
        ));
    }
    let batch = super::grant_batch::plan(conn, actor, lines_of(req))?;
    let seats = seats_of(conn, product.id)?;
    Ok(BulkPlan {
        product,
        batch,
        seats,
    })
}

/// Grants `req`'s product to every person it names, each its own grant with its follow-up
/// and audit entry, all in one transaction: a line that cannot be granted (unknown, left,
/// already holding it) refuses the whole batch, with every such line's reason, and so does
/// going over the purchased seats unless `req.over_seats` says the actor was told (keyed
/// `over_seats`). Returns the grants made.
pub fn grant_many(
    conn: &mut PgConnection,
    actor: &Actor,
    req: BulkGrant,
    after: &dyn AfterGrant,
) -> Result<Vec<GrantId>, CommandError> {
    crate::db::transaction(conn, |conn| {
        // The product as a whole first: out of scope is a 404, archived a refusal.
        let product = load_product(conn, actor, ObjectAction::Grant, req.product)?;
        if product.status.is_archived() {
            return Err(CommandError::Refused(
                "This product is archived: restore it before granting access.".into(),
            ));
        }
        super::grant_batch::grant_all(
            conn,
            actor,
            lines_of(&req),
            req.over_seats,
            ("people", "people named"),
            after,
        )
    })
}

/// Revokes every grant `req` names with its reason, each audited, in one transaction;
/// refused whole when one is outside the actor's scope (404), already revoked, or gone.
/// Returns what each ended.
pub fn revoke_many(
    conn: &mut PgConnection,
    actor: &Actor,
    req: BulkRevoke,
) -> Result<Vec<Revoked>, CommandError> {
    crate::db::transaction(conn, |conn| {
        let mut ended = Vec::with_capacity(req.grants.len());
        let mut errors = FieldErrors::new();
        for grant in &req.grants {
            match revoke_now(conn, actor, *grant, req.reason.as_str()) {
                Ok(r) => ended.push(r),
                Err(CommandError::Refused(m)) => errors.add(format!("grants.{grant}"), m),
                Err(e) => return Err(e),
            }
        }
        if errors.is_empty() {
            Ok(ended)
        } else {
            Err(CommandError::Invalid(errors))
        }
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
    crate::db::transaction(conn, |conn| {
        revoke_now(conn, actor, req.grant, req.reason.as_str())
    })
}

/// One revocation, in the caller's transaction.
fn revoke_now(
    conn: &mut PgConnection,
    actor: &Actor,
    grant_id: GrantId,
    reason: &str,
) -> Result<Revoked, CommandError> {
    {
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
    }
}

/// An active grant chosen for a bulk revocation, as its confirmation lists it.
#[derive(Debug, Clone, Queryable)]
pub struct RevokeChoice {
    pub grant: GrantId,
    pub person: PersonId,
    pub full_name: String,
    pub email: String,
    pub granted_at: chrono::DateTime<Utc>,
}

/// The page title for `product`'s bulk revocation and the active grants of it among `ids`
/// (Grant scope on the product, else 404); others are left out.
pub fn revoke_choices(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    ids: &[i64],
) -> Result<(String, Vec<RevokeChoice>), AppError> {
    let facts = load_product(conn, actor, ObjectAction::Grant, product)?;
    let chosen = access_grants::table
        .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
        .filter(access_grants::product_id.eq(product))
        .filter(access_grants::revoked_at.is_null())
        .filter(access_grants::id.eq_any(ids.iter().map(|i| GrantId(*i))))
        .order((users::full_name.asc(), access_grants::id.asc()))
        .select((
            access_grants::id,
            users::id,
            users::full_name,
            users::email,
            access_grants::granted_at,
        ))
        .load(conn)?;
    Ok((
        format!("Revoke access to {} → {}", facts.service_name, facts.name),
        chosen,
    ))
}
