//! `GET /api/v1/audit`: the audit log, read-only, for those who may read it (Admins), with
//! the page's filters and keyset paging (`before` / `after` an entry id).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Problem};
use crate::audit::queries::{self, AuditFilter};
use crate::authz::{authorize, Action};
use crate::web::AppState;

/// The audit page's filters; an empty date is an error here, not "no filter".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted: part of a username or name.
    actor: Option<String>,
    /// The action, e.g. `grant.created` (a prefix like `grant.` matches all of them).
    action: Option<String>,
    /// What kind of object changed, e.g. `product`.
    object_type: Option<String>,
    /// Which object changed.
    object_id: Option<String>,
    /// From this day on.
    #[param(format = Date)]
    from: Option<String>,
    /// Up to and including this day.
    #[param(format = Date)]
    to: Option<String>,
    /// Entries older than this id (the `older` of a page).
    before: Option<i64>,
    /// Entries newer than this id (the `newer` of a page).
    after: Option<i64>,
}

impl AuditQuery {
    fn into_filter(self) -> Result<AuditFilter, Problem> {
        for (name, value) in [("from", &self.from), ("to", &self.to)] {
            if value
                .as_deref()
                .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
            {
                return Err(Problem::bad_request(format!(
                    "{name} is not a date (YYYY-MM-DD)."
                )));
            }
        }
        Ok(AuditFilter {
            actor: self.actor.unwrap_or_default(),
            action: self.action.unwrap_or_default(),
            object_type: self.object_type.unwrap_or_default(),
            object_id: self.object_id.unwrap_or_default(),
            from: self.from.unwrap_or_default(),
            to: self.to.unwrap_or_default(),
            before: self.before,
            after: self.after,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditPage)]
struct Page {
    items: Vec<Entry>,
    /// Pass as `after` for newer entries, as `before` for older ones (absent at either end).
    newer: Option<i64>,
    older: Option<i64>,
}

/// The audit log, newest first, 50 entries a page (Admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit",
    params(AuditQuery),
    responses((status = 200, description = "One page of entries", body = Page)))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    authorize(&user.0, Action::ViewAuditLog)?;
    let filter = query.into_inner().into_filter()?;
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
