//! Intake's domain: incident facts, rule sets, jurisdictions, and the
//! eligibility decision. Plain types and functions; no transport, no storage.

pub mod amendment;
pub mod calendar;
pub mod eligibility;
pub mod facts;
pub mod idempotency;
pub mod jurisdictions;
pub mod rules;
