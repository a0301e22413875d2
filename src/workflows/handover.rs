//! Handover when someone leaves. Starting an offboarding lists what the person owns besides
//! their access — the services and products they administer, the billing records they own,
//! the onboarding templates they maintain —
//! and makes one handover task per item for the Admins. An Admin completes it by naming the
//! new owner (or nobody), in one transaction with the change of owner and its audit entries.
//! The offboarding cannot complete while a handover is open (`open_count`).
//!
//! Open grant and revoke tasks follow the administrator roles (assignees are derived), so
//! handing over a role hands over its open tasks too; the page says how many move.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action, Actor};
use crate::db::lower;
use crate::db::schema::{
    billing_records, handovers, onboarding_templates, product_admins, products, service_admins,
    services, tasks, users, workflows,
};
use crate::domain::{
    BillingStatus, EmploymentStatus, HandoverId, HandoverKind, HandoverStatus, PersonId, Role,
    TaskStatus, WorkflowId,
};
use crate::error::{invalid, AppError, AppResult, CommandError};
use crate::inventory::commands::{set_product_admin, set_service_admin};
use crate::notify::notify;
use crate::web::respond::after_inline_command;
use crate::web::urls;
use crate::web::AppState;

/// One item to hand over, for the workflow page and the report.
pub struct HandoverRow {
    pub id: HandoverId,
    pub kind: HandoverKind,
    pub label: String,
    pub status: HandoverStatus,
    pub new_owner: String,
    pub completed_by: String,
    pub completed_at: String,
    pub note: String,
    /// Open grant/revoke tasks of other workflows that move with an administrator role.
    pub open_tasks: i64,
}

impl HandoverRow {
    pub fn what(&self) -> &'static str {
        self.kind.label()
    }

    pub fn is_open(&self) -> bool {
        self.status == HandoverStatus::Open
    }

    /// Who may take it over: the role the new owner must hold.
    pub fn needs(&self) -> &'static str {
        match self.kind {
            HandoverKind::ServiceAdmin => "a Service Administrator",
            HandoverKind::ProductAdmin => "a Product Administrator",
            HandoverKind::BillingOwner | HandoverKind::Template => "anyone in the directory",
        }
    }
}

/// Called in the transaction that starts an offboarding: one handover per thing owned.
/// Returns how many were made; the Admins are notified when there are any.
pub fn create_for(
    conn: &mut PgConnection,
    workflow_id: WorkflowId,
    person_id: PersonId,
    person_name: &str,
) -> Result<usize, AppError> {
    let mut items: Vec<(HandoverKind, i64, String)> = Vec::new();
    for (id, name) in service_admins::table
        .inner_join(services::table)
        .filter(service_admins::user_id.eq(person_id))
        .select((services::id, services::name))
        .order(services::name.asc())
        .load::<(i64, String)>(conn)?
    {
        items.push((HandoverKind::ServiceAdmin, id, name));
    }
    for (id, label) in product_admins::table
        .inner_join(products::table.inner_join(services::table))
        .filter(product_admins::user_id.eq(person_id))
        .select((
            products::id,
            services::name.concat(" → ").concat(products::name),
        ))
        .order((services::name.asc(), products::name.asc()))
        .load::<(i64, String)>(conn)?
    {
        items.push((HandoverKind::ProductAdmin, id, label));
    }
    for (id, label, reference) in billing_records::table
        .inner_join(products::table.inner_join(services::table))
        .filter(billing_records::billing_owner_id.eq(person_id))
        .filter(billing_records::status.eq(BillingStatus::Active))
        .select((
            billing_records::id,
            services::name.concat(" → ").concat(products::name),
            billing_records::reference,
        ))
        .order(billing_records::id.asc())
        .load::<(i64, String, String)>(conn)?
    {
        let label = if reference.is_empty() {
            format!("{label} (record #{id})")
        } else {
            format!("{label} ({reference})")
        };
        items.push((HandoverKind::BillingOwner, id, label));
    }
    for (id, name) in onboarding_templates::table
        .filter(onboarding_templates::maintainer_id.eq(person_id))
        .select((onboarding_templates::id, onboarding_templates::name))
        .order(onboarding_templates::name.asc())
        .load::<(i64, String)>(conn)?
    {
        items.push((HandoverKind::Template, id, name));
    }
    for (kind, object_id, label) in &items {
        diesel::insert_into(handovers::table)
            .values((
                handovers::workflow_id.eq(workflow_id),
                handovers::kind.eq(kind),
                handovers::object_id.eq(object_id),
                handovers::label.eq(label),
            ))
            .execute(conn)?;
    }
    if !items.is_empty() {
        let admins: Vec<i64> = users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::is_active.eq(true))
            .select(users::id)
            .load(conn)?;
        notify(
            conn,
            &admins,
            "handover.needed",
            &format!(
                "{} thing(s) {person_name} owns need a new owner",
                items.len()
            ),
            &urls::workflow(workflow_id),
        )?;
    }
    Ok(items.len())
}

