//! In-app notifications (a new task for you, a workflow you started completed). Written in
//! the same transaction as what they announce; read on their page (`notify_pages`, above
//! `auth`); counted in the nav (`auth::current_user`).

pub mod mail;
pub mod outbox;
pub mod reminders;

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::schema::notifications;
use crate::error::AppError;

/// Notifies each of `users` once.
pub fn notify(
    conn: &mut PgConnection,
    users: &[i64],
    kind: &str,
    title: &str,
    link: &str,
) -> Result<(), AppError> {
    let mut ids = users.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<_> = ids
        .iter()
        .map(|u| {
            (
                notifications::user_id.eq(*u),
                notifications::kind.eq(kind),
                notifications::title.eq(title.chars().take(300).collect::<String>()),
                notifications::link.eq(link),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(notifications::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// One notification as stored.
#[derive(Queryable)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub link: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The user's newest `limit` notifications, newest first.
pub fn recent(
    conn: &mut PgConnection,
    user_id: i64,
    limit: i64,
) -> Result<Vec<Notification>, AppError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id))
        .order(notifications::id.desc())
        .limit(limit)
        .select((
            notifications::id,
            notifications::kind,
            notifications::title,
            notifications::link,
            notifications::created_at,
            notifications::read_at,
        ))
        .load(conn)?)
}

/// Marks the user's unread notifications read: all of them, or only `only` (which must be
/// theirs). Returns how many changed.
pub fn mark_read(
    conn: &mut PgConnection,
    user_id: i64,
    only: Option<i64>,
) -> Result<usize, AppError> {
    let mut q = diesel::update(notifications::table)
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(notifications::id.eq(id));
    }
    Ok(q.set(notifications::read_at.eq(crate::clock::now()))
        .execute(conn)?)
}

/// Whose notification `id` is, if it exists.
pub fn owner_of(conn: &mut PgConnection, id: i64) -> Result<Option<i64>, AppError> {
    Ok(notifications::table
        .find(id)
        .select(notifications::user_id)
        .first(conn)
        .optional()?)
}

pub fn unread_count(conn: &mut PgConnection, user_id: i64) -> Result<i64, AppError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .select(count_star())
        .get_result(conn)?)
}
