//! Workflow writes. Each step — starting, completing or closing a task, cancelling — makes
//! its change, its audit entry and its notifications in one transaction. The requests they
//! take are in `requests`; who may close a task is `authz::authorize_task`, on the facts
//! `queries::task_facts` loads.
//!
//! Completing a grant task inserts its `access_grants` row here (with its audit entry), not
//! through the directory's grant command: to be routed through it in a later step.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use super::assign;
use super::requests::{Cancellation, NewOffboarding, NewOnboarding, TaskCompletion};
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, authorize_task, Action, Actor, TaskAction};
use crate::db::schema::{
    access_grants, auth_sessions, product_admins, products, service_admins, services, tasks, users,
    workflows,
};
use crate::directory::grants::{AfterGrant, GrantMade};
use crate::domain::{
    EmploymentStatus, FieldErrors, GrantId, InventoryStatus, PersonId, ProductId, Role, TaskId,
    TaskKind, TaskStatus, TemplateId, WorkflowId, WorkflowKind, WorkflowStatus,
};
use crate::error::{invalid, AppError, CommandError};
use crate::notify::notify;
use crate::web::urls;

fn product_label(conn: &mut PgConnection, product_id: ProductId) -> Result<String, AppError> {
    Ok(products::table
        .inner_join(services::table)
        .filter(products::id.eq(product_id))
        .select(services::name.concat(" → ").concat(products::name))
        .first(conn)?)
}

/// The person a workflow is about, for a task in it.
struct Person<'a> {
    id: PersonId,
    name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = tasks)]
struct NewTask {
    workflow_id: WorkflowId,
    kind: TaskKind,
    product_id: ProductId,
    grant_id: Option<GrantId>,
    due_on: NaiveDate,
}

/// Creates a task and notifies its assignees (never the person it is about).
fn create_task(
    conn: &mut PgConnection,
    task: NewTask,
    person: &Person<'_>,
) -> Result<TaskId, AppError> {
    let person_name = person.name;
    let (kind, product_id, due_on) = (task.kind, task.product_id, task.due_on);
    let id: TaskId = diesel::insert_into(tasks::table)
        .values(&task)
        .returning(tasks::id)
        .get_result(conn)?;
    let (who, _) = assign::assignees(conn, product_id.get(), person.id.get())?;
    let label = product_label(conn, product_id)?;
    let verb = verb(kind);
    notify(
        conn,
        &who,
        "task.assigned",
        &format!("{verb} {label} for {person_name} by {due_on}"),
        &urls::task(id),
    )?;
    Ok(id)
}

/// A grant task in `workflow_id` for each of `products`, due `due_on`; how many.
fn grant_tasks<'a>(
    conn: &mut PgConnection,
    workflow_id: WorkflowId,
    person: &Person<'_>,
    products: impl Iterator<Item = &'a ProductId>,
    due_on: NaiveDate,
) -> Result<usize, AppError> {
    let mut created = 0;
    for p in products {
        let task = NewTask {
            workflow_id,
            kind: TaskKind::Grant,
            product_id: *p,
            grant_id: None,
            due_on,
        };
        create_task(conn, task, person)?;
        created += 1;
    }
    Ok(created)
}

/// "Grant" or "Revoke", as the task's title starts.
pub fn verb(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Grant => "Grant",
        TaskKind::Revoke => "Revoke",
    }
}

/// One open onboarding and one open offboarding per person (and a unique index each,
/// which refuses the second of two started at the same moment with the same message).
pub const ONBOARDING_OPEN: &str = "An onboarding for this person is already open.";
pub const OFFBOARDING_OPEN: &str = "An offboarding for this person is already open.";

fn open_workflow(
    conn: &mut PgConnection,
    person_id: PersonId,
    kind: WorkflowKind,
) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        workflows::table
            .filter(workflows::person_id.eq(person_id))
            .filter(workflows::kind.eq(kind))
            .filter(workflows::status.eq(WorkflowStatus::Open)),
    ))
    .get_result(conn)?)
}

