//! Deadline arithmetic in calendar days, working days and months.

use std::collections::BTreeSet;

use chrono::{Datelike, Months, NaiveDate, Weekday};

/// How a deadline's amount is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Every day counts.
    CalendarDays,
    /// Mondays to Fridays that are not holidays count.
    WorkingDays,
    /// Calendar months; the day is clamped to the end of a shorter month.
    Months,
}

impl Unit {
    /// The unit in words, e.g. `working days`.
    pub fn words(self) -> &'static str {
        match self {
            Unit::CalendarDays => "calendar days",
            Unit::WorkingDays => "working days",
            Unit::Months => "months",
        }
    }
}

/// Whether `day` is a working day under `holidays`.
pub fn is_working_day(day: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// The date `amount` units after `start`; `None` past the end of the calendar.
/// Working days count from the day after `start`: 2 working days after a
/// Thursday is the next Monday.
pub fn add(
    start: NaiveDate,
    amount: u32,
    unit: Unit,
    holidays: &BTreeSet<NaiveDate>,
) -> Option<NaiveDate> {
    match unit {
        Unit::CalendarDays => start.checked_add_days(chrono::Days::new(u64::from(amount))),
        Unit::Months => start.checked_add_months(Months::new(amount)),
        Unit::WorkingDays => {
            let mut day = start;
            let mut counted = 0;
            while counted < amount {
                day = day.succ_opt()?;
                if is_working_day(day, holidays) {
                    counted += 1;
                }
            }
            Some(day)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let holidays: BTreeSet<_> = [d("2025-12-25")].into();
        // Wednesday before Christmas: Thursday is a holiday, Friday counts, the
        // weekend does not, Monday is the second working day.
        assert_eq!(
            add(d("2025-12-24"), 2, Unit::WorkingDays, &holidays),
            Some(d("2025-12-29"))
        );
        // Friday + 1 working day is Monday.
        assert_eq!(
            add(d("2025-11-21"), 1, Unit::WorkingDays, &holidays),
            Some(d("2025-11-24"))
        );
        assert_eq!(
            add(d("2025-11-21"), 0, Unit::WorkingDays, &holidays),
            Some(d("2025-11-21"))
        );
    }

    #[test]
    fn calendar_days_and_months() {
        let none = BTreeSet::new();
        assert_eq!(
            add(d("2025-01-01"), 90, Unit::CalendarDays, &none),
            Some(d("2025-04-01"))
        );
        assert_eq!(
            add(d("2025-08-31"), 6, Unit::Months, &none),
            Some(d("2026-02-28"))
        );
    }
}
