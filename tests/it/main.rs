//! Every integration test of the `njord` package, in one binary (one link instead of one per
//! area), with shared fixtures in [`support`]: a real `redis-server`, a real `njord-sim`.

mod alert;
mod audit;
mod backtest;
mod broker;
mod capital;
mod ctl;
mod defects;
mod docs;
mod durability;
mod events;
mod exec;
mod exec_strategy;
mod failover;
mod features;
mod foundation;
mod house;
mod ingest;
mod model_strategy;
mod portfolio;
mod readme;
mod real_data;
mod research;
mod risk_paper;
mod secrets;
mod simulation;
mod storage;
mod strat;
mod stress;
mod support;
mod telemetry;
mod topics;
mod validation;
