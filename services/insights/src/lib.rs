//! SCIR aggregate insights: review and scoring events projected into
//! de-identified facts, and the questions partnership members ask of them,
//! with small-cell suppression on every pooled answer.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod index;
pub mod policy;
pub mod projection;
pub mod service;
pub mod startup;
pub mod store;

pub use config::InsightsConfig;
pub use startup::Application;
