//! Two-factor changes, each with its audit entry in one transaction: enrolment (start, then
//! confirm with a current code, which makes the recovery codes), turning it off and new
//! recovery codes (the user's own password), an Admin's reset of someone else's factor
//! (the Admin's own password; `authz` decides whose), and the Admins' policy.

use diesel::prelude::*;

use super::queries::{self, open_secret, seal_context, sealed_secret};
use super::totp;
use crate::audit::{self, AuditEntry};
use crate::auth::password::{self, Verified};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{app_settings, recovery_codes, user_totp, users};
use crate::domain::TwoFactorPolicy;
use crate::error::AppError;
use crate::web::forms::FieldErrors;
use crate::web::AppState;

/// What the enrolment page shows: the QR code and the same secret as text.
pub struct Enrolment {
    /// Base32, in groups of four for reading.
    pub secret_text: String,
    pub qr_svg: String,
}

fn enrolment(actor: &Actor, secret: &[u8]) -> Enrolment {
    let b32 = totp::base32(secret);
    let grouped = b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let account = if actor.username.is_empty() {
        actor.full_name.as_str()
    } else {
        actor.username.as_str()
    };
    Enrolment {
        secret_text: grouped,
        qr_svg: totp::qr_svg(&totp::otpauth_url("PortalOps", account, secret)),
    }
}

/// The enrolment started and not yet confirmed, shown again (a reload of the page).
pub fn pending_enrolment(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
) -> Result<Option<Enrolment>, AppError> {
    let key = queries::sealing_key(&state.config)?;
    match sealed_secret(conn, actor.person()?, false)? {
        Some(sealed) => Ok(Some(enrolment(
            actor,
            &open_secret(&key, actor.person()?, &sealed)?,
        ))),
        None => Ok(None),
    }
}

/// Starts enrolment with a new secret (replacing one started before); refused while a
/// confirmed factor exists (turn it off first).
pub fn start(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
) -> Result<Option<Enrolment>, AppError> {
    let key = queries::sealing_key(&state.config)?;
    let now = state.clock.now();
    conn.transaction(|conn| {
        if queries::has_factor(conn, actor.person()?)? {
            return Ok(None);
        }
        let secret = totp::new_secret();
        let sealed = key.seal(&secret, &seal_context(actor.person()?));
        diesel::insert_into(user_totp::table)
            .values((
                user_totp::user_id.eq(actor.person()?),
                user_totp::secret_ciphertext.eq(&sealed.ciphertext),
                user_totp::secret_nonce.eq(&sealed.nonce),
                user_totp::created_at.eq(now),
            ))
            .on_conflict(user_totp::user_id)
            .do_update()
            .set((
                user_totp::secret_ciphertext.eq(&sealed.ciphertext),
                user_totp::secret_nonce.eq(&sealed.nonce),
                user_totp::created_at.eq(now),
                user_totp::last_used_step.eq(-1),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "two_factor.enrolment_started",
                "user",
                Some(actor.person()?.to_string()),
            )
            .summary("Started setting up two-factor login"),
        )?;
        Ok(Some(enrolment(actor, &secret)))
    })
}

pub enum Confirmed {
    /// On: the recovery codes, to show once.
    Enabled(Vec<String>),
    Invalid(FieldErrors),
}

/// Replaces the user's recovery codes with new ones (hashed); returns them in clear.
fn new_recovery_codes(conn: &mut PgConnection, user_id: i64) -> Result<Vec<String>, AppError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let codes = totp::new_recovery_codes();
    let rows: Vec<_> = codes
        .iter()
        .map(|c| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(totp::recovery_hash(c)),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(conn)?;
    Ok(codes)
}

