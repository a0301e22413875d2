//! Renewal arithmetic: cancellation deadlines from notice periods, and renewals that roll
//! forward by their cycle while keeping their day of the month (31 January → 28/29 February
//! → 31 March).

use chrono::{Datelike as _, Months, NaiveDate};

use diesel::NullableExpressionMethods as _;

use crate::domain::{BillingCycle, BillingRecordId, BillingStatus, NoticeUnit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Days(u32),
    Months(u32),
}

impl Notice {
    /// From the stored columns (`notice_value`, `notice_unit`).
    pub fn from_parts(value: Option<i32>, unit: Option<NoticeUnit>) -> Option<Self> {
        match (value, unit) {
            (Some(v), Some(NoticeUnit::Days)) if v >= 0 => Some(Notice::Days(v as u32)),
            (Some(v), Some(NoticeUnit::Months)) if v >= 0 => Some(Notice::Months(v as u32)),
            _ => None,
        }
    }

    /// The number of units (the `notice_value` column).
    pub fn value(self) -> i32 {
        match self {
            Notice::Days(n) | Notice::Months(n) => n as i32,
        }
    }

    /// The `notice_unit` column.
    pub fn unit(self) -> NoticeUnit {
        match self {
            Notice::Days(_) => NoticeUnit::Days,
            Notice::Months(_) => NoticeUnit::Months,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Notice::Days(1) => "1 day".into(),
            Notice::Days(n) => format!("{n} days"),
            Notice::Months(1) => "1 month".into(),
            Notice::Months(n) => format!("{n} months"),
        }
    }
}

/// The last day to cancel or renegotiate: the notice period before the next renewal of an
/// auto-renewing record, else before the contract's end. `None` without a notice period.
pub fn cancellation_deadline(
    next_renewal: Option<NaiveDate>,
    contract_end: Option<NaiveDate>,
    auto_renew: bool,
    notice: Option<Notice>,
) -> Option<NaiveDate> {
    let base = if auto_renew {
        next_renewal.or(contract_end)
    } else {
        contract_end.or(next_renewal)
    }?;
    match notice? {
        Notice::Days(d) => base.checked_sub_signed(chrono::TimeDelta::days(i64::from(d))),
        // chrono clamps to the month's last day: 31 March − 1 month = 28/29 February.
        Notice::Months(m) => base.checked_sub_months(Months::new(m)),
    }
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    super::requests::month_end(year, month)
        .map(|d| d.day())
        .unwrap_or(28)
}

/// `date` plus `months`, on the anchor day of the month where that month has it.
pub fn add_months_anchored(date: NaiveDate, months: u32, anchor_day: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1)?
        .checked_add_months(Months::new(months))?;
    let day = anchor_day
        .clamp(1, 31)
        .min(last_day_of_month(first.year(), first.month()));
    NaiveDate::from_ymd_opt(first.year(), first.month(), day)
}

/// The renewals after `next_renewal`, one cycle apart and on the anchor day of the month
/// where the month has it: the series the roll-forward moves along (and the calendar shows).
/// Empty for a cycle that does not recur; bounded at 200 years.
pub fn later_renewals(
    next_renewal: NaiveDate,
    cycle: BillingCycle,
    anchor_day: u32,
) -> impl Iterator<Item = NaiveDate> {
    let step = cycle.months();
    step.into_iter().flat_map(move |step| {
        (1..=12 * 200 / step)
            .map_while(move |k| add_months_anchored(next_renewal, step * k, anchor_day))
    })
}

/// The next renewal on or after `today` for an auto-renewing record whose renewal date has
/// passed; `None` when it has not passed or the cycle does not recur.
pub fn rolled_forward(
    next_renewal: NaiveDate,
    cycle: BillingCycle,
    anchor_day: u32,
    today: NaiveDate,
) -> Option<NaiveDate> {
    if next_renewal >= today {
        return None;
    }
    later_renewals(next_renewal, cycle, anchor_day).find(|d| *d >= today)
}

/// What the roll-forward needs of a record whose renewal date has passed.
#[derive(diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::billing_records, check_for_backend(diesel::pg::Pg))]
struct DueRecord {
    id: BillingRecordId,
    #[diesel(
        select_expression = crate::db::schema::billing_records::next_renewal_on.assume_not_null(),
        select_expression_type = diesel::dsl::AssumeNotNull<crate::db::schema::billing_records::next_renewal_on>
    )]
    next_renewal_on: NaiveDate,
    cycle: BillingCycle,
    renewal_anchor_day: Option<i16>,
    contract_end_on: Option<NaiveDate>,
    notice_value: Option<i32>,
    notice_unit: Option<NoticeUnit>,
}

