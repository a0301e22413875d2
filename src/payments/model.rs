//! The billing record form and its validation. A full card number in any field is refused
//! and the field is emptied, so that it is not even shown back.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::card::{contains_card_number, REFUSAL};
use super::money::{self, CYCLES};
use crate::web::forms::FieldErrors;

pub const METHODS: &[(&str, &str)] = &[
    ("card", "Card"),
    ("invoice", "Invoice"),
    ("bank_transfer", "Bank transfer"),
    ("other", "Other"),
];

pub fn method_label(key: &str) -> &'static str {
    METHODS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

pub const STATUSES: &[(&str, &str)] = &[("active", "Active"), ("cancelled", "Cancelled")];

/// The billing form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BillingForm {
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub cycle: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub next_renewal_on: String,
    #[serde(default)]
    pub contract_end_on: String,
    #[serde(default)]
    pub auto_renew: Option<String>,
    #[serde(default)]
    pub payment_method: String,
    #[serde(default)]
    pub card_brand: String,
    #[serde(default)]
    pub card_last4: String,
    #[serde(default)]
    pub card_exp_month: String,
    #[serde(default)]
    pub card_exp_year: String,
    #[serde(default)]
    pub billing_owner_email: String,
    #[serde(default)]
    pub cost_center: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub notice_value: String,
    /// "days" or "months".
    #[serde(default)]
    pub notice_unit: String,
    #[serde(default)]
    pub minimum_term_months: String,
}

/// A validated billing record (the owner still to be resolved by email).
#[derive(Debug, Clone)]
pub struct BillingValues {
    pub product_id: i64,
    pub reference: String,
    pub cycle: String,
    pub amount: Decimal,
    pub currency: String,
    pub next_renewal_on: Option<NaiveDate>,
    pub contract_end_on: Option<NaiveDate>,
    pub auto_renew: bool,
    pub payment_method: String,
    pub card: Option<Card>,
    pub billing_owner_email: Option<String>,
    pub cost_center: String,
    pub notes: String,
    pub status: String,
    pub notice: Option<super::renewal::Notice>,
    pub minimum_term_months: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: i16,
    pub exp_year: i16,
    /// The last day of the expiry month.
    pub expires_on: NaiveDate,
}

fn date(e: &mut FieldErrors, field: &'static str, s: &str) -> Option<NaiveDate> {
    if s.trim().is_empty() {
        return None;
    }
    crate::web::forms::parse_date(s)
        .map_err(|m| e.add(field, m))
        .ok()
}

/// The last day of a month.
pub fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    first_next.and_then(|d| d.pred_opt())
}

impl BillingForm {
    /// Every text field, with the name its error goes under.
    fn text_fields(&mut self) -> Vec<(&'static str, &mut String)> {
        vec![
            ("reference", &mut self.reference),
            ("amount", &mut self.amount),
            ("card_brand", &mut self.card_brand),
            ("card_last4", &mut self.card_last4),
            ("card_exp_month", &mut self.card_exp_month),
            ("card_exp_year", &mut self.card_exp_year),
            ("billing_owner_email", &mut self.billing_owner_email),
            ("cost_center", &mut self.cost_center),
            ("notes", &mut self.notes),
            ("next_renewal_on", &mut self.next_renewal_on),
            ("contract_end_on", &mut self.contract_end_on),
            ("notice_value", &mut self.notice_value),
            ("minimum_term_months", &mut self.minimum_term_months),
        ]
    }

