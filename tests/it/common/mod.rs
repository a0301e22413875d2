//! The test harness: one throwaway PostgreSQL cluster per test binary (started with the
//! same embedded-database code the product uses), a freshly migrated database per test
//! (copied from a migrated template, so it is fast), the app on a random port, and a
//! cookie-keeping HTTP client that reads CSRF tokens from the forms and never follows
//! redirects.

pub mod client;
pub mod logs;
pub mod oidc;
pub mod smtp;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel::prelude::*;
use portalops::config::Config;
use portalops::db::embedded::{create_database_if_missing, EmbeddedOptions, EmbeddedPostgres};
use portalops::db::PgPool;

pub use client::{Client, Resp};

const TEMPLATE_DB: &str = "portalops_template";

const CLUSTER_PREFIX: &str = "portalops-it-";

struct Cluster {
    pg: Mutex<EmbeddedPostgres>,
    dir: std::path::PathBuf,
    create_lock: Mutex<()>,
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        remove_abandoned_clusters();
        let dir = tempfile::Builder::new()
            .prefix(CLUSTER_PREFIX)
            .tempdir()
            .expect("tempdir")
            .keep();
        let pg = EmbeddedPostgres::start(&dir, &EmbeddedOptions { ephemeral: true })
            .expect("start test cluster");
        create_database_if_missing(&pg.url("postgres"), TEMPLATE_DB, None).expect("template db");
        let mut conn = PgConnection::establish(&pg.url(TEMPLATE_DB)).expect("connect template");
        portalops::db::migrate(&mut conn).expect("migrate template");
        drop(conn);
        // A static is never dropped: stop the server and delete its files when the test
        // binary exits, or every run would leave a gigabyte behind in the temp directory.
        // SAFETY: atexit takes a plain `extern "C" fn()`; registering it has no preconditions.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(remove_cluster_at_exit);
        }
        Cluster {
            pg: Mutex::new(pg),
            dir,
            create_lock: Mutex::new(()),
        }
    })
}

impl Cluster {
    fn server(&self) -> std::sync::MutexGuard<'_, EmbeddedPostgres> {
        self.pg.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn url(&self, database: &str) -> String {
        self.server().url(database)
    }
}

extern "C" fn remove_cluster_at_exit() {
    let c = cluster();
    c.server().stop();
    let _ = std::fs::remove_dir_all(&c.dir);
}

/// Deletes clusters that earlier test runs left behind when they were killed before their
/// exit handler ran: their server is gone (or never started and the directory is old).
fn remove_abandoned_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(CLUSTER_PREFIX)
        {
            continue;
        }
        let dir = entry.path();
        let server_alive = std::fs::read_to_string(dir.join("postgres/postmaster.pid"))
            .ok()
            .and_then(|pid| pid.lines().next()?.trim().parse::<i32>().ok())
            .map(|pid| portalops::sys::signal(pid, 0).is_ok());
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(1800));
        if server_alive == Some(false) || (server_alive.is_none() && old) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// A fresh, migrated database; returns its URL.
pub fn fresh_database() -> String {
    new_database(Some(TEMPLATE_DB))
}

/// A database with nothing in it, not even the schema (for start-up migrations).
pub fn empty_database() -> String {
    new_database(None)
}

fn new_database(template: Option<&str>) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let c = cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let _guard = c.create_lock.lock().unwrap_or_else(|e| e.into_inner());
    create_database_if_missing(&c.url("postgres"), &name, template).expect("create test database");
    c.url(&name)
}

