//! Start-up and shutdown: the database (embedded or external), migrations under an advisory
//! lock (several instances may start at once), the first-run setup URL, and the order of
//! shutdown (HTTP drained first, then the database stopped).

use std::net::TcpListener;

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

use crate::config::Config;
use crate::db::embedded::{EmbeddedOptions, EmbeddedPostgres, DATABASE_NAME};
use crate::directory::commands::admin_exists;

/// Serialises migrations between instances sharing one database.
const MIGRATION_LOCK: i64 = 0x706f_7274_6d67;

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

/// Applies pending migrations while holding an advisory lock.
pub fn migrate(url: &str) -> Result<Vec<String>, String> {
    let mut conn =
        PgConnection::establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    let result = crate::db::migrate(&mut conn);
    let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn);
    result
}

/// `portalops serve`: runs until SIGINT/SIGTERM, then drains and stops the database.
pub fn serve(mut config: Config) -> Result<(), String> {
    config.resolve_secrets().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config.upload_dir).map_err(|e| {
        format!(
            "configuration error: PORTALOPS_UPLOAD_DIR: cannot create {}: {e}",
            config.upload_dir.display()
        )
    })?;
    let (mut embedded, url) = open_database(&config)?;
    let result = serve_with(config, &url);
    if let Some(pg) = embedded.as_mut() {
        pg.stop();
    }
    result
}

fn serve_with(config: Config, url: &str) -> Result<(), String> {
    let applied = migrate(url)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
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
    let state = crate::app_state(config, pool.clone()).map_err(|e| e.to_string())?;

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
