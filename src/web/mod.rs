//! Web plumbing shared by every feature: application state, the page context every
//! template receives (navigation, flash messages, CSRF token), static assets and the
//! outer middleware frame.

pub mod csrf;
pub mod csv_out;
pub mod format;
pub mod forms;
pub mod input;
pub mod nul_bytes;
pub mod pagination;
pub mod redact;
pub mod request_log;
pub mod respond;
pub mod session;
pub mod static_files;
pub mod upload;
pub mod urls;

use std::sync::{Arc, Mutex};

use actix_session::Session;
use actix_web::HttpRequest;

use crate::authz::{can, Action, Actor};
use crate::config::Config;
use crate::crypto::jwt::TokenKeys;
use crate::crypto::password::Hasher;
use crate::db::PgPool;
use crate::web::session::{self as sess, Flash};

/// Shared by every worker (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub keys: Arc<TokenKeys>,
    pub hasher: Hasher,
    /// The first-run setup token, while no Admin exists.
    pub setup_token: Arc<Mutex<Option<String>>>,
    /// The time ("today" for reminders); fixed in tests.
    pub clock: Arc<crate::clock::Clock>,
    /// Estate-wide figures reused while the database snapshot is unchanged.
    pub cache: Arc<crate::db::snapshot_cache::SnapshotCache>,
    /// The database's address, for the scheduled backup's `pg_dump` (set at start-up).
    pub db_url: Option<Arc<str>>,
}

/// The client's `User-Agent` (kept with a session, shown on "where you are logged in"),
/// at most 300 characters.
pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// The client's address: the peer's, unless the peer is one of `trusted` reverse proxies;
/// then `X-Forwarded-For` is read from the right (the entries the proxies appended), past
/// the trusted proxies, to the first address that is not one. An address anybody else puts
/// in the header is never believed.
pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer.to_string());
    }
    let chain: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let client = chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(chain.first())
        .copied()
        .unwrap_or(peer);
    Some(client.to_string())
}

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// What the base layout needs on every page.
pub struct PageCtx {
    pub title: String,
    pub user_name: String,
    pub role_label: &'static str,
    pub logged_in: bool,
    pub nav: Vec<NavItem>,
    pub flashes: Vec<Flash>,
    pub csrf: String,
    pub unread: i64,
}

impl PageCtx {
    pub fn new(
        session: &Session,
        actor: Option<&Actor>,
        title: impl Into<String>,
        active: &str,
    ) -> Self {
        let mut nav = Vec::new();
        if let Some(a) = actor {
            let items: [(&'static str, &'static str, Action); 8] = [
                ("Dashboard", "/", Action::ViewDashboard),
                ("Inventory", "/inventory", Action::ViewInventory),
                ("Directory", "/directory", Action::ViewDirectory),
                ("Payments", "/payments", Action::ViewPayments),
                ("Workflows", "/workflows", Action::ManagePeople),
                ("Import", "/imports", Action::ManagePeople),
                ("Audit log", "/audit", Action::ViewAuditLog),
                ("Settings", "/settings", Action::ManageSettings),
            ];
            for (label, href, action) in items {
                if can(a, action) {
                    nav.push(NavItem {
                        label,
                        href,
                        active: href == active,
                    });
                }
            }
        }
        Self {
            title: title.into(),
            user_name: actor.map(|a| a.full_name.clone()).unwrap_or_default(),
            role_label: actor.map(|a| a.role.label()).unwrap_or(""),
            logged_in: actor.is_some(),
            nav,
            flashes: sess::take_flashes(session),
            csrf: sess::csrf_token(session),
            unread: actor.map(|a| a.unread).unwrap_or(0),
        }
    }
}

/// Only a local path may follow a login: "/x" but not "//host", "/\host" or "https://…".
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && !n.chars().any(|c| c.is_control() || c == '\\')
        && n.len() <= 2000;
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_allows_local_paths() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/x\r\nSet-Cookie: a=b",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(
            safe_next(Some("/audit?page=2")).as_deref(),
            Some("/audit?page=2")
        );
    }
}
