//! The strategy manager: the strategies file, routing, per-(strategy, symbol) state, failure
//! isolation and reloads. A pure core: it is handed the file's text and events, never reads
//! files or clocks.
//!
//! `config/strategies.yaml`:
//!
//! ```yaml
//! strategies:
//!   - id: trend_atom            # unique; [A-Za-z0-9_.:-]
//!     class: trendline_break    # see `njord-strat --list`
//!     enabled: true             # default true
//!     symbols: ["ATOM/USDT"]    # glob patterns on the event's symbol
//!     events: [trade]           # `trade`, `bar`, or topic globs such as `md.ohlcv.1m.*`
//!     params: {qty: 0.5}        # every key known to the class; defaults fill the rest
//! ```
//!
//! An event reaches a strategy when one of its `events` matches the event's canonical topic
//! (`trade` stands for every trade topic, `bar` for every bar topic) and one of its `symbols`
//! matches the symbol. On a bus, `events` are the subscriptions. Each (strategy, symbol) pair gets its own instance. `position` events
//! are not routed: they update the positions the context shows (a position with a
//! `strategy_id` belongs to that strategy, one without to every strategy).

mod entry;
#[cfg(test)]
mod exits_tests;
mod file;
#[cfg(test)]
mod props;
mod reload;
#[cfg(test)]
mod tests;

pub use file::{LoadError, StrategyDef, parse};
pub use reload::ReloadReport;

use super::Context;
use super::registry::Registry;
use crate::config::{Strat, Topics};
use crate::event::Out;
use crate::event::{Event, Intent, Kind, Map};
use crate::prices::LastPrices;
use entry::Entry;
use file::EventFilter;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The market event being handled and what the manager read from it.
struct Target<'e, 'a> {
    ev: &'e Event<'a>,
    symbol: &'e str,
    price: Decimal,
    ts_ns: i64,
}

/// FxHash: route keys are short strings hashed on every event, where SipHash's DoS
/// resistance buys nothing (the symbols come from the venue's feed).
type FxBuild = rustc_hash::FxBuildHasher;

/// Which instances an event goes to, per (kind, timeframe, symbol).
struct Route {
    price_slot: usize,
    targets: Vec<(usize, usize)>,
    /// Strategies the symbol matched but that ran `max_symbols_per_strategy` instances
    /// already: each event of the route counts as refused by them.
    refused_by: Vec<usize>,
}

/// The route the previous event took. Tapes and feeds mostly repeat a symbol, and comparing
/// it is cheaper than building and hashing a key.
#[derive(Default)]
struct LastRoute {
    kind: Option<Kind>,
    timeframe: String,
    symbol: String,
    route: usize,
}

/// Runs the configured strategies over events.
pub struct Manager {
    registry: Registry,
    topics: Topics,
    entries: Vec<Entry>,
    routes: Vec<Route>,
    /// Index in `routes` by key (see [`Manager::route_index`]).
    route_of: HashMap<String, usize, FxBuild>,
    last: LastRoute,
    key: String,
    explain: bool,
    prices: LastPrices,
    scratch: Vec<Intent<'static>>,
    limits: Strat,
    /// Events refused because `limits.max_symbols` routes existed already.
    refused: u64,
}

impl Manager {
    /// A manager running the enabled strategies of `defs` (from [`parse`]).
    pub fn new(registry: Registry, topics: Topics, defs: Vec<StrategyDef>) -> Self {
        let mut m = Manager {
            registry,
            topics,
            entries: Vec::new(),
            routes: Vec::new(),
            route_of: HashMap::default(),
            last: LastRoute::default(),
            key: String::with_capacity(64),
            explain: true,
            prices: LastPrices::default(),
            scratch: Vec::new(),
            limits: Strat::default(),
            refused: 0,
        };
        m.apply(defs);
        m
    }

    /// Bounds the symbols routed and the instances per strategy (`strat.*`; the defaults
    /// until called).
    pub fn set_limits(&mut self, limits: &Strat) {
        self.limits = limits.clone();
    }

    /// Events refused for a symbol beyond `strat.max_symbols`, and per strategy (file order,
    /// only those that refused any) the events of symbols beyond
    /// `strat.max_symbols_per_strategy`.
    pub fn refused(&self) -> (u64, Vec<(&str, u64)>) {
        let per = self
            .entries
            .iter()
            .filter(|e| e.refused > 0)
            .map(|e| (e.def.id.as_str(), e.refused))
            .collect();
        (self.refused, per)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Ids of the strategies running, in file order.
    pub fn running(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.failed.is_none())
            .map(|e| e.def.id.as_str())
            .collect()
    }

