//! One error type for the whole application, mapped once to an HTTP response: a generic
//! page carrying the request id (internal details go to the log, never to the page).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::web::request_log::current_request_id;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("login required")]
    LoginRequired { next: Option<String> },
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
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
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
    Invalid(crate::web::forms::FieldErrors),
    /// A rule refused the change; the message is shown as it is.
    Refused(String),
    Other(AppError),
}

impl From<AppError> for CommandError {
    fn from(e: AppError) -> Self {
        CommandError::Other(e)
    }
}

impl From<diesel::result::Error> for CommandError {
    fn from(e: diesel::result::Error) -> Self {
        CommandError::Other(e.into())
    }
}

/// A command failure with one field error.
pub fn invalid(field: &'static str, msg: &str) -> CommandError {
    let mut e = crate::web::forms::FieldErrors::new();
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
