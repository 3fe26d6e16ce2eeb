//! Request validation helpers: each check records a field violation under a
//! path prefix, so one pass reports every bad field of a request.

use chrono::{Datelike, NaiveDate};
use scir_proto::common::v1::Date;

use crate::error::{ApiError, FieldViolation};

/// The longest list of enum values a request may hold.
pub const MAX_ENUM_LIST: usize = 64;

/// Collects violations under a path prefix.
#[derive(Debug)]
pub struct Check<'a> {
    prefix: &'a str,
    violations: Vec<FieldViolation>,
}

impl<'a> Check<'a> {
    /// A collector for fields under `prefix` (e.g. `incident.`).
    pub fn new(prefix: &'a str) -> Self {
        Self {
            prefix,
            violations: Vec::new(),
        }
    }

    /// Whether nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations found.
    pub fn into_violations(self) -> Vec<FieldViolation> {
        self.violations
    }

    /// `Ok(())` when nothing is wrong, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(self.violations))
        }
    }

    /// Records a violation of `field`.
    pub fn bad(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push(FieldViolation::new(
            format!("{}{field}", self.prefix),
            description,
        ));
    }

    /// Checks a text: required when asked, at most `max` characters, no control characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        if required && value.trim().is_empty() {
            self.bad(field, "is required");
        } else if value.chars().count() > max {
            self.bad(field, format!("must be at most {max} characters"));
        } else if value.chars().any(|c| c.is_control()) {
            self.bad(field, "must not contain control characters");
        }
    }

    /// Parses a date, required when asked.
    pub fn date(&mut self, field: &str, value: Option<&Date>, required: bool) -> Option<NaiveDate> {
        match value {
            None if required => {
                self.bad(field, "is required");
                None
            }
            None => None,
            Some(d) => match to_date(d) {
                Some(date) => Some(date),
                None => {
                    self.bad(field, "is not a valid calendar date between 1900 and 9999");
                    None
                }
            },
        }
    }

    /// Checks a date is not after `today`.
    pub fn not_future(&mut self, field: &str, date: Option<NaiveDate>, today: NaiveDate) {
        if date.is_some_and(|d| d > today) {
            self.bad(field, "must not be in the future");
        }
    }

    /// Parses a required enum value (not 0, known).
    pub fn required_enum<T: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<T> {
        if value == 0 {
            self.bad(field, "is required");
            return None;
        }
        self.known_enum(field, value)
    }

    /// Parses an optional enum value (known).
    pub fn known_enum<T: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<T> {
        match T::try_from(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.bad(field, format!("unknown enum value {value}"));
                None
            }
        }
    }
}

/// The paths of a required update mask, each one of `allowed`; `*` means all
/// of them.
pub fn update_mask(
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&str],
) -> Result<Vec<String>, ApiError> {
    let paths = mask.map(|m| m.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        return Err(ApiError::invalid("update_mask", "is required"));
    }
    let violations: Vec<FieldViolation> = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| *p != "*" && !allowed.contains(&p.as_str()))
        .map(|(i, p)| {
            FieldViolation::new(
                format!("update_mask.paths[{i}]"),
                format!("`{p}` cannot be updated"),
            )
        })
        .collect();
    if !violations.is_empty() {
        return Err(ApiError::InvalidArgument(violations));
    }
    Ok(if paths.iter().any(|p| p == "*") {
        allowed.iter().map(|s| (*s).to_owned()).collect()
    } else {
        paths
    })
}

/// Checks a client's etag against the current one: a stale one is ABORTED;
/// an empty one is INVALID_ARGUMENT when `required`, else no check.
pub fn check_etag(given: &str, current: &str, required: bool) -> Result<(), ApiError> {
    if given.is_empty() {
        if required {
            return Err(ApiError::invalid("etag", "is required"));
        }
        return Ok(());
    }
    if given != current {
        return Err(ApiError::Aborted(
            "the resource changed since it was read; read it again".to_owned(),
        ));
    }
    Ok(())
}

/// A date message as a calendar date, when valid.
pub fn to_date(d: &Date) -> Option<NaiveDate> {
    if !(1900..=9999).contains(&d.year) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

/// A calendar date as a date message.
pub fn from_date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// Checks a repeated enum field: every value known and set, none repeated.
impl Check<'_> {
    /// The effectiveness check of an implemented action (a review's
    /// recommendation, an aggregate mapping's consideration), with the result
    /// numbered as both contracts number it (0 unchecked, 1 effective, 2
    /// partly, 3 not effective, 4 too early): `check_date` only once
    /// implemented, not before `done`, not in the future; a result needs the
    /// check date, and evidence unless it is too early to tell.
    pub fn effect(
        &mut self,
        implemented: bool,
        done: Option<NaiveDate>,
        check_date: Option<&Date>,
        effectiveness: i32,
        evidence: &str,
        today: NaiveDate,
    ) {
        const TOO_EARLY: i32 = 4;
        self.text("evidence", evidence, 5_000, false);
        let checked = self.date("check_date", check_date, false);
        self.not_future("check_date", checked, today);
        if check_date.is_some() && !implemented {
            self.bad(
                "check_date",
                "an effect is checked once the status is IMPLEMENTED",
            );
        }
        if let (Some(done), Some(checked)) = (done, checked)
            && checked < done
        {
            self.bad("check_date", "must not be before done_date");
        }
        if !(0..=TOO_EARLY).contains(&effectiveness) {
            self.bad(
                "effectiveness",
                format!("unknown enum value {effectiveness}"),
            );
            return;
        }
        if effectiveness != 0 && check_date.is_none() {
            self.bad("check_date", "is required with an effectiveness result");
        }
        if effectiveness != 0 && effectiveness != TOO_EARLY && evidence.trim().is_empty() {
            self.bad("evidence", "is required with an effectiveness result");
        }
    }

    /// Parses every value of a repeated enum, rejecting unset and repeated values.
    pub fn enum_list<T: TryFrom<i32>>(&mut self, field: &str, values: &[i32]) -> Vec<T> {
        // No enum of the contracts has this many values, so a longer list
        // repeats one; refusing it whole keeps the check linear and the answer small.
        if values.len() > MAX_ENUM_LIST {
            self.bad(field, format!("must have at most {MAX_ENUM_LIST} entries"));
            return Vec::new();
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let path = format!("{field}[{i}]");
            if let Some(value) = self.required_enum::<T>(&path, *v) {
                out.push(value);
            }
            if !seen.insert(*v) {
                self.bad(&path, "is repeated");
            }
        }
        out
    }

    /// Checks a repeated text field: at most `max_items`, each a valid text.
    pub fn text_list(
        &mut self,
        field: &str,
        values: &[String],
        max_items: usize,
        max_chars: usize,
    ) {
        if values.len() > max_items {
            self.bad(field, format!("must have at most {max_items} entries"));
            return;
        }
        for (i, v) in values.iter().enumerate() {
            self.text(&format!("{field}[{i}]"), v, max_chars, true);
        }
    }
}
