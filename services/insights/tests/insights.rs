//! Insights over gRPC: the real service consuming event logs, on SQLite and
//! PostgreSQL.

mod insights {
    pub(crate) mod harness;

    mod attack;

    mod culture;
    mod learning;
    mod pipeline;
    mod projection;
    mod questions;
    mod scope;
    mod suppression;
}
