//! SCIR culture: safety culture surveys. Waves for an agency's units,
//! one-time invitation codes, an answer page that needs no software, responses
//! kept apart from any code, and results withheld where a group is small.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod page;
pub mod policy;
pub mod service;
pub mod startup;
pub mod store;

pub use config::CultureConfig;
pub use startup::Application;