/// Confirms the started enrolment with a current code from the authenticator: the factor
/// is on from now, that code's step is used, and ten recovery codes are made.
pub fn confirm(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    typed: &str,
) -> Result<Confirmed, AppError> {
    let key = queries::sealing_key(&state.config)?;
    let now = state.clock.now();
    let invalid = |msg: &str| {
        let mut e = FieldErrors::new();
        e.add("code", msg);
        Ok(Confirmed::Invalid(e))
    };
    let Some(sealed) = sealed_secret(conn, actor.person()?, false)? else {
        return invalid("Start the set-up first: there is no authenticator waiting for a code.");
    };
    let Some(code) = totp::as_totp_code(typed) else {
        return invalid("Enter the 6-digit code your authenticator app shows.");
    };
    let secret = open_secret(&key, actor.person()?, &sealed)?;
    let Some(step) = totp::matching_step(&secret, &code, now.timestamp()) else {
        return invalid(
            "This code is not right. Check the time on your phone and enter the code shown now.",
        );
    };
    conn.transaction(|conn| {
        let updated = diesel::update(
            user_totp::table
                .filter(user_totp::user_id.eq(actor.person()?))
                .filter(user_totp::confirmed_at.is_null())
                .filter(user_totp::secret_nonce.eq(&sealed.nonce))
                .filter(user_totp::last_used_step.lt(step)),
        )
        .set((
            user_totp::confirmed_at.eq(now),
            user_totp::last_used_step.eq(step),
        ))
        .execute(conn)?;
        if updated == 0 {
            let mut e = FieldErrors::new();
            e.add(
                "code",
                "This set-up changed meanwhile. Reload the page and try again.",
            );
            return Ok(Confirmed::Invalid(e));
        }
        let codes = new_recovery_codes(conn, actor.person()?)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "two_factor.enabled",
                "user",
                Some(actor.person()?.to_string()),
            )
            .summary("Turned on two-factor login (authenticator app); 10 recovery codes made"),
        )?;
        Ok(Confirmed::Enabled(codes))
    })
}

/// Whether `password` is the current password of `user_id` (verified on the hashing pool).
pub async fn password_matches(
    state: &AppState,
    user_id: i64,
    password: String,
) -> Result<bool, AppError> {
    let stored: Option<String> = crate::db::run(&state.pool, move |conn| {
        Ok(users::table
            .find(user_id)
            .select(users::password_hash)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten())
    })
    .await?;
    let stored = stored.unwrap_or_else(|| password::dummy_hash().to_string());
    let verified = state
        .hasher
        .run(move || password::verify(&password, &stored))
        .await?;
    Ok(verified != Verified::Mismatch)
}

fn wrong_password(field: &'static str) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.add(field, "This is not your current password.");
    e
}

/// Deletes a user's factor and recovery codes; whether there was a factor.
fn remove_factor(conn: &mut PgConnection, user_id: i64) -> Result<bool, AppError> {
    let removed =
        diesel::delete(user_totp::table.filter(user_totp::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(removed > 0)
}

/// Turns the actor's own second factor off (their current password required).
pub async fn disable(
    state: &AppState,
    actor: &Actor,
    current_password: String,
) -> Result<Result<(), FieldErrors>, AppError> {
    if !password_matches(state, actor.person()?, current_password).await? {
        return Ok(Err(wrong_password("disable_password")));
    }
    let actor = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if remove_factor(conn, actor.person()?)? {
                audit::record(
                    conn,
                    AuditEntry::by(
                        &actor,
                        "two_factor.disabled",
                        "user",
                        Some(actor.person()?.to_string()),
                    )
                    .summary("Turned off own two-factor login"),
                )?;
            }
            Ok(Ok(()))
        })
    })
    .await
}

