//! Writes to the directory: authorize → check → change + audit, in one transaction. Each
//! command takes a request of domain types (`super::requests`), built by its door.

use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::auth::password;
use crate::authz::Role;
use crate::db::schema::users;
use crate::db::{lower, lower_nullable};
use crate::domain::{EmploymentStatus, PersonId};
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

/// Serialises first-Admin creation across instances (an advisory lock key).
const SETUP_LOCK: i64 = 0x706f_7274_616c;

/// Creates the first Admin (first-run setup), with `password_hash`, unless an Admin exists
/// by then (another instance or tab was first): that is `NotFound`, as the setup page is.
pub fn create_first_admin(
    conn: &mut PgConnection,
    user: &NewLoginUser,
    password_hash: &str,
) -> Result<PersonId, CreateError> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(SETUP_LOCK)
            .execute(conn)?;
        if admin_exists(conn)? {
            return Err(CreateError::Other(AppError::NotFound));
        }
        let entry = AuditEntry::system("user.created", "user", None)
            .actor(None, "first-run setup")
            .summary(format!(
                "First Admin '{}' created through the setup page",
                user.username
            ));
        insert_login_user(conn, user, password_hash, Role::Admin, entry).map(PersonId)
    })
}

/// Whether any active Admin who can log in exists.
pub fn admin_exists(conn: &mut PgConnection) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::is_active.eq(true)),
    ))
    .get_result(conn)?)
}

// ---- People, edited by Admins ------------------------------------------------------------

use super::queries::{find_person, manager_email, Person};
use super::requests::{PersonChanges, RoleChange};
use crate::auth::links::{self as login_links, LinkSettings};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{auth_sessions, product_admins, service_admins};
use crate::error::CommandError;

fn person_json(p: &Person) -> serde_json::Value {
    serde_json::json!({
        "full_name": p.full_name, "email": p.email, "username": p.username, "role": p.role,
        "is_active": p.is_active, "department": p.department, "job_title": p.job_title,
        "manager_id": p.manager_id, "employment_status": p.employment_status,
        "start_date": p.start_date, "end_date": p.end_date,
    })
}

/// The columns a create or an update sets from `PersonChanges`.
#[derive(Insertable, AsChangeset)]
// An absent value is written as NULL, not as DEFAULT: the insert's SQL is then the same for
// everyone, so it is prepared once per connection instead of parsed for each person.
#[diesel(
    table_name = users,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
struct PersonRow<'a> {
    full_name: &'a str,
    email: &'a str,
    username: Option<&'a str>,
    role: Role,
    is_active: bool,
    department: Option<&'a str>,
    job_title: Option<&'a str>,
    manager_id: Option<PersonId>,
    employment_status: EmploymentStatus,
    start_date: Option<chrono::NaiveDate>,
    end_date: Option<chrono::NaiveDate>,
}

impl<'a> PersonRow<'a> {
    fn of(v: &'a PersonChanges, manager_id: Option<PersonId>) -> Self {
        Self {
            full_name: v.full_name.as_str(),
            email: v.email.as_str(),
            username: v.username.as_deref(),
            role: v.role,
            is_active: v.is_active,
            department: v.department.as_deref(),
            job_title: v.job_title.as_deref(),
            manager_id,
            employment_status: v.employment_status,
            start_date: v.start_date,
            end_date: v.end_date,
        }
    }
}

/// Duplicate email/username and an unknown manager become field errors.
fn check_unique(
    conn: &mut PgConnection,
    v: &PersonChanges,
    except: Option<PersonId>,
) -> Result<Option<PersonId>, CommandError> {
    let mut errors = FieldErrors::new();
    let except = except.unwrap_or(PersonId(-1));
    let email_taken: bool = diesel::select(diesel::dsl::exists(
        users::table
            .filter(lower(users::email).eq(v.email.as_str()))
            .filter(users::id.ne(except)),
    ))
    .get_result(conn)?;
    if email_taken {
        errors.add(
            "email",
            "Someone in the directory already has this email address.",
        );
    }
    if let Some(u) = &v.username {
        let taken: bool = diesel::select(diesel::dsl::exists(
            users::table
                .filter(lower_nullable(users::username).eq(u.as_str()))
                .filter(users::id.ne(except)),
        ))
        .get_result(conn)?;
        if taken {
            errors.add("username", "This username is taken.");
        }
    }
    let manager_id = match &v.manager_email {
        Some(m) => {
            let id: Option<PersonId> = users::table
                .filter(lower(users::email).eq(m.as_str()))
                .select(users::id)
                .first(conn)
                .optional()?;
            if id.is_none() {
                errors.add(
                    "manager_email",
                    "Nobody in the directory has this email address.",
                );
            }
            if id == Some(except) {
                errors.add("manager_email", "A person cannot be their own manager.");
            }
            id
        }
        None => None,
    };
    if errors.is_empty() {
        Ok(manager_id)
    } else {
        Err(CommandError::Invalid(errors))
    }
}

