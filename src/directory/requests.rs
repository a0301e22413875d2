//! What the directory's commands are asked to do, as domain types: a person's fields
//! (`PersonChanges`), a role change (`RoleChange`), a grant (`NewGrant`) and a revocation
//! (`Revoke`). Each door turns its own input into these (the pages' forms in `model` and
//! `grants`, the API's bodies in `api::people`, `api::roles`, `api::grants`, the people CSV
//! in `imports::people`); the rules and messages live here, once.

use chrono::NaiveDate;

use super::commands::{valid_email, valid_username};
use crate::auth::password::{self, Hasher};
use crate::domain::card::REFUSAL;
use crate::domain::text::{Line, Paragraph, TextError};
use crate::domain::{EmploymentStatus, GrantId, PersonId, ProductId, Role};
use crate::error::AppError;
use crate::web::forms::FieldErrors;

/// A new password as typed (checked against the policy) and, once the door has hashed it on
/// the hasher's threads (never on a database thread), its hash. Commands store only the
/// hash; `Debug` shows neither.
#[derive(Clone)]
pub struct NewPassword {
    typed: String,
    hash: Option<String>,
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    fn typed(typed: &str) -> Self {
        Self {
            typed: typed.to_string(),
            hash: None,
        }
    }

    /// Hashes the password on the hasher's threads (the door does this before the command).
    pub async fn hash_with(&mut self, hasher: &Hasher) -> Result<(), AppError> {
        let typed = self.typed.clone();
        self.hash = Some(hasher.run(move || password::hash(&typed)).await??);
        Ok(())
    }

    /// The hash to store; an error if the door did not hash it.
    pub fn hash(&self) -> Result<&str, AppError> {
        self.hash
            .as_deref()
            .ok_or_else(|| AppError::internal("a new password reached a command unhashed"))
    }
}

/// Hashes the password of a request, if it holds one.
pub async fn hash_if_given(hasher: &Hasher, pw: &mut Option<NewPassword>) -> Result<(), AppError> {
    match pw {
        Some(p) => p.hash_with(hasher).await,
        None => Ok(()),
    }
}

/// A person's fields as text, as a form, a file or the stored row holds them: what
/// `PersonChanges::parse` checks.
pub struct PersonText<'a> {
    pub full_name: &'a str,
    pub email: &'a str,
    pub username: &'a str,
    pub role: &'a str,
    pub is_active: bool,
    pub department: &'a str,
    pub job_title: &'a str,
    pub manager_email: &'a str,
    pub employment_status: &'a str,
    pub start_date: &'a str,
    pub end_date: &'a str,
    /// A new password, or "" to keep the current one.
    pub password: &'a str,
}

/// A person as a create or an update sets them (the manager still to be resolved by email).
#[derive(Debug, Clone)]
pub struct PersonChanges {
    pub full_name: Line<200>,
    /// Lower case.
    pub email: Line<254>,
    /// Lower case; required for a role that can log in.
    pub username: Option<Line<64>>,
    pub role: Role,
    /// Whether the login is enabled.
    pub is_active: bool,
    pub department: Option<Line<100>>,
    pub job_title: Option<Line<100>>,
    /// Lower case.
    pub manager_email: Option<Line<254>>,
    pub employment_status: EmploymentStatus,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// A new password (optional: a login without one is emailed an invitation).
    pub password: Option<NewPassword>,
}

fn date(e: &mut FieldErrors, field: &'static str, s: &str) -> Option<NaiveDate> {
    if s.trim().is_empty() {
        return None;
    }
    crate::web::forms::parse_date(s)
        .map_err(|m| e.add(field, m))
        .ok()
}

/// A lower-cased email address, or `None` when it is not one.
fn email(s: &str) -> Option<Line<254>> {
    let s = s.trim().to_lowercase();
    if valid_email(&s) {
        Line::parse(&s).ok()
    } else {
        None
    }
}

