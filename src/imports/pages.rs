//! Import pages (Admins): upload, the dry-run preview with every row's errors, progress
//! while a job runs (the page refreshes itself, no JavaScript), and the commit.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, ImportRow};
use super::{action_for, columns, job, ImportKind, ImportStatus};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action};
use crate::directory::grants::AfterGrant;
use crate::domain::ImportId;
use crate::error::{AppError, AppResult};
use crate::web::respond::{html, redirect};
use crate::web::urls;
use crate::web::{AppState, PageCtx};

/// Largest CSV accepted.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

#[derive(Template)]
#[template(path = "imports/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<ImportRow>,
    people_columns: String,
    service_columns: String,
    grant_columns: String,
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let a = user.0.clone();
    let rows = crate::db::run(&state.pool, move |conn| queries::recent(conn, &a)).await?;
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Import", "/imports"),
        rows,
        people_columns: columns(ImportKind::People).join(", "),
        service_columns: columns(ImportKind::Services).join(", "),
        grant_columns: crate::directory::grant_rows::IMPORTED.join(", "),
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
    let kind = ImportKind::parse(&query.kind).ok_or(AppError::NotFound)?;
    authorize(&actor, action_for(kind))?;
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
        crate::web::upload::display_name(&filename)
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
    if let Some(refusal) = crate::web::upload::card_refusal(&text) {
        sess::flash(
            &session,
            FlashKind::Error,
            &format!("{refusal} Nothing was stored: upload the file again without it."),
        );
        return Ok(redirect("/imports"));
    }
    let a = actor.clone();
    let id = crate::db::run(&state.pool, move |conn| {
        job::create(conn, &a, kind, &filename, &text)
    })
    .await?;
    job::spawn_validation(state.pool.clone(), id, actor);
    Ok(redirect(&urls::import(id)))
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
    path: web::Path<ImportId>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let a = user.0.clone();
    let i = crate::db::run(&state.pool, move |conn| queries::import(conn, &a, id)).await?;
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
    path: web::Path<ImportId>,
    after: web::Data<dyn AfterGrant>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let id = path.into_inner();
    let a = actor.clone();
    let claimed =
        crate::db::run(&state.pool, move |conn| job::claim_for_commit(conn, &a, id)).await?;
    if claimed {
        job::spawn_commit(state.pool.clone(), id, actor, after.into_inner());
    } else {
        sess::flash(
            &session,
            FlashKind::Error,
            "This import cannot be committed now: it has errors, is running, or is done.",
        );
    }
    Ok(redirect(&urls::import(id)))
}

pub async fn template(user: CurrentUser, path: web::Path<String>) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let kind = ImportKind::parse(name.trim_end_matches(".csv")).ok_or(AppError::NotFound)?;
    authorize(&user.0, action_for(kind))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"portalops-{}-template.csv\"",
                kind.as_str()
            ),
        ))
        .body(format!("{}\n", columns(kind).join(","))))
}
