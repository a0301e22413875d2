//! Unused seats and savings: for per-seat products, seats bought against seats assigned and
//! the yearly cost of the unassigned ones (from the billing records, exact decimals); and
//! the grants most likely to be unused (people offboarded or leaving first, then the oldest).

use std::collections::{BTreeMap, HashMap};

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::money;
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor, Role};
use crate::db::schema::{access_grants, billing_records, products, services, users};
use crate::error::{AppError, AppResult};
use crate::web::pagination::{Pager, PER_PAGE};
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

#[derive(Clone)]
pub struct SeatRow {
    pub product_id: i64,
    pub label: String,
    pub purchased: i32,
    pub assigned: i64,
    pub utilisation: String,
    pub unused: i64,
    /// Per currency: the yearly cost of the unused seats.
    pub unused_cost: Vec<String>,
    sort_key: Decimal,
}

#[derive(Clone)]
pub struct GrantRow {
    pub person_id: i64,
    pub person: String,
    pub status: String,
    pub product_id: i64,
    pub product: String,
    pub granted: String,
    granted_at: DateTime<Utc>,
    pub age_days: i64,
}

fn product_ids_in_scope(actor: &Actor) -> Option<Vec<i64>> {
    match actor.role {
        Role::ProductAdmin => Some(actor.scope.product_ids()),
        Role::User => Some(Vec::new()),
        _ => None,
    }
}

pub fn seats(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<SeatRow>, AppError> {
    let mut q = products::table
        .inner_join(services::table)
        .filter(products::license_model.eq("per_seat"))
        .filter(products::status.eq("active"))
        .filter(products::seats_purchased.is_not_null())
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
            products::seats_purchased.assume_not_null(),
        ))
        .into_boxed();
    if actor.role == Role::ServiceAdmin {
        q = q.filter(products::service_id.eq_any(actor.scope.services.clone()));
    }
    if let Some(ids) = product_ids_in_scope(actor) {
        q = q.filter(products::id.eq_any(ids));
    }
    let rows: Vec<(i64, String, i32)> = q.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let assigned = crate::inventory::queries::seats_used(conn, &ids)?;
    let mut yearly: HashMap<i64, BTreeMap<String, Decimal>> = HashMap::new();
    for (pid, amount, cycle, currency) in billing_records::table
        .filter(billing_records::product_id.eq_any(&ids))
        .filter(billing_records::status.eq("active"))
        .select((
            billing_records::product_id,
            billing_records::amount,
            billing_records::cycle,
            billing_records::currency,
        ))
        .load::<(i64, Decimal, crate::domain::BillingCycle, String)>(conn)?
    {
        if let Some(y) = money::yearly(amount, cycle) {
            *yearly.entry(pid).or_default().entry(currency).or_default() += y;
        }
    }
    let mut out: Vec<SeatRow> = rows
        .into_iter()
        .map(|(id, label, purchased)| {
            let used = assigned.get(&id).copied().unwrap_or(0);
            let unused = (i64::from(purchased) - used).max(0);
            let mut sort_key = Decimal::ZERO;
            let unused_cost = yearly
                .get(&id)
                .map(|per| {
                    per.iter()
                        .map(|(cur, y)| {
                            let cost = if purchased > 0 {
                                *y * Decimal::from(unused) / Decimal::from(purchased)
                            } else {
                                Decimal::ZERO
                            };
                            sort_key += cost;
                            money::format(cost, cur)
                        })
                        .collect()
                })
                .unwrap_or_default();
            SeatRow {
                product_id: id,
                label,
                purchased,
                assigned: used,
                utilisation: if purchased > 0 {
                    format!("{}%", used * 100 / i64::from(purchased))
                } else {
                    "—".into()
                },
                unused,
                unused_cost,
                sort_key,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.sort_key
            .cmp(&a.sort_key)
            .then(b.unused.cmp(&a.unused))
            .then(a.label.cmp(&b.label))
    });
    Ok(out)
}

const STALE_LIMIT: i64 = 50;