/// What saving a person did besides the change itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved<T> {
    pub value: T,
    /// An invitation to set a password was emailed (a new login without a password).
    pub invitation_sent: bool,
}

/// Creates a person. Someone who can log in and is given no (hashed) password is emailed
/// an invitation to choose one, in the same transaction.
pub fn create_person(
    conn: &mut PgConnection,
    actor: &Actor,
    v: PersonChanges,
    links: &LinkSettings,
) -> Result<Saved<PersonId>, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let password_hash = v.password.as_ref().map(|p| p.hash()).transpose()?;
    crate::db::transaction(conn, |conn| {
        insert_person(conn, actor, &v, password_hash, links)
    })
}

/// `create_person` as one step of the caller's transaction, without a savepoint of its own
/// (two statements fewer): for a door whose larger change fails whole when this does (an
/// identity provider's create). Refused outside a transaction.
pub(crate) fn create_person_within(
    conn: &mut PgConnection,
    actor: &Actor,
    v: &PersonChanges,
    links: &LinkSettings,
) -> Result<Saved<PersonId>, CommandError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    authorize(actor, Action::ManagePeople)?;
    if !matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    ) {
        return Err(AppError::internal("create_person_within needs a transaction").into());
    }
    let password_hash = v.password.as_ref().map(|p| p.hash()).transpose()?;
    insert_person(conn, actor, v, password_hash, links)
}

/// The insert, its audit entry and the invitation, in the caller's transaction.
fn insert_person(
    conn: &mut PgConnection,
    actor: &Actor,
    v: &PersonChanges,
    password_hash: Option<&str>,
    links: &LinkSettings,
) -> Result<Saved<PersonId>, CommandError> {
    let manager_id = check_unique(conn, v, None)?;
    let created: Person = diesel::insert_into(users::table)
        .values((
            PersonRow::of(v, manager_id),
            users::password_hash.eq(password_hash),
        ))
        .returning(Person::as_returning())
        .get_result(conn)?;
    let id = created.id;
    audit::record(
        conn,
        AuditEntry::by(actor, "person.created", "user", Some(id.to_string()))
            .summary(format!(
                "Added {} ({}) to the directory as {}",
                v.full_name,
                v.email,
                v.role.label()
            ))
            .after(person_json(&created)),
    )?;
    // Only someone with a role that logs in, and a username, can be invited; most people
    // added (and every one an identity provider adds) have neither.
    let invitation_sent = (created.role.can_log_in() && created.username.is_some())
        && login_links::invite_if_needed(conn, links, actor, id)?;
    Ok(Saved {
        value: id,
        invitation_sent,
    })
}

/// Active Admins other than `except` (someone leaving does not count: their role goes when
/// they have left), locking every active Admin's row in id order so that two demotions
/// cannot race each other past the last-Admin rule — in one order, so that two Admins
/// demoting each other wait for each other instead of deadlocking.
fn other_active_admins(conn: &mut PgConnection, except: PersonId) -> Result<usize, AppError> {
    let ids: Vec<(PersonId, EmploymentStatus)> = users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::is_active.eq(true))
        .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
        .order(users::id.asc())
        .select((users::id, users::employment_status))
        .for_update()
        .load(conn)?;
    Ok(ids
        .iter()
        .filter(|(id, status)| *id != except && *status != EmploymentStatus::Offboarding)
        .count())
}

/// Updates a person; role and scope changes apply at their next request. The last active
/// Admin cannot be demoted, deactivated or offboarded.
pub fn update_person(
    conn: &mut PgConnection,
    actor: &Actor,
    id: PersonId,
    v: PersonChanges,
    links: &LinkSettings,
) -> Result<Saved<()>, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let before = find_person(conn, id)?;
        let (_, invitation_sent) = save_person(conn, Author::Person(actor), before, &v, links)?;
        Ok(Saved {
            value: (),
            invitation_sent,
        })
    })
}

/// What a role change left: the person's role, username and whether they may log in.
#[derive(Debug, Clone)]
pub struct RoleSet {
    pub id: PersonId,
    pub role: Role,
    pub username: Option<String>,
    pub login_enabled: bool,
    /// An invitation to set a password was emailed (a new login without a password).
    pub invitation_sent: bool,
}

/// Changes a person's role (and gives them a login), by the person form's rules: the
/// stored person with the change applied is checked as the form would be, then saved as an
/// update is (scopes that no longer match the role are dropped; the last Admin stays).
pub fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    id: PersonId,
    change: RoleChange,
    links: &LinkSettings,
) -> Result<RoleSet, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let before = find_person(conn, id)?;
        let manager = manager_email(conn, &before)?;
        let v = change
            .apply_to(&before, manager.as_deref())
            .map_err(CommandError::Invalid)?;
        let (after, invitation_sent) = save_person(conn, Author::Person(actor), before, &v, links)?;
        Ok(RoleSet {
            id,
            role: after.role,
            username: after.username,
            login_enabled: after.is_active,
            invitation_sent,
        })
    })
}

