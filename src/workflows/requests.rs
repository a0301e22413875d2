//! What the workflow commands are asked to do, in domain types: starting an onboarding or
//! an offboarding, closing a task (done or not needed), cancelling a workflow, saving an
//! onboarding template. Each door (the pages, the API) translates its own input into these;
//! the checks of each field (required, length, card numbers, one line) live here, once.
//!
//! A field that had no length limit before keeps none (`UNLIMITED`: the door's body size
//! limit bounds it).

use chrono::NaiveDate;

use crate::domain::text::{Line, Paragraph, TextError};
use crate::domain::{FieldErrors, ProductId, TemplateId};

/// No length limit (the door's body size limit bounds the text).
pub const UNLIMITED: usize = usize::MAX;

/// A line of text without a length limit.
pub type Text = Line<UNLIMITED>;

/// The errors of one field.
fn field(name: &'static str, message: impl Into<String>) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.add(name, message);
    e
}

/// A text error with the generic message (card numbers, line breaks: the messages of the
/// door's own screen).
fn text_error(name: &'static str, e: TextError) -> FieldErrors {
    field(name, e.message("The text"))
}

fn date(name: &'static str, text: &str, what: &str) -> Result<NaiveDate, FieldErrors> {
    crate::web::forms::parse_date(text).map_err(|m| {
        if text.trim().is_empty() {
            field(name, format!("Enter {what}."))
        } else {
            field(name, m)
        }
    })
}

/// Sorted, without repeats.
fn product_set(ids: &[i64]) -> Vec<ProductId> {
    let mut ids: Vec<ProductId> = ids.iter().copied().map(ProductId).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A new person to onboard, or an existing one (by email).
#[derive(Debug, Clone)]
pub struct NewOnboarding {
    /// Lower case.
    pub email: String,
    /// Used when the email is new to the directory (then required).
    pub full_name: Option<Text>,
    pub department: Option<Text>,
    pub job_title: Option<Text>,
    /// The first working day.
    pub start_date: NaiveDate,
    pub template: Option<TemplateId>,
    /// At least one, sorted, without repeats.
    pub products: Vec<ProductId>,
}

impl NewOnboarding {
    /// Checks the fields in the order the form shows them; the first wrong one answers.
    pub fn new(
        email: &str,
        full_name: &str,
        department: &str,
        job_title: &str,
        start_date: &str,
        template: Option<i64>,
        product_ids: &[i64],
    ) -> Result<Self, FieldErrors> {
        let email = email.trim().to_lowercase();
        if !crate::directory::commands::valid_email(&email) {
            return Err(field("email", "Enter the person's email address."));
        }
        let start_date = date("start_date", start_date, "the start date")?;
        let products = product_set(product_ids);
        if products.is_empty() {
            return Err(field(
                "product_ids",
                "Choose at least one product (or a template).",
            ));
        }
        Ok(Self {
            email,
            full_name: Text::optional(full_name).map_err(|e| text_error("full_name", e))?,
            department: Text::optional(department).map_err(|e| text_error("department", e))?,
            job_title: Text::optional(job_title).map_err(|e| text_error("job_title", e))?,
            start_date,
            template: template.map(TemplateId),
            products,
        })
    }
}

/// Someone leaving.
#[derive(Debug, Clone)]
pub struct NewOffboarding {
    /// Lower case.
    pub email: String,
    pub last_day: NaiveDate,
    /// Disable the login now rather than after the last day.
    pub disable_login_now: bool,
}

impl NewOffboarding {
    pub fn new(email: &str, last_day: &str, disable_login_now: bool) -> Result<Self, FieldErrors> {
        Ok(Self {
            email: email.trim().to_lowercase(),
            last_day: date("last_day", last_day, "the last working day")?,
            disable_login_now,
        })
    }
}

/// How a task is closed.
#[derive(Debug, Clone)]
pub enum TaskCompletion {
    /// Done: a grant task grants the access, a revoke task revokes it.
    Done {
        /// The account the person got (grant tasks); may be empty.
        account_identifier: Text,
        /// May be empty.
        note: Text,
        /// The person acting was told the grant goes over the purchased seats, and goes on.
        over_seats: bool,
    },
    /// Not needed (e.g. the person does not need the product), with why.
    NotNeeded { reason: Text },
}

impl TaskCompletion {
    pub fn done(account_identifier: &str, note: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let account = Text::parse(account_identifier)
            .map_err(|e| errors.merge(text_error("account_identifier", e)));
        let note = Text::parse(note).map_err(|e| errors.merge(text_error("note", e)));
        match (account, note) {
            (Ok(account_identifier), Ok(note)) => Ok(Self::Done {
                account_identifier,
                note,
                over_seats: false,
            }),
            _ => Err(errors),
        }
    }

    /// A completion that goes over the purchased seats when `confirmed`.
    pub fn confirming_seats(mut self, confirmed: bool) -> Self {
        if let Self::Done { over_seats, .. } = &mut self {
            *over_seats = confirmed;
        }
        self
    }

    pub fn not_needed(reason: &str) -> Result<Self, FieldErrors> {
        match Text::required(reason) {
            Ok(reason) => Ok(Self::NotNeeded { reason }),
            Err(TextError::Missing) => Err(field("reason", "Say why this task is not needed.")),
            Err(e) => Err(text_error("reason", e)),
        }
    }
}

/// Why a workflow is cancelled.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub reason: Text,
}

