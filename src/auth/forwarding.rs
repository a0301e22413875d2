//! Reverse proxies the configuration does not trust. A login that carries `X-Forwarded-For`
//! (or `Forwarded`) from a peer outside `PORTALOPS_TRUSTED_PROXIES` most likely comes through
//! a proxy nobody listed: every client behind it then has the proxy's address, and the
//! address throttle counts them as one. Such peers are recorded (shared by every instance),
//! shown on Settings and logged at start-up and when first seen.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::untrusted_forwarders;
use crate::error::AppError;

/// Settings and the start-up log mention peers seen this recently.
pub const RECENT: chrono::Duration = chrono::Duration::days(7);
/// A peer already recorded is logged again after this long.
const LOG_AGAIN: chrono::Duration = chrono::Duration::hours(1);

/// The peer's address when the request carries forwarding headers the configuration does
/// not believe.
pub fn untrusted_forwarder(
    req: &actix_web::HttpRequest,
    trusted: &[ipnet::IpNet],
) -> Option<String> {
    let headers = req.headers();
    if !headers.contains_key("x-forwarded-for") && !headers.contains_key("forwarded") {
        return None;
    }
    let peer = req.peer_addr()?.ip();
    (!trusted.iter().any(|n| n.contains(&peer))).then(|| peer.to_string())
}

/// Records a request from `peer` (inside the login's transaction) and logs a warning when
/// the peer is new or was last seen a while ago.
pub fn record(conn: &mut PgConnection, peer: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    let previous: Option<DateTime<Utc>> = untrusted_forwarders::table
        .find(peer)
        .select(untrusted_forwarders::last_seen)
        .for_update()
        .first(conn)
        .optional()?;
    diesel::insert_into(untrusted_forwarders::table)
        .values((
            untrusted_forwarders::peer.eq(peer),
            untrusted_forwarders::first_seen.eq(now),
            untrusted_forwarders::last_seen.eq(now),
        ))
        .on_conflict(untrusted_forwarders::peer)
        .do_update()
        .set((
            untrusted_forwarders::last_seen.eq(now),
            untrusted_forwarders::requests.eq(untrusted_forwarders::requests + 1),
        ))
        .execute(conn)?;
    if previous.is_none_or(|p| now - p > LOG_AGAIN) {
        warn(peer);
    }
    Ok(())
}

fn warn(peer: &str) {
    tracing::warn!(
        %peer,
        "logins arrive with X-Forwarded-For from a peer not in PORTALOPS_TRUSTED_PROXIES: \
         every client behind it has one address for the login throttle; if it is your \
         reverse proxy, add it to PORTALOPS_TRUSTED_PROXIES"
    );
}

/// A peer recently seen forwarding without being trusted.
pub struct Forwarder {
    pub peer: String,
    pub last_seen: DateTime<Utc>,
    pub requests: i64,
}

/// Peers seen within `RECENT` that the current configuration still does not trust.
pub fn recent(
    conn: &mut PgConnection,
    trusted: &[ipnet::IpNet],
    now: DateTime<Utc>,
) -> Result<Vec<Forwarder>, AppError> {
    let rows: Vec<(String, DateTime<Utc>, i64)> = untrusted_forwarders::table
        .filter(untrusted_forwarders::last_seen.gt(now - RECENT))
        .order(untrusted_forwarders::last_seen.desc())
        .limit(20)
        .select((
            untrusted_forwarders::peer,
            untrusted_forwarders::last_seen,
            untrusted_forwarders::requests,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(peer, ..)| {
            peer.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| !trusted.iter().any(|n| n.contains(&ip)))
        })
        .map(|(peer, last_seen, requests)| Forwarder {
            peer,
            last_seen,
            requests,
        })
        .collect())
}

/// At start-up: a warning per peer recently seen forwarding untrusted.
pub fn warn_at_startup(
    conn: &mut PgConnection,
    trusted: &[ipnet::IpNet],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for f in recent(conn, trusted, now)? {
        warn(&f.peer);
    }
    Ok(())
}
