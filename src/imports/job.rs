//! Running an import in the background: the dry run, then the commit. Progress goes to the
//! `imports` row through a second connection, so the page can show it while the commit's
//! own transaction is still open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::{grants, people, services, Outcome, MAX_ERRORS};
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Actor};
use crate::db::schema::imports;
use crate::db::{PgConn, PgPool};
use crate::directory::grants::AfterGrant;
use crate::domain::{ImportId, ImportKind, ImportStatus};
use crate::error::AppError;

/// Stores an upload; the caller then starts its dry run.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    kind: ImportKind,
    filename: &str,
    data: &str,
) -> Result<ImportId, AppError> {
    Ok(diesel::insert_into(imports::table)
        .values((
            imports::kind.eq(kind),
            imports::filename.eq(filename.chars().take(200).collect::<String>()),
            imports::csv_data.eq(data),
            imports::uploaded_by.eq(actor.person_id()),
            // Compared with the application's clock by `mark_interrupted`: written by it too.
            imports::created_at.eq(crate::clock::now()),
        ))
        .returning(imports::id)
        .get_result(conn)?)
}

/// Jobs a restart interrupted cannot finish: say so (their file is kept; upload it again).
pub fn mark_interrupted(conn: &mut PgConnection) -> Result<usize, AppError> {
    Ok(diesel::update(
        imports::table
            .filter(imports::status.eq_any([ImportStatus::Validating, ImportStatus::Committing]))
            .filter(imports::created_at.lt(crate::clock::now() - chrono::TimeDelta::minutes(10))),
    )
    .set((
        imports::status.eq(ImportStatus::Failed),
        imports::message.eq("Interrupted by a restart before it finished. Nothing was written; upload the file again."),
        imports::finished_at.eq(crate::clock::now()),
    ))
    .execute(conn)?)
}

/// Reports progress at most every 200 ms.
struct Progress {
    conn: PgConn,
    id: ImportId,
    last: Instant,
}

impl Progress {
    fn report(&mut self, done: usize, total: usize) {
        if self.last.elapsed() < Duration::from_millis(200) && done < total {
            return;
        }
        self.last = Instant::now();
        let _ = diesel::update(imports::table.find(self.id))
            .set((
                imports::processed_rows.eq(done as i32),
                imports::total_rows.eq(total as i32),
            ))
            .execute(&mut self.conn);
    }
}

fn record_outcome(
    conn: &mut PgConnection,
    id: ImportId,
    o: &Outcome,
    status: ImportStatus,
) -> Result<(), AppError> {
    let kept: Vec<_> = o.errors.iter().take(MAX_ERRORS).cloned().collect();
    if status == ImportStatus::Preview {
        diesel::update(imports::table.find(id))
            .set(imports::message.eq(o.notes.join(" ")))
            .execute(conn)?;
    }
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(status),
            imports::total_rows.eq(o.total as i32),
            imports::processed_rows.eq(o.total as i32),
            imports::creates.eq(o.creates as i32),
            imports::updates.eq(o.updates as i32),
            imports::error_count.eq(o.errors.len() as i32),
            imports::errors.eq(serde_json::to_value(kept).unwrap_or_default()),
        ))
        .execute(conn)?;
    Ok(())
}

fn fail(pool: &PgPool, id: ImportId, e: &AppError) {
    tracing::error!(import = id.get(), error = %e, "import failed");
    if let Ok(mut conn) = pool.get() {
        let _ = diesel::update(imports::table.find(id))
            .set((
                imports::status.eq(ImportStatus::Failed),
                imports::message.eq("The import failed unexpectedly and nothing was written. The error has been logged."),
                imports::finished_at.eq(crate::clock::now()),
            ))
            .execute(&mut conn);
    }
}

fn load(conn: &mut PgConnection, id: ImportId) -> Result<(ImportKind, String), AppError> {
    Ok(imports::table
        .find(id)
        .select((imports::kind, imports::csv_data))
        .first(conn)?)
}

/// Starts the dry run of import `id`, uploaded by `actor`, on its own thread.
pub fn spawn_validation(pool: PgPool, id: ImportId, actor: Actor) {
    std::thread::spawn(move || {
        if let Err(e) = validate(&pool, id, &actor) {
            fail(&pool, id, &e);
        }
    });
}

