//! API errors as RFC 9457 problem details (`application/problem+json`): `type`, `title`,
//! `status`, `detail`, the request id, and per-field `errors` for validation failures.
//! Never a stack trace or an HTML page.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{AppError, CommandError};

pub type ApiResult<T> = Result<T, Problem>;

/// A problem document (boxed: results carrying it stay small).
#[derive(Debug)]
pub struct Problem(Box<Body>);

/// An RFC 9457 problem document: every error of the API has this shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct Body {
    /// Always `about:blank`: the status code and title say what went wrong.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The HTTP status's reason phrase.
    title: &'static str,
    status: u16,
    /// What went wrong, in words for a person.
    detail: String,
    /// Validation failures and conflicts: field name → message (422 and 409).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    errors: BTreeMap<String, String>,
    /// Quote it when reporting a server error (5xx only).
    #[serde(skip_serializing_if = "String::is_empty")]
    request_id: String,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    allow: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Box::new(Body {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            errors: BTreeMap::new(),
            request_id: String::new(),
            retry_after: None,
            allow: None,
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "There is nothing here, or you do not have access to it.",
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// Refused for a reason the detail names (e.g. an API token's missing scope).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// The path exists but not with this method; `allow` lists the methods it has.
    pub fn method_not_allowed(allow: String) -> Self {
        let mut p = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("This address answers {allow} only."),
        );
        p.0.allow = Some(allow);
        p
    }

    /// The body's content is of a type this address does not take (415).
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail)
    }

    /// A validation failure on one field (422).
    pub fn invalid(field: &str, message: &str) -> Self {
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request has invalid fields.",
        );
        p.0.errors.insert(field.to_string(), message.to_string());
        p
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status, self.0.title, self.0.detail)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        let status = match &e {
            // Pages redirect to the login form; the API answers 401.
            AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
            AppError::SecondFactorSetupRequired => StatusCode::FORBIDDEN,
            // No form, no CSRF token: an API call refused as a form would be is malformed.
            AppError::Csrf => StatusCode::FORBIDDEN,
            other => other.status_code(),
        };
        let detail = match &e {
            AppError::NotFound => return Self::not_found(),
            AppError::Forbidden => "Your role does not allow this.".to_string(),
            AppError::LoginRequired { .. } => "Log in first.".to_string(),
            AppError::SecondFactorSetupRequired => "Two-factor login is required for your \
                account and is not set up yet: set it up at /account/two-factor in the browser \
                first."
                .to_string(),
            AppError::BadRequest(m) | AppError::PayloadTooLarge(m) => m.clone(),
            AppError::TooManyRequests { message, .. } => message.clone(),
            AppError::Csrf => "Refused.".to_string(),
            AppError::Pool(_) => "The database is not answering. Try again in a moment.".into(),
            AppError::Database(_) if status == StatusCode::CONFLICT => {
                crate::error::CONFLICT.to_string()
            }
            AppError::Database(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                crate::error::BUSY.to_string()
            }
            AppError::Database(_) | AppError::Internal(_) => {
                "The error has been logged. Quote the request id if you report it.".into()
            }
        };
        let mut p = Self::new(status, detail);
        if status.is_server_error() {
            p.0.request_id = crate::telemetry::current_request_id();
            tracing::error!(request_id = %p.0.request_id, error = %e, "API request failed");
        }
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = e
        {
            p.0.retry_after = Some(retry_after_secs);
        }
        p
    }
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Invalid(fields) => {
                // 409 when the fields clash with a change made at the same moment.
                let status = match crate::web::forms::status(&fields) {
                    StatusCode::CONFLICT => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let mut p = Self::new(
                    status,
                    if status == StatusCode::CONFLICT {
                        "The request conflicts with a change made at the same moment."
                    } else {
                        "The request has invalid fields."
                    },
                );
                p.0.errors = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                p
            }
            CommandError::Refused(m) => Self::new(StatusCode::CONFLICT, m),
            CommandError::Other(e) => e.into(),
        }
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type("application/problem+json");
        if self.0.status == 401 {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(allow) = &self.0.allow {
            resp.insert_header((header::ALLOW, allow.as_str()));
        }
        if let Some(secs) = self.0.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.body(serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into()))
    }
}
