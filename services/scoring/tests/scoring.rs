//! Scoring over gRPC: real intake, review and scoring servers on free ports,
//! against SQLite and PostgreSQL.

mod scoring {
    pub(crate) mod harness;

    mod flow;
    mod ratings;
}
