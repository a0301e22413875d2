//! Stored files (invoices, contracts): the type comes from the content, never from the
//! name or the browser; the stored name is generated; a SHA-256 is recorded.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::error::AppError;

/// The file types accepted, from their first bytes.
pub fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    if data.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if data.starts_with(b"\xFF\xD8\xFF") {
        Some(("image/jpeg", "jpg"))
    } else {
        None
    }
}

pub struct Stored {
    pub stored_name: String,
    pub content_type: &'static str,
    pub sha256: String,
    pub size: i64,
}

/// Writes `data` under `dir` with a generated name (created exclusively, mode 0640).
pub fn store(dir: &Path, data: &[u8]) -> Result<Stored, AppError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let (content_type, ext) =
        sniff(data).ok_or_else(|| AppError::BadRequest("not an accepted file type".into()))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::internal(format!("upload directory: {e}")))?;
    let stored_name = format!("{}.{ext}", crate::auth::random_token());
    let path = dir.join(&stored_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&path)
        .map_err(|e| AppError::internal(format!("cannot store upload: {e}")))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| AppError::internal(format!("cannot store upload: {e}")))?;
    Ok(Stored {
        stored_name,
        content_type,
        sha256: sha2::Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        size: data.len() as i64,
    })
}

/// The path of a stored file; `stored_name` comes from the database, and is checked anyway.
pub fn path_of(dir: &Path, stored_name: &str) -> Option<PathBuf> {
    let ok = !stored_name.is_empty()
        && stored_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !stored_name.starts_with('.');
    ok.then(|| dir.join(stored_name))
}

/// RFC 6266 `Content-Disposition: attachment` with an ASCII fallback and a UTF-8 name.
pub fn content_disposition(original: &str) -> String {
    let ascii: String = original
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = original
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub use crate::web::upload::display_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_content() {
        assert_eq!(
            sniff(b"%PDF-1.7\n...").map(|t| t.0),
            Some("application/pdf")
        );
        assert_eq!(sniff(b"<html><script>").map(|t| t.0), None);
        assert_eq!(sniff(b"<svg xmlns=").map(|t| t.0), None);
    }

    #[test]
    fn names_cannot_traverse() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\\\invoices\\\\march.pdf"), "march.pdf");
        assert!(path_of(Path::new("/u"), "../x").is_none());
        assert!(path_of(Path::new("/u"), "abc_-.pdf").is_some());
        assert_eq!(
            content_disposition("Rechnung März.pdf"),
            "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
        );
    }
}

/// Why an upload was not attached, in words for the person who sent it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Empty,
    NotAllowedType,
}

impl Refused {
    pub fn message(&self) -> &'static str {
        match self {
            Refused::Empty => "Choose a file to attach.",
            Refused::NotAllowedType => {
                "Only PDF, PNG and JPEG files can be attached (checked from the file's content)."
            }
        }
    }
}

/// Checks an uploaded file's content, stores it and records it as an attachment of billing
/// record `record_id` (audited in the same transaction): the one path for the page and the
/// API. The caller has authorized the record. A file whose recording fails is removed again.
pub async fn attach(
    state: &crate::web::AppState,
    actor: &crate::authz::Actor,
    record_id: crate::domain::BillingRecordId,
    name: &str,
    data: Vec<u8>,
) -> Result<Result<crate::domain::AttachmentId, Refused>, AppError> {
    if data.is_empty() {
        return Ok(Err(Refused::Empty));
    }
    if sniff(&data).is_none() {
        return Ok(Err(Refused::NotAllowedType));
    }
    let name = display_name(name);
    let dir = state.config.upload_dir.clone();
    let stored = actix_web::web::block(move || store(&dir, &data))
        .await
        .map_err(|_| AppError::internal("upload task cancelled"))??;
    let a = actor.clone();
    let stored_name = stored.stored_name.clone();
    let result = crate::db::run(&state.pool, move |conn| {
        super::commands::add_attachment(conn, &a, record_id, &name, &stored)
    })
    .await;
    if result.is_err() {
        // Not recorded: do not leave an orphan file behind.
        if let Some(p) = path_of(&state.config.upload_dir, &stored_name) {
            let _ = std::fs::remove_file(p);
        }
    }
    result.map(Ok)
}

/// An attachment as a download (`Content-Disposition: attachment`, `nosniff`), if `actor`
/// may see its billing record: the one path for the page and the API.
pub async fn download(
    state: &crate::web::AppState,
    actor: &crate::authz::Actor,
    id: crate::domain::AttachmentId,
) -> Result<actix_web::HttpResponse, AppError> {
    use actix_web::http::header;
    let a = actor.clone();
    let (original, stored, content_type) = crate::db::run(&state.pool, move |conn| {
        super::commands::attachment_for_download(conn, &a, id)
    })
    .await?;
    let file = path_of(&state.config.upload_dir, &stored).ok_or(AppError::NotFound)?;
    let data = actix_web::web::block(move || std::fs::read(file))
        .await
        .map_err(|_| AppError::internal("download task cancelled"))?
        .map_err(|e| AppError::internal(format!("stored file unreadable: {e}")))?;
    Ok(actix_web::HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&original)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(data))
}
