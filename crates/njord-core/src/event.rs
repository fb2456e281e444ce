//! Njord's events (DESIGN §3): one JSON object per line, `kind` names the event.
//!
//! Every event borrows its strings from the input line where it can ([`Cow`]), so decoding a
//! trade on the hot path allocates nothing; [`Event::into_owned`] detaches it when a core must
//! keep it. Decimals go through [`crate::num`]: exact in memory, numbers on the wire.

use crate::num::{self, Dec};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Free-form JSON object carried by intents (`meta`) and decisions (`caps`). Keys are sorted,
/// so output is deterministic.
pub type Map = serde_json::Map<String, serde_json::Value>;

/// Taker side of a trade, or the side of an order or fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderType {
    Market,
    Limit,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "market",
            OrderType::Limit => "limit",
        }
    }
    pub fn parse(s: &str) -> Option<OrderType> {
        match s {
            "market" => Some(OrderType::Market),
            "limit" => Some(OrderType::Limit),
            _ => None,
        }
    }
}

/// Whether a fill added liquidity (resting order) or took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liquidity {
    Maker,
    Taker,
}

/// One price level of a book, written `[price, qty]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub price: Decimal,
    pub qty: Decimal,
}

impl Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Dec(self.price), Dec(self.qty)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (p, q) = <(Dec, Dec)>::deserialize(d)?;
        Ok(Level {
            price: p.0,
            qty: q.0,
        })
    }
}

/// A trade print. `side` is the taker side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade<'a> {
    #[serde(borrow, default)]
    pub venue: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "id_text", alias = "agg_id")]
    pub trade_id: Cow<'a, str>,
    #[serde(with = "num")]
    pub price: Decimal,
    #[serde(with = "num", alias = "amount")]
    pub qty: Decimal,
    pub side: Side,
    pub ts_ns: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_local_ns: Option<i64>,
}

/// An order book snapshot (top levels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Book<'a> {
    #[serde(borrow, default, skip_serializing_if = "str::is_empty")]
    pub venue: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<i64>,
    #[serde(alias = "ts_local_ns")]
    pub ts_ns: i64,
}

/// Best bid/ask and, where known, last price and volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticker<'a> {
    #[serde(borrow, default, skip_serializing_if = "str::is_empty")]
    pub venue: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(with = "num::opt", default)]
    pub last: Option<Decimal>,
    #[serde(with = "num")]
    pub bid: Decimal,
    #[serde(with = "num")]
    pub ask: Decimal,
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub bid_qty: Option<Decimal>,
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub ask_qty: Option<Decimal>,
    #[serde(with = "num::opt", default)]
    pub volume: Option<Decimal>,
    pub ts_ns: i64,
}

/// An OHLCV bar over `[ts_open_ns, ts_close_ns)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow)]
    pub timeframe: Cow<'a, str>,
    pub ts_open_ns: i64,
    pub ts_close_ns: i64,
    #[serde(with = "num")]
    pub open: Decimal,
    #[serde(with = "num")]
    pub high: Decimal,
    #[serde(with = "num")]
    pub low: Decimal,
    #[serde(with = "num")]
    pub close: Decimal,
    #[serde(with = "num")]
    pub volume: Decimal,
    pub trades: u64,
}

/// A strategy's wish to trade. Side and type are kept as written so the risk engine can deny
/// a bad one as `invalid_intent` instead of the line being skipped; `id` may be missing for
/// the same reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(alias = "ts_local_ns")]
    pub ts_ns: i64,
    #[serde(borrow, default)]
    pub strategy_id: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow)]
    pub side: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    pub order_type: Cow<'a, str>,
    #[serde(with = "num")]
    pub qty: Decimal,
    #[serde(with = "num::opt", default)]
    pub limit_price: Option<Decimal>,
    #[serde(default)]
    pub meta: Map,
}