impl Cancellation {
    pub fn new(reason: &str) -> Result<Self, FieldErrors> {
        match Text::required(reason) {
            Ok(reason) => Ok(Self { reason }),
            Err(TextError::Missing) => Err(field("reason", "Say why the workflow is cancelled.")),
            Err(e) => Err(text_error("reason", e)),
        }
    }
}

/// An onboarding template as saved: a name, what it is for and the products it grants.
#[derive(Debug, Clone)]
pub struct TemplateChanges {
    pub name: Line<120>,
    pub department: Text,
    pub description: Paragraph<UNLIMITED>,
    /// Who keeps it up to date, by email in lower case (None: nobody).
    pub maintainer_email: Option<String>,
    /// At least one, sorted, without repeats.
    pub products: Vec<ProductId>,
}

impl TemplateChanges {
    pub fn new(
        name: &str,
        department: &str,
        description: &str,
        maintainer_email: &str,
        product_ids: &[i64],
    ) -> Result<Self, FieldErrors> {
        let name = match Line::<120>::required(name) {
            Ok(n) => n,
            Err(TextError::Missing | TextError::TooLong { .. }) => {
                return Err(field("name", "Enter a name of up to 120 characters."))
            }
            Err(e) => return Err(text_error("name", e)),
        };
        let products = product_set(product_ids);
        if products.is_empty() {
            return Err(field(
                "product_ids",
                "Choose the products this template grants.",
            ));
        }
        let email = maintainer_email.trim().to_lowercase();
        Ok(Self {
            name,
            department: Text::parse(department).map_err(|e| text_error("department", e))?,
            description: Paragraph::parse(description).map_err(|e| text_error("description", e))?,
            maintainer_email: (!email.is_empty()).then_some(email),
            products,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_keeps_its_messages() {
        let e = NewOnboarding::new("x", "", "", "", "", None, &[]).unwrap_err();
        assert_eq!(e.get("email"), "Enter the person's email address.");
        let e = NewOnboarding::new("a@example.com", "", "", "", " ", None, &[1]).unwrap_err();
        assert_eq!(e.get("start_date"), "Enter the start date.");
        let o = NewOnboarding::new(" A@Example.com", "", "", "", "2030-01-07", None, &[3, 1, 3])
            .unwrap();
        assert_eq!(o.email, "a@example.com");
        assert_eq!(o.products, vec![ProductId(1), ProductId(3)]);
        let e = TaskCompletion::not_needed("  ").unwrap_err();
        assert_eq!(e.get("reason"), "Say why this task is not needed.");
        let e = TemplateChanges::new(&"x".repeat(121), "", "", "", &[1]).unwrap_err();
        assert_eq!(e.get("name"), "Enter a name of up to 120 characters.");
        let e = TaskCompletion::done("4242 4242 4242 4242", "").unwrap_err();
        assert_eq!(e.get("account_identifier"), crate::domain::card::REFUSAL);
    }
}
