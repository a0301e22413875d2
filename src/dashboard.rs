//! The dashboard: the first page after login. Admins see the estate at a glance; Service
//! and Product Administrators see what they run, with renewals, card expiries, deadlines,
//! spend and their own recent changes. `queries` gathers the figures.

pub mod queries;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::audit::queries::AuditRow;
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, can, Action};
use crate::error::AppResult;
use crate::inventory::queries::ProductSeatUse;
use crate::payments::queries::{CurrencyTotal, RegisterRow, Reporting};
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};
use queries::Stats;

/// The dashboard's page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show));
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageCtx,
    stats: Stats,
    mine: Vec<ProductSeatUse>,
    recent: Vec<AuditRow>,
    show_audit_link: bool,
    is_admin: bool,
    renewals: Vec<RegisterRow>,
    cards: Vec<RegisterRow>,
    /// Cancellation deadlines in the next 30 days: the decisions that cannot wait.
    deadlines: Vec<RegisterRow>,
    /// Yearly cost of the active records in scope, per currency, and converted.
    totals: Vec<CurrencyTotal>,
    reporting: Option<Reporting>,
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDashboard)?;
    let a = actor.clone();
    let cache = state.cache.clone();
    let key = format!("dashboard:{}:{}", actor.cache_key(), state.clock.today());
    let d = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| queries::dashboard(conn, &a))
    })
    .await
    .map(std::sync::Arc::unwrap_or_clone)?;
    let page = DashboardPage {
        ctx: PageCtx::new(&session, Some(&actor), "Dashboard", "/"),
        is_admin: actor.is_admin(),
        show_audit_link: can(&actor, Action::ViewAuditLog),
        stats: d.stats,
        mine: d.mine,
        recent: d.recent,
        renewals: d.renewals,
        cards: d.cards,
        deadlines: d.deadlines,
        totals: d.totals,
        reporting: d.reporting,
    };
    html(StatusCode::OK, page.render())
}
