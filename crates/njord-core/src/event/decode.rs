//! Decoding a line into an event: the `kind` probe, serde for every kind, and the payloads of
//! the original Python Njord.

use super::fast_trade::fast_trade;
use super::payload::id_text;
use super::validate;
use super::{Event, Kind, Side, Trade};
use crate::num;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// Why a line is not a well-formed event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("missing field `kind`")]
    MissingKind,
    #[error("unknown kind `{0}`")]
    UnknownKind(String),
    #[error("bad `{kind}` event: {msg}")]
    Invalid { kind: Kind, msg: String },
}

#[derive(Deserialize)]
struct KindProbe<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
}

/// Finds `kind` cheaply when the line starts with it, as every line Njord writes does.
fn kind_prefix(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("{\"kind\":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

fn probe_kind(line: &str) -> Result<Option<Cow<'_, str>>, DecodeError> {
    if let Some(k) = kind_prefix(line) {
        return Ok(Some(Cow::Borrowed(k)));
    }
    let probe: KindProbe = serde_json::from_str(line).map_err(not_json)?;
    Ok(probe.kind)
}

fn not_json(e: serde_json::Error) -> DecodeError {
    DecodeError::NotJson(e.to_string())
}

/// Decodes one line. `kind` must be present.
pub fn decode(line: &str) -> Result<Event<'_>, DecodeError> {
    match fast_trade(line) {
        Some(t) => Ok(Event::Trade(t)),
        None => decode_slow(line),
    }
}

/// [`decode`] without the trade fast path.
pub(super) fn decode_slow(line: &str) -> Result<Event<'_>, DecodeError> {
    match probe_kind(line)? {
        Some(k) => decode_kind(line, &k),
        None => Err(DecodeError::MissingKind),
    }
}

/// Decodes one line whose kind is known from elsewhere (a Redis topic). A `kind` in the line
/// wins; without one, the payloads of the original Python Njord are read too.
pub fn decode_as(line: &str, hint: Kind) -> Result<Event<'_>, DecodeError> {
    match probe_kind(line)? {
        Some(k) => decode_kind(line, &k),
        None if hint == Kind::Trade => decode_legacy_trade(line),
        None => decode_known(line, hint),
    }
}

fn decode_kind<'a>(line: &'a str, kind: &str) -> Result<Event<'a>, DecodeError> {
    match Kind::parse(kind) {
        Some(k) => decode_known(line, k),
        None => Err(DecodeError::UnknownKind(kind.chars().take(40).collect())),
    }
}

/// Decodes a line of a known kind and applies the rules of [`validate`](super::validate).
fn decode_known(line: &str, kind: Kind) -> Result<Event<'_>, DecodeError> {
    let ev = decode_typed(line, kind)?;
    valid(line, ev)
}

/// `ev`, decoded from `line`, if it passes the rules beyond its fields' types.
fn valid<'a>(line: &str, ev: Event<'a>) -> Result<Event<'a>, DecodeError> {
    validate::unique_keys(line)
        .and_then(|()| validate::check(&ev))
        .map_err(|msg| DecodeError::Invalid {
            kind: ev.kind(),
            msg,
        })?;
    Ok(ev)
}

fn decode_typed(line: &str, kind: Kind) -> Result<Event<'_>, DecodeError> {
    fn de<'a, T: Deserialize<'a>>(line: &'a str, kind: Kind) -> Result<T, DecodeError> {
        serde_json::from_str(line).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                DecodeError::NotJson(e.to_string())
            } else {
                DecodeError::Invalid {
                    kind,
                    msg: e.to_string(),
                }
            }
        })
    }
    Ok(match kind {
        Kind::Trade => Event::Trade(de(line, kind)?),
        Kind::Book => Event::Book(de(line, kind)?),
        Kind::Ticker => Event::Ticker(de(line, kind)?),
        Kind::Bar => Event::Bar(de(line, kind)?),
        Kind::Intent => Event::Intent(de(line, kind)?),
        Kind::Decision => Event::Decision(de(line, kind)?),
        Kind::Order => Event::Order(de(line, kind)?),
        Kind::Cancel => Event::Cancel(de(line, kind)?),
        Kind::Fill => Event::Fill(de(line, kind)?),
        Kind::Position => Event::Position(de(line, kind)?),
        Kind::Echo => Event::Echo(de(line, kind)?),
        Kind::Ack => Event::Ack(de(line, kind)?),
        Kind::OrderUpdate => Event::OrderUpdate(de(line, kind)?),
        Kind::Balance => Event::Balance(de(line, kind)?),
        Kind::Allocation => Event::Allocation(de(line, kind)?),
        Kind::AllocationRejected => Event::AllocationRejected(de(line, kind)?),
        Kind::ReconcileBreak => Event::ReconcileBreak(de(line, kind)?),
        Kind::ExecStatus => Event::ExecStatus(de(line, kind)?),
        Kind::Regime => Event::Regime(de(line, kind)?),
    })
}