/// A lower-cased username: `None` when blank, an error when it is not one.
fn username(s: &str) -> Result<Option<Line<64>>, &'static str> {
    let s = s.trim().to_lowercase();
    if s.is_empty() {
        return Ok(None);
    }
    if valid_username(&s) {
        Line::parse(&s).map(Some).map_err(|_| USERNAME_RULE)
    } else {
        Err(USERNAME_RULE)
    }
}

const USERNAME_RULE: &str = "Use 3 to 64 lower-case letters, digits, dots, dashes or underscores.";

fn optional_line<const MAX: usize>(
    e: &mut FieldErrors,
    field: &'static str,
    value: &str,
) -> Option<Line<MAX>> {
    match Line::<MAX>::optional(value) {
        Ok(v) => v,
        Err(TextError::TooLong { max }) => {
            e.add(field, format!("At most {max} characters."));
            None
        }
        Err(other) => {
            e.add(field, other.message(""));
            None
        }
    }
}

impl PersonChanges {
    /// Checks every field; the messages are keyed by the field names of `PersonText`.
    pub fn parse(t: &PersonText<'_>) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        for (field, value) in [
            ("full_name", t.full_name),
            ("department", t.department),
            ("job_title", t.job_title),
        ] {
            if crate::domain::card::contains_card_number(value) {
                e.add(field, REFUSAL);
            }
        }
        if !e.is_empty() {
            return Err(e);
        }
        let full_name = Line::<200>::required(t.full_name)
            .map_err(|_| e.add("full_name", "Enter a name of up to 200 characters."))
            .ok();
        let email_address = email(t.email);
        if email_address.is_none() {
            e.add("email", "Enter an email address like name@example.com.");
        }
        let role = Role::parse(t.role);
        if role.is_none() {
            e.add("role", "Choose a role.");
        }
        let role = role.unwrap_or(Role::User);
        let username = match username(t.username) {
            Ok(None) if role.can_log_in() => {
                e.add("username", "People who can log in need a username.");
                None
            }
            Ok(u) => u,
            Err(m) => {
                e.add("username", m);
                None
            }
        };
        let employment_status = EmploymentStatus::parse(t.employment_status);
        if employment_status.is_none() {
            e.add("employment_status", "Choose an employment status.");
        }
        let department = optional_line::<100>(&mut e, "department", t.department);
        let job_title = optional_line::<100>(&mut e, "job_title", t.job_title);
        let manager_email = if t.manager_email.trim().is_empty() {
            None
        } else {
            let m = email(t.manager_email);
            if m.is_none() {
                e.add(
                    "manager_email",
                    "Enter the manager's email address, or leave it empty.",
                );
            }
            m
        };
        let start_date = date(&mut e, "start_date", t.start_date);
        let end_date = date(&mut e, "end_date", t.end_date);
        if let (Some(s), Some(en)) = (start_date, end_date) {
            if en < s {
                e.add("end_date", "The end date is before the start date.");
            }
        }
        let password = (!t.password.is_empty()).then(|| NewPassword::typed(t.password));
        if let Some(p) = &password {
            // The username as typed, even when it is not a valid one.
            let typed = t.username.trim().to_lowercase();
            let named = (!typed.is_empty()).then_some(typed.as_str());
            if let Err(m) = password::check_policy(&p.typed, named, Some(t.full_name.trim())) {
                e.add("password", m);
            }
        }
        match (full_name, email_address, employment_status) {
            (Some(full_name), Some(email), Some(employment_status)) if e.is_empty() => Ok(Self {
                full_name,
                email,
                username,
                role,
                is_active: t.is_active,
                department,
                job_title,
                manager_email,
                employment_status,
                start_date,
                end_date,
                password,
            }),
            _ => Err(e),
        }
    }
}

/// A person's new role, and what a login role needs with it.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub role: Role,
    /// `None`: unchanged; `Some(None)`: removed (blank).
    pub username: Option<Option<Line<64>>>,
    /// A new password, hashed by the door when it passed the checks that need no stored
    /// context (the command checks it against the person's username and name).
    pub password: Option<NewPassword>,
    /// Whether the login is enabled; unchanged when `None`.
    pub login_enabled: Option<bool>,
}

