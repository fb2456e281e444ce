//! Klines (candles) computed from the tape's trades, as `GET /api/v3/klines` serves them:
//! epoch-aligned buckets of an interval, only the buckets that hold trades, oldest first.

use crate::matching::PubTrade;
use rust_decimal::Decimal;

/// One candle, in venue terms (milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Kline {
    pub open_time: i64,
    pub close_time: i64,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    pub quote_volume: Decimal,
    pub trades: u64,
    pub taker_buy_volume: Decimal,
    pub taker_buy_quote: Decimal,
}

/// Binance's interval names with their length in ms; `1M` (calendar months) is not served.
pub fn interval_ms(s: &str) -> Option<i64> {
    const S: i64 = 1_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;
    const D: i64 = 24 * H;
    Some(match s {
        "1s" => S,
        "1m" => M,
        "3m" => 3 * M,
        "5m" => 5 * M,
        "15m" => 15 * M,
        "30m" => 30 * M,
        "1h" => H,
        "2h" => 2 * H,
        "4h" => 4 * H,
        "6h" => 6 * H,
        "8h" => 8 * H,
        "12h" => 12 * H,
        "1d" => D,
        "3d" => 3 * D,
        "1w" => 7 * D,
        _ => return None,
    })
}

/// The klines of `trades` (sorted by time) whose open time lies in `[start, end]`: the
/// first `limit` of them, or with neither bound the last `limit`.
pub fn klines(
    trades: &[PubTrade],
    interval: i64,
    start: Option<i64>,
    end: Option<i64>,
    limit: usize,
) -> Vec<Kline> {
    let bucket = |t: i64| t - t.rem_euclid(interval);
    // The first trade that can fall in a wanted bucket (a bucket opening at or after start).
    let from = start.map_or(0, |s| {
        let first_open = if bucket(s) == s {
            s
        } else {
            bucket(s) + interval
        };
        trades.partition_point(|t| t.time < first_open)
    });
    let mut out: Vec<Kline> = Vec::new();
    for t in &trades[from..] {
        let open_time = bucket(t.time);
        if end.is_some_and(|e| open_time > e) {
            break;
        }
        let buy = !t.buyer_maker;
        let quote = t.price.saturating_mul(t.qty);
        match out.last_mut() {
            Some(k) if k.open_time == open_time => {
                k.high = k.high.max(t.price);
                k.low = k.low.min(t.price);
                k.close = t.price;
                k.volume = k.volume.saturating_add(t.qty);
                k.quote_volume = k.quote_volume.saturating_add(quote);
                k.trades += 1;
                if buy {
                    k.taker_buy_volume = k.taker_buy_volume.saturating_add(t.qty);
                    k.taker_buy_quote = k.taker_buy_quote.saturating_add(quote);
                }
            }
            _ => {
                if start.is_some() && out.len() == limit {
                    break;
                }
                out.push(Kline {
                    open_time,
                    close_time: open_time + interval - 1,
                    open: t.price,
                    high: t.price,
                    low: t.price,
                    close: t.price,
                    volume: t.qty,
                    quote_volume: quote,
                    trades: 1,
                    taker_buy_volume: if buy { t.qty } else { Decimal::ZERO },
                    taker_buy_quote: if buy { quote } else { Decimal::ZERO },
                });
            }
        }
    }
    if start.is_none() && out.len() > limit {
        out.drain(..out.len() - limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: u64, time: i64, price: i64, qty: i64, buyer_maker: bool) -> PubTrade {
        PubTrade {
            id,
            price: Decimal::from(price),
            qty: Decimal::from(qty),
            time,
            buyer_maker,
        }
    }

    #[test]
    fn buckets_hold_their_trades() {
        let tr = [
            t(1, 60_000, 10, 1, false),
            t(2, 60_500, 12, 2, true),
            t(3, 119_999, 9, 1, false),
            t(4, 240_000, 11, 3, true),
        ];
        let k = klines(&tr, 60_000, None, None, 500);
        assert_eq!(k.len(), 2);
        assert_eq!(
            (
                k[0].open_time,
                k[0].close_time,
                k[0].open,
                k[0].high,
                k[0].low,
                k[0].close
            ),
            (60_000, 119_999, 10.into(), 12.into(), 9.into(), 9.into())
        );
        assert_eq!(
            (k[0].volume, k[0].trades, k[0].taker_buy_volume),
            (4.into(), 3, 2.into())
        );
        assert_eq!(k[0].quote_volume, Decimal::from(10 + 24 + 9));
        // Bounds select by open time; the limit keeps the first (or, unbounded, the last).
        assert_eq!(
            klines(&tr, 60_000, Some(60_001), None, 500)[0].open_time,
            240_000
        );
        assert_eq!(klines(&tr, 60_000, Some(0), Some(60_000), 500).len(), 1);
        assert_eq!(klines(&tr, 60_000, Some(0), None, 1)[0].open_time, 60_000);
        assert_eq!(klines(&tr, 60_000, None, None, 1)[0].open_time, 240_000);
        assert_eq!(interval_ms("1h"), Some(3_600_000));
        assert_eq!(interval_ms("1M"), None);
    }
}
