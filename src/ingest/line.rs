//! A `trade` event written as its NDJSON line without serde: ingest's hot path. The bytes are
//! exactly those of [`Event::write_line`](crate::event::Event::write_line) (a test holds them
//! to it), so journals, stdout and Redis agree whichever writer produced a line.

use crate::event::Trade;
use rust_decimal::Decimal;

/// Appends `t` as one JSON line (with its `\n`).
pub fn write_trade_line(t: &Trade<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":\"trade\",\"venue\":");
    json_str(&t.venue, out);
    out.extend_from_slice(b",\"symbol\":");
    json_str(&t.symbol, out);
    out.extend_from_slice(b",\"trade_id\":");
    json_str(&t.trade_id, out);
    out.extend_from_slice(b",\"price\":");
    decimal(t.price, out);
    out.extend_from_slice(b",\"qty\":");
    decimal(t.qty, out);
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

/// A JSON string; text needing no escape is copied as is, the rest goes through serde_json.
fn json_str(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// A decimal in its shortest exact form, as [`crate::num`] writes it (`1.50` → `1.5`).
fn decimal(d: Decimal, out: &mut Vec<u8>) {
    let mut m = d.mantissa();
    let mut scale = d.scale() as usize;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    if m == 0 {
        out.push(b'0');
        return;
    }
    if m < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(m.unsigned_abs()).as_bytes();
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Side};
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn both(t: Trade<'_>) -> (String, String) {
        let mut fast = Vec::new();
        write_trade_line(&t, &mut fast);
        let mut slow = Vec::new();
        Event::Trade(t).write_line(&mut slow);
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
                let (fast, slow) = both(trade(p, q, venue, Some(7)));
                assert_eq!(fast, slow);
                let (fast, slow) = both(trade(p, q, venue, None));
                assert_eq!(fast, slow);
            }
        }
    }

    proptest! {
        #[test]
        fn same_bytes_as_serde(m in any::<i64>(), scale in 0u32..=28, q in any::<u32>(), qs in 0u32..=12) {
            let p = Decimal::from_i128_with_scale(i128::from(m), scale);
            let q = Decimal::from_i128_with_scale(i128::from(q), qs);
            let (fast, slow) = both(trade(p, q, "binanceus", Some(1)));
            prop_assert_eq!(fast, slow);
        }
    }
}
