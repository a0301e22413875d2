//! Workflow writes. Each step — starting, completing or closing a task, cancelling — makes
//! its change, its audit entry and its notifications in one transaction.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use super::assign;
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::{
    access_grants, auth_sessions, product_admins, products, service_admins, services, tasks, users,
    workflows,
};
use crate::error::{invalid, AppError, CommandError};
use crate::notify::notify;

/// A new person to onboard, or an existing one (by email).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct OnboardForm {
    #[serde(default)]
    #[schema(required = true, format = Email)]
    pub email: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub job_title: String,
    /// The first working day, YYYY-MM-DD.
    #[serde(default)]
    #[schema(required = true, format = Date)]
    pub start_date: String,
    pub template_id: Option<i64>,
    /// Products chosen (the template's are pre-selected on the form).
    #[serde(default)]
    pub product_ids: Vec<i64>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OffboardForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub last_day: String,
    /// Checkbox: disable the login now rather than after the last day.
    pub disable_now: Option<String>,
}

fn parse_date(field: &'static str, s: &str, what: &str) -> Result<NaiveDate, CommandError> {
    crate::web::forms::parse_date(s).map_err(|m| {
        if s.trim().is_empty() {
            invalid(field, &format!("Enter {what}."))
        } else {
            invalid(field, &m)
        }
    })
}

fn product_label(conn: &mut PgConnection, product_id: i64) -> Result<String, AppError> {
    Ok(products::table
        .inner_join(services::table)
        .filter(products::id.eq(product_id))
        .select(services::name.concat(" → ").concat(products::name))
        .first(conn)?)
}

/// The person a workflow is about, for a task in it.
struct Person<'a> {
    id: i64,
    name: &'a str,
}

/// Creates a task and notifies its assignees (never the person it is about).
fn create_task(
    conn: &mut PgConnection,
    workflow_id: i64,
    kind: &str,
    product_id: i64,
    grant_id: Option<i64>,
    due_on: NaiveDate,
    person: &Person<'_>,
) -> Result<i64, AppError> {
    let person_name = person.name;
    let id: i64 = diesel::insert_into(tasks::table)
        .values((
            tasks::workflow_id.eq(workflow_id),
            tasks::kind.eq(kind),
            tasks::product_id.eq(product_id),
            tasks::grant_id.eq(grant_id),
            tasks::due_on.eq(due_on),
        ))
        .returning(tasks::id)
        .get_result(conn)?;
    let (who, _) = assign::assignees(conn, product_id, person.id)?;
    let label = product_label(conn, product_id)?;
    let verb = if kind == "grant" { "Grant" } else { "Revoke" };
    notify(
        conn,
        &who,
        "task.assigned",
        &format!("{verb} {label} for {person_name} by {due_on}"),
        &format!("/tasks/{id}"),
    )?;
    Ok(id)
}

/// One open onboarding and one open offboarding per person (and a unique index each,
/// which refuses the second of two started at the same moment with the same message).
pub const ONBOARDING_OPEN: &str = "An onboarding for this person is already open.";
pub const OFFBOARDING_OPEN: &str = "An offboarding for this person is already open.";

fn open_workflow(conn: &mut PgConnection, person_id: i64, kind: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        workflows::table
            .filter(workflows::person_id.eq(person_id))
            .filter(workflows::kind.eq(kind))
            .filter(workflows::status.eq("open")),
    ))
    .get_result(conn)?)
}

