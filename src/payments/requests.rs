//! The requests of the register's commands, made of domain types, and the one place a
//! billing record's fields are checked: `BillingRecordChanges::new` (required fields,
//! formats, lengths; a full card number in any field is refused before anything else is
//! looked at, and only then). Each door hands over what it received as
//! `BillingRecordFields` — the page its form (`model::BillingForm`), the API its JSON body
//! (`api::billing`) — and shows the field errors its own way.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::money;
use super::renewal::Notice;
use crate::domain::card::{contains_card_number, REFUSAL};
use crate::domain::text::{Line, Paragraph, TextError};
use crate::domain::{
    BillingCycle, BillingRecordId, BillingStatus, FieldErrors, NoticeUnit, PaymentMethod, ProductId,
};

/// The product message: the product is required, and one outside the actor's scope is
/// refused with the same words (`commands`).
pub const CHOOSE_PRODUCT: &str = "Choose the product this record pays for.";

/// The fields of a billing record as a door received them: text where people type text
/// (numbers and dates too, so that every door gets the same messages), the choices already
/// parsed (`None`: missing, or none of the choices).
#[derive(Debug, Clone, Copy, Default)]
pub struct BillingRecordFields<'a> {
    pub product_id: Option<ProductId>,
    pub reference: &'a str,
    pub cycle: Option<BillingCycle>,
    pub amount: &'a str,
    pub currency: &'a str,
    pub next_renewal_on: &'a str,
    pub contract_end_on: &'a str,
    pub auto_renew: bool,
    pub payment_method: Option<PaymentMethod>,
    pub card_brand: &'a str,
    pub card_last4: &'a str,
    pub card_exp_month: &'a str,
    pub card_exp_year: &'a str,
    pub billing_owner_email: &'a str,
    pub cost_center: &'a str,
    pub notes: &'a str,
    /// The door gives `Active` when none was chosen.
    pub status: Option<BillingStatus>,
    pub notice_value: &'a str,
    /// "days" or "months"; looked at only with a notice value.
    pub notice_unit: &'a str,
    pub minimum_term_months: &'a str,
}

/// A masked card: never more than the brand, the last four digits and the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: i16,
    pub exp_year: i16,
    /// The last day of the expiry month.
    pub expires_on: NaiveDate,
}

/// A billing record to add or save, checked (the owner still to be found by email).
#[derive(Debug, Clone)]
pub struct BillingRecordChanges {
    pub product_id: ProductId,
    pub reference: Line<200>,
    pub cycle: BillingCycle,
    pub amount: Decimal,
    /// ISO 4217, upper case, one of `money::CURRENCIES`.
    pub currency: String,
    pub next_renewal_on: Option<NaiveDate>,
    pub contract_end_on: Option<NaiveDate>,
    pub auto_renew: bool,
    pub payment_method: PaymentMethod,
    /// Present exactly when the method is a card.
    pub card: Option<Card>,
    /// Lower case.
    pub billing_owner_email: Option<String>,
    pub cost_center: Line<100>,
    pub notes: Paragraph<4000>,
    pub status: BillingStatus,
    pub notice: Option<Notice>,
    pub minimum_term_months: Option<i32>,
}

