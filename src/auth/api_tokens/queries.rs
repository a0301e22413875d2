//! API tokens as the pages and the API list them: one's own, or everyone's (Admins). Never
//! the hash: nothing listed can be used as a token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{api_tokens, users};
use crate::domain::ApiTokenId;
use crate::error::AppError;

/// How many tokens a list shows at most (newest first).
const LIMIT: i64 = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct TokenRow {
    pub id: ApiTokenId,
    pub user_id: i64,
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
        .filter(api_tokens::user_id.eq(actor.id))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(LIMIT)
        .select(TokenRow::as_select())
        .load(conn)?)
}

/// A token with its owner, for the Admins' list.
pub struct OwnedToken {
    pub token: TokenRow,
    pub owner_name: String,
    pub owner_username: String,
}

/// Everyone's tokens, newest first (Admins).
pub fn everyone(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<OwnedToken>, AppError> {
    authorize(actor, Action::ManageAllApiTokens)?;
    let rows: Vec<(TokenRow, String, Option<String>)> = api_tokens::table
        .inner_join(users::table)
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .limit(LIMIT)
        .select((TokenRow::as_select(), users::full_name, users::username))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(token, owner_name, username)| OwnedToken {
            token,
            owner_name,
            owner_username: username.unwrap_or_default(),
        })
        .collect())
}
