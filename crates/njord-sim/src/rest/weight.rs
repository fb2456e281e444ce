//! Request weight: what each endpoint costs, and the errors and headers of the weight limit.

use super::params::Params;
use super::route::Ep;
use crate::ApiError;
use njord::venue::binanceus::errors;

/// Request weight, as Binance.US lists it (some depend on parameters).
pub(super) fn weight(ep: Ep, p: &Params) -> u32 {
    use Ep::*;
    let has_symbol = p.has("symbol") || p.has("symbols");
    match ep {
        ExchangeInfo | Account | MyTrades | AllOrders => 10,
        Depth => match p
            .peek("limit")
            .and_then(|l| l.parse::<u32>().ok())
            .unwrap_or(100)
        {
            0..=100 => 1,
            101..=500 => 5,
            501..=1000 => 10,
            _ => 50,
        },
        TickerPrice | BookTicker => {
            if has_symbol {
                1
            } else {
                2
            }
        }
        Ticker24 => {
            if has_symbol {
                1
            } else {
                40
            }
        }
        QueryOrder | Klines | AggTrades => 2,
        OpenOrders => {
            if has_symbol {
                3
            } else {
                40
            }
        }
        _ => 1,
    }
}

pub(super) fn too_much_weight(limit: u32) -> ApiError {
    ApiError::new(
        429,
        errors::TOO_MANY_REQUESTS,
        format!(
            "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        ),
    )
}

pub(super) fn banned(until_ms: i64) -> ApiError {
    ApiError::new(
        418,
        errors::TOO_MANY_REQUESTS,
        format!(
            "Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for live updates to avoid bans."
        ),
    )
}

pub(super) fn weight_headers(used: u32) -> Vec<(&'static str, String)> {
    vec![
        ("x-mbx-used-weight", used.to_string()),
        ("x-mbx-used-weight-1m", used.to_string()),
    ]
}
