//! Form plumbing shared by every page: per-field error messages, shown next to the field
//! while the form keeps what the user typed.

pub use crate::domain::errors::{Conflict, FieldErrors};

/// The status of a page showing a form with `errors`: 200 while it is clean, 422 with
/// errors, 409 when they are a conflict with a change made at the same moment.
pub fn status(errors: &FieldErrors) -> actix_web::http::StatusCode {
    if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else if errors.is_conflict() {
        actix_web::http::StatusCode::CONFLICT
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Trims a form value; `None` when it is blank.
pub fn optional(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A short fingerprint of what a preview showed (a hidden field): a confirm of anything else
/// is shown again instead of acted on.
pub fn fingerprint(text: &str) -> String {
    crate::crypto::sha256(text.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Refuses full card numbers in free-text fields (PCI DSS: PortalOps never stores one):
/// the field gets the message and is emptied, so the number is not even shown back.
pub fn refuse_card_numbers(errors: &mut FieldErrors, fields: Vec<(&'static str, &mut String)>) {
    for (name, value) in fields {
        if crate::domain::card::contains_card_number(value) {
            errors.add(name, crate::domain::card::REFUSAL);
            value.clear();
        }
    }
}

/// A calendar date typed as YYYY-MM-DD, within a plausible range (a mistyped year such as
/// 0630 is refused rather than stored).
pub fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    use chrono::Datelike as _;
    let d = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| "Enter a date as YYYY-MM-DD.".to_string())?;
    if (1900..=2200).contains(&d.year()) {
        Ok(d)
    } else {
        Err("Enter a date between the years 1900 and 2200.".into())
    }
}
