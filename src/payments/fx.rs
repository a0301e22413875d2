//! One reporting currency: the Admins' choice, and exchange rates entered by hand or from
//! CSV (never fetched). A total converts with the newest rate valid on the day; a currency
//! without one is marked, never guessed.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::audit::{self, AuditEntry};
use crate::authz::Actor;
use crate::db::schema::{app_settings, exchange_rates};
use crate::error::AppError;

pub const SETTING: &str = "reporting_currency";

pub fn reporting_currency(conn: &mut PgConnection) -> Result<Option<String>, AppError> {
    Ok(app_settings::table
        .find(SETTING)
        .select(app_settings::value)
        .first(conn)
        .optional()?)
}

/// The rate (and its date) valid on `day` for each currency that has one.
pub fn rates_on(
    conn: &mut PgConnection,
    day: NaiveDate,
) -> Result<HashMap<String, (Decimal, NaiveDate)>, AppError> {
    let rows: Vec<(String, Decimal, NaiveDate)> = exchange_rates::table
        .filter(exchange_rates::valid_from.le(day))
        .order((
            exchange_rates::currency.asc(),
            exchange_rates::valid_from.desc(),
        ))
        .distinct_on(exchange_rates::currency)
        .select((
            exchange_rates::currency,
            exchange_rates::rate,
            exchange_rates::valid_from,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(c, r, d)| (c, (r, d))).collect())
}

/// An exchange rate: one unit of `currency` in the reporting currency, from `valid_from` on.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = exchange_rates, check_for_backend(diesel::pg::Pg))]
pub struct Rate {
    pub currency: String,
    pub rate: Decimal,
    pub valid_from: NaiveDate,
}

/// Every rate entered, by currency and newest first (at most 500), for the settings page.
pub fn all_rates(conn: &mut PgConnection) -> Result<Vec<Rate>, AppError> {
    Ok(exchange_rates::table
        .order((
            exchange_rates::currency.asc(),
            exchange_rates::valid_from.desc(),
        ))
        .select(Rate::as_select())
        .limit(500)
        .load(conn)?)
}

/// Sets the reporting currency (already checked against `money::CURRENCIES`), audited.
pub fn set_reporting_currency(
    conn: &mut PgConnection,
    actor: &Actor,
    currency: &str,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::key.eq(SETTING),
                app_settings::value.eq(currency),
            ))
            .on_conflict(app_settings::key)
            .do_update()
            .set(app_settings::value.eq(currency))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "settings.reporting_currency", "settings", None)
                .summary(format!("Reporting currency set to {currency}"))
                .after(serde_json::json!({"reporting_currency": currency})),
        )?;
        Ok(())
    })
}

/// Saves rates (a rate for a currency and day already there is replaced), audited.
pub fn save_rates(conn: &mut PgConnection, actor: &Actor, rates: &[Rate]) -> Result<(), AppError> {
    conn.transaction(|conn| {
        for r in rates {
            diesel::insert_into(exchange_rates::table)
                .values((
                    exchange_rates::currency.eq(&r.currency),
                    exchange_rates::rate.eq(r.rate),
                    exchange_rates::valid_from.eq(r.valid_from),
                    exchange_rates::created_by.eq(actor.person_id()),
                ))
                .on_conflict((exchange_rates::currency, exchange_rates::valid_from))
                .do_update()
                .set(exchange_rates::rate.eq(r.rate))
                .execute(conn)?;
        }
        audit::record(
            conn,
            AuditEntry::by(actor, "settings.exchange_rates", "settings", None)
                .summary(format!("Saved {} exchange rate(s)", rates.len()))
                .after(serde_json::json!(rates
                    .iter()
                    .map(|r| serde_json::json!({"currency": r.currency, "rate": r.rate.to_string(), "valid_from": r.valid_from}))
                    .collect::<Vec<_>>())),
        )?;
        Ok(())
    })
}

/// Converts `amount` of `currency` into the reporting currency `to`.
pub enum Converted {
    Same,
    At {
        amount: Decimal,
        rate: Decimal,
        since: NaiveDate,
    },
    NoRate,
}

pub fn convert(
    amount: Decimal,
    currency: &str,
    to: &str,
    rates: &HashMap<String, (Decimal, NaiveDate)>,
) -> Converted {
    if currency == to {
        return Converted::Same;
    }
    match rates.get(currency) {
        Some((rate, since)) => Converted::At {
            amount: amount * *rate,
            rate: *rate,
            since: *since,
        },
        None => Converted::NoRate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn conversion_is_exact_and_missing_rates_are_reported() {
        let mut rates = HashMap::new();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        rates.insert(
            "USD".to_string(),
            (Decimal::from_str("0.9250").expect("rate"), day),
        );
        match convert(
            Decimal::from_str("400.04").expect("amount"),
            "USD",
            "EUR",
            &rates,
        ) {
            Converted::At { amount, .. } => {
                assert_eq!(amount, Decimal::from_str("370.037").expect("x"))
            }
            _ => panic!("converted"),
        }
        assert!(matches!(
            convert(Decimal::ONE, "EUR", "EUR", &rates),
            Converted::Same
        ));
        assert!(matches!(
            convert(Decimal::ONE, "JPY", "EUR", &rates),
            Converted::NoRate
        ));
    }
}
