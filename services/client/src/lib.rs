//! Calling a SCIR deployment over its public gRPC APIs: where the services
//! listen and who calls ([`connect`]), and one case's journey from report to
//! the stage its plan names ([`journey`]). `scir demo`, the benchmarks, the
//! end-to-end tests and the test kit all drive reviews through it.

pub mod connect;
pub mod journey;