impl RoleChange {
    /// `role` is required ("Choose a role."); a username given must be one; a password
    /// given ("" is none) is checked against the policy as far as it can be without the
    /// stored person.
    pub fn new(
        role: Option<Role>,
        username: Option<&str>,
        password: Option<&str>,
        login_enabled: Option<bool>,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(role) = role else {
            e.add("role", "Choose a role.");
            return Err(e);
        };
        let typed = username.map(|u| u.trim().to_lowercase());
        let username = match username.map(self::username).transpose() {
            Ok(u) => u,
            Err(m) => {
                e.add("username", m);
                None
            }
        };
        let password = password.filter(|p| !p.is_empty()).map(NewPassword::typed);
        if let Some(p) = &password {
            let named = typed.as_deref().filter(|u| !u.is_empty());
            if let Err(m) = password::check_policy(&p.typed, named, None) {
                e.add("password", m);
            }
        }
        e.into_result()?;
        Ok(Self {
            role,
            username,
            password,
            login_enabled,
        })
    }

    /// The person as stored with this change applied, checked by the same rules as the
    /// person form (`PersonChanges::parse`).
    pub(crate) fn apply_to(
        &self,
        p: &super::queries::Person,
        manager_email: Option<&str>,
    ) -> Result<PersonChanges, FieldErrors> {
        let username = match &self.username {
            Some(u) => u.as_deref().unwrap_or(""),
            None => p.username.as_deref().unwrap_or(""),
        };
        let (start, end) = (
            p.start_date.map(|d| d.to_string()).unwrap_or_default(),
            p.end_date.map(|d| d.to_string()).unwrap_or_default(),
        );
        let mut changes = PersonChanges::parse(&PersonText {
            full_name: &p.full_name,
            email: &p.email,
            username,
            role: self.role.as_str(),
            is_active: self.login_enabled.unwrap_or(p.is_active),
            department: p.department.as_deref().unwrap_or(""),
            job_title: p.job_title.as_deref().unwrap_or(""),
            manager_email: manager_email.unwrap_or(""),
            employment_status: p.employment_status.as_str(),
            start_date: &start,
            end_date: &end,
            password: self
                .password
                .as_ref()
                .map(|p| p.typed.as_str())
                .unwrap_or(""),
        })?;
        // The door hashed it.
        changes.password = self.password.clone();
        Ok(changes)
    }
}

/// Whom a grant is for, as a door names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// By directory id (a person's page; the API accepts it too).
    Id(PersonId),
    /// By email address (compared in lower case).
    Email(Line<254>),
    /// Text longer than any email address: nobody has it.
    Nobody,
}

impl Grantee {
    /// A directory id or an email address, as typed.
    pub fn parse(who: &str) -> Result<Self, TextError> {
        let who = who.trim();
        if let Ok(id) = who.parse::<i64>() {
            return Ok(Self::Id(PersonId(id)));
        }
        match Line::<254>::parse(who) {
            Ok(email) => Ok(Self::Email(email)),
            Err(TextError::TooLong { .. }) => Ok(Self::Nobody),
            Err(e) => Err(e),
        }
    }
}

/// Access to a product for a person.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub person: Grantee,
    pub product: ProductId,
    /// The person's account at the product (optional).
    pub account_identifier: Line<200>,
    pub note: Paragraph<1000>,
    /// The person acting was told the grant goes over the purchased seats, and goes on.
    pub over_seats: bool,
}

impl NewGrant {
    /// Checks the typed fields; the messages are keyed `person`, `account_identifier`,
    /// `note`.
    pub fn new(
        person: &str,
        product: ProductId,
        account_identifier: &str,
        note: &str,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let account_identifier = Line::<200>::parse(account_identifier)
            .map_err(|m| e.add("account_identifier", m.message("The account identifier")))
            .ok();
        let note = Paragraph::<1000>::parse(note)
            .map_err(|m| e.add("note", m.message("The note")))
            .ok();
        let person = Grantee::parse(person)
            .map_err(|m| e.add("person", m.message("The person")))
            .ok();
        match (person, account_identifier, note) {
            (Some(person), Some(account_identifier), Some(note)) => Ok(Self {
                person,
                product,
                account_identifier,
                note,
                over_seats: false,
            }),
            _ => Err(e),
        }
    }
}

