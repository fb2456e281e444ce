//! Binance.US: request signing, symbol filters, signed REST orders and the user data stream.

pub mod filters;
pub mod orders;
pub mod sign;
pub mod user_stream;
