//! Rules that need no I/O: instruments, codes and results.

pub mod codes;
pub mod instruments;
pub mod results;
