//! Binance.US rules applied without I/O: the depth-book sequencer and the symbol filters.

pub mod book;
pub mod filters;
