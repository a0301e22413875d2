//! The imports as the pages show them: the recent ones, and one with its row errors. Each
//! import is seen only by those who may import its kind (`NotFound` when there is none,
//! `Forbidden` when its kind is not the actor's).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{action_for, ImportKind, ImportStatus, RowError};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{imports, users};
use crate::domain::ImportId;
use crate::error::AppError;
use crate::inventory::queries::format_time;

/// An import, for the list and its own page.
pub struct ImportRow {
    pub id: ImportId,
    pub kind: ImportKind,
    pub status: ImportStatus,
    pub filename: String,
    pub created_at: String,
    pub uploaded_by: String,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub creates: i32,
    pub updates: i32,
    pub error_count: i32,
    pub message: String,
    /// The row errors (only on an import's own page).
    pub errors: Vec<RowError>,
}

impl ImportRow {
    pub fn percent(&self) -> i32 {
        if self.total_rows == 0 {
            0
        } else {
            (self.processed_rows * 100 / self.total_rows).min(100)
        }
    }
}

#[derive(Queryable)]
struct Stored {
    id: ImportId,
    kind: ImportKind,
    status: ImportStatus,
    filename: String,
    created_at: DateTime<Utc>,
    uploaded_by: Option<String>,
    total_rows: i32,
    processed_rows: i32,
    creates: i32,
    updates: i32,
    error_count: i32,
    message: String,
    errors: serde_json::Value,
}

/// The 20 newest imports, or import `id`.
fn load(conn: &mut PgConnection, id: Option<ImportId>) -> Result<Vec<ImportRow>, AppError> {
    let mut q = imports::table
        .left_join(users::table.on(users::id.nullable().eq(imports::uploaded_by)))
        .select((
            imports::id,
            imports::kind,
            imports::status,
            imports::filename,
            imports::created_at,
            users::full_name.nullable(),
            imports::total_rows,
            imports::processed_rows,
            imports::creates,
            imports::updates,
            imports::error_count,
            imports::message,
            imports::errors,
        ))
        .order(imports::id.desc())
        .limit(20)
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(imports::id.eq(id));
    }
    let rows: Vec<Stored> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ImportRow {
            id: r.id,
            kind: r.kind,
            status: r.status,
            filename: r.filename,
            created_at: format_time(r.created_at),
            uploaded_by: r.uploaded_by.unwrap_or_default(),
            total_rows: r.total_rows,
            processed_rows: r.processed_rows,
            creates: r.creates,
            updates: r.updates,
            error_count: r.error_count,
            message: r.message,
            errors: if id.is_some() {
                serde_json::from_value(r.errors).unwrap_or_default()
            } else {
                Vec::new()
            },
        })
        .collect())
}

/// The 20 newest imports (the import page: those who may import people).
pub fn recent(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<ImportRow>, AppError> {
    authorize(actor, Action::ManagePeople)?;
    load(conn, None)
}

/// Import `id` with its row errors.
pub fn import(conn: &mut PgConnection, actor: &Actor, id: ImportId) -> Result<ImportRow, AppError> {
    let row = load(conn, Some(id))?.pop().ok_or(AppError::NotFound)?;
    authorize(actor, action_for(row.kind))?;
    Ok(row)
}
