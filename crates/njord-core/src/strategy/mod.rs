//! The strategy framework: a [`Strategy`] turns market events into [`Intent`]s, never orders.
//!
//! Strategies are pure cores (DESIGN §2): no I/O, no wall clock. The [`manager::Manager`] gives
//! each (strategy, symbol) pair its own instance, so one symbol's prices can never leak into
//! another's series; it routes events, stamps deterministic intent ids ([`ids`]), isolates
//! failures and applies reloads. [`registry::Registry`] names the built-in classes;
//! the shell `njord-strat` runs is `njord::strategy::stage`.

use crate::event::{Event, Intent, Map, Side};
use crate::prices::LastPrices;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;

pub mod ema_cross;
pub mod ensemble;
pub mod exits;
pub mod ids;
pub mod manager;
pub mod pairs;
pub mod registry;
pub mod rsi_tema_bb;
pub mod trendline_break;
pub mod xs_momentum;

pub use manager::Manager;
pub use registry::{Class, ParamKind, ParamSpec, ParamValue, Params, Registry, Scope};

/// Why a strategy failed on an event. The manager reports it and disables the strategy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StrategyError(pub String);

/// One instance of a strategy class, for one symbol. Built by its class from validated
/// params; fed only the events its configuration routes to it.
pub trait Strategy: Send {
    /// Handles one market event (`trade` or `bar`; the price is in `ctx`), pushing the
    /// intents it causes — build them with [`Context::intent`].
    fn on_event(
        &mut self,
        ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError>;

    /// Moves the events other than intents that the last [`Strategy::on_event`] caused (an
    /// ensemble's regime switch) to `out`; the manager writes them before its intents.
    fn take_events(&mut self, _out: &mut crate::event::Out) {}

    /// What the strategy reports at the end of a run (an ensemble's attribution per member);
    /// most have nothing to add.
    fn summary(&self) -> Option<Map> {
        None
    }
}

/// What a strategy may know when it handles an event. Read-only: everything is borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub(crate) strategy_id: &'a str,
    pub(crate) symbol: &'a str,
    pub(crate) ts_ns: i64,
    pub(crate) price: Decimal,
    pub(crate) price_f64: f64,
    pub(crate) params: &'a Params,
    pub(crate) positions: &'a HashMap<String, Decimal>,
    pub(crate) prices: &'a LastPrices,
    /// Whether intents carry their `meta` (see [`Manager::explain`]).
    pub(crate) explain: bool,
}

impl<'a> Context<'a> {
    pub fn strategy_id(&self) -> &'a str {
        self.strategy_id
    }
    /// The symbol of the event being handled.
    pub fn symbol(&self) -> &'a str {
        self.symbol
    }
    /// Time of the event being handled (`ts_ns` of a trade, `ts_close_ns` of a bar).
    pub fn ts_ns(&self) -> i64 {
        self.ts_ns
    }
    /// The event's price: the trade price or the bar's close.
    pub fn price(&self) -> Decimal {
        self.price
    }
    /// [`Context::price`] as `f64`, for indicators.
    pub fn price_f64(&self) -> f64 {
        self.price_f64
    }
    pub fn params(&self) -> &'a Params {
        self.params
    }
    /// This strategy's position in `symbol` from the latest `position` event (0 if none).
    pub fn position(&self, symbol: &str) -> Decimal {
        self.positions.get(symbol).copied().unwrap_or_default()
    }
    /// The latest price seen for `symbol` by any strategy's routes.
    pub fn last_price(&self, symbol: &str) -> Option<Decimal> {
        self.prices.get(symbol)
    }
    /// A market intent for the current symbol at the event's time; the manager gives it its
    /// id. `meta` should give the values that triggered it; the price is added as `price`.
    /// It is only called when intents are explained: a run that never shows them skips the
    /// formatting.
    pub fn intent(&self, side: Side, qty: Decimal, meta: impl FnOnce() -> Map) -> Intent<'static> {
        self.intent_on(self.symbol, side, qty, meta)
    }

    /// [`Context::intent`] for another symbol (a pair's other leg, a rank's member) at the
    /// current event's time; `price` in its `meta` is that symbol's last price. For
    /// [`Scope::Shared`](registry::Scope::Shared) classes, which see every symbol they trade.
    pub fn intent_on(
        &self,
        symbol: &str,
        side: Side,
        qty: Decimal,
        meta: impl FnOnce() -> Map,
    ) -> Intent<'static> {
        let meta = if self.explain {
            let mut meta = meta();
            let price = if symbol == self.symbol {
                Some(self.price)
            } else {
                self.prices.get(symbol)
            };
            if let Some(p) = price.and_then(|p| serde_json::to_value(crate::num::Dec(p)).ok()) {
                meta.insert("price".to_owned(), p);
            }
            meta
        } else {
            Map::new()
        };
        Intent {
            id: None,
            ts_ns: self.ts_ns,
            strategy_id: Cow::Owned(self.strategy_id.to_owned()),
            symbol: Cow::Owned(symbol.to_owned()),
            side: Cow::Borrowed(side.as_str()),
            order_type: Cow::Borrowed("market"),
            qty,
            limit_price: None,
            stop_price: None,
            trail: None,
            time_in_force: None,
            post_only: false,
            oco: None,
            exec: None,
            group_id: None,
            group_size: None,
            meta,
        }
    }
}

