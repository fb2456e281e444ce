//! Binance's public data dumps (data.binance.vision), spot, plain or gzipped CSV, with or
//! without a header row; times in milliseconds in older files and microseconds in newer ones.
//!
//! - trades: `id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]`;
//! - aggTrades: `agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
//!   is_buyer_maker[, is_best_match]`;
//! - klines: `open_time, open, high, low, close, volume, close_time, quote_volume, count,
//!   taker_buy_base, taker_buy_quote, ignore`.
//!
//! The buyer being the maker means the seller took liquidity, so the taker side is `sell`.

use super::{Format, check_ohlc, dec, int, ms_or_us_to_ns};
use crate::bars::Timeframe;
use crate::event::{Bar, Event, Side, Trade};
use std::borrow::Cow;
use std::cell::Cell;

fn cols(row: &str) -> Vec<&str> {
    row.split(',').map(str::trim).collect()
}

/// A first column that is not a number: a header row.
fn is_header(row: &str) -> bool {
    row.split(',')
        .next()
        .is_some_and(|c| c.trim().parse::<i64>().is_err())
}

fn taker_side(text: &str) -> Result<Side, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(Side::Sell),
        "false" | "0" => Ok(Side::Buy),
        other => Err(format!("is_buyer_maker `{other}` is not true or false")),
    }
}

fn time_ns(text: &str, what: &str) -> Result<i64, String> {
    let t = int(text, what)?;
    ms_or_us_to_ns(t).ok_or_else(|| format!("{what} `{t}` is out of range"))
}

fn id(text: &str, what: &str) -> Result<(), String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} `{text}` is not an integer"));
    }
    Ok(())
}

/// Converts one trade-dump row; `Ok(None)` for a header row. Borrows the id from the row.
pub fn binance_trade_row<'a>(
    row: &'a str,
    symbol: &'a str,
    venue: &'a str,
) -> Result<Option<Trade<'a>>, String> {
    let cols = cols(row);
    if cols.first().is_some_and(|c| c.eq_ignore_ascii_case("id")) {
        return Ok(None);
    }
    if cols.len() != 6 && cols.len() != 7 {
        return Err(format!(
            "expected 6 or 7 columns (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]), found {}",
            cols.len()
        ));
    }
    id(cols[0], "id")?;
    Ok(Some(Trade {
        venue: Cow::Borrowed(venue),
        symbol: Cow::Borrowed(symbol),
        trade_id: Cow::Borrowed(cols[0]),
        price: dec(cols[1], "price")?,
        qty: dec(cols[2], "qty")?,
        side: taker_side(cols[5])?,
        ts_ns: time_ns(cols[4], "time")?,
        ts_local_ns: None,
    }))
}

/// Binance trade dumps, to `trade` events.
pub struct Trades {
    symbol: String,
    venue: String,
}

impl Trades {
    pub fn new(symbol: &str, venue: &str) -> Self {
        Trades {
            symbol: symbol.into(),
            venue: venue.into(),
        }
    }
}

impl Format for Trades {
    fn command(&self) -> &'static str {
        "binance-trades"
    }
    fn what(&self) -> String {
        "a Binance trades CSV (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match])"
            .into()
    }
    fn header(&mut self, row: &str) -> Result<bool, String> {
        Ok(row.trim_start().to_ascii_lowercase().starts_with("id,"))
    }
    fn row<'a>(&'a self, row: &'a str, _lineno: u64) -> Result<Option<Event<'a>>, String> {
        Ok(binance_trade_row(row, &self.symbol, &self.venue)?.map(Event::Trade))
    }
}

/// Binance aggTrades dumps, to `trade` events whose id is the aggregate trade id.
pub struct AggTrades {
    symbol: String,
    venue: String,
}

impl AggTrades {
    pub fn new(symbol: &str, venue: &str) -> Self {
        AggTrades {
            symbol: symbol.into(),
            venue: venue.into(),
        }
    }
}

