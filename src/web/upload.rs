//! Reading a browser's file upload (multipart, field `file`): the size limit is enforced as
//! the bytes arrive, so an oversized upload is refused (413) without being buffered.

use actix_multipart::{Multipart, MultipartError};
use futures_util::StreamExt as _;

use crate::error::{AppError, AppResult};

/// The `file` field's browser-supplied name (not sanitised) and content; `None` when the
/// form had no file. Besides the CSRF token that a page's form sends first (checked by
/// `auth::csrf` before the handler runs) the forms have no other field, so any other part
/// is refused (400).
pub async fn read_file(
    mut payload: Multipart,
    max: u64,
    too_large: impl FnOnce() -> String,
) -> AppResult<Option<(String, Vec<u8>)>> {
    let unreadable =
        |e: MultipartError| AppError::BadRequest(format!("The upload could not be read: {e}"));
    let mut file = None;
    let mut too_large = Some(too_large);
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(unreadable)?;
        if field.name() == Some(crate::web::csrf::FIELD) && file.is_none() {
            continue;
        }
        if field.name() != Some("file") || file.is_some() {
            return Err(AppError::BadRequest(
                "The upload could not be read: send one part, named file.".into(),
            ));
        }
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or_default()
            .to_string();
        // The name is kept (shown, and sent back in Content-Disposition): the input policy
        // of every door applies to it.
        if crate::web::input::screen_text(&name).is_some() {
            return Err(AppError::BadRequest(
                "The file's name looks like it holds a full card number. PortalOps stores only \
                 the last four digits: rename the file and upload it again."
                    .into(),
            ));
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(unreadable)?;
            if (data.len() + chunk.len()) as u64 > max {
                let message = too_large.take().map(|f| f()).unwrap_or_default();
                return Err(AppError::PayloadTooLarge(message));
            }
            data.extend_from_slice(&chunk);
        }
        file = Some((name, data));
    }
    Ok(file)
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

/// When an uploaded text holds a full card number anywhere, the refusal to show: the lines
/// where one stands (at most ten; none when it spans lines) and the card rule's sentence.
/// Files kept for a preview (imports, usage exports) are refused whole, before anything is
/// stored.
pub fn card_refusal(text: &str) -> Option<String> {
    crate::web::input::screen_text(text)?;
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| crate::domain::card::contains_card_number(line))
        .map(|(i, _)| (i + 1).to_string())
        .take(10)
        .collect();
    let at = if lines.is_empty() {
        String::new()
    } else {
        format!("Line {}: ", lines.join(", "))
    };
    Some(format!("{at}{}", crate::domain::card::REFUSAL))
}
