//! The person form: what the page holds, and its translation into `PersonChanges`.

use serde::Deserialize;

use super::requests::{PersonChanges, PersonText};
use crate::authz::Role;
use crate::web::forms::FieldErrors;

/// The label of a stored role, or "Unknown".
pub fn role_label(key: &str) -> &'static str {
    Role::label_of(key)
}

/// The person form, as typed (Admins only).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub role: String,
    /// Checkbox: present ("on") when the login is enabled.
    #[serde(default)]
    pub is_active: Option<String>,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub manager_email: String,
    #[serde(default)]
    pub employment_status: String,
    #[serde(default)]
    pub start_date: String,
    #[serde(default)]
    pub end_date: String,
    /// A new password (optional: a login without one is emailed an invitation).
    #[serde(default)]
    pub password: String,
}

impl PersonForm {
    /// Normalises what is shown back (trimmed name, lower-case email and username, card
    /// numbers emptied) and translates the form into the request.
    pub fn validate(&mut self) -> Result<PersonChanges, FieldErrors> {
        self.full_name = self.full_name.trim().to_string();
        self.email = self.email.trim().to_lowercase();
        self.username = self.username.trim().to_lowercase();
        let mut e = FieldErrors::new();
        crate::web::forms::refuse_card_numbers(
            &mut e,
            vec![
                ("full_name", &mut self.full_name),
                ("department", &mut self.department),
                ("job_title", &mut self.job_title),
            ],
        );
        if !e.is_empty() {
            return Err(e);
        }
        PersonChanges::parse(&PersonText {
            full_name: &self.full_name,
            email: &self.email,
            username: &self.username,
            role: &self.role,
            is_active: self.is_active.is_some(),
            department: &self.department,
            job_title: &self.job_title,
            manager_email: &self.manager_email,
            employment_status: &self.employment_status,
            start_date: &self.start_date,
            end_date: &self.end_date,
            password: &self.password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PersonForm {
        PersonForm {
            full_name: "Ann Lee".into(),
            email: "Ann@Example.com".into(),
            role: "user".into(),
            employment_status: "active".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_user_needs_no_username() {
        let v = form().validate().expect("valid");
        assert_eq!(v.email.as_str(), "ann@example.com");
        assert!(v.username.is_none());
    }

    #[test]
    fn login_roles_need_a_username_and_dates_must_be_ordered() {
        let mut f = form();
        f.role = "product_admin".into();
        f.start_date = "2026-05-01".into();
        f.end_date = "2026-04-01".into();
        let e = f.validate().unwrap_err();
        assert!(!e.get("username").is_empty());
        assert!(!e.get("end_date").is_empty());
        let mut f = form();
        f.email = "nope".into();
        f.start_date = "1 May".into();
        let e = f.validate().unwrap_err();
        assert!(!e.get("email").is_empty() && !e.get("start_date").is_empty());
    }
}
