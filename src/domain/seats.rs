//! A product's seats: how many are in use, how many were bought, and whether going over
//! them is refused rather than asked. Every door that grants reads them the same way.

/// A product's seats: its active grants, the seats bought (none: not counted by seat), and
/// whether going over them is refused rather than asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seats {
    pub used: i64,
    pub purchased: Option<i32>,
    pub refuse_over: bool,
}

impl Seats {
    /// Seats free now (none: not counted by seat).
    pub fn free(&self) -> Option<i64> {
        self.purchased.map(|p| (i64::from(p) - self.used).max(0))
    }

    /// Seats over the purchased number once `adding` more are granted (0 within them).
    pub fn over_after(&self, adding: i64) -> i64 {
        self.purchased
            .map_or(0, |p| (self.used + adding - i64::from(p)).max(0))
    }

    /// Whether granting `adding` more is refused outright (not merely asked).
    pub fn refuses(&self, adding: i64) -> bool {
        self.refuse_over && self.over_after(adding) > 0
    }

    /// "3 of 20 seats are free." for a grant form (none when not counted by seat).
    pub fn free_line(&self) -> Option<String> {
        let (free, bought) = (self.free()?, self.purchased?);
        Some(if self.refuse_over {
            format!("{free} of {bought} seats are free; grants beyond them are refused.")
        } else {
            format!("{free} of {bought} seats are free.")
        })
    }
}

impl From<(Option<i32>, Option<i32>, bool)> for Seats {
    /// From the seat counter (none: no grant yet), the seats bought and the setting.
    fn from((used, purchased, refuse_over): (Option<i32>, Option<i32>, bool)) -> Self {
        Self {
            used: i64::from(used.unwrap_or(0)),
            purchased,
            refuse_over,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Seats;

    #[test]
    fn going_over_is_asked_unless_refused_and_only_when_counted() {
        let mut s = Seats {
            used: 8,
            purchased: Some(10),
            refuse_over: false,
        };
        assert_eq!(
            (s.free(), s.over_after(2), s.over_after(5)),
            (Some(2), 0, 3)
        );
        assert!(!s.refuses(5), "going over is asked, not refused");
        assert_eq!(s.free_line().as_deref(), Some("2 of 10 seats are free."));
        s.refuse_over = true;
        assert!(s.refuses(3) && !s.refuses(2));
        assert!(s.free_line().unwrap().contains("refused"));
        s.used = 12;
        assert_eq!(s.free(), Some(0), "over already: none free, never negative");
        s.purchased = None;
        assert!(!s.refuses(100) && s.free_line().is_none());
    }
}
