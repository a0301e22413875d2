//! The person form and its validation.

use chrono::NaiveDate;
use serde::Deserialize;

use super::commands::{valid_email, valid_username};
use crate::authz::Role;
use crate::web::forms::FieldErrors;

pub const EMPLOYMENT_STATUSES: &[(&str, &str)] = &[
    ("active", "Active"),
    ("onboarding", "Onboarding"),
    ("offboarding", "Offboarding"),
    ("offboarded", "Offboarded"),
];

pub const ROLES: &[(&str, &str)] = &[
    ("user", "User (no login)"),
    ("product_admin", "Product Administrator"),
    ("service_admin", "Service Administrator"),
    ("admin", "Admin"),
];

pub fn role_label(key: &str) -> &'static str {
    Role::parse(key).map(Role::label).unwrap_or("Unknown")
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
    /// A new password (required when a login user has none yet).
    #[serde(default)]
    pub password: String,
}

/// A validated person (the manager still to be resolved by email).
#[derive(Debug, Clone)]
pub struct PersonValues {
    pub full_name: String,
    pub email: String,
    pub username: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub manager_email: Option<String>,
    pub employment_status: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub password: Option<String>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn date(e: &mut FieldErrors, field: &'static str, s: &str) -> Option<NaiveDate> {
    if s.trim().is_empty() {
        return None;
    }
    crate::web::forms::parse_date(s)
        .map_err(|m| e.add(field, m))
        .ok()
}

impl PersonForm {
    pub fn validate(&mut self) -> Result<PersonValues, FieldErrors> {
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
        if self.full_name.is_empty() || self.full_name.chars().count() > 200 {
            e.add("full_name", "Enter a name of up to 200 characters.");
        }
        if !valid_email(&self.email) {
            e.add("email", "Enter an email address like name@example.com.");
        }
        let role = Role::parse(&self.role);
        if role.is_none() {
            e.add("role", "Choose a role.");
        }
        let role = role.unwrap_or(Role::User);
        let username = opt(&self.username);
        match &username {
            Some(u) if !valid_username(u) => e.add(
                "username",
                "Use 3 to 64 lower-case letters, digits, dots, dashes or underscores.",
            ),
            None if role.can_log_in() => {
                e.add("username", "People who can log in need a username.")
            }
            _ => {}
        }
        if !EMPLOYMENT_STATUSES
            .iter()
            .any(|(k, _)| *k == self.employment_status)
        {
            e.add("employment_status", "Choose an employment status.");
        }
        for (field, value, max) in [
            ("department", &self.department, 100),
            ("job_title", &self.job_title, 100),
        ] {
            if value.trim().chars().count() > max {
                e.add(field, format!("At most {max} characters."));
            }
        }
        let manager_email = opt(&self.manager_email).map(|m| m.to_lowercase());
        if manager_email.as_deref().is_some_and(|m| !valid_email(m)) {
            e.add(
                "manager_email",
                "Enter the manager's email address, or leave it empty.",
            );
        }
        let start_date = date(&mut e, "start_date", &self.start_date);
        let end_date = date(&mut e, "end_date", &self.end_date);
        if let (Some(s), Some(en)) = (start_date, end_date) {
            if en < s {
                e.add("end_date", "The end date is before the start date.");
            }
        }
        let password = (!self.password.is_empty()).then(|| self.password.clone());
        if let Some(p) = &password {
            if let Err(m) =
                crate::auth::password::check_policy(p, username.as_deref(), Some(&self.full_name))
            {
                e.add("password", m);
            }
        }
        e.into_result()?;
        Ok(PersonValues {
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            username,
            role,
            is_active: self.is_active.is_some(),
            department: opt(&self.department),
            job_title: opt(&self.job_title),
            manager_email,
            employment_status: self.employment_status.clone(),
            start_date,
            end_date,
            password,
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
        assert_eq!(v.email, "ann@example.com");
        assert_eq!(v.username, None);
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
