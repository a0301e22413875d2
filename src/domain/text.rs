//! Text a person typed, checked once, in the type: `Line<MAX>` (one line) and
//! `Paragraph<MAX>` (line breaks allowed) are trimmed, at most `MAX` characters and never
//! hold a full card number. A request made of these types cannot carry a card number or an
//! over-long value into a command, whichever door built it (pages, API, CSV imports).
//!
//! Each door still screens its raw input first (`web::input`), so the value a person typed
//! is emptied before it is shown back; these types are the guarantee under every door.

use super::card::{contains_card_number, REFUSAL};

/// Checked text; see the module docs. `MULTI` allows line breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize, const MULTI: bool>(String);

/// One line of at most `MAX` characters.
pub type Line<const MAX: usize> = Text<MAX, false>;
/// Free text of at most `MAX` characters; line breaks allowed.
pub type Paragraph<const MAX: usize> = Text<MAX, true>;

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    Missing,
    TooLong { max: usize },
    CardNumber,
    LineBreak,
}

impl TextError {
    /// The message for a field people know as `label` ("The note").
    pub fn message(self, label: &str) -> String {
        match self {
            TextError::Missing => format!("{label} is required."),
            TextError::TooLong { max } => {
                format!("{label} is too long (at most {max} characters).")
            }
            TextError::CardNumber => REFUSAL.to_string(),
            TextError::LineBreak => "Keep this to one line: remove the line breaks.".to_string(),
        }
    }
}

impl<const MAX: usize, const MULTI: bool> Text<MAX, MULTI> {
    /// Trims and checks `value`; empty is allowed (see `required`).
    pub fn parse(value: &str) -> Result<Self, TextError> {
        let value = value.trim();
        if contains_card_number(value) {
            return Err(TextError::CardNumber);
        }
        if !MULTI && value.contains(['\r', '\n']) {
            return Err(TextError::LineBreak);
        }
        if value.chars().count() > MAX {
            return Err(TextError::TooLong { max: MAX });
        }
        Ok(Self(value.to_string()))
    }

    /// As `parse`, and empty is refused.
    pub fn required(value: &str) -> Result<Self, TextError> {
        let t = Self::parse(value)?;
        if t.0.is_empty() {
            Err(TextError::Missing)
        } else {
            Ok(t)
        }
    }

    /// `None` when blank.
    pub fn optional(value: &str) -> Result<Option<Self>, TextError> {
        Self::parse(value).map(|t| (!t.0.is_empty()).then_some(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize, const MULTI: bool> AsRef<str> for Text<MAX, MULTI> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize, const MULTI: bool> std::fmt::Display for Text<MAX, MULTI> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize, const MULTI: bool> std::ops::Deref for Text<MAX, MULTI> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de, const MAX: usize, const MULTI: bool> serde::Deserialize<'de> for Text<MAX, MULTI> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message("The text")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_trimmed_bounded_and_never_a_card_number() {
        assert_eq!(Line::<5>::parse("  abc ").unwrap().as_str(), "abc");
        assert_eq!(
            Line::<5>::parse("abcdef"),
            Err(TextError::TooLong { max: 5 })
        );
        assert_eq!(Line::<5>::required(" "), Err(TextError::Missing));
        assert_eq!(Line::<5>::optional(" "), Ok(None));
        assert_eq!(Line::<50>::parse("a\nb"), Err(TextError::LineBreak));
        assert!(Paragraph::<50>::parse("a\nb").is_ok());
        for shape in crate::domain::card::SHAPES {
            assert_eq!(
                Paragraph::<200>::parse(&format!("paid with {shape}")),
                Err(TextError::CardNumber),
                "{shape}"
            );
        }
    }

    #[test]
    fn the_length_counts_characters_not_bytes() {
        assert!(Line::<3>::parse("äöü").is_ok());
    }
}
