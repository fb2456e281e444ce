//! Writing events as NDJSON lines: serde for most kinds, direct writers for trades and fills,
//! the bulk of what Njord writes.

use super::{Event, Fill, Liquidity, Trade};
use crate::num;

impl Event<'_> {
    /// Appends the event as one JSON line (with its `\n`).
    pub fn write_line(&self, out: &mut Vec<u8>) {
        match self {
            // The bulk of every tape: written directly (the same bytes serde writes, tested).
            Event::Trade(t) => write_trade_line(t, out),
            // What a paper trader and the backtester write most after trades.
            Event::Fill(f) => f.write_line(out),
            _ => {
                // Serializing into a Vec cannot fail: every field is a plain value.
                let _ = serde_json::to_writer(&mut *out, self);
                out.push(b'\n');
            }
        }
    }

    /// The event as one JSON line, without the `\n`.
    pub fn to_json(&self) -> String {
        let mut v = Vec::with_capacity(256);
        self.write_line(&mut v);
        v.pop();
        String::from_utf8(v).unwrap_or_default()
    }
}

/// A `trade` event as its NDJSON line without serde: the hot path of ingest, replay output
/// and generated tapes.
fn write_trade_line(t: &Trade<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":\"trade\",\"venue\":");
    write_json_str(&t.venue, out);
    out.extend_from_slice(b",\"symbol\":");
    write_json_str(&t.symbol, out);
    out.extend_from_slice(b",\"trade_id\":");
    write_json_str(&t.trade_id, out);
    out.extend_from_slice(b",\"price\":");
    num::write_plain(t.price, out);
    out.extend_from_slice(b",\"qty\":");
    num::write_plain(t.qty, out);
    out.extend_from_slice(b",\"side\":\"");
    out.extend_from_slice(t.side.as_str().as_bytes());
    out.extend_from_slice(b"\",\"ts_ns\":");
    out.extend_from_slice(itoa::Buffer::new().format(t.ts_ns).as_bytes());
    if let Some(l) = t.ts_local_ns {
        out.extend_from_slice(b",\"ts_local_ns\":");
        out.extend_from_slice(itoa::Buffer::new().format(l).as_bytes());
    }
    out.extend_from_slice(b"}\n");
}

impl Fill<'_> {
    /// The fill as its NDJSON line, as [`Event::write_line`] writes it: without serde (the
    /// same bytes, tested) and without wrapping it in an event first.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let f = self;
        out.extend_from_slice(b"{\"kind\":\"fill\",\"order_id\":");
        write_json_str(&f.order_id, out);
        out.extend_from_slice(b",\"intent_id\":");
        write_json_str(&f.intent_id, out);
        out.extend_from_slice(b",\"strategy_id\":");
        match &f.strategy_id {
            Some(s) => write_json_str(s, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"symbol\":");
        write_json_str(&f.symbol, out);
        out.extend_from_slice(b",\"side\":\"");
        out.extend_from_slice(f.side.as_str().as_bytes());
        out.extend_from_slice(b"\",\"qty\":");
        num::write_plain(f.qty, out);
        out.extend_from_slice(b",\"price\":");
        num::write_plain(f.price, out);
        out.extend_from_slice(b",\"fee\":");
        num::write_plain(f.fee, out);
        out.extend_from_slice(b",\"fee_asset\":");
        write_json_str(&f.fee_asset, out);
        out.extend_from_slice(match f.liquidity {
            Liquidity::Maker => b",\"liquidity\":\"maker\",\"ts_fill_ns\":",
            Liquidity::Taker => b",\"liquidity\":\"taker\",\"ts_fill_ns\":",
        });
        out.extend_from_slice(itoa::Buffer::new().format(f.ts_fill_ns).as_bytes());
        out.extend_from_slice(b"}\n");
    }
}

/// Appends `s` as a JSON string: text needing no escape is copied as is, the rest goes
/// through serde_json.
pub fn write_json_str(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Side;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use std::borrow::Cow;

    /// The fast writer's line and serde's, for an event with a fast writer.
    fn both(ev: Event<'_>) -> (String, String) {
        let mut fast = Vec::new();
        ev.write_line(&mut fast);
        let mut slow = serde_json::to_vec(&ev).unwrap();
        slow.push(b'\n');
        (
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap(),
        )
    }

    fn trade(price: Decimal, qty: Decimal, venue: &str, local: Option<i64>) -> Trade<'_> {
        Trade {
            venue: Cow::Borrowed(venue),
            symbol: Cow::Borrowed("ATOM/USDT"),
            trade_id: Cow::Borrowed("123"),
            price,
            qty,
            side: Side::Sell,
            ts_ns: -5,
            ts_local_ns: local,
        }
    }

    #[test]
    fn same_bytes_as_serde_for_edge_cases() {
        for (p, q) in [
            ("10.12300000", "0.00000001"),
            ("0", "-0.000"),
            ("-1.50", "100"),
            ("0.00031099999999999997", "79228162514264337593543950335"),
            ("-0.0000000000000000000000000001", "1e-3"),
        ] {
            let p = crate::num::parse_decimal(p).unwrap();
            let q = crate::num::parse_decimal(q).unwrap();
            for venue in ["binanceus", "we\"ird\\\u{1}é"] {
                let (fast, slow) = both(Event::Trade(trade(p, q, venue, Some(7))));
                assert_eq!(fast, slow);
                let (fast, slow) = both(Event::Trade(trade(p, q, venue, None)));
                assert_eq!(fast, slow);
            }
        }
    }

    fn fill<'a>(qty: Decimal, fee: Decimal, text: &'a str, strategy: Option<&'a str>) -> Fill<'a> {
        Fill {
            order_id: Cow::Borrowed("paper-1"),
            intent_id: Cow::Borrowed(text),
            strategy_id: strategy.map(Cow::Borrowed),
            symbol: Cow::Borrowed("ATOM/USDT"),
            side: Side::Buy,
            qty,
            price: Decimal::new(99_875, 4),
            fee,
            fee_asset: Cow::Borrowed(text),
            liquidity: if strategy.is_some() {
                Liquidity::Maker
            } else {
                Liquidity::Taker
            },
            ts_fill_ns: 1_700_000_000_123_456_789,
        }
    }

    #[test]
    fn fills_same_bytes_as_serde() {
        for text in ["USDT", "we\"ird\\\u{1}é"] {
            for strategy in [None, Some("ema"), Some(text)] {
                let (fast, slow) = both(Event::Fill(fill(
                    Decimal::ONE,
                    Decimal::new(-5, 28),
                    text,
                    strategy,
                )));
                assert_eq!(fast, slow);
            }
        }
    }

    proptest! {
        #[test]
        fn same_bytes_as_serde(m in any::<i64>(), scale in 0u32..=28, q in any::<u32>(), qs in 0u32..=12) {
            let p = Decimal::from_i128_with_scale(i128::from(m), scale);
            let q = Decimal::from_i128_with_scale(i128::from(q), qs);
            let (fast, slow) = both(Event::Trade(trade(p, q, "binanceus", Some(1))));
            prop_assert_eq!(fast, slow);
            let (fast, slow) = both(Event::Fill(fill(q, p, "USDT", Some("s"))));
            prop_assert_eq!(fast, slow);
        }
    }
}
