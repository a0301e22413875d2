//! In-app notifications (a new task for you, a workflow you started completed). Written in
//! the same transaction as what they announce; read on their page; counted in the nav.

pub mod mail;
pub mod outbox;
pub mod pages;
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

pub fn unread_count(conn: &mut PgConnection, user_id: i64) -> Result<i64, AppError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .select(count_star())
        .get_result(conn)?)
}
