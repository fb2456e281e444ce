//! The trade fast path of decoding: a direct scan of trade lines in the layout Njord writes,
//! and a [`Decoder`] that skips the head a tape repeats.

use super::decode::decode_slow;
use super::{DecodeError, Event, Side, Trade};
use crate::num;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::ops::Range;

/// Decodes a stream of lines exactly as [`decode`](fn@super::decode) does, faster on tapes:
/// it remembers the head of the last canonical trade line
/// (`{"kind":"trade","venue":…,"symbol":…,"trade_id":`), which a tape repeats line after
/// line, and reads a line that starts with the same bytes from its trade id on.
#[derive(Debug, Default)]
pub struct Decoder {
    head: Vec<u8>,
    at: TradeHead,
}

impl Decoder {
    pub fn decode<'a>(&mut self, line: &'a str) -> Result<Event<'a>, DecodeError> {
        if self.head.is_empty() || !line.as_bytes().starts_with(&self.head) {
            let Some(at) = trade_head(line) else {
                return decode_slow(line);
            };
            self.head.clear();
            self.head.extend_from_slice(&line.as_bytes()[..at.end]);
            self.at = at;
        }
        match trade_tail(line, &self.at) {
            Some(t) => Ok(Event::Trade(t)),
            None => decode_slow(line),
        }
    }
}

/// Where the venue and symbol of a trade line in [`Event::write_line`]'s layout are, and
/// where the rest starts (just after `"trade_id":`).
#[derive(Debug, Default, Clone)]
struct TradeHead {
    venue: Range<usize>,
    symbol: Range<usize>,
    end: usize,
}

/// Trade lines in exactly the layout [`Event::write_line`] produces — the bulk of every tape —
/// are decoded by a direct scan. Anything else (another key order, escapes, exponents,
/// whitespace, numeric ids) returns `None` and goes through serde, so both paths accept the
/// same lines and yield the same events.
pub(super) fn fast_trade(line: &str) -> Option<Trade<'_>> {
    trade_tail(line, &trade_head(line)?)
}

#[inline(always)]
fn trade_head(line: &str) -> Option<TradeHead> {
    let mut c = Scan { s: line, i: 0 };
    c.lit("{\"kind\":\"trade\",\"venue\":")?;
    let venue = c.string_at()?;
    c.lit(",\"symbol\":")?;
    let symbol = c.string_at()?;
    c.lit(",\"trade_id\":")?;
    Some(TradeHead {
        venue,
        symbol,
        end: c.i,
    })
}

#[inline(always)]
fn trade_tail<'a>(line: &'a str, head: &TradeHead) -> Option<Trade<'a>> {
    let mut c = Scan {
        s: line,
        i: head.end,
    };
    let trade_id = c.string()?;
    c.lit(",\"price\":")?;
    let price = c.decimal()?;
    c.lit(",\"qty\":")?;
    let qty = c.decimal()?;
    c.lit(",\"side\":")?;
    let side = match c.string()? {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        _ => return None,
    };
    c.lit(",\"ts_ns\":")?;
    let ts_ns = c.int()?;
    let ts_local_ns = match c.lit(",\"ts_local_ns\":") {
        Some(()) => Some(c.int()?),
        None => None,
    };
    c.lit("}")?;
    // A trade that breaks a rule goes to the slow path, which says why.
    if c.i != line.len() || !super::validate::trade_ok(price, qty) {
        return None;
    }
    Some(Trade {
        venue: Cow::Borrowed(line.get(head.venue.clone())?),
        symbol: Cow::Borrowed(line.get(head.symbol.clone())?),
        trade_id: Cow::Borrowed(trade_id),
        price,
        qty,
        side,
        ts_ns,
        ts_local_ns,
    })
}

/// A cursor over a line for [`fast_trade`].
struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    #[inline(always)]
    fn rest(&self) -> &'a [u8] {
        &self.s.as_bytes()[self.i..]
    }
    #[inline(always)]
    fn lit(&mut self, l: &str) -> Option<()> {
        self.rest()
            .starts_with(l.as_bytes())
            .then(|| self.i += l.len())
    }
    /// A string without escapes or control characters (serde handles those).
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let at = self.string_at()?;
        self.s.get(at)
    }
    /// Where the string's text is, for [`Scan::string`].
    #[inline(always)]
    fn string_at(&mut self) -> Option<Range<usize>> {
        let rest = self.rest().strip_prefix(b"\"")?;
        let end = crate::swar::string_end(rest)?;
        if rest[end] != b'"' {
            return None;
        }
        let start = self.i + 1;
        self.i = start + end + 1;
        Some(start..start + end)
    }
    /// A number must end at `,` or `}`; anything else (an exponent) is serde's to read.
    #[inline(always)]
    fn ends_number(&self) -> bool {
        matches!(self.rest().first(), Some(b',' | b'}'))
    }
    #[inline(always)]
    fn decimal(&mut self) -> Option<Decimal> {
        let (d, n) = num::parse_plain_prefix(self.rest())?;
        self.i += n;
        self.ends_number().then_some(d)
    }
    #[inline(always)]
    fn int(&mut self) -> Option<i64> {
        let b = self.rest();
        let start = usize::from(b.first() == Some(&b'-'));
        // 19 digits always fit in a u64; a 20th is left for serde to reject.
        let (v, n) = crate::swar::digits(&b[start..], 19);
        let i = start + n;
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        self.i += i;
        if !self.ends_number() {
            return None;
        }
        if start == 1 {
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(v).ok()
        }
    }
}
