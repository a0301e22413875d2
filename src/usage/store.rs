//! Usage imports in the database: stored on upload (with the columns guessed), their
//! mapping changed, their dry run computed against the product's grants as they are now,
//! and applied — every matched grant's last active date and tier, every absent holder
//! marked — in one transaction with its audit entry. Who may: whoever may grant the
//! product (`authz::load_product` with `Grant`), so a product outside one's scope is 404.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::evidence::{self, Directory, DryRun, Export, Holder, Mapping, Person};
use crate::audit::{self, AuditEntry};
use crate::authz::{load_product, Actor, ObjectAction, ProductFacts};
use crate::db::schema::{access_grants, usage_imports, users};
use crate::domain::{DateFormat, EmploymentStatus, ProductId, UsageImportStatus};
use crate::error::{AppError, CommandError};

/// The "inactive for N days" filter: grants an applied usage export covered whose holder
/// was not in it, never active, or last active before `cutoff`.
#[diesel::dsl::auto_type]
pub fn inactive_since(cutoff: NaiveDate) -> _ {
    access_grants::usage_checked_at
        .is_not_null()
        .nullable()
        .and(
            access_grants::usage_listed
                .eq(false)
                .or(access_grants::last_active_on.is_null().nullable())
                .or(access_grants::last_active_on.lt(cutoff)),
        )
}

/// An import as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = usage_imports, check_for_backend(diesel::pg::Pg))]
pub struct UsageImport {
    pub id: i64,
    pub product_id: ProductId,
    pub filename: String,
    pub csv_data: String,
    pub email_column: Option<String>,
    pub last_active_column: Option<String>,
    pub tier_column: Option<String>,
    pub date_format: DateFormat,
    pub status: UsageImportStatus,
    pub uploaded_by_label: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub total_rows: i32,
    pub matched: i32,
    pub unmatched: i32,
    pub absent: i32,
}

impl UsageImport {
    pub fn mapping(&self) -> Mapping {
        Mapping {
            email: self.email_column.clone(),
            last_active: self.last_active_column.clone(),
            tier: self.tier_column.clone(),
            date_format: self.date_format,
        }
    }
}

/// The product's imports, newest first (at most 50), for whoever may grant it.
pub fn history(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
) -> Result<(ProductFacts, Vec<UsageImport>), AppError> {
    let facts = load_product(conn, actor, ObjectAction::Grant, product)?;
    let rows = usage_imports::table
        .filter(usage_imports::product_id.eq(product))
        .order((usage_imports::created_at.desc(), usage_imports::id.desc()))
        .select(UsageImport::as_select())
        .limit(50)
        .load(conn)?;
    Ok((facts, rows))
}

