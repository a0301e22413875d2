//! JWT access tokens (HS256, issuer and audience checked, no leeway) and the key that
//! derives a refresh token's successor. Sessions and refresh-token rotation are
//! `auth::tokens`.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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
    pub fn successor(&self, token: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.successor_key)
            .expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}
