//! The dashboard: the first page after login. Admins see the estate at a glance; Service
//! and Product Administrators see what they run. Later modules add their panels (renewals,
//! open tasks).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;

use crate::audit::queries::{recent_for_actor, AuditRow};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, can, Action, Actor, Role};
use crate::db::schema::{product_seat_counts, products, services, users};
use crate::error::{AppError, AppResult};
use crate::payments::queries::{deadlines, spend, upcoming, CurrencyTotal, RegisterRow, Reporting};
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageCtx,
    stats: Stats,
    mine: Vec<ScopeRow>,
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

/// Counts over the actor's scope (everything for Admins).
#[derive(Clone)]
struct Stats {
    services: i64,
    products: i64,
    people: i64,
    active_grants: i64,
    over_seats: i64,
}

/// A product the actor runs, with its seat use.
#[derive(Clone)]
struct ScopeRow {
    product_id: i64,
    label: String,
    seats_used: i64,
    seats_purchased: Option<i32>,
}

impl ScopeRow {
    fn is_over(&self) -> bool {
        self.seats_purchased
            .is_some_and(|p| self.seats_used > i64::from(p))
    }
}

/// Active products in scope with their active grant counts: two queries.
fn scoped_products(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<ScopeRow>, AppError> {
    let mut q = products::table
        .inner_join(services::table)
        .filter(products::status.eq("active"))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
            products::seats_purchased,
        ))
        .order((services::name.asc(), products::name.asc()))
        .into_boxed();
    match actor.role {
        Role::Admin => {}
        Role::ServiceAdmin => {
            q = q.filter(products::service_id.eq_any(actor.scope.services.clone()))
        }
        Role::ProductAdmin => q = q.filter(products::id.eq_any(actor.scope.product_ids())),
        Role::User => return Ok(Vec::new()),
    }
    let rows: Vec<(i64, String, Option<i32>)> = q.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let used = crate::inventory::queries::seats_used(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(product_id, label, seats_purchased)| ScopeRow {
            seats_used: used.get(&product_id).copied().unwrap_or(0),
            product_id,
            label,
            seats_purchased,
        })
        .collect())
}

fn admin_stats(conn: &mut PgConnection) -> Result<Stats, AppError> {
    // Both grant figures come from the per-product counters (migration 0011): counting
    // 100,000 grants twice per request was most of this page's cost.
    let (active_grants, over_seats): (Option<i64>, i64) = products::table
        .inner_join(product_seat_counts::table)
        .select((
            sum(product_seat_counts::active_grants),
            // NULL (no seat limit recorded) is not over: FILTER treats it as false.
            count(products::id).aggregate_filter(
                products::status
                    .eq("active")
                    .and(
                        product_seat_counts::active_grants
                            .nullable()
                            .gt(products::seats_purchased),
                    )
                    .assume_not_null(),
            ),
        ))
        .get_result(conn)?;
    Ok(Stats {
        services: services::table
            .filter(services::status.eq("active"))
            .select(count_star())
            .get_result(conn)?,
        products: products::table
            .filter(products::status.eq("active"))
            .select(count_star())
            .get_result(conn)?,
        people: users::table
            .filter(users::employment_status.ne("offboarded"))
            .select(count_star())
            .get_result(conn)?,
        active_grants: active_grants.unwrap_or(0),
        over_seats,
    })
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
    let (stats, mine, recent, renewals, cards, deadlines, (totals, reporting)) =
        crate::db::run(&state.pool, move |conn| {
            cache.get_or_compute(conn, key, |conn| {
                let (stats, mine) = if a.is_admin() {
                    (admin_stats(conn)?, Vec::new())
                } else {
                    let mine = scoped_products(conn, &a)?;
                    let mut services: Vec<&str> = mine
                        .iter()
                        .filter_map(|r| r.label.split(" → ").next())
                        .collect();
                    services.dedup();
                    let services = if a.role == Role::ServiceAdmin {
                        a.scope.services.len()
                    } else {
                        services.len()
                    };
                    let stats = Stats {
                        services: services as i64,
                        products: mine.len() as i64,
                        people: 0,
                        active_grants: mine.iter().map(|r| r.seats_used).sum(),
                        over_seats: mine.iter().filter(|r| r.is_over()).count() as i64,
                    };
                    (stats, mine)
                };
                let (renewals, cards) = upcoming(conn, &a, 30)?;
                Ok((
                    stats,
                    mine,
                    recent_for_actor(conn, a.id, 5)?,
                    renewals,
                    cards,
                    deadlines(conn, &a, 30)?,
                    spend(conn, &a)?,
                ))
            })
        })
        .await
        .map(std::sync::Arc::unwrap_or_clone)?;
    let page = DashboardPage {
        ctx: PageCtx::new(&session, Some(&actor), "Dashboard", "/"),
        is_admin: actor.is_admin(),
        show_audit_link: can(&actor, Action::ViewAuditLog),
        stats,
        mine,
        recent,
        renewals,
        cards,
        deadlines,
        totals,
        reporting,
    };
    html(StatusCode::OK, page.render())
}
