//! Njord's core: events, exact numbers, configuration types, event time, topics and every pure
//! core (risk, paper, strategies and indicators, bars, the backtest engine and metrics, the
//! broker's order state machine, the depth sequencer, de-duplication windows, token buckets).
//!
//! Nothing here does I/O or reads the wall clock (DESIGN §2): the same code runs live, in paper
//! and in the backtester. The manifest lists no I/O crate, and a test keeps it that way.

pub mod alert;
pub mod audit;
pub mod backoff;
pub mod backtest;
pub mod bars;
pub mod broker;
pub mod clock;
pub mod coint;
pub mod config;
pub mod event;
pub mod exec;
pub mod features;
pub mod indicators;
pub mod num;
pub mod overfit;
pub mod paper;
pub mod portfolio;
pub mod prices;
pub mod reason;
pub mod risk;
pub mod strategy;
pub mod stress;
pub mod swar;
pub mod synth;
pub mod tape_check;
pub mod time;
pub mod topic;
pub mod venue;
