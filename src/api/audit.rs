//! `GET /api/v1/audit`: the audit log, read-only, for those who may read it (Admins), with
//! the page's filters and keyset paging (`before` / `after` an entry id).

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{ApiResult, ApiUser, Problem};
use crate::audit::queries::{self, AuditFilter};
use crate::authz::{authorize, Action};
use crate::web::AppState;

#[derive(Serialize)]
struct Entry {
    id: i64,
    at: String,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    object_type: String,
    object_id: String,
    summary: String,
    /// The changed fields before and after (secrets masked), as recorded.
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    client_ip: String,
    request_id: String,
}

#[derive(Serialize)]
struct Page {
    items: Vec<Entry>,
    /// Pass as `after` for newer entries, as `before` for older ones (absent at either end).
    newer: Option<i64>,
    older: Option<i64>,
}

pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<AuditFilter>,
) -> ApiResult<HttpResponse> {
    authorize(&user.0, Action::ViewAuditLog)?;
    let filter = query.into_inner();
    let page = crate::db::run(&state.pool, move |conn| queries::list(conn, &filter)).await?;
    if !page.problems.is_empty() {
        return Err(Problem::bad_request(page.problems.join(" ")));
    }
    let json = |s: String| {
        (!s.is_empty())
            .then(|| serde_json::from_str(&s).ok())
            .flatten()
    };
    Ok(HttpResponse::Ok().json(Page {
        items: page
            .rows
            .into_iter()
            .map(|r| Entry {
                id: r.id,
                at: r.at,
                actor_id: r.actor_id,
                actor: r.actor_label,
                action: r.action,
                object_type: r.object_type,
                object_id: r.object_id,
                summary: r.summary,
                before: json(r.before),
                after: json(r.after),
                client_ip: r.client_ip,
                request_id: r.request_id,
            })
            .collect(),
        newer: page.newer,
        older: page.older,
    }))
}
