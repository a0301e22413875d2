//! What the inventory's commands take: requests made of domain types (ids, enums, checked
//! text), whichever door built them. The page forms (`model`) and the CSV import translate
//! their strings into these; the rules (required fields, lengths, web addresses, seat
//! numbers, card numbers) live here once, with the messages people read.

use crate::domain::card::{contains_card_number, REFUSAL};
use crate::domain::text::{Line, Paragraph, Text, TextError};
use crate::domain::{FieldErrors, InventoryStatus, LicenseModel, PersonId, ProductId, ServiceId};

/// A service's details, checked: a new service, or the new values of one.
#[derive(Debug, Clone)]
pub struct ServiceChanges {
    pub name: Line<120>,
    pub vendor: Line<120>,
    pub category: Line<60>,
    /// Empty, or a web address starting with `https://` or `http://`.
    pub website: Line<300>,
    pub description: Paragraph<4000>,
}

/// A service's details as typed (any door's strings).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceInput<'a> {
    pub name: &'a str,
    pub vendor: &'a str,
    pub category: &'a str,
    pub website: &'a str,
    pub description: &'a str,
}

impl ServiceChanges {
    /// Checks every field; the errors are keyed `name`, `vendor`, `category`, `website`,
    /// `description`. A card number anywhere is reported alone (its fields only).
    pub fn new(input: ServiceInput<'_>) -> Result<Self, FieldErrors> {
        let mut c = Check::default();
        let name = c.text(
            "name",
            input.name,
            "The name",
            Some("Enter the service's name."),
        );
        let vendor = c.text("vendor", input.vendor, "The vendor", None);
        let category = c.text("category", input.category, "The category", None);
        let description = c.text("description", input.description, "The description", None);
        let website = input.website.trim();
        if !(website.is_empty()
            || website.starts_with("https://")
            || website.starts_with("http://"))
        {
            c.error("website", "Enter a web address starting with https://");
        }
        let website = c.text("website", website, "The web address", None);
        c.finish()?;
        Ok(Self {
            name,
            vendor,
            category,
            website,
            description,
        })
    }
}

/// A product's details, checked (its service is chosen by the request that carries them).
#[derive(Debug, Clone)]
pub struct ProductChanges {
    pub name: Line<120>,
    pub description: Paragraph<4000>,
    pub license_model: LicenseModel,
    /// `None` when no seat count is recorded.
    pub seats_purchased: Option<i32>,
    /// Grants beyond `seats_purchased` are refused, not asked (it needs a seat count).
    pub refuse_over_seats: bool,
}

/// A product's details as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProductInput<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// The stored word (`per_seat`, `flat`, `usage`).
    pub license_model: &'a str,
    /// A whole number, or blank.
    pub seats_purchased: &'a str,
    /// Whether going over the purchased seats is refused.
    pub refuse_over_seats: bool,
}

impl ProductChanges {
    /// Checks every field; the errors are keyed `name`, `description`, `license_model`,
    /// `seats_purchased`, `refuse_over_seats`. A card number anywhere is reported alone (its fields only).
    pub fn new(input: ProductInput<'_>) -> Result<Self, FieldErrors> {
        let mut c = Check::default();
        let name = c.text(
            "name",
            input.name,
            "The name",
            Some("Enter the product's name."),
        );
        let description = c.text("description", input.description, "The description", None);
        let seats = input.seats_purchased.trim();
        if contains_card_number(seats) {
            c.card("seats_purchased");
        }
        let license_model = LicenseModel::parse(input.license_model).unwrap_or_else(|| {
            c.error("license_model", "Choose a license model.");
            LicenseModel::PerSeat // not used: the request is refused
        });
        let seats_purchased = if seats.is_empty() {
            None
        } else {
            match seats.parse::<i32>() {
                Ok(n) if (0..=10_000_000).contains(&n) => Some(n),
                _ => {
                    c.error(
                        "seats_purchased",
                        "Enter a whole number of seats, or leave it empty.",
                    );
                    None
                }
            }
        };
        if input.refuse_over_seats && seats.is_empty() {
            c.error(
                "refuse_over_seats",
                "Enter the seats purchased to refuse going over them, or untick this.",
            );
        }
        c.finish()?;
        Ok(Self {
            name,
            description,
            license_model,
            seats_purchased,
            refuse_over_seats: input.refuse_over_seats,
        })
    }
}

/// Field errors gathered while checking a request. Card numbers are kept apart: when any
/// field holds one, only those fields are reported (the number is the thing to fix first).
#[derive(Default)]
struct Check {
    cards: FieldErrors,
    errors: FieldErrors,
}