    /// Strategies disabled after a failure, with the reason.
    pub fn failed(&self) -> Vec<(&str, &str)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e.def.id.as_str(), e.failed.as_deref()?)))
            .collect()
    }

    /// Running strategies that no event has reached yet, with their symbol patterns: none of
    /// their symbols (in the events they take) was on the input. A run reports them at its
    /// end, since a typo in `symbols` otherwise looks like a strategy that never trades.
    pub fn never_fed(&self) -> Vec<(&str, &[String])> {
        self.entries
            .iter()
            .filter(|e| e.failed.is_none() && e.states.is_empty())
            .map(|e| (e.def.id.as_str(), e.def.symbols.as_slice()))
            .collect()
    }

    /// Every instance's end-of-run summary that has one: (strategy id, symbol or `*`,
    /// summary), in file order.
    pub fn summaries(&self) -> Vec<(&str, &str, Map)> {
        self.entries
            .iter()
            .flat_map(|e| {
                e.states.iter().filter_map(move |s| {
                    Some((e.def.id.as_str(), s.symbol.as_str(), s.strategy.summary()?))
                })
            })
            .collect()
    }

    /// Bus subscriptions: each running strategy's `events` and the positions topic. `trade`
    /// and `bar` subscribe to every topic of the kind (symbols are filtered on arrival), so a
    /// reload that adds a symbol needs no new subscription.
    pub fn input_patterns(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.failed.is_none())
            .flat_map(|e| e.filters.iter())
            .map(|f| match f {
                EventFilter::Kind(k) => self.topics.pattern(*k),
                EventFilter::Topic(p) => p.clone(),
            })
            .collect();
        v.push(self.topics.pattern(Kind::Position));
        v.sort();
        v.dedup();
        v
    }

    /// Whether intents carry their `meta` (on by default). The backtester, which never
    /// shows intents, turns it off: formatting the values costs more than deciding.
    pub fn explain(&mut self, on: bool) {
        self.explain = on;
    }

    /// Handles one event, pushing the intents it causes (with their ids).
    pub fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) {
        let (kind, symbol, timeframe, price, ts_ns) = match ev {
            Event::Trade(t) => (Kind::Trade, &*t.symbol, "", t.price, t.ts_ns),
            Event::Bar(b) => (Kind::Bar, &*b.symbol, &*b.timeframe, b.close, b.ts_close_ns),
            Event::Position(p) => {
                for e in &mut self.entries {
                    if p.strategy_id.as_deref().is_none_or(|s| s == e.def.id) {
                        e.positions.insert(p.symbol.to_string(), p.qty);
                    }
                }
                return;
            }
            _ => return,
        };
        let last = &self.last;
        // Empty timeframes (trades) are not handed to `memcmp`: an empty `String` points at a
        // dangling address, and glibc's AVX-512 `memcmp` takes a slow fault-suppression path
        // on it (measured at about 80 ns a call).
        let same_timeframe = last.timeframe.len() == timeframe.len()
            && (timeframe.is_empty() || last.timeframe == timeframe);
        let route = if last.kind == Some(kind) && last.symbol == symbol && same_timeframe {
            last.route
        } else {
            let Some(route) = self.route_index(ev, kind, symbol, timeframe) else {
                return;
            };
            let last = &mut self.last;
            last.kind = Some(kind);
            last.symbol.clear();
            last.symbol.push_str(symbol);
            last.timeframe.clear();
            last.timeframe.push_str(timeframe);
            last.route = route;
            route
        };
        let target = Target {
            ev,
            symbol,
            price,
            ts_ns,
        };
        self.dispatch(route, &target, out);
    }

    /// The index of the route of (kind, timeframe, symbol), worked out the first time (so
    /// the symbol patterns are matched once per symbol, not per event); `None`, counted, when
    /// `max_symbols` routes exist already.
    fn route_index(
        &mut self,
        ev: &Event<'_>,
        kind: Kind,
        symbol: &str,
        timeframe: &str,
    ) -> Option<usize> {
        // Kind, timeframe length, timeframe, symbol: unambiguous whatever the strings hold.
        self.key.clear();
        self.key.push(if kind == Kind::Trade { 't' } else { 'b' });
        self.key
            .push_str(itoa::Buffer::new().format(timeframe.len()));
        self.key.push(':');
        self.key.push_str(timeframe);
        self.key.push_str(symbol);
        if let Some(&i) = self.route_of.get(self.key.as_str()) {
            return Some(i);
        }
        if self.routes.len() >= self.limits.max_symbols {
            self.refused += 1;
            if self.refused == 1 {
                tracing::warn!(
                    symbol,
                    "{} of {symbol} refused: {} symbols are routed already (strat.max_symbols); \
                     further refusals are only counted",
                    kind.as_str(),
                    self.limits.max_symbols
                );
            }
            return None;
        }
        let route = self.route(ev, kind, symbol);
        self.routes.push(route);
        self.route_of
            .insert(self.key.clone(), self.routes.len() - 1);
        Some(self.routes.len() - 1)
    }

    fn forget_routes(&mut self) {
        self.routes.clear();
        self.route_of.clear();
        self.last.kind = None;
    }

    /// Runs the event through route `route`.
    fn dispatch(&mut self, route: usize, t: &Target<'_, '_>, out: &mut Out) {
        let Some(route) = self.routes.get(route) else {
            return;
        };
        let Target {
            ev,
            symbol,
            price,
            ts_ns,
        } = *t;
        self.prices.set_slot(route.price_slot, price, ts_ns);
        for &ei in &route.refused_by {
            if let Some(e) = self.entries.get_mut(ei) {
                e.refused += 1;
            }
        }
        if route.targets.is_empty() {
            return;
        }
        let price_f64 = crate::num::nearest_f64(price);
        let mut failed = false;
        for &(ei, si) in &route.targets {
            let Some(entry) = self.entries.get_mut(ei) else {
                continue;
            };
            if entry.failed.is_some() {
                continue;
            }
            let Entry {
                def,
                states,
                positions,
                ..
            } = entry;
            let Some(st) = states.get_mut(si) else {
                continue;
            };
            let ctx = Context {
                strategy_id: &def.id,
                symbol,
                ts_ns,
                price,
                price_f64,
                params: &def.params,
                positions,
                prices: &self.prices,
                explain: self.explain,
            };
            let managed = def.exits.is_some() || def.stake.is_some();
            st.book.on_price(price, price_f64, def.stake.as_ref());
            if let Some(rules) = &def.exits
                && let Some(mut exit) = st.book.exit(rules, price, ts_ns, |side, qty, meta| {
                    ctx.intent(side, qty, || meta)
                })
            {
                exit.id = Some(st.ids.next(symbol, exit.ts_ns).into());
                out.push(Event::Intent(exit));
            }
            self.scratch.clear();
            let scratch = &mut self.scratch;
            let strategy = &mut st.strategy;
            let outcome = catch_unwind(AssertUnwindSafe(|| strategy.on_event(ev, &ctx, scratch)));
            if outcome.is_ok() {
                // What it caused before an error too (an ensemble's regime switch).
                st.strategy.take_events(out);
            }
            let reason = match outcome {
                Ok(Ok(())) => {
                    for intent in self.scratch.drain(..) {
                        let intent = match intent.side() {
                            Some(side) if managed => {
                                match st.book.admit(intent, side, price, def.stake.as_ref()) {
                                    Some(i) => i,
                                    None => continue,
                                }
                            }
                            Some(side) => {
                                st.book.record(side, intent.qty, price, intent.ts_ns);
                                intent
                            }
                            None => intent,
                        };
                        let mut intent = intent;
                        intent.exec.clone_from(&def.exec);
                        intent.id = Some(st.ids.next(symbol, intent.ts_ns).into());
                        out.push(Event::Intent(intent));
                    }
                    continue;
                }
                Ok(Err(e)) => format!("error on {symbol} at ts_ns {ts_ns}: {e}"),
                Err(panic) => format!(
                    "panicked on {symbol} at ts_ns {ts_ns}: {}",
                    panic_message(panic.as_ref())
                ),
            };
            entry.fail(reason);
            failed = true;
        }
        if failed {
            // Routes point at instances that are gone.
            self.forget_routes();
        }
    }

    fn route(&mut self, ev: &Event<'_>, kind: Kind, symbol: &str) -> Route {
        let topic = self.topics.for_event(ev);
        let mut targets = Vec::new();
        let mut refused_by = Vec::new();
        let max = self.limits.max_symbols_per_strategy;
        for (ei, e) in self.entries.iter_mut().enumerate() {
            if !e.wants(kind, &topic, symbol) {
                continue;
            }
            match e.state(symbol, max) {
                Ok(Some(si)) => targets.push((ei, si)),
                Ok(None) => {
                    if e.refused == 0 {
                        tracing::warn!(
                            strategy = %e.def.id,
                            symbol,
                            "strategy `{}` does not run on {symbol}: it runs on {max} symbols \
                             already (strat.max_symbols_per_strategy); further refusals are \
                             only counted",
                            e.def.id
                        );
                    }
                    refused_by.push(ei);
                }
                Err(reason) => e.fail(reason),
            }
        }
        Route {
            price_slot: self.prices.slot(symbol),
            targets,
            refused_by,
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}
