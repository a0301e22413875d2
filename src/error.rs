//! One error type for the whole application, mapped once to an HTTP response: a generic
//! page carrying the request id (internal details go to the log, never to the page).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::telemetry::current_request_id;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("login required")]
    LoginRequired { next: Option<String> },
    /// Two-factor login is required of this user and not set up yet: pages send them to
    /// the enrolment page, the API answers 403.
    #[error("two-factor set-up required")]
    SecondFactorSetupRequired,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the form was stale or forged (CSRF check failed)")]
    Csrf,
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("too many requests: {message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::Internal(msg.into())
    }
}

/// The unique rules of the schema that a person's action can run into (usually because
/// someone did the same thing at the same moment, past the command's own check): the
/// index, the form field it belongs to and the message shown there. Such a violation is a
/// 409 with this message, never a 500.
const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    (
        "users_email_key",
        "email",
        "Someone in the directory already has this email address.",
    ),
    ("users_username_key", "username", "This username is taken."),
    (
        "services_name_key",
        "name",
        "A service with this name already exists.",
    ),
    (
        "products_service_name_key",
        "name",
        "This service already has a product with this name.",
    ),
    (
        "access_grants_active_key",
        "person",
        "This person already has access to this product.",
    ),
    (
        "onboarding_templates_name_key",
        "name",
        "A template with this name already exists.",
    ),
    (
        "service_accounts_name_key",
        "name",
        "A service account with this name already exists.",
    ),
    (
        "provisioning_rules_match_key",
        "match_value",
        "There is already a rule for this name: delete it first to change it.",
    ),
    ("workflows_one_open_offboarding", "email", OFFBOARDING_OPEN),
    ("workflows_one_open_onboarding", "email", ONBOARDING_OPEN),
];

/// Whether `message` is one of `UNIQUE_RULES`' (a command's own check found the value taken,
/// as the index would have): a SCIM answer calls that `uniqueness`.
pub fn is_unique_rule_message(message: &str) -> bool {
    UNIQUE_RULES.iter().any(|(_, _, m)| *m == message)
}

/// One open onboarding (offboarding) per person: `workflows_one_open_*`.
pub const ONBOARDING_OPEN: &str = "An onboarding for this person is already open.";
pub const OFFBOARDING_OPEN: &str = "An offboarding for this person is already open.";

/// A unique violation: the rule it broke, if it is one of `UNIQUE_RULES` (field, message).
fn unique_rule(e: &diesel::result::Error) -> Option<Option<(&'static str, &'static str)>> {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Some(
            UNIQUE_RULES
                .iter()
                .find(|(index, _, _)| info.constraint_name() == Some(index))
                .map(|(_, field, message)| (*field, *message)),
        ),
        _ => None,
    }
}

/// A failure that running the transaction again may not meet: PostgreSQL aborted it for a
/// deadlock (SQLSTATE 40P01, which Diesel reports by its message only) or a serialization
/// failure (40001). `db::transaction` retries these.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for diesel::result::Error {
    fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                info.message().starts_with("deadlock detected")
            }
            _ => false,
        }
    }
}

impl Transient for AppError {
    fn is_transient(&self) -> bool {
        matches!(self, AppError::Database(e) if e.is_transient())
    }
}

impl Transient for CommandError {
    fn is_transient(&self) -> bool {
        matches!(self, CommandError::Other(e) if e.is_transient())
    }
}

/// A unique rule broken outside a form (no field to show it next to).
pub const CONFLICT: &str =
    "This conflicts with a change made at the same moment. Reload the page and try again.";
/// A deadlock or serialization failure that retrying did not get past.
pub const BUSY: &str = "PortalOps is busy with the same records. Try again in a moment.";

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    request_id: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } | AppError::SecondFactorSetupRequired => {
                StatusCode::SEE_OTHER
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(e) if unique_rule(e).is_some() => StatusCode::CONFLICT,
            AppError::Database(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let AppError::LoginRequired { next } = self {
            let location = match next {
                Some(n) => format!("/login?next={}", urlencode(n)),
                None => "/login".to_string(),
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        if let AppError::SecondFactorSetupRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/account/two-factor"))
                .finish();
        }
        let request_id = current_request_id();
        let (title, message): (&str, &str) = match self {
            AppError::NotFound => ("Page not found", "There is nothing here, or you do not have access to it."),
            AppError::Forbidden => ("Not allowed", "Your role does not allow this. Ask an Admin if you need access."),
            AppError::Csrf => (
                "Form expired",
                "This form was stale or did not come from PortalOps. Go back, reload the page and try again.",
            ),
            AppError::BadRequest(m) => ("Bad request", m.as_str()),
            AppError::PayloadTooLarge(m) => ("File too large", m.as_str()),
            AppError::TooManyRequests { message, .. } => ("Too many attempts", message.as_str()),
            AppError::Pool(_) => ("Service unavailable", "The database is not answering. Try again in a moment."),
            AppError::Database(_) if status == StatusCode::CONFLICT => ("Conflict", CONFLICT),
            AppError::Database(_) if status == StatusCode::SERVICE_UNAVAILABLE => ("Busy", BUSY),
            _ => ("Something went wrong", "The error has been logged. Quote the request id below if you report it."),
        };
        if status.is_server_error() {
            tracing::error!(request_id = %request_id, error = %self, "request failed");
        }
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
            request_id,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8");
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        resp.body(body)
    }
}

/// A command's failure: field errors to show next to the form, or anything else.
#[derive(Debug)]
pub enum CommandError {
    Invalid(crate::domain::FieldErrors),
    /// A rule refused the change; the message is shown as it is.
    Refused(String),
    Other(AppError),
}

impl From<AppError> for CommandError {
    /// A unique rule of `UNIQUE_RULES` broken by the change becomes its field's message (a
    /// conflict: 409), so the form is shown again rather than an error page.
    fn from(e: AppError) -> Self {
        match &e {
            AppError::Database(d) => match unique_rule(d) {
                Some(Some((field, message))) => {
                    CommandError::Invalid(crate::domain::FieldErrors::conflict(field, message))
                }
                _ => CommandError::Other(e),
            },
            _ => CommandError::Other(e),
        }
    }
}

impl From<diesel::result::Error> for CommandError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

/// A command failure with one field error.
pub fn invalid(field: &'static str, msg: &str) -> CommandError {
    let mut e = crate::domain::FieldErrors::new();
    e.add(field, msg);
    CommandError::Invalid(e)
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
