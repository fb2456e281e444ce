//! Binance.US rules applied without I/O: the depth-book sequencer, the symbol filters, the error
//! codes and the order statuses on the wire.

pub mod book;
pub mod errors;
pub mod filters;
pub mod status;
