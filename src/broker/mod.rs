//! The broker: the pure cores (live gate, client order ids, order state machine,
//! reconciliation, from the core crate) and the service that drives a venue ([`service`]).

pub use njord_core::broker::*;

pub mod service;
