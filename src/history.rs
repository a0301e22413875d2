//! Whose History, found in the actor's scope: the person, product, service or billing record
//! (404 outside it), its name, and the page of `audit::history` the actor may see — a
//! person's History shows an administrator only what touched the products they run. The
//! History pages and the REST API both ask here.

use diesel::PgConnection;

use crate::audit::history::{self, HistoryFilter, Subject};
use crate::audit::queries::AuditPage;
use crate::authz::{authorize, load_product, Action, Actor, ObjectAction};
use crate::domain::{BillingRecordId, PersonId, ProductId, ServiceId};
use crate::error::AppError;
use crate::web::urls;

/// What finds a History in the actor's scope (one of the `of_*` below): the connection,
/// the actor, the object, the filters and how many entries at most.
pub type Finder<Id> =
    fn(&mut PgConnection, &Actor, Id, &HistoryFilter, i64) -> Result<Found, AppError>;

/// A History found.
pub struct Found {
    /// "Ada Chen", "GitHub → Enterprise".
    pub name: String,
    /// The object's page.
    pub page_of: String,
    pub page: AuditPage,
    /// Kept to the products the actor runs.
    pub scoped: bool,
}

pub fn of_person(
    conn: &mut PgConnection,
    actor: &Actor,
    id: PersonId,
    f: &HistoryFilter,
    limit: i64,
) -> Result<Found, AppError> {
    authorize(actor, Action::ViewDirectory)?;
    let name = crate::directory::queries::person_name(conn, id)?;
    let within = crate::directory::queries::product_scope(conn, actor)?;
    let subject = Subject::Person(id.get());
    let page = history::page(conn, subject, &[], within.as_deref(), f, limit)?;
    Ok(Found {
        name,
        page_of: urls::person(id),
        page,
        scoped: within.is_some(),
    })
}

pub fn of_product(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ProductId,
    f: &HistoryFilter,
    limit: i64,
) -> Result<Found, AppError> {
    let p = load_product(conn, actor, ObjectAction::View, id)?;
    let page = history::page(conn, Subject::Product(id.get()), &[], None, f, limit)?;
    Ok(Found {
        name: format!("{} → {}", p.service_name, p.name),
        page_of: urls::product(id),
        page,
        scoped: false,
    })
}

/// The service's and its products' (those the actor sees).
pub fn of_service(
    conn: &mut PgConnection,
    actor: &Actor,
    id: ServiceId,
    f: &HistoryFilter,
    limit: i64,
) -> Result<Found, AppError> {
    let s = crate::inventory::queries::service_in_scope(conn, actor, id, ObjectAction::View)?;
    let products = crate::inventory::queries::product_ids_of_service(conn, actor, id)?;
    let subject = Subject::Service { id: id.get() };
    let page = history::page(conn, subject, &products, None, f, limit)?;
    Ok(Found {
        name: s.name,
        page_of: urls::service(id),
        page,
        scoped: false,
    })
}

pub fn of_billing_record(
    conn: &mut PgConnection,
    actor: &Actor,
    id: BillingRecordId,
    f: &HistoryFilter,
    limit: i64,
) -> Result<Found, AppError> {
    let r = crate::payments::queries::record(conn, actor, id)?;
    let reference = if r.d.reference.is_empty() {
        format!("#{id}")
    } else {
        r.d.reference.clone()
    };
    let subject = Subject::BillingRecord(id.get());
    let page = history::page(conn, subject, &[], None, f, limit)?;
    Ok(Found {
        name: format!("{} → {} {reference}", r.d.service_name, r.d.product_name),
        page_of: urls::billing_record(id),
        page,
        scoped: false,
    })
}
