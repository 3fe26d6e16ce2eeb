//! SCIR intake and eligibility: critical incidents reported by agencies, the
//! decision whether each qualifies for a systems-focused practice review under
//! its jurisdiction's rule set, and the deadlines that follow.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod policy;
pub mod service;
pub mod startup;
pub mod store;

pub use config::IntakeConfig;
pub use startup::Application;
