//! The History tabs: a person's, a product's, a service's and a billing record's timeline
//! from the audit log (`audit::history`), filtered by kind and dates, keyset-paged, and as
//! CSV. Each is seen by whoever may see its object; a person's History shows an
//! administrator only what touched the products they run.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web as aw, HttpResponse};
use askama::Template;

use crate::audit::history::{self, HistoryFilter, CSV_HEADER, CSV_MAX, KINDS};
use crate::audit::queries::{AuditPage, PAGE_SIZE};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::domain::{BillingRecordId, PersonId, ProductId, ServiceId};
use crate::error::AppResult;
use crate::history::Finder;
use crate::web::csv_out::attachment;
use crate::web::respond::html;
use crate::web::{urls, AppState, PageCtx};

pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/directory/{id}/history", aw::get().to(person))
        .route("/inventory/products/{id}/history", aw::get().to(product))
        .route("/inventory/services/{id}/history", aw::get().to(service))
        .route("/payments/{id}/history", aw::get().to(billing_record));
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    ctx: PageCtx,
    title: String,
    /// The object's page, and its name for the crumbs.
    back: (String, String),
    /// The History's own path (the filter form's action).
    here: String,
    filter: HistoryFilter,
    kinds: &'static [(&'static str, &'static str, &'static [&'static str])],
    page: AuditPage,
    scoped: bool,
}

impl HistoryPage {
    fn link(&self, r: &crate::audit::queries::AuditRow) -> Option<String> {
        urls::audit_object(&r.object_type, &r.object_id)
    }
    /// The filters as a query string (without paging), for the pager and the CSV link.
    fn query(&self) -> String {
        let f = &self.filter;
        let pairs: Vec<(&str, &str)> = [("kind", &f.kind), ("from", &f.from), ("to", &f.to)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, v.as_str()))
            .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
    fn href(&self, key: &str, id: &i64) -> String {
        let q = self.query();
        let sep = if q.is_empty() { "" } else { "&" };
        format!("{}?{q}{sep}{key}={id}", self.here)
    }
    fn csv_href(&self) -> String {
        let q = self.query();
        let sep = if q.is_empty() { "" } else { "&" };
        format!("{}?{q}{sep}format=csv", self.here)
    }
}

/// A History page (or, with `format=csv`, its download) of object `id`, found by `find`;
/// `here` is the page's own path, `kind` names the download and `section` is the nav's.
async fn show<Id: Copy + Send + std::fmt::Display + 'static>(
    user: CurrentUser,
    session: Session,
    state: &AppState,
    (id, kind, here, section): (Id, &str, String, &str),
    filter: HistoryFilter,
    find: Finder<Id>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    let (a, f) = (actor.clone(), filter.clone());
    let limit = if f.format == "csv" {
        CSV_MAX
    } else {
        PAGE_SIZE
    };
    let found = crate::db::run(&state.pool, move |conn| find(conn, &a, id, &f, limit)).await?;
    if filter.format == "csv" {
        let name = format!("portalops-history-{kind}-{id}.csv");
        return attachment(&name, CSV_HEADER, history::csv_rows(found.page.rows));
    }
    let title = format!("History of {}", found.name);
    let page = HistoryPage {
        ctx: PageCtx::new(&session, Some(&actor), &title, section),
        title,
        back: (found.page_of, found.name),
        here,
        filter,
        kinds: KINDS,
        page: found.page,
        scoped: found.scoped,
    };
    html(StatusCode::OK, page.render())
}

/// `GET /directory/{id}/history`.
pub async fn person(
    user: CurrentUser,
    session: Session,
    state: aw::Data<AppState>,
    path: aw::Path<PersonId>,
    query: aw::Query<HistoryFilter>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ViewDirectory)?;
    let id = path.into_inner();
    let at = (id, "person", urls::person_history(id), "/directory");
    let find: Finder<PersonId> = crate::history::of_person;
    show(user, session, &state, at, query.into_inner(), find).await
}

/// `GET /inventory/products/{id}/history`.
pub async fn product(
    user: CurrentUser,
    session: Session,
    state: aw::Data<AppState>,
    path: aw::Path<ProductId>,
    query: aw::Query<HistoryFilter>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let at = (id, "product", urls::product_history(id), "/inventory");
    let find: Finder<ProductId> = crate::history::of_product;
    show(user, session, &state, at, query.into_inner(), find).await
}

/// `GET /inventory/services/{id}/history`: the service's and its products' (those the
/// actor sees).
pub async fn service(
    user: CurrentUser,
    session: Session,
    state: aw::Data<AppState>,
    path: aw::Path<ServiceId>,
    query: aw::Query<HistoryFilter>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let at = (id, "service", urls::service_history(id), "/inventory");
    let find: Finder<ServiceId> = crate::history::of_service;
    show(user, session, &state, at, query.into_inner(), find).await
}

/// `GET /payments/{id}/history`.
pub async fn billing_record(
    user: CurrentUser,
    session: Session,
    state: aw::Data<AppState>,
    path: aw::Path<BillingRecordId>,
    query: aw::Query<HistoryFilter>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let at = (id, "billing", urls::billing_record_history(id), "/payments");
    let find: Finder<BillingRecordId> = crate::history::of_billing_record;
    show(user, session, &state, at, query.into_inner(), find).await
}
