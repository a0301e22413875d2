//! Known-device tokens (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after
//! a successful login the browser gets a signed cookie, and an API client a `device_token`,
//! naming the account and a random device id. Presented at a later login for the same
//! account, it exempts that client from the account's and the address's locks: its failures
//! count against the device alone. The token is no credential — the password is still
//! checked — so it is stateless: an HMAC under the JWT secret, valid for `LIFETIME`.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};

/// How long a known-device token is honoured after the login that issued it.
pub const LIFETIME: chrono::Duration = chrono::Duration::days(180);

/// The cookie's name: `__Host-` (Secure, Path=/, no Domain) whenever cookies are Secure.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-portalops-device"
    } else {
        "portalops_device"
    }
}

fn mac(secret: &[u8], payload: &str) -> Hmac<sha2::Sha256> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"portalops-known-device-v1\0");
    mac.update(payload.as_bytes());
    mac
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A token for `user_id`: `device` keeps an existing device id (a login from a device that
/// was already known), otherwise a new random one.
pub fn issue(secret: &[u8], user_id: i64, device: Option<&str>, now: DateTime<Utc>) -> String {
    let device = device
        .map(str::to_string)
        .unwrap_or_else(|| B64.encode(super::random_bytes(16)));
    let payload = format!("{user_id}.{device}.{}", now.timestamp());
    let tag = B64.encode(mac(secret, &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The device id, when `token` is a genuine, unexpired token for `user_id`.
pub fn verify(secret: &[u8], token: &str, user_id: i64, now: DateTime<Utc>) -> Option<String> {
    let (payload, tag) = token.rsplit_once('.')?;
    let mut parts = payload.split('.');
    let (uid, device, issued) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || uid.parse::<i64>().ok()? != user_id || device.len() > 64 {
        return None;
    }
    let issued = DateTime::from_timestamp(issued.parse().ok()?, 0)?;
    if issued > now || now - issued > LIFETIME {
        return None;
    }
    mac(secret, payload)
        .verify_slice(&B64.decode(tag).ok()?)
        .ok()?;
    Some(device.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_account_secret_and_lifetime() {
        let now = crate::clock::now();
        let t = issue(b"secret", 7, None, now);
        let device = verify(b"secret", &t, 7, now).expect("valid");
        assert_eq!(verify(b"secret", &t, 8, now), None, "another account");
        assert_eq!(verify(b"other", &t, 7, now), None, "another secret");
        assert_eq!(
            verify(b"secret", &t, 7, now + LIFETIME * 2),
            None,
            "expired"
        );
        let again = issue(b"secret", 7, Some(&device), now);
        assert_eq!(verify(b"secret", &again, 7, now), Some(device));
        let forged = t.replacen("7.", "8.", 1);
        assert_eq!(verify(b"secret", &forged, 8, now), None, "payload edited");
    }
}
