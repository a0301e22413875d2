//! Inventory writes: authorize → change + audit (before/after) in one transaction. Each
//! command takes a request of domain types (`requests`), checked by the door that built it.

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use serde_json::json;

use super::queries::{find_product, find_service, Product, Service};
use super::requests::{
    AdminChange, Item, Lifecycle, LifecycleChange, NewProduct, ProductChanges, ProductUpdate,
    ServiceChanges, ServiceUpdate,
};
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, authorize_on, Action, Actor, Object, ObjectAction, Role};
use crate::db::lower;
use crate::db::schema::{
    access_grants, billing_records, product_admins, products, service_admins, services, users,
};
use crate::domain::{InventoryStatus, LicenseModel, PersonId, ProductId, ServiceId};
use crate::error::{invalid, AppError, CommandError};

/// What scope checks need to know of a product (`Product::object`).
pub fn product_object(p: &Product) -> Object {
    p.object()
}

fn service_json(s: &Service) -> serde_json::Value {
    json!({"name": s.name, "vendor": s.vendor, "category": s.category, "website": s.website,
           "description": s.description, "status": s.status})
}

fn product_json(p: &Product) -> serde_json::Value {
    json!({"service_id": p.service_id, "name": p.name, "description": p.description,
           "license_model": p.license_model, "seats_purchased": p.seats_purchased,
           "refuse_over_seats": p.refuse_over_seats, "status": p.status})
}

/// A service's columns as a request sets them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = services)]
struct ServiceValues<'a> {
    name: &'a str,
    vendor: &'a str,
    category: &'a str,
    website: &'a str,
    description: &'a str,
}

impl<'a> From<&'a ServiceChanges> for ServiceValues<'a> {
    fn from(c: &'a ServiceChanges) -> Self {
        Self {
            name: &c.name,
            vendor: &c.vendor,
            category: &c.category,
            website: &c.website,
            description: &c.description,
        }
    }
}

/// A product's columns as a request sets them (no seat count stores NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
struct ProductValues<'a> {
    name: &'a str,
    description: &'a str,
    license_model: LicenseModel,
    seats_purchased: Option<i32>,
    refuse_over_seats: bool,
}

impl<'a> From<&'a ProductChanges> for ProductValues<'a> {
    fn from(c: &'a ProductChanges) -> Self {
        Self {
            name: &c.name,
            description: &c.description,
            license_model: c.license_model,
            seats_purchased: c.seats_purchased,
            refuse_over_seats: c.refuse_over_seats,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = products)]
struct NewProductRow<'a> {
    service_id: ServiceId,
    #[diesel(embed)]
    values: ProductValues<'a>,
}

fn service_name_taken(
    conn: &mut PgConnection,
    name: &str,
    except: Option<ServiceId>,
) -> Result<bool, AppError> {
    Ok(diesel::select(exists(
        services::table
            .filter(lower(services::name).eq(lower(name)))
            .filter(services::id.ne(except.map_or(-1, ServiceId::get))),
    ))
    .get_result(conn)?)
}

pub fn create_service(
    conn: &mut PgConnection,
    actor: &Actor,
    changes: ServiceChanges,
) -> Result<ServiceId, CommandError> {
    authorize(actor, Action::ManageServices)?;
    crate::db::transaction(conn, |conn| {
        if service_name_taken(conn, &changes.name, None)? {
            return Err(invalid("name", "A service with this name already exists."));
        }
        let id: ServiceId = diesel::insert_into(services::table)
            .values(ServiceValues::from(&changes))
            .returning(services::id)
            .get_result(conn)?;
        let created = find_service(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "service.created", "service", Some(id.to_string()))
                .summary(format!("Created service '{}'", changes.name))
                .after(service_json(&created)),
        )?;
        Ok(id)
    })
}

