//! Importing people: create or update by email. Empty cells leave an existing person's
//! value as it is. Roles and logins are not imported (an Admin sets them per person).

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::json;

use super::{cell, read_csv, Outcome, RowError};
use crate::audit::{self, AuditEntry};
use crate::authz::Actor;
use crate::db::schema::users;
use crate::directory::model::PersonForm;
use crate::directory::queries::Person;
use crate::directory::requests::PersonChanges;
use crate::error::AppError;

pub const COLUMNS: &[&str] = &[
    "full_name",
    "email",
    "department",
    "job_title",
    "manager_email",
    "employment_status",
    "start_date",
    "end_date",
];

pub struct Planned {
    existing: Option<Person>,
    values: PersonChanges,
}

fn err(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        row,
        field: field.into(),
        message: message.into(),
    }
}

/// Checks every row against the file and the database; writes nothing.
pub fn plan(
    conn: &mut PgConnection,
    data: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Outcome, Vec<Planned>), AppError> {
    let (index, rows) = match read_csv(data, &["email"], COLUMNS) {
        Ok(v) => v,
        Err(errors) => {
            return Ok((
                Outcome {
                    errors,
                    ..Default::default()
                },
                Vec::new(),
            ))
        }
    };
    let total = rows.len();
    let emails: Vec<String> = rows
        .iter()
        .map(|(_, r)| cell(&index, r, "email").to_lowercase())
        .collect();
    let existing: HashMap<String, Person> = users::table
        .filter(crate::db::lower(users::email).eq_any(&emails))
        .select(Person::as_select())
        .load(conn)?
        .into_iter()
        .map(|p| (p.email.to_lowercase(), p))
        .collect();
    let file_emails: HashSet<&str> = emails.iter().map(String::as_str).collect();
    let mut outcome = Outcome {
        total,
        ..Default::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut planned = Vec::new();
    let mut managers_to_check: Vec<(usize, String)> = Vec::new();
    for (n, (line, record)) in rows.iter().enumerate() {
        let line = *line;
        let email = cell(&index, record, "email").to_lowercase();
        if let Some(first) = seen.insert(email.clone(), line) {
            outcome.errors.push(err(
                line,
                "email",
                format!("This email appears twice in the file (also row {first})."),
            ));
            continue;
        }
        let current = existing.get(&email);
        let pick = |column: &str, old: Option<String>| {
            let v = cell(&index, record, column);
            if v.is_empty() {
                old.unwrap_or_default()
            } else {
                v.to_string()
            }
        };
        if current.is_none() && cell(&index, record, "full_name").is_empty() {
            outcome
                .errors
                .push(err(line, "full_name", "A new person needs a full name."));
            continue;
        }
        let mut form = PersonForm {
            full_name: pick("full_name", current.map(|p| p.full_name.clone())),
            email: email.clone(),
            username: current.and_then(|p| p.username.clone()).unwrap_or_default(),
            role: current
                .map(|p| p.role.as_str().to_string())
                .unwrap_or_else(|| "user".into()),
            is_active: Some("on".into()),
            department: pick("department", current.and_then(|p| p.department.clone())),
            job_title: pick("job_title", current.and_then(|p| p.job_title.clone())),
            manager_email: cell(&index, record, "manager_email").to_string(),
            employment_status: pick(
                "employment_status",
                current
                    .map(|p| p.employment_status.as_str().to_string())
                    .or(Some("active".into())),
            )
            .to_lowercase(),
            start_date: pick(
                "start_date",
                current.and_then(|p| p.start_date.map(|d| d.to_string())),
            ),
            end_date: pick(
                "end_date",
                current.and_then(|p| p.end_date.map(|d| d.to_string())),
            ),
            password: String::new(),
        };
        match form.validate() {
            Ok(mut values) => {
                if let Some(m) = &values.manager_email {
                    if m.as_str() == email {
                        outcome.errors.push(err(
                            line,
                            "manager_email",
                            "A person cannot be their own manager.",
                        ));
                        continue;
                    }
                    if !file_emails.contains(m.as_str()) {
                        managers_to_check.push((line, m.to_string()));
                    }
                }
                if let Some(p) = current {
                    values.is_active = p.is_active;
                    outcome.updates += 1;
                } else {
                    outcome.creates += 1;
                }
                planned.push(Planned {
                    existing: current.cloned(),
                    values,
                });
            }
            Err(fields) => {
                for f in COLUMNS.iter().chain(["username", "role"].iter()) {
                    let m = fields.get(f);
                    if !m.is_empty() {
                        outcome.errors.push(err(line, f, m));
                    }
                }
            }
        }
        progress(n + 1, total);
    }
    let wanted: Vec<String> = managers_to_check.iter().map(|(_, m)| m.clone()).collect();
    let found: HashSet<String> = users::table
        .filter(crate::db::lower(users::email).eq_any(&wanted))
        .select(users::email)
        .load::<String>(conn)?
        .into_iter()
        .map(|e| e.to_lowercase())
        .collect();
    for (line, m) in managers_to_check {
        if !found.contains(&m) {
            outcome.errors.push(err(
                line,
                "manager_email",
                format!("No manager with the email {m} in the directory or the file."),
            ));
        }
    }
    outcome.errors.sort_by_key(|e| e.row);
    Ok((outcome, planned))
}

fn person_json(v: &PersonChanges, manager_id: Option<i64>) -> serde_json::Value {
    json!({"full_name": v.full_name, "email": v.email, "department": v.department, "job_title": v.job_title,
           "manager_id": manager_id, "employment_status": v.employment_status,
           "start_date": v.start_date, "end_date": v.end_date})
}

/// Writes a clean plan: call inside the commit transaction.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    planned: &[Planned],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), AppError> {
    let total = planned.len();
    let mut ids: HashMap<String, i64> = HashMap::new();
    for (n, p) in planned.iter().enumerate() {
        let v = &p.values;
        let id = match &p.existing {
            Some(before) => {
                diesel::update(users::table.find(before.id))
                    .set((
                        users::full_name.eq(v.full_name.as_str()),
                        users::department.eq(v.department.as_deref()),
                        users::job_title.eq(v.job_title.as_deref()),
                        users::employment_status.eq(v.employment_status),
                        users::start_date.eq(v.start_date),
                        users::end_date.eq(v.end_date),
                        users::updated_at.eq(crate::clock::now()),
                    ))
                    .execute(conn)?;
                before.id.get()
            }
            None => diesel::insert_into(users::table)
                .values((
                    users::full_name.eq(v.full_name.as_str()),
                    users::email.eq(v.email.as_str()),
                    users::department.eq(v.department.as_deref()),
                    users::job_title.eq(v.job_title.as_deref()),
                    users::employment_status.eq(v.employment_status),
                    users::start_date.eq(v.start_date),
                    users::end_date.eq(v.end_date),
                ))
                .returning(users::id)
                .get_result(conn)?,
        };
        ids.insert(v.email.to_string(), id);
        progress(n + 1, total);
    }
    // Managers last: they may be people created by this same file.
    let wanted: Vec<String> = planned
        .iter()
        .filter_map(|p| p.values.manager_email.as_ref().map(|m| m.to_string()))
        .collect();
    let manager_ids: HashMap<String, i64> = users::table
        .filter(crate::db::lower(users::email).eq_any(&wanted))
        .select((users::email, users::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(e, id)| (e.to_lowercase(), id))
        .collect();
    for p in planned {
        let v = &p.values;
        let id = ids[v.email.as_str()];
        let manager_id = match &v.manager_email {
            Some(m) => manager_ids.get(m.as_str()).copied(),
            None => p
                .existing
                .as_ref()
                .and_then(|e| e.manager_id.map(|m| m.get())),
        };
        diesel::update(users::table.find(id))
            .set(users::manager_id.eq(manager_id))
            .execute(conn)?;
        let entry = match &p.existing {
            Some(before) => AuditEntry::by(actor, "person.updated", "user", Some(id.to_string()))
                .summary(format!("Updated {} from a CSV import", v.full_name))
                .before(
                    json!({"full_name": before.full_name, "department": before.department,
                               "job_title": before.job_title, "manager_id": before.manager_id,
                               "employment_status": before.employment_status,
                               "start_date": before.start_date, "end_date": before.end_date}),
                )
                .after(person_json(v, manager_id)),
            None => AuditEntry::by(actor, "person.created", "user", Some(id.to_string()))
                .summary(format!(
                    "Added {} ({}) from a CSV import",
                    v.full_name, v.email
                ))
                .after(person_json(v, manager_id)),
        };
        audit::record(conn, entry)?;
    }
    Ok(())
}