/// Rolls every active auto-renewing record whose renewal date has passed forward by its
/// cycle (recomputing its cancellation deadline), each with an audit entry. Returns how many.
pub fn roll_forward_due(
    conn: &mut diesel::PgConnection,
    today: NaiveDate,
) -> Result<usize, crate::error::AppError> {
    use crate::audit::{self, AuditEntry};
    use crate::db::schema::billing_records as br;
    use diesel::prelude::*;
    let due: Vec<DueRecord> = br::table
        .filter(br::status.eq(BillingStatus::Active))
        .filter(br::auto_renew.eq(true))
        .filter(br::next_renewal_on.lt(today))
        .select(DueRecord::as_select())
        .load(conn)?;
    let mut rolled = 0;
    for DueRecord {
        id,
        next_renewal_on: next,
        cycle,
        renewal_anchor_day: anchor,
        contract_end_on: contract_end,
        notice_value: nv,
        notice_unit: nu,
    } in due
    {
        let anchor = anchor.map(|a| a as u32).unwrap_or(next.day());
        let Some(new) = rolled_forward(next, cycle, anchor, today) else {
            continue;
        };
        let deadline =
            cancellation_deadline(Some(new), contract_end, true, Notice::from_parts(nv, nu));
        conn.transaction::<_, crate::error::AppError, _>(|conn| {
            diesel::update(br::table.find(id))
                .set((
                    br::next_renewal_on.eq(new),
                    br::cancellation_deadline.eq(deadline),
                    br::updated_at.eq(crate::clock::now()),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                AuditEntry::system(
                    "billing.renewal_rolled",
                    "billing_record",
                    Some(id.to_string()),
                )
                .actor(None, "scheduler")
                .summary(format!(
                    "Renewed automatically: next renewal {next} → {new}"
                ))
                .before(serde_json::json!({"next_renewal_on": next}))
                .after(
                    serde_json::json!({"next_renewal_on": new, "cancellation_deadline": deadline}),
                ),
            )?;
            Ok(())
        })?;
        rolled += 1;
    }
    Ok(rolled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn month_arithmetic_keeps_the_anchor_day() {
        let cases = [
            ("2027-01-31", 1, 31, "2027-02-28"),
            ("2028-01-31", 1, 31, "2028-02-29"),
            ("2027-02-28", 1, 31, "2027-03-31"),
            ("2027-01-30", 1, 30, "2027-02-28"),
            ("2027-11-30", 3, 30, "2028-02-29"),
            ("2024-02-29", 12, 29, "2025-02-28"),
            ("2025-02-28", 12, 29, "2026-02-28"),
            ("2027-12-15", 1, 15, "2028-01-15"),
        ];
        for (from, months, anchor, expected) in cases {
            assert_eq!(
                add_months_anchored(d(from), months, anchor),
                Some(d(expected)),
                "{from} + {months} (anchor {anchor})"
            );
        }
    }

    /// (next renewal, contract end, auto-renews, notice, expected deadline).
    type DeadlineCase<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        bool,
        Option<Notice>,
        Option<&'a str>,
    );

    #[test]
    fn cancellation_deadlines() {
        let cases: &[DeadlineCase] = &[
            (
                Some("2027-03-31"),
                None,
                true,
                Some(Notice::Months(1)),
                Some("2027-02-28"),
            ),
            (
                Some("2028-03-31"),
                None,
                true,
                Some(Notice::Months(1)),
                Some("2028-02-29"),
            ),
            (
                Some("2027-03-31"),
                None,
                true,
                Some(Notice::Days(30)),
                Some("2027-03-01"),
            ),
            (
                Some("2027-01-15"),
                None,
                true,
                Some(Notice::Months(3)),
                Some("2026-10-15"),
            ),
            (
                Some("2027-05-31"),
                Some("2027-12-31"),
                false,
                Some(Notice::Months(2)),
                Some("2027-10-31"),
            ),
            (
                None,
                Some("2027-12-31"),
                true,
                Some(Notice::Days(90)),
                Some("2027-10-02"),
            ),
            (Some("2027-03-31"), None, true, None, None),
            (None, None, true, Some(Notice::Days(30)), None),
            (
                Some("2027-03-31"),
                None,
                true,
                Some(Notice::Days(0)),
                Some("2027-03-31"),
            ),
        ];
        for (renewal, end, auto, notice, expected) in cases {
            assert_eq!(
                cancellation_deadline(renewal.map(d), end.map(d), *auto, *notice),
                expected.map(d),
                "{renewal:?} {end:?} {auto} {notice:?}"
            );
        }
    }

    #[test]
    fn later_renewals_follow_the_cycle_on_the_anchor_day() {
        let take = |from: &str, cycle: &str, anchor: u32, n: usize| -> Vec<NaiveDate> {
            later_renewals(d(from), cycle.parse().expect("cycle"), anchor)
                .take(n)
                .collect()
        };
        assert_eq!(
            take("2027-01-31", "monthly", 31, 4),
            ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"].map(d)
        );
        // After a clamped month, the anchor day comes back.
        assert_eq!(
            take("2028-02-29", "monthly", 31, 2),
            ["2028-03-31", "2028-04-30"].map(d)
        );
        assert_eq!(
            take("2027-11-30", "quarterly", 30, 3),
            ["2028-02-29", "2028-05-30", "2028-08-30"].map(d)
        );
        assert_eq!(
            take("2024-02-29", "annual", 29, 4),
            ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"].map(d)
        );
        assert_eq!(take("2027-01-15", "usage", 15, 1), [d("2027-02-15")]);
        assert!(take("2027-01-15", "one_off", 15, 3).is_empty());
    }

    #[test]
    fn renewals_roll_forward_by_their_cycle() {
        assert_eq!(
            rolled_forward(d("2026-01-31"), BillingCycle::Monthly, 31, d("2026-03-15")),
            Some(d("2026-03-31"))
        );
        assert_eq!(
            rolled_forward(d("2026-02-28"), BillingCycle::Monthly, 31, d("2026-03-01")),
            Some(d("2026-03-31"))
        );
        assert_eq!(
            rolled_forward(d("2024-02-29"), BillingCycle::Annual, 29, d("2025-03-01")),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            rolled_forward(
                d("2026-11-30"),
                BillingCycle::Quarterly,
                30,
                d("2027-01-01")
            ),
            Some(d("2027-02-28"))
        );
        assert_eq!(
            rolled_forward(d("2026-12-01"), BillingCycle::Monthly, 1, d("2026-12-01")),
            None,
            "not passed yet"
        );
        assert_eq!(
            rolled_forward(d("2026-01-01"), BillingCycle::OneOff, 1, d("2026-12-01")),
            None
        );
    }
}
