//! Writes to the directory: validate → authorize → change + audit, in one transaction.

use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::auth::password;
use crate::authz::Role;
use crate::db::schema::users;
use crate::db::{lower, lower_nullable};
use crate::error::AppError;
use crate::web::forms::FieldErrors;

/// A new person who can log in (the first Admin, or one created from the shell).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewLoginUser {
    pub full_name: String,
    pub email: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// Why creating a user failed: field errors to show, or something worse.
#[derive(Debug)]
pub enum CreateError {
    Invalid(FieldErrors),
    Other(AppError),
}

impl From<AppError> for CreateError {
    fn from(e: AppError) -> Self {
        CreateError::Other(e)
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        CreateError::Other(e.into())
    }
}

pub fn valid_username(u: &str) -> bool {
    (3..=64).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl NewLoginUser {
    /// Normalises and checks the fields (password policy included); no database access.
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        self.full_name = self.full_name.trim().to_string();
        self.email = self.email.trim().to_lowercase();
        self.username = self.username.trim().to_lowercase();
        let mut errors = FieldErrors::new();
        if self.full_name.is_empty() || self.full_name.chars().count() > 200 {
            errors.add("full_name", "Enter a name of up to 200 characters.");
        }
        if !valid_email(&self.email) {
            errors.add("email", "Enter an email address like name@example.com.");
        }
        if !valid_username(&self.username) {
            errors.add(
                "username",
                "Use 3 to 64 lower-case letters, digits, dots, dashes or underscores.",
            );
        }
        if let Err(m) =
            password::check_policy(&self.password, Some(&self.username), Some(&self.full_name))
        {
            errors.add("password", m);
        } else if self.password != self.password_confirm {
            errors.add("password_confirm", "The two passwords differ.");
        }
        errors.into_result()
    }
}

/// Inserts a validated login user with `password_hash`, and its audit entry, inside the
/// caller's transaction. Duplicate email or username become field errors.
pub fn insert_login_user(
    conn: &mut PgConnection,
    user: &NewLoginUser,
    password_hash: &str,
    role: Role,
    audit_entry: AuditEntry,
) -> Result<i64, CreateError> {
    let mut errors = FieldErrors::new();
    let email_taken: bool = diesel::select(diesel::dsl::exists(
        users::table.filter(lower(users::email).eq(&user.email)),
    ))
    .get_result(conn)?;
    if email_taken {
        errors.add(
            "email",
            "Someone in the directory already has this email address.",
        );
    }
    let username_taken: bool = diesel::select(diesel::dsl::exists(
        users::table.filter(lower_nullable(users::username).eq(&user.username)),
    ))
    .get_result(conn)?;
    if username_taken {
        errors.add("username", "This username is taken.");
    }
    if !errors.is_empty() {
        return Err(CreateError::Invalid(errors));
    }
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::full_name.eq(&user.full_name),
            users::email.eq(&user.email),
            users::username.eq(&user.username),
            users::password_hash.eq(password_hash),
            users::role.eq(role.as_str()),
        ))
        .returning(users::id)
        .get_result(conn)?;
    audit::record(
        conn,
        audit_entry.after(serde_json::json!({
            "id": id,
            "full_name": user.full_name,
            "email": user.email,
            "username": user.username,
            "role": role.as_str(),
        })),
    )?;
    Ok(id)
}

/// Whether any active Admin who can log in exists.
pub fn admin_exists(conn: &mut PgConnection) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::is_active.eq(true)),
    ))
    .get_result(conn)?)
}
