//! Many grants at once, whatever shape they arrive in: one product for many people (a
//! product's page), many products for one person (a person's page, a colleague's access
//! copied), or any pairs (a grants CSV). Each line is planned against the directory and the
//! actor's scope first — whom it names, which product, what would happen — and the batch is
//! granted only when every line can be: each line its own grant with the rules and the audit
//! entry of one (`grants::insert_grant`), all in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::grants::{insert_grant, seat_columns, AfterGrant};
use super::requests::Grantee;
pub use super::requests::PersonGrants;
use crate::authz::{authorize_on, Actor, ObjectAction, ProductFacts};
use crate::db::lower;
use crate::db::schema::{access_grants, product_seat_counts, products, services, users};
use crate::domain::text::{Line, Paragraph};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId, Seats};
use crate::error::{invalid, AppError, CommandError};
use crate::web::forms::FieldErrors;

/// Which product a line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductRef {
    Id(ProductId),
    /// By its service's name and its own (compared ignoring case), as a spreadsheet has it.
    Named {
        service: String,
        product: String,
    },
}

/// One grant asked for.
#[derive(Debug, Clone)]
pub struct GrantLine {
    /// The person as given (an email address, a name from a list): what messages quote.
    pub given: String,
    pub person: Grantee,
    pub product: ProductRef,
    pub account_identifier: Line<200>,
    pub note: Paragraph<1000>,
    /// When the access began, for a grant recorded after the fact (none: now).
    pub granted_on: Option<NaiveDate>,
}

/// What a line would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOutcome {
    /// The person is given access.
    Grant,
    /// They have it already.
    Already,
    /// An earlier line of the batch grants the same product to the same person.
    Repeated,
    /// Nobody in the directory is named so.
    Unknown,
    /// They have left.
    Offboarded,
    /// No product of that name or id in the actor's scope.
    NoProduct,
    /// The product is visible to the actor, who may not grant it.
    NotYours,
    /// The product is archived.
    Archived,
    /// The product has no free seat left for it and refuses going over.
    NoSeat,
}

impl BulkOutcome {
    /// As the API and the CSV preview name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Already => "already",
            Self::Repeated => "repeated",
            Self::Unknown => "unknown",
            Self::Offboarded => "offboarded",
            Self::NoProduct => "no_product",
            Self::NotYours => "not_yours",
            Self::Archived => "archived",
            Self::NoSeat => "no_seat",
        }
    }

    /// Why a line cannot be granted (`None` for one that can).
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Grant => None,
            Self::Already => Some("already has access to this product"),
            Self::Repeated => Some("is named twice for this product"),
            Self::Unknown => Some("nobody in the directory has this email address"),
            Self::Offboarded => Some("has been offboarded"),
            Self::NoProduct => Some("there is no such product among those you administer"),
            Self::NotYours => Some("you may not grant access to this product"),
            Self::Archived => Some("the product is archived: restore it first"),
            Self::NoSeat => Some(
                "no seat is free for this line and the product refuses grants beyond its \
                 purchased seats",
            ),
        }
    }
}

/// A person a line names, as the directory has them.
#[derive(Debug, Clone, Queryable)]
pub struct BulkPerson {
    pub id: PersonId,
    pub full_name: String,
    pub email: String,
    pub status: EmploymentStatus,
}

/// A line planned: whom and what it names, and what would happen.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub line: GrantLine,
    pub person: Option<BulkPerson>,
    pub product: Option<ProductFacts>,
    pub outcome: BulkOutcome,
}

impl BatchRow {
    /// "Ada Chen (ada@example.com) → GitHub → Enterprise", as far as it is known.
    pub fn describe(&self) -> String {
        let who = match &self.person {
            Some(p) if !p.email.eq_ignore_ascii_case(&self.line.given) => {
                format!("{} ({})", p.full_name, self.line.given)
            }
            Some(p) => format!("{} ({})", p.full_name, p.email),
            None => self.line.given.clone(),
        };
        let what = match (&self.product, &self.line.product) {
            (Some(p), _) => format!("{} → {}", p.service_name, p.name),
            (None, ProductRef::Named { service, product }) => format!("{service} → {product}"),
            (None, ProductRef::Id(id)) => format!("product #{id}"),
        };
        format!("{who}, {what}")
    }
}

