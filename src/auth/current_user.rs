//! The `CurrentUser` extractor: every page that needs a login takes it. It validates the
//! access token, refreshes it transparently from the refresh token when it has expired, and
//! loads the user and their session from the database, so that logout, deactivation and role
//! changes take effect at the very next request.

use actix_session::SessionExt as _;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;

use super::session as sess;
use super::tokens::{self, AccessError, RefreshOutcome};
use crate::authz::{Actor, Principal, Role, Scope};
use crate::clock::Clock;
use crate::db::schema::{
    auth_sessions, identity_links, product_admins, products, service_admins, users,
};
use crate::domain::EmploymentStatus;
use crate::error::AppError;
use crate::web::{client_ip, AppState};

/// The logged-in user of this request. A user of whom the Admins' policy requires a second
/// factor they have not set up yet is refused here (the one place): pages send them to the
/// enrolment page (`AppError::SecondFactorSetupRequired`).
pub struct CurrentUser(pub Actor);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req, Gate::Enforce).await.map(CurrentUser) })
    }
}

/// The logged-in user, also one who must still set up their second factor: only the
/// two-factor enrolment pages and logout take it.
pub struct EnrollingUser(pub Actor);

impl FromRequest for EnrollingUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(&req, Gate::AllowEnrolment)
                .await
                .map(EnrollingUser)
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    Enforce,
    AllowEnrolment,
}

/// Where to come back to after logging in: the page asked for, for GET requests.
fn return_path(req: &HttpRequest) -> Option<String> {
    (req.method() == actix_web::http::Method::GET && req.path() != "/").then(|| {
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        pq.to_string()
    })
}

async fn authenticate(req: &HttpRequest, gate: Gate) -> Result<Actor, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?
        .clone();
    let session = req.get_session();
    let login_required = || AppError::LoginRequired {
        next: return_path(req),
    };
    let (Some(access), refresh) = sess::tokens(&session) else {
        return Err(login_required());
    };
    let ip = client_ip(req, &state.config.trusted_proxies);

    enum Step {
        Valid { user_id: i64, session_id: i64 },
        Refresh(String),
    }
    let step = match state.keys.decode_access(&access) {
        Ok(claims) => match claims.sub.parse::<i64>() {
            Ok(user_id) => Step::Valid {
                user_id,
                session_id: claims.sid,
            },
            Err(_) => Step::Refresh(String::new()),
        },
        Err(AccessError::Expired) => Step::Refresh(refresh.unwrap_or_default()),
        Err(AccessError::Invalid) => {
            sess::end(&session);
            return Err(login_required());
        }
    };

    let keys = state.keys.clone();
    let clock = state.clock.clone();
    let ip_for_db = ip.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        let (user_id, session_id, rotated) = match step {
            Step::Valid {
                user_id,
                session_id,
            } => (user_id, session_id, None),
            Step::Refresh(token) if token.is_empty() => return Ok(None),
            Step::Refresh(token) => {
                match tokens::rotate(conn, &keys, &token, ip_for_db.as_deref())? {
                    RefreshOutcome::Rotated {
                        user_id,
                        session_id,
                        refresh,
                    } => (user_id, session_id, Some(refresh)),
                    RefreshOutcome::Invalid | RefreshOutcome::ReuseDetected => return Ok(None),
                }
            }
        };
        let Some((actor, enrolment_due)) = load_session_actor(conn, user_id, session_id, &clock)?
        else {
            return Ok(None);
        };
        let must_enrol = gate == Gate::Enforce && enrolment_due;
        Ok(Some((actor, rotated, must_enrol)))
    })
    .await?;

    match result {
        Some((mut actor, rotated, must_enrol)) => {
            // A rotated refresh token is kept before any refusal, or the next request
            // would present the old one.
            if let Some(new_refresh) = rotated {
                let access = state.keys.issue_access(actor.person()?, actor.session_id)?;
                sess::set_tokens(&session, &access, &new_refresh);
            }
            if must_enrol {
                sess::flash(
                    &session,
                    sess::FlashKind::Info,
                    "Set up two-factor login first: it is required for your account.",
                );
                return Err(AppError::SecondFactorSetupRequired);
            }
            actor.client_ip = ip;
            Ok(actor)
        }
        None => {
            sess::end(&session);
            Err(login_required())
        }
    }
}

/// What deciding whether someone may act needs of their row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct LoginRow {
    id: i64,
    username: Option<String>,
    full_name: String,
    role: Role,
    is_active: bool,
    employment_status: EmploymentStatus,
    password_hash: Option<String>,
    end_date: Option<chrono::NaiveDate>,
}

/// `load_actor` for the API: a user who must still set up a second factor is refused
/// (`AppError::SecondFactorSetupRequired`, a 403 there).
pub fn load_actor_gated(
    conn: &mut PgConnection,
    user_id: i64,
    session_id: i64,
    clock: &Clock,
) -> Result<Option<Actor>, AppError> {
    match load_session_actor(conn, user_id, session_id, clock)? {
        Some((_, true)) => Err(AppError::SecondFactorSetupRequired),
        found => Ok(found.map(|(actor, _)| actor)),
    }
}

/// The user behind an active session, if they may still log in.
pub fn load_actor(
    conn: &mut PgConnection,
    user_id: i64,
    session_id: i64,
    clock: &Clock,
) -> Result<Option<Actor>, AppError> {
    Ok(load_session_actor(conn, user_id, session_id, clock)?.map(|(actor, _)| actor))
}

