//! Field errors: what was wrong with which field of a request, in the domain's own field
//! names. No HTTP here: the pages show each message next to its field (`web::forms`), the
//! API lists them in a problem document (`api::problem`), each door mapping the name to its
//! own where they differ.

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
