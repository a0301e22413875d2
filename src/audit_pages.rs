//! The audit log page (Admins only): filters, newest first, keyset pagination. A door above
//! `auth` (it takes the `CurrentUser`); the log it reads, `audit` (`record`, `queries`),
//! sits below `auth`, which records its own entries.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, AuditFilter, AuditRow};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::error::{urlencode, AppResult};
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

/// The audit log page (Admins).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditListPage {
    ctx: PageCtx,
    filter: AuditFilter,
    rows: Vec<AuditRow>,
    newer_href: String,
    older_href: String,
    problems: Vec<String>,
}

fn href(f: &AuditFilter, cursor: (&str, i64)) -> String {
    let mut q = vec![format!("{}={}", cursor.0, cursor.1)];
    q.extend(filters(f));
    format!("/audit?{}", q.join("&"))
}

/// The filters as query-string pairs.
fn filters(f: &AuditFilter) -> Vec<String> {
    let mut q = Vec::new();
    for (k, v) in [
        ("q", &f.q),
        ("actor", &f.actor),
        ("action", &f.action),
        ("object_type", &f.object_type),
        ("object_id", &f.object_id),
        ("from", &f.from),
        ("to", &f.to),
    ] {
        if !v.trim().is_empty() {
            q.push(format!("{k}={}", urlencode(v.trim())));
        }
    }
    q
}

impl AuditListPage {
    /// The page of the object an entry changed, where it has one.
    fn link(&self, r: &AuditRow) -> Option<String> {
        crate::web::urls::audit_object(&r.object_type, &r.object_id)
    }
    /// The download of what the filters select.
    fn csv_href(&self) -> String {
        let mut q = filters(&self.filter);
        q.push("format=csv".into());
        format!("/audit?{}", q.join("&"))
    }
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<AuditFilter>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewAuditLog)?;
    let filter = query.into_inner();
    let f = filter.clone();
    if filter.format == "csv" {
        let page = crate::db::run(&state.pool, move |conn| {
            queries::list_limited(conn, &f, crate::audit::history::CSV_MAX)
        })
        .await?;
        let rows = crate::audit::history::csv_rows(page.rows);
        return crate::web::csv_out::attachment(
            "portalops-audit.csv",
            crate::audit::history::CSV_HEADER,
            rows,
        );
    }
    let page = crate::db::run(&state.pool, move |conn| queries::list(conn, &f)).await?;
    let view = AuditListPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Audit log", "/audit"),
        newer_href: page
            .newer
            .map(|id| href(&filter, ("after", id)))
            .unwrap_or_default(),
        older_href: page
            .older
            .map(|id| href(&filter, ("before", id)))
            .unwrap_or_default(),
        filter,
        rows: page.rows,
        problems: page.problems,
    };
    html(StatusCode::OK, view.render())
}
