//! The payload of each event kind, and the sides, order types and book levels their fields
//! hold.

use super::{ExecSpec, Map, OrderStatus};
use crate::num::{self, Dec};
use crate::reason::Reason;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

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

/// Order type. The protective types wait for a trigger: `stop_market` and `stop_limit` when
/// the market moves against the side's position through `stop_price` (a sell when a trade is
/// at or below it, a buy at or above), `take_profit_limit` when it moves in its favour (a sell
/// at or above, a buy at or below); then they act as a market or a limit order at
/// `limit_price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Market,
    Limit,
    StopMarket,
    StopLimit,
    TakeProfitLimit,
}

impl OrderType {
    pub const ALL: [OrderType; 5] = [
        OrderType::Market,
        OrderType::Limit,
        OrderType::StopMarket,
        OrderType::StopLimit,
        OrderType::TakeProfitLimit,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "market",
            OrderType::Limit => "limit",
            OrderType::StopMarket => "stop_market",
            OrderType::StopLimit => "stop_limit",
            OrderType::TakeProfitLimit => "take_profit_limit",
        }
    }
    pub fn parse(s: &str) -> Option<OrderType> {
        OrderType::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Whether the order waits for its `stop_price` to trigger.
    pub fn is_triggered(self) -> bool {
        matches!(
            self,
            OrderType::StopMarket | OrderType::StopLimit | OrderType::TakeProfitLimit
        )
    }
    /// Whether the order has a `limit_price` (at once, or once triggered).
    pub fn has_limit(self) -> bool {
        matches!(
            self,
            OrderType::Limit | OrderType::StopLimit | OrderType::TakeProfitLimit
        )
    }
    /// Whether the order triggers when the market rises to its stop (a buy stop, a sell
    /// take-profit) rather than when it falls (a sell stop, a buy take-profit).
    pub fn triggers_on_rise(self, side: Side) -> bool {
        matches!(
            (self, side),
            (OrderType::StopMarket | OrderType::StopLimit, Side::Buy)
                | (OrderType::TakeProfitLimit, Side::Sell)
        )
    }
    /// Whether a trade at `price` triggers an order of this type and side with `stop`: a
    /// stop when the market moves against the order's side (a sell at or below the stop), a
    /// take-profit when it moves with it (a sell at or above).
    pub fn triggers(self, side: Side, stop: Decimal, price: Decimal) -> bool {
        if !self.is_triggered() {
            false
        } else if self.triggers_on_rise(side) {
            price >= stop
        } else {
            price <= stop
        }
    }
}

/// How long a limit order stays: `gtc` until filled or cancelled, `ioc` fills what it can at
/// once and expires the rest, `fok` fills in full at once or expires. The exchange's
/// upper-case spellings are read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TimeInForce {
    #[default]
    #[serde(alias = "GTC")]
    Gtc,
    #[serde(alias = "IOC")]
    Ioc,
    #[serde(alias = "FOK")]
    Fok,
}

impl TimeInForce {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "gtc",
            TimeInForce::Ioc => "ioc",
            TimeInForce::Fok => "fok",
        }
    }
    /// Either spelling, as written in events or by the exchange.
    pub fn parse(s: &str) -> Option<TimeInForce> {
        match s {
            "gtc" | "GTC" => Some(TimeInForce::Gtc),
            "ioc" | "IOC" => Some(TimeInForce::Ioc),
            "fok" | "FOK" => Some(TimeInForce::Fok),
            _ => None,
        }
    }
}

/// A trailing stop's distance from the best price seen since the order was accepted (the
/// highest trade for a sell, the lowest for a buy): `{"bps": 50}` or `{"amount": 0.25}` in
/// the quote currency. Exactly one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Trail {
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub bps: Option<Decimal>,
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
}