/// Starts an onboarding (Admins). Products the person already has get no task.
pub fn start_onboarding(
    conn: &mut PgConnection,
    actor: &Actor,
    form: &OnboardForm,
    lead_days: i64,
) -> Result<i64, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let email = form.email.trim().to_lowercase();
    if !crate::directory::commands::valid_email(&email) {
        return Err(invalid("email", "Enter the person's email address."));
    }
    let start = parse_date("start_date", &form.start_date, "the start date")?;
    let mut product_ids = form.product_ids.clone();
    product_ids.sort_unstable();
    product_ids.dedup();
    if product_ids.is_empty() {
        return Err(invalid(
            "product_ids",
            "Choose at least one product (or a template).",
        ));
    }
    crate::db::transaction(conn, |conn| {
        let existing: Option<(i64, String)> = users::table
            .filter(crate::db::lower(users::email).eq(&email))
            .select((users::id, users::full_name))
            .first(conn)
            .optional()?;
        let (person_id, name) = match existing {
            Some(p) => p,
            None => {
                let name = form.full_name.trim();
                if name.is_empty() {
                    return Err(invalid("full_name", "A new person needs a full name."));
                }
                let id: i64 = diesel::insert_into(users::table)
                    .values((
                        users::full_name.eq(name),
                        users::email.eq(&email),
                        users::department.eq(crate::web::forms::optional(&form.department)),
                        users::job_title.eq(crate::web::forms::optional(&form.job_title)),
                        users::employment_status.eq("onboarding"),
                        users::start_date.eq(start),
                    ))
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
        if open_workflow(conn, person_id, "onboarding")? {
            return Err(invalid("email", ONBOARDING_OPEN));
        }
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.ne("offboarded")),
        )
        .set((
            users::employment_status.eq("onboarding"),
            users::start_date.eq(start),
        ))
        .execute(conn)?;
        let active_products: Vec<i64> = products::table
            .filter(products::id.eq_any(&product_ids))
            .filter(products::status.eq("active"))
            .select(products::id)
            .load(conn)?;
        if active_products.len() != product_ids.len() {
            return Err(invalid(
                "product_ids",
                "One of the chosen products does not exist or is archived.",
            ));
        }
        let already: Vec<i64> = access_grants::table
            .filter(access_grants::user_id.eq(person_id))
            .filter(access_grants::product_id.eq_any(&product_ids))
            .filter(access_grants::revoked_at.is_null())
            .select(access_grants::product_id)
            .load(conn)?;
        let workflow_id: i64 = diesel::insert_into(workflows::table)
            .values((
                workflows::kind.eq("onboarding"),
                workflows::person_id.eq(person_id),
                workflows::effective_on.eq(start),
                workflows::template_id.eq(form.template_id),
                workflows::started_by.eq(actor.id),
            ))
            .returning(workflows::id)
            .get_result(conn)?;
        let due = start - chrono::TimeDelta::days(lead_days);
        let mut created = 0;
        for p in product_ids.iter().filter(|p| !already.contains(p)) {
            let person = Person {
                id: person_id,
                name: &name,
            };
            create_task(conn, workflow_id, "grant", *p, None, due, &person)?;
            created += 1;
        }
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

/// Ends a person's sessions (their login is disabled).
fn end_sessions(conn: &mut PgConnection, person_id: i64, reason: &str) -> Result<(), AppError> {
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

/// Starts an offboarding (Admins): one revoke task per active grant.
pub fn start_offboarding(
    conn: &mut PgConnection,
    actor: &Actor,
    form: &OffboardForm,
) -> Result<i64, CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let email = form.email.trim().to_lowercase();
    let last_day = parse_date("last_day", &form.last_day, "the last working day")?;
    crate::db::transaction(conn, |conn| {
        let person: Option<(i64, String, String, String)> = users::table
            .filter(crate::db::lower(users::email).eq(&email))
            .select((
                users::id,
                users::full_name,
                users::role,
                users::employment_status,
            ))
            .first(conn)
            .optional()?;
        let Some((person_id, name, role, status)) = person else {
            return Err(invalid(
                "email",
                "Nobody in the directory has this email address.",
            ));
        };
        if status == "offboarded" {
            return Err(invalid("email", "This person is already offboarded."));
        }
        if open_workflow(conn, person_id, "offboarding")? {
            return Err(invalid("email", OFFBOARDING_OPEN));
        }
        if person_id == actor.id {
            return Err(invalid("email", "You cannot offboard yourself."));
        }
        if role == "admin" {
            let others: i64 = users::table
                .filter(users::role.eq("admin"))
                .filter(users::is_active.eq(true))
                // Someone leaving too does not count: their role goes when they have left.
                .filter(users::employment_status.ne("offboarding"))
                .filter(users::employment_status.ne("offboarded"))
                .filter(users::id.ne(person_id))
                .count()
                .get_result(conn)?;
            if others == 0 {
                return Err(CommandError::Refused(format!(
                    "{name} is the last active Admin: make someone else an Admin first."
                )));
            }
        }
        let disable_now = form.disable_now.is_some();
        diesel::update(users::table.find(person_id))
            .set((
                users::employment_status.eq("offboarding"),
                users::end_date.eq(last_day),
            ))
            .execute(conn)?;
        if disable_now {
            diesel::update(users::table.find(person_id))
                .set(users::is_active.eq(false))
                .execute(conn)?;
            end_sessions(conn, person_id, "offboarding")?;
        }
        let workflow_id: i64 = diesel::insert_into(workflows::table)
            .values((
                workflows::kind.eq("offboarding"),
                workflows::person_id.eq(person_id),
                workflows::effective_on.eq(last_day),
                workflows::started_by.eq(actor.id),
            ))
            .returning(workflows::id)
            .get_result(conn)?;
        let grants: Vec<(i64, i64)> = access_grants::table
            .filter(access_grants::user_id.eq(person_id))
            .filter(access_grants::revoked_at.is_null())
            .select((access_grants::id, access_grants::product_id))
            .load(conn)?;
        for (grant_id, product_id) in &grants {
            let person = Person {
                id: person_id,
                name: &name,
            };
            create_task(
                conn,
                workflow_id,
                "revoke",
                *product_id,
                Some(*grant_id),
                last_day,
                &person,
            )?;
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

/// A grant made while the person's offboarding is open gets its own revoke task.
pub fn on_new_grant(
    conn: &mut PgConnection,
    person_id: i64,
    product_id: i64,
    grant_id: i64,
) -> Result<(), AppError> {
    let open: Option<(i64, NaiveDate)> = workflows::table
        .filter(workflows::person_id.eq(person_id))
        .filter(workflows::kind.eq("offboarding"))
        .filter(workflows::status.eq("open"))
        .select((workflows::id, workflows::effective_on))
        .first(conn)
        .optional()?;
    if let Some((workflow_id, last_day)) = open {
        let name: String = users::table
            .find(person_id)
            .select(users::full_name)
            .first(conn)?;
        create_task(
            conn,
            workflow_id,
            "revoke",
            product_id,
            Some(grant_id),
            last_day,
            &Person {
                id: person_id,
                name: &name,
            },
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    pub account_identifier: String,
    #[serde(default)]
    pub note: String,
}

struct TaskRow {
    workflow_id: i64,
    kind: String,
    product_id: i64,
    grant_id: Option<i64>,
    status: String,
    person_id: i64,
    person_name: String,
}

fn load_task(conn: &mut PgConnection, id: i64) -> Result<TaskRow, AppError> {
    let r: (i64, String, i64, Option<i64>, String, i64, String) = tasks::table
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq(id))
        .select((
            tasks::workflow_id,
            tasks::kind,
            tasks::product_id,
            tasks::grant_id,
            tasks::status,
            workflows::person_id,
            users::full_name,
        ))
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    Ok(TaskRow {
        workflow_id: r.0,
        kind: r.1,
        product_id: r.2,
        grant_id: r.3,
        status: r.4,
        person_id: r.5,
        person_name: r.6,
    })
}

/// Who may complete or close task `t` (`assign::may_complete`): anyone else learns nothing,
/// not even that it exists; an Admin who is the task's person is told why.
fn authorize_task(conn: &mut PgConnection, actor: &Actor, t: &TaskRow) -> Result<(), CommandError> {
    if assign::may_complete(conn, actor, t.product_id, t.person_id)? {
        Ok(())
    } else if actor.is_admin() {
        Err(CommandError::Refused(
            "This task is about you: another administrator completes it.".into(),
        ))
    } else {
        Err(CommandError::Other(AppError::NotFound))
    }
}

/// Completes a task: grants or revokes the access in the same transaction.
pub fn complete_task(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    form: &CompleteForm,
) -> Result<i64, CommandError> {
    crate::db::transaction(conn, |conn| {
        // Who may complete it first: anyone else learns nothing, not even that it exists.
        let t = load_task(conn, id)?;
        authorize_task(conn, actor, &t)?;
        for (field, value) in [
            ("account_identifier", &form.account_identifier),
            ("note", &form.note),
        ] {
            if crate::domain::card::contains_card_number(value) {
                return Err(invalid(field, crate::domain::card::REFUSAL));
            }
        }
        if t.status != "open" {
            return Err(CommandError::Refused("This task is already closed.".into()));
        }
        let label = product_label(conn, t.product_id)?;
        let account = form.account_identifier.trim();
        let note = form.note.trim();
        let grant_id = if t.kind == "grant" {
            let product_status: String = products::table
                .find(t.product_id)
                .select(products::status)
                .first(conn)?;
            if product_status != "active" {
                return Err(CommandError::Refused(format!(
                    "{label} has been archived: close this task as not needed instead."
                )));
            }
            let existing: Option<i64> = access_grants::table
                .filter(access_grants::user_id.eq(t.person_id))
                .filter(access_grants::product_id.eq(t.product_id))
                .filter(access_grants::revoked_at.is_null())
                .select(access_grants::id)
                .first(conn)
                .optional()?;
            match existing {
                Some(g) => g,
                None => {
                    let g: i64 = diesel::insert_into(access_grants::table)
                        .values((
                            access_grants::user_id.eq(t.person_id),
                            access_grants::product_id.eq(t.product_id),
                            access_grants::granted_by.eq(actor.id),
                            access_grants::account_identifier.eq(account),
                            access_grants::note.eq(note),
                        ))
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
                access_grants::revoked_by.eq(actor.id),
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
                tasks::status.eq("done"),
                tasks::grant_id.eq(grant_id),
                tasks::completed_by.eq(actor.id),
                tasks::completed_at.eq(crate::clock::now()),
                tasks::account_identifier.eq(account),
                tasks::note.eq(note),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "task.completed", "task", Some(id.to_string())).summary(format!(
                "{} {label} for {}: done",
                if t.kind == "grant" { "Grant" } else { "Revoke" },
                t.person_name
            )),
        )?;
        finish_if_done(conn, actor, t.workflow_id)?;
        Ok(t.workflow_id)
    })
}

/// Closes a task without acting (e.g. the person does not need the product), with a reason.
pub fn close_not_needed(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<i64, CommandError> {
    let reason = reason.trim();
    crate::db::transaction(conn, |conn| {
        // Who may close it first: anyone else learns nothing, not even that it exists.
        let t = load_task(conn, id)?;
        authorize_task(conn, actor, &t)?;
        if reason.is_empty() {
            return Err(invalid("reason", "Say why this task is not needed."));
        }
        if crate::domain::card::contains_card_number(reason) {
            return Err(invalid("reason", crate::domain::card::REFUSAL));
        }
        if t.status != "open" {
            return Err(CommandError::Refused("This task is already closed.".into()));
        }
        diesel::update(tasks::table.find(id))
            .set((
                tasks::status.eq("not_needed"),
                tasks::completed_by.eq(actor.id),
                tasks::completed_at.eq(crate::clock::now()),
                tasks::note.eq(reason),
            ))
            .execute(conn)?;
        let label = product_label(conn, t.product_id)?;
        audit::record(
            conn,
            AuditEntry::by(actor, "task.not_needed", "task", Some(id.to_string())).summary(
                format!(
                    "{label} for {}: closed as not needed ({reason})",
                    t.person_name
                ),
            ),
        )?;
        finish_if_done(conn, actor, t.workflow_id)?;
        Ok(t.workflow_id)
    })
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
    workflow_id: i64,
) -> Result<(), AppError> {
    finish(conn, Some(actor), workflow_id, crate::clock::local_today())
}

/// `finish_if_done` for `by` (None: the scheduler) on `today` (in the configured zone).
fn finish(
    conn: &mut PgConnection,
    by: Option<&Actor>,
    workflow_id: i64,
    today: NaiveDate,
) -> Result<(), AppError> {
    let open: i64 = tasks::table
        .filter(tasks::workflow_id.eq(workflow_id))
        .filter(tasks::status.eq("open"))
        .count()
        .get_result(conn)?;
    if open > 0 || super::handover::open_count(conn, workflow_id)? > 0 {
        return Ok(());
    }
    let (kind, person_id, started_by, status, last_day): (
        String,
        i64,
        Option<i64>,
        String,
        NaiveDate,
    ) = workflows::table
        .find(workflow_id)
        .select((
            workflows::kind,
            workflows::person_id,
            workflows::started_by,
            workflows::status,
            workflows::effective_on,
        ))
        .first(conn)?;
    if status != "open" {
        return Ok(());
    }
    if kind == "offboarding" && keeps_login(conn, person_id)? && last_day >= today {
        return Ok(());
    }
    diesel::update(workflows::table.find(workflow_id))
        .set((
            workflows::status.eq("completed"),
            workflows::completed_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    let name: String = users::table
        .find(person_id)
        .select(users::full_name)
        .first(conn)?;
    let left = if kind == "onboarding" {
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.eq("onboarding")),
        )
        .set(users::employment_status.eq("active"))
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
        Some(l) if l.role == "user" && l.scopes == 0 => {
            format!("Offboarding of {name} completed: login disabled")
        }
        Some(l) => format!(
            "Offboarding of {name} completed: login disabled, role {} and {} administrator scope(s) removed",
            crate::directory::model::role_label(&l.role),
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
            &[starter],
            "workflow.completed",
            &format!("The {kind} of {name} is complete"),
            &format!("/workflows/{workflow_id}"),
        )?;
    }
    Ok(())
}

/// Whether the person can log in now (active, a role with a login, a password): such a
/// login stays until the end of their last day.
fn keeps_login(conn: &mut PgConnection, person_id: i64) -> Result<bool, AppError> {
    let (active, role, has_password): (bool, String, bool) = users::table
        .find(person_id)
        .select((
            users::is_active,
            users::role,
            users::password_hash.is_not_null(),
        ))
        .first(conn)?;
    Ok(active && crate::authz::Role::parse(&role).is_some_and(|r| r.can_log_in()) && has_password)
}

/// What a leaver held when they left.
struct Left {
    role: String,
    scopes: usize,
}

/// The person has left: offboarded, login disabled and sessions ended, and no administrator
/// role or scope kept (the handovers gave their services and products new administrators;
/// anything added since is removed here).
fn leave(conn: &mut PgConnection, person_id: i64) -> Result<Left, AppError> {
    let role: String = users::table
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
            users::employment_status.eq("offboarded"),
            users::is_active.eq(false),
            users::role.eq("user"),
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
    let due: Vec<i64> = workflows::table
        .filter(workflows::kind.eq("offboarding"))
        .filter(workflows::status.eq("open"))
        .filter(workflows::effective_on.lt(today))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            tasks::table
                .filter(tasks::workflow_id.eq(workflows::id))
                .filter(tasks::status.eq("open")),
        )))
        .select(workflows::id)
        .order(workflows::id.asc())
        .load(conn)?;
    let mut completed = 0;
    for id in due {
        let done = crate::db::transaction(conn, |conn| {
            let status: String = workflows::table
                .find(id)
                .select(workflows::status)
                .for_update()
                .first(conn)?;
            if status != "open" {
                return Ok(false);
            }
            finish(conn, None, id, today)?;
            let after: String = workflows::table
                .find(id)
                .select(workflows::status)
                .first(conn)?;
            Ok::<_, AppError>(after == "completed")
        })?;
        completed += usize::from(done);
    }
    Ok(completed)
}

/// Cancels an open workflow and its open tasks (Admins), with a reason.
pub fn cancel(
    conn: &mut PgConnection,
    actor: &Actor,
    workflow_id: i64,
    reason: &str,
) -> Result<(), CommandError> {
    authorize(actor, Action::ManagePeople)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("reason", "Say why the workflow is cancelled."));
    }
    crate::db::transaction(conn, |conn| {
        let (status, kind, person_id): (String, String, i64) = workflows::table
            .find(workflow_id)
            .select((workflows::status, workflows::kind, workflows::person_id))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if status != "open" {
            return Err(CommandError::Refused(
                "Only an open workflow can be cancelled.".into(),
            ));
        }
        let cancelled = diesel::update(
            tasks::table
                .filter(tasks::workflow_id.eq(workflow_id))
                .filter(tasks::status.eq("open")),
        )
        .set((
            tasks::status.eq("cancelled"),
            tasks::note.eq(reason),
            tasks::completed_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
        super::handover::cancel_open(conn, workflow_id, reason)?;
        diesel::update(workflows::table.find(workflow_id))
            .set((
                workflows::status.eq("cancelled"),
                workflows::cancelled_at.eq(crate::clock::now()),
                workflows::cancel_reason.eq(reason),
            ))
            .execute(conn)?;
        let back = if kind == "onboarding" {
            "onboarding"
        } else {
            "offboarding"
        };
        diesel::update(
            users::table
                .find(person_id)
                .filter(users::employment_status.eq(back)),
        )
        .set(users::employment_status.eq("active"))
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
