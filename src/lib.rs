//! Njord: a crypto trading toolkit of small binaries that speak NDJSON events.
//!
//! The library holds the pure cores (no I/O, no wall clock) and the thin shells that move
//! events between them: stdio, Redis and in-memory buses. See `DESIGN.md` and the README.

pub mod app;
pub mod backoff;
pub mod backtest;
pub mod bars;
pub mod broker;
pub mod bus;
pub mod check;
pub mod cli;
pub mod config;
pub mod docs;
pub mod event;
pub mod import;
pub mod indicators;
pub mod ingest;
pub mod journal;
pub mod kill;
pub mod logging;
pub mod num;
pub mod paper;
pub mod prices;
pub mod replay;
pub mod risk;
pub mod sim;
pub mod stage;
pub mod strategy;
pub mod swar;
pub mod time;
pub mod topic;
pub mod venue;