impl Trail {
    /// The best price for a trailing stop once a trade at `price` has been seen after
    /// `best`: the highest for a sell, the lowest for a buy.
    pub fn follow(side: Side, best: Option<Decimal>, price: Decimal) -> Decimal {
        match (best, side) {
            (None, _) => price,
            (Some(b), Side::Sell) => b.max(price),
            (Some(b), Side::Buy) => b.min(price),
        }
    }

    /// The stop this far from `best`, below it for a sell and above it for a buy; `None` if
    /// the trail is not exactly one positive distance or the arithmetic overflows.
    pub fn stop(&self, side: Side, best: Decimal) -> Option<Decimal> {
        let distance = match (self.bps, self.amount) {
            (Some(b), None) if b > Decimal::ZERO && b < Decimal::from(10_000) => {
                best.checked_mul(b)?.checked_div(Decimal::from(10_000))?
            }
            (None, Some(a)) if a > Decimal::ZERO => a,
            _ => return None,
        };
        match side {
            Side::Sell => best.checked_sub(distance),
            Side::Buy => best.checked_add(distance),
        }
        .map(|d| d.normalize())
    }
}

/// Whether a fill added liquidity (resting order) or took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liquidity {
    Maker,
    Taker,
}

impl Liquidity {
    pub fn as_str(self) -> &'static str {
        match self {
            Liquidity::Maker => "maker",
            Liquidity::Taker => "taker",
        }
    }
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
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<Trail>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub oco: Option<Cow<'a, str>>,
    /// An execution algorithm for the order (`{"algo": "twap", …}`), run by njord-exec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSpec>,
    /// The trade this intent is a leg of (a pair's two legs share it). With `group_size`,
    /// risk holds the legs until all have come and allows all or none; without it, once risk
    /// denies one leg it denies the legs after it (`group_leg_denied`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Cow<'a, str>>,
    /// How many legs the `group_id` trade has (2 to 16), written on every leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: Option<u32>,
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
    /// The time in force as written; `Some(None)` when absent (GTC), `None` when unknown.
    pub fn time_in_force(&self) -> Option<Option<TimeInForce>> {
        match self.time_in_force.as_deref() {
            None => Some(None),
            Some(t) => TimeInForce::parse(t).map(Some),
        }
    }
}

/// The risk engine's verdict on an intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision<'a> {
    #[serde(borrow)]
    pub intent_id: Cow<'a, str>,
    pub allowed: bool,
    #[serde(default)]
    pub reason: Option<Reason>,
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
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<Trail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<TimeInForce>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub oco: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSpec>,
    /// The quantity shown at a time by the venue (its `icebergQty`): a child of an
    /// `iceberg` with `native: true`.
    #[serde(with = "num::opt", default, skip_serializing_if = "Option::is_none")]
    pub iceberg_qty: Option<Decimal>,
    /// The intent's `group_id`: the orders of one trade (a pair's legs), which risk allowed
    /// together.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Cow<'a, str>>,
    pub ts_accepted_ns: i64,
}

impl Order<'_> {
    /// The one-cancels-other group the order belongs to, as one key: a group is per
    /// strategy and symbol, so two strategies naming the same `oco` never cancel each other.
    pub fn oco_group(&self) -> Option<String> {
        let g = self.oco.as_deref()?;
        let strategy = self.strategy_id.as_deref().unwrap_or("");
        Some(format!("{strategy}\u{0}{}\u{0}{g}", self.symbol))
    }

    /// The stop price now: fixed, or trailing `best` (the best trade since the order was
    /// armed; `None` before the first, when a trailing stop has no stop yet).
    pub fn stop_at(&self, best: Option<Decimal>) -> Option<Decimal> {
        match self.trail {
            Some(t) => t.stop(self.side, best?),
            None => self.stop_price,
        }
    }

    /// A copy that owns its text.
    pub fn to_static(&self) -> Order<'static> {
        let s = |c: &Cow<'_, str>| Cow::Owned(c.to_string());
        Order {
            intent_id: s(&self.intent_id),
            strategy_id: self.strategy_id.as_ref().map(s),
            venue: s(&self.venue),
            symbol: s(&self.symbol),
            side: self.side,
            order_type: self.order_type,
            qty: self.qty,
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail: self.trail,
            time_in_force: self.time_in_force,
            post_only: self.post_only,
            oco: self.oco.as_ref().map(s),
            exec: self.exec.clone(),
            iceberg_qty: self.iceberg_qty,
            group_id: self.group_id.as_ref().map(s),
            ts_accepted_ns: self.ts_accepted_ns,
        }
    }
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
    pub status: OrderStatus,
    /// Why the order was rejected (paper), a stable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
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
pub(super) fn id_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Cow<'a, str>, D::Error> {
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

