//! Service accounts: what a script or a provisioning system (SCIM) acts as, instead of a
//! person. A service account is not a row of `users` — it has no email, password, manager,
//! employment or grants, so the directory, the seat counts, workflows and reminders never
//! see one — and it acts only through its API tokens (`api_tokens`), as an `Actor` whose
//! principal is `Principal::Service`: its own role (Admin, or Service or Product
//! Administrator of the listed services or products), narrowed by each token's scopes.
//! What only a person may do (`authz::Action::needs_person`) is refused to it.
//!
//! Admins make, change, disable and enable them on Settings → Service accounts, every change
//! audited in its transaction; disabling one stops every token of it at the next request.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor, Principal, Role, Scope};
use crate::db::schema::{
    api_tokens, products, service_account_products, service_account_services, service_accounts,
    services,
};
use crate::domain::text::{Line, Paragraph};
use crate::domain::{FieldErrors, ServiceAccountId};
use crate::error::{AppError, CommandError};

/// The roles a service account may have (a plain "User" cannot log in, so it could do
/// nothing).
pub const ROLES: [Role; 3] = [Role::Admin, Role::ServiceAdmin, Role::ProductAdmin];

/// How a service account is named in audit entries and wherever an actor is shown.
pub fn label(name: &str) -> String {
    format!("service: {name}")
}

/// A service account to make or the new state of one, checked: every wrong field at once.
#[derive(Debug, Clone)]
pub struct ServiceAccountRequest {
    name: Line<100>,
    description: Paragraph<500>,
    role: Role,
    /// What a Service Administrator runs (empty for the other roles).
    services: Vec<i64>,
    /// What a Product Administrator runs (empty for the other roles).
    products: Vec<i64>,
}

impl ServiceAccountRequest {
    pub fn new(
        name: &str,
        description: &str,
        role: &str,
        mut services: Vec<i64>,
        mut products: Vec<i64>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = Line::<100>::required(name)
            .map_err(|e| errors.add("name", e.message("The name")))
            .ok();
        let description = Paragraph::<500>::parse(description)
            .map_err(|e| errors.add("description", e.message("The description")))
            .ok();
        let role = match Role::parse(role.trim()) {
            Some(r) if ROLES.contains(&r) => Some(r),
            _ => {
                errors.add(
                    "role",
                    "Choose Admin, Service Administrator or Product Administrator.",
                );
                None
            }
        };
        services.sort_unstable();
        services.dedup();
        products.sort_unstable();
        products.dedup();
        match role {
            Some(Role::ServiceAdmin) if services.is_empty() => {
                errors.add("services", "Choose at least one service it runs.")
            }
            Some(Role::ProductAdmin) if products.is_empty() => {
                errors.add("products", "Choose at least one product it runs.")
            }
            _ => {}
        }
        match (name, description, role) {
            (Some(name), Some(description), Some(role)) if errors.is_empty() => Ok(Self {
                name,
                description,
                role,
                services: if role == Role::ServiceAdmin {
                    services
                } else {
                    Vec::new()
                },
                products: if role == Role::ProductAdmin {
                    products
                } else {
                    Vec::new()
                },
            }),
            _ => Err(errors),
        }
    }
}

/// A service account as the pages and the audit show it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_accounts, check_for_backend(diesel::pg::Pg))]
pub struct ServiceAccountRow {
    pub id: ServiceAccountId,
    pub name: String,
    pub description: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// One service account with what it runs (labels) and how many of its tokens work.
pub struct ServiceAccountDetail {
    pub account: ServiceAccountRow,
    /// (service id, name) it runs as a Service Administrator.
    pub services: Vec<(i64, String)>,
    /// (product id, "Service → Product") it runs as a Product Administrator.
    pub products: Vec<(i64, String)>,
    pub active_tokens: i64,
}

/// Checks that every chosen service and product exists (one that was deleted meanwhile is
/// the field's message, not a foreign-key 500).
fn check_scope(conn: &mut PgConnection, r: &ServiceAccountRequest) -> Result<(), CommandError> {
    let mut errors = FieldErrors::new();
    let found: i64 = services::table
        .filter(services::id.eq_any(&r.services))
        .count()
        .get_result(conn)
        .map_err(AppError::from)?;
    if found != r.services.len() as i64 {
        errors.add("services", "One of the chosen services no longer exists.");
    }
    let found: i64 = products::table
        .filter(products::id.eq_any(&r.products))
        .count()
        .get_result(conn)
        .map_err(AppError::from)?;
    if found != r.products.len() as i64 {
        errors.add("products", "One of the chosen products no longer exists.");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Invalid(errors))
    }
}

