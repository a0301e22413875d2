//! Login throttling per username and per client address, kept in the database so that
//! every instance shares it. After the second failure each attempt is slowed (a delay that
//! doubles); at the limit the key is locked for the lockout period. Unknown usernames are
//! counted exactly like known ones, so the throttle reveals nothing about which exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use std::time::Duration;

use crate::config::ThrottleConfig;
use crate::db::schema::login_throttle;
use crate::error::AppError;

pub fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// What the throttle says before an attempt.
#[derive(Debug)]
pub enum Verdict {
    /// Go ahead, after waiting this long.
    Proceed { delay: Duration },
    /// Locked: retry after this many seconds.
    Locked { retry_after_secs: u64 },
}

pub fn check(
    conn: &mut PgConnection,
    cfg: &ThrottleConfig,
    keys: &[String],
) -> Result<Verdict, AppError> {
    let now = Utc::now();
    let window_start = now - chrono::Duration::from_std(cfg.lockout).unwrap_or_default();
    let rows: Vec<(i32, DateTime<Utc>, Option<DateTime<Utc>>)> = login_throttle::table
        .filter(login_throttle::key.eq_any(keys))
        .select((
            login_throttle::failures,
            login_throttle::window_start,
            login_throttle::locked_until,
        ))
        .load(conn)?;
    let mut failures = 0;
    for (n, started, locked_until) in rows {
        if let Some(until) = locked_until.filter(|u| *u > now) {
            let secs = (until - now).num_seconds().max(1) as u64;
            return Ok(Verdict::Locked {
                retry_after_secs: secs,
            });
        }
        if started > window_start {
            failures = failures.max(n);
        }
    }
    let steps = (failures - 2).clamp(0, 8) as u32;
    let delay = if steps == 0 {
        Duration::ZERO
    } else {
        cfg.delay_step * 2u32.pow(steps - 1)
    };
    Ok(Verdict::Proceed { delay })
}

/// Counts a failure against each key; locks a key that reaches its limit.
pub fn record_failure(
    conn: &mut PgConnection,
    cfg: &ThrottleConfig,
    key: &str,
    limit: i32,
) -> Result<(), AppError> {
    let now = Utc::now();
    let window = chrono::Duration::from_std(cfg.lockout).unwrap_or_default();
    conn.transaction(|conn| {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::key.eq(key),
                login_throttle::failures.eq(0),
                login_throttle::window_start.eq(now),
            ))
            .on_conflict(login_throttle::key)
            .do_update()
            .set(login_throttle::key.eq(excluded(login_throttle::key)))
            .execute(conn)?;
        let (failures, started): (i32, DateTime<Utc>) = login_throttle::table
            .find(key)
            .select((login_throttle::failures, login_throttle::window_start))
            .for_update()
            .first(conn)?;
        let (failures, started) = if started <= now - window {
            (1, now)
        } else {
            (failures + 1, started)
        };
        let locked_until = (failures >= limit).then_some(now + window);
        diesel::update(login_throttle::table.find(key))
            .set((
                login_throttle::failures.eq(if locked_until.is_some() { 0 } else { failures }),
                login_throttle::window_start.eq(started),
                login_throttle::locked_until.eq(locked_until),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// A successful login clears the username's counter (not the address's).
pub fn clear(conn: &mut PgConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