pub fn update_service(
    conn: &mut PgConnection,
    actor: &Actor,
    req: ServiceUpdate,
) -> Result<(), CommandError> {
    let id = req.id;
    authorize_on(actor, ObjectAction::Edit, Object::Service(id.into()))?;
    crate::db::transaction(conn, |conn| {
        let before = find_service(conn, id)?;
        if service_name_taken(conn, &req.changes.name, Some(id))? {
            return Err(invalid("name", "A service with this name already exists."));
        }
        diesel::update(services::table.find(id))
            .set((
                ServiceValues::from(&req.changes),
                services::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let after = find_service(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "service.updated", "service", Some(id.to_string()))
                .summary(format!("Edited service '{}'", after.name))
                .before(service_json(&before))
                .after(service_json(&after)),
        )?;
        Ok(())
    })
}

fn product_name_taken(
    conn: &mut PgConnection,
    service_id: ServiceId,
    name: &str,
    except: Option<ProductId>,
) -> Result<bool, AppError> {
    Ok(diesel::select(exists(
        products::table
            .filter(products::service_id.eq(service_id))
            .filter(lower(products::name).eq(lower(name)))
            .filter(products::id.ne(except.map_or(-1, ProductId::get))),
    ))
    .get_result(conn)?)
}

pub fn create_product(
    conn: &mut PgConnection,
    actor: &Actor,
    req: NewProduct,
) -> Result<ProductId, CommandError> {
    let service_id = req.service_id;
    authorize_on(
        actor,
        ObjectAction::Edit,
        Object::Service(service_id.into()),
    )?;
    crate::db::transaction(conn, |conn| {
        let service = find_service(conn, service_id)?;
        if service.status.is_archived() {
            return Err(CommandError::Refused(
                "This service is archived: restore it before adding products.".into(),
            ));
        }
        let name = &req.changes.name;
        if product_name_taken(conn, service_id, name, None)? {
            return Err(invalid(
                "name",
                "This service already has a product with this name.",
            ));
        }
        let id: ProductId = diesel::insert_into(products::table)
            .values(NewProductRow {
                service_id,
                values: ProductValues::from(&req.changes),
            })
            .returning(products::id)
            .get_result(conn)?;
        let created = find_product(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "product.created", "product", Some(id.to_string()))
                .summary(format!("Created product '{} → {name}'", service.name))
                .after(product_json(&created)),
        )?;
        Ok(id)
    })
}

