//! Card data: PortalOps only ever holds a card's brand, last four digits and expiry. A full
//! card number (13–19 digits passing the Luhn check, with or without spaces and dashes)
//! typed into any field is refused before it reaches the database, the log or the audit log.

/// True when `text` contains something that is a full card number.
pub fn contains_card_number(text: &str) -> bool {
    // Runs of digits, allowing single spaces or dashes between them.
    let mut digits: Vec<u8> = Vec::new();
    let mut last_was_sep = false;
    let check = |d: &[u8]| (13..=19).contains(&d.len()) && luhn_valid(d);
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            digits.push(d as u8);
            last_was_sep = false;
        } else if (c == ' ' || c == '-') && !digits.is_empty() && !last_was_sep {
            last_was_sep = true;
        } else {
            if check(&digits) {
                return true;
            }
            digits.clear();
            last_was_sep = false;
        }
    }
    check(&digits)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_card_numbers_are_found_in_any_shape() {
        for text in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "card: 5555555555554444 (old)",
            "378282246310005",
            "ref 4000056655665556x",
        ] {
            assert!(contains_card_number(text), "{text}");
        }
        for text in [
            "4242",
            "4242424242424241",
            "INV-2026-000123",
            "+1 555 0100 2200",
            "2026-03-01",
            "",
        ] {
            assert!(!contains_card_number(text), "{text}");
        }
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
