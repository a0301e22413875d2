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
use super::queries::{filtered, RegisterFilter};
use super::renewal::{cancellation_deadline, later_renewals, Notice};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{billing_records, products, services, users};
use crate::domain::{BillingCycle, NoticeUnit};
use crate::error::{AppError, AppResult};
use crate::web::respond::html;
use crate::web::urls;
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

/// What the calendar needs of a billing record.
#[derive(Queryable)]
struct DatedRecord {
    id: i64,
    title: String,
    next_renewal_on: Option<NaiveDate>,
    cancellation_deadline: Option<NaiveDate>,
    contract_end_on: Option<NaiveDate>,
    card_expires_on: Option<NaiveDate>,
    card_brand: Option<String>,
    card_last4: Option<String>,
    card_exp_month: Option<i16>,
    card_exp_year: Option<i16>,
    auto_renew: bool,
    cycle: BillingCycle,
    renewal_anchor_day: Option<i16>,
    notice_value: Option<i32>,
    notice_unit: Option<NoticeUnit>,
}

impl DatedRecord {
    /// Its dates as (kind, date), not yet limited to a range, up to `to`. An auto-renewing
    /// record with a recurring cycle renews every cycle from its next renewal on (the dates
    /// the roll-forward will give it, `renewal::later_renewals`), and each of those renewals
    /// has its own last day to cancel (the notice period before it, as the roll-forward
    /// recomputes it). Contract ends and card expiries do not recur: one date each.
    fn dates(&self, to: NaiveDate) -> Vec<(&'static str, NaiveDate)> {
        let mut out = vec![
            ("deadline", self.cancellation_deadline),
            ("contract_end", self.contract_end_on),
            ("card", self.card_expires_on),
        ]
        .into_iter()
        .filter_map(|(kind, date)| Some((kind, date?)))
        .collect::<Vec<_>>();
        let Some(next) = self.next_renewal_on else {
            return out;
        };
        out.push(("renewal", next));
        if !self.auto_renew {
            return out;
        }
        let anchor = self
            .renewal_anchor_day
            .map(|a| a as u32)
            .unwrap_or(next.day());
        let notice = Notice::from_parts(self.notice_value, self.notice_unit);
        for renewal in later_renewals(next, self.cycle, anchor) {
            let deadline = cancellation_deadline(Some(renewal), self.contract_end_on, true, notice);
            // Deadlines come before their renewals: past `to`, nothing more can fall inside.
            if deadline.unwrap_or(renewal) > to {
                break;
            }
            out.push(("renewal", renewal));
            if let Some(deadline) = deadline {
                out.push(("deadline", deadline));
            }
        }
        out
    }
}

/// Events between `from` and `to` (inclusive) in the actor's scope, by date; recurring
/// renewals (and their deadlines) once for every time they fall in the range.
pub fn events(
    conn: &mut PgConnection,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalEvent>, AppError> {
    let rows: Vec<DatedRecord> = filtered(actor, &RegisterFilter::default())
        .filter(
            billing_records::next_renewal_on
                .between(from, to)
                .or(billing_records::cancellation_deadline.between(from, to))
                .or(billing_records::contract_end_on.between(from, to))
                .or(billing_records::card_expires_on.between(from, to))
                // A renewal before the range recurs into it.
                .or(billing_records::auto_renew
                    .eq(true)
                    .and(billing_records::cycle.ne(BillingCycle::OneOff))
                    .and(billing_records::next_renewal_on.le(to))),
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
            billing_records::auto_renew,
            billing_records::cycle,
            billing_records::renewal_anchor_day,
            billing_records::notice_value,
            billing_records::notice_unit,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for r in rows {
        for (kind, date) in r.dates(to) {
            if date < from || date > to {
                continue;
            }
            let title = match kind {
                "renewal" => format!("Renewal: {}", r.title),
                "deadline" => format!("Last day to cancel: {}", r.title),
                "contract_end" => format!("Contract ends: {}", r.title),
                _ => format!(
                    "Card expires: {} ({})",
                    r.title,
                    masked(
                        r.card_brand.as_deref(),
                        r.card_last4.as_deref(),
                        r.card_exp_month,
                        r.card_exp_year
                    )
                ),
            };
            out.push(CalEvent {
                date,
                kind,
                title,
                record_id: r.id,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.date, &a.title, a.record_id, a.kind).cmp(&(b.date, &b.title, b.record_id, b.kind))
    });
    // A recomputed deadline can coincide with the stored one.
    out.dedup_by(|a, b| a.date == b.date && a.kind == b.kind && a.record_id == b.record_id);
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
    let today = actor.today;
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
/// ahead. A recurring renewal is one event per occurrence in that window (exact, with the
/// roll-forward's month arithmetic; no RRULE for clients to expand their own way), each
/// with a stable UID. An unknown (or rotated-away) token is a 404.
pub async fn feed(state: web::Data<AppState>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let token = token.strip_suffix(".ics").unwrap_or(&token).to_string();
    let hash = crate::auth::sha256(token.as_bytes());
    let base = state.config.public_url.clone();
    let today = state.clock.today();
    let body = crate::db::run(&state.pool, move |conn| {
        let user: Option<i64> = users::table
            .filter(users::calendar_token_hash.eq(hash))
            .select(users::id)
            .first(conn)
            .optional()?;
        let actor = match user {
            Some(id) => crate::auth::current_user::actor_without_session(conn, id, today)?,
            None => None,
        };
        let actor = actor.ok_or(AppError::NotFound)?;
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
                    "{}: {}\n{base}{}",
                    e.label(),
                    e.date,
                    urls::billing_record(e.record_id)
                ))
                .url(&format!("{base}{}", urls::billing_record(e.record_id)))
                // All day: DTEND is exclusive (RFC 5545 §3.6.1), the next day. The crate's
                // `all_day` writes DTEND equal to DTSTART, which clients read as zero days.
                .starts(e.date)
                .ends(e.date.succ_opt().unwrap_or(e.date))
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
        diesel::update(users::table.find(actor.person()?))
            .set(users::calendar_token_hash.eq(crate::auth::sha256(token.as_bytes())))
            .execute(conn)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry::by(
                actor,
                "calendar.token_rotated",
                "user",
                Some(actor.person()?.to_string()),
            )
            .summary("Created a new calendar feed link (the old one no longer works)"),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(token)
}
