//! The pre-trade risk engine: the pure core ([`RiskEngine`], from the core crate) and its
//! shell ([`stage`]), which reads the kill switch and shared Redis state right before each intent.

pub use njord_core::risk::*;

pub mod stage;