fn write_scope(
    conn: &mut PgConnection,
    id: ServiceAccountId,
    r: &ServiceAccountRequest,
) -> Result<(), AppError> {
    diesel::delete(
        service_account_services::table.filter(service_account_services::service_account_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(
        service_account_products::table.filter(service_account_products::service_account_id.eq(id)),
    )
    .execute(conn)?;
    let rows: Vec<_> = r
        .services
        .iter()
        .map(|s| {
            (
                service_account_services::service_account_id.eq(id),
                service_account_services::service_id.eq(*s),
            )
        })
        .collect();
    diesel::insert_into(service_account_services::table)
        .values(&rows)
        .execute(conn)?;
    let rows: Vec<_> = r
        .products
        .iter()
        .map(|p| {
            (
                service_account_products::service_account_id.eq(id),
                service_account_products::product_id.eq(*p),
            )
        })
        .collect();
    diesel::insert_into(service_account_products::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

fn snapshot(r: &ServiceAccountRequest) -> serde_json::Value {
    json!({
        "name": r.name.as_str(),
        "description": r.description.as_str(),
        "role": r.role.as_str(),
        "services": r.services,
        "products": r.products,
    })
}

/// Makes a service account (Admins; audited). It has no token yet.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    request: ServiceAccountRequest,
    now: DateTime<Utc>,
) -> Result<ServiceAccountId, CommandError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    crate::db::transaction(conn, |conn| {
        check_scope(conn, &request)?;
        let id: ServiceAccountId = diesel::insert_into(service_accounts::table)
            .values((
                service_accounts::name.eq(request.name.as_str()),
                service_accounts::description.eq(request.description.as_str()),
                service_accounts::role.eq(request.role),
                service_accounts::created_by.eq(actor.person_id()),
                service_accounts::created_at.eq(now),
                service_accounts::updated_at.eq(now),
            ))
            .returning(service_accounts::id)
            .get_result(conn)
            .map_err(AppError::from)?;
        write_scope(conn, id, &request)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "service_account.create",
                "service_account",
                Some(id.to_string()),
            )
            .summary(format!(
                "Service account \"{}\" made ({})",
                request.name,
                request.role.label()
            ))
            .after(snapshot(&request)),
        )?;
        Ok(id)
    })
}

/// Changes a service account's name, description, role and scope (Admins; audited with
/// before and after). Its tokens keep working, with the new rights from the next request.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceAccountId,
    request: ServiceAccountRequest,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    crate::db::transaction(conn, |conn| {
        let before = lock(conn, id)?;
        check_scope(conn, &request)?;
        let before = detail_of(conn, before)?;
        diesel::update(service_accounts::table.find(id))
            .set((
                service_accounts::name.eq(request.name.as_str()),
                service_accounts::description.eq(request.description.as_str()),
                service_accounts::role.eq(request.role),
                service_accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(AppError::from)?;
        write_scope(conn, id, &request)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "service_account.update",
                "service_account",
                Some(id.to_string()),
            )
            .summary(format!("Service account \"{}\" changed", request.name))
            .before(json!({
                "name": before.account.name,
                "description": before.account.description,
                "role": before.account.role.as_str(),
                "services": before.services.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "products": before.products.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            }))
            .after(snapshot(&request)),
        )?;
        Ok(())
    })
}