pub fn update_product(
    conn: &mut PgConnection,
    actor: &Actor,
    req: ProductUpdate,
) -> Result<(), CommandError> {
    let id = req.id;
    crate::db::transaction(conn, |conn| {
        let before = find_product(conn, id)?;
        authorize_on(actor, ObjectAction::Edit, before.object())?;
        if product_name_taken(conn, before.service_id, &req.changes.name, Some(id))? {
            return Err(invalid(
                "name",
                "This service already has a product with this name.",
            ));
        }
        diesel::update(products::table.find(id))
            .set((
                ProductValues::from(&req.changes),
                products::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let after = find_product(conn, id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "product.updated", "product", Some(id.to_string()))
                .summary(format!("Edited product '{}'", after.name))
                .before(product_json(&before))
                .after(product_json(&after)),
        )?;
        Ok(())
    })
}

/// A service or product, loaded, for the commands that treat both alike.
enum Subject {
    Service(Service),
    Product(Product),
}

impl Subject {
    /// The word in audit actions and object types ("service", "product").
    fn kind(&self) -> &'static str {
        match self {
            Subject::Service(_) => "service",
            Subject::Product(_) => "product",
        }
    }

    fn id(&self) -> i64 {
        match self {
            Subject::Service(s) => s.id.get(),
            Subject::Product(p) => p.id.get(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Subject::Service(s) => &s.name,
            Subject::Product(p) => &p.name,
        }
    }

    fn status(&self) -> InventoryStatus {
        match self {
            Subject::Service(s) => s.status,
            Subject::Product(p) => p.status,
        }
    }

    fn service_id(&self) -> ServiceId {
        match self {
            Subject::Service(s) => s.id,
            Subject::Product(p) => p.service_id,
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Subject::Service(s) => service_json(s),
            Subject::Product(p) => product_json(p),
        }
    }
}

/// `item`, loaded once `rule` allows the actor on it. A service's scope needs only its id,
/// so its rule runs before the row is read; a product's needs the row (its service).
fn authorized<T>(
    conn: &mut PgConnection,
    actor: &Actor,
    item: Item,
    rule: impl Fn(&Actor, Object) -> Result<T, CommandError>,
) -> Result<(Subject, T), CommandError> {
    match item {
        Item::Service(id) => {
            let allowed = rule(actor, Object::Service(id.into()))?;
            Ok((Subject::Service(find_service(conn, id)?), allowed))
        }
        Item::Product(id) => {
            let p = find_product(conn, id)?;
            let allowed = rule(actor, p.object())?;
            Ok((Subject::Product(p), allowed))
        }
    }
}

/// What a lifecycle change changed, for the page to say and to go back to.
pub struct Lifecycled {
    pub name: String,
    pub service_id: ServiceId,
}

/// Archives, restores or deletes a service or product. Services: Admins only (the service
/// must be visible to the actor: 404 otherwise); products: whoever may edit them.
pub fn lifecycle(
    conn: &mut PgConnection,
    actor: &Actor,
    req: LifecycleChange,
) -> Result<Lifecycled, CommandError> {
    crate::db::transaction(conn, |conn| {
        let (subject, ()) = authorized(conn, actor, req.item, |actor, object| {
            match object {
                Object::Service(_) => {
                    authorize_on(actor, ObjectAction::View, object)?;
                    authorize(actor, Action::ManageServices)?;
                }
                Object::Product { .. } => authorize_on(actor, ObjectAction::Edit, object)?,
            }
            Ok(())
        })?;
        match req.change {
            Lifecycle::SetStatus(status) => set_status(conn, actor, &subject, status)?,
            Lifecycle::Delete => delete(conn, actor, &subject)?,
        }
        Ok(Lifecycled {
            name: subject.name().to_string(),
            service_id: subject.service_id(),
        })
    })
}

fn set_status(
    conn: &mut PgConnection,
    actor: &Actor,
    subject: &Subject,
    status: InventoryStatus,
) -> Result<(), CommandError> {
    let now = crate::clock::now();
    match subject {
        Subject::Service(s) => diesel::update(services::table.find(s.id))
            .set((services::status.eq(status), services::updated_at.eq(now)))
            .execute(conn)?,
        Subject::Product(p) => diesel::update(products::table.find(p.id))
            .set((products::status.eq(status), products::updated_at.eq(now)))
            .execute(conn)?,
    };
    let verb = if status.is_archived() {
        "Archived"
    } else {
        "Restored"
    };
    let kind = subject.kind();
    audit::record(
        conn,
        AuditEntry::by(
            actor,
            &format!("{kind}.{status}"),
            kind,
            Some(subject.id().to_string()),
        )
        .summary(format!("{verb} {kind} '{}'", subject.name()))
        .before(json!({"status": subject.status()}))
        .after(json!({"status": status})),
    )?;
    Ok(())
}

fn billing_count(conn: &mut PgConnection, product_ids: &[ProductId]) -> Result<i64, AppError> {
    Ok(billing_records::table
        .filter(billing_records::product_id.eq_any(product_ids))
        .select(count_star())
        .get_result(conn)?)
}

fn grant_count(conn: &mut PgConnection, product_ids: &[ProductId]) -> Result<i64, AppError> {
    Ok(access_grants::table
        .filter(access_grants::product_id.eq_any(product_ids))
        .select(count_star())
        .get_result(conn)?)
}

/// Deletes a product, or a service with its products, unless any of them has billing
/// records or access grants (current or past): those must be archived so that their
/// history stays.
fn delete(conn: &mut PgConnection, actor: &Actor, subject: &Subject) -> Result<(), CommandError> {
    let (product_ids, whose) = match subject {
        Subject::Service(s) => (
            products::table
                .filter(products::service_id.eq(s.id))
                .select(products::id)
                .load::<ProductId>(conn)?,
            "its products have",
        ),
        Subject::Product(p) => (vec![p.id], "it has"),
    };
    let name = subject.name();
    let records = billing_count(conn, &product_ids)?;
    if records > 0 {
        return Err(CommandError::Refused(format!(
            "'{name}' cannot be deleted: {whose} {records} billing record(s). Archive it instead to keep its history."
        )));
    }
    let grants = grant_count(conn, &product_ids)?;
    if grants > 0 {
        return Err(CommandError::Refused(format!(
            "'{name}' cannot be deleted: {whose} {grants} access grant(s) on record. Archive it instead to keep its history."
        )));
    }
    let summary = match subject {
        Subject::Service(s) => {
            diesel::delete(products::table.filter(products::service_id.eq(s.id))).execute(conn)?;
            diesel::delete(services::table.find(s.id)).execute(conn)?;
            format!(
                "Deleted service '{name}' and its {} product(s)",
                product_ids.len()
            )
        }
        Subject::Product(p) => {
            diesel::delete(products::table.find(p.id)).execute(conn)?;
            format!("Deleted product '{name}'")
        }
    };
    let kind = subject.kind();
    audit::record(
        conn,
        AuditEntry::by(
            actor,
            &format!("{kind}.deleted"),
            kind,
            Some(subject.id().to_string()),
        )
        .summary(summary)
        .before(subject.json()),
    )?;
    Ok(())
}

/// A person's name and role, to check they may be given a scope.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct Candidate {
    full_name: String,
    role: Role,
}

