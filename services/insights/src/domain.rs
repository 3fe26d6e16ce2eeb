//! Insights' domain: de-identified facts, the questions asked of them, the
//! disclosure control that guards every pooled answer, and CSV and SVG renderings.
//! Plain types and functions; no transport, no storage.

pub mod culture;
pub mod engine;
pub mod export;
pub mod facts;
pub mod protection;
pub mod snapshot;