fn validate(pool: &PgPool, id: ImportId, actor: &Actor) -> Result<(), AppError> {
    let mut conn = pool.get()?;
    let (kind, data) = load(&mut conn, id)?;
    let mut progress = Progress {
        conn: pool.get()?,
        id,
        last: Instant::now(),
    };
    let mut report = |d, t| progress.report(d, t);
    let outcome = match kind {
        ImportKind::People => people::plan(&mut conn, &data, &mut report)?.0,
        ImportKind::Services => services::plan(&mut conn, &data, &mut report)?.0,
        ImportKind::Grants => grants::plan(&mut conn, actor, &data, &mut report)?.0,
    };
    record_outcome(&mut conn, id, &outcome, ImportStatus::Preview)
}

/// Moves a clean preview to "committing"; false when it is not in that state (already
/// committed, has errors, or is still being checked). `NotFound` when there is no such
/// import, `Forbidden` when the actor may not import its kind.
pub fn claim_for_commit(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ImportId,
) -> Result<bool, AppError> {
    let kind: ImportKind = imports::table
        .find(id)
        .select(imports::kind)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    authorize(actor, super::action_for(kind))?;
    let n = diesel::update(
        imports::table
            .find(id)
            .filter(imports::status.eq(ImportStatus::Preview))
            .filter(imports::error_count.eq(0)),
    )
    .set((
        imports::status.eq(ImportStatus::Committing),
        imports::processed_rows.eq(0),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Commits import `id` (already claimed) on its own thread, all or nothing; `after`
/// follows each grant a grants import makes.
pub fn spawn_commit(pool: PgPool, id: ImportId, actor: Actor, after: Arc<dyn AfterGrant>) {
    std::thread::spawn(move || {
        if let Err(e) = commit(&pool, id, &actor, after.as_ref()) {
            fail(&pool, id, &e);
        }
    });
}

enum CommitResult {
    Done,
    /// The database changed since the preview and some rows no longer pass.
    Stale(Outcome),
}

fn commit(
    pool: &PgPool,
    id: ImportId,
    actor: &Actor,
    after: &dyn AfterGrant,
) -> Result<(), AppError> {
    let mut conn = pool.get()?;
    let (kind, data) = load(&mut conn, id)?;
    let mut progress = Progress {
        conn: pool.get()?,
        id,
        last: Instant::now(),
    };
    let result = conn.transaction::<_, AppError, _>(|conn| {
        let mut quiet = |_, _| {};
        let outcome = match kind {
            ImportKind::People => {
                let (o, plan) = people::plan(conn, &data, &mut quiet)?;
                if !o.errors.is_empty() {
                    return Ok(CommitResult::Stale(o));
                }
                people::apply(conn, actor, &plan, &mut |d, t| progress.report(d, t))?;
                o
            }
            ImportKind::Services => {
                let (o, plan) = services::plan(conn, &data, &mut quiet)?;
                if !o.errors.is_empty() {
                    return Ok(CommitResult::Stale(o));
                }
                services::apply(conn, actor, &plan, &mut |d, t| progress.report(d, t))?;
                o
            }
            ImportKind::Grants => {
                let (o, plan) = grants::plan(conn, actor, &data, &mut quiet)?;
                if !o.errors.is_empty() {
                    return Ok(CommitResult::Stale(o));
                }
                grants::apply(conn, actor, &plan, after)?;
                o
            }
        };
        audit::record(
            conn,
            AuditEntry::by(actor, "import.committed", "import", Some(id.to_string())).summary(
                format!(
                    "Imported {} {} rows: {} created, {} updated",
                    outcome.total,
                    kind.as_str(),
                    outcome.creates,
                    outcome.updates
                ),
            ),
        )?;
        diesel::update(imports::table.find(id))
            .set((
                imports::message.eq(match kind {
                    ImportKind::Grants => format!("{} grants made.", outcome.creates),
                    _ => format!("{} created, {} updated.", outcome.creates, outcome.updates),
                }),
                imports::finished_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        record_outcome(conn, id, &outcome, ImportStatus::Done)?;
        Ok(CommitResult::Done)
    })?;
    if let CommitResult::Stale(o) = result {
        record_outcome(&mut conn, id, &o, ImportStatus::Preview)?;
    }
    Ok(())
}