/// Applies the role a person's groups at the single sign-on provider give them (the group
/// mapping, at each login) by the rules of `change_role`, audited with `provider` as the
/// actor: the configuration is the authority, not a logged-in person. Returns the role
/// before when it changed.
pub fn change_role_by_provider(
    conn: &mut PgConnection,
    id: PersonId,
    role: Role,
    provider: &str,
    links: &LinkSettings,
) -> Result<Option<Role>, CommandError> {
    crate::db::transaction(conn, |conn| {
        let before = find_person(conn, id)?;
        if before.role == role {
            return Ok(None);
        }
        let old = before.role;
        let manager = manager_email(conn, &before)?;
        let change = RoleChange {
            role,
            username: None,
            password: None,
            login_enabled: None,
        };
        let v = change
            .apply_to(&before, manager.as_deref())
            .map_err(CommandError::Invalid)?;
        save_person(conn, Author::Provider(provider), before, &v, links)?;
        Ok(Some(old))
    })
}

/// Who changes a person: a logged-in person, or the sign-in provider's group mapping.
#[derive(Clone, Copy)]
enum Author<'a> {
    Person(&'a Actor),
    Provider(&'a str),
}

impl Author<'_> {
    fn entry(self, action: &str, id: PersonId) -> AuditEntry {
        match self {
            Author::Person(actor) => AuditEntry::by(actor, action, "user", Some(id.to_string())),
            Author::Provider(label) => {
                AuditEntry::system(action, "user", Some(id.to_string())).actor(None, label)
            }
        }
    }
}

/// The update itself, inside the caller's transaction; returns the person as saved, and
/// whether an invitation to set a password was emailed (someone who may log in now, with
/// no password and no invitation still valid).
fn save_person(
    conn: &mut PgConnection,
    actor: Author<'_>,
    before: Person,
    v: &PersonChanges,
    links: &LinkSettings,
) -> Result<(Person, bool), CommandError> {
    let id = before.id;
    let password_hash = v.password.as_ref().map(|p| p.hash()).transpose()?;
    let manager_id = check_unique(conn, v, Some(id))?;
    let was_admin = before.role == Role::Admin
        && before.is_active
        && before.employment_status != EmploymentStatus::Offboarded;
    let stays_admin =
        v.role == Role::Admin && v.is_active && v.employment_status != EmploymentStatus::Offboarded;
    if was_admin && !stays_admin && other_active_admins(conn, id)? == 0 {
        return Err(CommandError::Refused(format!(
            "{} is the last active Admin: make someone else an Admin first.",
            before.full_name
        )));
    }
    diesel::update(users::table.find(id))
        .set((
            PersonRow::of(v, manager_id),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    if let Some(h) = password_hash {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(h))
            .execute(conn)?;
    }
    // Scopes belong to a role: a person who no longer holds it no longer runs anything.
    if v.role != Role::ServiceAdmin {
        diesel::delete(service_admins::table.filter(service_admins::user_id.eq(id)))
            .execute(conn)?;
    }
    if v.role != Role::ProductAdmin {
        diesel::delete(product_admins::table.filter(product_admins::user_id.eq(id)))
            .execute(conn)?;
    }
    let lost_login = !v.is_active
        || !v.role.can_log_in()
        || v.employment_status == EmploymentStatus::Offboarded
        || password_hash.is_some();
    if lost_login {
        diesel::update(
            auth_sessions::table
                .filter(auth_sessions::user_id.eq(id))
                .filter(auth_sessions::revoked_at.is_null()),
        )
        .set((
            auth_sessions::revoked_at.eq(crate::clock::now()),
            auth_sessions::revoked_reason.eq("changed by an Admin"),
        ))
        .execute(conn)?;
    }
    // A link still out would set a password after the Admin set one, come back to life
    // with a login given again, or was sent to an address that is no longer theirs.
    if lost_login || !before.email.eq_ignore_ascii_case(v.email.as_str()) {
        login_links::void_all(conn, id.0, links.now)?;
    }
    let after = find_person(conn, id)?;
    if before.role != after.role {
        audit::record(
            conn,
            actor
                .entry("person.role_changed", id)
                .summary(format!(
                    "{}: role {} → {}",
                    after.full_name,
                    before.role.label(),
                    after.role.label()
                ))
                .before(serde_json::json!({"role": before.role}))
                .after(serde_json::json!({"role": after.role})),
        )?;
    }
    let mut summary = format!("Edited {}", after.full_name);
    if password_hash.is_some() {
        summary.push_str(" (password set by an Admin)");
    }
    audit::record(
        conn,
        actor
            .entry("person.updated", id)
            .summary(summary)
            .before(person_json(&before))
            .after(person_json(&after)),
    )?;
    // Someone who signs in with the provider (a linked identity) needs no invitation, nor
    // does a change the provider's group mapping made at their login.
    let invitation_sent = match actor {
        Author::Person(a) if !crate::auth::current_user::has_login(conn, id.0, false)? => {
            login_links::invite_if_needed(conn, links, a, id)?
        }
        _ => false,
    };
    Ok((after, invitation_sent))
}
