//! Making and revoking API tokens, each audited in its transaction. The secret is returned
//! once, to be shown once; the audit entry and the logs name the token by its prefix only.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::generate;
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor, Principal};
use crate::clock::Clock;
use crate::db::schema::{api_tokens, service_accounts};
use crate::domain::scopes::ScopeError;
use crate::domain::text::Line;
use crate::domain::{ApiTokenId, FieldErrors, ServiceAccountId, TokenScopes};
use crate::error::{AppError, CommandError};

/// A token to make, checked: a name, an optional last day, at least one scope.
#[derive(Debug, Clone)]
pub struct NewToken {
    name: Line<100>,
    expires_on: Option<NaiveDate>,
    /// The end of `expires_on` in the configured time zone.
    expires_at: Option<DateTime<Utc>>,
    scopes: TokenScopes,
}

impl NewToken {
    /// `expires_on` is `YYYY-MM-DD` or empty (no expiry); every wrong field at once.
    pub fn new(
        name: &str,
        expires_on: &str,
        scopes: Result<TokenScopes, ScopeError>,
        clock: &Clock,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = Line::<100>::required(name)
            .map_err(|e| errors.add("name", e.message("The name")))
            .ok();
        let expires_on = match expires_on.trim() {
            "" => Ok(None),
            text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Err(_) => Err("Enter the day as YYYY-MM-DD, or leave it empty for no expiry."),
                Ok(day) if day < clock.today() => Err("Choose today or a later day."),
                Ok(day) if day > clock.today() + chrono::Days::new(3660) => {
                    Err("Choose a day within ten years, or leave it empty for no expiry.")
                }
                Ok(day) => Ok(Some(day)),
            },
        }
        .map_err(|m| errors.add("expires_on", m))
        .ok();
        let scopes = scopes.map_err(|e| errors.add("scopes", e.0)).ok();
        match (name, expires_on, scopes) {
            (Some(name), Some(expires_on), Some(scopes)) if errors.is_empty() => Ok(Self {
                name,
                expires_at: expires_on.map(|day| end_of(day, clock)),
                expires_on,
                scopes,
            }),
            _ => Err(errors),
        }
    }
}

/// The first moment after `day` in the clock's time zone.
fn end_of(day: NaiveDate, clock: &Clock) -> DateTime<Utc> {
    let next = (day + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN);
    let tz = clock.timezone();
    tz.from_local_datetime(&next)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(next + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| next.and_utc())
}

/// A token just made: the secret is here and nowhere else.
pub struct Created {
    pub id: ApiTokenId,
    pub secret: String,
    pub prefix: String,
    pub name: String,
    pub scopes: TokenScopes,
    pub expires_on: Option<NaiveDate>,
}

/// Makes a token for `actor` (audited).
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    request: NewToken,
    now: DateTime<Utc>,
) -> Result<Created, CommandError> {
    authorize(actor, Action::ManageOwnApiTokens)?;
    let owner = Owner {
        principal: Principal::Person(actor.person()?),
        label: actor.username.clone(),
    };
    insert(conn, actor, &owner, request, now, false)
}

/// Makes a token for a service account (Admins; audited as made by them). A disabled
/// service account gets none.
pub fn create_for_service(
    conn: &mut PgConnection,
    actor: &Actor,
    service_account: ServiceAccountId,
    request: NewToken,
    now: DateTime<Utc>,
) -> Result<Created, CommandError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    let owner = service_owner(conn, service_account)?;
    insert(conn, actor, &owner, request, now, false)
}

/// Whom a token is made for: the principal and how the audit names them.
struct Owner {
    principal: Principal,
    label: String,
}

/// The service account as a token's owner: 404 when there is none, refused when disabled.
fn service_owner(conn: &mut PgConnection, id: ServiceAccountId) -> Result<Owner, CommandError> {
    let found: Option<(String, Option<DateTime<Utc>>)> = service_accounts::table
        .find(id)
        .select((service_accounts::name, service_accounts::disabled_at))
        .first(conn)
        .optional()
        .map_err(AppError::from)?;
    match found {
        None => Err(AppError::NotFound.into()),
        Some((name, Some(_))) => Err(CommandError::Refused(format!(
            "The service account \"{name}\" is disabled: enable it before making a token."
        ))),
        Some((name, None)) => Ok(Owner {
            principal: Principal::Service(id),
            label: crate::auth::service_accounts::label(&name),
        }),
    }
}

/// Makes a token for the login `username` from the shell (`portalops token create`, for
/// service scripts): the same rules as their own (they must still be able to log in),
/// audited as made by the command line for them.
pub fn create_from_shell(
    conn: &mut PgConnection,
    username: &str,
    request: NewToken,
    clock: &Clock,
) -> Result<Created, CommandError> {
    let id: Option<i64> = crate::db::schema::users::table
        .filter(crate::db::schema::users::username.eq(username))
        .select(crate::db::schema::users::id)
        .first(conn)
        .optional()
        .map_err(AppError::from)?;
    let owner = match id {
        Some(id) => crate::auth::current_user::actor_without_session(conn, id, clock.today())?,
        None => None,
    }
    .ok_or_else(|| {
        CommandError::Refused(format!(
            "There is no login {username:?} that may log in now (an Admin, Service or Product \
             Administrator, active)."
        ))
    })?;
    authorize(&owner, Action::ManageOwnApiTokens)?;
    let whose = Owner {
        principal: owner.principal,
        label: owner.username.clone(),
    };
    insert(conn, &owner, &whose, request, clock.now(), true)
}