/// One import of the product (404 when it is another product's, or out of scope).
pub fn get(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    id: i64,
) -> Result<(ProductFacts, UsageImport), AppError> {
    let facts = load_product(conn, actor, ObjectAction::Grant, product)?;
    let row = usage_imports::table
        .filter(usage_imports::id.eq(id))
        .filter(usage_imports::product_id.eq(product))
        .select(UsageImport::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    Ok((facts, row))
}

/// What matching needs from the database, for the product's active grants and the
/// emails of `export` (one statement each, whatever the export's size).
pub fn directory(
    conn: &mut PgConnection,
    product: ProductId,
    export: &Export,
    mapping: &Mapping,
) -> Result<Directory, AppError> {
    let holders: Vec<(i64, i64, String)> = access_grants::table
        .filter(access_grants::product_id.eq(product))
        .filter(access_grants::revoked_at.is_null())
        .select((
            access_grants::id,
            access_grants::user_id,
            access_grants::account_identifier,
        ))
        .load(conn)?;
    let column = mapping
        .email
        .as_ref()
        .and_then(|n| export.headers.iter().position(|h| h == n));
    let keys: Vec<String> = match column {
        None => Vec::new(),
        Some(i) => export
            .rows
            .iter()
            .filter_map(|(_, cells)| cells.get(i))
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .collect(),
    };
    // Aliases: the other emails the identity provider sent for someone.
    let aliases: Vec<(i64, String)> = diesel::sql_query(
        "SELECT s.user_id AS user_id, lower(e->>'value') AS email \
         FROM scim_users s, jsonb_array_elements(coalesce(s.emails, '[]'::jsonb)) e \
         WHERE lower(e->>'value') = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&keys)
    .load::<AliasRow>(conn)?
    .into_iter()
    .map(|r| (r.user_id, r.email))
    .collect();
    let mut ids: Vec<i64> = holders.iter().map(|h| h.1).collect();
    ids.extend(aliases.iter().map(|a| a.0));
    let people: Vec<(i64, String, String, EmploymentStatus, Option<NaiveDate>)> = users::table
        .filter(
            crate::db::lower(users::email)
                .eq_any(&keys)
                .or(users::id.eq_any(&ids)),
        )
        .select((
            users::id,
            users::full_name,
            users::email,
            users::employment_status,
            users::end_date,
        ))
        .load(conn)?;
    let mut dir = Directory::default();
    for (id, name, email, status, end_date) in people {
        dir.by_email.insert(email.to_lowercase(), id);
        dir.people.insert(
            id,
            Person {
                id,
                name,
                email,
                status,
                end_date,
            },
        );
    }
    for (id, email) in aliases {
        if dir
            .people
            .get(&id)
            .is_some_and(|p| p.email.to_lowercase() != email)
        {
            dir.by_alias.insert(email, id);
        }
    }
    dir.holders = holders
        .into_iter()
        .map(|(grant_id, person_id, account)| Holder {
            grant_id,
            person_id,
            account: Some(account).filter(|a| !a.trim().is_empty()),
        })
        .collect();
    Ok(dir)
}

#[derive(QueryableByName)]
struct AliasRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    user_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
}

/// The dry run of `import` against the grants as they are now.
pub fn dry_run(
    conn: &mut PgConnection,
    import: &UsageImport,
) -> Result<(Export, Directory, Result<DryRun, String>), AppError> {
    let export = evidence::read(&import.csv_data).map_err(AppError::BadRequest)?;
    let mapping = import.mapping();
    let dir = directory(conn, import.product_id, &export, &mapping)?;
    let run = evidence::match_rows(&export, &mapping, &dir);
    Ok((export, dir, run))
}

/// Stores an upload (already screened for card numbers, and readable CSV) with the columns
/// its headers suggest; its counts from a first dry run.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    filename: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<i64, CommandError> {
    load_product(conn, actor, ObjectAction::Grant, product)?;
    let export = evidence::read(text).map_err(|m| crate::error::invalid("file", &m))?;
    let mapping = evidence::guess(&export.headers);
    crate::db::transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(usage_imports::table)
            .values((
                usage_imports::product_id.eq(product),
                usage_imports::filename.eq(filename),
                usage_imports::csv_data.eq(text),
                usage_imports::email_column.eq(&mapping.email),
                usage_imports::last_active_column.eq(&mapping.last_active),
                usage_imports::tier_column.eq(&mapping.tier),
                usage_imports::uploaded_by.eq(actor.person_id()),
                usage_imports::uploaded_by_label.eq(&actor.username),
                usage_imports::created_at.eq(now),
            ))
            .returning(usage_imports::id)
            .get_result(conn)?;
        let dir = directory(conn, product, &export, &mapping)?;
        count(conn, id, &export, &mapping, &dir)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "usage.uploaded",
                "product",
                Some(product.to_string()),
            )
            .summary(format!(
                "Uploaded the usage export {filename:?} ({} rows) for a dry run",
                export.rows.len()
            ))
            .after(json!({"usage_import_id": id})),
        )?;
        Ok(id)
    })
}