/// Disables (`enable == false`) or enables a service account (Admins; audited). Disabled,
/// none of its tokens works, from the next request on every instance; enabled again, its
/// tokens that are neither revoked nor expired work again.
pub fn set_enabled(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceAccountId,
    enable: bool,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    crate::db::transaction(conn, |conn| {
        let row = lock(conn, id)?;
        if row.disabled_at.is_none() == enable {
            return Err(CommandError::Refused(format!(
                "The service account \"{}\" is already {}.",
                row.name,
                if enable { "enabled" } else { "disabled" }
            )));
        }
        let (at, by) = if enable {
            (None, None)
        } else {
            (Some(now), actor.person_id())
        };
        diesel::update(service_accounts::table.find(id))
            .set((
                service_accounts::disabled_at.eq(at),
                service_accounts::disabled_by.eq(by),
                service_accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(AppError::from)?;
        let (action, done) = if enable {
            ("service_account.enable", "enabled")
        } else {
            (
                "service_account.disable",
                "disabled: its tokens stop working",
            )
        };
        audit::record(
            conn,
            AuditEntry::by(actor, action, "service_account", Some(id.to_string()))
                .summary(format!("Service account \"{}\" {done}", row.name)),
        )?;
        Ok(())
    })
}

/// The service account, locked for a change (404 when there is none).
fn lock(conn: &mut PgConnection, id: ServiceAccountId) -> Result<ServiceAccountRow, AppError> {
    service_accounts::table
        .find(id)
        .select(ServiceAccountRow::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// The service account `id` as an actor, or `None` when it is disabled or gone: what its
/// tokens act as (`api_tokens::authenticate`), read from the database on every request.
pub fn actor(
    conn: &mut PgConnection,
    id: ServiceAccountId,
    today: chrono::NaiveDate,
) -> Result<Option<Actor>, AppError> {
    let row: Option<(String, Role)> = service_accounts::table
        .find(id)
        .filter(service_accounts::disabled_at.is_null())
        .select((service_accounts::name, service_accounts::role))
        .first(conn)
        .optional()?;
    let Some((name, role)) = row else {
        return Ok(None);
    };
    let scope = match role {
        Role::ServiceAdmin => Scope {
            services: service_account_services::table
                .filter(service_account_services::service_account_id.eq(id))
                .select(service_account_services::service_id)
                .load(conn)?,
            products: Vec::new(),
        },
        Role::ProductAdmin => Scope {
            services: Vec::new(),
            products: service_account_products::table
                .inner_join(products::table)
                .filter(service_account_products::service_account_id.eq(id))
                .select((products::id, products::service_id))
                .load(conn)?,
        },
        Role::Admin | Role::User => Scope::default(),
    };
    Ok(Some(Actor {
        principal: Principal::Service(id),
        username: label(&name),
        full_name: name,
        role,
        session_id: 0,
        client_ip: None,
        scope,
        unread: 0,
        today,
    }))
}

/// What the service account form offers: the roles, every active service, every active
/// product ("Service → Product"), by name (Admins).
pub struct Choices {
    pub roles: Vec<(&'static str, &'static str)>,
    pub services: Vec<(i64, String)>,
    pub products: Vec<(i64, String)>,
}

pub fn choices(conn: &mut PgConnection, actor: &Actor) -> Result<Choices, AppError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    let services = services::table
        .filter(services::status.eq("active"))
        .order(crate::db::lower(services::name))
        .select((services::id, services::name))
        .load(conn)?;
    let products = products::table
        .inner_join(services::table)
        .filter(products::status.eq("active"))
        .filter(services::status.eq("active"))
        .order((
            crate::db::lower(services::name),
            crate::db::lower(products::name),
        ))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
        ))
        .load(conn)?;
    Ok(Choices {
        roles: ROLES.iter().map(|r| (r.as_str(), r.label())).collect(),
        services,
        products,
    })
}

/// Every service account, by name, with what it runs (Admins).
pub fn list(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<ServiceAccountDetail>, AppError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    let rows: Vec<ServiceAccountRow> = service_accounts::table
        .order(crate::db::lower(service_accounts::name))
        .select(ServiceAccountRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|r| detail_of(conn, r)).collect()
}

/// One service account (Admins; 404 when there is none).
pub fn get(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceAccountId,
) -> Result<ServiceAccountDetail, AppError> {
    authorize(actor, Action::ManageServiceAccounts)?;
    let row = service_accounts::table
        .find(id)
        .select(ServiceAccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    detail_of(conn, row)
}

fn detail_of(
    conn: &mut PgConnection,
    account: ServiceAccountRow,
) -> Result<ServiceAccountDetail, AppError> {
    let id = account.id;
    let services = service_account_services::table
        .inner_join(services::table)
        .filter(service_account_services::service_account_id.eq(id))
        .order(services::name.asc())
        .select((services::id, services::name))
        .load(conn)?;
    let products = service_account_products::table
        .inner_join(products::table.inner_join(services::table))
        .filter(service_account_products::service_account_id.eq(id))
        .order((services::name.asc(), products::name.asc()))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
        ))
        .load(conn)?;
    let active_tokens = api_tokens::table
        .filter(api_tokens::service_account_id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(crate::clock::now())),
        )
        .count()
        .get_result(conn)?;
    Ok(ServiceAccountDetail {
        account,
        services,
        products,
        active_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reports_every_wrong_field_at_once() {
        let errors = ServiceAccountRequest::new(" ", &"x".repeat(501), "user", vec![], vec![])
            .expect_err("invalid");
        for field in ["name", "description", "role"] {
            assert!(!errors.get(field).is_empty(), "{field}");
        }
        let errors = ServiceAccountRequest::new("sync", "", "service_admin", vec![], vec![7])
            .expect_err("no service");
        assert!(!errors.get("services").is_empty());
        let errors = ServiceAccountRequest::new("sync", "", "product_admin", vec![3], vec![])
            .expect_err("no product");
        assert!(!errors.get("products").is_empty());
    }

    #[test]
    fn only_the_role_s_own_scope_is_kept() {
        let r =
            ServiceAccountRequest::new("scim", "", "admin", vec![1, 2], vec![3]).expect("valid");
        assert!(r.services.is_empty() && r.products.is_empty());
        let r = ServiceAccountRequest::new("sync", "", "service_admin", vec![2, 1, 2], vec![3])
            .expect("valid");
        assert_eq!(r.services, vec![1, 2]);
        assert!(r.products.is_empty());
    }
}