/// Makes a token for the service account `name` from the shell (`portalops token create
/// --service`, to set up provisioning before anyone logs in), audited as made by the
/// command line.
pub fn create_for_service_from_shell(
    conn: &mut PgConnection,
    name: &str,
    request: NewToken,
    clock: &Clock,
) -> Result<Created, CommandError> {
    let id: Option<ServiceAccountId> = service_accounts::table
        .filter(crate::db::lower(service_accounts::name).eq(name.to_lowercase()))
        .select(service_accounts::id)
        .first(conn)
        .optional()
        .map_err(AppError::from)?;
    let id = id.ok_or_else(|| {
        CommandError::Refused(format!(
            "There is no service account {name:?}: an Admin makes it on Settings → Service \
             accounts."
        ))
    })?;
    let owner = service_owner(conn, id)?;
    let actor =
        crate::auth::service_accounts::actor(conn, id, clock.today())?.ok_or_else(|| {
            CommandError::Refused(format!("The service account {name:?} is disabled."))
        })?;
    insert(conn, &actor, &owner, request, clock.now(), true)
}

fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    owner: &Owner,
    request: NewToken,
    now: DateTime<Utc>,
    from_shell: bool,
) -> Result<Created, CommandError> {
    let (secret, prefix, hash) = generate();
    let (user_id, service_account_id) = match owner.principal {
        Principal::Person(id) => (Some(id), None),
        Principal::Service(id) => (None, Some(id)),
    };
    let id = crate::db::transaction(conn, |conn| {
        let id: ApiTokenId = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::service_account_id.eq(service_account_id),
                api_tokens::name.eq(request.name.as_str()),
                api_tokens::prefix.eq(&prefix),
                api_tokens::token_hash.eq(&hash),
                api_tokens::scopes.eq(request.scopes.to_string()),
                api_tokens::created_at.eq(now),
                api_tokens::expires_at.eq(request.expires_at),
            ))
            .returning(api_tokens::id)
            .get_result(conn)?;
        let entry = AuditEntry::by(actor, "api_token.create", "api_token", Some(id.to_string()));
        let (entry, by) = if from_shell {
            (
                entry.actor(None, "command line"),
                " with `portalops token create`",
            )
        } else {
            (entry, "")
        };
        audit::record(
            conn,
            entry
                .summary(format!(
                    "API token {prefix} \"{}\" made for {}{by} ({})",
                    request.name, owner.label, request.scopes
                ))
                .after(json!({
                    "name": request.name.as_str(),
                    "prefix": prefix,
                    "owner_id": user_id,
                    "service_account_id": service_account_id,
                    "scopes": request.scopes.words(),
                    "expires_on": request.expires_on,
                })),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(Created {
        id,
        secret,
        prefix,
        name: request.name.into_string(),
        scopes: request.scopes,
        expires_on: request.expires_on,
    })
}

/// Revokes a token (audited): the owner's own, or anyone's for an Admin. Another's token
/// answers 404 to everyone else; one already revoked is refused.
pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ApiTokenId,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManageOwnApiTokens)?;
    let everyone = crate::authz::can(actor, Action::ManageAllApiTokens);
    crate::db::transaction(conn, |conn| {
        type Found = (
            Option<i64>,
            Option<ServiceAccountId>,
            String,
            String,
            Option<DateTime<Utc>>,
        );
        let found: Option<Found> = api_tokens::table
            .find(id)
            .select((
                api_tokens::user_id,
                api_tokens::service_account_id,
                api_tokens::prefix,
                api_tokens::name,
                api_tokens::revoked_at,
            ))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((owner_id, service_account_id, prefix, name, revoked_at)) = found else {
            return Err(AppError::NotFound.into());
        };
        let mine = owner_id.is_some() && owner_id == actor.person_id();
        if !mine && !everyone {
            return Err(AppError::NotFound.into());
        }
        if revoked_at.is_some() {
            return Err(CommandError::Refused(format!(
                "The API token {prefix} was already revoked."
            )));
        }
        diesel::update(api_tokens::table.find(id))
            .set((
                api_tokens::revoked_at.eq(now),
                api_tokens::revoked_by.eq(actor.person_id()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "api_token.revoke", "api_token", Some(id.to_string()))
                .summary(format!("API token {prefix} \"{name}\" revoked"))
                .after(json!({
                    "name": name,
                    "prefix": prefix,
                    "owner_id": owner_id,
                    "service_account_id": service_account_id,
                })),
        )?;
        Ok(())
    })
}
