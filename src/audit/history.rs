//! A History: everything the audit log holds about one person, product, service or billing
//! record — including the grants, tasks, workflows, handovers and payments that belong to
//! it — newest first. What an entry is about is derived when it is written (the
//! `audit_subjects` trigger, one mechanism for every call site), so reading a History is
//! one index range per subject, keyset-paginated like the audit log.

use diesel::prelude::*;
use serde::Deserialize;

use super::queries::{day_bounds, paged, AuditPage, AuditRow, Row};
use crate::db::schema::{audit_log, audit_subjects};
use crate::error::AppError;

/// Whose History.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person(i64),
    Product(i64),
    /// The service and everything about its products.
    Service {
        id: i64,
    },
    BillingRecord(i64),
}

/// The kinds of entries a History can be narrowed to: (key, label, object types).
pub const KINDS: &[(&str, &str, &[&str])] = &[
    ("access", "Access granted and revoked", &["access_grant"]),
    (
        "workflows",
        "Onboardings, offboardings, tasks and handovers",
        &["workflow", "task", "handover"],
    ),
    (
        "billing",
        "Billing records, payments and attachments",
        &["billing_record", "attachment"],
    ),
    (
        "details",
        "The record itself and its administrators",
        &["user", "product", "service"],
    ),
];

/// A History's filters and page, as the query string has them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct HistoryFilter {
    /// One of `KINDS`' keys; anything else shows every kind.
    #[serde(default)]
    pub kind: String,
    /// From this day on (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    /// Up to and including this day.
    #[serde(default)]
    pub to: String,
    pub before: Option<i64>,
    pub after: Option<i64>,
    /// `csv` for the download.
    #[serde(default)]
    pub format: String,
}

/// At most this many entries in a History's CSV.
pub const CSV_MAX: i64 = 10_000;

/// One page of `subject`'s History (`limit` entries: a page, or the CSV's all). `within`
/// keeps it to entries about those products (an administrator's scope; none: everything).
/// `products_of_service` are the service's products, for a service's History.
pub fn page(
    conn: &mut PgConnection,
    subject: Subject,
    products_of_service: &[i64],
    within: Option<&[i64]>,
    f: &HistoryFilter,
    limit: i64,
) -> Result<AuditPage, AppError> {
    let mut problems = Vec::new();
    let mut q = audit_subjects::table
        .select(audit_subjects::audit_id)
        .distinct()
        .into_boxed();
    let one = |kind: &'static str, id: i64| {
        audit_subjects::kind
            .eq(kind)
            .and(audit_subjects::subject_id.eq(id))
    };
    q = match subject {
        Subject::Person(id) => q.filter(one("person", id)),
        Subject::Product(id) => q.filter(one("product", id)),
        Subject::BillingRecord(id) => q.filter(one("billing_record", id)),
        Subject::Service { id } => q.filter(
            one("service", id).or(audit_subjects::kind
                .eq("product")
                .and(audit_subjects::subject_id.eq_any(products_of_service.to_vec()))),
        ),
    };
    if let Some((_, _, types)) = KINDS.iter().find(|(k, _, _)| *k == f.kind) {
        q = q.filter(audit_subjects::object_type.eq_any(*types));
    }
    let (from, to) = day_bounds(&f.from, &f.to, &mut problems);
    if let Some(from) = from {
        q = q.filter(audit_subjects::at.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(audit_subjects::at.lt(to));
    }
    if let Some(products) = within {
        let scoped = diesel::alias!(audit_subjects as scoped);
        q = q.filter(
            audit_subjects::audit_id.eq_any(
                scoped
                    .filter(scoped.field(audit_subjects::kind).eq("product"))
                    .filter(
                        scoped
                            .field(audit_subjects::subject_id)
                            .eq_any(products.to_vec()),
                    )
                    .select(scoped.field(audit_subjects::audit_id)),
            ),
        );
    }
    let (ids, going_newer): (Vec<i64>, bool) = match (f.before, f.after) {
        (_, Some(after)) => (
            q.filter(audit_subjects::audit_id.gt(after))
                .order(audit_subjects::audit_id.asc())
                .limit(limit + 1)
                .load(conn)?,
            true,
        ),
        (Some(before), None) => (
            q.filter(audit_subjects::audit_id.lt(before))
                .order(audit_subjects::audit_id.desc())
                .limit(limit + 1)
                .load(conn)?,
            false,
        ),
        (None, None) => (
            q.order(audit_subjects::audit_id.desc())
                .limit(limit + 1)
                .load(conn)?,
            false,
        ),
    };
    let mut rows: Vec<Row> = audit_log::table
        .filter(audit_log::id.eq_any(&ids))
        .select(super::queries::ROW)
        .order(audit_log::id.desc())
        .load(conn)?;
    if going_newer {
        rows.reverse();
    }
    Ok(paged(
        rows,
        limit,
        going_newer,
        f.before.is_some(),
        problems,
    ))
}

/// The CSV's rows: when, who, what.
pub fn csv_rows(rows: Vec<AuditRow>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|r| {
            vec![
                r.at,
                r.actor_label,
                r.action,
                r.object_type,
                r.object_id,
                r.summary,
            ]
        })
        .collect()
}

/// The CSV's header.
pub const CSV_HEADER: &[&str] = &[
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "summary",
];
