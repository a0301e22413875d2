//! Encryption at rest for the secrets the database must be able to read back (TOTP
//! secrets): AES-256-GCM under a key derived from `PORTALOPS_ENCRYPTION_KEY`, a fresh random
//! 96-bit nonce per value, and associated data naming what the value belongs to, so that a
//! ciphertext copied to another row (another user) does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// The key that seals and opens stored secrets.
pub struct SealingKey(Aes256Gcm);

/// A sealed value: what the database stores.
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

impl SealingKey {
    /// Derives the AES key from the configured secret (any length of at least 32 bytes).
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut input = b"portalops-encryption-v1\0".to_vec();
        input.extend_from_slice(secret);
        let key = super::sha256(&input);
        Self(Aes256Gcm::new_from_slice(&key).expect("SHA-256 gives the 32 bytes AES-256 takes"))
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let nonce = super::random_bytes(12);
        let n: [u8; 12] = nonce.as_slice().try_into().expect("12 random bytes");
        let ciphertext = self
            .0
            .encrypt(
                &Nonce::from(n),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message of this size");
        Sealed { ciphertext, nonce }
    }

    /// The plaintext, or `None` when the value was sealed under another key or context, or
    /// was altered.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Option<Vec<u8>> {
        let n: [u8; 12] = sealed.nonce.as_slice().try_into().ok()?;
        self.0
            .decrypt(
                &Nonce::from(n),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_context_and_bytes() {
        let key = SealingKey::from_secret(b"a-key-that-is-at-least-32-bytes-long");
        let sealed = key.seal(b"secret bytes", "user_totp:1");
        assert!(!sealed.ciphertext.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            key.open(&sealed, "user_totp:1").as_deref(),
            Some(&b"secret bytes"[..])
        );
        assert_eq!(key.open(&sealed, "user_totp:2"), None, "another row");
        let other = SealingKey::from_secret(b"another-key-that-is-32-bytes-long!!");
        assert_eq!(other.open(&sealed, "user_totp:1"), None, "another key");
        let mut flipped = Sealed {
            ciphertext: sealed.ciphertext.clone(),
            nonce: sealed.nonce.clone(),
        };
        flipped.ciphertext[0] ^= 1;
        assert_eq!(key.open(&flipped, "user_totp:1"), None, "altered");
        let again = key.seal(b"secret bytes", "user_totp:1");
        assert_ne!(again.nonce, sealed.nonce, "a fresh nonce each time");
    }
}
