//! The rules a decoded event must also pass, beyond its fields' types: no duplicate keys
//! (readers disagree on which one wins) and positive prices and quantities on market data,
//! fills and balances (one negative price poisons positions, fees and the daily loss cap).
//! Intents and orders are left to the stage that answers them (risk denies a bad intent as
//! `invalid_intent`, paper rejects a bad order as `invalid_order`).

use super::{Event, Level};
use rust_decimal::Decimal;

/// Why a well-typed event is still refused (readers that build events without text, such as
/// the backtester's columnar tapes, ask it too).
pub fn check(ev: &Event<'_>) -> Result<(), String> {
    match ev {
        Event::Trade(t) => {
            positive("price", t.price)?;
            positive("qty", t.qty)
        }
        Event::Book(b) => {
            levels("bids", &b.bids)?;
            levels("asks", &b.asks)
        }
        Event::Ticker(t) => {
            positive("bid", t.bid)?;
            positive("ask", t.ask)?;
            if let Some(l) = t.last {
                positive("last", l)?;
            }
            for (name, v) in [
                ("bid_qty", t.bid_qty),
                ("ask_qty", t.ask_qty),
                ("volume", t.volume),
            ] {
                if let Some(v) = v {
                    not_negative(name, v)?;
                }
            }
            Ok(())
        }
        Event::Bar(b) => {
            for (name, v) in [
                ("open", b.open),
                ("high", b.high),
                ("low", b.low),
                ("close", b.close),
            ] {
                positive(name, v)?;
            }
            not_negative("volume", b.volume)?;
            if b.low > b.open.min(b.close) || b.high < b.open.max(b.close) {
                return Err(format!(
                    "`low` ({}) and `high` ({}) must enclose `open` ({}) and `close` ({})",
                    b.low, b.high, b.open, b.close
                ));
            }
            Ok(())
        }
        Event::Fill(f) => {
            positive("price", f.price)?;
            positive("qty", f.qty)
        }
        Event::OrderUpdate(u) => {
            not_negative("filled_qty", u.filled_qty)?;
            not_negative("avg_price", u.avg_price)
        }
        Event::Position(p) => not_negative("avg_price", p.avg_price),
        Event::Balance(b) => {
            not_negative("free", b.free)?;
            not_negative("locked", b.locked)
        }
        Event::Allocation(a) => {
            not_negative("weight", a.weight)?;
            not_negative("capital", a.capital)
        }
        Event::ExecStatus(s) => {
            for (name, v) in [
                ("qty", s.qty),
                ("sent", s.sent),
                ("filled", s.filled),
                ("avg_price", s.avg_price),
                ("remaining", s.remaining),
            ] {
                not_negative(name, v)?;
            }
            Ok(())
        }
        Event::Intent(_)
        | Event::Regime(_)
        | Event::AllocationRejected(_)
        | Event::ReconcileBreak(_)
        | Event::Decision(_)
        | Event::Order(_)
        | Event::Cancel(_)
        | Event::Echo(_)
        | Event::Ack(_) => Ok(()),
    }
}

/// The rule every trade passes, for the decoder's fast path.
#[inline(always)]
pub(super) fn trade_ok(price: Decimal, qty: Decimal) -> bool {
    price.is_sign_positive() && !price.is_zero() && qty.is_sign_positive() && !qty.is_zero()
}

fn positive(name: &str, v: Decimal) -> Result<(), String> {
    if v > Decimal::ZERO {
        Ok(())
    } else {
        Err(format!("`{name}` must be positive, found {v}"))
    }
}

fn not_negative(name: &str, v: Decimal) -> Result<(), String> {
    if v >= Decimal::ZERO {
        Ok(())
    } else {
        Err(format!("`{name}` must not be negative, found {v}"))
    }
}

fn levels(side: &str, levels: &[Level]) -> Result<(), String> {
    for (i, l) in levels.iter().enumerate() {
        if l.price <= Decimal::ZERO || l.qty < Decimal::ZERO {
            return Err(format!(
                "`{side}[{i}]`: price must be positive and qty not negative, found [{}, {}]",
                l.price, l.qty
            ));
        }
    }
    Ok(())
}

/// Refuses a JSON text (already known to be valid JSON) in which an object, at any depth,
/// holds a key twice: serde would keep one silently, and other readers might keep the other.
pub(super) fn unique_keys(line: &str) -> Result<(), String> {
    let b = line.as_bytes();
    // The keys of each open object; `None` for an open array.
    let mut open: Vec<Option<Vec<std::borrow::Cow<'_, str>>>> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => open.push(Some(Vec::new())),
            b'[' => open.push(None),
            b'}' | b']' => {
                if let Some(Some(keys)) = open.pop() {
                    duplicate(keys)?;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut end = start;
                loop {
                    match b.get(end..).and_then(|r| memchr::memchr2(b'"', b'\\', r)) {
                        Some(n) if b[end + n] == b'\\' => end += n + 2,
                        Some(n) => {
                            end += n;
                            break;
                        }
                        None => return Ok(()),
                    }
                }
                i = end;
                let is_key = b
                    .get(end + 1..)
                    .unwrap_or_default()
                    .iter()
                    .find(|c| !c.is_ascii_whitespace())
                    .is_some_and(|c| *c == b':');
                if is_key && let Some(Some(keys)) = open.last_mut() {
                    let raw = &line[start..end];
                    keys.push(if raw.contains('\\') {
                        serde_json::from_str::<String>(&line[start - 1..=end])
                            .map(Into::into)
                            .unwrap_or(raw.into())
                    } else {
                        raw.into()
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn duplicate(mut keys: Vec<std::borrow::Cow<'_, str>>) -> Result<(), String> {
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!("duplicate key `{}`", w[0])),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_at_any_depth_and_through_escapes() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"kind":"trade","x":{"b":1},"kind":"bar"}"#,
            r#"{"meta":{"r":1,"q":[{"z":1,"z":2}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{ "a" : 1 , "a" : 2 }"#,
        ] {
            assert!(unique_keys(bad).is_err(), "{bad}");
        }
        for good in [
            r#"{"a":1,"b":{"a":2},"c":[{"a":1},{"a":1}]}"#,
            r#"{"a":"a","b":"a:","c":"\"a\":"}"#,
            r#"{"a\"":1,"a":2}"#,
            "[]",
        ] {
            assert_eq!(unique_keys(good), Ok(()), "{good}");
        }
    }
}
