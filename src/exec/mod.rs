//! Execution algorithms: the pure core ([`ExecEngine`], from the core crate) and the
//! `njord-exec` shell ([`stage`]).

pub use njord_core::exec::*;

pub mod stage;
