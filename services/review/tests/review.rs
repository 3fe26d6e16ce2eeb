//! Review over gRPC: real intake and review servers on free ports, against
//! SQLite and PostgreSQL.

mod review {
    pub(crate) mod harness;

    mod access;
    mod events;
    mod filters;
    mod parts;
    mod summaries;
    mod workflow;
}
