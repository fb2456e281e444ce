//! Decoding a line into an event: the `kind` probe, serde for every kind, and the payloads of
//! the original Python Njord.

use super::fast_trade::fast_trade;
use super::payload::id_text;
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

fn decode_known(line: &str, kind: Kind) -> Result<Event<'_>, DecodeError> {
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
    Ok(Event::Trade(Trade {
        venue: t.venue,
        symbol: t.symbol,
        trade_id: t.trade_id.unwrap_or_default(),
        price: t.price,
        qty: t.qty,
        side: t.side,
        ts_ns,
        ts_local_ns: t.ts_local_ns,
    }))
}

#[cfg(test)]
mod tests {
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
            r#"{"kind":"trade","venue":"v","symbol":"ATOM/USDT","trade_id":"9","price":10.50,"qty":-0.001,"side":"buy","ts_ns":-5}"#,
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
        assert!(e.to_string().contains("not a decimal"), "{e}");
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
