//! The paper trader: the pure core ([`PaperEngine`], from the core crate) and the `njord-paper`
//! shell ([`stage`]).

pub use njord_core::paper::*;

pub mod stage;