/// Saving an existing record.
#[derive(Debug, Clone)]
pub struct BillingRecordUpdate {
    pub id: BillingRecordId,
    pub changes: BillingRecordChanges,
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

fn date(e: &mut FieldErrors, field: &'static str, s: &str) -> Option<NaiveDate> {
    if s.is_empty() {
        return None;
    }
    crate::web::forms::parse_date(s)
        .map_err(|m| e.add(field, m))
        .ok()
}

/// The register's words for a refused text (its length limit is "At most N characters.").
fn text_message(error: TextError) -> String {
    match error {
        TextError::TooLong { max } => format!("At most {max} characters."),
        other => other.message("The text"),
    }
}

fn text<T: Default>(e: &mut FieldErrors, field: &'static str, parsed: Result<T, TextError>) -> T {
    parsed
        .map_err(|error| e.add(field, text_message(error)))
        .unwrap_or_default()
}

impl BillingRecordFields<'_> {
    /// Every text field, with the name its error goes under.
    pub fn texts(&self) -> [(&'static str, &str); 13] {
        [
            ("reference", self.reference),
            ("amount", self.amount),
            ("card_brand", self.card_brand),
            ("card_last4", self.card_last4),
            ("card_exp_month", self.card_exp_month),
            ("card_exp_year", self.card_exp_year),
            ("billing_owner_email", self.billing_owner_email),
            ("cost_center", self.cost_center),
            ("notes", self.notes),
            ("next_renewal_on", self.next_renewal_on),
            ("contract_end_on", self.contract_end_on),
            ("notice_value", self.notice_value),
            ("minimum_term_months", self.minimum_term_months),
        ]
    }
}

impl BillingRecordChanges {
    /// Checks every field at once; the errors are keyed by the field names above.
    pub fn new(f: BillingRecordFields<'_>) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        for (field, value) in f.texts() {
            if contains_card_number(value) {
                e.add(field, REFUSAL);
            }
        }
        if !e.is_empty() {
            // Stop here: nothing else is looked at while a card number was typed.
            return Err(e);
        }
        if f.product_id.is_none() {
            e.add("product_id", CHOOSE_PRODUCT);
        }
        if f.cycle.is_none() {
            e.add("cycle", "Choose a billing cycle.");
        }
        let currency = f.currency.trim().to_uppercase();
        if money::minor_units(&currency).is_none() {
            e.add("currency", "Choose a currency (ISO 4217, e.g. EUR).");
        }
        let amount = money::parse_amount(f.amount.trim(), &currency)
            .map_err(|m| e.add("amount", m))
            .ok();
        let next_renewal_on = date(&mut e, "next_renewal_on", f.next_renewal_on.trim());
        let contract_end_on = date(&mut e, "contract_end_on", f.contract_end_on.trim());
        if f.payment_method.is_none() {
            e.add("payment_method", "Choose a payment method.");
        }
        let card = if f.payment_method == Some(PaymentMethod::Card) {
            card(&mut e, &f)
        } else {
            None
        };
        let owner = f.billing_owner_email.trim().to_lowercase();
        if !owner.is_empty() && !crate::directory::commands::valid_email(&owner) {
            e.add(
                "billing_owner_email",
                "Enter the billing owner's email address, or leave it empty.",
            );
        }
        let reference = text(&mut e, "reference", Line::parse(f.reference));
        let cost_center = text(&mut e, "cost_center", Line::parse(f.cost_center));
        let notes = text(&mut e, "notes", Paragraph::parse(f.notes));
        if f.status.is_none() {
            e.add("status", "Choose a status.");
        }
        let notice = notice(&mut e, f.notice_value.trim(), f.notice_unit);
        let minimum_term = f.minimum_term_months.trim();
        let minimum_term_months = if minimum_term.is_empty() {
            None
        } else {
            match minimum_term.parse::<i32>() {
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
        let (Some(product_id), Some(cycle), Some(amount), Some(payment_method), Some(status)) =
            (f.product_id, f.cycle, amount, f.payment_method, f.status)
        else {
            return Err(FieldErrors::new());
        };
        Ok(Self {
            product_id,
            reference,
            cycle,
            amount,
            currency,
            next_renewal_on,
            contract_end_on,
            auto_renew: f.auto_renew,
            payment_method,
            card,
            billing_owner_email: (!owner.is_empty()).then_some(owner),
            cost_center,
            notes,
            status,
            notice,
            minimum_term_months,
        })
    }
}

/// The masked card of a card payment.
fn card(e: &mut FieldErrors, f: &BillingRecordFields<'_>) -> Option<Card> {
    let (brand, last4) = (f.card_brand.trim(), f.card_last4.trim());
    let last4_ok = last4.len() == 4 && last4.chars().all(|c| c.is_ascii_digit());
    if !last4_ok {
        e.add(
            "card_last4",
            "Enter exactly the last four digits of the card.",
        );
    }
    let month = f
        .card_exp_month
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=12).contains(m));
    if month.is_none() {
        e.add("card_exp_month", "Enter the expiry month (1–12).");
    }
    let year = f
        .card_exp_year
        .trim()
        .parse::<i32>()
        .ok()
        .map(|y| if y < 100 { 2000 + y } else { y })
        .filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        e.add("card_exp_year", "Enter the expiry year, e.g. 2027.");
    }
    if brand.chars().count() > 40 {
        e.add("card_brand", "At most 40 characters.");
    }
    match (last4_ok, month, year) {
        (true, Some(m), Some(y)) => month_end(y, m).map(|expires_on| Card {
            brand: brand.to_string(),
            last4: last4.to_string(),
            exp_month: m as i16,
            exp_year: y as i16,
            expires_on,
        }),
        _ => None,
    }
}

/// The notice period: a whole number of days (up to ten years) or months (up to 120).
fn notice(e: &mut FieldErrors, value: &str, unit: &str) -> Option<Notice> {
    if value.is_empty() {
        return None;
    }
    match (value.parse::<u32>(), NoticeUnit::parse(unit)) {
        (Ok(v), Some(NoticeUnit::Days)) if v <= 3650 => Some(Notice::Days(v)),
        (Ok(v), Some(NoticeUnit::Months)) if v <= 120 => Some(Notice::Months(v)),
        (Ok(_), Some(_)) => {
            e.add("notice_value", "That notice period is too long.");
            None
        }
        (Ok(_), None) => {
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
}

/// A line for a record's payment history, in the record's currency: its date and amount as
/// typed (the amount's precision depends on that currency, read in the command).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub record_id: BillingRecordId,
    pub paid_on: String,
    pub amount: String,
    pub invoice_ref: String,
}