/// People leaving or gone who still hold access come first (a small set, found through the
/// status index); then the oldest active grants, read in order from the grant-age index.
pub fn stale_grants(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<GrantRow>, AppError> {
    let leaving = ["offboarded", "offboarding"];
    let base = |actor: &Actor| {
        let mut q = access_grants::table
            .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
            .inner_join(products::table.inner_join(services::table))
            .filter(access_grants::revoked_at.is_null())
            .select((
                users::id,
                users::full_name,
                users::employment_status,
                products::id,
                services::name.concat(" → ").concat(products::name),
                access_grants::granted_at,
            ))
            .limit(STALE_LIMIT)
            .into_boxed();
        if actor.role == Role::ServiceAdmin {
            q = q.filter(products::service_id.eq_any(actor.scope.services.clone()));
        }
        if let Some(ids) = product_ids_in_scope(actor) {
            q = q.filter(products::id.eq_any(ids));
        }
        q
    };
    type Row = (i64, String, String, i64, String, DateTime<Utc>);
    // The leavers who still hold access, first and on their own: joined in one query, the
    // planner walked the grant-age index through thousands of grants to find them (5 ms).
    let leavers: Vec<i64> = users::table
        .filter(users::employment_status.eq_any(leaving))
        .filter(exists(
            access_grants::table
                .filter(access_grants::user_id.eq(users::id))
                .filter(access_grants::revoked_at.is_null()),
        ))
        .select(users::id)
        .load(conn)?;
    let mut rows: Vec<Row> = if leavers.is_empty() {
        Vec::new()
    } else {
        base(actor)
            .filter(access_grants::user_id.eq_any(&leavers))
            .order((access_grants::granted_at.asc(), access_grants::id.asc()))
            .load(conn)?
    };
    if (rows.len() as i64) < STALE_LIMIT {
        let rest: Vec<Row> = base(actor)
            .filter(users::employment_status.ne_all(leaving))
            .order((access_grants::granted_at.asc(), access_grants::id.asc()))
            .limit(STALE_LIMIT - rows.len() as i64)
            .load(conn)?;
        rows.extend(rest);
    }
    Ok(rows
        .into_iter()
        .map(|r| GrantRow {
            person_id: r.0,
            person: r.1,
            status: r.2,
            product_id: r.3,
            product: r.4,
            granted: r.5.format("%Y-%m-%d").to_string(),
            granted_at: r.5,
            age_days: (now - r.5).num_days(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "payments/savings.html")]
struct SavingsPage {
    ctx: PageCtx,
    seats: Vec<SeatRow>,
    pager: Pager,
    grants: Vec<GrantRow>,
}

#[derive(Debug, Deserialize)]
pub struct SavingsQuery {
    pub page: Option<i64>,
}

pub async fn page(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<SavingsQuery>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let a = actor.clone();
    let now = state.clock.now();
    let cache = state.cache.clone();
    let key = format!("savings:{}", actor.cache_key());
    let found = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| {
            Ok((seats(conn, &a)?, stale_grants(conn, &a, now)?))
        })
    })
    .await?;
    let (all_seats, grants) = &*found;
    // Ages move with the clock, not with the data: recomputed for a reused result.
    let grants = grants
        .iter()
        .map(|g| GrantRow {
            age_days: (now - g.granted_at).num_days(),
            ..g.clone()
        })
        .collect();
    // Every product is costed and sorted (the order needs them all); one page is shown.
    let page_no = query.page.unwrap_or(1).max(1);
    let pager = Pager::new("/payments/savings", &[], page_no, all_seats.len() as i64);
    let seats = all_seats
        .iter()
        .skip(Pager::offset(page_no) as usize)
        .take(PER_PAGE as usize)
        .cloned()
        .collect();
    let page = SavingsPage {
        ctx: PageCtx::new(
            &session,
            Some(&actor),
            "Unused seats and savings",
            "/payments",
        ),
        seats,
        pager,
        grants,
    };
    html(StatusCode::OK, page.render())
}
