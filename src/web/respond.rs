//! Small helpers every page handler uses: render a template, redirect, and turn a
//! command's outcome into a flash message or a re-rendered form.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

use crate::error::{AppError, AppResult, CommandError};
use crate::web::forms::FieldErrors;
use crate::web::session::{self as sess, FlashKind};

pub fn html(status: StatusCode, body: Result<String, askama::Error>) -> AppResult<HttpResponse> {
    let body = body.map_err(|e| AppError::internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// Success: flash `ok` and go to `to`. Refused: flash the reason and go `back`.
/// Invalid: the caller re-renders its form with the field errors.
pub fn after_command<T>(
    session: &Session,
    result: Result<T, CommandError>,
    ok: impl FnOnce(&T) -> (String, String),
    back: &str,
) -> AppResult<Result<HttpResponse, FieldErrors>> {
    match result {
        Ok(v) => {
            let (msg, to) = ok(&v);
            sess::flash(session, FlashKind::Success, &msg);
            Ok(Ok(redirect(&to)))
        }
        Err(CommandError::Invalid(errors)) => Ok(Err(errors)),
        Err(CommandError::Refused(msg)) => {
            sess::flash(session, FlashKind::Error, &msg);
            Ok(Ok(redirect(back)))
        }
        Err(CommandError::Other(e)) => Err(e),
    }
}

/// `after_command` for a one-field form inside another page (nothing to re-render): a field
/// error is flashed like a refusal and the browser goes `back`.
pub fn after_inline_command<T>(
    session: &Session,
    result: Result<T, CommandError>,
    ok: impl FnOnce(&T) -> (String, String),
    back: &str,
    field: &str,
) -> AppResult<HttpResponse> {
    match after_command(session, result, ok, back)? {
        Ok(resp) => Ok(resp),
        Err(errors) => {
            sess::flash(session, FlashKind::Error, errors.get(field));
            Ok(redirect(back))
        }
    }
}

/// `text` escaped for HTML, as askama escapes template values: for the few places that
/// build HTML outside a template (a failure email, the API reference's code spans).
pub fn html_escape(text: &str) -> String {
    match askama::filters::escape(text, askama::filters::Html) {
        Ok(safe) => safe.to_string(),
        Err(never) => match never {},
    }
}