impl Format for AggTrades {
    fn command(&self) -> &'static str {
        "binance-aggtrades"
    }
    fn what(&self) -> String {
        "a Binance aggTrades CSV (agg_trade_id, price, quantity, first_trade_id, last_trade_id, \
         transact_time, is_buyer_maker[, is_best_match])"
            .into()
    }
    fn header(&mut self, row: &str) -> Result<bool, String> {
        Ok(is_header(row))
    }
    fn row<'a>(&'a self, row: &'a str, _lineno: u64) -> Result<Option<Event<'a>>, String> {
        let c = cols(row);
        if c.len() != 7 && c.len() != 8 {
            return Err(format!(
                "expected 7 or 8 columns (agg_trade_id, price, quantity, first_trade_id, \
                 last_trade_id, transact_time, is_buyer_maker[, is_best_match]), found {}",
                c.len()
            ));
        }
        id(c[0], "agg_trade_id")?;
        Ok(Some(Event::Trade(Trade {
            venue: Cow::Borrowed(&self.venue),
            symbol: Cow::Borrowed(&self.symbol),
            trade_id: Cow::Borrowed(c[0]),
            price: dec(c[1], "price")?,
            qty: dec(c[2], "quantity")?,
            side: taker_side(c[6])?,
            ts_ns: time_ns(c[5], "transact_time")?,
            ts_local_ns: None,
        })))
    }
}

/// Binance kline dumps, to `bar` events. The timeframe is `--interval`, or inferred from the
/// first row's `close_time - open_time + 1`; every row must then be a bar of it.
pub struct Klines {
    symbol: String,
    interval: Cell<Option<Timeframe>>,
}

impl Klines {
    pub fn new(symbol: &str, interval: Option<Timeframe>) -> Self {
        Klines {
            symbol: symbol.into(),
            interval: Cell::new(interval),
        }
    }
}

