//! Intake over gRPC: real servers on free ports, against SQLite and PostgreSQL.

mod intake {
    pub(crate) mod harness;

    mod access;
    mod audit;
    mod events;
    mod incidents;
    mod privacy;
    mod rules;
    mod validation;
    mod write_path;
}
