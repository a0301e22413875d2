//! Login throttling, kept in the database so that every instance shares it. The policy (its
//! numbers are in docs/rbac.md, "Login throttling") holds against guessing and against
//! locking someone out on purpose:
//!
//! - a browser or API client that has logged into the account before presents a signed
//!   known-device token (`known_device`); its failures count against that device alone, so
//!   nobody else's failures can lock it out;
//! - any other client is counted on three keys: the (username, client address) pair, the
//!   username from all such clients (this bounds guessing from many addresses), and the
//!   client address (this bounds one address trying many usernames).
//!
//! Each attempt is reserved before the password is verified, in one transaction holding the
//! keys' rows (`SELECT … FOR UPDATE`): concurrent attempts beyond a key's limit are refused
//! unverified. A lock, once set, is only ever lengthened, never cleared by a failure or a
//! success still in flight; it ends when it expires or an Admin unlocks it. Unknown
//! usernames are counted exactly like known ones, so the throttle reveals nothing about
//! which exist.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use std::time::Duration;

use crate::config::ThrottleConfig;
use crate::db::schema::login_throttle;
use crate::error::AppError;

/// The one place a typed username becomes a throttle key: normalised as the login looks
/// users up (trimmed, lower-case), then a keyed hash (HMAC-SHA-256 under the server's JWT
/// secret), so the table never holds what was typed — which may be anything, a card number
/// included — and the key cannot be reversed by hashing guesses without the secret.
pub fn username_key(secret: &[u8], typed: &str) -> String {
    let normalised = typed.trim().to_lowercase();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"portalops-login-throttle-v1\0");
    mac.update(normalised.as_bytes());
    format!("{:x}", mac.finalize().into_bytes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// One username from one client address.
    Pair,
    /// One username from every client that is not a known device.
    Account,
    /// One client address, any username (known devices excepted).
    Address,
    /// One known device of one account.
    Device,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pair => "pair",
            Kind::Account => "account",
            Kind::Address => "address",
            Kind::Device => "device",
        }
    }
}

/// A counter one attempt is charged to. Serialisable: a login waiting for its second factor
/// carries its keys in the session cookie, so the code is charged to the password's keys.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Key {
    pub key: String,
    pub kind: Kind,
    pub limit: i32,
    pub user_id: Option<i64>,
    pub client_ip: Option<String>,
}

/// Who is trying: the username's key, its account if it exists, the client address, and
/// the known device presented (already checked to belong to this account).
pub struct Subject<'a> {
    pub username_key: &'a str,
    pub user_id: Option<i64>,
    pub client_ip: &'a str,
    pub known_device: Option<&'a str>,
}

/// The counters an attempt is charged to: a known device's own, or the pair, the account
/// and the address for any other client.
pub fn keys_for(cfg: &ThrottleConfig, s: &Subject<'_>) -> Vec<Key> {
    if let Some(device) = s.known_device {
        return vec![Key {
            key: format!("device:{device}"),
            kind: Kind::Device,
            limit: cfg.max_failures_per_user,
            user_id: s.user_id,
            client_ip: Some(s.client_ip.to_string()),
        }];
    }
    vec![
        Key {
            key: format!("pair:{}:{}", s.username_key, s.client_ip),
            kind: Kind::Pair,
            limit: cfg.max_failures_per_user,
            user_id: s.user_id,
            client_ip: Some(s.client_ip.to_string()),
        },
        Key {
            key: format!("account:{}", s.username_key),
            kind: Kind::Account,
            limit: cfg.max_failures_per_account,
            user_id: s.user_id,
            client_ip: None,
        },
        Key {
            key: format!("ip:{}", s.client_ip),
            kind: Kind::Address,
            limit: cfg.max_failures_per_ip,
            user_id: None,
            client_ip: Some(s.client_ip.to_string()),
        },
    ]
}

/// What the throttle says before an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Reserved: verify the password after waiting this long.
    Proceed { delay: Duration },
    /// Refused unverified: retry after this many seconds.
    Locked { retry_after_secs: u64 },
}

