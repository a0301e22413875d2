//! The inventory's page forms, as typed, and their translation into the commands' requests
//! (`requests`), where the rules live.

use serde::Deserialize;

use super::queries::{Product, Service};
use super::requests::{ProductChanges, ProductInput, ServiceChanges, ServiceInput};
use crate::web::forms::FieldErrors;

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
    /// The form showing a service's details.
    pub fn of(s: &Service) -> Self {
        Self {
            name: s.name.clone(),
            vendor: s.vendor.clone(),
            category: s.category.clone(),
            website: s.website.clone(),
            description: s.description.clone(),
        }
    }

    /// Trims the values (the form is shown again as it was kept) and checks them.
    pub fn validate(&mut self) -> Result<ServiceChanges, FieldErrors> {
        for v in [
            &mut self.name,
            &mut self.vendor,
            &mut self.category,
            &mut self.website,
            &mut self.description,
        ] {
            *v = v.trim().to_string();
        }
        ServiceChanges::try_from(&*self)
    }
}

impl TryFrom<&ServiceForm> for ServiceChanges {
    type Error = FieldErrors;
    fn try_from(f: &ServiceForm) -> Result<Self, FieldErrors> {
        ServiceChanges::new(ServiceInput {
            name: &f.name,
            vendor: &f.vendor,
            category: &f.category,
            website: &f.website,
            description: &f.description,
        })
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
    /// The checkbox: present (any value) when ticked.
    #[serde(default)]
    pub refuse_over_seats: Option<String>,
}

impl ProductForm {
    /// The form showing a product's details.
    pub fn of(p: &Product) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            license_model: p.license_model.as_str().into(),
            seats_purchased: p.seats_purchased.map(|n| n.to_string()).unwrap_or_default(),
            refuse_over_seats: p.refuse_over_seats.then(|| "1".to_string()),
        }
    }

    pub fn refuses_over_seats(&self) -> bool {
        self.refuse_over_seats.is_some()
    }

    /// Trims the values (the form is shown again as it was kept) and checks them.
    pub fn validate(&mut self) -> Result<ProductChanges, FieldErrors> {
        for v in [
            &mut self.name,
            &mut self.description,
            &mut self.seats_purchased,
        ] {
            *v = v.trim().to_string();
        }
        ProductChanges::try_from(&*self)
    }
}

impl TryFrom<&ProductForm> for ProductChanges {
    type Error = FieldErrors;
    fn try_from(f: &ProductForm) -> Result<Self, FieldErrors> {
        ProductChanges::new(ProductInput {
            name: &f.name,
            description: &f.description,
            license_model: &f.license_model,
            seats_purchased: &f.seats_purchased,
            refuse_over_seats: f.refuses_over_seats(),
        })
    }
}
