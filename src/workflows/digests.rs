//! The daily task digests: one a day per assignee with open tasks due soon or overdue,
//! decided once through notify's `reminders_sent` (`notify::reminders::claim`), in the same
//! transaction as its email (outbox) and in-app notification. Run by `jobs` with the
//! billing reminders.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::assign;
use crate::config::Config;
use crate::db::schema::{products, services, tasks, users, workflows};
use crate::error::AppError;
use crate::notify::outbox::enqueue;
use crate::notify::reminders::{active_people, claim};
use crate::web::urls;

/// One line of a digest.
pub struct DigestTask {
    pub title: String,
    pub due: NaiveDate,
    pub overdue: bool,
    pub link: String,
}

#[derive(Template)]
#[template(path = "emails/digest.txt")]
struct DigestText<'a> {
    name: &'a str,
    until: NaiveDate,
    tasks: &'a [DigestTask],
    all_link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/digest.html")]
struct DigestHtml<'a> {
    name: &'a str,
    until: NaiveDate,
    tasks: &'a [DigestTask],
    all_link: &'a str,
}

/// One digest a day per assignee with open tasks due within `digest_days` or overdue (an
/// email when mail is configured, and an in-app notification); returns how many were sent.
pub fn task_digests(
    conn: &mut PgConnection,
    cfg: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let until = today + chrono::TimeDelta::days(cfg.digest_days);
    let open: Vec<(i64, String, i64, String, NaiveDate, i64, String)> = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::status.eq("open"))
        .filter(tasks::due_on.le(until))
        .select((
            tasks::id,
            tasks::kind,
            tasks::product_id,
            services::name.concat(" → ").concat(products::name),
            tasks::due_on,
            workflows::person_id,
            users::full_name,
        ))
        .order((tasks::due_on.asc(), tasks::id.asc()))
        .load(conn)?;
    // Assignees depend on the product and on whom the workflow is about (never them).
    let mut assignees: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
    let mut per_user: BTreeMap<i64, Vec<DigestTask>> = BTreeMap::new();
    for (id, kind, product_id, label, due, person_id, person) in open {
        let key = (product_id, person_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = assignees.entry(key) {
            slot.insert(assign::assignees(conn, product_id, person_id)?.0);
        }
        for user in &assignees[&key] {
            per_user.entry(*user).or_default().push(DigestTask {
                title: format!(
                    "{} {label} for {person}",
                    if kind == "grant" { "Grant" } else { "Revoke" }
                ),
                due,
                overdue: due < today,
                link: format!("{}{}", cfg.public_url, urls::task(id)),
            });
        }
    }
    let mut sent = 0;
    let all_link = format!("{}/tasks", cfg.public_url);
    for (user, list) in per_user {
        let key = format!("digest:{user}:{today}");
        let done = conn.transaction::<_, AppError, _>(|conn| {
            if !claim(conn, std::slice::from_ref(&key))? {
                return Ok(false);
            }
            let Some((_, name, email)) = active_people(conn, vec![user])?.pop() else {
                return Ok(false);
            };
            let subject = format!("{} open task(s) due soon or overdue", list.len());
            if cfg.mail.is_some() {
                let text = DigestText {
                    name: &name,
                    until,
                    tasks: &list,
                    all_link: &all_link,
                }
                .render()
                .map_err(|e| AppError::internal(e.to_string()))?;
                let html = DigestHtml {
                    name: &name,
                    until,
                    tasks: &list,
                    all_link: &all_link,
                }
                .render()
                .map_err(|e| AppError::internal(e.to_string()))?;
                enqueue(conn, now, &email, &subject, &text, &html, Some(&key))?;
            }
            crate::notify::notify(conn, &[user], "reminder.tasks", &subject, "/tasks")?;
            Ok(true)
        })?;
        if done {
            sent += 1;
        }
    }
    Ok(sent)
}
