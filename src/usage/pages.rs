//! A product's usage pages (whoever may grant it): upload an admin console's user export,
//! see its dry run (who matched, who did not and why, who holds a grant but is absent),
//! change the column mapping, then apply or discard it. Thin: `store` does the work.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::evidence::{DryRun, Mapping};
use super::store::{self, UsageImport};
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::Actor;
use crate::domain::{DateFormat, ProductId, UsageImportStatus};
use crate::error::{AppResult, CommandError};
use crate::web::format::format_time;
use crate::web::forms::FieldErrors;
use crate::web::input::Form;
use crate::web::respond::{after_command, html, redirect, run_command};
use crate::web::{AppState, PageCtx};

/// The largest export accepted.
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;
/// The dry run shows at most this many rows of each list (the counts are whole).
const SHOWN: usize = 500;

fn base(product: ProductId) -> String {
    format!("/inventory/products/{product}/usage")
}

fn import_url(product: ProductId, id: i64) -> String {
    format!("{}/{id}", base(product))
}

/// One import as the history lists it.
pub struct ImportView {
    pub id: i64,
    pub filename: String,
    pub by: String,
    pub at: String,
    pub status: &'static str,
    pub preview: bool,
    pub rows: i32,
    pub matched: i32,
    pub unmatched: i32,
    pub absent: i32,
}

impl ImportView {
    fn new(i: &UsageImport) -> Self {
        Self {
            id: i.id,
            filename: i.filename.clone(),
            by: i.uploaded_by_label.clone(),
            at: format_time(i.created_at),
            status: i.status.label(),
            preview: i.status == UsageImportStatus::Preview,
            rows: i.total_rows,
            matched: i.matched,
            unmatched: i.unmatched,
            absent: i.absent,
        }
    }
}

#[derive(Template)]
#[template(path = "usage/list.html")]
struct ListPage {
    ctx: PageCtx,
    product_id: i64,
    product: String,
    rows: Vec<ImportView>,
    max_mb: usize,
}

/// The product's usage page: the upload form and the imports so far.
pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
) -> AppResult<HttpResponse> {
    let product = path.into_inner();
    let a = user.0.clone();
    let (facts, rows) =
        crate::db::run(&state.pool, move |conn| store::history(conn, &a, product)).await?;
    let label = format!("{} → {}", facts.service_name, facts.name);
    let page = ListPage {
        ctx: PageCtx::new(
            &session,
            Some(&user.0),
            format!("Usage of {label}"),
            "/inventory",
        ),
        product_id: product.get(),
        product: label,
        rows: rows.iter().map(ImportView::new).collect(),
        max_mb: MAX_UPLOAD / 1024 / 1024,
    };
    html(StatusCode::OK, page.render())
}

/// Stores an upload and shows its dry run. A card number anywhere refuses the whole file
/// before anything is stored (the file is kept for the dry run).
pub async fn upload(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let product = path.into_inner();
    let back = base(product);
    let a = user.0.clone();
    // Scope first: a product outside it is 404 before the body is read.
    crate::db::run(&state.pool, move |conn| store::history(conn, &a, product)).await?;
    let too_large = || {
        format!(
            "Usage exports are limited to {} MB. Split the file and upload it in parts.",
            MAX_UPLOAD / 1024 / 1024
        )
    };
    let (filename, data) = crate::web::upload::read_file(payload, MAX_UPLOAD as u64, too_large)
        .await?
        .unwrap_or_default();
    let refuse = |message: &str| {
        sess::flash(&session, FlashKind::Error, message);
        Ok(redirect(&back))
    };
    if data.is_empty() {
        return refuse("Choose the CSV file the product's admin console exported.");
    }
    let filename = if filename.is_empty() {
        "export.csv".to_string()
    } else {
        crate::web::upload::display_name(&filename)
    };
    let Ok(text) = String::from_utf8(data) else {
        return refuse("The file is not UTF-8 text. Save it as CSV (UTF-8) and try again.");
    };
    if let Some(refusal) = crate::web::upload::card_refusal(&text) {
        return refuse(&format!(
            "{refusal} Nothing was stored: remove it (or the column) and upload again."
        ));
    }
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        Ok(()),
        move |conn, actor, ()| store::create(conn, actor, product, &filename, &text, now),
    )
    .await?;
    match result {
        Ok(id) => Ok(redirect(&import_url(product, id))),
        Err(CommandError::Invalid(e)) => {
            let message = e
                .iter()
                .map(|(_, m)| m.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            refuse(&message)
        }
        Err(CommandError::Refused(m)) => refuse(&m),
        Err(CommandError::Other(e)) => Err(e),
    }
}