/// New recovery codes for the actor (the old ones stop working); their password required.
/// `None` when they have no factor.
pub async fn regenerate_codes(
    state: &AppState,
    actor: &Actor,
    current_password: String,
) -> Result<Result<Option<Vec<String>>, FieldErrors>, AppError> {
    if !password_matches(state, actor.person()?, current_password).await? {
        return Ok(Err(wrong_password("current_password")));
    }
    let actor = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !queries::has_factor(conn, actor.person()?)? {
                return Ok(Ok(None));
            }
            let codes = new_recovery_codes(conn, actor.person()?)?;
            audit::record(
                conn,
                AuditEntry::by(
                    &actor,
                    "two_factor.recovery_codes_renewed",
                    "user",
                    Some(actor.person()?.to_string()),
                )
                .summary("Made new recovery codes (the old ones no longer work)"),
            )?;
            Ok(Ok(Some(codes)))
        })
    })
    .await
}

pub enum ResetOutcome {
    /// Removed: the person's name.
    Reset(String),
    /// The person had no second factor.
    NoFactor(String),
    WrongPassword(FieldErrors),
}

/// An Admin removes another person's second factor (lost phone), re-authenticating with
/// their own password; never for a person of a higher role (`authz`). Audited.
pub async fn reset(
    state: &AppState,
    actor: &Actor,
    target: i64,
    own_password: String,
) -> Result<ResetOutcome, AppError> {
    let a = actor.clone();
    let t = crate::db::run(&state.pool, move |conn| {
        queries::reset_target(conn, &a, target)
    })
    .await?;
    let (role, name) = (t.role, t.name);
    if !password_matches(state, actor.person()?, own_password).await? {
        return Ok(ResetOutcome::WrongPassword(wrong_password(
            "current_password",
        )));
    }
    let actor = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !remove_factor(conn, target)? {
                return Ok(ResetOutcome::NoFactor(name));
            }
            audit::record(
                conn,
                AuditEntry::by(&actor, "two_factor.reset", "user", Some(target.to_string()))
                    .summary(format!(
                    "Reset the two-factor login of {name} ({}); their recovery codes were removed",
                    role.label()
                )),
            )?;
            Ok(ResetOutcome::Reset(name))
        })
    })
    .await
}

/// Sets who must log in with a second factor (Admins; `ManageSettings` checked by the
/// caller's page), audited.
pub fn set_policy(
    conn: &mut PgConnection,
    actor: &Actor,
    policy: TwoFactorPolicy,
) -> Result<(), AppError> {
    authorize(actor, Action::ManageSettings)?;
    conn.transaction(|conn| {
        let before = queries::policy(conn)?;
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::key.eq(queries::POLICY_SETTING),
                app_settings::value.eq(policy.as_str()),
            ))
            .on_conflict(app_settings::key)
            .do_update()
            .set(app_settings::value.eq(policy.as_str()))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "settings.two_factor_required", "settings", None)
                .summary(format!("Two-factor login required for: {}", policy.label()))
                .before(serde_json::json!({ "two_factor_required": before.as_str() }))
                .after(serde_json::json!({ "two_factor_required": policy.as_str() })),
        )?;
        Ok(())
    })
}

/// `portalops admin reset-two-factor`: the way back when the only Admin lost their phone and
/// their recovery codes. Whoever runs it has the server's shell, which is more than any role;
/// audited as done from the command line. The person's name, or `None` when no login has
/// that username; `Some((name, false))` when they had no factor.
pub fn reset_from_shell(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<(String, bool)>, AppError> {
    let wanted = username.trim().to_lowercase();
    conn.transaction(|conn| {
        let found: Option<(i64, String)> = users::table
            .filter(crate::db::lower_nullable(users::username).eq(&wanted))
            .select((users::id, users::full_name))
            .first(conn)
            .optional()?;
        let Some((id, name)) = found else {
            return Ok(None);
        };
        if !remove_factor(conn, id)? {
            return Ok(Some((name, false)));
        }
        audit::record(
            conn,
            AuditEntry::system("two_factor.reset", "user", Some(id.to_string()))
                .actor(None, "command line")
                .summary(format!(
                    "Reset the two-factor login of {name} with `portalops admin reset-two-factor`"
                )),
        )?;
        Ok(Some((name, true)))
    })
}
