//! The reminder scans. Each reminder is decided once: its key goes into `reminders_sent`
//! in the same transaction as its emails (outbox) and in-app notifications, so two scans,
//! a restart or a second instance cannot send it again.
//!
//! - Billing: a card expiry, a renewal or a contract end within one of the thresholds
//!   (default 30, 7, 1 days) → the product's administrators, the service's administrators
//!   and the Admins, each once. A scan that finds an event already inside several thresholds
//!   sends one reminder and marks them all.
//!
//! The daily task digests are `workflows::digests` (who a task is for is workflows'
//! rule); they claim their keys and find their recipients with `claim` and `active_people`.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::outbox::enqueue;
use crate::config::Config;
use crate::db::schema::{
    billing_records, product_admins, products, reminders_sent, service_admins, services, users,
};
use crate::domain::card::masked;
use crate::domain::money;
use crate::error::AppError;
use crate::web::urls;

#[derive(Template)]
#[template(path = "emails/billing.txt")]
struct BillingText<'a> {
    name: &'a str,
    headline: &'a str,
    label: &'a str,
    what: &'a str,
    date: String,
    amount: &'a str,
    card: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/billing.html")]
struct BillingHtml<'a> {
    name: &'a str,
    headline: &'a str,
    label: &'a str,
    what: &'a str,
    date: String,
    amount: &'a str,
    card: &'a str,
    link: &'a str,
}

/// Records `keys` as reminded; true when at least one of them is new.
pub fn claim(conn: &mut PgConnection, keys: &[String]) -> Result<bool, AppError> {
    let rows: Vec<_> = keys.iter().map(|k| reminders_sent::key.eq(k)).collect();
    let inserted = diesel::insert_into(reminders_sent::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted > 0)
}

/// id, full name, email.
pub type Person = (i64, String, String);

/// Those of `ids` who may be reminded: active, not offboarded, not plain users.
pub fn active_people(conn: &mut PgConnection, ids: Vec<i64>) -> Result<Vec<Person>, AppError> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .filter(users::is_active.eq(true))
        .filter(users::employment_status.ne("offboarded"))
        .filter(users::role.ne("user"))
        .select((users::id, users::full_name, users::email))
        .load(conn)?)
}

/// The product's and service's administrators and the Admins, each once.
fn billing_recipients(
    conn: &mut PgConnection,
    product_id: i64,
    service_id: i64,
) -> Result<Vec<Person>, AppError> {
    let mut ids: Vec<i64> = product_admins::table
        .filter(product_admins::product_id.eq(product_id))
        .select(product_admins::user_id)
        .load(conn)?;
    ids.extend(
        service_admins::table
            .filter(service_admins::service_id.eq(service_id))
            .select(service_admins::user_id)
            .load::<i64>(conn)?,
    );
    ids.extend(
        users::table
            .filter(users::role.eq("admin"))
            .select(users::id)
            .load::<i64>(conn)?,
    );
    ids.sort_unstable();
    ids.dedup();
    active_people(conn, ids)
}

/// A billing record with a date inside the widest reminder window (the columns of
/// `scan_billing`'s select, in order).
#[derive(Queryable)]
struct DueRow {
    id: i64,
    product_id: i64,
    service_id: i64,
    label: String,
    card_expires_on: Option<NaiveDate>,
    next_renewal_on: Option<NaiveDate>,
    contract_end_on: Option<NaiveDate>,
    amount: rust_decimal::Decimal,
    currency: String,
    cycle: crate::domain::BillingCycle,
    card_brand: Option<String>,
    card_last4: Option<String>,
    card_exp_month: Option<i16>,
    card_exp_year: Option<i16>,
    cancellation_deadline: Option<NaiveDate>,
}

