//! Password hashing (argon2id for new hashes, legacy bcrypt verified and upgraded) and the
//! password policy. Hashing is CPU- and memory-heavy (19 MiB each), so it runs on a few
//! dedicated threads with a bounded queue and a bounded share of the CPU: a login storm
//! cannot starve the other pages or the memory budget.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{oneshot, Semaphore};

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// OWASP's argon2id parameters: m=19456 KiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password with argon2id.
pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = crate::crypto::random_bytes(16);
    argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("hashing failed: {e}")))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// The password matches; `rehash` when the stored hash is legacy (bcrypt) or weaker
    /// than the current argon2id parameters.
    Match {
        rehash: bool,
    },
    Mismatch,
}

/// Verifies against an argon2 or bcrypt ($2a$/$2b$/$2y$) hash. Malformed hashes never match.
pub fn verify(password: &str, stored: &str) -> Verified {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verified::Match { rehash: true },
            _ => Verified::Mismatch,
        };
    }
    let current = stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$");
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok();
    if ok {
        Verified::Match { rehash: !current }
    } else {
        Verified::Mismatch
    }
}

/// A fixed argon2id hash to verify against when the username is unknown, so that an unknown
/// username costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random_token()).unwrap_or_default())
}

/// Runs password hashing on its own threads: at most `threads` hashes at once, and at most
/// `queue` logins admitted to wait for them; a login that finds no room within `max_wait`
/// is answered 429 (waiting costs nothing: no thread, no connection; an immediate 429 let
/// a storm's clients retry at tens of thousands of requests a second). While others wait, each thread rests `REST_PER_HASH` times the CPU time
/// its last hash used, so hashing takes at most a quarter of a core per thread: argon2 is
/// memory-hard by design, and at full speed it slowed the other pages' p99 five- to
/// ninefold (docs/performance.md). A storm holds at most `threads` × 19 MiB. A single login
/// is never delayed: the rest applies only when another is waiting.
#[derive(Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    admitted: Arc<Semaphore>,
    max_wait: Duration,
    waiting: Arc<AtomicUsize>,
}

/// The rest after each hash while others wait: 3 × its CPU time, a 25% duty cycle.
const REST_PER_HASH: u32 = 3;

type Job = Box<dyn FnOnce() + Send>;

impl Hasher {
    pub fn new(threads: usize, queue: usize, max_wait: Duration) -> Self {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        let waiting = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let inbox = inbox.clone();
            let queued = waiting.clone();
            std::thread::Builder::new()
                .name(format!("hasher-{i}"))
                .spawn(move || {
                    // Ends when every `Hasher` clone (every sender) is gone.
                    while let Ok(job) = inbox
                        .lock()
                        .map_err(drop)
                        .and_then(|r| r.recv().map_err(drop))
                    {
                        queued.fetch_sub(1, Ordering::Relaxed);
                        let cpu = crate::sys::thread_cpu_time();
                        // A panicking job drops its reply channel (the caller sees an error);
                        // the thread lives on.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                        if queued.load(Ordering::Relaxed) > 0 {
                            let used = crate::sys::thread_cpu_time().saturating_sub(cpu);
                            std::thread::sleep(used * REST_PER_HASH);
                        }
                    }
                })
                .expect("cannot start a password hashing thread");
        }
        Self {
            jobs,
            admitted: Arc::new(Semaphore::new(threads.max(1) + queue)),
            max_wait,
            waiting,
        }
    }

    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _admitted = tokio::time::timeout(self.max_wait, self.admitted.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| AppError::internal("password hashing closed"))?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A caller that gave up (its request was dropped) costs no hash.
            if !reply.is_closed() {
                let _ = reply.send(f());
            }
        });
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(AppError::internal("password hashing threads stopped"));
        }
        answer
            .await
            .map_err(|_| AppError::internal("password hashing failed"))
    }
}

/// The answer to a login while the hashing queue is full.
pub fn busy() -> AppError {
    AppError::TooManyRequests {
        message: "Too many sign-ins are being checked right now. Try again in a few seconds."
            .into(),
        retry_after_secs: 2,
    }
}

const COMMON: &str = include_str!("common_passwords.txt");

