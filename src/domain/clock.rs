//! The time, from one place: the system clock in production, a fixed instant in tests, so
//! that "today" (in the configured time zone) can be controlled.
//!
//! Every time the product writes and later compares comes from here: `now()` (the process's
//! clock; clippy's `disallowed-methods` refuses `Utc::now` anywhere else) or the
//! application's `Clock` (`AppState::clock`, with the configured time zone; tests fix it).
//! "Today" has one source: `Clock::today`, which a request's `Actor::today` and the jobs
//! read; there is no process-global time zone. The database server's
//! `now()` decides nothing: a column that is compared has no `DEFAULT now()` and is written
//! by the application.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

/// The application's clock: the time, and the time zone "today" is counted in
/// (`PORTALOPS_TIMEZONE`). Every "now" and "today" of a request or a job comes from here.
pub struct Clock {
    fixed: Mutex<Option<DateTime<Utc>>>,
    tz: chrono_tz::Tz,
}

impl Default for Clock {
    /// The system clock, in UTC.
    fn default() -> Self {
        Self::new(chrono_tz::UTC)
    }
}

impl Clock {
    /// The system clock, counting days in `tz`.
    pub fn new(tz: chrono_tz::Tz) -> Self {
        Self {
            fixed: Mutex::new(None),
            tz,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed.lock().ok().and_then(|f| *f).unwrap_or_else(now)
    }

    /// Fixes the time (tests); `None` returns to the system clock.
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        if let Ok(mut f) = self.fixed.lock() {
            *f = at;
        }
    }

    /// The zone days are counted in.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.tz
    }

    /// Today's date in the clock's zone: due dates, renewal windows, a last working day.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.tz).date_naive()
    }
}

/// The process's time: the one call of the system clock.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}