pub fn open_count(conn: &mut PgConnection, workflow_id: WorkflowId) -> Result<i64, AppError> {
    Ok(handovers::table
        .filter(handovers::workflow_id.eq(workflow_id))
        .filter(handovers::status.eq(HandoverStatus::Open))
        .count()
        .get_result(conn)?)
}

/// Cancelling the offboarding cancels its open handovers (nothing changes owner).
pub fn cancel_open(
    conn: &mut PgConnection,
    workflow_id: WorkflowId,
    reason: &str,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        handovers::table
            .filter(handovers::workflow_id.eq(workflow_id))
            .filter(handovers::status.eq(HandoverStatus::Open)),
    )
    .set((
        handovers::status.eq(HandoverStatus::Cancelled),
        handovers::note.eq(reason),
        handovers::completed_at.eq(crate::clock::now()),
    ))
    .execute(conn)?)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = handovers, check_for_backend(diesel::pg::Pg))]
struct Stored {
    id: HandoverId,
    kind: HandoverKind,
    object_id: i64,
    label: String,
    status: HandoverStatus,
    new_owner_id: Option<PersonId>,
    completed_by: Option<PersonId>,
    completed_at: Option<DateTime<Utc>>,
    note: String,
}

pub fn list(
    conn: &mut PgConnection,
    workflow_id: WorkflowId,
) -> Result<Vec<HandoverRow>, AppError> {
    let rows: Vec<Stored> = handovers::table
        .filter(handovers::workflow_id.eq(workflow_id))
        .order((handovers::status.desc(), handovers::id.asc()))
        .select(Stored::as_select())
        .load(conn)?;
    let mut ids: Vec<PersonId> = rows
        .iter()
        .flat_map(|r| [r.new_owner_id, r.completed_by])
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<PersonId, String> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::full_name))
        .load::<(PersonId, String)>(conn)?
        .into_iter()
        .collect();
    let name = |id: Option<PersonId>| id.and_then(|i| names.get(&i).cloned()).unwrap_or_default();
    let moving = if rows.iter().any(|r| r.status == HandoverStatus::Open) {
        open_tasks_by_product(conn, workflow_id)?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let open_tasks = match (r.status, r.kind) {
                (HandoverStatus::Open, HandoverKind::ServiceAdmin) => moving
                    .iter()
                    .filter(|m| m.1 == r.object_id)
                    .map(|m| m.2)
                    .sum(),
                (HandoverStatus::Open, HandoverKind::ProductAdmin) => moving
                    .iter()
                    .filter(|m| m.0 == r.object_id)
                    .map(|m| m.2)
                    .sum(),
                _ => 0,
            };
            HandoverRow {
                id: r.id,
                kind: r.kind,
                label: r.label,
                status: r.status,
                new_owner: name(r.new_owner_id),
                completed_by: name(r.completed_by),
                completed_at: r
                    .completed_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                note: r.note,
                open_tasks,
            }
        })
        .collect())
}

