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
use crate::error::AppError;
use crate::payments::money;
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
    let rows: Vec<(
        i64,
        i64,
        i64,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        rust_decimal::Decimal,
        String,
        crate::domain::BillingCycle,
        Option<String>,
        Option<String>,
        Option<i16>,
        Option<i16>,
        Option<NaiveDate>,
    )> = billing_records::table
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
        let card = masked(r.10.as_deref(), r.11.as_deref(), r.12, r.13);
        let amount = format!("{} ({})", money::format(r.7, &r.8), r.9.label());
        for (event, date, what) in [
            ("card", r.4, "Card expires"),
            ("renewal", r.5, "Renews"),
            ("contract_end", r.6, "Contract ends"),
            ("cancellation", r.14, "Last day to cancel"),
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
                .map(|t| format!("billing:{}:{event}:{t}:{date}", r.0))
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
                    "card" => format!("The card paying for {} expires {when}.", r.3),
                    "renewal" => format!("{} renews {when}.", r.3),
                    "cancellation" => format!(
                        "Last day to cancel: {date} ({when}). After it, {} renews for another term.",
                        r.3
                    ),
                    _ => format!("The contract for {} ends {when}.", r.3),
                };
                let subject = match event {
                    "card" => format!("Card expiring {when}: {}", r.3),
                    "renewal" => format!("Renewal {when}: {}", r.3),
                    "cancellation" => format!("Last day to cancel {when}: {}", r.3),
                    _ => format!("Contract ending {when}: {}", r.3),
                };
                let path = urls::billing_record(r.0);
                let link = format!("{}{path}", cfg.public_url);
                let people = billing_recipients(conn, r.1, r.2)?;
                let card_shown = if event == "card" { card.as_str() } else { "" };
                for (_, name, email) in &people {
                    if cfg.mail.is_some() {
                        let text = BillingText {
                            name,
                            headline: &headline,
                            label: &r.3,
                            what,
                            date: date.to_string(),
                            amount: &amount,
                            card: card_shown,
                            link: &link,
                        };
                        let html = BillingHtml {
                            name,
                            headline: &headline,
                            label: &r.3,
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