/// A product the batch grants, with its seats.
#[derive(Debug, Clone)]
pub struct SeatUse {
    pub product: ProductFacts,
    /// Its seats now.
    pub seats: Seats,
    /// Grants this batch adds.
    pub adding: i64,
}

impl SeatUse {
    /// Seats over the purchased number once the batch is granted (0 within them).
    pub fn over_by(&self) -> i64 {
        self.seats.over_after(self.adding)
    }

    /// Seats free now (none: not counted by seat).
    pub fn free(&self) -> Option<i64> {
        self.seats.free()
    }
}

/// What a batch would do, before it does it (its preview, and its check).
#[derive(Debug, Clone, Default)]
pub struct BatchPlan {
    pub rows: Vec<BatchRow>,
    /// Each product some line grants, in the order first named.
    pub seats: Vec<SeatUse>,
}

impl BatchPlan {
    /// The lines that would be granted.
    pub fn granted(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome == BulkOutcome::Grant)
            .count()
    }

    /// The lines that cannot be: each refuses the batch.
    pub fn refused(&self) -> impl Iterator<Item = &BatchRow> {
        self.rows.iter().filter(|r| r.outcome != BulkOutcome::Grant)
    }

    /// The products the batch takes over their purchased seats.
    pub fn over_seats(&self) -> impl Iterator<Item = &SeatUse> {
        self.seats.iter().filter(|s| s.over_by() > 0)
    }

    /// The batch without the lines that cannot be granted (a line's outcome depends only on
    /// the lines before it, so the rest keep theirs).
    pub fn without_refused(mut self) -> Self {
        self.rows.retain(|r| r.outcome == BulkOutcome::Grant);
        self
    }

    /// Each refused line as a message keyed `{key}.N` (N counted from 1), under a summary
    /// keyed `key` that counts the lines as `lines` ("people named"): what the batch is
    /// refused for.
    pub fn errors(&self, key: &str, lines: &str) -> FieldErrors {
        let mut e = FieldErrors::new();
        let refused = self.refused().count();
        if refused > 0 {
            e.add(
                key.to_string(),
                format!(
                    "{refused} of the {} {lines} cannot be granted: nothing was granted. \
                     Correct or remove {}.",
                    self.rows.len(),
                    if refused == 1 { "it" } else { "them" }
                ),
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            if let Some(why) = row.outcome.refusal() {
                e.add(
                    format!("{key}.{}", i + 1),
                    format!("{}: {why}.", row.describe()),
                );
            }
        }
        e
    }

    /// The refusal for going over seats (keyed `over_seats`), unless confirmed.
    pub fn seat_refusal(&self, confirmed: bool) -> Option<FieldErrors> {
        let over: Vec<String> = self
            .over_seats()
            .map(|s| {
                format!(
                    "{} → {} by {}",
                    s.product.service_name,
                    s.product.name,
                    s.over_by()
                )
            })
            .collect();
        if over.is_empty() || confirmed {
            return None;
        }
        let mut e = FieldErrors::new();
        e.add(
            "over_seats",
            format!(
                "This goes over the purchased seats of {}: confirm to grant anyway.",
                over.join(", ")
            ),
        );
        Some(e)
    }
}