/// The mapping form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MappingForm {
    #[serde(default)]
    pub email_column: String,
    #[serde(default)]
    pub last_active_column: String,
    #[serde(default)]
    pub tier_column: String,
    #[serde(default)]
    pub date_format: String,
}

impl MappingForm {
    fn of(m: &Mapping) -> Self {
        Self {
            email_column: m.email.clone().unwrap_or_default(),
            last_active_column: m.last_active.clone().unwrap_or_default(),
            tier_column: m.tier.clone().unwrap_or_default(),
            date_format: m.date_format.as_str().into(),
        }
    }

    fn mapping(&self) -> Result<Mapping, FieldErrors> {
        let pick = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
        let mut e = FieldErrors::new();
        let date_format = DateFormat::parse(&self.date_format).unwrap_or_else(|| {
            e.add("date_format", "Choose how the dates are written.");
            DateFormat::Auto
        });
        if self.email_column.is_empty() {
            e.add(
                "email_column",
                "Choose the column that holds each user's email or account.",
            );
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Mapping {
            email: pick(&self.email_column),
            last_active: pick(&self.last_active_column),
            tier: pick(&self.tier_column),
            date_format,
        })
    }
}

/// A matched row as shown.
pub struct MatchedView {
    pub line: usize,
    pub person_id: i64,
    pub person: String,
    pub how: &'static str,
    pub last_active: String,
    pub tier: String,
}

/// A row not matched.
pub struct UnmatchedView {
    pub line: usize,
    pub key: String,
    pub person_id: Option<i64>,
    pub reason: String,
}

/// A holder the export does not list.
pub struct AbsentView {
    pub person_id: i64,
    pub person: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "usage/show.html")]
struct ShowPage {
    ctx: PageCtx,
    product_id: i64,
    product: String,
    import: ImportView,
    form: MappingForm,
    errors: FieldErrors,
    /// The file's headers, as options (with a blank "none" for the optional columns).
    columns: Vec<(String, String)>,
    optional_columns: Vec<(String, String)>,
    formats: Vec<(String, String)>,
    /// Why there is no dry run (no email column chosen).
    problem: String,
    matched: Vec<MatchedView>,
    unmatched: Vec<UnmatchedView>,
    absent: Vec<AbsentView>,
    counts: (usize, usize, usize, usize),
    shown: usize,
}

