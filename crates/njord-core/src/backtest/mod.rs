//! The backtester (issue 9): the strategy, risk and paper cores driven in one process over a
//! tape ([`engine`]), the equity curve and metrics ([`metrics`]), the HTML report
//! ([`report`]), parameter sweeps ([`sweep`]) and what they search ([`search`]), Monte Carlo runs ([`montecarlo`]) and walk-forward
//! windows ([`walkforward`]); the shell that reads tapes and writes the
//! outputs is `njord::backtest::run`.

pub mod engine;
pub mod metrics;
pub mod montecarlo;
pub mod report;
pub mod search;
pub mod sweep;
pub mod walkforward;
