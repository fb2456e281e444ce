//! Binance.US: symbol mapping, WebSocket frames, the depth sequencer and public REST calls.

pub mod book;
pub mod rest;
pub mod symbols;
pub mod ws;
