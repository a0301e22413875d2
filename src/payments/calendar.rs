//! The renewal calendar: renewals, cancellation deadlines, contract ends and card expiries
//! in the actor's scope, as a month page, a 90-day list, and a personal iCalendar feed
//! (RFC 5545) at a URL carrying a per-user token that the user can rotate.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike as _, NaiveDate};
use diesel::prelude::*;
use icalendar::{Component as _, EventLike as _};
use serde::Deserialize;

use super::card::masked;
use super::queries::{filtered, today, RegisterFilter};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{billing_records, products, services, users};
use crate::error::{AppError, AppResult};
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

#[derive(Debug, Clone)]
pub struct CalEvent {
    pub date: NaiveDate,
    /// renewal, deadline, contract_end, card
    pub kind: &'static str,
    pub title: String,
    pub record_id: i64,
}

impl CalEvent {
    pub fn label(&self) -> &'static str {
        match self.kind {
            "renewal" => "Renews",
            "deadline" => "Last day to cancel",
            "contract_end" => "Contract ends",
            _ => "Card expires",
        }
    }
}

/// Events between `from` and `to` (inclusive) in the actor's scope, by date.
pub fn events(
    conn: &mut PgConnection,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalEvent>, AppError> {
    let rows: Vec<(
        i64,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<String>,
        Option<String>,
        Option<i16>,
        Option<i16>,
    )> = filtered(actor, &RegisterFilter::default())
        .filter(
            billing_records::next_renewal_on
                .between(from, to)
                .or(billing_records::cancellation_deadline.between(from, to))
                .or(billing_records::contract_end_on.between(from, to))
                .or(billing_records::card_expires_on.between(from, to)),
        )
        .select((
            billing_records::id,
            services::name.concat(" → ").concat(products::name),
            billing_records::next_renewal_on,
            billing_records::cancellation_deadline,
            billing_records::contract_end_on,
            billing_records::card_expires_on,
            billing_records::card_brand,
            billing_records::card_last4,
            billing_records::card_exp_month,
            billing_records::card_exp_year,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for r in rows {
        for (kind, date) in [
            ("renewal", r.2),
            ("deadline", r.3),
            ("contract_end", r.4),
            ("card", r.5),
        ] {
            let Some(date) = date.filter(|d| *d >= from && *d <= to) else {
                continue;
            };
            let title = match kind {
                "renewal" => format!("Renewal: {}", r.1),
                "deadline" => format!("Last day to cancel: {}", r.1),
                "contract_end" => format!("Contract ends: {}", r.1),
                _ => format!(
                    "Card expires: {} ({})",
                    r.1,
                    masked(r.6.as_deref(), r.7.as_deref(), r.8, r.9)
                ),
            };
            out.push(CalEvent {
                date,
                kind,
                title,
                record_id: r.0,
            });
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then(a.title.cmp(&b.title)));
    Ok(out)
}

pub struct Day {
    pub date: NaiveDate,
    pub in_month: bool,
    pub today: bool,
    pub events: Vec<CalEvent>,
}

#[derive(Template)]
#[template(path = "payments/calendar.html")]
struct CalendarPage {
    ctx: PageCtx,
    month: String,
    prev: String,
    next: String,
    weeks: Vec<Vec<Day>>,
    upcoming: Vec<CalEvent>,
}

#[derive(Deserialize)]
pub struct MonthQuery {
    /// YYYY-MM; the current month when absent.
    month: Option<String>,
}

pub async fn page(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<MonthQuery>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewPayments)?;
    let today = today();
    let first = query
        .month
        .as_deref()
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .filter(|d| (1900..=2200).contains(&d.year()))
        .unwrap_or_else(|| {
            NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today)
        });
    let last = super::model::month_end(first.year(), first.month()).unwrap_or(first);
    // Weeks from Monday to Sunday around the month.
    let grid_start =
        first - chrono::TimeDelta::days(i64::from(first.weekday().num_days_from_monday()));
    let grid_end =
        last + chrono::TimeDelta::days(i64::from(6 - last.weekday().num_days_from_monday()));
    let a = actor.clone();
    let horizon = today + chrono::TimeDelta::days(90);
    let cache = state.cache.clone();
    let key = format!("calendar:{}:{grid_start}:{today}", actor.cache_key());
    let (month_events, upcoming) = crate::db::run(&state.pool, move |conn| {
        cache.get_or_compute(conn, key, |conn| {
            Ok((
                events(conn, &a, grid_start, grid_end)?,
                events(conn, &a, today, horizon)?,
            ))
        })
    })
    .await
    .map(std::sync::Arc::unwrap_or_clone)?;
    let mut weeks = Vec::new();
    let mut day = grid_start;
    while day <= grid_end {
        let mut week = Vec::new();
        for _ in 0..7 {
            week.push(Day {
                date: day,
                in_month: day.month() == first.month(),
                today: day == today,
                events: month_events
                    .iter()
                    .filter(|e| e.date == day)
                    .cloned()
                    .collect(),
            });
            day = day.succ_opt().unwrap_or(day);
        }
        weeks.push(week);
    }
    let prev = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let page = CalendarPage {
        ctx: PageCtx::new(&session, Some(&actor), "Renewal calendar", "/calendar"),
        month: first.format("%B %Y").to_string(),
        prev: prev.format("%Y-%m").to_string(),
        next: next.format("%Y-%m").to_string(),
        weeks,
        upcoming,
    };
    html(StatusCode::OK, page.render())
}

/// The personal feed: the token names the user; what they may see, 30 days back to a year
/// ahead. An unknown (or rotated-away) token is a 404.
pub async fn feed(state: web::Data<AppState>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let token = token.strip_suffix(".ics").unwrap_or(&token).to_string();
    let hash = crate::auth::sha256(token.as_bytes());
    let base = state.config.public_url.clone();
    let body = crate::db::run(&state.pool, move |conn| {
        let user: Option<i64> = users::table
            .filter(users::calendar_token_hash.eq(hash))
            .select(users::id)
            .first(conn)
            .optional()?;
        let actor = match user {
            Some(id) => crate::auth::current_user::actor_without_session(conn, id)?,
            None => None,
        };
        let actor = actor.ok_or(AppError::NotFound)?;
        let today = today();
        let list = events(
            conn,
            &actor,
            today - chrono::TimeDelta::days(30),
            today + chrono::TimeDelta::days(366),
        )?;
        let mut cal = icalendar::Calendar::new();
        cal.name("PortalOps renewals");
        for e in list {
            let event = icalendar::Event::new()
                .uid(&format!("portalops-{}-{}-{}", e.kind, e.record_id, e.date))
                .summary(&e.title)
                .description(&format!(
                    "{}: {}\n{base}/payments/{}",
                    e.label(),
                    e.date,
                    e.record_id
                ))
                .url(&format!("{base}/payments/{}", e.record_id))
                .all_day(e.date)
                .done();
            cal.push(event);
        }
        Ok(cal.done().to_string())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "inline; filename=\"portalops.ics\"",
        ))
        .body(body))
}

/// Replaces the user's feed token (the old URL stops working at once) and returns the new one.
pub fn rotate_token(conn: &mut PgConnection, actor: &Actor) -> Result<String, AppError> {
    let token = crate::auth::random_token();
    conn.transaction(|conn| {
        diesel::update(users::table.find(actor.id))
            .set(users::calendar_token_hash.eq(crate::auth::sha256(token.as_bytes())))
            .execute(conn)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry::by(
                actor,
                "calendar.token_rotated",
                "user",
                Some(actor.id.to_string()),
            )
            .summary("Created a new calendar feed link (the old one no longer works)"),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(token)
}
