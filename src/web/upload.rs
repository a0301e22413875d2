//! Reading a browser's file upload (multipart, field `file`): the size limit is enforced as
//! the bytes arrive, so an oversized upload is refused (413) without being buffered.

use actix_multipart::{Multipart, MultipartError};
use futures_util::StreamExt as _;

use crate::error::{AppError, AppResult};

/// The `file` field's browser-supplied name (not sanitised) and content; `None` when the
/// form had no file. Other fields are drained and ignored.
pub async fn read_file(
    mut payload: Multipart,
    max: u64,
    too_large: impl FnOnce() -> String,
) -> AppResult<Option<(String, Vec<u8>)>> {
    let unreadable =
        |e: MultipartError| AppError::BadRequest(format!("The upload could not be read: {e}"));
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(unreadable)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(unreadable)?;
            }
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or_default()
            .to_string();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(unreadable)?;
            if (data.len() + chunk.len()) as u64 > max {
                return Err(AppError::PayloadTooLarge(too_large()));
            }
            data.extend_from_slice(&chunk);
        }
        return Ok(Some((name, data)));
    }
    Ok(None)
}
