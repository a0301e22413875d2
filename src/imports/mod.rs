//! CSV imports of people and of services with their products. An upload is stored, then
//! checked row by row in the background (the dry run: every row's errors, nothing
//! written); once clean it can be committed, all or nothing, in one transaction with an
//! audit entry per change. The page shows progress while a job runs. `queries` reads the
//! imports for the pages (scoped by kind), `job` stores, checks and commits them.

pub mod grants;
pub mod job;
pub mod pages;
pub mod people;
pub mod queries;
pub mod services;

use actix_web::web as aw;
use serde::{Deserialize, Serialize};

use crate::authz::Action;

/// At most this many row errors are kept for the preview page.
pub const MAX_ERRORS: usize = 1000;

pub use crate::domain::{ImportKind, ImportStatus};

/// The header line of a template file.
pub fn columns(kind: ImportKind) -> &'static [&'static str] {
    match kind {
        ImportKind::People => people::COLUMNS,
        ImportKind::Services => services::COLUMNS,
        ImportKind::Grants => grants::COLUMNS,
    }
}

/// What the actor must be allowed to do to import `kind`.
pub fn action_for(kind: ImportKind) -> Action {
    match kind {
        ImportKind::People => Action::ManagePeople,
        ImportKind::Services => Action::ManageServices,
        // Admins: every product is in their scope, as the list of imports is theirs.
        ImportKind::Grants => Action::ManagePeople,
    }
}

/// The import pages.
pub fn routes(cfg: &mut aw::ServiceConfig) {
    cfg.route("/imports", aw::get().to(pages::list))
        .route("/imports", aw::post().to(pages::upload))
        .route("/imports/template/{name}", aw::get().to(pages::template))
        .route("/imports/{id}", aw::get().to(pages::show))
        .route("/imports/{id}/commit", aw::post().to(pages::commit));
}

/// A problem with one row (row 1 is the header line).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// What a dry run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub total: usize,
    pub creates: usize,
    pub updates: usize,
    pub errors: Vec<RowError>,
    /// What the person importing should know before committing (a product going over its
    /// purchased seats).
    pub notes: Vec<String>,
}

/// Column name → position, and the data rows with their line numbers.
pub type Parsed = (
    std::collections::HashMap<String, usize>,
    Vec<(usize, csv::StringRecord)>,
);

/// Reads the CSV into (header → index, rows with their line numbers), checking the header.
pub fn read_csv(data: &str, required: &[&str], known: &[&str]) -> Result<Parsed, Vec<RowError>> {
    let data = data.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(data.as_bytes());
    let header_err = |message: String| RowError {
        row: 1,
        field: "header".into(),
        message,
    };
    let headers = reader
        .headers()
        .map_err(|e| vec![header_err(format!("The file is not readable CSV: {e}"))])?
        .clone();
    let mut index = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if !known.contains(&h.as_str()) {
            errors.push(header_err(format!(
                "Unknown column '{h}'. Expected: {}.",
                known.join(", ")
            )));
        }
        index.insert(h, i);
    }
    for r in required {
        if !index.contains_key(*r) {
            errors.push(header_err(format!("The column '{r}' is missing.")));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        match record {
            Ok(r) if r.iter().all(|c| c.trim().is_empty()) => {}
            // PostgreSQL text cannot hold it, and no spreadsheet writes it on purpose.
            Ok(r) if r.iter().any(|c| c.contains('\0')) => errors.push(RowError {
                row: line,
                field: "row".into(),
                message: "This row contains a NUL character, which text cannot hold.".into(),
            }),
            Ok(r) => rows.push((line, r)),
            Err(e) => errors.push(RowError {
                row: line,
                field: "row".into(),
                message: format!("This row is not readable CSV: {e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok((index, rows))
    } else {
        Err(errors)
    }
}

/// The cell under `column` ("" when the column or the cell is missing).
pub fn cell<'a>(
    index: &std::collections::HashMap<String, usize>,
    record: &'a csv::StringRecord,
    column: &str,
) -> &'a str {
    index
        .get(column)
        .and_then(|i| record.get(*i))
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_row_with_a_nul_character_is_an_error_of_that_row() {
        let errors = super::read_csv(
            "email\nok@example.com\nbad\0@example.com\n",
            &["email"],
            &["email"],
        )
        .expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 3);
        assert!(errors[0].message.contains("NUL"));
    }

    use super::*;

    #[test]
    fn headers_are_checked_and_blank_lines_skipped() {
        let e = read_csv("name,colour\nx,y\n", &["name", "email"], &["name", "email"]).unwrap_err();
        assert_eq!(e.len(), 2);
        let (idx, rows) = read_csv(
            "\u{feff}Email, Name\n a@b.c , Ann \n,\n",
            &["email"],
            &["email", "name"],
        )
        .expect("ok");
        assert_eq!(rows.len(), 1);
        assert_eq!(cell(&idx, &rows[0].1, "name"), "Ann");
        assert_eq!(rows[0].0, 2);
    }
}
