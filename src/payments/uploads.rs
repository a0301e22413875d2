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

/// Keeps only the last path component of a browser-supplied name, for display.
pub fn display_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("file");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

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