/// Plans `lines`: one statement each for the products, the people, their current access
/// and the seats, however many lines there are. Products outside the actor's Grant scope
/// are refused per line, never confirmed to exist.
pub fn plan(
    conn: &mut PgConnection,
    actor: &Actor,
    lines: Vec<GrantLine>,
) -> Result<BatchPlan, AppError> {
    let products = find_products(conn, &lines)?;
    let ids: Vec<PersonId> = lines
        .iter()
        .filter_map(|l| match &l.person {
            Grantee::Id(id) => Some(*id),
            _ => None,
        })
        .collect();
    let emails: Vec<String> = lines
        .iter()
        .filter_map(|l| match &l.person {
            Grantee::Email(e) => Some(e.as_str().to_lowercase()),
            _ => None,
        })
        .collect();
    let people: Vec<BulkPerson> = users::table
        .filter(
            users::id
                .eq_any(&ids)
                .or(lower(users::email).eq_any(&emails)),
        )
        .select((
            users::id,
            users::full_name,
            users::email,
            users::employment_status,
        ))
        .load(conn)?;
    let product_ids: Vec<ProductId> = products.iter().map(|p| p.id).collect();
    let holders: HashSet<(PersonId, ProductId)> = access_grants::table
        .filter(access_grants::revoked_at.is_null())
        .filter(access_grants::user_id.eq_any(people.iter().map(|p| p.id)))
        .filter(access_grants::product_id.eq_any(&product_ids))
        .select((access_grants::user_id, access_grants::product_id))
        .load::<(PersonId, ProductId)>(conn)?
        .into_iter()
        .collect();
    let counts: HashMap<ProductId, Seats> = products::table
        .left_join(product_seat_counts::table)
        .filter(products::id.eq_any(&product_ids))
        .select((products::id, seat_columns()))
        .load::<(ProductId, (Option<i32>, Option<i32>, bool))>(conn)?
        .into_iter()
        .map(|(id, seats)| (id, seats.into()))
        .collect();

    // Looked up by id and by lower-case email: a CSV of thousands of rows stays linear.
    let by_id: HashMap<PersonId, &BulkPerson> = people.iter().map(|p| (p.id, p)).collect();
    let by_email: HashMap<String, &BulkPerson> =
        people.iter().map(|p| (p.email.to_lowercase(), p)).collect();
    let mut seen: HashSet<(PersonId, ProductId)> = HashSet::new();
    let mut seats: Vec<SeatUse> = Vec::new();
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let person = match &line.person {
            Grantee::Id(id) => by_id.get(id),
            Grantee::Email(e) => by_email.get(&e.as_str().to_lowercase()),
            Grantee::Nobody => None,
        }
        .map(|p| (*p).clone());
        let product = products.iter().find(|p| names(&line.product, p)).cloned();
        let outcome = match (&person, &product) {
            (None, _) => BulkOutcome::Unknown,
            (Some(p), _) if p.status == EmploymentStatus::Offboarded => BulkOutcome::Offboarded,
            (_, None) => BulkOutcome::NoProduct,
            (Some(_), Some(pr)) => match authorize_on(actor, ObjectAction::Grant, pr.object()) {
                Err(AppError::Forbidden) => BulkOutcome::NotYours,
                Err(_) => BulkOutcome::NoProduct,
                Ok(()) if pr.status.is_archived() => BulkOutcome::Archived,
                Ok(()) => BulkOutcome::Grant,
            },
        };
        let outcome = match (outcome, &person, &product) {
            (BulkOutcome::Grant, Some(p), Some(pr)) => {
                let pair = (p.id, pr.id);
                if holders.contains(&pair) {
                    BulkOutcome::Already
                } else if seen.contains(&pair) {
                    BulkOutcome::Repeated
                } else {
                    seen.insert(pair);
                    let at = match seats.iter().position(|s| s.product.id == pr.id) {
                        Some(at) => at,
                        None => {
                            seats.push(SeatUse {
                                product: pr.clone(),
                                seats: counts.get(&pr.id).copied().unwrap_or_default(),
                                adding: 0,
                            });
                            seats.len() - 1
                        }
                    };
                    let use_ = &mut seats[at];
                    // The seats left go to the lines in their order; the rest are refused.
                    if use_.seats.refuses(use_.adding + 1) {
                        BulkOutcome::NoSeat
                    } else {
                        use_.adding += 1;
                        BulkOutcome::Grant
                    }
                }
            }
            (other, _, _) => other,
        };
        rows.push(BatchRow {
            line,
            person,
            // A product the actor may not see stays unnamed.
            product: product.filter(|_| outcome != BulkOutcome::NoProduct),
            outcome,
        });
    }
    Ok(BatchPlan { rows, seats })
}

/// Whether `r` names `p`.
fn names(r: &ProductRef, p: &ProductFacts) -> bool {
    match r {
        ProductRef::Id(id) => p.id == *id,
        ProductRef::Named { service, product } => {
            p.service_name.trim().eq_ignore_ascii_case(service.trim())
                && p.name.trim().eq_ignore_ascii_case(product.trim())
        }
    }
}