#[derive(Insertable)]
#[diesel(table_name = workflows)]
struct NewWorkflow {
    kind: WorkflowKind,
    person_id: PersonId,
    effective_on: NaiveDate,
    template_id: Option<TemplateId>,
    started_by: Option<PersonId>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewHire<'a> {
    full_name: &'a str,
    email: &'a str,
    department: Option<&'a str>,
    job_title: Option<&'a str>,
    employment_status: EmploymentStatus,
    start_date: NaiveDate,
}

/// Starts an onboarding (Admins). Products the person already has get no task; tasks are
/// due `lead_days` before the start date.
pub fn start_onboarding(
    conn: &mut PgConnection,
    actor: &Actor,
    request: NewOnboarding,
    lead_days: i64,
) -> Result<WorkflowId, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let NewOnboarding {
        email,
        full_name,
        department,
        job_title,
        start_date: start,
        template,
        products: product_ids,
    } = request;
    crate::db::transaction(conn, |conn| {
        let existing: Option<(PersonId, String)> = users::table
            .filter(crate::db::lower(users::email).eq(&email))
            .select((users::id, users::full_name))
            .first(conn)
            .optional()?;
        let (person_id, name) = match existing {
            Some(p) => p,
            None => {
                let Some(name) = full_name.as_deref() else {
                    return Err(invalid("full_name", "A new person needs a full name."));
                };
                let id: PersonId = diesel::insert_into(users::table)
                    .values(NewHire {
                        full_name: name,
                        email: &email,
                        department: department.as_deref(),
                        job_title: job_title.as_deref(),
                        employment_status: EmploymentStatus::Onboarding,
                        start_date: start,
                    })
                    .returning(users::id)
                    .get_result(conn)?;
                audit::record(
                    conn,
                    AuditEntry::by(actor, "person.created", "user", Some(id.to_string()))
                        .summary(format!("Added {name} ({email}) to onboard them"))
                        .after(json!({"full_name": name, "email": email, "start_date": start})),
                )?;
                (id, name.to_string())
            }
        };
        if open_workflow(conn, person_id, WorkflowKind::Onboarding)? {
            return Err(invalid("email", ONBOARDING_OPEN));
        }
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.ne(EmploymentStatus::Offboarded)),
        )
        .set((
            users::employment_status.eq(EmploymentStatus::Onboarding),
            users::start_date.eq(start),
        ))
        .execute(conn)?;
        let active_products: Vec<ProductId> = products::table
            .filter(products::id.eq_any(&product_ids))
            .filter(products::status.eq(InventoryStatus::Active))
            .select(products::id)
            .load(conn)?;
        if active_products.len() != product_ids.len() {
            return Err(invalid(
                "product_ids",
                "One of the chosen products does not exist or is archived.",
            ));
        }
        let already: Vec<ProductId> = access_grants::table
            .filter(access_grants::user_id.eq(person_id))
            .filter(access_grants::product_id.eq_any(&product_ids))
            .filter(access_grants::revoked_at.is_null())
            .select(access_grants::product_id)
            .load(conn)?;
        let workflow_id: WorkflowId = diesel::insert_into(workflows::table)
            .values(NewWorkflow {
                kind: WorkflowKind::Onboarding,
                person_id,
                effective_on: start,
                template_id: template,
                started_by: actor.person_id().map(PersonId),
            })
            .returning(workflows::id)
            .get_result(conn)?;
        let due = start - chrono::TimeDelta::days(lead_days);
        let person = Person {
            id: person_id,
            name: &name,
        };
        let created = grant_tasks(
            conn,
            workflow_id,
            &person,
            product_ids.iter().filter(|p| !already.contains(p)),
            due,
        )?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "workflow.started",
                "workflow",
                Some(workflow_id.to_string()),
            )
            .summary(format!(
                "Onboarding {name} from {start}: {created} grant task(s){}",
                if already.is_empty() {
                    String::new()
                } else {
                    format!(", {} product(s) already granted", already.len())
                }
            ))
            .after(
                json!({"kind": "onboarding", "person_id": person_id, "start_date": start,
                              "products": product_ids, "already_granted": already}),
            ),
        )?;
        finish_if_done(conn, actor, workflow_id)?;
        Ok(workflow_id)
    })
}

