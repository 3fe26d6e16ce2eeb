//! Rules that need no I/O: the stages and their guards, and the shape of
//! what callers send.

pub mod checks;
pub mod stages;