/// The products the lines name, whoever may see them (scope is decided per line).
fn find_products(
    conn: &mut PgConnection,
    lines: &[GrantLine],
) -> Result<Vec<ProductFacts>, AppError> {
    let mut ids: Vec<ProductId> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for l in lines {
        match &l.product {
            ProductRef::Id(id) if !ids.contains(id) => ids.push(*id),
            ProductRef::Named { service, product } => {
                named.push(format!(
                    "{}\u{1f}{}",
                    service.trim().to_lowercase(),
                    product.trim().to_lowercase()
                ));
            }
            ProductRef::Id(_) => {}
        }
    }
    if ids.is_empty() && named.is_empty() {
        return Ok(Vec::new());
    }
    named.sort();
    named.dedup();
    let key = lower(services::name)
        .concat("\u{1f}")
        .concat(lower(products::name));
    Ok(products::table
        .inner_join(services::table)
        .filter(products::id.eq_any(&ids).or(key.eq_any(&named)))
        .select(ProductFacts::as_select())
        .load(conn)?)
}

/// Grants every line of `lines`, each its own grant with its follow-up and audit entry, all
/// in one transaction. A line that cannot be granted refuses the batch, with every such
/// line's reason (keyed `{key}.N` under `key`, which counts the lines as `noun`); so does going over a product's purchased
/// seats unless `over_seats` says the actor was told (keyed `over_seats`). Returns the
/// grants made, in the lines' order.
pub fn grant_all(
    conn: &mut PgConnection,
    actor: &Actor,
    lines: Vec<GrantLine>,
    over_seats: bool,
    (key, noun): (&str, &str),
    after: &dyn AfterGrant,
) -> Result<Vec<GrantId>, CommandError> {
    crate::db::transaction(conn, |conn| {
        let plan = plan(conn, actor, lines.clone())?;
        let errors = plan.errors(key, noun);
        if !errors.is_empty() {
            return Err(CommandError::Invalid(errors));
        }
        if let Some(errors) = plan.seat_refusal(over_seats) {
            return Err(CommandError::Invalid(errors));
        }
        apply(conn, actor, &plan, after)
    })
}

/// Makes the grants of a clean plan: call inside the transaction that planned it.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    plan: &BatchPlan,
    after: &dyn AfterGrant,
) -> Result<Vec<GrantId>, CommandError> {
    let mut made = Vec::with_capacity(plan.rows.len());
    for row in &plan.rows {
        let (Some(p), Some(product), BulkOutcome::Grant) = (&row.person, &row.product, row.outcome)
        else {
            return Err(invalid("lines", "A line of the batch cannot be granted."));
        };
        let granted_at: Option<DateTime<Utc>> = row
            .line
            .granted_on
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        made.push(insert_grant(
            conn,
            actor,
            product,
            (p.id, &p.full_name),
            (row.line.account_identifier.as_str(), row.line.note.as_str()),
            granted_at,
            after,
        )?);
    }
    Ok(made)
}

/// What granting a `PersonGrants` would do.
#[derive(Debug, Clone)]
pub struct PersonPlan {
    pub person: BulkPerson,
    pub colleague: Option<BulkPerson>,
    /// The lines to grant (each refused line refuses the batch).
    pub batch: BatchPlan,
    /// Products asked for or copied that the person holds already: shown, left as they are.
    pub already: Vec<BatchRow>,
}

