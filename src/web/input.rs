//! The one policy for the text every door receives: HTML forms (`Form`, the only way a page
//! handler reads a form body), JSON bodies (`api::Json` calls `screen_json`), multipart file
//! names and CSV files (`screen_text`, where they arrive). A field is checked by its name,
//! whatever form or endpoint it belongs to, so a new field is covered the day it is added:
//! - a full card number (`domain::card`) is refused with the field's own message and the
//!   value is emptied, so it is neither stored nor shown back;
//! - a line break is refused in a single-line field (every field but those of
//!   `MULTI_LINE`, the ones rendered as a text area);
//! - secrets typed into a form (passwords, tokens) are never stored as text: they are left
//!   to their own checks.

use std::borrow::Cow;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::forms::FieldErrors;
use crate::domain::card::{contains_card_number, REFUSAL};

/// Fields that hold several lines (rendered as text areas; in JSON, the same names).
pub const MULTI_LINE: &[&str] = &["description", "notes", "csv", "people"];

pub const ONE_LINE: &str = "Keep this to one line: remove the line breaks.";

/// Fields whose value is a secret, checked by their own rules and never stored as typed.
fn is_secret(field: &str) -> bool {
    field.contains("password") || field.ends_with("token") || field == "token"
}

/// The field name a message belongs to: `lines[0][name]` or `lines.0.name` → `name` is
/// where the rules are looked up; the message keeps the full name.
fn rule_name(field: &str) -> &str {
    field
        .rsplit(['.', '['])
        .next()
        .unwrap_or(field)
        .trim_end_matches(']')
}

/// The refusal for `value` in `field`, if any; a card number is removed from `value`.
pub fn screen(field: &str, value: &mut String) -> Option<&'static str> {
    let name = rule_name(field);
    if is_secret(name) {
        return None;
    }
    if contains_card_number(value) {
        value.clear();
        return Some(REFUSAL);
    }
    if !MULTI_LINE.contains(&name) && value.contains(['\r', '\n']) {
        return Some(ONE_LINE);
    }
    None
}

/// Text that arrives whole rather than as fields (a CSV file, an uploaded file's name):
/// the refusal if it holds a card number.
pub fn screen_text(text: &str) -> Option<&'static str> {
    contains_card_number(text).then_some(REFUSAL)
}

/// Checks every string of a JSON body by the name of the member that holds it
/// (`lines[2].name`), emptying card numbers; the refusals, keyed by that path.
pub fn screen_json(value: &mut serde_json::Value) -> FieldErrors {
    fn walk(value: &mut serde_json::Value, path: &str, errors: &mut FieldErrors) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Some(message) = screen(path, s) {
                    errors.add(path.to_string(), message);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, &format!("{path}[{i}]"), errors);
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields.iter_mut() {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(item, &path, errors);
                }
            }
            _ => {}
        }
    }
    let mut errors = FieldErrors::new();
    walk(value, "", &mut errors);
    errors
}

/// A URL-encoded form body, screened field by field. The values come only with the
/// refusals (`into_parts`), so a handler cannot read a form and forget them: it shows them
/// next to their fields with its own validation's messages.
pub struct Form<T> {
    value: T,
    refused: FieldErrors,
}

impl<T> Form<T> {
    /// The form (card numbers emptied) and the fields it refused.
    pub fn into_parts(self) -> (T, FieldErrors) {
        (self.value, self.refused)
    }

    /// The form and `validate`'s result on it, with the refused fields added to its errors.
    pub fn check<V>(
        self,
        validate: impl FnOnce(&mut T) -> Result<V, FieldErrors>,
    ) -> (T, Result<V, FieldErrors>) {
        let (mut value, refused) = self.into_parts();
        let result = validate(&mut value);
        (value, with_refusals(refused, result))
    }
}

/// `result`, failed with `refused` added when any field was refused.
pub fn with_refusals<V>(
    refused: FieldErrors,
    result: Result<V, FieldErrors>,
) -> Result<V, FieldErrors> {
    // The screen's message wins on its field: "looks like a card number" says more than the
    // "enter a name" that validation gives the emptied value.
    match result {
        Ok(v) if refused.is_empty() => Ok(v),
        Ok(_) => Err(refused),
        Err(errors) => {
            let mut all = refused;
            all.merge(errors);
            Err(all)
        }
    }
}

/// `command`'s result, or the refused fields without running it (a command that validates
/// its own input shows them with the form like its own errors).
pub async fn unless_refused<T>(
    refused: FieldErrors,
    command: impl std::future::Future<
        Output = Result<Result<T, crate::error::CommandError>, crate::error::AppError>,
    >,
) -> Result<Result<T, crate::error::CommandError>, crate::error::AppError> {
    if refused.is_empty() {
        command.await
    } else {
        Ok(Err(crate::error::CommandError::Invalid(refused)))
    }
}

/// Screens URL-encoded pairs in place.
pub fn screen_pairs(pairs: &mut [(String, String)]) -> FieldErrors {
    let mut refused = FieldErrors::new();
    for (field, value) in pairs.iter_mut() {
        if let Some(message) = screen(field, value) {
            refused.add(Cow::Owned(field.clone()), message);
        }
    }
    refused
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix's own form extractor: content type, size limit and its 400s.
        let pairs = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        Box::pin(async move {
            let mut pairs = pairs.await?.into_inner();
            let refused = screen_pairs(&mut pairs);
            let encoded =
                serde_urlencoded::to_string(&pairs).map_err(actix_web::error::ErrorBadRequest)?;
            let value = serde_urlencoded::from_str(&encoded).map_err(|e| {
                actix_web::error::ErrorBadRequest(format!("The form could not be read: {e}"))
            })?;
            Ok(Form { value, refused })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_screened_by_its_name() {
        let mut v = "4242 4242 4242 4242".to_string();
        assert_eq!(screen("template_name", &mut v), Some(REFUSAL));
        assert_eq!(v, "");
        let mut v = "two\nlines".to_string();
        assert_eq!(screen("name", &mut v), Some(ONE_LINE));
        assert_eq!(v, "two\nlines", "kept, to be shown back");
        assert_eq!(screen("notes", &mut v), None);
        assert_eq!(screen("lines[3][description]", &mut v), None);
        let mut v = "4242424242424242".to_string();
        assert_eq!(screen("new_password", &mut v), None, "secrets are not text");
        let mut json =
            serde_json::json!({"name": "ok", "items": [{"note": "5555 5555 5555 4444"}]});
        let errors = screen_json(&mut json);
        assert_eq!(errors.get("items[0].note"), REFUSAL);
        assert_eq!(json["items"][0]["note"], "");
    }
}
