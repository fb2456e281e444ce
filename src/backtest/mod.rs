//! The backtester (issue 9): the strategy, risk and paper cores driven in one process over a
//! tape, with the equity curve, metrics, an HTML report and parameter sweeps.

pub mod metrics;