/// At most this many people or grants in one bulk change.
pub const BULK_MAX: usize = 1000;

/// Whom a pasted list names: email addresses (or directory ids) one per line, or separated
/// by commas, semicolons or spaces; `Name <email>` as mail programs copy it. Blank entries
/// are dropped and repeats (ignoring case) kept once, in the order given.
pub fn people_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in text.split(['\n', '\r', ',', ';']) {
        let piece = piece.trim();
        let entries: Vec<&str> = match (piece.find('<'), piece.rfind('>')) {
            (Some(a), Some(b)) if a < b => vec![piece[a + 1..b].trim()],
            _ => piece.split_whitespace().collect(),
        };
        for entry in entries {
            let entry = entry.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
            if !entry.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(entry)) {
                out.push(entry.to_string());
            }
        }
    }
    out
}

/// One product for many people (a product page's list, the API's bulk grant).
#[derive(Debug, Clone)]
pub struct BulkGrant {
    pub product: ProductId,
    /// Each person as given, and whom it names.
    pub people: Vec<(String, Grantee)>,
    pub note: Paragraph<1000>,
    /// The person acting was told the grants go over the purchased seats, and goes on.
    pub over_seats: bool,
}

impl BulkGrant {
    /// Checks the list and the note; the messages are keyed `people` and `note`.
    pub fn new(product: ProductId, people: &[String], note: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let note = Paragraph::<1000>::parse(note)
            .map_err(|m| e.add("note", m.message("The note")))
            .ok();
        let mut parsed = Vec::with_capacity(people.len());
        for given in people {
            match Grantee::parse(given) {
                Ok(who) => parsed.push((given.clone(), who)),
                Err(m) => e.add("people", m.message(&format!("“{given}”"))),
            }
        }
        if people.is_empty() {
            e.add(
                "people",
                "Name at least one person: paste their email addresses, one per line.",
            );
        } else if people.len() > BULK_MAX {
            e.add(
                "people",
                format!(
                    "At most {BULK_MAX} people at once ({} given): split the list.",
                    people.len()
                ),
            );
        }
        match note {
            Some(note) if e.is_empty() => Ok(Self {
                product,
                people: parsed,
                note,
                over_seats: false,
            }),
            _ => Err(e),
        }
    }
}

/// Many grants ended at once, with one reason.
#[derive(Debug, Clone)]
pub struct BulkRevoke {
    pub grants: Vec<GrantId>,
    pub reason: Paragraph<1000>,
}

impl BulkRevoke {
    /// The messages are keyed `grants` and `reason`.
    pub fn new(grants: &[i64], reason: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let reason = Paragraph::<1000>::parse(reason)
            .map_err(|m| e.add("reason", m.message("The reason")))
            .ok();
        let mut ids: Vec<GrantId> = Vec::new();
        for g in grants {
            if !ids.contains(&GrantId(*g)) {
                ids.push(GrantId(*g));
            }
        }
        if ids.is_empty() {
            e.add("grants", "Choose at least one person's access to revoke.");
        } else if ids.len() > BULK_MAX {
            e.add(
                "grants",
                format!("At most {BULK_MAX} at once ({} chosen).", ids.len()),
            );
        }
        match reason {
            Some(reason) if e.is_empty() => Ok(Self {
                grants: ids,
                reason,
            }),
            _ => Err(e),
        }
    }
}

/// The end of a grant, with the reason (optional).
#[derive(Debug, Clone)]
pub struct Revoke {
    pub grant: GrantId,
    pub reason: Paragraph<1000>,
}

