//! Settings → Currency (Admins): the reporting currency and the exchange rates, entered one
//! by one or pasted as CSV (`currency,rate,valid_from`). Every change audited.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::fx::{self, Rate};
use super::money;
use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action};
use crate::error::AppResult;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "settings_currency.html")]
struct CurrencyPage {
    ctx: PageCtx,
    reporting: String,
    currencies: Vec<&'static str>,
    rates: Vec<(String, String, NaiveDate)>,
}

pub async fn page(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let (reporting, rates) = crate::db::run(&state.pool, |conn| {
        Ok((fx::reporting_currency(conn)?, fx::all_rates(conn)?))
    })
    .await?;
    let page = CurrencyPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Currency", "/settings"),
        reporting: reporting.unwrap_or_default(),
        currencies: money::CURRENCIES.iter().map(|(c, _)| *c).collect(),
        rates: rates
            .into_iter()
            .map(|r| (r.currency, r.rate.normalize().to_string(), r.valid_from))
            .collect(),
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
pub struct ReportingForm {
    #[serde(default)]
    currency: String,
}

pub async fn set_reporting(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<ReportingForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    // A select of currencies: a refused value is emptied, and an empty one is refused below.
    let (form, _) = form.into_parts();
    let currency = form.currency.trim().to_uppercase();
    if money::minor_units(&currency).is_none() {
        sess::flash(&session, FlashKind::Error, "Choose a currency.");
        return Ok(redirect("/settings/currency"));
    }
    crate::db::run(&state.pool, move |conn| {
        fx::set_reporting_currency(conn, &actor, &currency)
    })
    .await?;
    sess::flash(&session, FlashKind::Success, "Reporting currency saved.");
    Ok(redirect("/settings/currency"))
}

/// Parses `currency,rate,valid_from` lines (a header line is allowed); all or nothing.
fn parse_rates(text: &str) -> Result<Vec<Rate>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 1;
        let r = record.map_err(|e| format!("Line {line}: {e}"))?;
        if r.iter().all(|c| c.is_empty()) {
            continue;
        }
        let currency = r.get(0).unwrap_or_default().to_uppercase();
        if line == 1 && currency == "CURRENCY" {
            continue;
        }
        if money::minor_units(&currency).is_none() {
            return Err(format!(
                "Line {line}: '{currency}' is not a supported currency."
            ));
        }
        let rate: Decimal = r
            .get(1)
            .unwrap_or_default()
            .parse()
            .ok()
            .filter(|d: &Decimal| *d > Decimal::ZERO)
            .ok_or_else(|| {
                format!("Line {line}: the rate must be a positive number like 0.9215.")
            })?;
        let date = crate::web::forms::parse_date(r.get(2).unwrap_or_default())
            .map_err(|m| format!("Line {line}: {m}"))?;
        out.push(Rate {
            currency,
            rate,
            valid_from: date,
        });
    }
    if out.is_empty() {
        return Err("Enter at least one rate.".into());
    }
    Ok(out)
}

#[derive(Deserialize)]
pub struct RatesForm {
    #[serde(default)]
    csv: String,
}

/// One rate or many, pasted as CSV.
pub async fn add_rates(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<RatesForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    let (form, refused) = form.into_parts();
    let parsed = match refused.into_result() {
        Ok(()) => parse_rates(&form.csv),
        Err(_) => Err(crate::payments::card::REFUSAL.to_string()),
    };
    match parsed {
        Err(m) => sess::flash(&session, FlashKind::Error, &m),
        Ok(rates) => {
            let n = rates.len();
            crate::db::run(&state.pool, move |conn| {
                fx::save_rates(conn, &actor, &rates)
            })
            .await?;
            sess::flash(&session, FlashKind::Success, &format!("{n} rate(s) saved."));
        }
    }
    Ok(redirect("/settings/currency"))
}

#[cfg(test)]
mod tests {
    use super::parse_rates;

    #[test]
    fn rates_parse_all_or_nothing() {
        let ok =
            parse_rates("currency,rate,valid_from\nUSD,0.92,2026-01-01\nGBP, 1.17 ,2026-01-01\n")
                .expect("valid");
        assert_eq!(ok.len(), 2);
        assert!(parse_rates("USD,-1,2026-01-01")
            .unwrap_err()
            .contains("positive"));
        assert!(parse_rates("XXX,1,2026-01-01")
            .unwrap_err()
            .contains("not a supported currency"));
        assert!(parse_rates("USD,1,soon").unwrap_err().contains("Line 1"));
    }
}
