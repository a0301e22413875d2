//! The login locks in force, as Admins see them on Settings → Login locks, and the Admin's
//! unlock (audited, in the transaction that removes the lock).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{login_throttle, users};
use crate::error::AppError;

/// One lock in force, described for a person.
pub struct Lock {
    pub key: String,
    /// Whose logins are refused, e.g. "alice from 203.0.113.5".
    pub what: String,
    pub failures: i32,
    pub locked_until: DateTime<Utc>,
}

type LockRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    i32,
    Option<DateTime<Utc>>,
);

fn describe(kind: &str, username: Option<&str>, ip: Option<&str>) -> String {
    let who = username.map_or_else(
        || "a username that does not exist".to_string(),
        |u| u.to_string(),
    );
    let ip = ip.unwrap_or("an unknown address");
    match kind {
        "pair" => format!("{who} from {ip}"),
        "account" => format!("{who} from every client that is not one of its known devices"),
        "device" => format!("{who} on one known device (last from {ip})"),
        _ => format!("every login from {ip}, except from known devices"),
    }
}

fn describe_row(r: &LockRow) -> String {
    describe(&r.1, r.2.as_deref(), r.3.as_deref())
}

/// The locks in force at `now`, the latest to end first (Admins only).
pub fn in_force(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Lock>, AppError> {
    authorize(actor, Action::ManageSettings)?;
    let rows: Vec<LockRow> = login_throttle::table
        .left_join(users::table)
        .select((
            login_throttle::key,
            login_throttle::kind,
            users::username.nullable(),
            login_throttle::client_ip,
            login_throttle::failures,
            login_throttle::locked_until,
        ))
        .filter(login_throttle::locked_until.gt(now))
        .order(login_throttle::locked_until.desc())
        .limit(500)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Lock {
            what: describe_row(&r),
            key: r.0,
            failures: r.4,
            locked_until: r.5.unwrap_or(now),
        })
        .collect())
}

/// How many locks are in force (for the Settings page).
pub fn count_in_force(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<i64, AppError> {
    Ok(login_throttle::table
        .filter(login_throttle::locked_until.gt(now))
        .count()
        .get_result(conn)?)
}

/// Lifts the lock `key` and forgets its failures (Admins only, audited in the same
/// transaction). A key with no lock in force answers 404. Returns what was unlocked.
pub fn unlock(
    conn: &mut PgConnection,
    actor: &Actor,
    key: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    authorize(actor, Action::ManageSettings)?;
    conn.transaction(|conn| {
        let (kind, user_id, ip): (String, Option<i64>, Option<String>) = login_throttle::table
            .find(key)
            .filter(login_throttle::locked_until.gt(now))
            .select((
                login_throttle::kind,
                login_throttle::user_id,
                login_throttle::client_ip,
            ))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let username: Option<String> = match user_id {
            Some(id) => users::table
                .find(id)
                .select(users::username)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten(),
            None => None,
        };
        diesel::delete(login_throttle::table.find(key)).execute(conn)?;
        let what = describe(&kind, username.as_deref(), ip.as_deref());
        let (object_type, object_id) = match user_id {
            Some(id) => ("user", Some(id.to_string())),
            None => ("login", ip),
        };
        audit::record(
            conn,
            AuditEntry::by(actor, "auth.unlock", object_type, object_id)
                .summary(format!("Unlocked logins: {what}")),
        )?;
        Ok(what)
    })
}