/// What a provisioning rule's grant tasks came to: the workflow they are in (none when
/// every product was already granted or already had an open grant task) and how many
/// were added.
pub struct Provisioned {
    pub workflow: Option<WorkflowId>,
    pub tasks: usize,
    pub started: bool,
}

/// Grant tasks for `product_ids` (a template's active products, from a provisioning rule)
/// for a person already in the directory, inside the caller's transaction: added to their
/// open onboarding, else a new onboarding from `template`, effective `effective_on`, that
/// leaves their status as it is (a mover who joins a group stays active). Products they
/// hold, or already have an open grant task for, get none.
pub fn provision_grants(
    conn: &mut PgConnection,
    actor: &Actor,
    person_id: PersonId,
    template: TemplateId,
    effective_on: NaiveDate,
    lead_days: i64,
) -> Result<Provisioned, CommandError> {
    use crate::db::schema::template_products;
    authorize(actor, Action::ManagePeople)?;
    let name: String = users::table
        .find(person_id)
        .select(users::full_name)
        .first(conn)?;
    let wanted: Vec<ProductId> = template_products::table
        .inner_join(products::table)
        .filter(template_products::template_id.eq(template))
        .filter(products::status.eq(InventoryStatus::Active))
        .order(products::id.asc())
        .select(products::id)
        .load(conn)?;
    let held: Vec<ProductId> = access_grants::table
        .filter(access_grants::user_id.eq(person_id))
        .filter(access_grants::revoked_at.is_null())
        .select(access_grants::product_id)
        .load(conn)?;
    let pending: Vec<ProductId> = tasks::table
        .inner_join(workflows::table)
        .filter(workflows::person_id.eq(person_id))
        .filter(tasks::kind.eq(TaskKind::Grant))
        .filter(tasks::status.eq(TaskStatus::Open))
        .select(tasks::product_id)
        .load(conn)?;
    let new: Vec<ProductId> = wanted
        .into_iter()
        .filter(|p| !held.contains(p) && !pending.contains(p))
        .collect();
    if new.is_empty() {
        return Ok(Provisioned {
            workflow: None,
            tasks: 0,
            started: false,
        });
    }
    let open: Option<(WorkflowId, NaiveDate)> = workflows::table
        .filter(workflows::person_id.eq(person_id))
        .filter(workflows::kind.eq(WorkflowKind::Onboarding))
        .filter(workflows::status.eq(WorkflowStatus::Open))
        .select((workflows::id, workflows::effective_on))
        .for_update()
        .first(conn)
        .optional()?;
    let (workflow_id, effective_on, started) = match open {
        Some((id, on)) => (id, on, false),
        None => {
            let id: WorkflowId = diesel::insert_into(workflows::table)
                .values(NewWorkflow {
                    kind: WorkflowKind::Onboarding,
                    person_id,
                    effective_on,
                    template_id: Some(template),
                    started_by: actor.person_id().map(PersonId),
                })
                .returning(workflows::id)
                .get_result(conn)?;
            (id, effective_on, true)
        }
    };
    let due = effective_on - chrono::TimeDelta::days(lead_days);
    let person = Person {
        id: person_id,
        name: &name,
    };
    grant_tasks(conn, workflow_id, &person, new.iter(), due)?;
    let (action, summary) = if started {
        (
            "workflow.started",
            format!(
                "Onboarding {name} from {effective_on}: {} grant task(s)",
                new.len()
            ),
        )
    } else {
        (
            "workflow.tasks_added",
            format!(
                "Added {} grant task(s) to the onboarding of {name}",
                new.len()
            ),
        )
    };
    audit::record(
        conn,
        AuditEntry::by(actor, action, "workflow", Some(workflow_id.to_string()))
            .summary(summary)
            .after(json!({"kind": "onboarding", "person_id": person_id,
                          "effective_on": effective_on, "template_id": template,
                          "products": new})),
    )?;
    Ok(Provisioned {
        workflow: Some(workflow_id),
        tasks: new.len(),
        started,
    })
}