/// Test configuration: the documented defaults, short lifetimes where a test asks for them.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vec![
        (
            "PORTALOPS_JWT_SECRET".into(),
            "test-jwt-secret-that-is-long-enough-0123456789".into(),
        ),
        ("PORTALOPS_SESSION_KEY".into(), "k".repeat(64)),
        (
            "PORTALOPS_ENCRYPTION_KEY".into(),
            "test-encryption-key-that-is-long-enough-0123".into(),
        ),
        ("PORTALOPS_LOGIN_DELAY_MS".into(), "1".into()),
        ("PORTALOPS_DB_POOL_SIZE".into(), "4".into()),
        ("PORTALOPS_WORKERS".into(), "2".into()),
    ];
    for (k, v) in overrides {
        vars.retain(|(n, _)| n != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("valid test config")
}

pub struct TestApp {
    pub uploads: tempfile::TempDir,
    pub base_url: String,
    pub db_url: String,
    pub pool: PgPool,
    pub state: portalops::web::AppState,
    pub handle: actix_web::dev::ServerHandle,
    /// Whether the test has looked at the emails it queued (`queued_emails`); see `Drop`.
    outbox_read: std::sync::atomic::AtomicBool,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        Self::spawn_on(fresh_database(), overrides).await
    }

    pub async fn spawn_on(db_url: String, overrides: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base_url = format!("http://{addr}");
        let mut config = test_config(overrides);
        config.public_url = base_url.clone();
        let uploads = tempfile::tempdir().expect("upload dir");
        config.upload_dir = uploads.path().to_path_buf();
        let pool = portalops::db::build_pool(&db_url, config.db_pool_size).expect("pool");
        let db_url = db_url.clone();
        let state = portalops::app_state(config, pool.clone()).expect("state");
        let server = portalops::build_server(state.clone(), listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            uploads,
            base_url,
            db_url,
            pool,
            state,
            handle,
            outbox_read: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The emails queued and not yet sent (to, subject, text), oldest first; marks the
    /// outbox as looked at, so the test may end with them still queued.
    pub fn queued_emails(&self) -> Vec<(String, String, String)> {
        self.outbox_read.store(true, Ordering::SeqCst);
        unsent_emails(&mut self.conn()).expect("outbox")
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    pub fn conn(&self) -> portalops::db::PgConn {
        self.pool.get().expect("connection")
    }

    /// A JWT access token of `username` (who exists with `PASSWORD`), from the API's login.
    pub async fn jwt(&self, username: &str) -> String {
        let r = self
            .client()
            .api(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        v["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    /// Inserts a login user with `password` (argon2id) and `role`; returns the id.
    pub fn create_user(&self, username: &str, password: &str, role: &str) -> i64 {
        let hash = portalops::auth::password::hash(password).expect("hash");
        self.insert_user_with_hash(username, &hash, role)
    }

    pub fn insert_user_with_hash(&self, username: &str, hash: &str, role: &str) -> i64 {
        use portalops::db::schema::users;
        diesel::insert_into(users::table)
            .values((
                users::full_name.eq(format!("{username} Example")),
                users::email.eq(format!("{username}@example.com")),
                users::username.eq(username),
                users::password_hash.eq(hash),
                users::role.eq(role),
            ))
            .returning(users::id)
            .get_result(&mut self.conn())
            .expect("insert user")
    }

    /// A client already logged in as a new user with `role`.
    pub async fn logged_in(&self, username: &str, role: &str) -> Client {
        self.create_user(username, PASSWORD, role);
        let client = self.client();
        let r = client.login(username, PASSWORD).await;
        assert_eq!(r.status, 303, "login of {username} failed: {}", r.body);
        client
    }

    /// Audit actions recorded so far, oldest first.
    pub fn audit_actions(&self) -> Vec<String> {
        use portalops::db::schema::audit_log;
        audit_log::table
            .order(audit_log::id.asc())
            .select(audit_log::action)
            .load(&mut self.conn())
            .expect("audit")
    }
}

impl Drop for TestApp {
    /// Stops the server, and fails a test that queued emails it never delivered nor looked
    /// at: an email nobody asserted on is behaviour nobody tested (as crates.io's TestApp
    /// fails a test that leaves background jobs queued).
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop accepting; the runtime of the test ends right after anyway.
        drop(handle.stop(false));
        if std::thread::panicking() || self.outbox_read.load(Ordering::SeqCst) {
            return;
        }
        // A test that stopped or restarted its database server has nothing to check.
        let Ok(mut conn) = self.pool.get_timeout(std::time::Duration::from_secs(2)) else {
            return;
        };
        let Ok(left) = unsent_emails(&mut conn) else {
            return;
        };
        assert!(
            left.is_empty(),
            "the test left {} email(s) queued that it neither delivered nor looked at \
             (deliver them with the outbox job, or assert on `app.queued_emails()`): {:?}",
            left.len(),
            left.iter()
                .map(|(to, subject, _)| format!("{to}: {subject}"))
                .collect::<Vec<_>>()
        );
    }
}

/// Emails neither sent nor given up on: (to, subject, text), oldest first.
fn unsent_emails(conn: &mut PgConnection) -> QueryResult<Vec<(String, String, String)>> {
    use portalops::db::schema::email_outbox as o;
    o::table
        .filter(o::sent_at.is_null().and(o::failed_at.is_null()))
        .order(o::id.asc())
        .select((o::to_address, o::subject, o::body_text))
        .load(conn)
}

pub const PASSWORD: &str = "quiet meadow lantern 47";

/// Inventory fixtures written straight to the database (the pages are tested elsewhere).
impl TestApp {
    pub fn insert_service(&self, name: &str) -> i64 {
        use portalops::db::schema::services;
        diesel::insert_into(services::table)
            .values((
                services::name.eq(name),
                services::vendor.eq(format!("{name} Inc.")),
                services::category.eq("Productivity"),
            ))
            .returning(services::id)
            .get_result(&mut self.conn())
            .expect("insert service")
    }

    pub fn insert_product(&self, service_id: i64, name: &str, seats: Option<i32>) -> i64 {
        use portalops::db::schema::products;
        diesel::insert_into(products::table)
            .values((
                products::service_id.eq(service_id),
                products::name.eq(name),
                products::seats_purchased.eq(seats),
            ))
            .returning(products::id)
            .get_result(&mut self.conn())
            .expect("insert product")
    }

    /// A person without login; returns the id.
    pub fn insert_person(&self, name: &str, email: &str, department: &str) -> i64 {
        use portalops::db::schema::users;
        diesel::insert_into(users::table)
            .values((
                users::full_name.eq(name),
                users::email.eq(email),
                users::department.eq(department),
            ))
            .returning(users::id)
            .get_result(&mut self.conn())
            .expect("insert person")
    }

    pub fn insert_grant(&self, user_id: i64, product_id: i64) -> i64 {
        use portalops::db::schema::access_grants;
        diesel::insert_into(access_grants::table)
            .values((
                access_grants::user_id.eq(user_id),
                access_grants::product_id.eq(product_id),
            ))
            .returning(access_grants::id)
            .get_result(&mut self.conn())
            .expect("insert grant")
    }

    pub fn user_id_by_email(&self, email: &str) -> i64 {
        use portalops::db::schema::users;
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(&mut self.conn())
            .expect("person by email")
    }

    pub fn user_id(&self, username: &str) -> i64 {
        use portalops::db::schema::users;
        users::table
            .filter(users::username.eq(username))
            .select(users::id)
            .first(&mut self.conn())
            .expect("user")
    }

    pub fn make_service_admin(&self, username: &str, service_id: i64) {
        use portalops::db::schema::service_admins;
        diesel::insert_into(service_admins::table)
            .values((
                service_admins::user_id.eq(self.user_id(username)),
                service_admins::service_id.eq(service_id),
            ))
            .execute(&mut self.conn())
            .expect("scope");
    }

    pub fn make_product_admin(&self, username: &str, product_id: i64) {
        use portalops::db::schema::product_admins;
        diesel::insert_into(product_admins::table)
            .values((
                product_admins::user_id.eq(self.user_id(username)),
                product_admins::product_id.eq(product_id),
            ))
            .execute(&mut self.conn())
            .expect("scope");
    }

    /// A billing record; `card` is (brand, last4, month, year).
    pub fn insert_billing(
        &self,
        product_id: i64,
        cycle: &str,
        amount: &str,
        currency: &str,
        card: Option<(&str, &str, i16, i16)>,
    ) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let (method, brand, last4, month, year) = match card {
            Some((b, l, m, y)) => ("card", Some(b), Some(l), Some(m), Some(y)),
            None => ("invoice", None, None, None, None),
        };
        diesel::sql_query(
            "INSERT INTO billing_records (product_id, cycle, amount, currency, payment_method, card_brand, card_last4, \
             card_exp_month, card_exp_year, card_expires_on, next_renewal_on) \
             VALUES ($1, $2, $3::numeric, $4, $5, $6, $7, $8, $9, \
             CASE WHEN $9 IS NULL THEN NULL ELSE (make_date($9, $8, 1) + interval '1 month' - interval '1 day')::date END, \
             current_date + 20) RETURNING id",
        )
        .bind::<diesel::sql_types::BigInt, _>(product_id)
        .bind::<diesel::sql_types::Text, _>(cycle)
        .bind::<diesel::sql_types::Text, _>(amount)
        .bind::<diesel::sql_types::Text, _>(currency)
        .bind::<diesel::sql_types::Text, _>(method)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(brand)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(last4)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::SmallInt>, _>(month)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::SmallInt>, _>(year)
        .get_result::<Id>(&mut self.conn())
        .expect("insert billing record")
        .id
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        assert!(table.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(&mut self.conn())
            .expect("count")
            .n
    }
}
