//! Card data: PortalOps only ever holds a card's brand, last four digits and expiry. A full
//! card number is refused before it reaches the database, the log or the audit log.
//!
//! What counts as one (PCI DSS 3.3–3.5, SECURITY.md row 26): any 13–19 digits in a row
//! that pass the Luhn check, anywhere in the text — a window slid over every run of
//! digits, so a number with a CVV or an expiry typed straight after it is still found —
//! after reading every Unicode decimal digit as its value (full-width `４２４２`, Arabic-Indic,
//! Devanagari, mathematical bold …) and skipping the separators people type between groups
//! (spaces of every kind, NBSP and thin spaces included, dashes, dots, slashes,
//! underscores; up to three in a row).
//!
//! An RFC 9562 UUID (`8-4-4-4-12` hex digits with its version and variant, as identity
//! providers write object ids) is not read as digits: its decimal stretches are random, and
//! a few in a hundred would pass as a card number. No card number is written in that shape,
//! and a digit string merely grouped like it (without the version and variant) still is.
//!
//! Every door runs its text through this one detector: the form and JSON extractors
//! (`web::forms::Form`, `api::Json`) check every field, upload names and CSV files are
//! checked as they arrive, and text that must be recorded even so (a username typed at a
//! failed login) goes through `mask` first.

/// The value of `c` when it is a decimal digit of any script (Unicode category Nd).
fn digit_value(c: char) -> Option<u8> {
    // The first code point (zero) of each block of ten decimal digits in Unicode 15.
    const ZEROS: &[u32] = &[
        0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
        0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
        0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
        0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
        0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0,
        0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
    ];
    let cp = c as u32;
    if cp < 0x80 {
        return c.is_ascii_digit().then(|| (cp - 0x30) as u8);
    }
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&cp))
        .map(|&zero| (cp - zero) as u8)
}

/// A character people type between the groups of a card number.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '/' | '_' | '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{30FB}'
                    | '\u{FF0D}'
                    | '\u{FF0E}'
                    | '\u{FF0F}'
                    | '\u{00B7}'
                    | '\u{200B}'
                    | '\u{2060}'
                    | '\u{FEFF}'
        )
}

