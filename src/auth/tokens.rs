//! JWT access tokens (HS256 pinned, iss/aud/sub/iat/exp/jti checked) and opaque refresh
//! tokens, rotated on every use, stored only as SHA-256 hashes, grouped in a family
//! (`auth_sessions`) that re-use revokes as a whole.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac as _};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::audit::{self, AuditEntry};
use crate::db::schema::{auth_sessions, refresh_tokens};
use crate::error::AppError;

pub const ISSUER: &str = "portalops";
pub const AUDIENCE: &str = "portalops-web";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session (refresh-token family) this token belongs to.
    pub sid: i64,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signing keys, derived once from the configured secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    successor_key: Vec<u8>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub refresh_grace: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AccessError {
    Expired,
    Invalid,
}

impl TokenKeys {
    pub fn new(
        secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
        refresh_grace: Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"portalops refresh-token successor key");
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            successor_key: mac.finalize().into_bytes().to_vec(),
            access_ttl,
            refresh_ttl,
            refresh_grace,
        }
    }

    pub fn issue_access(&self, user_id: i64, session_id: i64) -> Result<String, AppError> {
        let now = crate::clock::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
            jti: super::random_token(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("cannot sign token: {e}")))
    }

    pub fn decode_access(&self, token: &str) -> Result<Claims, AccessError> {
        use jsonwebtoken::errors::ErrorKind;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(AccessError::Expired),
            Err(_) => Err(AccessError::Invalid),
        }
    }

    /// The token that replaces `token` at rotation. Derived, not random, so that concurrent
    /// requests presenting the same token inside the grace window all get the same successor.
    fn successor(&self, token: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.successor_key)
            .expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

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
