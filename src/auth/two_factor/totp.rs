//! TOTP (RFC 6238) with `totp-rs`: new secrets, the code of a time step, which step a typed
//! code belongs to (the current one or one either side, for clocks a little apart), the
//! `otpauth://` address authenticator apps read, its QR code as inline SVG, and recovery
//! codes. No database here: `commands` and `login` make codes single-use.

use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per time step (what authenticator apps assume).
pub const STEP_SECS: i64 = 30;
/// Digits of a code (what authenticator apps assume).
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one.
const SKEW: i64 = 1;
/// Recovery codes made at once.
pub const RECOVERY_CODES: usize = 10;
/// The letters of recovery codes: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// 160 random bits, the length RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    crate::crypto::random_bytes(20)
}

/// The secret as base32 without padding, as people type it into an authenticator app.
pub fn base32(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!("to_encoded always encodes"),
    }
}

fn totp(secret: &[u8], digits: usize) -> TOTP {
    // Unchecked: our secrets are 160 bits; the RFC's SHA-1 test secret is too.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        digits,
        0,
        STEP_SECS as u64,
        secret.to_vec(),
    )
}

/// The time step a moment falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of a moment, with `digits` digits (6 for people; 8 in RFC 6238's vectors).
pub fn code_at(secret: &[u8], digits: usize, unix_secs: i64) -> String {
    totp(secret, digits).generate(unix_secs.max(0) as u64)
}

/// A typed code with spaces and dashes removed, if it is a TOTP code's shape.
pub fn as_totp_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The time step whose code `code` is, among the current step and one either side of it at
/// `unix_secs`; compared in constant time. The caller accepts it only once per step.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: i64) -> Option<i64> {
    let t = totp(secret, DIGITS);
    let now = step_of(unix_secs);
    let mut found = None;
    for step in (now - SKEW)..=(now + SKEW) {
        if step < 0 {
            continue;
        }
        let expected = t.generate((step * STEP_SECS) as u64);
        if crate::crypto::constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` address of a secret (Google Authenticator's key URI format).
pub fn otpauth_url(issuer: &str, account: &str, secret: &[u8]) -> String {
    use crate::error::urlencode;
    let label = format!("{issuer}:{account}");
    format!(
        "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        urlencode(&label).replace('/', "%2F"),
        base32(secret),
        urlencode(issuer).replace('/', "%2F"),
    )
}

/// The QR code of `text` as an `<svg>` element to put inline in a page (no script, no
/// image fetched from anywhere).
pub fn qr_svg(text: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone document; inline, only the element.
    let element = svg.find("<svg").map(|i| &svg[i..]).unwrap_or(&svg);
    element.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the authenticator set-up address\" class=\"qr\" ",
        1,
    )
}

/// Ten new recovery codes, `xxxxx-xxxxx` (50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = crate::crypto::random_bytes(10);
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of it as typed any way (case, spaces and
/// dashes do not matter). High-entropy random codes need no slow hash.
pub fn recovery_hash(typed: &str) -> String {
    let normalised: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut input = b"portalops-recovery-v1\0".to_vec();
    input.extend_from_slice(normalised.as_bytes());
    crate::crypto::sha256(&input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows: 8-digit codes of the secret
    /// "12345678901234567890" at the published times.
    #[test]
    fn rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, code) in vectors {
            assert_eq!(code_at(secret, 8, t), code, "T = {t}");
        }
    }

    /// The six-digit codes people type are the last six digits of the same values, and the
    /// verification finds the step of each at the published times.
    #[test]
    fn verification_finds_the_step_of_each_rfc_vector() {
        let secret = b"12345678901234567890";
        for (t, code8) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let code = &code8[2..];
            assert_eq!(matching_step(secret, code, t), Some(t / 30), "T = {t}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let t = 1_700_000_015; // the middle of a step
        let code = code_at(&secret, DIGITS, t);
        let step = step_of(t);
        assert_eq!(matching_step(&secret, &code, t), Some(step));
        // The previous and next steps' first and last seconds.
        assert_eq!(matching_step(&secret, &code, (step + 1) * 30), Some(step));
        assert_eq!(
            matching_step(&secret, &code, (step + 2) * 30 - 1),
            Some(step)
        );
        assert_eq!(matching_step(&secret, &code, (step + 2) * 30), None);
        assert_eq!(matching_step(&secret, &code, step * 30 - 1), Some(step));
        assert_eq!(matching_step(&secret, &code, (step - 1) * 30), Some(step));
        assert_eq!(matching_step(&secret, &code, (step - 1) * 30 - 1), None);
        assert_eq!(matching_step(&secret, "000000x", t), None);
    }

    #[test]
    fn typed_codes_and_recovery_codes_are_normalised() {
        assert_eq!(as_totp_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(as_totp_code("12345"), None);
        assert_eq!(as_totp_code("abcde-fghjk"), None);
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let c = &codes[0];
        assert_eq!(
            recovery_hash(c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(c), recovery_hash(&codes[1]));
        assert!(!recovery_hash(c).contains(&c[..5]));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_element_and_the_address_names_the_secret() {
        let secret = new_secret();
        let url = otpauth_url("PortalOps", "ana@example.com", &secret);
        assert!(url.starts_with("otpauth://totp/PortalOps%3Aana%40example.com?secret="));
        assert!(url.contains(&base32(&secret)));
        let svg = qr_svg(&url);
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..80]);
        assert!(!svg.contains("<?xml") && !svg.contains("<script"));
    }
}
