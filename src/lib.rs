//! Njord: a crypto trading toolkit of small binaries that speak NDJSON events.
//!
//! The pure cores (no I/O, no wall clock) live in the `njord-core` crate and are re-exported
//! here under their usual paths; this crate holds the thin shells that move events between
//! them (stdio, Redis and in-memory buses, files, the venue's HTTP and WebSocket APIs) and the
//! binaries. See the README.

pub use njord_core::{
    backoff, event, indicators, num, prices, reason, stress, swar, synth, tape_check, time, topic,
};

pub mod alert;
pub mod app;
pub mod audit;
pub mod backtest;
pub mod bars;
pub mod broker;
pub mod bus;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod ctl;
pub mod docs;
pub mod download;
pub mod exec;
pub mod import;
pub mod ingest;
pub mod journal;
pub mod kill;
pub mod logging;
pub mod net;
pub mod paper;
pub mod portfolio;
pub mod replay;
pub mod research;
pub mod risk;
pub mod stage;
pub mod strategy;
pub mod telemetry;
pub mod venue;
