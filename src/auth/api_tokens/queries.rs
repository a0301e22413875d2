//! API tokens as the pages and the API list them: one's own, or everyone's (Admins). Never
//! the hash: nothing listed can be used as a token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{api_tokens, service_accounts, users};
use crate::domain::{ApiTokenId, ServiceAccountId};
use crate::error::AppError;

/// How many tokens a list shows at most (newest first).
const LIMIT: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct TokenRow {
    pub id: ApiTokenId,
    pub user_id: Option<i64>,
    pub service_account_id: Option<ServiceAccountId>,
    pub name: String,
    pub prefix: String,
    /// Canonical scope words, space-separated.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether a token still works, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl TokenState {
    pub fn label(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

impl TokenRow {
    pub fn state(&self, now: DateTime<Utc>) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

/// `actor`'s own tokens, newest first.
pub fn own(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<TokenRow>, AppError> {
    authorize(actor, Action::ManageOwnApiTokens)?;
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(actor.person()?))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(LIMIT)
        .select(TokenRow::as_select())
        .load(conn)?)
}

/// A token with its owner, for the Admins' list.
pub struct OwnedToken {
    pub token: TokenRow,
    /// "Full Name (username)", or "service: <name>".
    pub owner: String,
}

/// Everyone's tokens, people's and service accounts', newest first (Admins).
pub fn everyone(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<OwnedToken>, AppError> {
    authorize(actor, Action::ManageAllApiTokens)?;
    type Row = (TokenRow, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = api_tokens::table
        .left_join(users::table)
        .left_join(service_accounts::table)
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(LIMIT)
        .select((
            TokenRow::as_select(),
            users::full_name.nullable(),
            users::username.nullable(),
            service_accounts::name.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(token, full_name, username, service)| {
            let owner = match (full_name, service) {
                (_, Some(service)) => crate::auth::service_accounts::label(&service),
                (Some(name), None) => {
                    format!("{name} ({})", username.unwrap_or_default())
                }
                (None, None) => String::new(),
            };
            OwnedToken { token, owner }
        })
        .collect())
}

/// A service account's tokens, newest first (Admins; 404 when there is no such account).
pub fn of_service(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceAccountId,
) -> Result<Vec<TokenRow>, AppError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    Ok(api_tokens::table
        .filter(api_tokens::service_account_id.eq(id))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(LIMIT)
        .select(TokenRow::as_select())
        .load(conn)?)
}