impl Format for Klines {
    fn command(&self) -> &'static str {
        "binance-klines"
    }
    fn what(&self) -> String {
        "a Binance klines CSV (open_time, open, high, low, close, volume, close_time, \
         quote_volume, count, taker_buy_base, taker_buy_quote, ignore)"
            .into()
    }
    fn header(&mut self, row: &str) -> Result<bool, String> {
        Ok(is_header(row))
    }
    fn row<'a>(&'a self, row: &'a str, _lineno: u64) -> Result<Option<Event<'a>>, String> {
        let c = cols(row);
        if c.len() != 12 && c.len() != 11 {
            return Err(format!(
                "expected 12 columns (open_time, open, high, low, close, volume, close_time, \
                 quote_volume, count, taker_buy_base, taker_buy_quote, ignore), found {}",
                c.len()
            ));
        }
        let open_t = int(c[0], "open_time")?;
        let close_t = int(c[6], "close_time")?;
        let ts_open_ns = time_ns(c[0], "open_time")?;
        // The unit of this row (ms or µs), from what its open time became.
        let unit_ns = if open_t == 0 {
            1_000_000
        } else {
            ts_open_ns / open_t
        };
        let len = close_t
            .checked_sub(open_t)
            .and_then(|d| d.checked_add(1))
            .filter(|d| *d > 0)
            .ok_or_else(|| format!("close_time {close_t} is not after open_time {open_t}"))?;
        let len_ns = len.saturating_mul(unit_ns);
        let tf = match self.interval.get() {
            Some(tf) => tf,
            None => {
                let tf = Timeframe::from_ns(len_ns).ok_or_else(|| {
                    format!(
                        "close_time - open_time + 1 = {len} is not the length of a timeframe \
                         njord knows (1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d)"
                    )
                })?;
                self.interval.set(Some(tf));
                tf
            }
        };
        if len_ns != tf.ns() {
            return Err(format!(
                "close_time {close_t} does not close a {tf} bar opened at {open_t} (expected {})",
                open_t + tf.ns() / unit_ns - 1
            ));
        }
        if tf.bucket_start(ts_open_ns) != ts_open_ns {
            return Err(format!("open_time {open_t} is not on a {tf} boundary"));
        }
        let (open, high, low, close, volume) = (
            dec(c[1], "open")?,
            dec(c[2], "high")?,
            dec(c[3], "low")?,
            dec(c[4], "close")?,
            dec(c[5], "volume")?,
        );
        check_ohlc(open, high, low, close, volume)?;
        let trades = c[8]
            .parse::<u64>()
            .map_err(|_| format!("count `{}` is not a whole number", c[8]))?;
        Ok(Some(Event::Bar(Bar {
            symbol: Cow::Borrowed(&self.symbol),
            timeframe: Cow::Borrowed(tf.label()),
            ts_open_ns,
            ts_close_ns: ts_open_ns + tf.ns(),
            open,
            high,
            low,
            close,
            volume,
            trades,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_trades() {
        let t = binance_trade_row(
            "123,10.50000000,0.30000000,3.15000000,1700000000123,True,True",
            "ATOM/USDT",
            "binance",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            Event::Trade(t).to_json(),
            r#"{"kind":"trade","venue":"binance","symbol":"ATOM/USDT","trade_id":"123","price":10.5,"qty":0.3,"side":"sell","ts_ns":1700000000123000000}"#
        );
        let t = binance_trade_row("9,1,2,2,1700000000123456,false", "A/B", "binance")
            .unwrap()
            .unwrap();
        assert_eq!((t.side, t.ts_ns), (Side::Buy, 1_700_000_000_123_456_000));
        assert_eq!(
            binance_trade_row(
                "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match",
                "A/B",
                "b"
            ),
            Ok(None)
        );
    }

    #[test]
    fn bad_rows_say_why() {
        for (row, why) in [
            ("1,2,3", "expected 6 or 7 columns"),
            ("x,1,1,1,1,true", "id `x`"),
            ("1,abc,1,1,1,true", "price:"),
            ("1,1,1,1,soon,true", "time `soon`"),
            ("1,1,1,1,-5,true", "out of range"),
            ("1,1,1,1,5,maybe", "is_buyer_maker `maybe`"),
        ] {
            let e = binance_trade_row(row, "A/B", "b").unwrap_err();
            assert!(e.contains(why), "{row}: {e}");
        }
    }

    #[test]
    fn agg_trades() {
        let f = AggTrades::new("BTC/USDT", "binance");
        let ev = f
            .row(
                "26129,0.01633102,4.70443515,27781,27781,1498793709153,true,true",
                2,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            ev.to_json(),
            r#"{"kind":"trade","venue":"binance","symbol":"BTC/USDT","trade_id":"26129","price":0.01633102,"qty":4.70443515,"side":"sell","ts_ns":1498793709153000000}"#
        );
        assert!(f.row("1,2,3", 1).unwrap_err().contains("7 or 8 columns"));
    }

    #[test]
    fn klines_in_ms_and_us_infer_their_timeframe() {
        let f = Klines::new("BTC/USDT", None);
        let ms = "1704067200000,42283.58,42554.57,42261.02,42475.23,1271.68108,1704070799999,53957248.9,47134,682.57581,28957416.8,0";
        let ev = f.row(ms, 1).unwrap().unwrap();
        assert_eq!(
            ev.to_json(),
            r#"{"kind":"bar","symbol":"BTC/USDT","timeframe":"1h","ts_open_ns":1704067200000000000,"ts_close_ns":1704070800000000000,"open":42283.58,"high":42554.57,"low":42261.02,"close":42475.23,"volume":1271.68108,"trades":47134}"#
        );
        let us = "1735689600000000,1.5,2,1,1.25,10,1735693199999999,15,3,5,7.5,0";
        let Some(Event::Bar(b)) = f.row(us, 2).unwrap() else {
            panic!()
        };
        assert_eq!(
            (b.ts_open_ns, b.timeframe.as_ref()),
            (1_735_689_600_000_000_000, "1h")
        );
        // A 1m row in a file of 1h bars.
        let e = f
            .row("1704067200000,1,1,1,1,1,1704067259999,1,1,1,1,0", 3)
            .unwrap_err();
        assert!(e.contains("does not close a 1h bar"), "{e}");
    }

    #[test]
    fn bad_klines_say_why() {
        let tf = Timeframe::parse("1m").ok();
        let f = Klines::new("A/B", tf);
        for (row, why) in [
            ("1,2,3", "expected 12 columns"),
            (
                "1704067200000,1,1,1,1,1,1704067200000,1,1,1,1",
                "does not close a 1m bar",
            ),
            (
                "1704067200001,1,1,1,1,1,1704067260000,1,1,1,1,0",
                "not on a 1m boundary",
            ),
            (
                "1704067200000,1,0.5,1,1,1,1704067259999,1,1,1,1,0",
                "above high",
            ),
            ("1704067200000,1,1,1,x,1,1704067259999,1,1,1,1,0", "close:"),
            (
                "1704067200000,1,1,1,1,1,1704067259999,1,-3,1,1,0",
                "count `-3`",
            ),
            (
                "1704067200000,1,1,1,1,1,1704067100000,1,1,1,1,0",
                "not after open_time",
            ),
        ] {
            let e = f.row(row, 1).unwrap_err();
            assert!(e.contains(why), "{row}: {e}");
        }
        let e = Klines::new("A/B", None)
            .row("1704067200000,1,1,1,1,1,1704067206999,1,1,1,1,0", 1)
            .unwrap_err();
        assert!(e.contains("not the length of a timeframe"), "{e}");
    }
}