impl Revoke {
    /// The message is keyed `reason`.
    pub fn new(grant: GrantId, reason: &str) -> Result<Self, FieldErrors> {
        let reason = Paragraph::<1000>::parse(reason).map_err(|m| {
            let mut e = FieldErrors::new();
            e.add("reason", m.message("The reason"));
            e
        })?;
        Ok(Self { grant, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> PersonText<'static> {
        PersonText {
            full_name: "Ann Lee",
            email: "Ann@Example.com",
            username: "",
            role: "user",
            is_active: true,
            department: "",
            job_title: "",
            manager_email: "",
            employment_status: "active",
            start_date: "",
            end_date: "",
            password: "",
        }
    }

    #[test]
    fn a_grant_names_its_person_by_id_or_email() {
        assert_eq!(Grantee::parse(" 12 "), Ok(Grantee::Id(PersonId(12))));
        assert!(matches!(Grantee::parse("a@b.co"), Ok(Grantee::Email(_))));
        assert_eq!(Grantee::parse(&"x".repeat(300)), Ok(Grantee::Nobody));
        let e = NewGrant::new("a@b.co", ProductId(1), "", &"n".repeat(1001)).unwrap_err();
        assert_eq!(
            e.get("note"),
            "The note is too long (at most 1000 characters)."
        );
        let e = Revoke::new(GrantId(1), &"r".repeat(1001)).unwrap_err();
        assert_eq!(
            e.get("reason"),
            "The reason is too long (at most 1000 characters)."
        );
    }

    #[test]
    fn a_role_change_needs_a_role() {
        let e = RoleChange::new(None, None, None, None).unwrap_err();
        assert_eq!(e.get("role"), "Choose a role.");
        let e = RoleChange::new(Some(Role::Admin), Some("A B"), None, None).unwrap_err();
        assert_eq!(e.get("username"), USERNAME_RULE);
        let c = RoleChange::new(Some(Role::User), Some(""), Some(""), None).expect("valid");
        assert_eq!(c.username, Some(None));
        assert!(c.password.is_none());
    }

    #[test]
    fn a_person_is_parsed_into_domain_types() {
        let v = PersonChanges::parse(&text()).expect("valid");
        assert_eq!(v.email.as_str(), "ann@example.com");
        assert_eq!(v.employment_status, EmploymentStatus::Active);
        let e = PersonChanges::parse(&PersonText {
            department: &"d".repeat(101),
            employment_status: "retired",
            ..text()
        })
        .unwrap_err();
        assert_eq!(e.get("department"), "At most 100 characters.");
        assert_eq!(e.get("employment_status"), "Choose an employment status.");
    }
}

/// Products for one person (their page, the API): some chosen, and (optionally) a
/// colleague's access copied.
#[derive(Debug, Clone)]
pub struct PersonGrants {
    pub person: PersonId,
    pub products: Vec<ProductId>,
    /// Whose access to copy, as given.
    pub colleague: Option<(String, Grantee)>,
    pub note: Paragraph<1000>,
    /// The person acting was told the grants go over purchased seats, and goes on.
    pub over_seats: bool,
}

impl PersonGrants {
    /// Checks the choice, the colleague and the note; the messages are keyed `products`,
    /// `colleague` and `note`.
    pub fn new(
        person: PersonId,
        products: &[i64],
        colleague: &str,
        note: &str,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let note = Paragraph::<1000>::parse(note)
            .map_err(|m| e.add("note", m.message("The note")))
            .ok();
        let colleague = match colleague.trim() {
            "" => None,
            given => Grantee::parse(given)
                .map_err(|m| e.add("colleague", m.message("The colleague")))
                .ok()
                .map(|g| (given.to_string(), g)),
        };
        let mut chosen: Vec<ProductId> = Vec::new();
        for id in products
            .iter()
            .filter(|id| **id > 0)
            .map(|id| ProductId(*id))
        {
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        if chosen.is_empty() && colleague.is_none() && e.get("colleague").is_empty() {
            e.add(
                "products",
                "Choose at least one product, or a colleague whose access to copy.",
            );
        } else if chosen.len() > BULK_MAX {
            e.add(
                "products",
                format!(
                    "At most {BULK_MAX} products at once ({} chosen).",
                    chosen.len()
                ),
            );
        }
        match note {
            Some(note) if e.is_empty() => Ok(Self {
                person,
                products: chosen,
                colleague,
                note,
                over_seats: false,
            }),
            _ => Err(e),
        }
    }
}
