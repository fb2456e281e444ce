//! Binance.US: symbol mapping, WebSocket frames, the depth sequencer and public REST calls
//! (market data); request signing, symbol filters, signed REST orders and the user data stream
//! (execution).

pub use njord_core::venue::binanceus::{book, errors, filters, status};
pub mod account;
pub mod listen_key;
pub mod orders;
pub mod rest;
pub mod rest_client;
pub mod retry;
pub mod sign;
pub mod symbols;
pub mod ticker;
pub mod user_stream;
pub mod venue;
pub mod wire;
pub mod ws;