/// Byte ranges of `text` holding a UUID (`xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx`: hex
/// digits, the version M 1–8, the variant N 8, 9, a or b; not inside a longer run of hex
/// digits).
fn uuid_spans(text: &str) -> Vec<(usize, usize)> {
    const SHAPE: &[u8] = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + SHAPE.len() <= b.len() {
        let fits = SHAPE
            .iter()
            .zip(&b[i..i + SHAPE.len()])
            .all(|(s, c)| match s {
                b'-' => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
            && (b'1'..=b'8').contains(&b[i + 14])
            && matches!(b[i + 19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B');
        let alone = (i == 0 || !b[i - 1].is_ascii_hexdigit())
            && b.get(i + SHAPE.len())
                .is_none_or(|c| !c.is_ascii_hexdigit());
        if fits && alone {
            out.push((i, i + SHAPE.len()));
            i += SHAPE.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Byte ranges of `text` holding a full card number (each the digits of one Luhn-valid
/// window, from its first digit to its last).
fn card_spans(text: &str) -> Vec<(usize, usize)> {
    let uuids = uuid_spans(text);
    // The digits of the current run (value, byte offset, byte length), joined across at
    // most three separators in a row.
    let mut run: Vec<(u8, usize, usize)> = Vec::new();
    let mut gap = 0;
    let mut spans = Vec::new();
    let flush = |run: &mut Vec<(u8, usize, usize)>, spans: &mut Vec<(usize, usize)>| {
        if run.len() >= 13 {
            let digits: Vec<u8> = run.iter().map(|d| d.0).collect();
            for start in 0..=digits.len() - 13 {
                for len in 13..=19.min(digits.len() - start) {
                    if luhn_valid(&digits[start..start + len]) {
                        let (_, from, _) = run[start];
                        let (_, at, width) = run[start + len - 1];
                        spans.push((from, at + width));
                    }
                }
            }
        }
        run.clear();
    };
    for (i, c) in text.char_indices() {
        if uuids.iter().any(|(from, to)| (*from..*to).contains(&i)) {
            flush(&mut run, &mut spans);
            gap = 0;
            continue;
        }
        if let Some(d) = digit_value(c) {
            run.push((d, i, c.len_utf8()));
            gap = 0;
        } else if is_separator(c) && !run.is_empty() && gap < 3 {
            gap += 1;
        } else {
            flush(&mut run, &mut spans);
            gap = 0;
        }
    }
    flush(&mut run, &mut spans);
    spans
}

/// True when `text` contains something that is a full card number.
pub fn contains_card_number(text: &str) -> bool {
    // Fewer than 13 digits of any script cannot hold one (the common case, checked fast).
    text.chars()
        .filter(|c| digit_value(*c).is_some())
        .nth(12)
        .is_some()
        && !card_spans(text).is_empty()
}

/// `text` with every full card number in it replaced by `[card number removed]`, for text
/// that is recorded even when it cannot be refused (a failed login's username).
pub fn mask(text: &str) -> std::borrow::Cow<'_, str> {
    let mut spans = card_spans(text);
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (from, to) in spans {
        if to <= at {
            continue;
        }
        if from >= at {
            out.push_str(&text[at..from]);
            out.push_str(MASK);
        }
        at = to;
    }
    out.push_str(&text[at..]);
    std::borrow::Cow::Owned(out)
}

/// What `mask` writes in place of a card number.
pub const MASK: &str = "[card number removed]";

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

pub const REFUSAL: &str = "This looks like a full card number. PortalOps stores only the last four digits and the expiry: remove it.";

/// "Visa •••• 4242, exp 03/2027".
pub fn masked(
    brand: Option<&str>,
    last4: Option<&str>,
    month: Option<i16>,
    year: Option<i16>,
) -> String {
    match (last4, month, year) {
        (Some(l), Some(m), Some(y)) => {
            let brand = brand.filter(|b| !b.is_empty()).unwrap_or("Card");
            format!("{brand} •••• {l}, exp {m:02}/{y}")
        }
        _ => String::new(),
    }
}

/// Card shapes people type (and outside testing used): the unit tests below and the
/// property test (tests/it/cards.rs) send these through every door.
pub const SHAPES: &[&str] = &[
    "4242424242424242",
    "4242 4242 4242 4242",
    "4242-4242-4242-4242",
    "4242.4242.4242.4242",
    "4242/4242/4242/4242",
    "4242\u{a0}4242\u{a0}4242\u{a0}4242",
    "4242\u{202f}4242\u{2009}4242 4242",
    "４２４２４２４２４２４２４２４２",
    "card 5555555555554444 123",
    "55555555555544441226",
    "4242424242424242 12/27 cvv 123",
    "378282246310005",
    "3782 822463 10005",
    "ref 4000056655665556x",
    "x4000056655665556",
    "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
    "4242 - 4242 - 4242 - 4242",
    "𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_not_card_numbers_but_a_card_beside_one_is() {
        // Digit stretches of 16 across the hyphens, Luhn-valid windows among them.
        for id in [
            "41111111-1111-4111-8111-111111111111",
            "12345678-9012-4456-9890-123456789012",
            "0A21F0F2-8D2A-4F8E-BF98-736334512345",
        ] {
            assert!(!contains_card_number(id), "{id}");
            assert!(!contains_card_number(&format!("ext {id} end")), "{id}");
        }
        assert!(contains_card_number(
            "12345678-9012-4456-9890-123456789012 4111 1111 1111 1111"
        ));
        // Grouped like a UUID but without its version and variant: digits.
        assert!(contains_card_number("41111111-1111-1111-1111-000000000000"));
        // Not a UUID's shape (a hex digit more): read as digits.
        assert!(contains_card_number(
            "4111111111111111-1111-1111-1111-111111111111"
        ));
    }

    #[test]
    fn full_card_numbers_are_found_in_any_shape() {
        for text in SHAPES {
            assert!(contains_card_number(text), "{text}");
            let masked = mask(text);
            assert!(masked.contains(MASK), "{text} → {masked}");
            assert!(!contains_card_number(&masked), "{masked}");
        }
        for text in [
            "4242",
            "424242424242",
            "INV-2026-000123",
            "+1 555 0100 2200",
            "2026-03-01",
            "Renewed 2026-03-01, next on 2027-03-01",
            "phone +44 20 7946 0958, fax +44 20 7946 0959",
            "",
            "ＩＮＶ－２０２６",
        ] {
            assert!(!contains_card_number(text), "{text}");
            assert_eq!(mask(text), text);
        }
    }

    #[test]
    fn masking_keeps_the_text_around_the_number() {
        assert_eq!(mask("ada 4242 4242 4242 4242 x"), format!("ada {MASK} x"));
        assert_eq!(mask("4242424242424242"), MASK);
    }

    #[test]
    fn cards_are_shown_masked() {
        assert_eq!(
            masked(Some("Visa"), Some("4242"), Some(3), Some(2027)),
            "Visa •••• 4242, exp 03/2027"
        );
        assert_eq!(
            masked(None, Some("0005"), Some(11), Some(2030)),
            "Card •••• 0005, exp 11/2030"
        );
    }
}
