//! The `scir` command: every SCIR service in one process on SQLite files
//! (`scir up`), development tokens (`scir token`), and operator tools.

pub mod api_reference;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod culture_bench;
pub mod demo;
pub mod dev_auth;
pub mod drive;
pub mod hot_reviews;
pub mod loadgen;
pub mod overhead;
pub mod propagation;
pub mod survey_page;
pub mod up;
pub mod web_bench;

pub use scir_client::{connect, journey};
