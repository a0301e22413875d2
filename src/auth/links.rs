//! Emailed login links: an invitation to set a first password (a new login: Admins never
//! choose a colleague's password) and a password reset ("Forgot password"). A link is valid
//! for a limited time and once; issuing a new one of the same purpose voids the older ones.
//!
//! The token is made by `crypto::sealed`: the table holds only its SHA-256, the queued email
//! only a placeholder the outbox fills in as it sends, and no page, log line or audit entry
//! ever sees it. Redeeming is one `UPDATE … WHERE used_at IS NULL … RETURNING`, so of two
//! tabs using one link at once, exactly one sets the password.

use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor, Role};
use crate::config::ThrottleConfig;
use crate::crypto::sealed;
use crate::db::schema::{login_links, users};
use crate::db::{lower, lower_nullable};
use crate::domain::{EmploymentStatus, LinkPurpose, PersonId};
use crate::error::{AppError, CommandError};
use crate::web::AppState;

/// At most this many reset emails per person per hour; further requests are answered the
/// same way and send nothing.
pub const RESETS_PER_PERSON_PER_HOUR: i64 = 3;
/// At most this many "Forgot password" requests per client address per hour (429 beyond,
/// whatever address was typed).
pub const RESET_REQUESTS_PER_ADDRESS_PER_HOUR: i32 = 10;

/// What issuing a link needs from the application: the time, the lifetimes, where links
/// point and the key that seals their tokens.
#[derive(Clone)]
pub struct LinkSettings {
    pub now: DateTime<Utc>,
    pub today: chrono::NaiveDate,
    pub timezone: chrono_tz::Tz,
    pub invitation_ttl: chrono::TimeDelta,
    pub reset_ttl: chrono::TimeDelta,
    pub public_url: String,
    /// The single sign-on button's label, when a provider is configured: the invitation
    /// then says the person may sign in with it instead of choosing a password.
    pub sso_label: Option<String>,
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSettings")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

fn delta(d: std::time::Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::hours(1))
}

impl LinkSettings {
    /// From the configuration, at the application clock's now.
    pub fn from_state(state: &AppState) -> Result<Self, AppError> {
        let key = state
            .config
            .jwt_secret
            .as_ref()
            .ok_or_else(|| AppError::internal("JWT secret not resolved"))?
            .expose()
            .to_vec();
        Ok(Self {
            now: state.clock.now(),
            today: state.clock.today(),
            timezone: state.clock.timezone(),
            invitation_ttl: delta(state.config.invitation_ttl),
            reset_ttl: delta(state.config.password_reset_ttl),
            public_url: state.config.public_url.clone(),
            sso_label: state.config.sso.as_ref().map(|s| s.button_label.clone()),
            key,
        })
    }

    fn ttl(&self, purpose: LinkPurpose) -> chrono::TimeDelta {
        match purpose {
            LinkPurpose::Invitation => self.invitation_ttl,
            LinkPurpose::Reset => self.reset_ttl,
        }
    }

    /// A time as the emails and pages show it: in the configured zone.
    pub fn show(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

/// The path a link's token is redeemed at (logged with the token redacted:
/// `web::redact`).
pub const SET_PASSWORD_PATH: &str = "/password/set/";

#[derive(Template)]
#[template(path = "emails/invitation.txt")]
struct InvitationText<'a> {
    name: &'a str,
    inviter: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
    sso_label: Option<&'a str>,
    login_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/invitation.html")]
struct InvitationHtml<'a> {
    name: &'a str,
    inviter: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
    sso_label: Option<&'a str>,
    login_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/reset.txt")]
struct ResetText<'a> {
    name: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/reset.html")]
struct ResetHtml<'a> {
    name: &'a str,
    username: &'a str,
    link: &'a str,
    expires: &'a str,
}

fn render(t: Result<String, askama::Error>) -> Result<String, AppError> {
    t.map_err(|e| AppError::internal(format!("email template: {e}")))
}

/// Whom a link is for.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct LinkUser {
    id: i64,
    full_name: String,
    email: String,
    username: Option<String>,
    role: Role,
    is_active: bool,
    employment_status: EmploymentStatus,
    end_date: Option<chrono::NaiveDate>,
    #[diesel(
        select_expression = users::password_hash.is_not_null(),
        select_expression_type = diesel::dsl::IsNotNull<users::password_hash>
    )]
    has_password: bool,
}

