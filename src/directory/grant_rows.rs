//! Active grants as rows of a spreadsheet: the grants CSV export, whose columns the grants
//! import reads back (`imports::grants`), so a file exported here moves into another
//! instance, or back after an edit.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::queries::product_scope;
use crate::authz::{authorize_on, Actor, Object, ObjectAction};
use crate::db::lower;
use crate::db::schema::{access_grants, products, services, users};
use crate::domain::{PersonId, ProductId, ServiceId};
use crate::error::AppError;

/// The columns the grants import reads.
pub const IMPORTED: &[&str] = &[
    "email",
    "service",
    "product",
    "account_identifier",
    "note",
    "granted_on",
];

/// The export's columns: the import's, then what it ignores.
pub const COLUMNS: &[&str] = &[
    "email",
    "service",
    "product",
    "account_identifier",
    "note",
    "granted_on",
    "full_name",
    "employment_status",
    "granted_by",
];

/// Whose grants.
#[derive(Debug, Clone, Copy)]
pub enum GrantsOf {
    /// Everything in the actor's scope.
    All,
    Service(ServiceId),
    Product(ProductId),
    Person(PersonId),
}

/// The active grants of `of` in the actor's scope, by service, product and person. A
/// service or product the actor cannot see, or a person who does not exist, is not found.
pub fn export(
    conn: &mut PgConnection,
    actor: &Actor,
    of: GrantsOf,
) -> Result<Vec<Vec<String>>, AppError> {
    match of {
        GrantsOf::Service(id) => {
            authorize_on(actor, ObjectAction::View, Object::Service(id.get()))?
        }
        GrantsOf::Product(id) => {
            crate::authz::load_product(conn, actor, ObjectAction::View, id)?;
        }
        GrantsOf::Person(id) => {
            super::queries::person_name(conn, id)?;
        }
        GrantsOf::All => {}
    }
    let granter = diesel::alias!(users as granter);
    let mut q = access_grants::table
        .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
        .inner_join(products::table.inner_join(services::table))
        .left_join(
            granter.on(granter
                .field(users::id)
                .nullable()
                .eq(access_grants::granted_by)),
        )
        .filter(access_grants::revoked_at.is_null())
        .order((
            lower(services::name).asc(),
            lower(products::name).asc(),
            lower(users::email).asc(),
        ))
        .select((
            users::email,
            services::name,
            products::name,
            access_grants::account_identifier,
            access_grants::note,
            access_grants::granted_at,
            users::full_name,
            users::employment_status,
            granter.field(users::full_name).nullable(),
        ))
        .into_boxed();
    q = match of {
        GrantsOf::All => q,
        GrantsOf::Service(id) => q.filter(products::service_id.eq(id)),
        GrantsOf::Product(id) => q.filter(access_grants::product_id.eq(id)),
        GrantsOf::Person(id) => q.filter(access_grants::user_id.eq(id)),
    };
    if let Some(scope) = product_scope(conn, actor)? {
        q = q.filter(access_grants::product_id.eq_any(scope));
    }
    type Row = (
        String,
        String,
        String,
        String,
        String,
        DateTime<Utc>,
        String,
        crate::domain::EmploymentStatus,
        Option<String>,
    );
    let rows: Vec<Row> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(email, service, product, account, note, at, name, status, by)| {
                vec![
                    email,
                    service,
                    product,
                    account,
                    note,
                    at.date_naive().to_string(),
                    name,
                    status.as_str().to_string(),
                    by.unwrap_or_default(),
                ]
            },
        )
        .collect())
}
