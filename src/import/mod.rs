//! Imports of public history into Njord events, so a backtest can run on real downloads.
//!
//! Binance's public trade dumps (data.binance.vision, `…-trades-YYYY-MM-DD.csv`) have the
//! columns `id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]`, with or without
//! a header row; `time` is in milliseconds in older files and microseconds in newer ones.
//! The buyer being the maker means the seller took liquidity, so the taker side is `sell`.

use crate::event::{Event, Side, Trade};
use crate::journal::JournalReader;
use crate::num::parse_decimal;
use std::borrow::Cow;
use std::io;

/// Converts one CSV row; `Ok(None)` for a header row. Borrows the id from the row.
pub fn binance_trade_row<'a>(
    row: &'a str,
    symbol: &'a str,
    venue: &'a str,
) -> Result<Option<Trade<'a>>, String> {
    let cols: Vec<&str> = row.split(',').map(str::trim).collect();
    if cols.first().is_some_and(|c| c.eq_ignore_ascii_case("id")) {
        return Ok(None);
    }
    if cols.len() != 6 && cols.len() != 7 {
        return Err(format!(
            "expected 6 or 7 columns (id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]), found {}",
            cols.len()
        ));
    }
    let id = cols[0];
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("id `{id}` is not an integer"));
    }
    let price = parse_decimal(cols[1]).map_err(|e| format!("price: {e}"))?;
    let qty = parse_decimal(cols[2]).map_err(|e| format!("qty: {e}"))?;
    let time: i64 = cols[4]
        .parse()
        .map_err(|_| format!("time `{}` is not an integer", cols[4]))?;
    let ts_ns = time_to_ns(time).ok_or_else(|| format!("time `{time}` is out of range"))?;
    let side = match cols[5].to_ascii_lowercase().as_str() {
        "true" | "1" => Side::Sell,
        "false" | "0" => Side::Buy,
        other => return Err(format!("is_buyer_maker `{other}` is not true or false")),
    };
    Ok(Some(Trade {
        venue: Cow::Borrowed(venue),
        symbol: Cow::Borrowed(symbol),
        trade_id: Cow::Borrowed(id),
        price,
        qty,
        side,
        ts_ns,
        ts_local_ns: None,
    }))
}

/// Milliseconds (before year 5138) or microseconds (before 2286) since the epoch, to ns;
/// values already in nanoseconds pass through.
fn time_to_ns(t: i64) -> Option<i64> {
    if t < 0 {
        None
    } else if t < 100_000_000_000_000 {
        t.checked_mul(1_000_000)
    } else if t < 100_000_000_000_000_000 {
        t.checked_mul(1_000)
    } else {
        Some(t)
    }
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub events: u64,
    pub bad: u64,
}

/// Converts a whole dump into `trade` events handed to `emit` (which writes them to stdout or
/// a journal). Bad rows are passed to `on_bad` as `file:line: reason` and skipped.
pub fn binance_trades(
    reader: &mut JournalReader,
    symbol: &str,
    venue: &str,
    mut emit: impl FnMut(&Event<'_>) -> io::Result<()>,
    mut on_bad: impl FnMut(String),
) -> io::Result<ImportStats> {
    let mut stats = ImportStats::default();
    let name = reader.name().to_string();
    while let Some(line) = reader.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                stats.bad += 1;
                on_bad(e.to_string());
                continue;
            }
        };
        if line.lineno == 1 && line.text.starts_with("PK\u{3}\u{4}") {
            stats.bad += 1;
            on_bad(format!(
                "{name}: a zip archive; unzip it first (unzip -p FILE.zip > FILE.csv)"
            ));
            break;
        }
        match binance_trade_row(line.text, symbol, venue) {
            Ok(Some(t)) => {
                emit(&Event::Trade(t))?;
                stats.events += 1;
            }
            Ok(None) => {}
            Err(reason) => {
                stats.bad += 1;
                on_bad(format!("{name}:{}: {reason}", line.lineno));
            }
        }
    }
    Ok(stats)
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
}