fn find_user(conn: &mut PgConnection, id: i64) -> Result<Option<LinkUser>, AppError> {
    Ok(users::table
        .find(id)
        .select(LinkUser::as_select())
        .first(conn)
        .optional()?)
}

impl LinkUser {
    /// Whether this person may log in at all (role, enabled, not gone) and has a username.
    fn may_log_in(&self, today: chrono::NaiveDate) -> bool {
        self.role.can_log_in()
            && self.is_active
            && self.username.is_some()
            && super::current_user::login_allowed_by_status(
                self.employment_status,
                self.end_date,
                today,
            )
    }
}

/// A link as stored (without its hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_links, check_for_backend(diesel::pg::Pg))]
struct LinkRow {
    user_id: i64,
    purpose: LinkPurpose,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    voided_at: Option<DateTime<Utc>>,
}

/// Voids the unused links of `user_id` (all of them, or those of `purpose`).
fn void(
    conn: &mut PgConnection,
    user_id: i64,
    purpose: Option<LinkPurpose>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut q = diesel::update(login_links::table)
        .filter(login_links::user_id.eq(user_id))
        .filter(login_links::used_at.is_null())
        .filter(login_links::voided_at.is_null())
        .into_boxed();
    if let Some(p) = purpose {
        q = q.filter(login_links::purpose.eq(p));
    }
    Ok(q.set(login_links::voided_at.eq(now)).execute(conn)?)
}

/// Voids every unused link of a person (their password was set another way), inside the
/// caller's transaction.
pub fn void_all(conn: &mut PgConnection, user_id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    void(conn, user_id, None, now).map(drop)
}

/// Issues a link of `purpose` for `user` and queues its email, inside the caller's
/// transaction; returns when it expires.
fn issue(
    conn: &mut PgConnection,
    s: &LinkSettings,
    user: &LinkUser,
    purpose: LinkPurpose,
    inviter: Option<&Actor>,
) -> Result<DateTime<Utc>, AppError> {
    void(conn, user.id, Some(purpose), s.now)?;
    let token = sealed::seal(&s.key);
    let expires_at = s.now + s.ttl(purpose);
    diesel::insert_into(login_links::table)
        .values((
            login_links::user_id.eq(user.id),
            login_links::purpose.eq(purpose),
            login_links::token_hash.eq(crate::crypto::sha256(token.secret.as_bytes())),
            login_links::created_at.eq(s.now),
            login_links::expires_at.eq(expires_at),
            login_links::created_by.eq(inviter.and_then(|a| a.person_id())),
        ))
        .execute(conn)?;
    let link = format!("{}{SET_PASSWORD_PATH}{}", s.public_url, token.placeholder);
    let expires = s.show(expires_at);
    let login_url = format!("{}/login", s.public_url);
    let username = user.username.as_deref().unwrap_or("");
    let (subject, text, html) = match purpose {
        LinkPurpose::Invitation => {
            let inviter = inviter.map(|a| a.full_name.as_str()).unwrap_or("An Admin");
            (
                format!("{inviter} invited you to PortalOps"),
                render(
                    InvitationText {
                        name: &user.full_name,
                        inviter,
                        username,
                        link: &link,
                        expires: &expires,
                        sso_label: s.sso_label.as_deref(),
                        login_url: &login_url,
                    }
                    .render(),
                )?,
                render(
                    InvitationHtml {
                        name: &user.full_name,
                        inviter,
                        username,
                        link: &link,
                        expires: &expires,
                        sso_label: s.sso_label.as_deref(),
                        login_url: &login_url,
                    }
                    .render(),
                )?,
            )
        }
        LinkPurpose::Reset => (
            "Reset your PortalOps password".to_string(),
            render(
                ResetText {
                    name: &user.full_name,
                    username,
                    link: &link,
                    expires: &expires,
                }
                .render(),
            )?,
            render(
                ResetHtml {
                    name: &user.full_name,
                    username,
                    link: &link,
                    expires: &expires,
                }
                .render(),
            )?,
        ),
    };
    crate::notify::outbox::enqueue(conn, s.now, &user.email, &subject, &text, &html, None)?;
    Ok(expires_at)
}

