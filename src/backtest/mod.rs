//! The backtester: the engine, metrics, report and sweeps (pure, from the core crate) and the
//! shell that reads tapes and writes the outputs ([`run`]), and shares a sweep's trials
//! between workers through Redis ([`queue`]).

pub use njord_core::backtest::*;

pub mod queue;
pub mod run;
