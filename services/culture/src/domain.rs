//! Rules that need no I/O: instruments, codes, results and their exports.

pub mod codes;
pub mod export;
pub mod instruments;
pub mod results;
