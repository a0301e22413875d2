//! What lives in the session cookie (encrypted by actix-session's private cookie store):
//! the access token, the refresh token, the CSRF secret and short flash messages. Nothing
//! else: a cookie holds about 4 KB.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const ACCESS: &str = "at";
const REFRESH: &str = "rt";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const PENDING_LOGIN: &str = "2fa";

pub fn tokens(session: &Session) -> (Option<String>, Option<String>) {
    (
        session.get::<String>(ACCESS).ok().flatten(),
        session.get::<String>(REFRESH).ok().flatten(),
    )
}

pub fn set_tokens(session: &Session, access: &str, refresh: &str) {
    let _ = session.insert(ACCESS, access);
    let _ = session.insert(REFRESH, refresh);
}

/// Starts a fresh session at login: new cookie, new CSRF secret, the new tokens.
pub fn begin(session: &Session, access: &str, refresh: &str) {
    session.clear();
    session.renew();
    set_tokens(session, access, refresh);
    let _ = session.insert(CSRF, crate::crypto::random_token());
}

/// Forgets the login (tokens and CSRF secret); flash messages may still be added after.
pub fn end(session: &Session) {
    session.clear();
    session.renew();
}

/// Keeps a login waiting for its second factor (`auth::two_factor::login`) in place of a
/// session: the cookie is encrypted, so the client can neither read nor forge it.
pub fn set_pending_login<T: Serialize>(session: &Session, pending: &T, next: &str) {
    session.clear();
    session.renew();
    let _ = session.insert(PENDING_LOGIN, (pending, next));
    let _ = session.insert(CSRF, crate::crypto::random_token());
}

/// The login waiting for its second factor, and where to go after it.
pub fn pending_login<T: serde::de::DeserializeOwned>(session: &Session) -> Option<(T, String)> {
    session.get(PENDING_LOGIN).ok().flatten()
}

pub fn clear_pending_login(session: &Session) {
    session.remove(PENDING_LOGIN);
}

/// The session's CSRF secret, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF) {
        return t;
    }
    let t = crate::crypto::random_token();
    let _ = session.insert(CSRF, &t);
    t
}

/// The CSRF secret if the session has one (checking must not create one).
pub fn existing_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// Queues a message for the next page. Keep it short: it travels in the cookie.
pub fn flash(session: &Session, kind: FlashKind, text: &str) {
    let mut all: Vec<Flash> = session.get(FLASH).ok().flatten().unwrap_or_default();
    all.push(Flash {
        kind,
        text: text.chars().take(200).collect(),
    });
    all.truncate(3);
    let _ = session.insert(FLASH, all);
}

pub fn take_flashes(session: &Session) -> Vec<Flash> {
    let all: Vec<Flash> = session.get(FLASH).ok().flatten().unwrap_or_default();
    if !all.is_empty() {
        session.remove(FLASH);
    }
    all
}
