//! Binance.US WebSocket frames: `@trade`, `@bookTicker` and `@depth` payloads, bare or in the
//! combined-stream wrapper `{"stream":"atomusdt@trade","data":{…}}`, and the replies to
//! control messages (`{"result":null,"id":1}`).
//!
//! Decoding borrows from the frame text: symbols are `&str`, decimals are parsed straight
//! from their digits ([`crate::num`]), so a trade frame allocates nothing.

use crate::event::Level;
use crate::num;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Which stream kinds a subscription carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Trade,
    BookTicker,
    Depth,
}

impl StreamKind {
    /// The suffix of the stream name (`atomusdt@trade`). Depth is the 100 ms diff stream,
    /// the fastest Binance.US offers.
    pub fn suffix(self) -> &'static str {
        match self {
            StreamKind::Trade => "trade",
            StreamKind::BookTicker => "bookTicker",
            StreamKind::Depth => "depth@100ms",
        }
    }

    fn parse(suffix: &str) -> Option<StreamKind> {
        match suffix {
            "trade" => Some(StreamKind::Trade),
            "bookTicker" => Some(StreamKind::BookTicker),
            "depth" | "depth@100ms" | "depth@1000ms" => Some(StreamKind::Depth),
            _ => None,
        }
    }
}

/// The stream name of a symbol's stream: `atomusdt@trade`.
pub fn stream_name(stream_prefix: &str, kind: StreamKind) -> String {
    format!("{stream_prefix}@{}", kind.suffix())
}

/// A `SUBSCRIBE` control message.
pub fn subscribe_message(streams: &[String], id: u64) -> String {
    serde_json::json!({"method": "SUBSCRIBE", "params": streams, "id": id}).to_string()
}

/// `<symbol>@trade`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WsTrade<'a> {
    /// The venue symbol (`ATOMUSDT`).
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "t")]
    pub id: u64,
    #[serde(rename = "p", with = "num")]
    pub price: Decimal,
    #[serde(rename = "q", with = "num")]
    pub qty: Decimal,
    /// Trade time, ms.
    #[serde(rename = "T")]
    pub time_ms: i64,
    /// The buyer was the maker, so the taker sold.
    #[serde(rename = "m")]
    pub buyer_maker: bool,
}

/// `<symbol>@bookTicker`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WsBookTicker<'a> {
    #[serde(rename = "u", default)]
    pub update_id: u64,
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "b", with = "num")]
    pub bid: Decimal,
    #[serde(rename = "B", with = "num")]
    pub bid_qty: Decimal,
    #[serde(rename = "a", with = "num")]
    pub ask: Decimal,
    #[serde(rename = "A", with = "num")]
    pub ask_qty: Decimal,
}

/// `<symbol>@depth`: absolute quantities of the levels that changed between update ids
/// `first` (`U`) and `last` (`u`); quantity 0 removes a level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WsDepth<'a> {
    /// Event time, ms.
    #[serde(rename = "E", default)]
    pub time_ms: i64,
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "U")]
    pub first: u64,
    #[serde(rename = "u")]
    pub last: u64,
    #[serde(rename = "b")]
    pub bids: Vec<Level>,
    #[serde(rename = "a")]
    pub asks: Vec<Level>,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    Trade(WsTrade<'a>),
    BookTicker(WsBookTicker<'a>),
    Depth(WsDepth<'a>),
    /// The answer to a control message; `error` is its message when it failed.
    Reply {
        id: Option<u64>,
        error: Option<String>,
    },
    /// `serverShutdown`: the server is about to close the connection; reconnect now.
    ServerShutdown,
}

/// Why a frame was skipped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("unknown stream `{0}`")]
    UnknownStream(String),
    #[error("unknown frame (neither a stream message nor a reply)")]
    Unknown,
    #[error("bad `{stream}` frame: {msg}")]
    Invalid { stream: String, msg: String },
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    stream: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    e: Option<&'a str>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    error: Option<ReplyError>,
    #[serde(default, rename = "u")]
    update_id: Option<u64>,
}

#[derive(Deserialize)]
struct ReplyError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    msg: String,
}

/// Splits `{"stream":"…","data":…}` without a parser, as Binance and njord-sim write it;
/// anything else goes through the general path.
fn split_combined(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("{\"stream\":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    if rest.as_bytes()[end] != b'"' {
        return None;
    }
    let stream = &rest[..end];
    let data = rest[end..]
        .strip_prefix("\",\"data\":")?
        .strip_suffix('}')?;
    data.starts_with('{').then_some((stream, data))
}

/// Decodes one text frame.
pub fn decode(text: &str) -> Result<Frame<'_>, FrameError> {
    if let Some((stream, data)) = split_combined(text) {
        return decode_stream(stream, data);
    }
    let p: Probe = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    if let (Some(stream), Some(data)) = (p.stream, p.data) {
        return decode_stream(stream, data.get());
    }
    if p.error.is_some() || p.id.is_some() {
        return Ok(Frame::Reply {
            id: p.id,
            error: p.error.map(|e| format!("{} (code {})", e.msg, e.code)),
        });
    }
    // A bare stream (`/ws/<stream>`): the payload says what it is.
    let kind = match p.e {
        Some("serverShutdown") => return Ok(Frame::ServerShutdown),
        Some("trade") => StreamKind::Trade,
        Some("depthUpdate") => StreamKind::Depth,
        None if p.update_id.is_some() => StreamKind::BookTicker,
        Some(other) => return Err(FrameError::UnknownStream(other.chars().take(40).collect())),
        None => return Err(FrameError::Unknown),
    };
    decode_payload(kind, kind.suffix(), text)
}

