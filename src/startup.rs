//! Start-up and shutdown: the database (embedded or external), migrations under an advisory
//! lock (several instances may start at once), the first-run setup URL, and the order of
//! shutdown (HTTP drained first, then the database stopped).

use std::net::TcpListener;

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

use crate::config::Config;
use crate::db::embedded::{EmbeddedOptions, EmbeddedPostgres, DATABASE_NAME};
use crate::directory::commands::admin_exists;

/// The database to use: `DATABASE_URL`, or the embedded cluster (started or attached to).
/// The embedded server stops when the returned handle is dropped.
pub fn open_database(config: &Config) -> Result<(Option<EmbeddedPostgres>, String), String> {
    if let Some(url) = &config.database_url {
        return Ok((None, url.clone()));
    }
    let pg = EmbeddedPostgres::start(&config.data_dir, &EmbeddedOptions::default())
        .map_err(|e| e.to_string())?;
    let url = pg.url(DATABASE_NAME);
    Ok((Some(pg), url))
}

pub use crate::db::{migrate_locked as migrate, ENCRYPTION_KEY_FINGERPRINT, SECRETS_FINGERPRINT};

/// Instances sharing a database must share the session key and JWT secret, or a user who
/// logged in on one is a stranger to the next. The database keeps a fingerprint of the
/// secrets (a hash, never the secrets): the first instance records it; one whose secrets
/// were generated into its own data directory and differ is refused at start-up. Secrets set
/// in the environment that differ are a deliberate rotation: the fingerprint follows, and
/// every session signed with the old ones ends.
pub fn check_shared_secrets(
    conn: &mut PgConnection,
    config: &Config,
    generated: bool,
) -> Result<(), String> {
    use sha2::Digest as _;
    const KEY: &str = SECRETS_FINGERPRINT;
    let (Some(jwt), Some(session)) = (&config.jwt_secret, &config.session_key) else {
        return Err("secrets are not resolved".into());
    };
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"portalops-secrets-v1\0");
    hasher.update(jwt.expose());
    hasher.update(b"\0");
    hasher.update(session.expose());
    // The first 16 bytes, in hex.
    let fingerprint = format!("{:x}", hasher.finalize())[..32].to_string();
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let db = |e: diesel::result::Error| format!("database: {e}");
    // Recorded now: a new database, or the first start after a restore (which clears it).
    let first_start = diesel::sql_query(
        "INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(KEY)
    .bind::<diesel::sql_types::Text, _>(&fingerprint)
    .execute(conn)
    .map_err(db)?
        == 1;
    let stored: Stored = diesel::sql_query("SELECT value FROM app_settings WHERE key = $1")
        .bind::<diesel::sql_types::Text, _>(KEY)
        .get_result(conn)
        .map_err(db)?;
    if stored.value == fingerprint {
        return check_encryption_key(conn, config, generated && !first_start);
    }
    if generated {
        return Err(format!(
            "configuration error: PORTALOPS_JWT_SECRET / PORTALOPS_SESSION_KEY: this database \
             is shared with another PortalOps instance that uses different secrets, and this \
             one generated its own into {}. Give every instance the same \
             PORTALOPS_JWT_SECRET and PORTALOPS_SESSION_KEY (the first instance's are in its \
             data directory's secrets/).",
            config.data_dir.join("secrets").display()
        ));
    }
    tracing::warn!(
        "the secrets changed (set in the environment): sessions signed with the old ones end"
    );
    diesel::sql_query("UPDATE app_settings SET value = $2 WHERE key = $1")
        .bind::<diesel::sql_types::Text, _>(KEY)
        .bind::<diesel::sql_types::Text, _>(&fingerprint)
        .execute(conn)
        .map_err(db)?;
    check_encryption_key(conn, config, generated)
}