/// The person to add to a scope, who must hold `role`.
fn scope_candidate(
    conn: &mut PgConnection,
    person: PersonId,
    role: Role,
) -> Result<String, CommandError> {
    let row: Option<Candidate> = users::table
        .find(person)
        .select(Candidate::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(c) if c.role == role => Ok(c.full_name),
        Some(c) => Err(CommandError::Refused(format!(
            "{} is not a {}: change their role in the directory first.",
            c.full_name,
            role.label()
        ))),
        None => Err(CommandError::Refused("Choose a person.".into())),
    }
}

#[derive(Insertable)]
#[diesel(table_name = service_admins)]
struct ServiceAdminRow {
    user_id: PersonId,
    service_id: ServiceId,
}

#[derive(Insertable)]
#[diesel(table_name = product_admins)]
struct ProductAdminRow {
    user_id: PersonId,
    product_id: ProductId,
}

/// Adds or removes a Service Administrator of a service or a Product Administrator of a
/// product (Admins only; the object must be visible to the actor: 404 otherwise). Adding
/// someone already there, or removing someone who is not, changes nothing but is audited.
pub fn change_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    req: AdminChange,
) -> Result<(), CommandError> {
    crate::db::transaction(conn, |conn| {
        let (subject, person) = authorized(conn, actor, req.item, |actor, object| {
            authorize_on(actor, ObjectAction::View, object)?;
            authorize(actor, Action::ManagePeople)?;
            req.person
                .ok_or_else(|| CommandError::Refused("Choose a person to add.".into()))
        })?;
        let role = match subject {
            Subject::Service(_) => Role::ServiceAdmin,
            Subject::Product(_) => Role::ProductAdmin,
        };
        let name = if req.add {
            let name = scope_candidate(conn, person, role)?;
            match &subject {
                Subject::Service(s) => diesel::insert_into(service_admins::table)
                    .values(ServiceAdminRow {
                        user_id: person,
                        service_id: s.id,
                    })
                    .on_conflict_do_nothing()
                    .execute(conn)?,
                Subject::Product(p) => diesel::insert_into(product_admins::table)
                    .values(ProductAdminRow {
                        user_id: person,
                        product_id: p.id,
                    })
                    .on_conflict_do_nothing()
                    .execute(conn)?,
            };
            name
        } else {
            match &subject {
                Subject::Service(s) => {
                    diesel::delete(service_admins::table.find((person, s.id))).execute(conn)?
                }
                Subject::Product(p) => {
                    diesel::delete(product_admins::table.find((person, p.id))).execute(conn)?
                }
            };
            users::table
                .find(person)
                .select(users::full_name)
                .first(conn)
                .optional()?
                .unwrap_or_default()
        };
        let kind = subject.kind();
        let (change, summary) = if req.add {
            (
                "added",
                format!("{name} now runs {kind} '{}'", subject.name()),
            )
        } else {
            (
                "removed",
                format!("{name} no longer runs {kind} '{}'", subject.name()),
            )
        };
        let mut after = serde_json::Map::new();
        after.insert(format!("{kind}_id"), subject.id().into());
        after.insert("user_id".into(), person.get().into());
        after.insert("assigned".into(), req.add.into());
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                &format!("scope.{role}_{change}"),
                "user",
                Some(person.to_string()),
            )
            .summary(summary)
            .after(after.into()),
        )?;
        Ok(())
    })
}