/// Ends a person's sessions (their login is disabled).
fn end_sessions(
    conn: &mut PgConnection,
    person_id: PersonId,
    reason: &str,
) -> Result<(), AppError> {
    diesel::update(
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(person_id))
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(crate::clock::now()),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(())
}

/// The person an offboarding is about, as it starts.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct Leaver {
    id: PersonId,
    full_name: String,
    role: Role,
    employment_status: EmploymentStatus,
}

/// Starts an offboarding (Admins): one revoke task per active grant.
pub fn start_offboarding(
    conn: &mut PgConnection,
    actor: &Actor,
    request: NewOffboarding,
) -> Result<WorkflowId, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let NewOffboarding {
        email,
        last_day,
        disable_login_now: disable_now,
    } = request;
    crate::db::transaction(conn, |conn| {
        let person: Option<Leaver> = users::table
            .filter(crate::db::lower(users::email).eq(&email))
            .select(Leaver::as_select())
            .first(conn)
            .optional()?;
        let Some(Leaver {
            id: person_id,
            full_name: name,
            role,
            employment_status: status,
        }) = person
        else {
            return Err(invalid(
                "email",
                "Nobody in the directory has this email address.",
            ));
        };
        if status == EmploymentStatus::Offboarded {
            return Err(invalid("email", "This person is already offboarded."));
        }
        if open_workflow(conn, person_id, WorkflowKind::Offboarding)? {
            return Err(invalid("email", OFFBOARDING_OPEN));
        }
        if actor.person_id() == Some(person_id.get()) {
            return Err(invalid("email", "You cannot offboard yourself."));
        }
        if role == Role::Admin {
            let others: i64 = users::table
                .filter(users::role.eq(Role::Admin))
                .filter(users::is_active.eq(true))
                // Someone leaving too does not count: their role goes when they have left.
                .filter(users::employment_status.ne(EmploymentStatus::Offboarding))
                .filter(users::employment_status.ne(EmploymentStatus::Offboarded))
                .filter(users::id.ne(person_id))
                .count()
                .get_result(conn)?;
            if others == 0 {
                return Err(CommandError::Refused(format!(
                    "{name} is the last active Admin: make someone else an Admin first."
                )));
            }
        }
        diesel::update(users::table.find(person_id))
            .set((
                users::employment_status.eq(EmploymentStatus::Offboarding),
                users::end_date.eq(last_day),
            ))
            .execute(conn)?;
        if disable_now {
            diesel::update(users::table.find(person_id))
                .set(users::is_active.eq(false))
                .execute(conn)?;
            end_sessions(conn, person_id, "offboarding")?;
        }
        let workflow_id: WorkflowId = diesel::insert_into(workflows::table)
            .values(NewWorkflow {
                kind: WorkflowKind::Offboarding,
                person_id,
                effective_on: last_day,
                template_id: None,
                started_by: actor.person_id().map(PersonId),
            })
            .returning(workflows::id)
            .get_result(conn)?;
        let grants: Vec<(GrantId, ProductId)> = access_grants::table
            .filter(access_grants::user_id.eq(person_id))
            .filter(access_grants::revoked_at.is_null())
            .select((access_grants::id, access_grants::product_id))
            .load(conn)?;
        for (grant_id, product_id) in &grants {
            let person = Person {
                id: person_id,
                name: &name,
            };
            let task = NewTask {
                workflow_id,
                kind: TaskKind::Revoke,
                product_id: *product_id,
                grant_id: Some(*grant_id),
                due_on: last_day,
            };
            create_task(conn, task, &person)?;
        }
        let handovers = super::handover::create_for(conn, workflow_id, person_id, &name)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "workflow.started", "workflow", Some(workflow_id.to_string()))
                .summary(format!(
                    "Offboarding {name}, last day {last_day}: {} revoke task(s), {handovers} handover(s){}",
                    grants.len(),
                    if disable_now { ", login disabled now" } else { "" }
                ))
                .after(json!({"kind": "offboarding", "person_id": person_id, "last_day": last_day,
                              "grants": grants.iter().map(|g| g.0).collect::<Vec<_>>(), "login_disabled_now": disable_now})),
        )?;
        finish_if_done(conn, actor, workflow_id)?;
        Ok(workflow_id)
    })
}