impl Intent<'_> {
    pub fn side(&self) -> Option<Side> {
        Side::parse(&self.side)
    }
    pub fn order_type(&self) -> Option<OrderType> {
        OrderType::parse(&self.order_type)
    }
}

/// The risk engine's verdict on an intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision<'a> {
    #[serde(borrow)]
    pub intent_id: Cow<'a, str>,
    pub allowed: bool,
    #[serde(borrow, default)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(default)]
    pub caps: Map,
    #[serde(default)]
    pub ts_ns: i64,
}

/// An order accepted by the risk engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order<'a> {
    #[serde(borrow)]
    pub intent_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub strategy_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub venue: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    #[serde(with = "num")]
    pub qty: Decimal,
    #[serde(with = "num::opt", default)]
    pub limit_price: Option<Decimal>,
    pub ts_accepted_ns: i64,
}

/// A request to cancel the order of an intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancel<'a> {
    #[serde(borrow)]
    pub intent_id: Cow<'a, str>,
    pub ts_ns: i64,
}

/// An execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill<'a> {
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub intent_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub strategy_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub side: Side,
    #[serde(with = "num")]
    pub qty: Decimal,
    #[serde(with = "num")]
    pub price: Decimal,
    #[serde(with = "num", default)]
    pub fee: Decimal,
    #[serde(borrow, default)]
    pub fee_asset: Cow<'a, str>,
    #[serde(default = "taker")]
    pub liquidity: Liquidity,
    pub ts_fill_ns: i64,
}

fn taker() -> Liquidity {
    Liquidity::Taker
}

/// A position after a fill, per (strategy, symbol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow, default)]
    pub strategy_id: Option<Cow<'a, str>>,
    #[serde(with = "num")]
    pub qty: Decimal,
    #[serde(with = "num")]
    pub avg_price: Decimal,
    #[serde(with = "num")]
    pub realized_pnl: Decimal,
    #[serde(with = "num", default)]
    pub fees: Decimal,
    #[serde(with = "num", default)]
    pub realized_pnl_day: Decimal,
    pub ts_ns: i64,
}

/// The broker's dry-run echo of an order it would have sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Echo<'a> {
    #[serde(borrow)]
    pub intent_id: Cow<'a, str>,
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub strategy_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub venue: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    #[serde(with = "num")]
    pub qty: Decimal,
    #[serde(with = "num::opt", default)]
    pub limit_price: Option<Decimal>,
    pub ts_ns: i64,
}

/// The venue acknowledged an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "id_text")]
    pub exchange_order_id: Cow<'a, str>,
    pub ts_ns: i64,
}

/// A venue order's state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdate<'a> {
    #[serde(borrow, default, skip_serializing_if = "str::is_empty")]
    pub symbol: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "id_text")]
    pub exchange_order_id: Cow<'a, str>,
    #[serde(borrow)]
    pub client_order_id: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(with = "num")]
    pub filled_qty: Decimal,
    #[serde(with = "num")]
    pub avg_price: Decimal,
    pub ts_ns: i64,
}

/// An account balance of one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance<'a> {
    #[serde(borrow)]
    pub asset: Cow<'a, str>,
    #[serde(with = "num")]
    pub free: Decimal,
    #[serde(with = "num")]
    pub locked: Decimal,
    pub ts_ns: i64,
}

/// Accepts an identifier written as a string or as an integer (exchanges use both).
fn id_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Cow<'a, str>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an identifier (string or integer)")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            // An integer under serde_json's arbitrary-precision feature.
            let _: Option<String> = m.next_key()?;
            let text: String = m.next_value()?;
            if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                Ok(Cow::Owned(text))
            } else {
                Err(serde::de::Error::custom(format!(
                    "identifier `{text}` is not an integer"
                )))
            }
        }
    }
    d.deserialize_any(V)
}