/// Open grant/revoke tasks of other workflows, counted per (product, service): what moves
/// with an administrator role. One query for the whole page.
fn open_tasks_by_product(
    conn: &mut PgConnection,
    workflow_id: WorkflowId,
) -> Result<Vec<(i64, i64, i64)>, AppError> {
    Ok(tasks::table
        .inner_join(products::table)
        .filter(tasks::status.eq(TaskStatus::Open))
        .filter(tasks::workflow_id.ne(workflow_id))
        .group_by((products::id, products::service_id))
        .select((
            products::id,
            products::service_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)?)
}

/// Completes a handover: the new owner (by email; blank for nobody) takes the role or the
/// record from the leaver. The change, the handover and the audit entries commit together;
/// the offboarding completes if nothing else is open.
pub fn complete(
    conn: &mut PgConnection,
    actor: &Actor,
    id: HandoverId,
    new_owner_email: &str,
) -> Result<WorkflowId, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let email = new_owner_email.trim().to_lowercase();
    crate::db::transaction(conn, |conn| {
        let (workflow_id, kind, object_id, label, status): (
            WorkflowId,
            HandoverKind,
            i64,
            String,
            HandoverStatus,
        ) = handovers::table
            .find(id)
            .select((
                handovers::workflow_id,
                handovers::kind,
                handovers::object_id,
                handovers::label,
                handovers::status,
            ))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if status != HandoverStatus::Open {
            return Err(CommandError::Refused(
                "This handover is already closed.".into(),
            ));
        }
        let leaver: PersonId = workflows::table
            .find(workflow_id)
            .select(workflows::person_id)
            .first(conn)?;
        let new_owner: Option<(PersonId, String)> = if email.is_empty() {
            None
        } else {
            let found: Option<(PersonId, String, EmploymentStatus)> = users::table
                .filter(lower(users::email).eq(&email))
                .select((users::id, users::full_name, users::employment_status))
                .first(conn)
                .optional()?;
            match found {
                None => {
                    return Err(invalid(
                        "email",
                        "Nobody in the directory has this email address.",
                    ))
                }
                Some((uid, _, _)) if uid == leaver => {
                    return Err(invalid(
                        "email",
                        "Choose someone other than the person leaving.",
                    ))
                }
                Some((_, name, EmploymentStatus::Offboarded | EmploymentStatus::Offboarding)) => {
                    return Err(invalid(
                        "email",
                        &format!("{name} is leaving too: choose someone staying."),
                    ))
                }
                Some((uid, name, _)) => Some((uid, name)),
            }
        };
        match kind {
            HandoverKind::ServiceAdmin => {
                if let Some((uid, _)) = &new_owner {
                    set_service_admin(conn, actor, object_id, uid.get(), true)?;
                }
                set_service_admin(conn, actor, object_id, leaver.get(), false)?;
            }
            HandoverKind::ProductAdmin => {
                if let Some((uid, _)) = &new_owner {
                    set_product_admin(conn, actor, object_id, uid.get(), true)?;
                }
                set_product_admin(conn, actor, object_id, leaver.get(), false)?;
            }
            HandoverKind::Template => {
                diesel::update(
                    onboarding_templates::table
                        .find(object_id)
                        .filter(onboarding_templates::maintainer_id.eq(leaver)),
                )
                .set(onboarding_templates::maintainer_id.eq(new_owner.as_ref().map(|o| o.0)))
                .execute(conn)?;
                audit::record(
                    conn,
                    AuditEntry::by(
                        actor,
                        "template.maintainer_changed",
                        "onboarding_template",
                        Some(object_id.to_string()),
                    )
                    .summary(format!(
                        "Maintainer of template '{label}': {}",
                        new_owner.as_ref().map_or("nobody", |o| o.1.as_str())
                    ))
                    .before(json!({"maintainer_id": leaver}))
                    .after(json!({"maintainer_id": new_owner.as_ref().map(|o| o.0)})),
                )?;
            }
            HandoverKind::BillingOwner => {
                diesel::update(
                    billing_records::table
                        .find(object_id)
                        .filter(billing_records::billing_owner_id.eq(leaver)),
                )
                .set(billing_records::billing_owner_id.eq(new_owner.as_ref().map(|o| o.0)))
                .execute(conn)?;
                audit::record(
                    conn,
                    AuditEntry::by(
                        actor,
                        "billing.owner_changed",
                        "billing_record",
                        Some(object_id.to_string()),
                    )
                    .summary(format!(
                        "Billing owner of {label}: {}",
                        new_owner.as_ref().map_or("nobody", |o| o.1.as_str())
                    ))
                    .before(json!({"billing_owner_id": leaver}))
                    .after(json!({"billing_owner_id": new_owner.as_ref().map(|o| o.0)})),
                )?;
            }
        }
        let note = match &new_owner {
            Some((_, name)) => format!("handed over to {name}"),
            None => "nobody takes it over".to_string(),
        };
        diesel::update(handovers::table.find(id))
            .set((
                handovers::status.eq(HandoverStatus::Done),
                handovers::new_owner_id.eq(new_owner.as_ref().map(|o| o.0)),
                handovers::completed_by.eq(actor.person_id()),
                handovers::completed_at.eq(crate::clock::now()),
                handovers::note.eq(&note),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "handover.completed",
                "workflow",
                Some(workflow_id.to_string()),
            )
            .summary(format!("{label}: {note}"))
            .after(
                json!({"handover_id": id, "kind": kind, "object_id": object_id,
                              "from": leaver, "to": new_owner.as_ref().map(|o| o.0)}),
            ),
        )?;
        super::commands::finish_if_done(conn, actor, workflow_id)?;
        Ok(workflow_id)
    })
}

/// The workflow handover `id` belongs to (404 when there is none).
fn workflow_of(conn: &mut PgConnection, id: HandoverId) -> Result<WorkflowId, AppError> {
    handovers::table
        .find(id)
        .select(handovers::workflow_id)
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    email: String,
}

/// POST /handovers/{id}: complete one handover from the workflow page.
pub async fn submit(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: crate::web::input::Form<HandoverForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = HandoverId(path.into_inner());
    let (form, refused) = form.into_parts();
    let email = form.email;
    let (workflow_id, result) = crate::db::run(&state.pool, move |conn| {
        let workflow_id = workflow_of(conn, id)?;
        let result = match refused.into_result() {
            Ok(()) => complete(conn, &actor, id, &email),
            Err(refused) => Err(crate::error::CommandError::Invalid(refused)),
        };
        Ok((workflow_id, result))
    })
    .await?;
    let back = urls::workflow(workflow_id);
    after_inline_command(
        &session,
        result,
        |_| ("Handed over.".into(), back.clone()),
        &back,
        "email",
    )
}
