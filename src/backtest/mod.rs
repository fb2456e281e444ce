//! The backtester: the engine, metrics, report and sweeps (pure, from the core crate) and the
//! shell that reads tapes and writes the outputs ([`run`]).

pub use njord_core::backtest::*;

pub mod run;