async fn render(
    session: &Session,
    state: &AppState,
    actor: &Actor,
    product: ProductId,
    id: i64,
    form: Option<MappingForm>,
    errors: FieldErrors,
) -> AppResult<HttpResponse> {
    let a = actor.clone();
    type Loaded = (
        crate::authz::ProductFacts,
        UsageImport,
        Option<(
            Vec<String>,
            super::evidence::Directory,
            Result<DryRun, String>,
        )>,
    );
    let (facts, import, run): Loaded = crate::db::run(&state.pool, move |conn| {
        let (facts, import) = store::get(conn, &a, product, id)?;
        let run = if import.status == UsageImportStatus::Preview {
            let (export, dir, run) = store::dry_run(conn, &import)?;
            Some((export.headers, dir, run))
        } else {
            None
        };
        Ok((facts, import, run))
    })
    .await?;
    let label = format!("{} → {}", facts.service_name, facts.name);
    let form = form.unwrap_or_else(|| MappingForm::of(&import.mapping()));
    let mut page = ShowPage {
        ctx: PageCtx::new(
            session,
            Some(actor),
            format!("Usage export #{id}"),
            "/inventory",
        ),
        product_id: product.get(),
        product: label,
        import: ImportView::new(&import),
        form,
        errors,
        columns: Vec::new(),
        optional_columns: Vec::new(),
        formats: DateFormat::OPTIONS
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect(),
        problem: String::new(),
        matched: Vec::new(),
        unmatched: Vec::new(),
        absent: Vec::new(),
        counts: (0, 0, 0, 0),
        shown: SHOWN,
    };
    if let Some((headers, dir, run)) = run {
        let options: Vec<(String, String)> = headers
            .iter()
            .filter(|h| !h.is_empty())
            .map(|h| (h.clone(), h.clone()))
            .collect();
        page.columns = std::iter::once((String::new(), "— choose —".to_string()))
            .chain(options.iter().cloned())
            .collect();
        page.optional_columns = std::iter::once((String::new(), "— none —".to_string()))
            .chain(options)
            .collect();
        let name = |id: i64| {
            dir.people
                .get(&id)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("person #{id}"))
        };
        match run {
            Err(problem) => page.problem = problem,
            Ok(run) => {
                page.counts = (
                    run.rows,
                    run.matched.len(),
                    run.unmatched.len(),
                    run.absent.len(),
                );
                page.matched = run
                    .matched
                    .iter()
                    .take(SHOWN)
                    .map(|m| MatchedView {
                        line: m.line,
                        person_id: m.person_id,
                        person: name(m.person_id),
                        how: m.how.label(),
                        last_active: m
                            .day
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "never".into()),
                        tier: m.tier.clone().unwrap_or_default(),
                    })
                    .collect();
                page.unmatched = run
                    .unmatched
                    .iter()
                    .take(SHOWN)
                    .map(|u| UnmatchedView {
                        line: u.line,
                        key: u.key.clone(),
                        person_id: u.person_id,
                        reason: u.reason.clone(),
                    })
                    .collect();
                page.absent = run
                    .absent
                    .iter()
                    .take(SHOWN)
                    .map(|(_, p)| AbsentView {
                        person_id: *p,
                        person: name(*p),
                        email: dir
                            .people
                            .get(p)
                            .map(|p| p.email.clone())
                            .unwrap_or_default(),
                    })
                    .collect();
            }
        }
    }
    let status = crate::web::forms::status(&page.errors);
    html(status, page.render())
}

/// An import's page: its dry run while it is one, its outcome after.
pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, i64)>,
) -> AppResult<HttpResponse> {
    let (product, id) = path.into_inner();
    render(
        &session,
        &state,
        &user.0,
        product,
        id,
        None,
        FieldErrors::new(),
    )
    .await
}

/// Changes the column mapping; the dry run is made again.
pub async fn set_mapping(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, i64)>,
    body: Form<MappingForm>,
) -> AppResult<HttpResponse> {
    let (product, id) = path.into_inner();
    let (form, request) = body.check(|f| f.mapping());
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        request,
        move |conn, actor, mapping| store::set_mapping(conn, actor, product, id, mapping),
    )
    .await?;
    let here = import_url(product, id);
    match after_command(
        &session,
        result,
        |_| {
            (
                "Columns saved: the dry run below uses them.".into(),
                here.clone(),
            )
        },
        &here,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render(&session, &state, &user.0, product, id, Some(form), errors).await,
    }
}

/// Applies the dry run.
pub async fn apply(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, i64)>,
) -> AppResult<HttpResponse> {
    let (product, id) = path.into_inner();
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        Ok(()),
        move |conn, actor, ()| store::apply(conn, actor, product, id, now),
    )
    .await?;
    let here = import_url(product, id);
    match after_command(
        &session,
        result,
        |a| {
            (
                format!(
                    "Applied: last active dates for {} grant(s); {} holder(s) marked as not in \
                     the export.",
                    a.matched, a.absent
                ),
                crate::web::urls::product(product),
            )
        },
        &here,
    )? {
        Ok(resp) => Ok(resp),
        Err(errors) => render(&session, &state, &user.0, product, id, None, errors).await,
    }
}

/// Discards the dry run.
pub async fn discard(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(ProductId, i64)>,
) -> AppResult<HttpResponse> {
    let (product, id) = path.into_inner();
    let now = state.clock.now();
    let result = run_command(
        &state.pool,
        &user.0,
        FieldErrors::new(),
        Ok(()),
        move |conn, actor, ()| store::discard(conn, actor, product, id, now),
    )
    .await?;
    let back = base(product);
    match after_command(
        &session,
        result,
        |_| {
            (
                "Dry run discarded; nothing was changed.".into(),
                back.clone(),
            )
        },
        &back,
    )? {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(redirect(&back)),
    }
}