/// Plans `req`: the person must be in the directory (404), a colleague named must be too
/// (keyed `colleague`); the colleague's products the actor may not grant are left out.
pub fn plan_for_person(
    conn: &mut PgConnection,
    actor: &Actor,
    req: &PersonGrants,
) -> Result<PersonPlan, CommandError> {
    let who = (
        users::id,
        users::full_name,
        users::email,
        users::employment_status,
    );
    let person: BulkPerson = users::table
        .find(req.person)
        .select(who)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let mut products = req.products.clone();
    let colleague = match &req.colleague {
        None => None,
        Some((_, grantee)) => {
            let found: Option<BulkPerson> = match grantee {
                Grantee::Id(id) => users::table.find(*id).select(who).first(conn).optional()?,
                Grantee::Email(e) => users::table
                    .filter(lower(users::email).eq(e.as_str().to_lowercase()))
                    .select(who)
                    .first(conn)
                    .optional()?,
                Grantee::Nobody => None,
            };
            let Some(c) = found else {
                return Err(invalid(
                    "colleague",
                    "Nobody in the directory has this email address.",
                ));
            };
            if c.id == person.id {
                return Err(invalid(
                    "colleague",
                    "Choose someone else: this is the person whose access you are setting.",
                ));
            }
            let held: Vec<ProductFacts> = access_grants::table
                .inner_join(products::table.inner_join(services::table))
                .filter(access_grants::user_id.eq(c.id))
                .filter(access_grants::revoked_at.is_null())
                .order((lower(services::name).asc(), lower(products::name).asc()))
                .select(ProductFacts::as_select())
                .load(conn)?;
            for p in held {
                let mine = authorize_on(actor, ObjectAction::Grant, p.object()).is_ok();
                if mine && !p.status.is_archived() && !products.contains(&p.id) {
                    products.push(p.id);
                }
            }
            Some(c)
        }
    };
    let lines = products
        .iter()
        .map(|id| GrantLine {
            given: person.email.clone(),
            person: Grantee::Id(person.id),
            product: ProductRef::Id(*id),
            account_identifier: Line::default(),
            note: req.note.clone(),
            granted_on: None,
        })
        .collect();
    let mut batch = plan(conn, actor, lines)?;
    let (already, rows) = batch
        .rows
        .into_iter()
        .partition(|r| r.outcome == BulkOutcome::Already);
    batch.rows = rows;
    Ok(PersonPlan {
        person,
        colleague,
        batch,
        already,
    })
}

/// Grants what `req` asks for that the person does not hold yet, each its own audited
/// grant, all in one transaction; refused whole (keyed `products.N` under `products`, or
/// `over_seats`) as a product page's batch is. Returns the grants made.
pub fn grant_for_person(
    conn: &mut PgConnection,
    actor: &Actor,
    req: &PersonGrants,
    after: &dyn AfterGrant,
) -> Result<Vec<GrantId>, CommandError> {
    crate::db::transaction(conn, |conn| {
        let plan = plan_for_person(conn, actor, req)?;
        if plan.batch.rows.is_empty() {
            return Err(invalid(
                "products",
                if plan.already.is_empty() {
                    "Choose at least one product, or a colleague whose access to copy."
                } else {
                    "They already have every product asked for: nothing to grant."
                },
            ));
        }
        let errors = plan.batch.errors("products", "products");
        if !errors.is_empty() {
            return Err(CommandError::Invalid(errors));
        }
        if let Some(errors) = plan.batch.seat_refusal(req.over_seats) {
            return Err(CommandError::Invalid(errors));
        }
        apply(conn, actor, &plan.batch, after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(id: i64, service: &str, name: &str) -> ProductFacts {
        ProductFacts {
            id: ProductId(id),
            service_id: crate::domain::ServiceId(1),
            name: name.into(),
            status: crate::domain::InventoryStatus::Active,
            service_name: service.into(),
        }
    }

    #[test]
    fn a_product_is_named_by_id_or_by_its_names_ignoring_case_and_spaces() {
        let p = facts(7, "GitHub", "Enterprise");
        assert!(names(&ProductRef::Id(ProductId(7)), &p));
        assert!(!names(&ProductRef::Id(ProductId(8)), &p));
        let named = |s: &str, n: &str| ProductRef::Named {
            service: s.into(),
            product: n.into(),
        };
        assert!(names(&named(" github ", "ENTERPRISE"), &p));
        assert!(!names(&named("GitHub", "Team"), &p));
        assert!(!names(&named("GitLab", "Enterprise"), &p));
    }

    #[test]
    fn seats_over_count_only_what_the_batch_adds_beyond_the_purchase() {
        let mut s = SeatUse {
            product: facts(1, "S", "P"),
            seats: Seats {
                used: 8,
                purchased: Some(10),
                refuse_over: false,
            },
            adding: 2,
        };
        assert_eq!(s.over_by(), 0);
        assert_eq!(s.free(), Some(2));
        s.adding = 5;
        assert_eq!(s.over_by(), 3);
        s.seats.purchased = None;
        assert_eq!(s.over_by(), 0, "not counted by seat: never over");
        assert_eq!(s.free(), None);
    }
}
