//! SCIR learning: aggregate mappings across reviews, their sessions and
//! considerations, tracked to completion and checked for effect.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod policy;
pub mod review_link;
pub mod service;
pub mod startup;
pub mod store;

pub use config::LearningConfig;
pub use startup::Application;
