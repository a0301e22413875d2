//! The time, from one place: the system clock in production, a fixed instant in tests, so
//! that "today" (in the configured time zone) can be controlled.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Default)]
pub struct Clock {
    fixed: Mutex<Option<DateTime<Utc>>>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .lock()
            .ok()
            .and_then(|f| *f)
            .unwrap_or_else(Utc::now)
    }

    /// Fixes the time (tests); `None` returns to the system clock.
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        if let Ok(mut f) = self.fixed.lock() {
            *f = at;
        }
    }

    /// Today's date in `tz`.
    pub fn today(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.now().with_timezone(&tz).date_naive()
    }
}

static TIMEZONE: std::sync::OnceLock<chrono_tz::Tz> = std::sync::OnceLock::new();

/// Sets the zone of `local_today` once, at start-up (`PORTALOPS_TIMEZONE`).
pub fn set_timezone(tz: chrono_tz::Tz) {
    let _ = TIMEZONE.set(tz);
}

/// Today in the configured time zone (UTC until set): due dates, renewal windows, a last
/// working day. The reminder jobs use the application's `Clock` instead, so tests can fix it.
pub fn local_today() -> NaiveDate {
    let tz = TIMEZONE.get().copied().unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).date_naive()
}
