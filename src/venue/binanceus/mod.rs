//! Binance.US: symbol mapping, WebSocket frames, the depth sequencer and public REST calls
//! (market data); request signing, symbol filters, signed REST orders and the user data stream
//! (execution).

pub use njord_core::venue::binanceus::{book, filters};
pub mod orders;
pub mod rest;
pub mod sign;
pub mod symbols;
pub mod user_stream;
pub mod ws;