    pub fn validate(&mut self) -> Result<BillingValues, FieldErrors> {
        let mut e = FieldErrors::new();
        for (field, value) in self.text_fields() {
            if contains_card_number(value) {
                e.add(field, REFUSAL);
                value.clear();
            }
            *value = value.trim().to_string();
        }
        if !e.is_empty() {
            // Stop here: nothing else is looked at while a card number was typed.
            return Err(e);
        }
        let product_id = self.product_id.trim().parse::<i64>().ok();
        if product_id.is_none() {
            e.add("product_id", "Choose the product this record pays for.");
        }
        if !CYCLES.iter().any(|(k, _)| *k == self.cycle) {
            e.add("cycle", "Choose a billing cycle.");
        }
        self.currency = self.currency.trim().to_uppercase();
        if money::minor_units(&self.currency).is_none() {
            e.add("currency", "Choose a currency (ISO 4217, e.g. EUR).");
        }
        let amount = match money::parse_amount(&self.amount, &self.currency) {
            Ok(a) => Some(a),
            Err(m) => {
                e.add("amount", m);
                None
            }
        };
        let next_renewal_on = date(&mut e, "next_renewal_on", &self.next_renewal_on);
        let contract_end_on = date(&mut e, "contract_end_on", &self.contract_end_on);
        if !METHODS.iter().any(|(k, _)| *k == self.payment_method) {
            e.add("payment_method", "Choose a payment method.");
        }
        let card = if self.payment_method == "card" {
            let last4_ok =
                self.card_last4.len() == 4 && self.card_last4.chars().all(|c| c.is_ascii_digit());
            if !last4_ok {
                e.add(
                    "card_last4",
                    "Enter exactly the last four digits of the card.",
                );
            }
            let month = self
                .card_exp_month
                .parse::<u32>()
                .ok()
                .filter(|m| (1..=12).contains(m));
            if month.is_none() {
                e.add("card_exp_month", "Enter the expiry month (1–12).");
            }
            let year =
                self.card_exp_year
                    .parse::<i32>()
                    .ok()
                    .map(|y| if y < 100 { 2000 + y } else { y });
            let year = year.filter(|y| (2000..=2100).contains(y));
            if year.is_none() {
                e.add("card_exp_year", "Enter the expiry year, e.g. 2027.");
            }
            if self.card_brand.chars().count() > 40 {
                e.add("card_brand", "At most 40 characters.");
            }
            match (last4_ok, month, year) {
                (true, Some(m), Some(y)) => month_end(y, m).map(|expires_on| Card {
                    brand: self.card_brand.clone(),
                    last4: self.card_last4.clone(),
                    exp_month: m as i16,
                    exp_year: y as i16,
                    expires_on,
                }),
                _ => None,
            }
        } else {
            None
        };
        let owner = self.billing_owner_email.to_lowercase();
        if !owner.is_empty() && !crate::directory::commands::valid_email(&owner) {
            e.add(
                "billing_owner_email",
                "Enter the billing owner's email address, or leave it empty.",
            );
        }
        for (field, value, max) in [
            ("reference", &self.reference, 200),
            ("cost_center", &self.cost_center, 100),
            ("notes", &self.notes, 4000),
        ] {
            if value.chars().count() > max {
                e.add(field, format!("At most {max} characters."));
            }
        }
        if self.status.is_empty() {
            self.status = "active".into();
        }
        if !super::model::STATUSES
            .iter()
            .any(|(k, _)| *k == self.status)
        {
            e.add("status", "Choose a status.");
        }
        let notice = if self.notice_value.is_empty() {
            None
        } else {
            match (self.notice_value.parse::<u32>(), self.notice_unit.as_str()) {
                (Ok(v), "days") if v <= 3650 => Some(super::renewal::Notice::Days(v)),
                (Ok(v), "months") if v <= 120 => Some(super::renewal::Notice::Months(v)),
                (Ok(_), "days" | "months") => {
                    e.add("notice_value", "That notice period is too long.");
                    None
                }
                (Ok(_), _) => {
                    e.add("notice_unit", "Choose days or months.");
                    None
                }
                (Err(_), _) => {
                    e.add(
                        "notice_value",
                        "Enter the notice period as a whole number, or leave it empty.",
                    );
                    None
                }
            }
        };
        let minimum_term_months = if self.minimum_term_months.is_empty() {
            None
        } else {
            match self.minimum_term_months.parse::<i32>() {
                Ok(m) if (0..=600).contains(&m) => Some(m),
                _ => {
                    e.add(
                        "minimum_term_months",
                        "Enter the minimum term in whole months, or leave it empty.",
                    );
                    None
                }
            }
        };
        e.into_result()?;
        Ok(BillingValues {
            notice,
            minimum_term_months,
            product_id: product_id.unwrap_or_default(),
            reference: self.reference.clone(),
            cycle: self.cycle.clone(),
            amount: amount.unwrap_or_default(),
            currency: self.currency.clone(),
            next_renewal_on,
            contract_end_on,
            auto_renew: self.auto_renew.is_some(),
            payment_method: self.payment_method.clone(),
            card,
            billing_owner_email: (!owner.is_empty()).then_some(owner),
            cost_center: self.cost_center.clone(),
            notes: self.notes.clone(),
            status: self.status.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> BillingForm {
        BillingForm {
            product_id: "1".into(),
            cycle: "annual".into(),
            amount: "1200.00".into(),
            currency: "eur".into(),
            payment_method: "card".into(),
            card_brand: "Visa".into(),
            card_last4: "4242".into(),
            card_exp_month: "2".into(),
            card_exp_year: "28".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_card_record_keeps_only_the_masked_card() {
        let v = form().validate().expect("valid");
        let card = v.card.expect("card");
        assert_eq!(
            (card.last4.as_str(), card.exp_month, card.exp_year),
            ("4242", 2, 2028)
        );
        assert_eq!(
            card.expires_on,
            NaiveDate::from_ymd_opt(2028, 2, 29).expect("leap day")
        );
        assert_eq!(v.currency, "EUR");
    }

    #[test]
    fn a_full_card_number_in_any_field_is_refused_and_cleared() {
        for field in [
            "reference",
            "card_last4",
            "notes",
            "cost_center",
            "card_brand",
            "amount",
            "billing_owner_email",
        ] {
            let mut f = form();
            let number = "4111 1111 1111 1111".to_string();
            match field {
                "reference" => f.reference = number,
                "card_last4" => f.card_last4 = number,
                "notes" => f.notes = format!("paid with {number}"),
                "cost_center" => f.cost_center = number,
                "card_brand" => f.card_brand = number,
                "amount" => f.amount = number,
                _ => f.billing_owner_email = number,
            }
            let e = f.validate().unwrap_err();
            assert_eq!(e.get(field), REFUSAL, "{field}");
            let debug = format!("{f:?}");
            assert!(!debug.contains("4111 1111"), "{field} was not cleared");
        }
    }

    #[test]
    fn month_ends_are_exact() {
        assert_eq!(month_end(2027, 12), NaiveDate::from_ymd_opt(2027, 12, 31));
        assert_eq!(month_end(2026, 2), NaiveDate::from_ymd_opt(2026, 2, 28));
    }
}
