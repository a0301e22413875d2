//! Importing access grants: one row per person and product (`email`, `service`,
//! `product`, and optionally `account_identifier`, `note`, `granted_on`), in the columns the
//! grants CSV export writes (its other columns are read and ignored). Every row is planned
//! by the directory's batch of grants — the same rules as one grant, the actor's scope, the
//! offboarding revoke tasks — and a row that cannot be granted is an error of that row.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{cell, read_csv, Outcome, RowError};
use crate::authz::Actor;
use crate::directory::grant_batch::{self, BatchPlan, BulkOutcome, GrantLine, ProductRef};
use crate::directory::grants::AfterGrant;
use crate::directory::requests::Grantee;
use crate::domain::text::{Line, Paragraph};
use crate::error::{AppError, CommandError};

pub use crate::directory::grant_rows::COLUMNS;

fn err(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        row,
        field: field.into(),
        message: message.into(),
    }
}

/// A cell as the export wrote it: a leading apostrophe that kept a spreadsheet from reading
/// it as a formula is taken off again.
fn unescaped(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => s,
    }
}

/// One row read into a grant line, or its errors.
fn line_of(
    row: usize,
    get: &dyn Fn(&str) -> String,
    today: NaiveDate,
) -> Result<GrantLine, Vec<RowError>> {
    let mut errors = Vec::new();
    let email = get("email");
    let person = match Grantee::parse(&email) {
        _ if email.is_empty() => {
            errors.push(err(row, "email", "The person's email address is missing."));
            None
        }
        Ok(Grantee::Id(_)) => {
            errors.push(err(row, "email", "Give the person's email address."));
            None
        }
        Ok(g) => Some(g),
        Err(m) => {
            errors.push(err(row, "email", m.message("The email address")));
            None
        }
    };
    let (service, product) = (get("service"), get("product"));
    for (column, value) in [("service", &service), ("product", &product)] {
        if value.is_empty() {
            errors.push(err(row, column, format!("The {column} name is missing.")));
        }
    }
    let account_identifier = Line::<200>::parse(&get("account_identifier"))
        .map_err(|m| {
            errors.push(err(
                row,
                "account_identifier",
                m.message("The account identifier"),
            ))
        })
        .ok();
    let note = Paragraph::<1000>::parse(&get("note"))
        .map_err(|m| errors.push(err(row, "note", m.message("The note"))))
        .ok();
    let granted_on = match get("granted_on").as_str() {
        "" => None,
        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if d > today => {
                errors.push(err(
                    row,
                    "granted_on",
                    "The date access began cannot be in the future.",
                ));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(err(
                    row,
                    "granted_on",
                    format!("“{text}” is not a date: write it as YYYY-MM-DD."),
                ));
                None
            }
        },
    };
    match (person, account_identifier, note) {
        (Some(person), Some(account_identifier), Some(note)) if errors.is_empty() => {
            Ok(GrantLine {
                given: email,
                person,
                product: ProductRef::Named { service, product },
                account_identifier,
                note,
                granted_on,
            })
        }
        _ => Err(errors),
    }
}

/// The column a refused line's reason belongs to.
fn column_of(outcome: BulkOutcome) -> &'static str {
    match outcome {
        BulkOutcome::Unknown | BulkOutcome::Offboarded => "email",
        BulkOutcome::NoProduct
        | BulkOutcome::NotYours
        | BulkOutcome::Archived
        | BulkOutcome::NoSeat => "product",
        BulkOutcome::Grant | BulkOutcome::Already | BulkOutcome::Repeated => "row",
    }
}

