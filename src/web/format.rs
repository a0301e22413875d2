//! How the pages write a moment: `2026-03-01 09:30 UTC`, the same on every page.

use chrono::{DateTime, Utc};

/// A moment as the pages show it.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
