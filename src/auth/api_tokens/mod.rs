//! Long-lived API tokens for scripts (issue #17; SECURITY.md row 29). A token is
//! `po_<8 visible characters>_<256 random bits>`: shown once when made, stored as its SHA-256
//! only, with a name, an optional expiry and scopes that narrow its owner's rights
//! (`domain::TokenScopes`; which route needs which scope is `api::route_scopes`). Every
//! request with one reads the token and its owner from the database, so a revocation, an
//! expiry or the owner's deactivation applies at the next request on every instance.
//!
//! `commands` makes and revokes them (audited), `queries` lists them for the pages and the API.

pub mod commands;
pub mod queries;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::auth::current_user::LoginRow;
use crate::authz::{Actor, Principal};
use crate::clock::Clock;
use crate::db::schema::{api_tokens, users};
use crate::domain::{ApiTokenId, ServiceAccountId, TokenScopes};
use crate::error::AppError;

/// How every API token starts: a bearer with it is an API token, anything else a JWT.
pub const PREFIX: &str = "po_";

/// How often the last use is written at most, per token (not a write per request).
const LAST_USED_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Whether a bearer credential is an API token (rather than a JWT access token).
pub fn is_api_token(bearer: &str) -> bool {
    bearer.starts_with(PREFIX)
}

/// A new token: (the secret to show once, its visible prefix, the hash to store).
fn generate() -> (String, String, Vec<u8>) {
    let visible: String = crate::crypto::random_bytes(4)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let prefix = format!("{PREFIX}{visible}");
    let secret = format!("{prefix}_{}", crate::crypto::random_token());
    let hash = crate::crypto::sha256(secret.as_bytes());
    (secret, prefix, hash)
}

/// Whose a token is, from its two owner columns (the schema holds exactly one).
pub fn owner(
    user_id: Option<i64>,
    service_account_id: Option<ServiceAccountId>,
) -> Option<Principal> {
    match (user_id, service_account_id) {
        (Some(id), None) => Some(Principal::Person(id)),
        (None, Some(id)) => Some(Principal::Service(id)),
        _ => None,
    }
}

/// The caller behind a valid API token.
pub struct TokenCaller {
    /// The owner, as the database says now (the same checks as a login's).
    pub actor: Actor,
    pub token_id: ApiTokenId,
    pub scopes: TokenScopes,
}

/// Why a token did not authenticate (each a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    /// The owner was deactivated, offboarded or lost their login role.
    OwnerCannotLogIn,
    /// The service account that owns it was disabled.
    ServiceDisabled,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "The API token is not valid.",
            Refusal::Revoked => "The API token has been revoked.",
            Refusal::Expired => "The API token has expired.",
            Refusal::OwnerCannotLogIn => "The API token's owner may no longer log in.",
            Refusal::ServiceDisabled => "The API token's service account is disabled.",
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
struct Presented {
    id: ApiTokenId,
    user_id: Option<i64>,
    service_account_id: Option<ServiceAccountId>,
    scopes: String,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

/// The caller behind `secret`, or why not; records the last use (at most once a minute: the
/// write, and its statement, only when the recorded use is older than that).
pub fn authenticate(
    conn: &mut PgConnection,
    secret: &str,
    client_ip: Option<&str>,
    clock: &Clock,
) -> Result<Result<TokenCaller, Refusal>, AppError> {
    let hash = crate::crypto::sha256(secret.as_bytes());
    // The token and the person who owns it (if a person does) in one statement.
    let Some((token, person)) = api_tokens::table
        .left_join(users::table)
        .filter(api_tokens::token_hash.eq(&hash))
        .select((Presented::as_select(), Option::<LoginRow>::as_select()))
        .first::<(Presented, Option<LoginRow>)>(conn)
        .optional()?
    else {
        return Ok(Err(Refusal::Unknown));
    };
    let now = clock.now();
    if token.revoked_at.is_some() {
        return Ok(Err(Refusal::Revoked));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Ok(Err(Refusal::Expired));
    }
    let Ok(scopes) = token.scopes.parse::<TokenScopes>() else {
        return Ok(Err(Refusal::Unknown));
    };
    let actor = match owner(token.user_id, token.service_account_id) {
        Some(Principal::Person(_)) => {
            match crate::auth::current_user::actor_of_row(conn, person, clock.today())? {
                Some(actor) => actor,
                None => return Ok(Err(Refusal::OwnerCannotLogIn)),
            }
        }
        Some(Principal::Service(id)) => {
            match crate::auth::service_accounts::actor(conn, id, clock.today())? {
                Some(actor) => actor,
                None => return Ok(Err(Refusal::ServiceDisabled)),
            }
        }
        None => return Ok(Err(Refusal::Unknown)),
    };
    if token
        .last_used_at
        .is_none_or(|at| at <= now - LAST_USED_EVERY)
    {
        // Still conditional: two requests at once write it once.
        diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(token.id))
                .filter(
                    api_tokens::last_used_at
                        .is_null()
                        .or(api_tokens::last_used_at.le(now - LAST_USED_EVERY)),
                ),
        )
        .set((
            api_tokens::last_used_at.eq(now),
            api_tokens::last_used_ip.eq(client_ip),
        ))
        .execute(conn)?;
    }
    Ok(Ok(TokenCaller {
        actor,
        token_id: token.id,
        scopes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_starts_with_its_prefix_and_hashes_to_32_bytes() {
        let (secret, prefix, hash) = generate();
        assert!(is_api_token(&secret));
        assert!(secret.starts_with(&format!("{prefix}_")));
        assert_eq!(prefix.len(), PREFIX.len() + 8);
        assert!(secret.len() >= prefix.len() + 40);
        assert_eq!(hash.len(), 32);
        assert_ne!(generate().0, secret);
    }
}