/// The intent that moves a position of −1, 0 or +1 units (short, flat, long) to `target`:
/// its side and quantity (`qty` per unit, so twice `qty` from short to long); `None` when the
/// position is there already.
pub fn toward(position: i8, target: i8, qty: Decimal) -> Option<(Side, Decimal)> {
    let steps = i32::from(target) - i32::from(position);
    let side = match steps {
        0 => return None,
        s if s > 0 => Side::Buy,
        _ => Side::Sell,
    };
    Some((side, qty * Decimal::from(steps.abs())))
}

/// A `meta` map of named `f64` values (non-finite values become `null`).
pub fn meta<const N: usize>(values: [(&str, f64); N]) -> Map {
    values
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Event builders and a one-strategy runner for the strategies' unit tests.
    use super::registry::{Class, Registry};
    use super::{Manager, manager};
    use crate::config::Topics;
    use crate::event::{Bar, Event, Trade};
    use crate::num::parse_decimal;
    use std::borrow::Cow;

    pub const T0: i64 = 1_700_000_000_000_000_000;

    pub fn trade(symbol: &str, price: &str, i: i64) -> Event<'static> {
        Event::Trade(Trade {
            venue: Cow::Borrowed("binanceus"),
            symbol: Cow::Owned(symbol.to_owned()),
            trade_id: Cow::Owned(i.to_string()),
            price: parse_decimal(price).unwrap(),
            qty: rust_decimal::Decimal::ONE,
            side: crate::event::Side::Buy,
            ts_ns: T0 + i * 1_000_000_000,
            ts_local_ns: None,
        })
    }

    pub fn bar(symbol: &str, timeframe: &str, close: &str, i: i64) -> Event<'static> {
        let c = parse_decimal(close).unwrap();
        Event::Bar(Bar {
            symbol: Cow::Owned(symbol.to_owned()),
            timeframe: Cow::Owned(timeframe.to_owned()),
            ts_open_ns: T0 + (i - 1) * 60_000_000_000,
            ts_close_ns: T0 + i * 60_000_000_000,
            open: c,
            high: c,
            low: c,
            close: c,
            volume: rust_decimal::Decimal::ONE,
            trades: 1,
        })
    }

    pub fn manager(registry: Registry, yaml: &str) -> Manager {
        let topics = Topics::default();
        let defs = manager::parse(yaml, "test.yaml", &registry, &topics).unwrap();
        Manager::new(registry, topics, defs)
    }

    /// Runs one strategy of `class` with `params` (YAML flow mapping) over trade prices of
    /// ATOM/USDT at 1 s steps; returns (index, side) of every intent.
    pub fn signals(class: &Class, params: &str, prices: &[&str]) -> Vec<(i64, String)> {
        let yaml = format!(
            "strategies:\n  - {{id: s, class: {}, symbols: [ATOM/USDT], events: [trade], params: {params}}}\n",
            class.name
        );
        let mut m = manager(Registry::builtin(), &yaml);
        let mut out = Vec::new();
        for (i, p) in prices.iter().enumerate() {
            m.on_event(&trade("ATOM/USDT", p, i as i64), &mut out);
        }
        out.iter()
            .map(|e| match e {
                Event::Intent(i) => ((i.ts_ns - T0) / 1_000_000_000, i.side.to_string()),
                _ => unreachable!("only intents are emitted"),
            })
            .collect()
    }
}