/// The name of an event's kind, as written in `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Trade,
    Book,
    Ticker,
    Bar,
    Intent,
    Decision,
    Order,
    Cancel,
    Fill,
    Position,
    Echo,
    Ack,
    OrderUpdate,
    Balance,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Trade,
        Kind::Book,
        Kind::Ticker,
        Kind::Bar,
        Kind::Intent,
        Kind::Decision,
        Kind::Order,
        Kind::Cancel,
        Kind::Fill,
        Kind::Position,
        Kind::Echo,
        Kind::Ack,
        Kind::OrderUpdate,
        Kind::Balance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Trade => "trade",
            Kind::Book => "book",
            Kind::Ticker => "ticker",
            Kind::Bar => "bar",
            Kind::Intent => "intent",
            Kind::Decision => "decision",
            Kind::Order => "order",
            Kind::Cancel => "cancel",
            Kind::Fill => "fill",
            Kind::Position => "position",
            Kind::Echo => "echo",
            Kind::Ack => "ack",
            Kind::OrderUpdate => "order_update",
            Kind::Balance => "balance",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any Njord event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event<'a> {
    Trade(Trade<'a>),
    Book(Book<'a>),
    Ticker(Ticker<'a>),
    Bar(Bar<'a>),
    Intent(Intent<'a>),
    Decision(Decision<'a>),
    Order(Order<'a>),
    Cancel(Cancel<'a>),
    Fill(Fill<'a>),
    Position(Position<'a>),
    Echo(Echo<'a>),
    Ack(Ack<'a>),
    OrderUpdate(OrderUpdate<'a>),
    Balance(Balance<'a>),
}

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

/// Events a core causes, owned so they can outlive the input line.
pub type Out = Vec<Event<'static>>;

/// Decodes one line. `kind` must be present.
pub fn decode(line: &str) -> Result<Event<'_>, DecodeError> {
    match fast_trade(line) {
        Some(t) => Ok(Event::Trade(t)),
        None => decode_slow(line),
    }
}

/// [`decode`] without the trade fast path.
fn decode_slow(line: &str) -> Result<Event<'_>, DecodeError> {
    match probe_kind(line)? {
        Some(k) => decode_kind(line, &k),
        None => Err(DecodeError::MissingKind),
    }
}

/// Decodes a stream of lines exactly as [`decode`] does, faster on tapes: it remembers the
/// head of the last canonical trade line (`{"kind":"trade","venue":…,"symbol":…,"trade_id":`),
/// which a tape repeats line after line, and reads a line that starts with the same bytes
/// from its trade id on.
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
fn fast_trade(line: &str) -> Option<Trade<'_>> {
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
    if c.i != line.len() {
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

impl Event<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Event::Trade(_) => Kind::Trade,
            Event::Book(_) => Kind::Book,
            Event::Ticker(_) => Kind::Ticker,
            Event::Bar(_) => Kind::Bar,
            Event::Intent(_) => Kind::Intent,
            Event::Decision(_) => Kind::Decision,
            Event::Order(_) => Kind::Order,
            Event::Cancel(_) => Kind::Cancel,
            Event::Fill(_) => Kind::Fill,
            Event::Position(_) => Kind::Position,
            Event::Echo(_) => Kind::Echo,
            Event::Ack(_) => Kind::Ack,
            Event::OrderUpdate(_) => Kind::OrderUpdate,
            Event::Balance(_) => Kind::Balance,
        }
    }

    /// The symbol the event is about, when it has one.
    pub fn symbol(&self) -> Option<&str> {
        Some(match self {
            Event::Trade(e) => &e.symbol,
            Event::Book(e) => &e.symbol,
            Event::Ticker(e) => &e.symbol,
            Event::Bar(e) => &e.symbol,
            Event::Intent(e) => &e.symbol,
            Event::Order(e) => &e.symbol,
            Event::Fill(e) => &e.symbol,
            Event::Position(e) => &e.symbol,
            Event::Echo(e) => &e.symbol,
            Event::OrderUpdate(e) if !e.symbol.is_empty() => &e.symbol,
            _ => return None,
        })
    }

    /// The event's own time: exchange time for market data, creation time otherwise.
    pub fn ts_ns(&self) -> i64 {
        match self {
            Event::Trade(e) => e.ts_ns,
            Event::Book(e) => e.ts_ns,
            Event::Ticker(e) => e.ts_ns,
            Event::Bar(e) => e.ts_close_ns,
            Event::Intent(e) => e.ts_ns,
            Event::Decision(e) => e.ts_ns,
            Event::Order(e) => e.ts_accepted_ns,
            Event::Cancel(e) => e.ts_ns,
            Event::Fill(e) => e.ts_fill_ns,
            Event::Position(e) => e.ts_ns,
            Event::Echo(e) => e.ts_ns,
            Event::Ack(e) => e.ts_ns,
            Event::OrderUpdate(e) => e.ts_ns,
            Event::Balance(e) => e.ts_ns,
        }
    }

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

    /// Detaches the event from the line it was decoded from.
    pub fn into_owned(self) -> Event<'static> {
        fn o(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        fn oo(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            c.map(o)
        }
        match self {
            Event::Trade(e) => Event::Trade(Trade {
                venue: o(e.venue),
                symbol: o(e.symbol),
                trade_id: o(e.trade_id),
                price: e.price,
                qty: e.qty,
                side: e.side,
                ts_ns: e.ts_ns,
                ts_local_ns: e.ts_local_ns,
            }),
            Event::Book(e) => Event::Book(Book {
                venue: o(e.venue),
                symbol: o(e.symbol),
                bids: e.bids,
                asks: e.asks,
                checksum: e.checksum,
                ts_ns: e.ts_ns,
            }),
            Event::Ticker(e) => Event::Ticker(Ticker {
                venue: o(e.venue),
                symbol: o(e.symbol),
                last: e.last,
                bid: e.bid,
                ask: e.ask,
                bid_qty: e.bid_qty,
                ask_qty: e.ask_qty,
                volume: e.volume,
                ts_ns: e.ts_ns,
            }),
            Event::Bar(e) => Event::Bar(Bar {
                symbol: o(e.symbol),
                timeframe: o(e.timeframe),
                ts_open_ns: e.ts_open_ns,
                ts_close_ns: e.ts_close_ns,
                open: e.open,
                high: e.high,
                low: e.low,
                close: e.close,
                volume: e.volume,
                trades: e.trades,
            }),
            Event::Intent(e) => Event::Intent(Intent {
                id: oo(e.id),
                ts_ns: e.ts_ns,
                strategy_id: o(e.strategy_id),
                symbol: o(e.symbol),
                side: o(e.side),
                order_type: o(e.order_type),
                qty: e.qty,
                limit_price: e.limit_price,
                meta: e.meta,
            }),
            Event::Decision(e) => Event::Decision(Decision {
                intent_id: o(e.intent_id),
                allowed: e.allowed,
                reason: oo(e.reason),
                caps: e.caps,
                ts_ns: e.ts_ns,
            }),
            Event::Order(e) => Event::Order(Order {
                intent_id: o(e.intent_id),
                strategy_id: oo(e.strategy_id),
                venue: o(e.venue),
                symbol: o(e.symbol),
                side: e.side,
                order_type: e.order_type,
                qty: e.qty,
                limit_price: e.limit_price,
                ts_accepted_ns: e.ts_accepted_ns,
            }),
            Event::Cancel(e) => Event::Cancel(Cancel {
                intent_id: o(e.intent_id),
                ts_ns: e.ts_ns,
            }),
            Event::Fill(e) => Event::Fill(Fill {
                order_id: o(e.order_id),
                intent_id: o(e.intent_id),
                strategy_id: oo(e.strategy_id),
                symbol: o(e.symbol),
                side: e.side,
                qty: e.qty,
                price: e.price,
                fee: e.fee,
                fee_asset: o(e.fee_asset),
                liquidity: e.liquidity,
                ts_fill_ns: e.ts_fill_ns,
            }),
            Event::Position(e) => Event::Position(Position {
                symbol: o(e.symbol),
                strategy_id: oo(e.strategy_id),
                qty: e.qty,
                avg_price: e.avg_price,
                realized_pnl: e.realized_pnl,
                fees: e.fees,
                realized_pnl_day: e.realized_pnl_day,
                ts_ns: e.ts_ns,
            }),
            Event::Echo(e) => Event::Echo(Echo {
                intent_id: o(e.intent_id),
                client_order_id: o(e.client_order_id),
                strategy_id: oo(e.strategy_id),
                venue: o(e.venue),
                symbol: o(e.symbol),
                side: e.side,
                order_type: e.order_type,
                qty: e.qty,
                limit_price: e.limit_price,
                ts_ns: e.ts_ns,
            }),
            Event::Ack(e) => Event::Ack(Ack {
                intent_id: oo(e.intent_id),
                client_order_id: o(e.client_order_id),
                exchange_order_id: o(e.exchange_order_id),
                ts_ns: e.ts_ns,
            }),
            Event::OrderUpdate(e) => Event::OrderUpdate(OrderUpdate {
                symbol: o(e.symbol),
                exchange_order_id: o(e.exchange_order_id),
                client_order_id: o(e.client_order_id),
                status: o(e.status),
                filled_qty: e.filled_qty,
                avg_price: e.avg_price,
                ts_ns: e.ts_ns,
            }),
            Event::Balance(e) => Event::Balance(Balance {
                asset: o(e.asset),
                free: e.free,
                locked: e.locked,
                ts_ns: e.ts_ns,
            }),
        }
    }
}

/// A `trade` event as its NDJSON line without serde: the hot path of ingest, replay output
/// and generated tapes.
fn write_trade_line(t: &Trade<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"kind\":\"trade\",\"venue\":");
    json_str(&t.venue, out);
    out.extend_from_slice(b",\"symbol\":");
    json_str(&t.symbol, out);
    out.extend_from_slice(b",\"trade_id\":");
    json_str(&t.trade_id, out);
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
        json_str(&f.order_id, out);
        out.extend_from_slice(b",\"intent_id\":");
        json_str(&f.intent_id, out);
        out.extend_from_slice(b",\"strategy_id\":");
        match &f.strategy_id {
            Some(s) => json_str(s, out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"symbol\":");
        json_str(&f.symbol, out);
        out.extend_from_slice(b",\"side\":\"");
        out.extend_from_slice(f.side.as_str().as_bytes());
        out.extend_from_slice(b"\",\"qty\":");
        num::write_plain(f.qty, out);
        out.extend_from_slice(b",\"price\":");
        num::write_plain(f.price, out);
        out.extend_from_slice(b",\"fee\":");
        num::write_plain(f.fee, out);
        out.extend_from_slice(b",\"fee_asset\":");
        json_str(&f.fee_asset, out);
        out.extend_from_slice(match f.liquidity {
            Liquidity::Maker => b",\"liquidity\":\"maker\",\"ts_fill_ns\":",
            Liquidity::Taker => b",\"liquidity\":\"taker\",\"ts_fill_ns\":",
        });
        out.extend_from_slice(itoa::Buffer::new().format(f.ts_fill_ns).as_bytes());
        out.extend_from_slice(b"}\n");
    }
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

/// The symbol without its slash (`ATOM/USDT` → `ATOMUSDT`), as used in journal file names.
pub fn compact_symbol(symbol: &str) -> String {
    symbol.chars().filter(|c| *c != '/').collect()
}

/// The quote asset of a `BASE/QUOTE` symbol.
pub fn quote_asset(symbol: &str) -> Option<&str> {
    symbol.split_once('/').map(|(_, q)| q)
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

#[cfg(test)]
mod writer_tests {
    use super::*;
    use proptest::prelude::*;
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
