//! Inventory forms and their validation (typed values out of strings from the page).

use serde::Deserialize;

use crate::web::forms::FieldErrors;

pub const STATUSES: &[(&str, &str)] = &[("active", "Active"), ("archived", "Archived")];

pub const LICENSE_MODELS: &[(&str, &str)] = &[
    ("per_seat", "Per seat"),
    ("flat", "Flat fee"),
    ("usage", "Usage-based"),
];

pub fn license_label(key: &str) -> &'static str {
    LICENSE_MODELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

fn check_len(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize, label: &str) {
    if value.chars().count() > max {
        errors.add(
            field,
            format!("{label} is too long (at most {max} characters)."),
        );
    }
}

/// The service form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub description: String,
}

impl ServiceForm {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        for v in [
            &mut self.name,
            &mut self.vendor,
            &mut self.category,
            &mut self.website,
            &mut self.description,
        ] {
            *v = v.trim().to_string();
        }
        let mut e = FieldErrors::new();
        crate::web::forms::refuse_card_numbers(
            &mut e,
            vec![
                ("name", &mut self.name),
                ("vendor", &mut self.vendor),
                ("category", &mut self.category),
                ("website", &mut self.website),
                ("description", &mut self.description),
            ],
        );
        if !e.is_empty() {
            return Err(e);
        }
        if self.name.is_empty() {
            e.add("name", "Enter the service's name.");
        }
        check_len(&mut e, "name", &self.name, 120, "The name");
        check_len(&mut e, "vendor", &self.vendor, 120, "The vendor");
        check_len(&mut e, "category", &self.category, 60, "The category");
        check_len(
            &mut e,
            "description",
            &self.description,
            4000,
            "The description",
        );
        if !(self.website.is_empty()
            || self.website.starts_with("https://")
            || self.website.starts_with("http://"))
        {
            e.add("website", "Enter a web address starting with https://");
        }
        check_len(&mut e, "website", &self.website, 300, "The web address");
        e.into_result()
    }
}

/// The product form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub license_model: String,
    #[serde(default)]
    pub seats_purchased: String,
}

/// A validated product.
pub struct ProductValues {
    pub name: String,
    pub description: String,
    pub license_model: String,
    pub seats_purchased: Option<i32>,
}

impl ProductForm {
    pub fn validate(&mut self) -> Result<ProductValues, FieldErrors> {
        self.name = self.name.trim().to_string();
        self.description = self.description.trim().to_string();
        self.seats_purchased = self.seats_purchased.trim().to_string();
        let mut e = FieldErrors::new();
        crate::web::forms::refuse_card_numbers(
            &mut e,
            vec![
                ("name", &mut self.name),
                ("description", &mut self.description),
                ("seats_purchased", &mut self.seats_purchased),
            ],
        );
        if !e.is_empty() {
            return Err(e);
        }
        if self.name.is_empty() {
            e.add("name", "Enter the product's name.");
        }
        check_len(&mut e, "name", &self.name, 120, "The name");
        check_len(
            &mut e,
            "description",
            &self.description,
            4000,
            "The description",
        );
        if !LICENSE_MODELS.iter().any(|(k, _)| *k == self.license_model) {
            e.add("license_model", "Choose a license model.");
        }
        let seats = if self.seats_purchased.is_empty() {
            None
        } else {
            match self.seats_purchased.parse::<i32>() {
                Ok(n) if (0..=10_000_000).contains(&n) => Some(n),
                _ => {
                    e.add(
                        "seats_purchased",
                        "Enter a whole number of seats, or leave it empty.",
                    );
                    None
                }
            }
        };
        e.into_result()?;
        Ok(ProductValues {
            name: self.name.clone(),
            description: self.description.clone(),
            license_model: self.license_model.clone(),
            seats_purchased: seats,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_validation() {
        let mut f = ServiceForm {
            name: "  ".into(),
            website: "ftp://x".into(),
            ..Default::default()
        };
        let e = f.validate().unwrap_err();
        assert!(!e.get("name").is_empty());
        assert!(!e.get("website").is_empty());
        let mut ok = ServiceForm {
            name: " Slack ".into(),
            website: "https://slack.com".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        assert_eq!(ok.name, "Slack");
    }

    #[test]
    fn product_validation() {
        let mut f = ProductForm {
            name: "Gmail".into(),
            license_model: "per_seat".into(),
            seats_purchased: "-3".into(),
            ..Default::default()
        };
        assert!(!f
            .validate()
            .err()
            .unwrap()
            .get("seats_purchased")
            .is_empty());
        f.seats_purchased = "25".into();
        assert_eq!(f.validate().ok().unwrap().seats_purchased, Some(25));
        f.license_model = "free".into();
        assert!(f.validate().is_err());
    }
}