/// Whether `user_id` has an invitation that can still be used.
fn live_invitation(
    conn: &mut PgConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        login_links::table
            .filter(login_links::user_id.eq(user_id))
            .filter(login_links::purpose.eq(LinkPurpose::Invitation))
            .filter(login_links::used_at.is_null())
            .filter(login_links::voided_at.is_null())
            .filter(login_links::expires_at.gt(now)),
    ))
    .get_result(conn)?)
}

/// After a person was saved (inside that transaction): someone who now may log in but has
/// no password and no invitation that can still be used is sent one, audited. Returns
/// whether an invitation was sent.
pub fn invite_if_needed(
    conn: &mut PgConnection,
    s: &LinkSettings,
    actor: &Actor,
    id: PersonId,
) -> Result<bool, AppError> {
    let Some(user) = find_user(conn, id.0)? else {
        return Err(AppError::NotFound);
    };
    if user.has_password || !user.may_log_in(s.today) || live_invitation(conn, user.id, s.now)? {
        return Ok(false);
    }
    let expires_at = issue(conn, s, &user, LinkPurpose::Invitation, Some(actor))?;
    audit::record(
        conn,
        AuditEntry::by(
            actor,
            "person.invitation_sent",
            "user",
            Some(id.to_string()),
        )
        .summary(format!(
            "Invitation sent to {} ({}) to set a password; valid until {}",
            user.full_name,
            user.email,
            s.show(expires_at)
        )),
    )?;
    Ok(true)
}

/// "Send invitation again" (Admins): a new invitation for a person who may log in and has
/// no password yet; the older ones stop working.
pub fn resend_invitation(
    conn: &mut PgConnection,
    s: &LinkSettings,
    actor: &Actor,
    id: PersonId,
) -> Result<String, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    crate::db::transaction(conn, |conn| {
        let user = users::table
            .find(id.0)
            .select(LinkUser::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if user.has_password {
            return Err(CommandError::Refused(format!(
                "{} has set a password already: they can use “Forgot password” on the login page.",
                user.full_name
            )));
        }
        if !user.may_log_in(s.today) {
            return Err(CommandError::Refused(format!(
                "{} cannot log in (their role, their enabled login or their employment status): \
                 give them a login first.",
                user.full_name
            )));
        }
        let expires_at = issue(conn, s, &user, LinkPurpose::Invitation, Some(actor))?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "person.invitation_resent",
                "user",
                Some(id.to_string()),
            )
            .summary(format!(
                "Invitation sent again to {} ({}); valid until {}; older invitations voided",
                user.full_name,
                user.email,
                s.show(expires_at)
            )),
        )?;
        Ok(user.email.clone())
    })
}

/// A person's login as an Admin sees it on their page.
#[derive(Debug, Clone)]
pub enum LoginState {
    /// A role without login, or a login switched off.
    NoLogin,
    HasPassword,
    Invited {
        sent: String,
        expires: String,
        expired: bool,
    },
    /// May log in, has no password and was never invited (e.g. before invitations existed).
    NotInvited,
}

impl LoginState {
    /// Whether "Send invitation again" applies.
    pub fn can_invite(&self) -> bool {
        matches!(self, LoginState::Invited { .. } | LoginState::NotInvited)
    }
}