/// Directory's follow-up of a new grant: a grant made while the person's offboarding is
/// open gets its own revoke task, in the grant's transaction. The doors that grant pass it
/// (`lib.rs` gives it to the pages as app data).
pub struct OffboardingRevokes;

impl AfterGrant for OffboardingRevokes {
    fn granted(&self, conn: &mut PgConnection, made: GrantMade) -> Result<(), AppError> {
        let person_id = made.person;
        let open: Option<(WorkflowId, NaiveDate)> = workflows::table
            .filter(workflows::person_id.eq(person_id))
            .filter(workflows::kind.eq(WorkflowKind::Offboarding))
            .filter(workflows::status.eq(WorkflowStatus::Open))
            .select((workflows::id, workflows::effective_on))
            .first(conn)
            .optional()?;
        if let Some((workflow_id, last_day)) = open {
            let name: String = users::table
                .find(person_id)
                .select(users::full_name)
                .first(conn)?;
            let task = NewTask {
                workflow_id,
                kind: TaskKind::Revoke,
                product_id: made.product,
                grant_id: Some(made.grant),
                due_on: last_day,
            };
            create_task(
                conn,
                task,
                &Person {
                    id: person_id,
                    name: &name,
                },
            )?;
        }
        Ok(())
    }
}

/// Closes a task: done (a grant task grants the access, a revoke task revokes it, in the
/// same transaction) or not needed. Who may close it is decided first
/// (`authz::authorize_task`): anyone else learns nothing, not even that it exists or that
/// their `request` (the door's translation of its input) was wrong; an Admin who is the
/// task's person is told why not.
pub fn close_task(
    conn: &mut PgConnection,
    actor: &Actor,
    id: TaskId,
    request: Result<TaskCompletion, FieldErrors>,
) -> Result<WorkflowId, CommandError> {
    crate::db::transaction(conn, |conn| {
        let t = super::queries::task_for_update(conn, id)?;
        let facts = super::queries::task_facts(conn, actor, &t)?;
        match authorize_task(actor, TaskAction::Close, &facts) {
            Err(AppError::Forbidden) => {
                return Err(CommandError::Refused(
                    "This task is about you: another administrator completes it.".into(),
                ))
            }
            other => other?,
        }
        let request = request.clone().map_err(CommandError::Invalid)?;
        if t.status != TaskStatus::Open {
            return Err(CommandError::Refused("This task is already closed.".into()));
        }
        match request {
            TaskCompletion::Done {
                account_identifier,
                note,
                over_seats,
            } => done(
                conn,
                actor,
                id,
                &t,
                (&account_identifier, &note),
                over_seats,
            ),
            TaskCompletion::NotNeeded { reason } => not_needed(conn, actor, id, &t, &reason),
        }?;
        finish_if_done(conn, actor, t.workflow_id)?;
        Ok(t.workflow_id)
    })
}

#[derive(Insertable)]
#[diesel(table_name = access_grants)]
struct NewGrant<'a> {
    user_id: PersonId,
    product_id: ProductId,
    granted_by: Option<PersonId>,
    account_identifier: &'a str,
    note: &'a str,
}