/// `load_actor`, and whether the two-factor policy still wants this user to set up a
/// second factor (`two_factor::queries::enrolment_due`): the policy and the factor are read
/// by the same statement as the user and the session, so the gate costs no query.
fn load_session_actor(
    conn: &mut PgConnection,
    user_id: i64,
    session_id: i64,
    clock: &Clock,
) -> Result<Option<(Actor, bool)>, AppError> {
    use crate::db::schema::{app_settings, user_totp};
    let row: Option<(LoginRow, Option<String>, bool)> = users::table
        .inner_join(auth_sessions::table)
        .filter(users::id.eq(user_id))
        .filter(auth_sessions::id.eq(session_id))
        .filter(auth_sessions::revoked_at.is_null())
        // Sessions are written with the process clock (`auth::tokens`), so they expire by it.
        .filter(auth_sessions::expires_at.gt(crate::clock::now()))
        .select((
            LoginRow::as_select(),
            app_settings::table
                .filter(app_settings::key.eq(super::two_factor::queries::POLICY_SETTING))
                .select(app_settings::value)
                .single_value(),
            diesel::dsl::exists(
                user_totp::table
                    .filter(user_totp::user_id.eq(user_id))
                    .filter(user_totp::confirmed_at.is_not_null()),
            ),
        ))
        .first(conn)
        .optional()?;
    let Some((
        LoginRow {
            id,
            username,
            full_name,
            role,
            is_active,
            employment_status,
            password_hash,
            end_date,
        },
        policy,
        enrolled,
    )) = row
    else {
        return Ok(None);
    };
    let may_log_in = is_active
        && role.can_log_in()
        && login_allowed_by_status(employment_status, end_date, clock.today())
        && has_login(conn, id, password_hash.is_some())?;
    if !may_log_in {
        return Ok(None);
    }
    let enrolment_due =
        super::two_factor::queries::enrolment_due(policy, role, enrolled, password_hash.is_some())?;
    let scope = load_scope(conn, id, role)?;
    let actor = Actor {
        principal: Principal::Person(id),
        username: username.unwrap_or_default(),
        full_name,
        role,
        session_id,
        client_ip: None,
        scope,
        unread: crate::notify::unread_count(conn, id)?,
        today: clock.today(),
    };
    Ok(Some((actor, enrolment_due)))
}

/// The services or products an administrator runs (one query; none for Admins).
fn load_scope(conn: &mut PgConnection, user_id: i64, role: Role) -> Result<Scope, AppError> {
    Ok(match role {
        Role::ServiceAdmin => Scope {
            services: service_admins::table
                .filter(service_admins::user_id.eq(user_id))
                .select(service_admins::service_id)
                .load(conn)?,
            products: Vec::new(),
        },
        Role::ProductAdmin => Scope {
            services: Vec::new(),
            products: product_admins::table
                .inner_join(products::table)
                .filter(product_admins::user_id.eq(user_id))
                .select((products::id, products::service_id))
                .load(conn)?,
        },
        Role::Admin | Role::User => Scope::default(),
    })
}

/// Whether a person has a way to log in: a password (`has_password`), or an identity at the
/// single sign-on provider linked to them. The one rule for sessions, the calendar feed and
/// the directory's "someone who can log in needs a password".
pub fn has_login(
    conn: &mut PgConnection,
    user_id: i64,
    has_password: bool,
) -> Result<bool, AppError> {
    if has_password {
        return Ok(true);
    }
    Ok(diesel::select(diesel::dsl::exists(
        identity_links::table.filter(identity_links::user_id.eq(user_id)),
    ))
    .get_result(conn)?)
}

/// Offboarded people cannot log in, nor can people being offboarded once their last day has
/// passed (their login is disabled "on the last day").
pub fn login_allowed_by_status(
    employment_status: EmploymentStatus,
    end_date: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> bool {
    match employment_status {
        EmploymentStatus::Offboarded => false,
        EmploymentStatus::Offboarding => end_date.is_none_or(|d| d >= today),
        EmploymentStatus::Active | EmploymentStatus::Onboarding => true,
    }
}

/// The actor a user would be, without a login session (the calendar feed): `None` when the
/// user may not log in.
pub fn actor_without_session(
    conn: &mut PgConnection,
    user_id: i64,
    today: chrono::NaiveDate,
) -> Result<Option<Actor>, AppError> {
    let row: Option<LoginRow> = users::table
        .find(user_id)
        .select(LoginRow::as_select())
        .first(conn)
        .optional()?;
    actor_of_row(conn, row, today)
}

/// `actor_without_session` for a row already read (an API token and its owner are read in
/// one statement).
pub(crate) fn actor_of_row(
    conn: &mut PgConnection,
    row: Option<LoginRow>,
    today: chrono::NaiveDate,
) -> Result<Option<Actor>, AppError> {
    let Some(LoginRow {
        id: user_id,
        username,
        full_name,
        role,
        is_active,
        employment_status: status,
        password_hash: hash,
        end_date,
    }) = row
    else {
        return Ok(None);
    };
    if !(is_active
        && role.can_log_in()
        && login_allowed_by_status(status, end_date, today)
        && has_login(conn, user_id, hash.is_some())?)
    {
        return Ok(None);
    }
    Ok(Some(Actor {
        principal: Principal::Person(user_id),
        username: username.unwrap_or_default(),
        full_name,
        role,
        session_id: 0,
        client_ip: None,
        scope: load_scope(conn, user_id, role)?,
        unread: 0,
        today,
    }))
}