/// The login state of person `id` (Admins).
pub fn login_state(
    conn: &mut PgConnection,
    actor: &Actor,
    s: &LinkSettings,
    id: PersonId,
) -> Result<LoginState, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let user = find_user(conn, id.0)?.ok_or(AppError::NotFound)?;
    if user.has_password {
        return Ok(LoginState::HasPassword);
    }
    if !user.may_log_in(s.today) {
        return Ok(LoginState::NoLogin);
    }
    let latest: Option<LinkRow> = login_links::table
        .filter(login_links::user_id.eq(user.id))
        .filter(login_links::purpose.eq(LinkPurpose::Invitation))
        .filter(login_links::used_at.is_null())
        .order(login_links::id.desc())
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match latest {
        None => LoginState::NotInvited,
        Some(l) => LoginState::Invited {
            sent: s.show(l.created_at),
            expires: s.show(l.expires_at),
            expired: l.expires_at <= s.now || l.voided_at.is_some(),
        },
    })
}

/// Why a link cannot be used (or whom it is for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCheck {
    Valid {
        purpose: LinkPurpose,
        username: String,
        full_name: String,
    },
    Unknown,
    Used,
    Expired,
    /// Replaced by a newer link, or the person can no longer log in.
    Voided,
}

/// What link `token` is, at `now`.
pub fn check(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
) -> Result<LinkCheck, AppError> {
    let found: Option<LinkRow> = login_links::table
        .filter(login_links::token_hash.eq(crate::crypto::sha256(token.as_bytes())))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?;
    let Some(link) = found else {
        return Ok(LinkCheck::Unknown);
    };
    if link.used_at.is_some() {
        return Ok(LinkCheck::Used);
    }
    if link.voided_at.is_some() {
        return Ok(LinkCheck::Voided);
    }
    if link.expires_at <= now {
        return Ok(LinkCheck::Expired);
    }
    match find_user(conn, link.user_id)? {
        Some(u) if u.may_log_in(today) => Ok(LinkCheck::Valid {
            purpose: link.purpose,
            username: u.username.unwrap_or_default(),
            full_name: u.full_name,
        }),
        _ => Ok(LinkCheck::Voided),
    }
}

/// A password set through a link.
#[derive(Debug)]
pub enum Redeemed {
    Done {
        purpose: LinkPurpose,
        sessions_ended: usize,
    },
    /// The link could not be used (another tab was first, or it expired meanwhile).
    Refused(LinkCheck),
}

/// Uses link `token` to set `password_hash` (argon2id, hashed by the caller on the hasher's
/// threads): marks it used in one atomic step, voids the person's other links, ends all
/// their sessions and audits it, in one transaction.
pub fn redeem(
    conn: &mut PgConnection,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
    client_ip: Option<&str>,
) -> Result<Redeemed, AppError> {
    let hash = crate::crypto::sha256(token.as_bytes());
    let done = crate::db::transaction(conn, |conn| {
        let may_log_in = users::table
            .filter(users::role.ne(Role::User))
            .filter(users::is_active.eq(true))
            .filter(users::username.is_not_null())
            .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
            .select(users::id);
        let used: Option<(i64, i64, LinkPurpose)> = diesel::update(
            login_links::table
                .filter(login_links::token_hash.eq(&hash))
                .filter(login_links::used_at.is_null())
                .filter(login_links::voided_at.is_null())
                .filter(login_links::expires_at.gt(now))
                .filter(login_links::user_id.eq_any(may_log_in)),
        )
        .set(login_links::used_at.eq(now))
        .returning((login_links::id, login_links::user_id, login_links::purpose))
        .get_result(conn)
        .optional()?;
        let Some((link_id, user_id, purpose)) = used else {
            return Ok::<_, AppError>(None);
        };
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        void(conn, user_id, None, now)?;
        let ended = super::tokens::revoke_user_sessions(
            conn,
            user_id,
            None,
            "password set through an emailed link",
        )?;
        let (label, summary) = match purpose {
            LinkPurpose::Invitation => (
                "user.password_set",
                "Set a first password through an invitation link",
            ),
            LinkPurpose::Reset => (
                "user.password_reset",
                "Reset a forgotten password through an emailed link",
            ),
        };
        let username: Option<String> = users::table
            .find(user_id)
            .select(users::username)
            .first(conn)?;
        audit::record(
            conn,
            AuditEntry::system(label, "user", Some(user_id.to_string()))
                .actor(Some(user_id), username.unwrap_or_default())
                .summary(format!(
                    "{summary}; {ended} session(s) ended (link #{link_id})"
                ))
                .client_ip(client_ip),
        )?;
        Ok(Some((purpose, ended)))
    })?;
    Ok(match done {
        Some((purpose, sessions_ended)) => Redeemed::Done {
            purpose,
            sessions_ended,
        },
        None => Redeemed::Refused(match check(conn, token, now, today)? {
            // Valid a moment ago and refused now: it changed in between.
            LinkCheck::Valid { .. } => LinkCheck::Used,
            other => other,
        }),
    })
}

