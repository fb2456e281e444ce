//! Venue adapters. Each venue lives in its own folder so a second one is a sibling; what is
//! venue-neutral (how a symbol is named on each side) lives here.

pub mod binanceus;

/// One symbol as Njord and the venue name it: `ATOM/USDT`, `ATOMUSDT`, `atomusdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueSymbol {
    /// Njord's name, `BASE/QUOTE`.
    pub pair: String,
    /// The venue's REST name (`ATOMUSDT`).
    pub venue: String,
    /// The prefix of the venue's stream names (`atomusdt`).
    pub stream: String,
}
