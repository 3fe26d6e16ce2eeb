//! Scoring's domain: instruments, rating validation and inter-rater agreement.
//! Plain types and functions; no transport, no storage.

pub mod agreement;
pub mod instruments;
