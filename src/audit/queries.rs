//! Reads of the audit log: filtered, newest first, keyset-paginated on the id (every page
//! costs the same, however deep).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::schema::audit_log;
use crate::error::AppError;

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditFilter {
    /// Free text: every word somewhere in the summary (which names the objects), the
    /// actor or the action.
    #[serde(default)]
    pub q: String,
    /// `csv` for the download of what the filters select.
    #[serde(default)]
    pub format: String,
    /// Who acted: part of a username or name.
    #[serde(default)]
    pub actor: String,
    /// The action, e.g. `grant.created` (a prefix like `grant.` matches all of them).
    #[serde(default)]
    pub action: String,
    /// What kind of object changed, e.g. `product`.
    #[serde(default)]
    pub object_type: String,
    /// Which object changed.
    #[serde(default)]
    pub object_id: String,
    /// From this day on (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    /// Up to and including this day (YYYY-MM-DD).
    #[serde(default)]
    pub to: String,
    /// Show entries older than this id (the "older" link).
    pub before: Option<i64>,
    /// Show entries newer than this id (the "newer" link).
    pub after: Option<i64>,
}

#[derive(Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor_label: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub before: String,
    pub after: String,
    pub client_ip: String,
    pub request_id: String,
}

pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// Id to pass as `after` for newer entries, if any exist.
    pub newer: Option<i64>,
    /// Id to pass as `before` for older entries, if any exist.
    pub older: Option<i64>,
    /// Messages about filter values that could not be used.
    pub problems: Vec<String>,
}

pub(super) type Row = (
    i64,
    DateTime<Utc>,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<String>,
    Option<String>,
);

/// The columns of a `Row`.
pub(super) const ROW: (
    audit_log::id,
    audit_log::at,
    audit_log::actor_id,
    audit_log::actor_label,
    audit_log::action,
    audit_log::object_type,
    audit_log::object_id,
    audit_log::summary,
    audit_log::before,
    audit_log::after,
    audit_log::client_ip,
    audit_log::request_id,
) = (
    audit_log::id,
    audit_log::at,
    audit_log::actor_id,
    audit_log::actor_label,
    audit_log::action,
    audit_log::object_type,
    audit_log::object_id,
    audit_log::summary,
    audit_log::before,
    audit_log::after,
    audit_log::client_ip,
    audit_log::request_id,
);

/// The instants a from/to day filter starts and ends at (the end exclusive); a value that
/// is no date is reported in `problems` and ignored.
pub(super) fn day_bounds(
    from: &str,
    to: &str,
    problems: &mut Vec<String>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    (
        parse_day(from, "from", problems).map(start),
        parse_day(to, "to", problems)
            .and_then(|d| d.succ_opt())
            .map(start),
    )
}

/// A page from `rows` as loaded (`limit + 1` at most, oldest first when `going_newer`):
/// newest first, with the ids of the pages either side.
pub(super) fn paged(
    mut rows: Vec<Row>,
    limit: i64,
    going_newer: bool,
    came_from_newer: bool,
    problems: Vec<String>,
) -> AuditPage {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if going_newer {
        rows.reverse();
    }
    let first = rows.first().map(|r| r.0);
    let last = rows.last().map(|r| r.0);
    let (newer, older) = if going_newer {
        (if has_more { first } else { None }, last)
    } else {
        (
            if came_from_newer { first } else { None },
            if has_more { last } else { None },
        )
    };
    AuditPage {
        rows: rows.into_iter().map(to_view).collect(),
        newer,
        older,
        problems,
    }
}

pub(super) fn to_view(r: Row) -> AuditRow {
    let pretty = |v: Option<serde_json::Value>| {
        v.map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
            .unwrap_or_default()
    };
    AuditRow {
        id: r.0,
        at: r.1.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        actor_id: r.2,
        actor_label: r.3,
        action: r.4,
        object_type: r.5,
        object_id: r.6.unwrap_or_default(),
        summary: r.7,
        before: pretty(r.8),
        after: pretty(r.9),
        client_ip: r.10.unwrap_or_default(),
        request_id: r.11.unwrap_or_default(),
    }
}

/// `%`, `_` and `\` stand for themselves in a LIKE pattern built from user input.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn parse_day(s: &str, field: &str, problems: &mut Vec<String>) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(format!(
                "'{s}' is not a date (YYYY-MM-DD); the {field} filter was ignored."
            ));
            None
        }
    }
}

/// A page of the entries `f` selects, newest first.
pub fn list(conn: &mut PgConnection, f: &AuditFilter) -> Result<AuditPage, AppError> {
    list_limited(conn, f, PAGE_SIZE)
}

/// Up to `limit` entries `f` selects, newest first (a page, or a download's all).
pub fn list_limited(
    conn: &mut PgConnection,
    f: &AuditFilter,
    limit: i64,
) -> Result<AuditPage, AppError> {
    let mut problems = Vec::new();
    let mut q = audit_log::table.select(ROW).into_boxed();
    // Written as the trigram index's expression is (migration audit_search), so that the
    // planner can use it.
    for pat in crate::db::word_patterns(&f.q) {
        let text = diesel::dsl::sql::<diesel::sql_types::Text>(
            "(audit_log.summary || ' ' || audit_log.actor_label || ' ' || audit_log.action)",
        );
        q = q.filter(text.ilike(pat));
    }
    let actor = f.actor.trim();
    if !actor.is_empty() {
        q = q.filter(audit_log::actor_label.ilike(format!("%{}%", like_escape(actor))));
    }
    let action = f.action.trim();
    if !action.is_empty() {
        q = q.filter(audit_log::action.like(format!("{}%", like_escape(action))));
    }
    let object_type = f.object_type.trim();
    if !object_type.is_empty() {
        q = q.filter(audit_log::object_type.eq(object_type.to_string()));
    }
    let object_id = f.object_id.trim();
    if !object_id.is_empty() {
        q = q.filter(audit_log::object_id.eq(object_id.to_string()));
    }
    let (from, to) = day_bounds(&f.from, &f.to, &mut problems);
    if let Some(from) = from {
        q = q.filter(audit_log::at.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(audit_log::at.lt(to));
    }

    let (rows, going_newer): (Vec<Row>, bool) = match (f.before, f.after) {
        (_, Some(after)) => (
            q.filter(audit_log::id.gt(after))
                .order(audit_log::id.asc())
                .limit(limit + 1)
                .load(conn)?,
            true,
        ),
        (Some(before), None) => (
            q.filter(audit_log::id.lt(before))
                .order(audit_log::id.desc())
                .limit(limit + 1)
                .load(conn)?,
            false,
        ),
        (None, None) => (
            q.order(audit_log::id.desc()).limit(limit + 1).load(conn)?,
            false,
        ),
    };
    Ok(paged(
        rows,
        limit,
        going_newer,
        f.before.is_some(),
        problems,
    ))
}

/// The latest entries where `actor_id` acted (the dashboard's "recent activity").
pub fn recent_for_actor(
    conn: &mut PgConnection,
    actor_id: i64,
    n: i64,
) -> Result<Vec<AuditRow>, AppError> {
    let rows: Vec<Row> = audit_log::table
        .filter(audit_log::actor_id.eq(actor_id))
        .select(ROW)
        .order(audit_log::id.desc())
        .limit(n)
        .load(conn)?;
    Ok(rows.into_iter().map(to_view).collect())
}
