//! Login and password changes: throttle → verify (on the hashing pool) → change + audit in
//! one transaction.

use diesel::prelude::*;

use super::password::{self, Verified};
use super::throttle::{self, Verdict};
use super::tokens::{self, IssuedTokens};
use super::two_factor::login::PendingLogin;
use super::{forwarding, known_device};
use crate::audit::{self, AuditEntry};
use crate::authz::{Actor, Role};
use crate::db::lower_nullable;
use crate::db::schema::users;
use crate::domain::EmploymentStatus;
use crate::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::AppState;

pub enum LoginOutcome {
    /// Logged in; `device_token` marks this client as a known device of the account.
    Success {
        tokens: IssuedTokens,
        device_token: String,
    },
    /// Wrong username or password (deliberately not told apart), or a user who may not log in.
    Failed,
    Locked {
        retry_after_secs: u64,
    },
    /// The password was right and the account has a second factor: no session yet. The
    /// door keeps this (the page in the encrypted session cookie) and asks for the code
    /// (`two_factor::login::complete`).
    SecondFactor(PendingLogin),
}

pub struct LoginAttempt {
    pub username: String,
    pub password: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The known-device token the client presented (cookie or API field), if any.
    pub device_token: Option<String>,
    /// The peer, when it sent `X-Forwarded-For` without being a trusted proxy.
    pub untrusted_forwarder: Option<String>,
}

type LoginUser = (
    i64,
    Option<String>,
    Role,
    bool,
    EmploymentStatus,
    Option<chrono::NaiveDate>,
);

/// The login both doors use: throttle (the attempt reserved before the password is
/// verified, see `throttle`) → verify on the hashing pool → session + audit in one
/// transaction.
pub async fn login(state: &AppState, attempt: LoginAttempt) -> Result<LoginOutcome, AppError> {
    let username = attempt.username.trim().to_lowercase();
    let ip = attempt
        .client_ip
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let secret: Vec<u8> = state
        .config
        .jwt_secret
        .as_ref()
        .map(|s| s.expose().to_vec())
        .ok_or_else(|| AppError::internal("JWT secret not resolved"))?;
    let name_key = throttle::username_key(&secret, &username);
    let cfg = state.config.throttle.clone();
    let clock = state.clock.clone();

    let reserve_cfg = cfg.clone();
    let lookup_name = username.clone();
    let presented = attempt.device_token.clone();
    let forwarder = attempt.untrusted_forwarder.clone();
    let device_secret = secret.clone();
    let (verdict, user, keys, device) = crate::db::run(&state.pool, move |conn| {
        let now = clock.now();
        let user: Option<LoginUser> = users::table
            .filter(lower_nullable(users::username).eq(&lookup_name))
            .select((
                users::id,
                users::password_hash,
                users::role,
                users::is_active,
                users::employment_status,
                users::end_date,
            ))
            .first(conn)
            .optional()?;
        let device = match (&user, &presented) {
            (Some(u), Some(token)) => known_device::verify(&device_secret, token, u.0, now),
            _ => None,
        };
        let keys = throttle::keys_for(
            &reserve_cfg,
            &throttle::Subject {
                username_key: &name_key,
                user_id: user.as_ref().map(|u| u.0),
                client_ip: &ip,
                known_device: device.as_deref(),
            },
        );
        if let Some(peer) = &forwarder {
            forwarding::record(conn, peer, now)?;
        }
        let verdict = throttle::reserve(conn, &reserve_cfg, now, &keys)?;
        Ok((verdict, user, keys, device))
    })
    .await?;

    // What was typed is recorded (audit log) only masked: it may hold a card number.
    let label = audit::typed_label(&username);
    match verdict {
        Verdict::Locked { retry_after_secs } => {
            let ip_for_audit = attempt.client_ip.clone();
            crate::db::run(&state.pool, move |conn| {
                audit::record(
                    conn,
                    AuditEntry::system("auth.login_locked", "login", None)
                        .actor(None, label)
                        .summary("Login refused: too many failed attempts (locked)")
                        .client_ip(ip_for_audit.as_deref()),
                )
            })
            .await?;
            return Ok(LoginOutcome::Locked { retry_after_secs });
        }
        Verdict::Proceed { delay } if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Proceed { .. } => {}
    }

    // An unknown username is verified against a dummy hash: same cost as a wrong password.
    let stored = user
        .as_ref()
        .and_then(|u| u.1.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let pw = attempt.password.clone();
    let verified = state
        .hasher
        .run(move || password::verify(&pw, &stored))
        .await?;

    // With password login switched off, only the break-glass account uses its password.
    let password_allowed = state.config.password_login.allows(&username);
    let may_log_in = |u: &LoginUser| {
        u.1.is_some()
            && password_allowed
            && u.3
            && super::current_user::login_allowed_by_status(u.4, u.5, state.clock.today())
            && u.2.can_log_in()
    };
    let success = match (&user, &verified) {
        (Some(u), Verified::Match { .. }) => may_log_in(u).then_some(u.0),
        _ => None,
    };

    let Some(user_id) = success else {
        let ip_for_audit = attempt.client_ip.clone();
        let user_id = user.as_ref().map(|u| u.0);
        let clock = state.clock.clone();
        crate::db::run(&state.pool, move |conn| {
            conn.transaction(|conn| {
                throttle::record_failure(conn, &cfg, clock.now(), &keys)?;
                audit::record(
                    conn,
                    AuditEntry::system(
                        "auth.login_failed",
                        "user",
                        user_id.map(|id| id.to_string()),
                    )
                    .actor(None, label)
                    .summary("Failed login")
                    .client_ip(ip_for_audit.as_deref()),
                )?;
                Ok::<_, AppError>(())
            })
        })
        .await?;
        return Ok(LoginOutcome::Failed);
    };

    let new_hash = match verified {
        Verified::Match { rehash: true } => {
            let pw = attempt.password;
            Some(state.hasher.run(move || password::hash(&pw)).await??)
        }
        _ => None,
    };
    let token_keys = state.keys.clone();
    let clock = state.clock.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let now = clock.now();
            if let Some(h) = &new_hash {
                diesel::update(users::table.find(user_id))
                    .set(users::password_hash.eq(h))
                    .execute(conn)?;
            }
            if super::two_factor::queries::has_factor(conn, user_id)? {
                // No session before the code: the password's attempt is given back, and
                // the code is reserved on the same keys.
                throttle::release(conn, now, &keys)?;
                return Ok(LoginOutcome::SecondFactor(PendingLogin::new(
                    user_id, keys, device, label, now,
                )));
            }
            throttle::record_success(conn, now, &keys)?;
            let summary = if new_hash.is_some() {
                "Logged in (password hash upgraded to argon2id)"
            } else {
                "Logged in"
            };
            let (tokens, device_token) = start_session(
                conn,
                &token_keys,
                &secret,
                SessionStart {
                    user_id,
                    device: device.as_deref(),
                    client_ip: attempt.client_ip.as_deref(),
                    user_agent: attempt.user_agent.as_deref(),
                    label,
                    summary,
                    now,
                },
            )?;
            Ok::<_, AppError>(LoginOutcome::Success {
                tokens,
                device_token,
            })
        })
    })
    .await
}

