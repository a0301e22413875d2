//! `GET /api/v1/audit`: the audit log, read-only, for those who may read it (Admins), with
//! the page's filters and keyset paging (`before` / `after` an entry id); and the History
//! of a person or a product, for whoever may see them.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{ApiResult, ApiUser, Problem};
use crate::audit::history::HistoryFilter;
use crate::audit::queries::{self, AuditFilter, AuditPage};
use crate::authz::{authorize, Action};
use crate::domain::{PersonId, ProductId};
use crate::web::AppState;

/// The audit page's filters; an empty date is an error here, not "no filter".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Free text: every word somewhere in the summary, the actor or the action.
    q: Option<String>,
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
        check_dates(&self.from, &self.to)?;
        Ok(AuditFilter {
            q: self.q.unwrap_or_default(),
            format: String::new(),
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
    Ok(HttpResponse::Ok().json(Page::from(page)))
}

impl From<AuditPage> for Page {
    fn from(page: AuditPage) -> Self {
        let json = |s: String| {
            (!s.is_empty())
                .then(|| serde_json::from_str(&s).ok())
                .flatten()
        };
        Page {
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
        }
    }
}

/// A given `from` or `to` that is no date (an empty one included) is a 400, not "no filter".
fn check_dates(from: &Option<String>, to: &Option<String>) -> Result<(), Problem> {
    for (name, value) in [("from", from), ("to", to)] {
        if value
            .as_deref()
            .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
        {
            return Err(Problem::bad_request(format!(
                "{name} is not a date (YYYY-MM-DD)."
            )));
        }
    }
    Ok(())
}

/// What a History can be narrowed to (`audit::history::KINDS`' keys).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HistoryKind {
    Access,
    Workflows,
    Billing,
    Details,
}

impl HistoryKind {
    fn key(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Workflows => "workflows",
            Self::Billing => "billing",
            Self::Details => "details",
        }
    }
}

/// A History's filters, as the API takes them.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Absent: everything.
    kind: Option<HistoryKind>,
    /// From this day on.
    #[param(format = Date)]
    from: Option<String>,
    /// Up to and including this day.
    #[param(format = Date)]
    to: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

impl HistoryQuery {
    fn into_filter(self) -> Result<HistoryFilter, Problem> {
        check_dates(&self.from, &self.to)?;
        let kind = self.kind.map(HistoryKind::key).unwrap_or_default();
        Ok(HistoryFilter {
            kind: kind.to_string(),
            from: self.from.unwrap_or_default(),
            to: self.to.unwrap_or_default(),
            before: self.before,
            after: self.after,
            format: String::new(),
        })
    }
}

/// A History page as JSON, found by `find` in the caller's scope.
async fn history_of<Id: Copy + Send + 'static>(
    user: ApiUser,
    state: &AppState,
    id: Id,
    query: HistoryQuery,
    find: crate::history::Finder<Id>,
) -> ApiResult<HttpResponse> {
    let (actor, f) = (user.0, query.into_filter()?);
    let found = crate::db::run(&state.pool, move |conn| {
        find(conn, &actor, id, &f, queries::PAGE_SIZE)
    })
    .await?;
    if !found.page.problems.is_empty() {
        return Err(Problem::bad_request(found.page.problems.join(" ")));
    }
    Ok(HttpResponse::Ok().json(Page::from(found.page)))
}

/// A person's History: every audit entry about them, their grants, workflows, tasks and
/// handovers, newest first, 50 a page (an administrator sees what touched their products).
#[utoipa::path(get, path = "/api/v1/people/{id}/history", tag = "audit",
    operation_id = "person_history",
    params(("id" = i64, Path, description = "The person's id"), HistoryQuery),
    responses((status = 200, description = "One page of entries", body = Page)))]
pub async fn person_history(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<PersonId>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let find: crate::history::Finder<_> = crate::history::of_person;
    history_of(user, &state, path.into_inner(), query.into_inner(), find).await
}

/// A product's History: its changes, grants, tasks and billing, newest first.
#[utoipa::path(get, path = "/api/v1/products/{id}/history", tag = "audit",
    operation_id = "product_history",
    params(("id" = i64, Path, description = "The product's id"), HistoryQuery),
    responses((status = 200, description = "One page of entries", body = Page)))]
pub async fn product_history(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<ProductId>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let find: crate::history::Finder<_> = crate::history::of_product;
    history_of(user, &state, path.into_inner(), query.into_inner(), find).await
}