/// Sets exactly which services (`role` Service Administrator; `names` are service names) or
/// products (Product Administrator; "service/product") a person runs, as the single sign-on
/// group mapping names them at a login: the configuration is the authority, `label` the
/// audit actor. Each addition and removal is audited as `change_admin` audits it; names
/// that match nothing are logged and skipped.
pub fn set_scopes_by_provider(
    conn: &mut PgConnection,
    person: PersonId,
    role: Role,
    names: &[String],
    label: &str,
) -> Result<(), AppError> {
    let mut wanted: Vec<(i64, String)> = Vec::new();
    for name in names {
        let found: Option<i64> = match role {
            Role::ServiceAdmin => services::table
                .filter(services::name.eq(name.trim()))
                .select(services::id)
                .first::<ServiceId>(conn)
                .optional()?
                .map(|id| id.0),
            Role::ProductAdmin => {
                let (service, product) = name.split_once('/').unwrap_or((name, ""));
                products::table
                    .inner_join(services::table)
                    .filter(services::name.eq(service.trim()))
                    .filter(products::name.eq(product.trim()))
                    .select(products::id)
                    .first::<ProductId>(conn)
                    .optional()?
                    .map(|id| id.0)
            }
            Role::Admin | Role::User => return Ok(()),
        };
        match found {
            Some(id) if !wanted.iter().any(|(w, _)| *w == id) => wanted.push((id, name.clone())),
            Some(_) => {}
            None => {
                tracing::warn!(name = %name, "single sign-on group mapping names no such {}", if role == Role::ServiceAdmin { "service" } else { "product" })
            }
        }
    }
    let current: Vec<i64> = match role {
        Role::ServiceAdmin => service_admins::table
            .filter(service_admins::user_id.eq(person))
            .select(service_admins::service_id)
            .load::<ServiceId>(conn)?
            .into_iter()
            .map(|id| id.0)
            .collect(),
        _ => product_admins::table
            .filter(product_admins::user_id.eq(person))
            .select(product_admins::product_id)
            .load::<ProductId>(conn)?
            .into_iter()
            .map(|id| id.0)
            .collect(),
    };
    let kind = if role == Role::ServiceAdmin {
        "service"
    } else {
        "product"
    };
    let full_name: String = users::table
        .find(person)
        .select(users::full_name)
        .first(conn)?;
    let record = |conn: &mut PgConnection, id: i64, what: &str, add: bool| {
        let (change, summary) = if add {
            (
                "added",
                format!("{full_name} now runs {kind} '{what}' (single sign-on group)"),
            )
        } else {
            (
                "removed",
                format!("{full_name} no longer runs {kind} '{what}' (single sign-on group)"),
            )
        };
        audit::record(
            conn,
            AuditEntry::system(
                &format!("scope.{role}_{change}"),
                "user",
                Some(person.to_string()),
            )
            .actor(None, label)
            .summary(summary)
            .after(json!({ format!("{kind}_id"): id, "user_id": person.get(), "assigned": add })),
        )
        .map(drop)
    };
    for (id, name) in &wanted {
        if current.contains(id) {
            continue;
        }
        match role {
            Role::ServiceAdmin => diesel::insert_into(service_admins::table)
                .values(ServiceAdminRow {
                    user_id: person,
                    service_id: ServiceId(*id),
                })
                .on_conflict_do_nothing()
                .execute(conn)?,
            _ => diesel::insert_into(product_admins::table)
                .values(ProductAdminRow {
                    user_id: person,
                    product_id: ProductId(*id),
                })
                .on_conflict_do_nothing()
                .execute(conn)?,
        };
        record(conn, *id, name, true)?;
    }
    for id in current
        .iter()
        .filter(|id| !wanted.iter().any(|(w, _)| w == *id))
    {
        let what: String = match role {
            Role::ServiceAdmin => {
                diesel::delete(service_admins::table.find((person, ServiceId(*id))))
                    .execute(conn)?;
                services::table
                    .find(ServiceId(*id))
                    .select(services::name)
                    .first(conn)?
            }
            _ => {
                diesel::delete(product_admins::table.find((person, ProductId(*id))))
                    .execute(conn)?;
                products::table
                    .find(ProductId(*id))
                    .select(products::name)
                    .first(conn)?
            }
        };
        record(conn, *id, &what, false)?;
    }
    Ok(())
}

/// `change_admin` by bare ids, as the roles API and handovers call it: the role is checked
/// first (403 for non-Admins, in or out of scope), as it always was.
fn change_admin_by_ids(
    conn: &mut PgConnection,
    actor: &Actor,
    item: Item,
    user_id: i64,
    add: bool,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let person = Some(PersonId(user_id));
    change_admin(conn, actor, AdminChange { item, person, add })
}

/// Adds or removes a Service Administrator of a service (Admins only).
pub fn set_service_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    service_id: i64,
    user_id: i64,
    add: bool,
) -> Result<(), CommandError> {
    let item = Item::Service(ServiceId(service_id));
    change_admin_by_ids(conn, actor, item, user_id, add)
}

/// Adds or removes a Product Administrator of a product (Admins only).
pub fn set_product_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    product_id: i64,
    user_id: i64,
    add: bool,
) -> Result<(), CommandError> {
    let item = Item::Product(ProductId(product_id));
    change_admin_by_ids(conn, actor, item, user_id, add)
}