/// Keeps the dry run's counts on the import (the list shows them).
fn count(
    conn: &mut PgConnection,
    id: i64,
    export: &Export,
    mapping: &Mapping,
    dir: &Directory,
) -> Result<(), AppError> {
    let (matched, unmatched, absent) = match evidence::match_rows(export, mapping, dir) {
        Ok(run) => (run.matched.len(), run.unmatched.len(), run.absent.len()),
        Err(_) => (0, 0, dir.holders.len()),
    };
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    diesel::update(usage_imports::table.find(id))
        .set((
            usage_imports::total_rows.eq(n(export.rows.len())),
            usage_imports::matched.eq(n(matched)),
            usage_imports::unmatched.eq(n(unmatched)),
            usage_imports::absent.eq(n(absent)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A mapping chosen on the dry-run page: each column one of the file's headers.
pub fn set_mapping(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    id: i64,
    mapping: Mapping,
) -> Result<(), CommandError> {
    crate::db::transaction(conn, |conn| {
        let (_, import) = get(conn, actor, product, id)?;
        if import.status != UsageImportStatus::Preview {
            return Err(CommandError::Refused(
                "This export was already applied or discarded: upload it again to change it."
                    .into(),
            ));
        }
        let export = evidence::read(&import.csv_data).map_err(AppError::BadRequest)?;
        let mut e = crate::domain::FieldErrors::new();
        for (field, column) in [
            ("email_column", &mapping.email),
            ("last_active_column", &mapping.last_active),
            ("tier_column", &mapping.tier),
        ] {
            if column.as_ref().is_some_and(|c| !export.headers.contains(c)) {
                e.add(field, "Choose one of the file's columns.");
            }
        }
        if mapping.email.is_none() {
            e.add(
                "email_column",
                "Choose the column that holds each user's email or account.",
            );
        }
        if !e.is_empty() {
            return Err(CommandError::Invalid(e));
        }
        diesel::update(usage_imports::table.find(id))
            .set((
                usage_imports::email_column.eq(&mapping.email),
                usage_imports::last_active_column.eq(&mapping.last_active),
                usage_imports::tier_column.eq(&mapping.tier),
                usage_imports::date_format.eq(mapping.date_format),
            ))
            .execute(conn)?;
        let dir = directory(conn, product, &export, &mapping)?;
        count(conn, id, &export, &mapping, &dir)?;
        Ok(())
    })
}

/// What applying did.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    pub matched: usize,
    pub absent: usize,
}

/// Applies the dry run as it stands now (grants revoked since are left out): the matched
/// grants get the export's last active date — never an older one than they have — and
/// tier; the absent holders are marked as not listed. The file is emptied. Once: a second
/// apply (or one racing it) is refused.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Applied, CommandError> {
    crate::db::transaction(conn, |conn| {
        load_product(conn, actor, ObjectAction::Grant, product)?;
        let import: UsageImport = usage_imports::table
            .filter(usage_imports::id.eq(id))
            .filter(usage_imports::product_id.eq(product))
            .select(UsageImport::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if import.status != UsageImportStatus::Preview {
            return Err(CommandError::Refused(format!(
                "This export was already {}.",
                import.status.label().to_lowercase()
            )));
        }
        let (_, _, run) = dry_run(conn, &import)?;
        let run = run.map_err(|m| crate::error::invalid("email_column", &m))?;
        // The grants, locked in id order (a revoke at the same moment waits, or goes first
        // and its grant is left out).
        let mut ids: Vec<i64> = run.matched.iter().map(|m| m.grant_id).collect();
        ids.extend(run.absent.iter().map(|(g, _)| *g));
        ids.sort_unstable();
        let live: Vec<i64> = access_grants::table
            .filter(access_grants::id.eq_any(&ids))
            .filter(access_grants::revoked_at.is_null())
            .order(access_grants::id.asc())
            .select(access_grants::id)
            .for_update()
            .load(conn)?;
        let matched: Vec<_> = run
            .matched
            .iter()
            .filter(|m| live.binary_search(&m.grant_id).is_ok())
            .collect();
        let absent: Vec<i64> = run
            .absent
            .iter()
            .map(|(g, _)| *g)
            .filter(|g| live.binary_search(g).is_ok())
            .collect();
        let grant_ids: Vec<i64> = matched.iter().map(|m| m.grant_id).collect();
        let days: Vec<Option<NaiveDate>> = matched.iter().map(|m| m.day).collect();
        let tiers: Vec<Option<String>> = matched.iter().map(|m| m.tier.clone()).collect();
        let keep_tier = import.tier_column.is_some();
        diesel::sql_query(
            "UPDATE access_grants g SET \
               last_active_on = CASE WHEN u.day IS NULL THEN g.last_active_on \
                                     ELSE greatest(g.last_active_on, u.day) END, \
               usage_tier = CASE WHEN $4 THEN u.tier ELSE g.usage_tier END, \
               usage_checked_at = $5, usage_listed = TRUE \
             FROM unnest($1::bigint[], $2::date[], $3::text[]) AS u(id, day, tier) \
             WHERE g.id = u.id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&grant_ids)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Date>>, _>(
            &days,
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Text>>, _>(
            &tiers,
        )
        .bind::<diesel::sql_types::Bool, _>(keep_tier)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .execute(conn)?;
        diesel::update(access_grants::table.filter(access_grants::id.eq_any(&absent)))
            .set((
                access_grants::usage_checked_at.eq(now),
                access_grants::usage_listed.eq(false),
            ))
            .execute(conn)?;
        let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        diesel::update(usage_imports::table.find(id))
            .set((
                usage_imports::status.eq(UsageImportStatus::Applied),
                usage_imports::finished_at.eq(now),
                usage_imports::csv_data.eq(""),
                usage_imports::matched.eq(n(matched.len())),
                usage_imports::unmatched.eq(n(run.unmatched.len())),
                usage_imports::absent.eq(n(absent.len())),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "usage.applied", "product", Some(product.to_string()))
                .summary(format!(
                    "Applied the usage export {:?}: last active dates for {} grant(s), {} \
                     holder(s) not in it, {} row(s) not matched",
                    import.filename,
                    matched.len(),
                    absent.len(),
                    run.unmatched.len()
                ))
                .after(json!({
                    "usage_import_id": id,
                    "matched": matched.len(),
                    "absent": absent.len(),
                    "unmatched": run.unmatched.len(),
                })),
        )?;
        Ok(Applied {
            matched: matched.len(),
            absent: absent.len(),
        })
    })
}

/// Discards a dry run (its file is emptied), audited.
pub fn discard(
    conn: &mut PgConnection,
    actor: &Actor,
    product: ProductId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    crate::db::transaction(conn, |conn| {
        load_product(conn, actor, ObjectAction::Grant, product)?;
        let changed = diesel::update(
            usage_imports::table
                .filter(usage_imports::id.eq(id))
                .filter(usage_imports::product_id.eq(product))
                .filter(usage_imports::status.eq(UsageImportStatus::Preview)),
        )
        .set((
            usage_imports::status.eq(UsageImportStatus::Discarded),
            usage_imports::finished_at.eq(now),
            usage_imports::csv_data.eq(""),
        ))
        .execute(conn)?;
        if changed == 0 {
            get(conn, actor, product, id)?;
            return Err(CommandError::Refused(
                "This export was already applied or discarded.".into(),
            ));
        }
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "usage.discarded",
                "product",
                Some(product.to_string()),
            )
            .summary("Discarded a usage export's dry run")
            .after(json!({"usage_import_id": id})),
        )?;
        Ok(())
    })
}
