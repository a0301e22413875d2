//! The second step of a login: after the right password, a user with a factor has no
//! session until a code is accepted. The pending login (who, until when, and the throttle
//! keys the password was charged to) travels with the client — the page door keeps it in
//! the encrypted session cookie, so every instance can finish it.
//!
//! A code is charged to the password's keys exactly as a password is (reserved before it
//! is checked, `throttle::reserve`), and a time step's code is accepted once: the step is
//! written by one `UPDATE … WHERE last_used_step < step`, so a replay, or two requests
//! racing with the same code, finds no row to update.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::queries::{self, open_secret, sealed_secret};
use super::totp;
use crate::audit::{self, AuditEntry};
use crate::auth::commands::{start_session, SessionStart};
use crate::auth::throttle::{self, Key, Verdict};
use crate::auth::tokens::IssuedTokens;
use crate::db::schema::{recovery_codes, user_totp};
use crate::error::AppError;
use crate::web::AppState;

/// How long the code may be entered after the password.
pub const PENDING_SECS: i64 = 300;

/// A login whose password was right, waiting for the second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    user_id: i64,
    /// Unix seconds (application clock).
    expires: i64,
    keys: Vec<Key>,
    /// The known device the client presented at the password step (checked then).
    device: Option<String>,
    /// What was typed as the username, masked, for the audit log.
    label: String,
}

impl PendingLogin {
    pub(crate) fn new(
        user_id: i64,
        keys: Vec<Key>,
        device: Option<String>,
        label: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            user_id,
            expires: now.timestamp() + PENDING_SECS,
            keys,
            device,
            label,
        }
    }

    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        now.timestamp() >= self.expires
    }
}

pub struct CodeAttempt {
    /// An authenticator code (6 digits) or a recovery code.
    pub code: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

pub enum SecondStep {
    Success {
        tokens: IssuedTokens,
        device_token: String,
    },
    /// Wrong, already used, or from a step too far from now (not told apart).
    Wrong,
    Locked {
        retry_after_secs: u64,
    },
    /// The pending login is older than `PENDING_SECS`: start again with the password.
    Expired,
}

/// How a code was accepted, for the audit entry.
enum Accepted {
    Authenticator,
    Recovery { left: i64 },
}

/// Accepts `typed` for `user_id` once: an authenticator code for a step above the last one
/// used, or an unused recovery code, consumed in this transaction.
fn accept(
    conn: &mut PgConnection,
    key: &crate::crypto::aead::SealingKey,
    user_id: i64,
    typed: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Accepted>, AppError> {
    if let Some(code) = totp::as_totp_code(typed) {
        let Some(sealed) = sealed_secret(conn, user_id, true)? else {
            return Ok(None);
        };
        let secret = open_secret(key, user_id, &sealed)?;
        let Some(step) = totp::matching_step(&secret, &code, now.timestamp()) else {
            return Ok(None);
        };
        let used = diesel::update(
            user_totp::table
                .filter(user_totp::user_id.eq(user_id))
                .filter(user_totp::confirmed_at.is_not_null())
                .filter(user_totp::last_used_step.lt(step)),
        )
        .set(user_totp::last_used_step.eq(step))
        .execute(conn)?;
        return Ok((used == 1).then_some(Accepted::Authenticator));
    }
    if !queries::has_factor(conn, user_id)? {
        return Ok(None);
    }
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(totp::recovery_hash(typed)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    if used != 1 {
        return Ok(None);
    }
    let left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(Some(Accepted::Recovery { left }))
}

/// The second step of a login, for both doors.
pub async fn complete(
    state: &AppState,
    pending: PendingLogin,
    attempt: CodeAttempt,
) -> Result<SecondStep, AppError> {
    let clock = state.clock.clone();
    if pending.expired(clock.now()) {
        return Ok(SecondStep::Expired);
    }
    let cfg = state.config.throttle.clone();
    let keys = pending.keys.clone();
    let reserve_clock = clock.clone();
    let verdict = crate::db::run(&state.pool, move |conn| {
        throttle::reserve(conn, &cfg, reserve_clock.now(), &keys)
    })
    .await?;
    match verdict {
        Verdict::Locked { retry_after_secs } => {
            let label = pending.label.clone();
            let ip = attempt.client_ip.clone();
            let user_id = pending.user_id;
            crate::db::run(&state.pool, move |conn| {
                audit::record(
                    conn,
                    AuditEntry::system("auth.login_locked", "user", Some(user_id.to_string()))
                        .actor(None, label)
                        .summary("Two-factor code refused: too many failed attempts (locked)")
                        .client_ip(ip.as_deref()),
                )
            })
            .await?;
            return Ok(SecondStep::Locked { retry_after_secs });
        }
        Verdict::Proceed { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Proceed { .. } => {}
    }

    let key = queries::sealing_key(&state.config)?;
    let device_secret: Vec<u8> = state
        .config
        .jwt_secret
        .as_ref()
        .map(|s| s.expose().to_vec())
        .ok_or_else(|| AppError::internal("JWT secret not resolved"))?;
    let token_keys = state.keys.clone();
    let cfg = state.config.throttle.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let now = clock.now();
            let user_id = pending.user_id;
            let accepted = accept(conn, &key, user_id, &attempt.code, now)?;
            // The account may have been deactivated since the password step.
            let may_log_in =
                crate::auth::current_user::actor_without_session(conn, user_id, clock.today())?
                    .is_some();
            let how = match accepted {
                Some(how) if may_log_in => how,
                _ => {
                    throttle::record_failure(conn, &cfg, now, &pending.keys)?;
                    audit::record(
                        conn,
                        AuditEntry::system("auth.login_failed", "user", Some(user_id.to_string()))
                            .actor(None, pending.label.clone())
                            .summary("Failed login: wrong or already used two-factor code")
                            .client_ip(attempt.client_ip.as_deref()),
                    )?;
                    return Ok(SecondStep::Wrong);
                }
            };
            throttle::record_success(conn, now, &pending.keys)?;
            let summary = match how {
                Accepted::Authenticator => {
                    "Logged in with two-factor (authenticator code)".to_string()
                }
                Accepted::Recovery { left } => {
                    format!("Logged in with two-factor (a recovery code; {left} left)")
                }
            };
            let (tokens, device_token) = start_session(
                conn,
                &token_keys,
                &device_secret,
                SessionStart {
                    user_id,
                    device: pending.device.as_deref(),
                    client_ip: attempt.client_ip.as_deref(),
                    user_agent: attempt.user_agent.as_deref(),
                    label: pending.label.clone(),
                    summary: &summary,
                    now,
                },
            )?;
            Ok::<_, AppError>(SecondStep::Success {
                tokens,
                device_token,
            })
        })
    })
    .await
}
