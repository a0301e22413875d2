//! JWT access tokens (HS256 pinned, iss/aud/sub/iat/exp/jti checked) and opaque refresh
//! tokens, rotated on every use, stored only as SHA-256 hashes, grouped in a family
//! (`auth_sessions`) that re-use revokes as a whole.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::db::schema::{auth_sessions, refresh_tokens};
use crate::error::AppError;

pub use crate::crypto::jwt::{AccessError, Claims, TokenKeys, AUDIENCE, ISSUER};

/// A login's tokens.
pub struct IssuedTokens {
    pub session_id: i64,
    pub access: String,
    pub refresh: String,
}

/// Starts a session (refresh-token family) for `user_id`. Call inside the login transaction.
pub fn start_session(
    conn: &mut PgConnection,
    keys: &TokenKeys,
    user_id: i64,
    client_ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<IssuedTokens, AppError> {
    let expires_at = crate::clock::now()
        + chrono::Duration::from_std(keys.refresh_ttl).unwrap_or(chrono::TimeDelta::days(14));
    let session_id: i64 = diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::user_id.eq(user_id),
            auth_sessions::expires_at.eq(expires_at),
            auth_sessions::client_ip.eq(client_ip),
            auth_sessions::user_agent
                .eq(user_agent.map(|ua| ua.chars().take(300).collect::<String>())),
        ))
        .returning(auth_sessions::id)
        .get_result(conn)?;
    let refresh = super::random_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(super::sha256(refresh.as_bytes())),
        ))
        .execute(conn)?;
    Ok(IssuedTokens {
        session_id,
        access: keys.issue_access(user_id, session_id)?,
        refresh,
    })
}

#[derive(Debug)]
pub enum RefreshOutcome {
    Rotated {
        user_id: i64,
        session_id: i64,
        refresh: String,
    },
    /// Unknown token, or its session is revoked or expired.
    Invalid,
    /// A rotated token came back after the grace window: the family has been revoked.
    ReuseDetected,
}

#[derive(Queryable)]
struct TokenRow {
    token_id: i64,
    session_id: i64,
    rotated_at: Option<DateTime<Utc>>,
    user_id: i64,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Exchanges a refresh token for its successor, in one transaction.
pub fn rotate(
    conn: &mut PgConnection,
    keys: &TokenKeys,
    token: &str,
    client_ip: Option<&str>,
) -> Result<RefreshOutcome, AppError> {
    conn.transaction(|conn| {
        let found: Option<TokenRow> = refresh_tokens::table
            .inner_join(auth_sessions::table)
            .filter(refresh_tokens::token_hash.eq(super::sha256(token.as_bytes())))
            .select((
                refresh_tokens::id,
                refresh_tokens::session_id,
                refresh_tokens::rotated_at,
                auth_sessions::user_id,
                auth_sessions::expires_at,
                auth_sessions::revoked_at,
            ))
            .for_update()
            .first(conn)
            .optional()?;
        let Some(TokenRow {
            token_id,
            session_id,
            rotated_at,
            user_id,
            expires_at,
            revoked_at,
        }) = found
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        let now = crate::clock::now();
        if revoked_at.is_some() || expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        let successor = keys.successor(token);
        match rotated_at {
            None => {
                diesel::update(refresh_tokens::table.find(token_id))
                    .set(refresh_tokens::rotated_at.eq(now))
                    .execute(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values((
                        refresh_tokens::session_id.eq(session_id),
                        refresh_tokens::token_hash.eq(super::sha256(successor.as_bytes())),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            Some(at) if (now - at).to_std().unwrap_or_default() <= keys.refresh_grace => {}
            Some(_) => {
                revoke_session(conn, session_id, "refresh token re-used")?;
                audit::record(
                    conn,
                    AuditEntry::system("auth.refresh_reuse", "session", Some(session_id.to_string()))
                        .actor(Some(user_id), format!("user #{user_id}"))
                        .summary("A rotated refresh token was presented again: the whole session was revoked")
                        .client_ip(client_ip),
                )?;
                return Ok(RefreshOutcome::ReuseDetected);
            }
        }
        diesel::update(auth_sessions::table.find(session_id))
            .set(auth_sessions::last_seen_at.eq(now))
            .execute(conn)?;
        Ok(RefreshOutcome::Rotated {
            user_id,
            session_id,
            refresh: successor,
        })
    })
}

pub fn revoke_session(
    conn: &mut PgConnection,
    session_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    diesel::update(
        auth_sessions::table
            .find(session_id)
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(crate::clock::now()),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(())
}

/// Revokes every session of a user except `keep` (password change, deactivation).
pub fn revoke_user_sessions(
    conn: &mut PgConnection,
    user_id: i64,
    keep: Option<i64>,
    reason: &str,
) -> Result<usize, AppError> {
    let n = diesel::update(
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user_id))
            .filter(auth_sessions::revoked_at.is_null())
            .filter(auth_sessions::id.ne(keep.unwrap_or(-1))),
    )
    .set((
        auth_sessions::revoked_at.eq(crate::clock::now()),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::time::Duration;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &[7u8; 48],
            Duration::from_secs(60),
            Duration::from_secs(600),
            Duration::from_secs(10),
        )
    }

    #[test]
    fn issued_tokens_decode() {
        let k = keys();
        let t = k.issue_access(42, 7).expect("sign");
        let c = k.decode_access(&t).expect("valid");
        assert_eq!((c.sub.as_str(), c.sid), ("42", 7));
    }

    #[test]
    fn forged_and_alg_none_tokens_are_refused() {
        let k = keys();
        let t = k.issue_access(42, 7).expect("sign");
        let other = TokenKeys::new(
            &[8u8; 48],
            Duration::from_secs(60),
            Duration::from_secs(600),
            Duration::from_secs(10),
        );
        assert_eq!(other.decode_access(&t).unwrap_err(), AccessError::Invalid);
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let payload = t.split('.').nth(1).expect("payload");
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), payload);
        assert_eq!(k.decode_access(&none).unwrap_err(), AccessError::Invalid);
        let string_exp = format!(
            "{}.{}.",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(
                r#"{"iss":"portalops","aud":"portalops-web","sub":"1","sid":1,"iat":1,"exp":"9999999999","jti":"x"}"#
            )
        );
        assert_eq!(
            k.decode_access(&string_exp).unwrap_err(),
            AccessError::Invalid
        );
        assert_eq!(
            k.decode_access(&super::super::random_token()).unwrap_err(),
            AccessError::Invalid
        );
    }

    #[test]
    fn successor_is_stable_and_distinct() {
        let k = keys();
        assert_eq!(k.successor("abc"), k.successor("abc"));
        assert_ne!(k.successor("abc"), k.successor("abd"));
    }
}
