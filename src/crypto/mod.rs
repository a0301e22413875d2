//! Security primitives with no knowledge of the product: random bytes and tokens, hashes,
//! constant-time comparison, password hashing (argon2id; bcrypt hashes still verify) on its
//! own thread pool, and the JWT keys. `auth` builds logins, sessions and throttling on them;
//! `web` holds them in the application state. Below both, so neither imports the other
//! for them.

pub mod aead;
pub mod jwt;
pub mod password;
pub mod sealed;

use base64::Engine as _;
use rand::RngCore as _;
use sha2::Digest as _;

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A URL-safe random token carrying 256 bits.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32))
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(data).to_vec()
}

/// Constant-time comparison for secrets.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