/// The encryption key has its own fingerprint (so that adding it did not change the one
/// above), kept by a restore: once a two-factor secret is stored with a key, a different key
/// is refused even from the environment, because every enrolled authenticator would become
/// unreadable. Without such secrets, a generated key that differs is refused like the other
/// secrets (`generated`: another instance shares the database) except at the first start
/// after a restore, and a key set in the environment that differs is a deliberate change:
/// the fingerprint follows.
fn check_encryption_key(
    conn: &mut PgConnection,
    config: &Config,
    generated: bool,
) -> Result<(), String> {
    use sha2::Digest as _;
    const KEY: &str = ENCRYPTION_KEY_FINGERPRINT;
    let Some(key) = &config.encryption_key else {
        return Err("secrets are not resolved".into());
    };
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"portalops-encryption-key-v1\0");
    hasher.update(key.expose());
    let fingerprint = format!("{:x}", hasher.finalize())[..32].to_string();
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        in_use: bool,
    }
    let db = |e: diesel::result::Error| format!("database: {e}");
    diesel::sql_query(
        "INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(KEY)
    .bind::<diesel::sql_types::Text, _>(&fingerprint)
    .execute(conn)
    .map_err(db)?;
    let stored: Stored = diesel::sql_query(
        "SELECT value, EXISTS (SELECT 1 FROM user_totp) AS in_use FROM app_settings WHERE key = $1",
    )
    .bind::<diesel::sql_types::Text, _>(KEY)
    .get_result(conn)
    .map_err(db)?;
    if stored.value == fingerprint {
        return Ok(());
    }
    if stored.in_use {
        return Err(
            "configuration error: PORTALOPS_ENCRYPTION_KEY: this database holds two-factor \
             secrets encrypted with another key. Set PORTALOPS_ENCRYPTION_KEY to that key (the \
             first instance's is in its data directory's secrets/encryption_key), or every \
             enrolled authenticator becomes unreadable."
                .into(),
        );
    }
    if generated {
        return Err(format!(
            "configuration error: PORTALOPS_ENCRYPTION_KEY: this database is shared with \
             another PortalOps instance that uses a different encryption key, and this one \
             generated its own into {}. Give every instance the same PORTALOPS_ENCRYPTION_KEY.",
            config.data_dir.join("secrets").display()
        ));
    }
    diesel::sql_query("UPDATE app_settings SET value = $2 WHERE key = $1")
        .bind::<diesel::sql_types::Text, _>(KEY)
        .bind::<diesel::sql_types::Text, _>(&fingerprint)
        .execute(conn)
        .map_err(db)?;
    Ok(())
}

/// `portalops serve`: runs until SIGINT/SIGTERM, then drains and stops the database.
pub fn serve(mut config: Config) -> Result<(), String> {
    let generated_secrets = config.resolve_secrets().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.upload_dir).map_err(|e| {
        format!(
            "configuration error: PORTALOPS_UPLOAD_DIR: cannot create {}: {e}",
            config.upload_dir.display()
        )
    })?;
    let (mut embedded, url) = open_database(&config)?;
    let result = serve_with(config, &url, generated_secrets);
    if let Some(pg) = embedded.as_mut() {
        pg.stop();
    }
    result
}

fn serve_with(config: Config, url: &str, generated_secrets: bool) -> Result<(), String> {
    let applied = migrate(url)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    {
        let mut conn = PgConnection::establish(url)
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        check_shared_secrets(&mut conn, &config, generated_secrets)?;
    }
    let pool = crate::db::build_pool(url, config.db_pool_size)
        .map_err(|e| format!("database pool: {e}"))?;
    let listener = TcpListener::bind(config.bind).map_err(|e| {
        format!(
            "configuration error: PORTALOPS_BIND: cannot listen on {}: {e}",
            config.bind
        )
    })?;
    let public_url = config.public_url.clone();
    let mut state = crate::app_state(config, pool.clone()).map_err(|e| e.to_string())?;
    state.db_url = Some(url.into());

    let mut conn = pool.get().map_err(|e| format!("database: {e}"))?;
    if !admin_exists(&mut conn).map_err(|e| e.to_string())? {
        let token = crate::auth::random_token();
        if let Ok(mut slot) = state.setup_token.lock() {
            *slot = Some(token.clone());
        }
        // Printed, not logged: the token is a one-time secret for whoever started the server.
        eprintln!(
            "\n  No Admin exists yet. Create the first one at:\n\n    {public_url}/setup?token={token}\n\n  (or run `portalops admin create`)\n"
        );
    }
    let interrupted =
        crate::imports::job::mark_interrupted(&mut conn).map_err(|e| e.to_string())?;
    if interrupted > 0 {
        tracing::warn!(
            count = interrupted,
            "marked imports interrupted by a restart as failed"
        );
    }
    crate::auth::forwarding::warn_at_startup(
        &mut conn,
        &state.config.trusted_proxies,
        state.clock.now(),
    )
    .map_err(|e| e.to_string())?;
    drop(conn);

    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "PortalOps listening");
    let scheduler = state
        .config
        .scheduler
        .then(|| crate::jobs::start(state.clone()));
    let served = actix_web::rt::System::new().block_on(async move {
        let server = crate::build_server(state, listener)?;
        server.await
    });
    tracing::info!("HTTP server drained and stopped");
    if let Some(handle) = scheduler {
        handle.stop();
        tracing::info!("scheduler stopped");
    }
    served.map_err(|e| format!("server error: {e}"))?;
    Ok(())
}