/// A portfolio's weight and capital for one strategy, written whenever they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation<'a> {
    #[serde(borrow)]
    pub portfolio: Cow<'a, str>,
    #[serde(borrow)]
    pub strategy_id: Cow<'a, str>,
    #[serde(with = "num")]
    pub weight: Decimal,
    #[serde(with = "num")]
    pub capital: Decimal,
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    /// Why the weights changed: `initial`, `rebalance`, `strategy_drawdown`, `cleared`.
    #[serde(borrow)]
    pub reason: Cow<'a, str>,
    /// The figures behind the weights (condition number, shrinkage intensity, …).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map,
    pub ts_ns: i64,
}

/// A reallocation that could not be made; the previous weights stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationRejected<'a> {
    #[serde(borrow)]
    pub portfolio: Cow<'a, str>,
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    pub reason: Reason,
    #[serde(borrow, default)]
    pub detail: Cow<'a, str>,
    pub ts_ns: i64,
}

/// The strategies' ledgers and the venue's balance of an asset differ by more than a lot step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileBreak<'a> {
    #[serde(borrow)]
    pub portfolio: Cow<'a, str>,
    #[serde(borrow)]
    pub asset: Cow<'a, str>,
    #[serde(with = "num")]
    pub ledger_qty: Decimal,
    #[serde(with = "num")]
    pub venue_qty: Decimal,
    #[serde(with = "num")]
    pub diff: Decimal,
    pub ts_ns: i64,
}

/// A strategy's market regime switched (an ensemble's volatility or trend regime).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regime<'a> {
    #[serde(borrow)]
    pub strategy_id: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// The regime now: `volatile` or `calm`, `trending` or `ranging`.
    #[serde(borrow)]
    pub regime: Cow<'a, str>,
    /// The regime before.
    #[serde(borrow)]
    pub previous: Cow<'a, str>,
    /// What switched it: the volatility's percentile rank, or |EMA fast / EMA slow − 1|, to
    /// 8 decimals.
    #[serde(with = "num")]
    pub level: Decimal,
    /// The time of the event that switched it.
    pub ts_ns: i64,
}

/// Progress of a parent order that njord-exec works through child orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecStatus<'a> {
    /// The parent's intent id.
    #[serde(borrow)]
    pub parent_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub strategy_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub side: Side,
    #[serde(borrow)]
    pub algo: Cow<'a, str>,
    /// `working`, `done` (all filled), `expired` (its time is up with some unsent or unfilled),
    /// `cancelled`, `halted` (kill switch), `rejected`.
    #[serde(borrow)]
    pub state: Cow<'a, str>,
    #[serde(with = "num")]
    pub qty: Decimal,
    /// Quantity sent in child orders so far.
    #[serde(with = "num")]
    pub sent: Decimal,
    #[serde(with = "num")]
    pub filled: Decimal,
    /// Average fill price (0 before the first fill).
    #[serde(with = "num")]
    pub avg_price: Decimal,
    #[serde(with = "num")]
    pub remaining: Decimal,
    /// Child orders sent.
    pub children: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub ts_ns: i64,
}

impl ExecStatus<'_> {
    /// Whether the parent has ended: every state but `working` and `sent` (children out,
    /// fills not all seen) is final.
    pub fn is_final(&self) -> bool {
        !matches!(self.state.as_ref(), "working" | "sent")
    }
}