/// Checks every row against the file, the directory and the actor's scope; writes nothing.
/// The plan holds the lines to grant; the outcome says how many, each row's problems, and
/// the products the file takes over their purchased seats.
pub fn plan(
    conn: &mut PgConnection,
    actor: &Actor,
    data: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Outcome, BatchPlan), AppError> {
    let (index, rows) = match read_csv(data, &["email", "service", "product"], COLUMNS) {
        Ok(v) => v,
        Err(errors) => {
            let outcome = Outcome {
                errors,
                ..Default::default()
            };
            return Ok((outcome, BatchPlan::default()));
        }
    };
    let mut outcome = Outcome {
        total: rows.len(),
        ..Default::default()
    };
    // A day of slack: "today" in the file's zone may be tomorrow in UTC.
    let today = crate::clock::now().date_naive() + chrono::Days::new(1);
    let mut lines = Vec::with_capacity(rows.len());
    let mut numbers = Vec::with_capacity(rows.len());
    for (n, (row, record)) in rows.iter().enumerate() {
        let get = |column: &str| unescaped(cell(&index, record, column)).to_string();
        match line_of(*row, &get, today) {
            Ok(line) => {
                lines.push(line);
                numbers.push(*row);
            }
            Err(e) => outcome.errors.extend(e),
        }
        progress(n + 1, rows.len());
    }
    let plan = grant_batch::plan(conn, actor, lines)?;
    for (row, planned) in numbers.iter().zip(&plan.rows) {
        if let Some(why) = planned.outcome.refusal() {
            outcome.errors.push(err(
                *row,
                column_of(planned.outcome),
                format!("{}: {why}.", planned.describe()),
            ));
        }
    }
    outcome.errors.sort_by_key(|e| e.row);
    outcome.creates = plan.granted();
    outcome.notes = plan
        .over_seats()
        .map(|s| {
            format!(
                "{} → {} has {} of {} seats free: this file takes it {} over.",
                s.product.service_name,
                s.product.name,
                s.free().unwrap_or(0),
                s.seats.purchased.unwrap_or(0),
                s.over_by()
            )
        })
        .collect();
    Ok((outcome, plan))
}

/// Makes the grants of a clean plan (the commit's transaction holds it): each its own
/// audited grant with its follow-up.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    plan: &BatchPlan,
    after: &dyn AfterGrant,
) -> Result<(), AppError> {
    grant_batch::apply(conn, actor, plan, after).map_err(|e| match e {
        CommandError::Other(e) => e,
        // A clean plan checked in this transaction: only a grant made at the same moment
        // (the unique rule) gets here.
        other => AppError::internal(format!("a grant of the plan was refused: {other:?}")),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[(&str, &str)]) -> Result<GrantLine, Vec<RowError>> {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let get = |c: &str| {
            cells
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        line_of(3, &get, today)
    }

    #[test]
    fn a_row_names_a_person_by_email_and_a_product_by_its_names() {
        let l = line(&[
            ("email", "ada@example.com"),
            ("service", "GitHub"),
            ("product", "Enterprise"),
            ("granted_on", "2025-02-03"),
        ])
        .expect("a good row");
        assert_eq!(l.granted_on, NaiveDate::from_ymd_opt(2025, 2, 3));
        assert_eq!(
            l.product,
            ProductRef::Named {
                service: "GitHub".into(),
                product: "Enterprise".into()
            }
        );
    }

    #[test]
    fn every_problem_of_a_row_is_reported_at_once() {
        let e = line(&[
            ("email", ""),
            ("service", ""),
            ("product", "X"),
            ("granted_on", "2027-01-01"),
            ("note", "4111 1111 1111 1111"),
        ])
        .expect_err("refused");
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "service", "note", "granted_on"]);
        assert!(e.iter().all(|e| e.row == 3));
        assert!(!e.iter().any(|e| e.message.contains("4111")));
        let e = line(&[
            ("email", "42"),
            ("service", "S"),
            ("product", "P"),
            ("granted_on", "1/2/25"),
        ])
        .expect_err("refused");
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn an_apostrophe_the_export_added_is_taken_off() {
        assert_eq!(unescaped("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unescaped("'quoted"), "'quoted");
        assert_eq!(unescaped("plain"), "plain");
    }
}
