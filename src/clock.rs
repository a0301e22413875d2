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