/// The password policy for new passwords: 12 to 128 characters, any characters, not a common
/// or breached password (even with digits, symbols or l33t substitutions around a common
/// word), and not the username or name. Returns the message to show next to the field.
pub fn check_policy(
    password: &str,
    username: Option<&str>,
    full_name: Option<&str>,
) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!("Use at least {MIN_LENGTH} characters."));
    }
    if chars > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    let lower = password.to_lowercase();
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return Err("This password is a single repeated character.".into());
    }
    let core: String = lower
        .trim_matches(|c: char| !c.is_alphabetic())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let is_common = |candidate: &str| {
        COMMON
            .lines()
            .any(|w| !w.starts_with('#') && w == candidate)
    };
    let candidates = [unleet(&lower), unleet(&core), core, lower.clone()];
    if candidates.iter().any(|c| !c.is_empty() && is_common(c)) || digits_only_sequence(&lower) {
        return Err(
            "This password is too common: it appears in lists of breached passwords.".into(),
        );
    }
    for part in [username, full_name].into_iter().flatten() {
        let part = part.trim().to_lowercase();
        if part.len() >= 4 && lower.contains(&part) {
            return Err("The password must not contain your username or name.".into());
        }
    }
    Ok(())
}

/// Undoes the usual letter-for-symbol substitutions ("p@ssw0rd" → "password").
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            _ => c,
        })
        .collect()
}

fn digits_only_sequence(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit())
        && ("01234567890123456789".contains(s) || "98765432109876543210".contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hasher_runs_jobs_and_answers_busy_beyond_its_queue() {
        actix_web::rt::System::new().block_on(async {
            let hasher = Hasher::new(1, 1, Duration::from_millis(300));
            assert_eq!(hasher.run(|| 2 + 2).await.expect("runs"), 4);
            // One job running (held at a gate), one waiting: a third waits, then is refused.
            let (open, gate) = mpsc::channel::<()>();
            let gate = Arc::new(Mutex::new(gate));
            let pause = std::time::Duration::from_millis(100);
            let held = |gate: Arc<Mutex<mpsc::Receiver<()>>>| {
                move || gate.lock().map(|g| g.recv().is_ok()).unwrap_or(false)
            };
            let running = actix_web::rt::spawn({
                let h = hasher.clone();
                let job = held(gate.clone());
                async move { h.run(job).await }
            });
            actix_web::rt::time::sleep(pause).await;
            let waiting = actix_web::rt::spawn({
                let h = hasher.clone();
                let job = held(gate.clone());
                async move { h.run(job).await }
            });
            actix_web::rt::time::sleep(pause).await;
            let refused = hasher.run(|| true).await;
            assert!(
                matches!(refused, Err(AppError::TooManyRequests { .. })),
                "{refused:?}"
            );
            open.send(()).expect("open");
            open.send(()).expect("open");
            assert!(running.await.expect("joined").expect("ran"));
            assert!(waiting.await.expect("joined").expect("ran"));
            // A panicking job is an error for its caller; the thread lives on.
            assert!(hasher.run(|| -> i32 { panic!("boom") }).await.is_err());
            assert_eq!(hasher.run(|| 7).await.expect("still runs"), 7);
        });
    }

    #[test]
    fn policy_table() {
        let cases: &[(&str, bool)] = &[
            ("short", false),
            ("elevenchars", false),
            ("twelve chars", true),
            ("Password1234", false),
            ("P@ssw0rd2024!", false),
            ("qwertyuiop123", false),
            ("123456789012", false),
            ("aaaaaaaaaaaaaa", false),
            ("correct horse battery staple", false),
            ("quiet meadow lantern 47", true),
            ("Ünïcødé pässwörd ✓", true),
            (&"x1".repeat(32), true),
            (&"x".repeat(129), false),
        ];
        for (pw, ok) in cases {
            assert_eq!(check_policy(pw, None, None).is_ok(), *ok, "{pw}");
        }
        assert!(check_policy("alice-rocks-2026", Some("alice"), None).is_err());
    }

    #[test]
    fn sixty_four_characters_are_kept_whole() {
        let long = format!("{}A", "b7-".repeat(21));
        assert_eq!(long.len(), 64);
        let h = hash(&long).expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify(&long, &h), Verified::Match { rehash: false });
        assert_eq!(verify(&long[..63], &h), Verified::Mismatch);
    }

    #[test]
    fn bcrypt_hashes_verify_and_ask_for_rehash() {
        let legacy = bcrypt::hash("legacy password 1", 4).expect("bcrypt");
        assert_eq!(
            verify("legacy password 1", &legacy),
            Verified::Match { rehash: true }
        );
        assert_eq!(verify("wrong", &legacy), Verified::Mismatch);
        assert_eq!(verify("x", "$2b$garbage-ü"), Verified::Mismatch);
        assert_eq!(verify("x", "not a hash"), Verified::Mismatch);
    }
}
