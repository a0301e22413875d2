//! Reads of two-factor state: whether a user has a confirmed factor, their enrolment and
//! recovery codes left, the Admins' policy, and the gate every authenticated request passes.

use diesel::prelude::*;

use crate::authz::Role;
use crate::crypto::aead::{Sealed, SealingKey};
use crate::db::schema::{app_settings, recovery_codes, user_totp, users};
use crate::domain::TwoFactorPolicy;
use crate::error::AppError;

/// The `app_settings` key of the policy.
pub const POLICY_SETTING: &str = "two_factor_required";

/// The key TOTP secrets are sealed with (`PORTALOPS_ENCRYPTION_KEY`).
pub fn sealing_key(config: &crate::config::Config) -> Result<SealingKey, AppError> {
    config
        .encryption_key
        .as_ref()
        .map(|k| SealingKey::from_secret(k.expose()))
        .ok_or_else(|| AppError::internal("encryption key not resolved"))
}

/// What a user's TOTP secret is sealed for: its row, so it opens for no other user.
pub fn seal_context(user_id: i64) -> String {
    format!("user_totp:{user_id}")
}

/// Whether the user has a confirmed second factor (a login then needs its code).
pub fn has_factor(conn: &mut PgConnection, user_id: i64) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)?)
}

/// The Admins' choice of who must have a second factor (nobody until they choose).
pub fn policy(conn: &mut PgConnection) -> Result<TwoFactorPolicy, AppError> {
    let stored: Option<String> = app_settings::table
        .find(POLICY_SETTING)
        .select(app_settings::value)
        .first(conn)
        .optional()?;
    parse_policy(stored)
}

fn parse_policy(stored: Option<String>) -> Result<TwoFactorPolicy, AppError> {
    match stored {
        None => Ok(TwoFactorPolicy::Nobody),
        Some(text) => text
            .parse()
            .map_err(|e| AppError::internal(format!("app_settings.{POLICY_SETTING}: {e}"))),
    }
}

/// The gate of every authenticated request but enrolment and logout: the policy requires a
/// second factor of this user's role, they have a password and no second factor yet
/// (`current_user` reads the three with the user and the session: one statement).
///
/// The second factor guards the PortalOps password: a person without one (signing in only
/// through single sign-on, docs/sso.md) is authenticated by the provider and its own
/// multi-factor rules, and is not sent to enrol a factor no login of theirs would ask for.
pub fn enrolment_due(
    stored_policy: Option<String>,
    role: Role,
    enrolled: bool,
    has_password: bool,
) -> Result<bool, AppError> {
    Ok(parse_policy(stored_policy)?.requires(role) && !enrolled && has_password)
}

/// A user's two-factor state, for their account page.
pub struct Status {
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A secret whose enrolment was started and not yet confirmed.
    pub pending: Option<Sealed>,
    pub recovery_left: i64,
    pub policy: TwoFactorPolicy,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = user_totp, check_for_backend(diesel::pg::Pg))]
struct FactorRow {
    secret_ciphertext: Vec<u8>,
    secret_nonce: Vec<u8>,
    confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn status(conn: &mut PgConnection, user_id: i64) -> Result<Status, AppError> {
    let row: Option<FactorRow> = user_totp::table
        .find(user_id)
        .select(FactorRow::as_select())
        .first(conn)
        .optional()?;
    let recovery_left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    let (confirmed_at, pending) = match row {
        Some(FactorRow {
            confirmed_at: Some(at),
            ..
        }) => (Some(at), None),
        Some(FactorRow {
            secret_ciphertext: ciphertext,
            secret_nonce: nonce,
            confirmed_at: None,
        }) => (None, Some(Sealed { ciphertext, nonce })),
        None => (None, None),
    };
    Ok(Status {
        confirmed_at,
        pending,
        recovery_left,
        policy: policy(conn)?,
    })
}

/// The sealed secret of a user's factor: the confirmed one, or the pending one.
pub(super) fn sealed_secret(
    conn: &mut PgConnection,
    user_id: i64,
    confirmed: bool,
) -> Result<Option<Sealed>, AppError> {
    let mut q = user_totp::table
        .filter(user_totp::user_id.eq(user_id))
        .into_boxed();
    q = if confirmed {
        q.filter(user_totp::confirmed_at.is_not_null())
    } else {
        q.filter(user_totp::confirmed_at.is_null())
    };
    Ok(
        q.select((user_totp::secret_ciphertext, user_totp::secret_nonce))
            .first::<(Vec<u8>, Vec<u8>)>(conn)
            .optional()?
            .map(|(ciphertext, nonce)| Sealed { ciphertext, nonce }),
    )
}

/// Opens a sealed secret of `user_id`.
pub(super) fn open_secret(
    key: &SealingKey,
    user_id: i64,
    sealed: &Sealed,
) -> Result<Vec<u8>, AppError> {
    key.open(sealed, &seal_context(user_id)).ok_or_else(|| {
        AppError::internal("a two-factor secret does not open with PORTALOPS_ENCRYPTION_KEY")
    })
}

/// The person whose second factor `actor` would reset: 404 when they do not exist, 403
/// when `actor` may not reset theirs (not an Admin, or the person's role is higher).
pub struct ResetTarget {
    pub name: String,
    pub role: Role,
    pub has_factor: bool,
}

pub fn reset_target(
    conn: &mut PgConnection,
    actor: &crate::authz::Actor,
    user_id: i64,
) -> Result<ResetTarget, AppError> {
    crate::authz::authorize(actor, crate::authz::Action::ManagePeople)?;
    let (name, role): (String, Role) = users::table
        .find(user_id)
        .select((users::full_name, users::role))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    crate::authz::authorize(
        actor,
        crate::authz::Action::ResetSecondFactor { target: role },
    )?;
    Ok(ResetTarget {
        name,
        role,
        has_factor: has_factor(conn, user_id)?,
    })
}
