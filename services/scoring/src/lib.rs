//! SCIR SSIT scoring: instruments as versioned data, independent ratings of each
//! key observation, inter-rater agreement, and the consensus profile.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod policy;
pub mod review_link;
pub mod service;
pub mod startup;
pub mod store;

pub use config::ScoringConfig;
pub use startup::Application;