/// A task marked done: the access granted or revoked, and the task closed.
fn done(
    conn: &mut PgConnection,
    actor: &Actor,
    id: TaskId,
    t: &super::queries::TaskState,
    (account, note): (&str, &str),
    over_seats: bool,
) -> Result<(), CommandError> {
    let label = product_label(conn, t.product_id)?;
    let grant_id = if t.kind == TaskKind::Grant {
        let product_status: InventoryStatus = products::table
            .find(t.product_id)
            .select(products::status)
            .first(conn)?;
        if product_status != InventoryStatus::Active {
            return Err(CommandError::Refused(format!(
                "{label} has been archived: close this task as not needed instead."
            )));
        }
        let existing: Option<GrantId> = access_grants::table
            .filter(access_grants::user_id.eq(t.person_id))
            .filter(access_grants::product_id.eq(t.product_id))
            .filter(access_grants::revoked_at.is_null())
            .select(access_grants::id)
            .first(conn)
            .optional()?;
        match existing {
            Some(g) => g,
            None => {
                let facts: crate::authz::ProductFacts = products::table
                    .inner_join(services::table)
                    .filter(products::id.eq(t.product_id))
                    .select(crate::authz::ProductFacts::as_select())
                    .first(conn)?;
                crate::directory::grants::check_seats(conn, &facts, 1, over_seats)?;
                let g: GrantId = diesel::insert_into(access_grants::table)
                    .values(NewGrant {
                        user_id: t.person_id,
                        product_id: t.product_id,
                        granted_by: actor.person_id().map(PersonId),
                        account_identifier: account,
                        note,
                    })
                    .returning(access_grants::id)
                    .get_result(conn)?;
                audit::record(
                    conn,
                    AuditEntry::by(actor, "grant.created", "access_grant", Some(g.to_string()))
                        .summary(format!("Granted {label} to {} (onboarding task #{id})", t.person_name))
                        .after(json!({"user_id": t.person_id, "product_id": t.product_id, "account_identifier": account, "note": note})),
                )?;
                g
            }
        }
    } else {
        // Tasks made by PortalOps always name their grant; one loaded from elsewhere
        // might not, and is closed as not needed instead.
        let g = t.grant_id.ok_or_else(|| {
            CommandError::Refused(
                "This task names no access to revoke: close it as not needed.".into(),
            )
        })?;
        let n = diesel::update(
            access_grants::table
                .find(g)
                .filter(access_grants::revoked_at.is_null()),
        )
        .set((
            access_grants::revoked_at.eq(crate::clock::now()),
            access_grants::revoked_by.eq(actor.person_id()),
            access_grants::revoke_note.eq(if note.is_empty() { "offboarding" } else { note }),
        ))
        .execute(conn)?;
        if n == 1 {
            audit::record(
                conn,
                AuditEntry::by(actor, "grant.revoked", "access_grant", Some(g.to_string()))
                    .summary(format!(
                        "Revoked {label} from {} (offboarding task #{id})",
                        t.person_name
                    ))
                    .before(json!({"active": true}))
                    .after(json!({"active": false, "reason": note})),
            )?;
        }
        g
    };
    diesel::update(tasks::table.find(id))
        .set((
            tasks::status.eq(TaskStatus::Done),
            tasks::grant_id.eq(grant_id),
            tasks::completed_by.eq(actor.person_id()),
            tasks::completed_at.eq(crate::clock::now()),
            tasks::account_identifier.eq(account),
            tasks::note.eq(note),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        AuditEntry::by(actor, "task.completed", "task", Some(id.to_string())).summary(format!(
            "{} {label} for {}: done",
            verb(t.kind),
            t.person_name
        )),
    )?;
    Ok(())
}

/// A task closed without acting (e.g. the person does not need the product), with why.
fn not_needed(
    conn: &mut PgConnection,
    actor: &Actor,
    id: TaskId,
    t: &super::queries::TaskState,
    reason: &str,
) -> Result<(), CommandError> {
    diesel::update(tasks::table.find(id))
        .set((
            tasks::status.eq(TaskStatus::NotNeeded),
            tasks::completed_by.eq(actor.person_id()),
            tasks::completed_at.eq(crate::clock::now()),
            tasks::note.eq(reason),
        ))
        .execute(conn)?;
    let label = product_label(conn, t.product_id)?;
    audit::record(
        conn,
        AuditEntry::by(actor, "task.not_needed", "task", Some(id.to_string())).summary(format!(
            "{label} for {}: closed as not needed ({reason})",
            t.person_name
        )),
    )?;
    Ok(())
}

/// When no task or handover is open, the workflow completes and the person becomes active
/// (onboarding) or has left (offboarding: `leave`); its starter is notified. An offboarding
/// whose person still has a login that stays until the end of the last day (the box "disable
/// their login now" left unticked, the last day not over) waits for that: it completes when
/// the last day ends (`complete_after_last_day`), and a grant made meanwhile still gets its
/// revoke task.
pub(crate) fn finish_if_done(
    conn: &mut PgConnection,
    actor: &Actor,
    workflow_id: WorkflowId,
) -> Result<(), AppError> {
    finish(conn, Some(actor), workflow_id, actor.today)
}

/// What finishing a workflow needs to know about it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = workflows, check_for_backend(diesel::pg::Pg))]
struct Finishing {
    kind: WorkflowKind,
    person_id: PersonId,
    started_by: Option<PersonId>,
    status: WorkflowStatus,
    effective_on: NaiveDate,
}

/// `finish_if_done` for `by` (None: the scheduler) on `today` (in the configured zone).
fn finish(
    conn: &mut PgConnection,
    by: Option<&Actor>,
    workflow_id: WorkflowId,
    today: NaiveDate,
) -> Result<(), AppError> {
    let open: i64 = tasks::table
        .filter(tasks::workflow_id.eq(workflow_id))
        .filter(tasks::status.eq(TaskStatus::Open))
        .count()
        .get_result(conn)?;
    if open > 0 || super::handover::open_count(conn, workflow_id)? > 0 {
        return Ok(());
    }
    let Finishing {
        kind,
        person_id,
        started_by,
        status,
        effective_on: last_day,
    } = workflows::table
        .find(workflow_id)
        .select(Finishing::as_select())
        .first(conn)?;
    if status != WorkflowStatus::Open {
        return Ok(());
    }
    if kind == WorkflowKind::Offboarding && keeps_login(conn, person_id)? && last_day >= today {
        return Ok(());
    }
    diesel::update(workflows::table.find(workflow_id))
        .set((
            workflows::status.eq(WorkflowStatus::Completed),
            workflows::completed_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    let name: String = users::table
        .find(person_id)
        .select(users::full_name)
        .first(conn)?;
    let left = if kind == WorkflowKind::Onboarding {
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.eq(EmploymentStatus::Onboarding)),
        )
        .set(users::employment_status.eq(EmploymentStatus::Active))
        .execute(conn)?;
        None
    } else {
        Some(leave(conn, person_id)?)
    };
    let entry = match by {
        Some(actor) => AuditEntry::by(
            actor,
            "workflow.completed",
            "workflow",
            Some(workflow_id.to_string()),
        ),
        None => AuditEntry::system(
            "workflow.completed",
            "workflow",
            Some(workflow_id.to_string()),
        ),
    };
    let summary = match &left {
        None => format!("Onboarding of {name} completed"),
        Some(l) if l.role == Role::User && l.scopes == 0 => {
            format!("Offboarding of {name} completed: login disabled")
        }
        Some(l) => format!(
            "Offboarding of {name} completed: login disabled, role {} and {} administrator scope(s) removed",
            l.role.label(),
            l.scopes
        ),
    };
    let entry = entry.summary(summary);
    let entry = match &left {
        Some(l) => entry
            .before(json!({"role": l.role, "scopes": l.scopes}))
            .after(
                json!({"role": "user", "employment_status": "offboarded", "login_enabled": false}),
            ),
        None => entry,
    };
    audit::record(conn, entry)?;
    if let Some(starter) = started_by {
        notify(
            conn,
            &[starter.get()],
            "workflow.completed",
            &format!("The {kind} of {name} is complete"),
            &urls::workflow(workflow_id),
        )?;
    }
    Ok(())
}

/// Whether the person can log in now (active, a role with a login, a password): such a
/// login stays until the end of their last day.
fn keeps_login(conn: &mut PgConnection, person_id: PersonId) -> Result<bool, AppError> {
    let (active, role, has_password): (bool, Role, bool) = users::table
        .find(person_id)
        .select((
            users::is_active,
            users::role,
            users::password_hash.is_not_null(),
        ))
        .first(conn)?;
    Ok(active && role.can_log_in() && has_password)
}

/// What a leaver held when they left.
struct Left {
    role: Role,
    scopes: usize,
}

/// The person has left: offboarded, login disabled and sessions ended, and no administrator
/// role or scope kept (the handovers gave their services and products new administrators;
/// anything added since is removed here).
fn leave(conn: &mut PgConnection, person_id: PersonId) -> Result<Left, AppError> {
    let role: Role = users::table
        .find(person_id)
        .select(users::role)
        .for_update()
        .first(conn)?;
    let scopes =
        diesel::delete(service_admins::table.filter(service_admins::user_id.eq(person_id)))
            .execute(conn)?
            + diesel::delete(product_admins::table.filter(product_admins::user_id.eq(person_id)))
                .execute(conn)?;
    diesel::update(users::table.find(person_id))
        .set((
            users::employment_status.eq(EmploymentStatus::Offboarded),
            users::is_active.eq(false),
            users::role.eq(Role::User),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    end_sessions(conn, person_id, "offboarded")?;
    Ok(Left { role, scopes })
}

/// The scheduler's part (hourly): completes the offboardings that only waited for their
/// person's last day to end. Returns how many completed.
pub fn complete_after_last_day(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let due: Vec<WorkflowId> = workflows::table
        .filter(workflows::kind.eq(WorkflowKind::Offboarding))
        .filter(workflows::status.eq(WorkflowStatus::Open))
        .filter(workflows::effective_on.lt(today))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            tasks::table
                .filter(tasks::workflow_id.eq(workflows::id))
                .filter(tasks::status.eq(TaskStatus::Open)),
        )))
        .select(workflows::id)
        .order(workflows::id.asc())
        .load(conn)?;
    let mut completed = 0;
    for id in due {
        let done = crate::db::transaction(conn, |conn| {
            let status: WorkflowStatus = workflows::table
                .find(id)
                .select(workflows::status)
                .for_update()
                .first(conn)?;
            if status != WorkflowStatus::Open {
                return Ok(false);
            }
            finish(conn, None, id, today)?;
            let after: WorkflowStatus = workflows::table
                .find(id)
                .select(workflows::status)
                .first(conn)?;
            Ok::<_, AppError>(after == WorkflowStatus::Completed)
        })?;
        completed += usize::from(done);
    }
    Ok(completed)
}

