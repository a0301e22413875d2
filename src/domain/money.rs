//! Money: exact decimals (rust_decimal) with an ISO 4217 currency. Never floating point.

use rust_decimal::Decimal;

use super::BillingCycle;

/// Accepted currencies and their minor units (ISO 4217).
pub const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PHP", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("ZAR", 2),
];

pub fn minor_units(currency: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, m)| *m)
}

/// Yearly cost of one cycle's amount (exact: 12 / months is a whole number).
/// One-off payments have none (`BillingCycle::months`).
pub fn yearly(amount: Decimal, cycle: BillingCycle) -> Option<Decimal> {
    cycle.months().map(|m| amount * Decimal::from(12 / m))
}

/// Parses an amount typed by a person: digits with at most the currency's minor units,
/// thousands separators ("1,234.50" or "1 234.50") tolerated.
pub fn parse_amount(text: &str, currency: &str) -> Result<Decimal, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ' && *c != '\u{a0}')
        .collect();
    let value: Decimal = cleaned
        .parse()
        .map_err(|_| "Enter an amount like 1234.50.".to_string())?;
    if value.is_sign_negative() {
        return Err("The amount cannot be negative.".into());
    }
    let units = minor_units(currency).unwrap_or(2);
    if value.scale() > units {
        return Err(format!("{currency} has {units} decimal place(s)."));
    }
    if value > Decimal::from(1_000_000_000_000i64) {
        return Err("The amount is too large.".into());
    }
    Ok(value)
}

/// "12345.60": the amount with the currency's minor units, for machines (the API, CSV).
pub fn plain(amount: Decimal, currency: &str) -> String {
    let units = minor_units(currency).unwrap_or(2);
    format!("{:.*}", units as usize, amount.round_dp(units))
}

/// "12,345.60 EUR" with the currency's minor units and thousands separators.
pub fn format(amount: Decimal, currency: &str) -> String {
    let text = plain(amount, currency);
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{grouped}.{f} {currency}"),
        None => format!("{grouped} {currency}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn amounts_parse_to_the_currency_precision() {
        assert_eq!(parse_amount("1,234.50", "EUR"), Ok(d("1234.50")));
        assert_eq!(parse_amount("1500", "JPY"), Ok(d("1500")));
        assert!(parse_amount("1500.5", "JPY").is_err());
        assert!(parse_amount("12.345", "USD").is_err());
        assert_eq!(parse_amount("12.345", "KWD"), Ok(d("12.345")));
        assert!(parse_amount("-5", "USD").is_err());
        assert!(parse_amount("ten", "USD").is_err());
    }

    #[test]
    fn yearly_costs_are_exact() {
        assert_eq!(yearly(d("0.10"), BillingCycle::Monthly), Some(d("1.20")));
        assert_eq!(
            yearly(d("100.01"), BillingCycle::Quarterly),
            Some(d("400.04"))
        );
        assert_eq!(yearly(d("999.99"), BillingCycle::Annual), Some(d("999.99")));
        assert_eq!(yearly(d("50"), BillingCycle::OneOff), None);
        // Floating point would drift here; decimals do not.
        let sum: Decimal = (0..10)
            .map(|_| yearly(d("0.10"), BillingCycle::Monthly).expect("recurring"))
            .sum();
        assert_eq!(sum, d("12.00"));
    }

    #[test]
    fn amounts_format_with_separators() {
        assert_eq!(format(d("1234567.5"), "USD"), "1,234,567.50 USD");
        assert_eq!(format(d("1500"), "JPY"), "1,500 JPY");
        assert_eq!(format(d("0.125"), "KWD"), "0.125 KWD");
        assert_eq!(format(d("999"), "EUR"), "999.00 EUR");
    }
}
