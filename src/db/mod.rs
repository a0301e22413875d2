//! Database access: the connection pool, embedded migrations, the embedded PostgreSQL
//! server, and `run`, which moves blocking Diesel work off the async workers.

pub mod embedded;
pub mod schema;
pub mod snapshot_cache;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::RunQueryDsl as _;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::cell::Cell;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};

use crate::error::AppError;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgConn = PooledConnection<ConnectionManager<PgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Builds the pool without connecting eagerly, so start-up reports a clear error instead.
pub fn build_pool(url: &str, size: u32) -> Result<PgPool, diesel::r2d2::PoolError> {
    install_query_counter();
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        // A checkout-time "SELECT 1" would double the round trips of small pages; broken
        // connections are detected by Diesel and discarded instead.
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))
}

/// Applies every pending migration; returns the versions applied.
pub fn migrate(conn: &mut PgConnection) -> Result<Vec<String>, String> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| format!("migration failed: {e}"))
}

/// Runs `f` with a pooled connection on the blocking thread pool, keeping the request's
/// tracing span, and adds the SQL statements it ran to the request's query count.
pub async fn run<T, F>(pool: &PgPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    let (result, queries) = actix_web::web::block(move || {
        let _entered = span.enter();
        let before = QUERIES.with(Cell::get);
        let result = pool
            .get()
            .map_err(AppError::from)
            .and_then(|mut conn| f(&mut conn));
        (result, QUERIES.with(Cell::get).wrapping_sub(before))
    })
    .await
    .map_err(|_| AppError::internal("blocking task was cancelled"))?;
    crate::telemetry::add_queries(queries);
    result
}

/// How many times a transaction is tried before its deadlock or serialization failure is
/// answered (as a 503 "try again": see `error`).
pub const TRANSACTION_ATTEMPTS: u32 = 4;

/// `conn.transaction(f)`, tried again (up to `TRANSACTION_ATTEMPTS` in all, after a short
/// random pause) when PostgreSQL aborts it for a deadlock or a serialization failure: the
/// transaction was rolled back whole, so running it again is safe. Only the outermost
/// transaction retries; a nested one (a savepoint) passes the failure up to it. Commands
/// use this instead of `conn.transaction`.
pub fn transaction<T, E, F>(conn: &mut PgConnection, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut PgConnection) -> Result<T, E>,
    E: From<diesel::result::Error> + crate::error::Transient,
{
    use diesel::connection::{AnsiTransactionManager, Connection as _, TransactionManager};
    let outermost = matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    );
    let mut attempt = 1;
    loop {
        match conn.transaction(&mut f) {
            Err(e) if outermost && attempt < TRANSACTION_ATTEMPTS && e.is_transient() => {
                tracing::warn!(
                    attempt,
                    "transaction aborted by a deadlock or serialization failure; retrying"
                );
                let pause = rand::random_range(5..=20 * u64::from(attempt));
                std::thread::sleep(Duration::from_millis(pause));
                attempt += 1;
            }
            result => return result,
        }
    }
}

thread_local! {
    /// Statements started on this thread's connections (see `install_query_counter`).
    static QUERIES: Cell<u32> = const { Cell::new(0) };
}

/// Makes every new connection count the statements it runs, so that each request can
/// report how many it needed (`X-Query-Count`, the request log line, the benchmark).
pub fn install_query_counter() {
    fn counting() -> Option<Box<dyn Instrumentation>> {
        Some(Box::new(|event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                QUERIES.with(|q| q.set(q.get().wrapping_add(1)));
            }
        }))
    }
    // Fails only if already installed, which is fine.
    let _ = diesel::connection::set_default_instrumentation(counting);
}

/// LIKE pattern for a substring search typed by a user: trimmed, with `\`, `%` and `_`
/// escaped, between two `%`.
/// The words of a search, each as a `contains_pattern` (at most 8: a name, an email, a
/// department). A search matches when every word does, in any order ("Chen Ada").
pub fn word_patterns(s: &str) -> Vec<String> {
    s.split_whitespace().take(8).map(contains_pattern).collect()
}

pub fn contains_pattern(s: &str) -> String {
    format!(
        "%{}%",
        s.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, for the case-insensitive unique keys (email, username).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Serialises migrations between instances sharing one database.
const MIGRATION_LOCK: i64 = 0x706f_7274_6d67;

/// Applies pending migrations while holding an advisory lock.
pub fn migrate_locked(url: &str) -> Result<Vec<String>, String> {
    let mut conn = <PgConnection as diesel::Connection>::establish(url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    let result = migrate(&mut conn);
    let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn);
    result
}

/// The `app_settings` key of the secrets' fingerprint.
pub const SECRETS_FINGERPRINT: &str = "secrets_fingerprint";
/// The `app_settings` key of the encryption key's fingerprint (`startup::check_shared_secrets`).
pub const ENCRYPTION_KEY_FINGERPRINT: &str = "encryption_key_fingerprint";