/// The Python Njord's `TradeEvent`: `ts_exchange_ms` and `ts_local_ns` instead of `ts_ns`,
/// an optional `agg_id`, no venue.
#[derive(Deserialize)]
struct LegacyTrade<'a> {
    #[serde(borrow, default)]
    venue: Cow<'a, str>,
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow, default, alias = "agg_id", deserialize_with = "opt_id_text")]
    trade_id: Option<Cow<'a, str>>,
    #[serde(with = "num")]
    price: Decimal,
    #[serde(with = "num", alias = "amount")]
    qty: Decimal,
    side: Side,
    #[serde(default)]
    ts_ns: Option<i64>,
    #[serde(default)]
    ts_exchange_ms: Option<i64>,
    #[serde(default)]
    ts_local_ns: Option<i64>,
}

fn opt_id_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Id<'a>(#[serde(borrow, deserialize_with = "id_text")] Cow<'a, str>);
    Ok(Option::<Id>::deserialize(d)?.map(|i| i.0))
}

fn decode_legacy_trade(line: &str) -> Result<Event<'_>, DecodeError> {
    let t: LegacyTrade = serde_json::from_str(line).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            DecodeError::NotJson(e.to_string())
        } else {
            DecodeError::Invalid {
                kind: Kind::Trade,
                msg: e.to_string(),
            }
        }
    })?;
    let ts_ns = t
        .ts_ns
        .or(t.ts_exchange_ms.and_then(|ms| ms.checked_mul(1_000_000)))
        .or(t.ts_local_ns)
        .ok_or(DecodeError::Invalid {
            kind: Kind::Trade,
            msg: "missing field `ts_ns` (nor `ts_exchange_ms` or `ts_local_ns`)".into(),
        })?;
    valid(
        line,
        Event::Trade(Trade {
            venue: t.venue,
            symbol: t.symbol,
            trade_id: t.trade_id.unwrap_or_default(),
            price: t.price,
            qty: t.qty,
            side: t.side,
            ts_ns,
            ts_local_ns: t.ts_local_ns,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn trade_round_trip_borrows() {
        let line = r#"{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"42","price":10.5,"qty":"0.30","side":"sell","ts_ns":1700000000000000000}"#;
        let ev = decode(line).unwrap();
        let Event::Trade(t) = &ev else { panic!() };
        assert!(matches!(t.symbol, Cow::Borrowed(_)));
        assert_eq!(t.qty, d("0.3"));
        assert_eq!(
            ev.to_json(),
            r#"{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"42","price":10.5,"qty":0.3,"side":"sell","ts_ns":1700000000000000000}"#
        );
    }

    #[test]
    fn fast_path_equals_serde_path() {
        let lines = [
            r#"{"kind":"trade","venue":"v","symbol":"ATOM/USDT","trade_id":"9","price":10.50,"qty":0.001,"side":"buy","ts_ns":-5}"#,
            r#"{"kind":"trade","venue":"","symbol":"A/B","trade_id":"x","price":1,"qty":2,"side":"sell","ts_ns":1,"ts_local_ns":2}"#,
        ];
        for l in lines {
            let fast = fast_trade(l).expect("canonical line takes the fast path");
            let slow: Trade = serde_json::from_str(l).unwrap();
            assert_eq!(fast, slow);
        }
        // Not canonical: serde decides, and errors stay errors.
        for l in [
            r#"{"kind":"trade","venue":"v","symbol":"A\u002fB","trade_id":"9","price":1,"qty":1,"side":"buy","ts_ns":1}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1e2,"qty":1,"side":"buy","ts_ns":1}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":01,"qty":1,"side":"buy","ts_ns":1}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"qty":1,"side":"hold","ts_ns":1}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"qty":1,"side":"buy","ts_ns":99999999999999999999}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"qty":1,"side":"buy","ts_ns":1} "#,
        ] {
            assert!(fast_trade(l).is_none(), "{l}");
        }
        assert_eq!(decode(r#"{"kind":"trade","venue":"v","symbol":"A\u002fB","trade_id":"9","price":1e2,"qty":1,"side":"buy","ts_ns":1}"#).unwrap().symbol(), Some("A/B"));
        assert!(decode(r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":01,"qty":1,"side":"buy","ts_ns":1}"#).is_err());
    }

    #[test]
    fn prices_and_quantities_must_be_positive() {
        let trade = |price: &str, qty: &str| {
            format!(
                r#"{{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":{price},"qty":{qty},"side":"buy","ts_ns":1}}"#
            )
        };
        for (p, q, field) in [
            ("-1", "1", "price"),
            ("0", "1", "price"),
            ("1", "0", "qty"),
            ("1", "-0.5", "qty"),
            ("\"-1\"", "1", "price"),
        ] {
            let line = trade(p, q);
            let e = decode(&line).unwrap_err().to_string();
            assert!(
                e.contains(&format!("`{field}` must be positive")),
                "{line}: {e}"
            );
            // The stream decoder (fast path with a remembered head) agrees.
            let mut dec = Decoder::default();
            assert!(dec.decode(&trade("1", "1")).is_ok());
            assert_eq!(dec.decode(&line).unwrap_err().to_string(), e);
        }
        let legacy =
            r#"{"ts_local_ns":5,"symbol":"ATOM/USDT","side":"sell","amount":"-2","price":"1"}"#;
        assert!(
            decode_as(legacy, Kind::Trade)
                .unwrap_err()
                .to_string()
                .contains("`qty` must be positive")
        );
        let bar = |o: &str, h: &str, l: &str, c: &str, v: &str| {
            format!(
                r#"{{"kind":"bar","symbol":"A/B","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60,"open":{o},"high":{h},"low":{l},"close":{c},"volume":{v},"trades":1}}"#
            )
        };
        assert!(decode(&bar("2", "3", "1", "2", "0")).is_ok());
        for (b, why) in [
            (bar("0", "3", "1", "2", "1"), "`open` must be positive"),
            (
                bar("2", "3", "1", "2", "-1"),
                "`volume` must not be negative",
            ),
            (bar("2", "3", "2.5", "2", "1"), "must enclose"),
            (bar("2", "1.5", "1", "2", "1"), "must enclose"),
        ] {
            let e = decode(&b).unwrap_err().to_string();
            assert!(e.contains(why), "{b}: {e}");
        }
        let ticker = r#"{"kind":"ticker","symbol":"A/B","last":null,"bid":-1,"ask":2,"volume":null,"ts_ns":1}"#;
        assert!(
            decode(ticker)
                .unwrap_err()
                .to_string()
                .contains("`bid` must be positive")
        );
        let book = r#"{"kind":"book","symbol":"A/B","bids":[[1,1],[0,1]],"asks":[],"ts_ns":1}"#;
        assert!(decode(book).unwrap_err().to_string().contains("`bids[1]`"));
        let fill = r#"{"kind":"fill","order_id":"o","symbol":"A/B","side":"buy","qty":1,"price":-3,"ts_fill_ns":1}"#;
        assert!(decode(fill).is_err());
        let balance = r#"{"kind":"balance","asset":"USDT","free":-1,"locked":0,"ts_ns":1}"#;
        assert!(decode(balance).is_err());
        // Intents and orders are answered by their stage, not skipped.
        let intent = r#"{"kind":"intent","id":"i","ts_ns":1,"strategy_id":"s","symbol":"A/B","side":"buy","type":"market","qty":-1}"#;
        assert!(decode(intent).is_ok());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        for line in [
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"qty":1,"side":"buy","ts_ns":1,"kind":"bar"}"#,
            r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"qty":1,"side":"buy","ts_ns":1,"x":1,"x":2}"#,
            r#"{"kind":"intent","id":"i","ts_ns":1,"strategy_id":"s","symbol":"A/B","side":"buy","type":"market","qty":1,"meta":{"a":1,"a":2}}"#,
        ] {
            let e = decode(line).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{line}: {e}");
        }
        let e = decode(r#"{"kind":"trade","venue":"v","symbol":"A/B","trade_id":"9","price":1,"price":2,"qty":1,"side":"buy","ts_ns":1}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `price`"), "{e}");
        let e = decode_as(r#"{"ts_local_ns":5,"symbol":"A/B","side":"sell","amount":"2","price":"1","x":0,"x":0}"#, Kind::Trade).unwrap_err();
        assert!(e.to_string().contains("duplicate key `x`"), "{e}");
    }

    #[test]
    fn kind_anywhere_and_numeric_ids() {
        let line = r#"{"symbol":"BTCUSDT","price":39432.48,"qty":0.00031099999999999997,"side":"sell","ts_ns":1610064000278000000,"trade_id":553287559,"kind":"trade"}"#;
        let Event::Trade(t) = decode(line).unwrap() else {
            panic!()
        };
        assert_eq!(t.trade_id, "553287559");
        assert_eq!(t.qty.to_string(), "0.00031099999999999997");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(decode(r#"{"price":1}"#), Err(DecodeError::MissingKind));
        assert_eq!(
            decode(r#"{"kind":"nope"}"#),
            Err(DecodeError::UnknownKind("nope".into()))
        );
        assert!(matches!(
            decode("{\"kind\":\"trade\""),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(decode("garbage"), Err(DecodeError::NotJson(_))));
        let e = decode(r#"{"kind":"trade","symbol":"A/B","trade_id":"1","price":"x","qty":1,"side":"buy","ts_ns":1}"#).unwrap_err();
        assert!(e.to_string().contains("`x` is not a plain decimal"), "{e}");
        let e = decode(
            r#"{"kind":"trade","symbol":"A/B","trade_id":"1","qty":1,"side":"buy","ts_ns":1}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing field `price`"), "{e}");
    }

    #[test]
    fn legacy_python_payloads() {
        let line = r#"{"ts_local_ns":1700000000123456789,"ts_exchange_ms":1700000000100,"symbol":"ATOM/USDT","side":"buy","qty":1.5,"price":9.87,"agg_id":"77"}"#;
        let Event::Trade(t) = decode_as(line, Kind::Trade).unwrap() else {
            panic!()
        };
        assert_eq!(t.ts_ns, 1_700_000_000_100_000_000);
        assert_eq!(t.ts_local_ns, Some(1_700_000_000_123_456_789));
        assert_eq!(t.trade_id, "77");
        let amount =
            r#"{"ts_local_ns":5,"symbol":"ATOM/USDT","side":"sell","amount":"2","price":"1"}"#;
        let Event::Trade(t) = decode_as(amount, Kind::Trade).unwrap() else {
            panic!()
        };
        assert_eq!((t.qty, t.ts_ns), (d("2"), 5));
        let intent = r#"{"id":"i1","ts_local_ns":9,"strategy_id":"s","symbol":"ATOM/USDT","side":"buy","type":"limit","qty":1,"limit_price":2.5,"meta":{"rsi":25.5}}"#;
        let Event::Intent(i) = decode_as(intent, Kind::Intent).unwrap() else {
            panic!()
        };
        assert_eq!((i.ts_ns, i.limit_price), (9, Some(d("2.5"))));
        assert_eq!(i.meta["rsi"].to_string(), "25.5");
    }

    #[test]
    fn intent_keeps_bad_side_for_the_risk_engine() {
        let line = r#"{"kind":"intent","ts_ns":1,"strategy_id":"s","symbol":"A/USDT","side":"hold","type":"market","qty":1}"#;
        let Event::Intent(i) = decode(line).unwrap() else {
            panic!()
        };
        assert_eq!((i.side(), i.id.is_none()), (None, true));
    }
}
