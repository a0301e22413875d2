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
use crate::db::schema::{
    access_grants, billing_records, product_seat_counts, products, services, users,
};
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
    /// With "inactive for N days": the assigned seats whose holders were inactive that long
    /// by the product's usage evidence (`None`: no applied export covers the product, and
    /// the seats count by assignment).
    pub inactive: Option<i64>,
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

/// Per-seat products with seats bought against seats used: assigned ones, or — with
/// `inactive_before` — assigned ones less those whose holders the usage evidence shows
/// inactive since then.
pub fn seats(
    conn: &mut PgConnection,
    actor: &Actor,
    inactive_before: Option<chrono::NaiveDate>,
) -> Result<Vec<SeatRow>, AppError> {
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
    // Active grants per product, from the trigger-kept counters (migration 0011); a product
    // missing from the map has none.
    let assigned: HashMap<i64, i64> = product_seat_counts::table
        .filter(product_seat_counts::product_id.eq_any(&ids))
        .select((
            product_seat_counts::product_id,
            product_seat_counts::active_grants,
        ))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .map(|(id, n)| (id, i64::from(n)))
        .collect();
    // Products with usage evidence, and their inactive holders (both from the partial
    // index on active grants).
    let (covered, inactive): (Vec<i64>, HashMap<i64, i64>) = match inactive_before {
        None => (Vec::new(), HashMap::new()),
        Some(cutoff) => {
            let covered: Vec<i64> = access_grants::table
                .filter(access_grants::product_id.eq_any(&ids))
                .filter(access_grants::revoked_at.is_null())
                .filter(access_grants::usage_checked_at.is_not_null())
                .select(access_grants::product_id)
                .distinct()
                .load(conn)?;
            let inactive = access_grants::table
                .filter(access_grants::product_id.eq_any(&covered))
                .filter(access_grants::revoked_at.is_null())
                .filter(crate::usage::store::inactive_since(cutoff))
                .group_by(access_grants::product_id)
                .select((access_grants::product_id, diesel::dsl::count_star()))
                .load::<(i64, i64)>(conn)?
                .into_iter()
                .collect();
            (covered, inactive)
        }
    };
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
            let assigned_seats = assigned.get(&id).copied().unwrap_or(0);
            let idle = covered
                .contains(&id)
                .then(|| inactive.get(&id).copied().unwrap_or(0));
            let used = assigned_seats - idle.unwrap_or(0);
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
                assigned: assigned_seats,
                inactive: idle,
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
    inactive: Option<i64>,
    inactive_choices: &'static [i64],
}

impl SavingsPage {
    fn inactive_is(&self, n: &i64) -> bool {
        self.inactive == Some(*n)
    }
}

#[derive(Debug, Deserialize)]
pub struct SavingsQuery {
    pub page: Option<i64>,
    /// Count seats by real use: holders inactive for this many days are not using theirs.
    pub inactive: Option<String>,
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
    let inactive = crate::usage::evidence::inactive_days(query.inactive.as_deref());
    let cutoff = inactive.map(|n| actor.today - chrono::TimeDelta::days(n));
    let key = format!(
        "savings:{}:{}",
        actor.cache_key(),
        cutoff.map(|c| c.to_string()).unwrap_or_default()
    );
    let found = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| {
            Ok((seats(conn, &a, cutoff)?, stale_grants(conn, &a, now)?))
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
    let days = inactive.map(|n| n.to_string()).unwrap_or_default();
    let params: Vec<(&str, &str)> = if inactive.is_some() {
        vec![("inactive", days.as_str())]
    } else {
        Vec::new()
    };
    let pager = Pager::new(
        "/payments/savings",
        &params,
        page_no,
        all_seats.len() as i64,
    );
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
        inactive,
        inactive_choices: crate::usage::evidence::INACTIVE_DAYS,
    };
    html(StatusCode::OK, page.render())
}
