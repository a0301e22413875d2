//! Single sign-on's writes: the login state kept between the redirect to the provider and
//! its answer (single use, shared by every instance), and the login itself — find or link
//! the person, apply the group mapping, check that they may log in, start the session — with
//! every step and every refusal audited in the same transaction.

use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::auth::current_user::login_allowed_by_status;
use crate::auth::links::LinkSettings;
use crate::auth::tokens::{self, IssuedTokens, TokenKeys};
use crate::config::SsoConfig;
use crate::db::schema::{identity_links, sso_login_states, users};
use crate::db::{lower, lower_nullable};
use crate::domain::{EmploymentStatus, PersonId, Role};
use crate::error::{AppError, CommandError};

/// How long a login begun at the provider may take to come back.
pub const STATE_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What PortalOps remembers of a login sent to the provider.
#[derive(Debug, Clone, Queryable)]
pub struct LoginState {
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub next_path: Option<String>,
}

/// Stores a begun login under its state's hash (and forgets logins left unfinished).
pub fn save_state(
    conn: &mut PgConnection,
    state_hash: &[u8],
    s: &LoginState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    diesel::delete(
        sso_login_states::table.filter(sso_login_states::created_at.lt(now - STATE_LIFETIME)),
    )
    .execute(conn)?;
    diesel::insert_into(sso_login_states::table)
        .values((
            sso_login_states::state_hash.eq(state_hash),
            sso_login_states::nonce.eq(&s.nonce),
            sso_login_states::pkce_verifier.eq(&s.pkce_verifier),
            sso_login_states::redirect_uri.eq(&s.redirect_uri),
            sso_login_states::next_path.eq(&s.next_path),
            sso_login_states::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the login begun under this state's hash, once: a second answer with the same
/// state finds nothing (a replay), nor does one older than `STATE_LIFETIME`.
pub fn take_state(
    conn: &mut PgConnection,
    state_hash: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<LoginState>, AppError> {
    let row: Option<(LoginState, chrono::DateTime<chrono::Utc>)> =
        diesel::delete(sso_login_states::table.filter(sso_login_states::state_hash.eq(state_hash)))
            .returning((
                (
                    sso_login_states::nonce,
                    sso_login_states::pkce_verifier,
                    sso_login_states::redirect_uri,
                    sso_login_states::next_path,
                ),
                sso_login_states::created_at,
            ))
            .get_result(conn)
            .optional()?;
    Ok(row
        .filter(|(_, at)| *at > now - STATE_LIFETIME)
        .map(|(s, _)| s))
}

/// Who the provider says signed in (from a verified ID token).
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Lower case.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// The client of this login attempt.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A login refused: the HTTP status and the sentence the page shows.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

pub enum Outcome {
    LoggedIn(IssuedTokens),
    Refused(Refusal),
}

/// The audit actor of what single sign-on does on its own authority.
fn provider_label(issuer: &str) -> String {
    format!("single sign-on ({issuer})")
}

/// Audits a refused single sign-on as a failed login (`reason` for the log, no secrets).
pub fn record_failure(
    conn: &mut PgConnection,
    reason: &str,
    who: Option<&str>,
    user_id: Option<i64>,
    client: &Client,
) -> Result<(), AppError> {
    let label = who.map_or_else(|| "single sign-on".into(), audit::typed_label);
    audit::record(
        conn,
        AuditEntry::system(
            "auth.login_failed",
            "user",
            user_id.map(|id| id.to_string()),
        )
        .actor(None, label)
        // The provider's error text came through the browser: masked like any input.
        .summary(crate::domain::card::mask(&format!(
            "Failed login via SSO: {reason}"
        )))
        .client_ip(client.ip.as_deref()),
    )
    .map(drop)
}

#[derive(Queryable)]
struct Person {
    id: i64,
    full_name: String,
    username: Option<String>,
    role: Role,
    is_active: bool,
    status: EmploymentStatus,
    end_date: Option<chrono::NaiveDate>,
}

fn find(conn: &mut PgConnection, id: i64) -> Result<Person, AppError> {
    Ok(users::table
        .find(id)
        .select((
            users::id,
            users::full_name,
            users::username,
            users::role,
            users::is_active,
            users::employment_status,
            users::end_date,
        ))
        .first(conn)?)
}

/// The role the person's groups give, by the configured mapping: the highest one named
/// (`user` when none is). `None` when no mapping is configured.
pub fn mapped_role(cfg: &SsoConfig, groups: &[String]) -> Option<Role> {
    if cfg.group_roles.is_empty() {
        return None;
    }
    Some(
        cfg.group_roles
            .iter()
            .filter(|rule| groups.contains(&rule.group))
            .map(|rule| rule.role)
            .max_by_key(|r| r.rank())
            .unwrap_or(Role::User),
    )
}

/// The scopes the person's groups name for `role` (services, or "service/product"), when
/// any of their rules for it names one: then the mapping decides the scopes; else `None`
/// and they stay as assigned in PortalOps.
pub fn mapped_scopes(cfg: &SsoConfig, groups: &[String], role: Role) -> Option<Vec<String>> {
    let rules: Vec<_> = cfg
        .group_roles
        .iter()
        .filter(|rule| rule.role == role && groups.contains(&rule.group))
        .collect();
    let scopes: Vec<String> = rules.iter().filter_map(|r| r.scope.clone()).collect();
    (!scopes.is_empty()).then_some(scopes)
}

/// Logs the provider's `identity` in: the person linked to it, else the directory person
/// with its verified email (linked now), else — with just-in-time creation on — a new
/// person; the group mapping applied; refused unless they may log in. One transaction.
pub fn login(
    conn: &mut PgConnection,
    cfg: &SsoConfig,
    keys: &TokenKeys,
    identity: &Identity,
    client: &Client,
    links: &LinkSettings,
) -> Result<Outcome, AppError> {
    let (now, today) = (links.now, links.today);
    let label = provider_label(&identity.issuer);
    let who = identity
        .email
        .clone()
        .unwrap_or_else(|| identity.subject.clone());
    let refuse = |conn: &mut PgConnection, status: u16, message: String, reason: &str, uid| {
        record_failure(conn, reason, Some(&who), uid, client)?;
        Ok(Outcome::Refused(Refusal { status, message }))
    };
    crate::db::transaction(conn, |conn| {
        let linked: Option<i64> = identity_links::table
            .filter(identity_links::issuer.eq(&identity.issuer))
            .filter(identity_links::subject.eq(&identity.subject))
            .select(identity_links::user_id)
            .first(conn)
            .optional()?;
        let verified_email = identity
            .email
            .as_deref()
            .filter(|_| identity.email_verified);
        let (user_id, new_link) = match linked {
            Some(id) => (id, false),
            None => {
                let by_email: Option<i64> = match verified_email {
                    Some(e) => users::table
                        .filter(lower(users::email).eq(e))
                        .select(users::id)
                        .first(conn)
                        .optional()?,
                    None => None,
                };
                match (by_email, verified_email) {
                    (Some(id), _) => (id, true),
                    (None, Some(email)) if cfg.create_unknown => {
                        match create_person(conn, cfg, identity, email, &label)? {
                            Some(id) => (id, true),
                            None => {
                                return refuse(
                                    conn,
                                    403,
                                    "Your groups at the sign-in provider give you no PortalOps role. Ask an Admin.".into(),
                                    "unknown person, and their groups give no role",
                                    None,
                                )
                            }
                        }
                    }
                    (None, None) => {
                        return refuse(
                            conn,
                            403,
                            "The sign-in provider did not confirm your email address, so PortalOps cannot tell who you are. Ask an Admin to link your account.".into(),
                            "no verified email, no linked identity",
                            None,
                        )
                    }
                    (None, Some(email)) => {
                        return refuse(
                            conn,
                            403,
                            format!("No one in the PortalOps directory has the address {email}. Ask an Admin to add you (or to give you a login) first."),
                            "unknown person",
                            None,
                        )
                    }
                }
            }
        };
        let person = find(conn, user_id)?;
        let not_allowed = "Your PortalOps login is not active (deactivated, offboarded or without a login role). Ask an Admin if this is a mistake.";
        if !(person.is_active && login_allowed_by_status(person.status, person.end_date, today)) {
            return refuse(
                conn,
                403,
                not_allowed.into(),
                "login disabled or offboarded",
                Some(user_id),
            );
        }
        if new_link {
            diesel::insert_into(identity_links::table)
                .values((
                    identity_links::user_id.eq(user_id),
                    identity_links::issuer.eq(&identity.issuer),
                    identity_links::subject.eq(&identity.subject),
                    identity_links::email.eq(&identity.email),
                    identity_links::created_at.eq(now),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                AuditEntry::system("sso.identity_linked", "user", Some(user_id.to_string()))
                    .actor(None, label.clone())
                    .summary(format!(
                        "Linked {} to the sign-in provider's account {} ({})",
                        person.full_name,
                        identity.subject,
                        identity.email.as_deref().unwrap_or("no email")
                    ))
                    .after(serde_json::json!({
                        "issuer": identity.issuer,
                        "subject": identity.subject,
                        "email": identity.email,
                    })),
            )?;
        }
        if let Some(role) = mapped_role(cfg, &identity.groups) {
            apply_role(conn, &person, role, &identity.issuer, &label, links)?;
        }
        let person = find(conn, user_id)?;
        if let Some(scopes) = mapped_scopes(cfg, &identity.groups, person.role) {
            crate::inventory::commands::set_scopes_by_provider(
                conn,
                PersonId(user_id),
                person.role,
                &scopes,
                &label,
            )?;
        }
        if !person.role.can_log_in() {
            return refuse(
                conn,
                403,
                not_allowed.into(),
                "role without a login",
                Some(user_id),
            );
        }
        diesel::update(
            identity_links::table
                .filter(identity_links::issuer.eq(&identity.issuer))
                .filter(identity_links::subject.eq(&identity.subject)),
        )
        .set(identity_links::last_login_at.eq(now))
        .execute(conn)?;
        let issued = tokens::start_session(
            conn,
            keys,
            user_id,
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )?;
        audit::record(
            conn,
            AuditEntry::system("auth.login", "session", Some(issued.session_id.to_string()))
                .actor(
                    Some(user_id),
                    person
                        .username
                        .clone()
                        .unwrap_or_else(|| person.full_name.clone()),
                )
                .summary(format!("Logged in via SSO ({})", identity.issuer))
                .client_ip(client.ip.as_deref()),
        )?;
        Ok(Outcome::LoggedIn(issued))
    })
}

/// The group mapping's role, by the directory's role-change rules (a username given to
/// someone who gets a login without one). A change those rules refuse (the last Admin) is
/// logged and the role kept.
fn apply_role(
    conn: &mut PgConnection,
    person: &Person,
    role: Role,
    issuer: &str,
    label: &str,
    links: &LinkSettings,
) -> Result<(), AppError> {
    if person.role == role {
        return Ok(());
    }
    if role.can_log_in() && person.username.is_none() {
        let email: String = users::table
            .find(person.id)
            .select(users::email)
            .first(conn)?;
        let name = free_username(conn, &email)?;
        diesel::update(users::table.find(person.id))
            .set(users::username.eq(&name))
            .execute(conn)?;
    }
    match crate::directory::commands::change_role_by_provider(
        conn,
        PersonId(person.id),
        role,
        label,
        links,
    ) {
        Ok(_) => Ok(()),
        Err(CommandError::Other(e)) => Err(e),
        Err(CommandError::Refused(m)) => {
            tracing::warn!(issuer, user_id = person.id, reason = %m, "group mapping not applied");
            Ok(())
        }
        Err(CommandError::Invalid(e)) => {
            tracing::warn!(issuer, user_id = person.id, errors = ?e, "group mapping not applied");
            Ok(())
        }
    }
}

/// A username not yet taken, from the local part of `email`.
pub(crate) fn free_username(conn: &mut PgConnection, email: &str) -> Result<String, AppError> {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut base: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    while base.len() < 3 {
        base.push('-');
    }
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken: bool = diesel::select(diesel::dsl::exists(
            users::table.filter(lower_nullable(users::username).eq(&candidate)),
        ))
        .get_result(conn)?;
        if !taken {
            return Ok(candidate);
        }
    }
    Err(AppError::internal("no free username"))
}

/// Just-in-time creation: a person for a verified email unknown to the directory, with the
/// role their groups give (a Product Administrator of nothing without a mapping). `None`
/// when the mapping gives no login role.
fn create_person(
    conn: &mut PgConnection,
    cfg: &SsoConfig,
    identity: &Identity,
    email: &str,
    label: &str,
) -> Result<Option<i64>, AppError> {
    let role = mapped_role(cfg, &identity.groups).unwrap_or(Role::ProductAdmin);
    if !role.can_log_in() {
        return Ok(None);
    }
    let full_name: String = identity
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.to_string())
        .trim()
        .chars()
        .take(200)
        .collect();
    let full_name = crate::domain::card::mask(&full_name).into_owned();
    let username = free_username(conn, email)?;
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::full_name.eq(&full_name),
            users::email.eq(email),
            users::username.eq(&username),
            users::role.eq(role.as_str()),
        ))
        .returning(users::id)
        .get_result(conn)?;
    audit::record(
        conn,
        AuditEntry::system("person.created", "user", Some(id.to_string()))
            .actor(None, label)
            .summary(format!(
                "Added {full_name} ({email}) to the directory as {} at their first single sign-on",
                role.label()
            ))
            .after(serde_json::json!({
                "id": id,
                "full_name": full_name,
                "email": email,
                "username": username,
                "role": role.as_str(),
            })),
    )?;
    Ok(Some(id))
}