pub fn scan_billing(
    conn: &mut PgConnection,
    cfg: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let Some(&widest) = cfg.reminder_days.iter().max() else {
        return Ok(0);
    };
    let until = today + chrono::TimeDelta::days(widest);
    let rows: Vec<DueRow> = billing_records::table
        .inner_join(products::table.inner_join(services::table))
        .filter(billing_records::status.eq("active"))
        .filter(
            billing_records::card_expires_on
                .between(today, until)
                .or(billing_records::next_renewal_on.between(today, until))
                .or(billing_records::contract_end_on.between(today, until))
                .or(billing_records::cancellation_deadline.between(today, until)),
        )
        .select((
            billing_records::id,
            products::id,
            services::id,
            services::name.concat(" → ").concat(products::name),
            billing_records::card_expires_on,
            billing_records::next_renewal_on,
            billing_records::contract_end_on,
            billing_records::amount,
            billing_records::currency,
            billing_records::cycle,
            billing_records::card_brand,
            billing_records::card_last4,
            billing_records::card_exp_month,
            billing_records::card_exp_year,
            billing_records::cancellation_deadline,
        ))
        .order(billing_records::id.asc())
        .load(conn)?;
    let mut reminded = 0;
    for r in rows {
        let card = masked(
            r.card_brand.as_deref(),
            r.card_last4.as_deref(),
            r.card_exp_month,
            r.card_exp_year,
        );
        let amount = format!(
            "{} ({})",
            money::format(r.amount, &r.currency),
            r.cycle.label()
        );
        for (event, date, what) in [
            ("card", r.card_expires_on, "Card expires"),
            ("renewal", r.next_renewal_on, "Renews"),
            ("contract_end", r.contract_end_on, "Contract ends"),
            (
                "cancellation",
                r.cancellation_deadline,
                "Last day to cancel",
            ),
        ] {
            let Some(date) = date else { continue };
            let days = (date - today).num_days();
            if days < 0 || days > widest {
                continue;
            }
            let keys: Vec<String> = cfg
                .reminder_days
                .iter()
                .filter(|t| days <= **t)
                .map(|t| format!("billing:{}:{event}:{t}:{date}", r.id))
                .collect();
            if keys.is_empty() {
                continue;
            }
            let sent = conn.transaction::<_, AppError, _>(|conn| {
                if !claim(conn, &keys)? {
                    return Ok(false);
                }
                let when = match days {
                    0 => "today".to_string(),
                    1 => "in 1 day".to_string(),
                    n => format!("in {n} days"),
                };
                let headline = match event {
                    "card" => format!("The card paying for {} expires {when}.", r.label),
                    "renewal" => format!("{} renews {when}.", r.label),
                    "cancellation" => format!(
                        "Last day to cancel: {date} ({when}). After it, {} renews for another term.",
                        r.label
                    ),
                    _ => format!("The contract for {} ends {when}.", r.label),
                };
                let subject = match event {
                    "card" => format!("Card expiring {when}: {}", r.label),
                    "renewal" => format!("Renewal {when}: {}", r.label),
                    "cancellation" => format!("Last day to cancel {when}: {}", r.label),
                    _ => format!("Contract ending {when}: {}", r.label),
                };
                let path = urls::billing_record(r.id);
                let link = format!("{}{path}", cfg.public_url);
                let people = billing_recipients(conn, r.product_id, r.service_id)?;
                let card_shown = if event == "card" { card.as_str() } else { "" };
                for (_, name, email) in &people {
                    if cfg.mail.is_some() {
                        let text = BillingText {
                            name,
                            headline: &headline,
                            label: &r.label,
                            what,
                            date: date.to_string(),
                            amount: &amount,
                            card: card_shown,
                            link: &link,
                        };
                        let html = BillingHtml {
                            name,
                            headline: &headline,
                            label: &r.label,
                            what,
                            date: date.to_string(),
                            amount: &amount,
                            card: card_shown,
                            link: &link,
                        };
                        let text = text
                            .render()
                            .map_err(|e| AppError::internal(e.to_string()))?;
                        let html = html
                            .render()
                            .map_err(|e| AppError::internal(e.to_string()))?;
                        enqueue(
                            conn,
                            now,
                            email,
                            &subject,
                            &text,
                            &html,
                            keys.first().map(String::as_str),
                        )?;
                    }
                }
                let ids: Vec<i64> = people.iter().map(|p| p.0).collect();
                super::notify(conn, &ids, &format!("reminder.{event}"), &subject, &path)?;
                Ok(true)
            })?;
            if sent {
                reminded += 1;
            }
        }
    }
    Ok(reminded)
}
