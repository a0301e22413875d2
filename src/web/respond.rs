//! Small helpers every page handler uses: render a template, redirect, run a command as
//! the actor, and turn a command's outcome into a flash message or a re-rendered form.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

use crate::authz::Actor;
use crate::db::PgPool;
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

/// Runs `command` on `request` as `actor` (in `db::run`), unless the form had refused fields
/// or the request did not build: then those field errors are the outcome, as the command's
/// `Invalid`, and nothing runs. The refusals come first, as with `input::unless_refused`.
pub async fn run_command<R, T>(
    pool: &PgPool,
    actor: &Actor,
    refused: FieldErrors,
    request: Result<R, FieldErrors>,
    command: impl FnOnce(&mut diesel::PgConnection, &Actor, R) -> Result<T, CommandError>
        + Send
        + 'static,
) -> AppResult<Result<T, CommandError>>
where
    R: Send + 'static,
    T: Send + 'static,
{
    if !refused.is_empty() {
        return Ok(Err(CommandError::Invalid(refused)));
    }
    let request = match request {
        Ok(r) => r,
        Err(errors) => return Ok(Err(CommandError::Invalid(errors))),
    };
    let actor = actor.clone();
    crate::db::run(pool, move |conn| Ok(command(conn, &actor, request))).await
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

/// A command's failure on a page that cannot show it in place: a refusal is flashed and the
/// browser goes `back` (so does a field error, which such a page's own checks precede);
/// anything else (a 404) is returned as it is.
pub fn failure_back(session: &Session, e: CommandError, back: &str) -> AppResult<HttpResponse> {
    match e {
        CommandError::Refused(m) => {
            sess::flash(session, FlashKind::Error, &m);
            Ok(redirect(back))
        }
        CommandError::Invalid(_) => Ok(redirect(back)),
        CommandError::Other(e) => Err(e),
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
