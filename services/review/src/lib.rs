//! SCIR review workflow: systems-focused practice reviews of qualifying critical
//! incidents, from the case record review to finalised summaries.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod intake_link;
pub mod items;
pub mod policy;
pub mod scoring;
pub mod service;
pub mod startup;
pub mod store;

pub use config::ReviewConfig;
pub use startup::Application;