fn decode_stream<'a>(stream: &str, data: &'a str) -> Result<Frame<'a>, FrameError> {
    let kind = stream
        .split_once('@')
        .and_then(|(_, k)| StreamKind::parse(k))
        .ok_or_else(|| FrameError::UnknownStream(stream.chars().take(60).collect()))?;
    decode_payload(kind, stream, data)
}

fn decode_payload<'a>(
    kind: StreamKind,
    stream: &str,
    data: &'a str,
) -> Result<Frame<'a>, FrameError> {
    let invalid = |e: serde_json::Error| {
        if e.is_syntax() || e.is_eof() {
            FrameError::NotJson(e.to_string())
        } else {
            FrameError::Invalid {
                stream: stream.chars().take(60).collect(),
                msg: e.to_string(),
            }
        }
    };
    Ok(match kind {
        StreamKind::Trade => Frame::Trade(serde_json::from_str(data).map_err(invalid)?),
        StreamKind::BookTicker => Frame::BookTicker(serde_json::from_str(data).map_err(invalid)?),
        StreamKind::Depth => Frame::Depth(serde_json::from_str(data).map_err(invalid)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    const TRADE: &str = r#"{"e":"trade","E":1700000000123,"s":"ATOMUSDT","t":42,"p":"10.12300000","q":"0.50000000","b":84,"a":85,"T":1700000000120,"m":true,"M":true}"#;

    #[test]
    fn trade_bare_and_combined() {
        let Frame::Trade(t) = decode(TRADE).unwrap() else {
            panic!()
        };
        assert_eq!(
            (t.symbol, t.id, t.price, t.qty, t.time_ms, t.buyer_maker),
            ("ATOMUSDT", 42, d("10.123"), d("0.5"), 1700000000120, true)
        );
        let combined = format!(r#"{{"stream":"atomusdt@trade","data":{TRADE}}}"#);
        assert_eq!(decode(&combined).unwrap(), Frame::Trade(t.clone()));
        let spaced = format!(r#"{{ "data": {TRADE}, "stream": "atomusdt@trade" }}"#);
        assert_eq!(decode(&spaced).unwrap(), Frame::Trade(t));
    }

    #[test]
    fn book_ticker_and_depth() {
        let bt = r#"{"stream":"atomusdt@bookTicker","data":{"u":400900217,"s":"ATOMUSDT","b":"10.1","B":"31.2","a":"10.2","A":"40.6"}}"#;
        let Frame::BookTicker(b) = decode(bt).unwrap() else {
            panic!()
        };
        assert_eq!(
            (b.update_id, b.bid, b.ask_qty),
            (400900217, d("10.1"), d("40.6"))
        );
        let dp = r#"{"stream":"atomusdt@depth@100ms","data":{"e":"depthUpdate","E":5,"s":"ATOMUSDT","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}}"#;
        let Frame::Depth(x) = decode(dp).unwrap() else {
            panic!()
        };
        assert_eq!((x.first, x.last, x.bids.len()), (157, 160, 1));
        assert_eq!(x.asks[0].qty, Decimal::ZERO);
        let bare = r#"{"u":1,"s":"ATOMUSDT","b":"1","B":"1","a":"2","A":"1"}"#;
        assert!(matches!(decode(bare), Ok(Frame::BookTicker(_))));
    }

    #[test]
    fn replies() {
        assert_eq!(
            decode(r#"{"result":null,"id":3}"#).unwrap(),
            Frame::Reply {
                id: Some(3),
                error: None
            }
        );
        let Frame::Reply { error, .. } =
            decode(r#"{"error":{"code":2,"msg":"Invalid request"},"id":4}"#).unwrap()
        else {
            panic!()
        };
        assert!(error.unwrap().contains("Invalid request"));
    }

    #[test]
    fn server_shutdown() {
        assert_eq!(
            decode(r#"{"e":"serverShutdown","E":1700000000000}"#),
            Ok(Frame::ServerShutdown)
        );
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        for bad in [
            "",
            "garbage",
            "{",
            "[]",
            "{}",
            "null",
            r#"{"stream":"atomusdt@kline_1m","data":{}}"#,
            r#"{"stream":"atomusdt@trade","data":{"s":"ATOMUSDT"}}"#,
            r#"{"stream":"atomusdt@trade","data":{"s":"ATOMUSDT","t":-1,"p":"1","q":"1","T":1,"m":false}}"#,
            r#"{"stream":"atomusdt@trade","data":{"s":"ATOMUSDT","t":1,"p":"x","q":"1","T":1,"m":false}}"#,
            r#"{"stream":"atomusdt@trade","data":[1,2]}"#,
            r#"{"stream":"atomusdt@depth","data":{"s":"A","U":1,"u":2,"b":[["1"]],"a":[]}}"#,
            r#"{"e":"kline"}"#,
            "\u{0}\u{1}\u{ff}",
        ] {
            assert!(decode(bad).is_err(), "{bad:?} decoded");
        }
    }
}
