//! The pages' forms: the billing record form and a payment line, as typed. The billing
//! form becomes a `BillingRecordChanges` (checked there); a full card number in any field is
//! refused and the field is emptied, so that it is not even shown back.

use serde::Deserialize;

use super::card::REFUSAL;
pub use super::requests::month_end;
use super::requests::{BillingRecordChanges, BillingRecordFields};
use crate::domain::{BillingCycle, BillingStatus, PaymentMethod};
use crate::web::forms::FieldErrors;

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

impl BillingForm {
    /// The form as the request's fields (an empty status is an active record).
    fn fields(&self) -> BillingRecordFields<'_> {
        BillingRecordFields {
            product_id: self.product_id.trim().parse().ok(),
            reference: &self.reference,
            cycle: BillingCycle::parse(&self.cycle),
            amount: &self.amount,
            currency: &self.currency,
            next_renewal_on: &self.next_renewal_on,
            contract_end_on: &self.contract_end_on,
            auto_renew: self.auto_renew.is_some(),
            payment_method: PaymentMethod::parse(&self.payment_method),
            card_brand: &self.card_brand,
            card_last4: &self.card_last4,
            card_exp_month: &self.card_exp_month,
            card_exp_year: &self.card_exp_year,
            billing_owner_email: &self.billing_owner_email,
            cost_center: &self.cost_center,
            notes: &self.notes,
            status: if self.status.is_empty() {
                Some(BillingStatus::Active)
            } else {
                BillingStatus::parse(&self.status)
            },
            notice_value: &self.notice_value,
            notice_unit: &self.notice_unit,
            minimum_term_months: &self.minimum_term_months,
        }
    }

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

    /// The request, or the errors; the form is left as it is shown back: trimmed, a card
    /// number emptied, and (unless a card number stopped the check) the currency in upper
    /// case and an empty status active.
    pub fn validate(&mut self) -> Result<BillingRecordChanges, FieldErrors> {
        let result = BillingRecordChanges::new(self.fields());
        let refused = match &result {
            Err(e) if e.iter().any(|(_, m)| m == REFUSAL) => Some(e.clone()),
            _ => None,
        };
        for (field, value) in self.text_fields() {
            if refused.as_ref().is_some_and(|e| e.get(field) == REFUSAL) {
                value.clear();
            }
            *value = value.trim().to_string();
        }
        if refused.is_none() {
            self.currency = self.currency.trim().to_uppercase();
            if self.status.is_empty() {
                self.status = BillingStatus::Active.as_str().into();
            }
        }
        result
    }
}

/// A line of the payment history, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    pub paid_on: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub invoice_ref: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

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
