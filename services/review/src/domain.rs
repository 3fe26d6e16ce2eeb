//! Review's domain: the stage machine and its guards, deadlines, the language
//! check and summaries. Plain types and functions; no transport, no storage.

pub mod deadlines;
pub mod language;
pub mod stages;
pub mod summary;
