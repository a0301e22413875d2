//! Secrets that an email carries but no table may hold (a login link's token). Where the
//! secret is decided, `seal` makes it from a random nonce and the server's key, and gives a
//! placeholder naming only the nonce: the queued email holds the placeholder, the table
//! holds the secret's SHA-256. The outbox calls `unseal` on each email as it sends it, so
//! the secret exists in the message on the wire and nowhere else — not in the outbox, a
//! backup or a database dump (the nonce is useless without the key, which lives in the
//! environment or the data directory).

use base64::Engine as _;
use hmac::{Hmac, Mac};

const PREFIX: &str = "[[sealed:";
const SUFFIX: &str = "]]";
/// A 32-byte nonce, base64url without padding.
const NONCE_CHARS: usize = 43;

/// A secret, and the placeholder that stands for it in stored text.
pub struct Sealed {
    /// The secret itself: give it to nothing but `sha256` and the placeholder's text.
    pub secret: String,
    pub placeholder: String,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(…)")
    }
}

fn derive(key: &[u8], nonce: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"portalops-sealed-secret-v1\0");
    mac.update(nonce.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A new secret (256 bits, URL-safe) under `key`, with its placeholder.
pub fn seal(key: &[u8]) -> Sealed {
    let nonce = super::random_token();
    Sealed {
        secret: derive(key, &nonce),
        placeholder: format!("{PREFIX}{nonce}{SUFFIX}"),
    }
}

/// `text` with every placeholder replaced by its secret under `key`; anything else that
/// looks like a placeholder but is not one is left as it is.
pub fn unseal(key: &[u8], text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        out.push_str(&rest[..i]);
        let after = &rest[i + PREFIX.len()..];
        let nonce = after.get(..NONCE_CHARS).filter(|n| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        match nonce {
            Some(n) if after[NONCE_CHARS..].starts_with(SUFFIX) => {
                out.push_str(&derive(key, n));
                rest = &after[NONCE_CHARS + SUFFIX.len()..];
            }
            _ => {
                out.push_str(PREFIX);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_becomes_the_secret_only_under_the_same_key() {
        let s = seal(b"key one");
        assert_eq!(s.secret.len(), 43);
        assert!(!s.placeholder.contains(&s.secret));
        let text = format!("Open {0} now, or <a href=\"{0}\">here</a>.", s.placeholder);
        let shown = unseal(b"key one", &text);
        assert_eq!(
            shown,
            format!("Open {0} now, or <a href=\"{0}\">here</a>.", s.secret)
        );
        assert!(!unseal(b"key two", &text).contains(&s.secret));
        assert_ne!(seal(b"key one").secret, s.secret, "a fresh nonce each time");
    }

    #[test]
    fn text_that_only_looks_like_a_placeholder_is_kept() {
        for text in [
            "[[sealed:short]]",
            "[[sealed:",
            "plain",
            "[[sealed:[[sealed:x]]",
        ] {
            assert_eq!(unseal(b"k", text), text);
        }
    }
}
