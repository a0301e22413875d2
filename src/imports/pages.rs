//! Import pages (Admins): upload, the dry-run preview with every row's errors, progress
//! while a job runs (the page refreshes itself, no JavaScript), and the commit.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::{job, Kind, RowError};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{imports, users};
use crate::error::{AppError, AppResult};
use crate::inventory::queries::format_time;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

/// Largest CSV accepted.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

fn authorize_kind(actor: &Actor, kind: Kind) -> AppResult<()> {
    authorize(
        actor,
        match kind {
            Kind::People => Action::ManagePeople,
            Kind::Services => Action::ManageServices,
        },
    )
}

pub struct ImportRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub filename: String,
    pub created_at: String,
    pub uploaded_by: String,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub creates: i32,
    pub updates: i32,
    pub error_count: i32,
    pub message: String,
    pub errors: Vec<RowError>,
}

impl ImportRow {
    pub fn running(&self) -> bool {
        self.status == "validating" || self.status == "committing"
    }
    pub fn percent(&self) -> i32 {
        if self.total_rows == 0 {
            0
        } else {
            (self.processed_rows * 100 / self.total_rows).min(100)
        }
    }
}
fn load_rows(conn: &mut PgConnection, id: Option<i64>) -> Result<Vec<ImportRow>, AppError> {
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
    let rows: Vec<(
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        Option<String>,
        i32,
        i32,
        i32,
        i32,
        i32,
        String,
        serde_json::Value,
    )> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ImportRow {
            id: r.0,
            kind: r.1,
            status: r.2,
            filename: r.3,
            created_at: format_time(r.4),
            uploaded_by: r.5.unwrap_or_default(),
            total_rows: r.6,
            processed_rows: r.7,
            creates: r.8,
            updates: r.9,
            error_count: r.10,
            message: r.11,
            errors: if id.is_some() {
                serde_json::from_value(r.12).unwrap_or_default()
            } else {
                Vec::new()
            },
        })
        .collect())
}

#[derive(Template)]
#[template(path = "imports/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<ImportRow>,
    people_columns: String,
    service_columns: String,
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let rows = crate::db::run(&state.pool, |conn| load_rows(conn, None)).await?;
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Import", "/imports"),
        rows,
        people_columns: Kind::People.columns().join(", "),
        service_columns: Kind::Services.columns().join(", "),
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
pub struct UploadQuery {
    kind: String,
}

pub async fn upload(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<UploadQuery>,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let kind = Kind::parse(&query.kind).ok_or(AppError::NotFound)?;
    authorize_kind(&actor, kind)?;
    let too_large = || {
        format!(
            "CSV files are limited to {} MB. Split the file and import it in parts.",
            MAX_UPLOAD / 1024 / 1024
        )
    };
    let (filename, data) = crate::web::upload::read_file(payload, MAX_UPLOAD as u64, too_large)
        .await?
        .unwrap_or_default();
    let filename = if filename.is_empty() {
        "upload.csv".to_string()
    } else {
        crate::payments::uploads::display_name(&filename)
    };
    if data.is_empty() {
        sess::flash(&session, FlashKind::Error, "Choose a CSV file to upload.");
        return Ok(redirect("/imports"));
    }
    let Ok(text) = String::from_utf8(data) else {
        sess::flash(
            &session,
            FlashKind::Error,
            "The file is not UTF-8 text. Save it as CSV (UTF-8) and try again.",
        );
        return Ok(redirect("/imports"));
    };
    // The file is kept with the import (its rows are shown and committed from it), so a card
    // number anywhere in it refuses the whole file before anything is stored.
    if crate::web::input::screen_text(&text).is_some() {
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| crate::domain::card::contains_card_number(line))
            .map(|(i, _)| (i + 1).to_string())
            .take(10)
            .collect();
        let at = if lines.is_empty() {
            String::new()
        } else {
            format!("Line {}: ", lines.join(", "))
        };
        sess::flash(
            &session,
            FlashKind::Error,
            &format!(
                "{at}{} Nothing was stored: upload the file again without it.",
                crate::domain::card::REFUSAL
            ),
        );
        return Ok(redirect("/imports"));
    }
    let a = actor.clone();
    let id = crate::db::run(&state.pool, move |conn| {
        job::create(conn, &a, kind, &filename, &text)
    })
    .await?;
    job::spawn_validation(state.pool.clone(), id);
    Ok(redirect(&format!("/imports/{id}")))
}

#[derive(Template)]
#[template(path = "imports/show.html")]
struct ShowPage {
    ctx: PageCtx,
    i: ImportRow,
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let i = crate::db::run(&state.pool, move |conn| load_rows(conn, Some(id)))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    authorize_kind(&user.0, Kind::parse(&i.kind).ok_or(AppError::NotFound)?)?;
    let page = ShowPage {
        ctx: PageCtx::new(&session, Some(&user.0), format!("Import #{id}"), "/imports"),
        i,
    };
    html(StatusCode::OK, page.render())
}

pub async fn commit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let kind: String = crate::db::run(&state.pool, move |conn| {
        Ok(imports::table
            .find(id)
            .select(imports::kind)
            .first(conn)
            .optional()?)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    authorize_kind(&actor, Kind::parse(&kind).ok_or(AppError::NotFound)?)?;
    let claimed = crate::db::run(&state.pool, move |conn| job::claim_for_commit(conn, id)).await?;
    if claimed {
        job::spawn_commit(state.pool.clone(), id, actor);
    } else {
        sess::flash(
            &session,
            FlashKind::Error,
            "This import cannot be committed now: it has errors, is running, or is done.",
        );
    }
    Ok(redirect(&format!("/imports/{id}")))
}

pub async fn template(user: CurrentUser, path: web::Path<String>) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let kind = Kind::parse(name.trim_end_matches(".csv")).ok_or(AppError::NotFound)?;
    authorize_kind(&user.0, kind)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"portalops-{}-template.csv\"",
                kind.as_str()
            ),
        ))
        .body(format!("{}\n", kind.columns().join(","))))
}
