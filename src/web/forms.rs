//! Form plumbing shared by every page: per-field error messages, shown next to the field
//! while the form keeps what the user typed.

use std::borrow::Cow;

/// Field name → message. Empty when the form is valid.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(Cow<'static, str>, String)>, Conflict);

/// Whether the errors come from a change made at the same moment (a unique rule the
/// database enforced): the form is shown again with the message, answered 409, not 422.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Conflict(pub bool);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One field's message for a conflict with a concurrent change (409).
    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self(Vec::new(), Conflict(true));
        e.add(field, message);
        e
    }

    pub fn is_conflict(&self) -> bool {
        self.1 .0
    }

    /// Moves the message of `from` to the field `to` (a form that shows it elsewhere),
    /// keeping whether it is a conflict.
    pub fn rename(&mut self, from: &str, to: &'static str) {
        for (field, _) in self.0.iter_mut().filter(|(f, _)| *f == from) {
            *field = Cow::Borrowed(to);
        }
    }

    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, message: impl Into<String>) {
        let field = field.into();
        if self.get(&field).is_empty() {
            self.0.push((field, message.into()));
        }
    }

    /// Adds every message of `other` (a field keeps its first message).
    pub fn merge(&mut self, other: FieldErrors) {
        self.1 .0 |= other.1 .0;
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// The message for `field`, or "" (templates test `!= ""`).
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The status of a page showing this form: 200 while it is clean, 422 with errors, 409
    /// when they are a conflict with a change made at the same moment.
    pub fn status(&self) -> actix_web::http::StatusCode {
        if self.is_empty() {
            actix_web::http::StatusCode::OK
        } else if self.is_conflict() {
            actix_web::http::StatusCode::CONFLICT
        } else {
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// (field, message) pairs, for the API's problem documents.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_ref(), m.as_str()))
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Trims a form value; `None` when it is blank.
pub fn optional(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Refuses full card numbers in free-text fields (PCI DSS: PortalOps never stores one):
/// the field gets the message and is emptied, so the number is not even shown back.
pub fn refuse_card_numbers(errors: &mut FieldErrors, fields: Vec<(&'static str, &mut String)>) {
    for (name, value) in fields {
        if crate::payments::card::contains_card_number(value) {
            errors.add(name, crate::payments::card::REFUSAL);
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