/// What starting a session after a successful login needs.
pub(super) struct SessionStart<'a> {
    pub user_id: i64,
    /// The known device the client presented (checked), kept in the new device token.
    pub device: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// What was typed as the username, masked.
    pub label: String,
    pub summary: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Starts the session of a login that passed every check, audits it (`auth.login`) and
/// issues the known-device token; inside the caller's transaction. Both the password-only
/// login and the second step of a two-factor login end here.
pub(super) fn start_session(
    conn: &mut PgConnection,
    token_keys: &tokens::TokenKeys,
    device_secret: &[u8],
    s: SessionStart<'_>,
) -> Result<(IssuedTokens, String), AppError> {
    let issued = tokens::start_session(conn, token_keys, s.user_id, s.client_ip, s.user_agent)?;
    audit::record(
        conn,
        AuditEntry::system("auth.login", "session", Some(issued.session_id.to_string()))
            .actor(Some(s.user_id), s.label)
            .summary(s.summary)
            .client_ip(s.client_ip),
    )?;
    let device_token = known_device::issue(device_secret, s.user_id, s.device, s.now);
    Ok((issued, device_token))
}

/// Logs out: revokes the session (refresh-token family) and audits it.
pub async fn logout(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    let actor = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            tokens::revoke_session(conn, actor.session_id, "logout")?;
            audit::record(
                conn,
                AuditEntry::by(
                    &actor,
                    "auth.logout",
                    "session",
                    Some(actor.session_id.to_string()),
                )
                .summary("Logged out"),
            )?;
            Ok(())
        })
    })
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

pub enum ChangeOutcome {
    Changed { other_sessions_ended: usize },
    Invalid(FieldErrors),
}

/// Changes the actor's own password (current password required) and ends their other sessions.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    form: PasswordChange,
) -> Result<ChangeOutcome, AppError> {
    let mut errors = FieldErrors::new();
    if let Err(m) = password::check_policy(
        &form.new_password,
        Some(&actor.username),
        Some(&actor.full_name),
    ) {
        errors.add("new_password", m);
    } else if form.new_password != form.new_password_confirm {
        errors.add("new_password_confirm", "The two passwords differ.");
    }
    let user_id = actor.person()?;
    let stored: Option<String> = crate::db::run(&state.pool, move |conn| {
        Ok(users::table
            .find(user_id)
            .select(users::password_hash)
            .first(conn)?)
    })
    .await?;
    let current = form.current_password.clone();
    let stored = stored.unwrap_or_else(|| password::dummy_hash().to_string());
    let verified = state
        .hasher
        .run(move || password::verify(&current, &stored))
        .await?;
    if verified == Verified::Mismatch {
        errors.add("current_password", "This is not your current password.");
    }
    if !errors.is_empty() {
        return Ok(ChangeOutcome::Invalid(errors));
    }
    let new_password = form.new_password;
    let hash = state
        .hasher
        .run(move || password::hash(&new_password))
        .await??;
    let actor = actor.clone();
    let ended = crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            diesel::update(users::table.find(actor.person()?))
                .set((
                    users::password_hash.eq(&hash),
                    users::updated_at.eq(crate::clock::now()),
                ))
                .execute(conn)?;
            let ended = tokens::revoke_user_sessions(
                conn,
                actor.person()?,
                Some(actor.session_id),
                "password changed",
            )?;
            audit::record(
                conn,
                AuditEntry::by(
                    &actor,
                    "user.password_changed",
                    "user",
                    Some(actor.person()?.to_string()),
                )
                .summary(format!(
                    "Changed own password; {ended} other session(s) ended"
                )),
            )?;
            Ok::<_, AppError>(ended)
        })
    })
    .await?;
    Ok(ChangeOutcome::Changed {
        other_sessions_ended: ended,
    })
}
