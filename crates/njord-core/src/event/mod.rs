//! Njord's events (DESIGN §3): one JSON object per line, `kind` names the event.
//!
//! Every event borrows its strings from the input line where it can ([`Cow`]), so decoding a
//! trade on the hot path allocates nothing; [`Event::into_owned`] detaches it when a core must
//! keep it. Decimals go through [`crate::num`]: exact in memory, numbers on the wire.

mod decode;
mod fast_trade;
mod kind;
mod line;
mod order_status;
mod payload;
mod validate;
mod write;

pub use decode::{DecodeError, decode, decode_as};
pub use fast_trade::Decoder;
pub use kind::Kind;
pub use line::{judge_line, line_text};
pub use order_status::OrderStatus;
pub use payload::{
    Ack, Allocation, AllocationRejected, Balance, Bar, Book, Cancel, Decision, Echo, ExecStatus,
    Fill, Intent, Level, Liquidity, Order, OrderType, OrderUpdate, Position, ReconcileBreak,
    Regime, Side, Ticker, TimeInForce, Trade, Trail,
};
pub use validate::check as validate;
pub use write::write_json_str;

use serde::Serialize;
use std::borrow::Cow;

/// Free-form JSON object carried by intents (`meta`) and decisions (`caps`). Keys are sorted,
/// so output is deterministic.
pub type Map = serde_json::Map<String, serde_json::Value>;

/// An order's execution algorithm as written (`{"algo": "twap", …}`). Shared, because one
/// strategy's spec rides on every intent and order it makes, and each hop copies the event.
pub type ExecSpec = std::sync::Arc<Map>;

/// Events a core causes, owned so they can outlive the input line.
pub type Out = Vec<Event<'static>>;

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
    Allocation(Allocation<'a>),
    AllocationRejected(AllocationRejected<'a>),
    ReconcileBreak(ReconcileBreak<'a>),
    ExecStatus(ExecStatus<'a>),
    Regime(Regime<'a>),
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
            Event::Allocation(_) => Kind::Allocation,
            Event::AllocationRejected(_) => Kind::AllocationRejected,
            Event::ReconcileBreak(_) => Kind::ReconcileBreak,
            Event::ExecStatus(_) => Kind::ExecStatus,
            Event::Regime(_) => Kind::Regime,
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
            Event::ExecStatus(e) => &e.symbol,
            Event::Regime(e) => &e.symbol,
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
            Event::Allocation(e) => e.ts_ns,
            Event::AllocationRejected(e) => e.ts_ns,
            Event::ReconcileBreak(e) => e.ts_ns,
            Event::ExecStatus(e) => e.ts_ns,
            Event::Regime(e) => e.ts_ns,
        }
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
                stop_price: e.stop_price,
                trail: e.trail,
                time_in_force: oo(e.time_in_force),
                post_only: e.post_only,
                oco: oo(e.oco),
                exec: e.exec,
                group_id: oo(e.group_id),
                group_size: e.group_size,
                meta: e.meta,
            }),
            Event::Decision(e) => Event::Decision(Decision {
                intent_id: o(e.intent_id),
                allowed: e.allowed,
                reason: e.reason,
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
                stop_price: e.stop_price,
                trail: e.trail,
                time_in_force: e.time_in_force,
                post_only: e.post_only,
                oco: oo(e.oco),
                exec: e.exec,
                iceberg_qty: e.iceberg_qty,
                group_id: oo(e.group_id),
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
                status: e.status,
                reason: e.reason,
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
            Event::Allocation(e) => Event::Allocation(Allocation {
                portfolio: o(e.portfolio),
                strategy_id: o(e.strategy_id),
                weight: e.weight,
                capital: e.capital,
                method: o(e.method),
                reason: o(e.reason),
                meta: e.meta,
                ts_ns: e.ts_ns,
            }),
            Event::AllocationRejected(e) => Event::AllocationRejected(AllocationRejected {
                portfolio: o(e.portfolio),
                method: o(e.method),
                reason: e.reason,
                detail: o(e.detail),
                ts_ns: e.ts_ns,
            }),
            Event::ReconcileBreak(e) => Event::ReconcileBreak(ReconcileBreak {
                portfolio: o(e.portfolio),
                asset: o(e.asset),
                ledger_qty: e.ledger_qty,
                venue_qty: e.venue_qty,
                diff: e.diff,
                ts_ns: e.ts_ns,
            }),
            Event::ExecStatus(e) => Event::ExecStatus(ExecStatus {
                parent_id: o(e.parent_id),
                strategy_id: oo(e.strategy_id),
                symbol: o(e.symbol),
                side: e.side,
                algo: o(e.algo),
                state: o(e.state),
                qty: e.qty,
                sent: e.sent,
                filled: e.filled,
                avg_price: e.avg_price,
                remaining: e.remaining,
                children: e.children,
                reason: e.reason,
                ts_ns: e.ts_ns,
            }),
            Event::Regime(e) => Event::Regime(Regime {
                strategy_id: o(e.strategy_id),
                symbol: o(e.symbol),
                regime: o(e.regime),
                previous: o(e.previous),
                level: e.level,
                ts_ns: e.ts_ns,
            }),
        }
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