/// Cancels an open workflow and its open tasks (Admins), with a reason.
pub fn cancel(
    conn: &mut PgConnection,
    actor: &Actor,
    workflow_id: WorkflowId,
    request: Cancellation,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let reason = request.reason.as_str();
    crate::db::transaction(conn, |conn| {
        let (status, kind, person_id): (WorkflowStatus, WorkflowKind, PersonId) = workflows::table
            .find(workflow_id)
            .select((workflows::status, workflows::kind, workflows::person_id))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if status != WorkflowStatus::Open {
            return Err(CommandError::Refused(
                "Only an open workflow can be cancelled.".into(),
            ));
        }
        let cancelled = diesel::update(
            tasks::table
                .filter(tasks::workflow_id.eq(workflow_id))
                .filter(tasks::status.eq(TaskStatus::Open)),
        )
        .set((
            tasks::status.eq(TaskStatus::Cancelled),
            tasks::note.eq(reason),
            tasks::completed_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
        super::handover::cancel_open(conn, workflow_id, reason)?;
        diesel::update(workflows::table.find(workflow_id))
            .set((
                workflows::status.eq(WorkflowStatus::Cancelled),
                workflows::cancelled_at.eq(crate::clock::now()),
                workflows::cancel_reason.eq(reason),
            ))
            .execute(conn)?;
        let back = match kind {
            WorkflowKind::Onboarding => EmploymentStatus::Onboarding,
            WorkflowKind::Offboarding => EmploymentStatus::Offboarding,
        };
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.eq(back)),
        )
        .set(users::employment_status.eq(EmploymentStatus::Active))
        .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(
                actor,
                "workflow.cancelled",
                "workflow",
                Some(workflow_id.to_string()),
            )
            .summary(format!(
                "Cancelled the {kind} ({cancelled} open task(s)): {reason}"
            )),
        )?;
        Ok(())
    })
}
