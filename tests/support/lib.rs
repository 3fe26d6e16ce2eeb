//! Support for the end-to-end tests: the real service binaries started as
//! separate processes on free ports, each with its own database; an OTLP
//! receiver collecting their spans and metrics (`scir-otlp-sink`); and a sample
//! case.
//!
//! The binaries are the ones `cargo test --workspace` (or `cargo nextest run
//! --workspace`) builds next to this test's executable.

pub mod cases;
pub mod processes;