/// How a "Forgot password" request was answered (the page is the same either way).
#[derive(Debug, PartialEq, Eq)]
pub enum ResetRequest {
    /// Answered: an email went out if the address or username belongs to someone who may
    /// log in and has not had too many already.
    Answered,
    /// Too many requests from this client address.
    Throttled { retry_after_secs: u64 },
}

/// "Forgot password": by email address (with an `@`) or username. The same work is done
/// and the same answer given whether or not anyone has it; a reset email goes out to a
/// person who may log in, at most `RESETS_PER_PERSON_PER_HOUR` an hour.
pub fn request_reset(
    conn: &mut PgConnection,
    s: &LinkSettings,
    throttle_cfg: &ThrottleConfig,
    who: &str,
    client_ip: &str,
) -> Result<ResetRequest, AppError> {
    let hour = std::time::Duration::from_secs(3600);
    let cfg = ThrottleConfig {
        lockout: hour,
        ..throttle_cfg.clone()
    };
    let key = super::throttle::Key {
        key: format!("reset-ip:{client_ip}"),
        kind: super::throttle::Kind::Address,
        limit: RESET_REQUESTS_PER_ADDRESS_PER_HOUR,
        user_id: None,
        client_ip: Some(client_ip.to_string()),
    };
    if let super::throttle::Verdict::Locked { retry_after_secs } =
        super::throttle::reserve(conn, &cfg, s.now, &[key])?
    {
        return Ok(ResetRequest::Throttled {
            retry_after_secs: retry_after_secs.max(60),
        });
    }
    let who = who.trim().to_lowercase();
    crate::db::transaction(conn, |conn| {
        let user: Option<LinkUser> = if who.contains('@') {
            users::table
                .filter(lower(users::email).eq(&who))
                .select(LinkUser::as_select())
                .for_update()
                .first(conn)
                .optional()?
        } else {
            users::table
                .filter(lower_nullable(users::username).eq(&who))
                .select(LinkUser::as_select())
                .for_update()
                .first(conn)
                .optional()?
        };
        let since = s.now - chrono::TimeDelta::hours(1);
        // Counted for anyone found (and for nobody, id -1): the same statements either way.
        let recent: i64 = login_links::table
            .filter(login_links::user_id.eq(user.as_ref().map_or(-1, |u| u.id)))
            .filter(login_links::purpose.eq(LinkPurpose::Reset))
            .filter(login_links::created_at.gt(since))
            .count()
            .get_result(conn)?;
        let Some(user) = user.filter(|u| u.may_log_in(s.today)) else {
            return Ok(());
        };
        if recent >= RESETS_PER_PERSON_PER_HOUR {
            tracing::info!(
                user = user.id,
                "password reset not sent: hourly limit reached"
            );
            return Ok(());
        }
        let expires_at = issue(conn, s, &user, LinkPurpose::Reset, None)?;
        audit::record(
            conn,
            AuditEntry::system(
                "auth.password_reset_requested",
                "user",
                Some(user.id.to_string()),
            )
            .actor(None, "forgot password")
            .summary(format!(
                "Password reset link emailed to {}; valid until {}",
                user.email,
                s.show(expires_at)
            ))
            .client_ip(Some(client_ip)),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(ResetRequest::Answered)
}