/// How long to wait when a key's budget is taken by attempts still being verified.
const IN_FLIGHT_RETRY_SECS: u64 = 5;
/// The progressive delay doubles at most this many times.
const MAX_DOUBLINGS: u32 = 4;

/// The delay before verifying an attempt with `prior` failures already counted on a key:
/// none for the first two, then `step`, doubling per failure up to 16 × `step`. Address
/// counters add no delay: behind a shared address that would slow everyone.
pub fn delay_for(step: Duration, kind: Kind, prior: i32) -> Duration {
    if kind == Kind::Address || prior < 2 {
        return Duration::ZERO;
    }
    step * 2u32.pow(((prior - 2) as u32).min(MAX_DOUBLINGS))
}

struct Row {
    failures: i32,
    window_start: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Takes the keys' rows (creating them) in key order, so concurrent attempts on shared keys
/// queue instead of deadlocking. Must run inside a transaction.
fn lock_rows(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    keys: &[Key],
) -> Result<Vec<(Key, Row)>, AppError> {
    let mut sorted = keys.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted.dedup_by(|a, b| a.key == b.key);
    let mut rows = Vec::with_capacity(sorted.len());
    for k in sorted {
        // A login that succeeds deletes its counters (`record_success`): one committed
        // between this insert (which found the row) and the locking read leaves nothing to
        // read, so the row is made again. Each pass either reads a row or finds it just
        // deleted by another transaction, which cannot go on for ever.
        let mut found = None;
        for _ in 0..8 {
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::key.eq(&k.key),
                    login_throttle::kind.eq(k.kind.as_str()),
                    login_throttle::user_id.eq(k.user_id),
                    login_throttle::client_ip.eq(&k.client_ip),
                    login_throttle::failures.eq(0),
                    login_throttle::window_start.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            found = login_throttle::table
                .find(&k.key)
                .select((
                    login_throttle::failures,
                    login_throttle::window_start,
                    login_throttle::locked_until,
                ))
                .for_update()
                .first(conn)
                .optional()?;
            if found.is_some() {
                break;
            }
        }
        let Some((failures, window_start, locked_until)) = found else {
            return Err(AppError::TooManyRequests {
                message: "Too many logins at once for this account; try again in a moment.".into(),
                retry_after_secs: 1,
            });
        };
        rows.push((
            k,
            Row {
                failures,
                window_start,
                locked_until,
            },
        ));
    }
    Ok(rows)
}

fn window(cfg: &ThrottleConfig) -> chrono::Duration {
    chrono::Duration::from_std(cfg.lockout).unwrap_or_default()
}

/// Reserves one attempt on every key, or refuses it: the check and the count are one step.
/// A key that is locked, or whose budget is already taken (by failures, or by attempts
/// still being verified), refuses the attempt and nothing is counted.
pub fn reserve(
    conn: &mut PgConnection,
    cfg: &ThrottleConfig,
    now: DateTime<Utc>,
    keys: &[Key],
) -> Result<Verdict, AppError> {
    conn.transaction(|conn| {
        let rows = lock_rows(conn, now, keys)?;
        let mut refused: Option<u64> = None;
        let mut delay = Duration::ZERO;
        let mut fresh = Vec::with_capacity(rows.len());
        for (k, row) in rows {
            if let Some(until) = row.locked_until.filter(|u| *u > now) {
                let secs = (until - now).num_seconds().max(1) as u64;
                refused = Some(refused.unwrap_or(0).max(secs));
                continue;
            }
            // An expired window or lock starts counting afresh.
            let expired = row.locked_until.is_some() || row.window_start <= now - window(cfg);
            let (failures, started) = if expired {
                (0, now)
            } else {
                (row.failures, row.window_start)
            };
            if failures >= k.limit {
                refused = Some(refused.unwrap_or(0).max(IN_FLIGHT_RETRY_SECS));
                continue;
            }
            delay = delay.max(delay_for(cfg.delay_step, k.kind, failures));
            fresh.push((k, failures, started));
        }
        if let Some(retry_after_secs) = refused {
            return Ok(Verdict::Locked { retry_after_secs });
        }
        for (k, failures, started) in fresh {
            diesel::update(login_throttle::table.find(&k.key))
                .set((
                    login_throttle::failures.eq(failures + 1),
                    login_throttle::window_start.eq(started),
                    login_throttle::locked_until.eq(None::<DateTime<Utc>>),
                    login_throttle::user_id.eq(k.user_id),
                ))
                .execute(conn)?;
        }
        Ok(Verdict::Proceed { delay })
    })
}

/// The reserved attempt failed: it stays counted, and a key whose count reached its limit
/// is locked for the lockout period. A lock is only ever set or lengthened here.
pub fn record_failure(
    conn: &mut PgConnection,
    cfg: &ThrottleConfig,
    now: DateTime<Utc>,
    keys: &[Key],
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        for (k, row) in lock_rows(conn, now, keys)? {
            let locked = row.locked_until.is_some_and(|u| u > now);
            if !locked && row.failures >= k.limit {
                diesel::update(login_throttle::table.find(&k.key))
                    .set(login_throttle::locked_until.eq(now + window(cfg)))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// The reserved attempt succeeded. The counters it was charged to start again, except the
/// client address's, which only gives the attempt back (one good password does not vouch
/// for everyone behind an address); a key locked meanwhile by concurrent failures keeps its
/// lock and count (a lock is never cleared by a login).
pub fn record_success(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    keys: &[Key],
) -> Result<(), AppError> {
    let (addresses, others): (Vec<&Key>, Vec<&Key>) =
        keys.iter().partition(|k| k.kind == Kind::Address);
    let unlocked = login_throttle::locked_until
        .is_null()
        .or(login_throttle::locked_until.le(now));
    diesel::delete(
        login_throttle::table
            .filter(login_throttle::key.eq_any(others.iter().map(|k| k.key.as_str())))
            .filter(unlocked),
    )
    .execute(conn)?;
    diesel::update(
        login_throttle::table
            .filter(login_throttle::key.eq_any(addresses.iter().map(|k| k.key.as_str())))
            .filter(login_throttle::failures.gt(0))
            .filter(unlocked),
    )
    .set(login_throttle::failures.eq(login_throttle::failures - 1))
    .execute(conn)?;
    Ok(())
}

/// The reserved attempt was a right password that still needs its second factor: the
/// attempt is given back on every key (earlier failures stay counted, nothing is cleared),
/// so the code, reserved on the same keys, is what counts, and a right password does not
/// reset the budget for guessing codes.
pub fn release(conn: &mut PgConnection, now: DateTime<Utc>, keys: &[Key]) -> Result<(), AppError> {
    let unlocked = login_throttle::locked_until
        .is_null()
        .or(login_throttle::locked_until.le(now));
    diesel::update(
        login_throttle::table
            .filter(login_throttle::key.eq_any(keys.iter().map(|k| k.key.as_str())))
            .filter(login_throttle::failures.gt(0))
            .filter(unlocked),
    )
    .set(login_throttle::failures.eq(login_throttle::failures - 1))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_two_failures_double_and_stop_at_sixteen_steps() {
        let step = Duration::from_millis(250);
        let ms = |kind, prior| delay_for(step, kind, prior).as_millis();
        assert_eq!([0, 1].map(|p| ms(Kind::Pair, p)), [0, 0]);
        assert_eq!(
            [2, 3, 4, 5, 6, 19].map(|p| ms(Kind::Account, p)),
            [250, 500, 1000, 2000, 4000, 4000]
        );
        assert_eq!(ms(Kind::Device, 4), 1000);
        assert_eq!(ms(Kind::Address, 29), 0, "addresses add no delay");
    }

    #[test]
    fn the_username_key_is_normalised_keyed_and_holds_no_typed_text() {
        let k = username_key(b"secret", "  Alice ");
        assert_eq!(k, username_key(b"secret", "alice"));
        assert_ne!(k, username_key(b"other secret", "alice"));
        assert_eq!(k.len(), 64);
        assert!(!username_key(b"secret", "4111111111111111").contains("4111111111111111"));
    }
}