impl Check {
    fn error(&mut self, field: &'static str, message: &str) {
        self.errors.add(field, message);
    }

    fn card(&mut self, field: &'static str) {
        self.cards.add(field, REFUSAL);
    }

    /// `value` checked as text; `missing` is the message when it is required and blank.
    /// On an error the field is empty (the request is not built anyway).
    fn text<const MAX: usize, const MULTI: bool>(
        &mut self,
        field: &'static str,
        value: &str,
        label: &str,
        missing: Option<&str>,
    ) -> Text<MAX, MULTI> {
        let parsed = match missing {
            Some(_) => Text::required(value),
            None => Text::parse(value),
        };
        match parsed {
            Ok(text) => return text,
            Err(TextError::CardNumber) => self.card(field),
            Err(TextError::Missing) => self.error(field, missing.unwrap_or_default()),
            Err(e) => self.error(field, &e.message(label)),
        }
        Text::default()
    }

    fn finish(self) -> Result<(), FieldErrors> {
        if self.cards.is_empty() {
            self.errors.into_result()
        } else {
            Err(self.cards)
        }
    }
}

/// A service or a product: what archive, restore, delete and the administrator commands
/// act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Service(ServiceId),
    Product(ProductId),
}

/// A service's new details.
#[derive(Debug, Clone)]
pub struct ServiceUpdate {
    pub id: ServiceId,
    pub changes: ServiceChanges,
}

/// A new product of a service.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub service_id: ServiceId,
    pub changes: ProductChanges,
}

/// A product's new details.
#[derive(Debug, Clone)]
pub struct ProductUpdate {
    pub id: ProductId,
    pub changes: ProductChanges,
}

/// What happens to a service or product from its page's lifecycle buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Set its status (archive: `Archived`, restore: `Active`).
    SetStatus(InventoryStatus),
    /// Delete it (a service with its products), unless it has history.
    Delete,
}

impl Lifecycle {
    /// The word in the page's path (`archive`, `restore`, `delete`).
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "archive" => Some(Self::SetStatus(InventoryStatus::Archived)),
            "restore" => Some(Self::SetStatus(InventoryStatus::Active)),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// Archive, restore or delete `item`.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleChange {
    pub item: Item,
    pub change: Lifecycle,
}

/// Add or remove an administrator of a service (a Service Administrator) or of a product (a
/// Product Administrator).
#[derive(Debug, Clone, Copy)]
pub struct AdminChange {
    pub item: Item,
    /// `None` when the form chose nobody (refused with a message once authorized).
    pub person: Option<PersonId>,
    pub add: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_rules() {
        let e = ServiceChanges::new(ServiceInput {
            name: "  ",
            website: "ftp://x",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.get("name"), "Enter the service's name.");
        assert_eq!(
            e.get("website"),
            "Enter a web address starting with https://"
        );
        let ok = ServiceChanges::new(ServiceInput {
            name: " Slack ",
            website: "https://slack.com",
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.name.as_str(), "Slack");
        let long = "x".repeat(61);
        let e = ServiceChanges::new(ServiceInput {
            name: "A",
            category: &long,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.get("category"),
            "The category is too long (at most 60 characters)."
        );
    }

    #[test]
    fn a_card_number_is_reported_alone() {
        let e = ServiceChanges::new(ServiceInput {
            name: "",
            vendor: "4111 1111 1111 1111",
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.get("vendor"), crate::domain::card::REFUSAL);
        assert_eq!(e.get("name"), "");
    }

    #[test]
    fn product_rules() {
        let mut input = ProductInput {
            name: "Gmail",
            license_model: "per_seat",
            seats_purchased: "-3",
            ..Default::default()
        };
        assert!(!ProductChanges::new(input)
            .unwrap_err()
            .get("seats_purchased")
            .is_empty());
        input.seats_purchased = " 25 ";
        assert_eq!(
            ProductChanges::new(input).unwrap().seats_purchased,
            Some(25)
        );
        input.refuse_over_seats = true;
        assert!(ProductChanges::new(input).unwrap().refuse_over_seats);
        input.seats_purchased = "";
        assert!(ProductChanges::new(input)
            .unwrap_err()
            .get("refuse_over_seats")
            .contains("Enter the seats purchased"));
        input.refuse_over_seats = false;
        input.license_model = "free";
        assert_eq!(
            ProductChanges::new(input).unwrap_err().get("license_model"),
            "Choose a license model."
        );
    }

    #[test]
    fn lifecycle_words() {
        assert_eq!(
            Lifecycle::parse("archive"),
            Some(Lifecycle::SetStatus(InventoryStatus::Archived))
        );
        assert_eq!(Lifecycle::parse("purge"), None);
    }
}
