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

use super::ids::IdSeq;
use super::registry::{Class, Params, Registry};
use super::{Context, Strategy, StrategyId};
use crate::config::Topics;
use crate::event::Out;
use crate::event::{Event, Intent, Kind};
use crate::prices::LastPrices;
use crate::topic::glob_match;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// One validated entry of the strategies file.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyDef {
    pub id: String,
    pub class: String,
    pub enabled: bool,
    pub symbols: Vec<String>,
    /// As written in the file.
    pub events: Vec<String>,
    pub params: Params,
}

/// Why a strategies file was refused. Messages name the file, the strategy and the key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {msg}")]
    Syntax { path: String, msg: String },
    #[error("{path}: {place}: key `{key}`: {msg}")]
    Key {
        path: String,
        /// `strategy `id`` or `strategies[i]` when the entry has no usable id.
        place: String,
        key: String,
        msg: String,
    },
}

/// Reads the text of a strategies file; `path` is only used in messages.
pub fn parse(
    text: &str,
    path: &str,
    registry: &Registry,
    topics: &Topics,
) -> Result<Vec<StrategyDef>, LoadError> {
    let key_err = |place: &str, key: &str, msg: String| LoadError::Key {
        path: path.to_owned(),
        place: place.to_owned(),
        key: key.to_owned(),
        msg,
    };
    let root: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str(text).map_err(|e| LoadError::Syntax {
            path: path.to_owned(),
            msg: e.to_string(),
        })?
    };
    let list = match &root {
        Value::Object(m) => {
            if let Some(k) = m.keys().find(|k| k.as_str() != "strategies") {
                return Err(key_err(
                    "top level",
                    k,
                    "unknown key; the file holds one list, `strategies`".into(),
                ));
            }
            match m.get("strategies") {
                Some(Value::Array(a)) => a.as_slice(),
                Some(Value::Null) | None => &[],
                Some(_) => {
                    return Err(key_err(
                        "top level",
                        "strategies",
                        "expected a list of strategies".into(),
                    ));
                }
            }
        }
        Value::Null => &[],
        _ => {
            return Err(key_err(
                "top level",
                "strategies",
                "expected a mapping with a `strategies` list".into(),
            ));
        }
    };
    let mut defs = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (i, entry) in list.iter().enumerate() {
        let def = parse_entry(i, entry, registry, topics)
            .map_err(|(place, key, msg)| key_err(&place, &key, msg))?;
        if !seen.insert(def.id.clone()) {
            return Err(key_err(
                &format!("strategies[{i}]"),
                "id",
                format!("duplicate id `{}`; ids must be unique", def.id),
            ));
        }
        defs.push(def);
    }
    Ok(defs)
}

type EntryError = (String, String, String);

fn parse_entry(
    i: usize,
    entry: &Value,
    registry: &Registry,
    topics: &Topics,
) -> Result<StrategyDef, EntryError> {
    let mut place = format!("strategies[{i}]");
    let err = |place: &str, key: &str, msg: String| (place.to_owned(), key.to_owned(), msg);
    let Value::Object(m) = entry else {
        return Err(err(&place, "(entry)", "expected a mapping".into()));
    };
    let id = match m.get("id") {
        Some(Value::String(s)) if valid_id(s) => s.clone(),
        Some(v) => {
            return Err(err(
                &place,
                "id",
                format!("expected 1 to 64 characters of [A-Za-z0-9_.:-], found `{v}`"),
            ));
        }
        None => return Err(err(&place, "id", "required".into())),
    };
    place = format!("strategy `{id}`");
    const KEYS: [&str; 6] = ["id", "class", "enabled", "symbols", "events", "params"];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(
            &place,
            k,
            format!("unknown key (known: {})", KEYS.join(", ")),
        ));
    }
    let class_name = match m.get("class") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(err(
                &place,
                "class",
                format!("expected a name, found `{v}`"),
            ));
        }
        None => return Err(err(&place, "class", "required".into())),
    };
    let Some(class) = registry.get(&class_name) else {
        let known: Vec<_> = registry.classes().iter().map(|c| c.name).collect();
        return Err(err(
            &place,
            "class",
            format!(
                "unknown class `{class_name}` (known: {}; see njord-strat --list)",
                known.join(", ")
            ),
        ));
    };
    let enabled = match m.get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(err(
                &place,
                "enabled",
                format!("expected true or false, found `{v}`"),
            ));
        }
    };
    let list = |key: &str| -> Result<Vec<String>, EntryError> {
        match m.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(j, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                    _ => Err(err(
                        &place,
                        &format!("{key}[{j}]"),
                        format!("expected a non-empty string, found `{v}`"),
                    )),
                })
                .collect(),
            Some(Value::Array(_)) => Err(err(&place, key, "the list is empty".into())),
            Some(v) => Err(err(&place, key, format!("expected a list, found `{v}`"))),
            None => Err(err(&place, key, "required (a non-empty list)".into())),
        }
    };
    let symbols = list("symbols")?;
    let events = list("events")?;
    for (j, e) in events.iter().enumerate() {
        event_filter(e, topics).map_err(|msg| err(&place, &format!("events[{j}]"), msg))?;
    }
    let empty = serde_json::Map::new();
    let raw = match m.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(v) => {
            return Err(err(
                &place,
                "params",
                format!("expected a mapping, found `{v}`"),
            ));
        }
    };
    let params = class.params(raw).map_err(|e| {
        let key = if e.key.is_empty() {
            "params".to_owned()
        } else {
            format!("params.{}", e.key)
        };
        err(&place, &key, e.msg)
    })?;
    Ok(StrategyDef {
        id,
        class: class_name,
        enabled,
        symbols,
        events,
        params,
    })
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// What an `events` entry selects.
#[derive(Debug, Clone, PartialEq)]
enum EventFilter {
    /// `trade` or `bar`: every topic of that kind (subscriptions narrowed to the symbols).
    Kind(Kind),
    /// A topic glob.
    Topic(String),
}

fn event_filter(e: &str, topics: &Topics) -> Result<EventFilter, String> {
    match e {
        "trade" => return Ok(EventFilter::Kind(Kind::Trade)),
        "bar" => return Ok(EventFilter::Kind(Kind::Bar)),
        _ => {}
    }
    let wild = e.find(['*', '?', '[', '\\']);
    let ok = match wild {
        None => matches!(topics.kind_of(e), Some(Kind::Trade | Kind::Bar)),
        Some(w) => [Kind::Trade, Kind::Bar].into_iter().any(|k| {
            let pat = topics.pattern(k);
            let fixed = &pat[..pat.find('*').unwrap_or(pat.len())];
            let head = &e[..w];
            fixed.starts_with(head) || head.starts_with(fixed)
        }),
    };
    if ok {
        Ok(EventFilter::Topic(e.to_owned()))
    } else {
        Err(format!(
            "`{e}` matches no trade or bar topic; use `trade`, `bar` or a topic pattern such \
             as `{}` or `{}`",
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar)
        ))
    }
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub recreated: Vec<String>,
    pub kept: Vec<String>,
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let l = |v: &[String]| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                v.join(",")
            }
        };
        write!(
            f,
            "added {}; removed {}; re-created {}; kept {}",
            l(&self.added),
            l(&self.removed),
            l(&self.recreated),
            l(&self.kept)
        )
    }
}

struct SymbolState {
    symbol: String,
    strategy: Box<dyn Strategy>,
    ids: IdSeq,
}

/// A running (or failed) strategy.
struct Entry {
    def: StrategyDef,
    class: Class,
    sid: StrategyId,
    filters: Vec<EventFilter>,
    /// The params as `name=value;…`, part of every intent id's key.
    params_text: String,
    states: Vec<SymbolState>,
    positions: HashMap<String, Decimal>,
    /// Why it was disabled, after a panic or an error.
    failed: Option<String>,
}

impl Entry {
    fn new(def: StrategyDef, class: Class, topics: &Topics) -> Self {
        Entry {
            sid: StrategyId::from(def.id.as_str()),
            // Validated when the file was parsed.
            filters: def
                .events
                .iter()
                .filter_map(|e| event_filter(e, topics).ok())
                .collect(),
            params_text: def
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v};"))
                .collect(),
            def,
            class,
            states: Vec::new(),
            positions: HashMap::new(),
            failed: None,
        }
    }

    fn wants(&self, kind: Kind, topic: &str, symbol: &str) -> bool {
        self.failed.is_none()
            && self.def.symbols.iter().any(|s| glob_match(s, symbol))
            && self.filters.iter().any(|f| match f {
                EventFilter::Kind(k) => *k == kind,
                EventFilter::Topic(p) => glob_match(p, topic),
            })
    }

    /// The index of `symbol`'s instance, built on first use.
    fn state(&mut self, symbol: &str) -> Result<usize, String> {
        if let Some(i) = self.states.iter().position(|s| s.symbol == symbol) {
            return Ok(i);
        }
        let strategy = (self.class.build)(self.sid.clone(), &self.def.params)
            .map_err(|e| format!("params.{}: {}", e.key, e.msg))?;
        self.states.push(SymbolState {
            symbol: symbol.to_owned(),
            strategy,
            ids: IdSeq::new(&[&self.def.id, symbol, &self.def.class, &self.params_text]),
        });
        Ok(self.states.len() - 1)
    }

    fn fail(&mut self, reason: String) {
        tracing::error!(
            strategy = %self.def.id,
            "strategy `{}` failed and is disabled (the others continue): {reason}",
            self.def.id
        );
        self.states.clear();
        self.failed = Some(reason);
    }
}

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
        };
        m.apply(defs);
        m
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

    /// Switches to a new set of definitions (already validated): new ones start, missing
    /// ones stop, a changed class, params or events re-creates that strategy, and the others
    /// keep their state (a change of symbols only drops the instances no longer matched).
    /// A strategy disabled by a failure stays disabled unless its entry changed.
    pub fn apply(&mut self, defs: Vec<StrategyDef>) -> ReloadReport {
        let mut report = ReloadReport::default();
        let mut old: HashMap<String, Entry> = self
            .entries
            .drain(..)
            .map(|e| (e.def.id.clone(), e))
            .collect();
        for def in defs.into_iter().filter(|d| d.enabled) {
            let Some(class) = self.registry.get(&def.class).copied() else {
                continue;
            };
            let entry = match old.remove(&def.id) {
                Some(mut e)
                    if e.def.class == def.class
                        && e.def.params == def.params
                        && e.def.events == def.events =>
                {
                    if e.def.symbols != def.symbols {
                        e.states
                            .retain(|s| def.symbols.iter().any(|p| glob_match(p, &s.symbol)));
                        e.def.symbols = def.symbols;
                    }
                    report.kept.push(e.def.id.clone());
                    e
                }
                Some(e) => {
                    report.recreated.push(def.id.clone());
                    let mut fresh = Entry::new(def, class, &self.topics);
                    fresh.positions = e.positions;
                    fresh
                }
                None => {
                    report.added.push(def.id.clone());
                    Entry::new(def, class, &self.topics)
                }
            };
            self.entries.push(entry);
        }
        let mut removed: Vec<String> = old.into_keys().collect();
        removed.sort();
        report.removed = removed;
        self.forget_routes();
        report
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
            let route = self.route_index(ev, kind, symbol, timeframe);
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

    /// The index of the route of (kind, timeframe, symbol), worked out the first time.
    fn route_index(&mut self, ev: &Event<'_>, kind: Kind, symbol: &str, timeframe: &str) -> usize {
        // Kind, timeframe length, timeframe, symbol: unambiguous whatever the strings hold.
        self.key.clear();
        self.key.push(if kind == Kind::Trade { 't' } else { 'b' });
        self.key
            .push_str(itoa::Buffer::new().format(timeframe.len()));
        self.key.push(':');
        self.key.push_str(timeframe);
        self.key.push_str(symbol);
        if let Some(&i) = self.route_of.get(self.key.as_str()) {
            return i;
        }
        let route = self.route(ev, kind, symbol);
        self.routes.push(route);
        self.route_of
            .insert(self.key.clone(), self.routes.len() - 1);
        self.routes.len() - 1
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
        self.prices.set_slot(route.price_slot, price);
        if route.targets.is_empty() {
            return;
        }
        let price_f64 = to_f64(price);
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
            self.scratch.clear();
            let scratch = &mut self.scratch;
            let strategy = &mut st.strategy;
            let outcome = catch_unwind(AssertUnwindSafe(|| strategy.on_event(ev, &ctx, scratch)));
            let reason = match outcome {
                Ok(Ok(())) => {
                    for mut intent in self.scratch.drain(..) {
                        intent.id = Some(st.ids.next_id(intent.ts_ns).into());
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
        for (ei, e) in self.entries.iter_mut().enumerate() {
            if !e.wants(kind, &topic, symbol) {
                continue;
            }
            match e.state(symbol) {
                Ok(si) => targets.push((ei, si)),
                Err(reason) => e.fail(reason),
            }
        }
        Route {
            price_slot: self.prices.slot(symbol),
            targets,
        }
    }
}

/// A decimal as the nearest `f64`. Prices have fewer than 16 significant digits, so the
/// mantissa and the power of ten are exact doubles and one division rounds correctly: the
/// same double as parsing the text, without `rust_decimal`'s 128-bit divisions.
fn to_f64(d: Decimal) -> f64 {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let m = d.mantissa();
    match POW10.get(d.scale() as usize) {
        // Below 2^53 the mantissa fits an i64 and converts exactly (an i128 conversion is a
        // slow library call).
        Some(p) if m.unsigned_abs() < 1 << 53 => m as i64 as f64 / p,
        _ => d.to_f64().unwrap_or(f64::NAN),
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

#[cfg(test)]
mod tests {
    use super::super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params};
    use super::super::testing::{T0, bar, manager, trade};
    use super::super::{Context, Strategy, StrategyError, StrategyId, meta};
    use super::*;
    use crate::event::{Event, Intent, Side};

    /// Emits one intent per event with what its context shows; panics or errors at the
    /// price given by `fail_at` (`fail_with` 1 = panic, 2 = error).
    struct Probe {
        id: StrategyId,
        seen: u32,
        fail_at: f64,
        fail_with: i64,
    }

    impl Strategy for Probe {
        fn id(&self) -> &str {
            &self.id
        }
        fn on_event(
            &mut self,
            _ev: &Event<'_>,
            ctx: &Context<'_>,
            out: &mut Vec<Intent<'static>>,
        ) -> Result<(), StrategyError> {
            self.seen += 1;
            if ctx.price_f64() == self.fail_at {
                match self.fail_with {
                    1 => panic!("probe told to panic"),
                    _ => return Err(StrategyError("probe told to fail".into())),
                }
            }
            let pos = ctx
                .position(ctx.symbol())
                .to_string()
                .parse()
                .unwrap_or(f64::NAN);
            let btc = ctx
                .last_price("BTC/USDT")
                .map_or(-1.0, |p| p.to_string().parse().unwrap());
            out.push(ctx.intent(Side::Buy, Decimal::ONE, || {
                meta([
                    ("seen", f64::from(self.seen)),
                    ("position", pos),
                    ("btc", btc),
                ])
            }));
            Ok(())
        }
    }

    fn build_probe(id: StrategyId, p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
        Ok(Box::new(Probe {
            id,
            seen: 0,
            fail_at: p.float("fail_at")?,
            fail_with: p.int("fail_with")?,
        }))
    }

    const PROBE: Class = Class {
        name: "probe",
        about: "test probe",
        params: &[
            ParamSpec {
                name: "fail_at",
                kind: ParamKind::Float {
                    min: -1.0,
                    max: f64::INFINITY,
                },
                default: Some(ParamValue::Float(-1.0)),
                help: "",
            },
            ParamSpec {
                name: "fail_with",
                kind: ParamKind::Int { min: 1 },
                default: Some(ParamValue::Int(1)),
                help: "",
            },
        ],
        build: build_probe,
    };

    fn registry() -> Registry {
        let mut r = Registry::builtin();
        r.register(PROBE).unwrap();
        assert!(r.register(PROBE).is_err(), "a name is registered once");
        r
    }

    /// (strategy, symbol, meta.seen) of every intent.
    fn seen(out: &Out) -> Vec<(String, String, f64)> {
        out.iter()
            .map(|e| match e {
                Event::Intent(i) => (
                    i.strategy_id.to_string(),
                    i.symbol.to_string(),
                    i.meta["seen"].as_f64().unwrap(),
                ),
                _ => unreachable!(),
            })
            .collect()
    }

    const TWO: &str = "strategies:
  - {id: a, class: probe, symbols: [ATOM/USDT], events: [trade]}
  - {id: b, class: probe, symbols: ['*/USDT'], events: [trade, 'md.ohlcv.1m.*']}
";

    #[test]
    fn routes_by_symbol_and_event_with_state_per_symbol() {
        let mut m = manager(registry(), TWO);
        let mut out = Vec::new();
        for ev in [
            trade("ATOM/USDT", "10", 0),
            trade("BTC/USDT", "50000", 1),
            trade("ATOM/EUR", "9", 2),
            bar("ATOM/USDT", "1m", "10", 3),
            bar("ATOM/USDT", "5m", "10", 4),
            trade("ATOM/USDT", "10", 5),
        ] {
            m.on_event(&ev, &mut out);
        }
        let s = |a: &str, b: &str, n: f64| (a.to_string(), b.to_string(), n);
        assert_eq!(
            seen(&out),
            [
                s("a", "ATOM/USDT", 1.0),
                s("b", "ATOM/USDT", 1.0),
                s("b", "BTC/USDT", 1.0),
                s("b", "ATOM/USDT", 2.0),
                s("a", "ATOM/USDT", 2.0),
                s("b", "ATOM/USDT", 3.0),
            ]
        );
        let Event::Intent(last) = &out[5] else {
            unreachable!()
        };
        assert_eq!(
            last.meta["btc"].as_f64(),
            Some(50000.0),
            "last prices of other symbols"
        );
        assert_eq!(
            last.ts_ns,
            T0 + 5_000_000_000,
            "intent time is the event's time"
        );
        let Event::Intent(from_bar) = &out[3] else {
            unreachable!()
        };
        assert_eq!(
            from_bar.ts_ns,
            T0 + 3 * 60_000_000_000,
            "a bar's time is its close"
        );
        assert_eq!(
            m.input_patterns(),
            ["md.ohlcv.1m.*", "md.trades.*", "positions.snapshot"]
        );
    }

    #[test]
    fn positions_reach_the_context() {
        let mut m = manager(registry(), TWO);
        let mut out = Vec::new();
        let pos = |sid: &str, qty: &str| {
            crate::event::decode(&format!(
                r#"{{"kind":"position","symbol":"ATOM/USDT","strategy_id":{sid},"qty":{qty},"avg_price":10,"realized_pnl":0,"ts_ns":1}}"#
            ))
            .unwrap()
            .into_owned()
        };
        m.on_event(&pos("\"a\"", "2.5"), &mut out);
        m.on_event(&trade("ATOM/USDT", "10", 0), &mut out);
        let positions: Vec<_> = out
            .iter()
            .map(|e| match e {
                Event::Intent(i) => i.meta["position"].as_f64().unwrap(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(positions, [2.5, 0.0], "a's own position; b has none");
        out.clear();
        m.on_event(&pos("null", "-1"), &mut out);
        m.on_event(&trade("ATOM/USDT", "10", 1), &mut out);
        assert!(
            out.iter().all(
                |e| matches!(e, Event::Intent(i) if i.meta["position"].as_f64() == Some(-1.0))
            )
        );
    }

    #[test]
    fn a_failing_strategy_is_disabled_and_the_others_go_on() {
        for fail_with in [1, 2] {
            let yaml = format!(
                "strategies:
  - {{id: bad, class: probe, symbols: ['*'], events: [trade], params: {{fail_at: 13, fail_with: {fail_with}}}}}
  - {{id: good, class: probe, symbols: ['*'], events: [trade]}}
"
            );
            let mut m = manager(registry(), &yaml);
            let mut out = Vec::new();
            for (i, p) in ["12", "13", "14"].iter().enumerate() {
                m.on_event(&trade("ATOM/USDT", p, i as i64), &mut out);
            }
            let ids: Vec<_> = seen(&out).into_iter().map(|(s, _, n)| (s, n)).collect();
            assert_eq!(
                ids,
                [
                    ("bad".into(), 1.0),
                    ("good".into(), 1.0),
                    ("good".into(), 2.0),
                    ("good".into(), 3.0)
                ]
            );
            let failed = m.failed();
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, "bad");
            assert!(failed[0].1.contains("ATOM/USDT"), "{failed:?}");
            assert_eq!(m.running(), ["good"]);
            assert!(!m.input_patterns().is_empty());
        }
    }

    #[test]
    fn ids_are_deterministic_and_count_within_a_timestamp() {
        let yaml = "strategies:\n  - {id: a, class: probe, symbols: ['*'], events: [trade]}\n";
        let run = || {
            let mut m = manager(registry(), yaml);
            let mut out = Vec::new();
            for i in [0, 0, 1] {
                m.on_event(&trade("ATOM/USDT", "10", i), &mut out);
            }
            out.iter()
                .map(|e| match e {
                    Event::Intent(i) => i.id.clone().unwrap().into_owned(),
                    _ => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        let ids = run();
        assert_eq!(ids, run());
        let key =
            crate::strategy::ids::key(&["a", "ATOM/USDT", "probe", "fail_at=-1;fail_with=1;"]);
        assert_eq!(ids[0], crate::strategy::ids::intent_id(key, T0, 0));
        assert_eq!(ids[1], crate::strategy::ids::intent_id(key, T0, 1));
        assert_eq!(
            ids[2],
            crate::strategy::ids::intent_id(key, T0 + 1_000_000_000, 0)
        );
    }

    #[test]
    fn reload_keeps_untouched_state_and_recreates_changed() {
        let reg = registry();
        let mut m = manager(reg.clone(), TWO);
        let mut out = Vec::new();
        m.on_event(&trade("ATOM/USDT", "10", 0), &mut out);
        let topics = Topics::default();
        let next = "strategies:
  - {id: b, class: probe, symbols: ['*/USDT'], events: [trade, 'md.ohlcv.1m.*'], params: {fail_at: 99}}
  - {id: c, class: probe, symbols: [ATOM/USDT], events: [trade]}
  - {id: a, class: probe, symbols: [ATOM/USDT, BTC/USDT], events: [trade]}
";
        let defs = parse(next, "next.yaml", &reg, &topics).unwrap();
        let report = m.apply(defs);
        assert_eq!(
            report,
            ReloadReport {
                added: vec!["c".into()],
                removed: vec![],
                recreated: vec!["b".into()],
                kept: vec!["a".into()],
            }
        );
        out.clear();
        m.on_event(&trade("ATOM/USDT", "10", 1), &mut out);
        let s = |a: &str, n: f64| (a.to_string(), "ATOM/USDT".to_string(), n);
        // File order after the reload; a kept its count, b restarted, c is new.
        assert_eq!(seen(&out), [s("b", 1.0), s("c", 1.0), s("a", 2.0)]);
        // Removing and disabling stop strategies.
        let last = "strategies:\n  - {id: a, class: probe, enabled: false, symbols: ['*'], events: [trade]}\n";
        let report = m.apply(parse(last, "last.yaml", &reg, &topics).unwrap());
        assert_eq!(report.removed, ["a", "b", "c"]);
        out.clear();
        m.on_event(&trade("ATOM/USDT", "10", 2), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn reloads_mid_tape_leave_an_untouched_strategy_exactly_as_without() {
        let tl = "  - {id: tl, class: trendline_break, symbols: ['*'], events: [trade], params: {qty: 1, lookback_periods: 8, breakout_threshold: 0.004}}\n";
        let ec = "  - {id: ec, class: ema_cross, symbols: ['*'], events: [trade], params: {qty: 1, fast: 3, slow: 9}}\n";
        let files = [
            format!("strategies:\n{tl}"),
            format!("strategies:\n{ec}{tl}"),
            "strategies: [{id: tl, class: nope}]\n".to_owned(),
            format!("strategies:\n{tl}{}", ec.replace("fast: 3", "fast: 4")),
        ];
        let tape: Vec<_> = (0..600)
            .map(|i| {
                let p = 10.0 + (f64::from(i) / 9.0).sin() * 0.3 + (f64::from(i) / 2.0).cos() * 0.05;
                trade(
                    if i % 3 == 0 { "B/USDT" } else { "A/USDT" },
                    &format!("{p:.4}"),
                    i.into(),
                )
            })
            .collect();
        let only_tl = |out: &Out| -> Vec<String> {
            out.iter()
                .filter(|e| matches!(e, Event::Intent(i) if i.strategy_id == "tl"))
                .map(|e| e.to_json())
                .collect()
        };
        let reg = registry();
        let topics = Topics::default();
        let mut plain = manager(reg.clone(), &files[0]);
        let mut want = Vec::new();
        for ev in &tape {
            plain.on_event(ev, &mut want);
        }
        let mut m = manager(reg.clone(), &files[0]);
        let mut got = Vec::new();
        for (i, ev) in tape.iter().enumerate() {
            if i % 150 == 149 {
                let file = &files[1 + (i / 150) % 3];
                if let Ok(defs) = parse(file, "f.yaml", &reg, &topics) {
                    let report = m.apply(defs);
                    assert!(report.kept.contains(&"tl".to_owned()), "{report}");
                }
            }
            m.on_event(ev, &mut got);
        }
        assert!(only_tl(&want).len() > 5);
        assert_eq!(only_tl(&got), only_tl(&want));
        assert!(
            got.iter()
                .any(|e| matches!(e, Event::Intent(i) if i.strategy_id == "ec"))
        );
    }

    #[test]
    fn decimals_become_the_nearest_double() {
        for text in [
            "10.22",
            "0.00031099999999999997",
            "-3.5",
            "123456789.123456789",
            "7",
            "1e-20",
        ] {
            let d = crate::num::parse_decimal(text).unwrap();
            assert_eq!(to_f64(d), text.parse::<f64>().unwrap(), "{text}");
        }
    }

    #[test]
    fn invalid_files_name_file_strategy_and_key() {
        let reg = registry();
        let topics = Topics::default();
        let ok = "{id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1}}";
        let cases: &[(&str, &[&str])] = &[
            ("strategies: [", &["f.yaml", "not valid YAML"]),
            ("strategy: []", &["f.yaml", "top level", "`strategy`"]),
            ("strategies: {a: 1}", &["expected a list"]),
            (
                "strategies:\n  - {class: ema_cross}",
                &["strategies[0]", "`id`", "required"],
            ),
            (
                "strategies:\n  - {id: 'a b', class: ema_cross}",
                &["strategies[0]", "`id`"],
            ),
            (
                "strategies:\n  - {id: a, class: nope, symbols: [X/Y], events: [trade]}",
                &[
                    "strategy `a`",
                    "`class`",
                    "unknown class `nope`",
                    "ema_cross",
                ],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [], events: [trade], params: {qty: 1}}",
                &["strategy `a`", "`symbols`", "empty"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], params: {qty: 1}}",
                &["strategy `a`", "`events`", "required"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [risk.decisions], params: {qty: 1}}",
                &["`events[0]`", "risk.decisions", "md.trades.*"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fats: 3}}",
                &[
                    "strategy `a`",
                    "`params`",
                    "unknown parameter `fats`",
                    "fast",
                ],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fast: 2.5}}",
                &["strategy `a`", "`params.fast`", "integer", "2.5"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: abc}}",
                &["`params.qty`", "decimal"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: -1}}",
                &["`params.qty`", "> 0"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {}}",
                &["`params.qty`", "required"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, long_only: yes please}}",
                &["`params.long_only`", "true or false"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fast: 60}}",
                &["`params.fast`", "less than slow"],
            ),
            (
                "strategies:\n  - {id: a, class: trendline_break, symbols: [X/Y], events: [trade], params: {qty: 1, lookback_periods: 2}}",
                &["`params.lookback_periods`", ">= 3"],
            ),
            (
                "strategies:\n  - {id: a, class: rsi_tema_bb, symbols: [X/Y], events: [trade], params: {qty: 1, rsi_oversold: 80}}",
                &["`params.rsi_oversold`", "less than rsi_overbought"],
            ),
            (
                "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1}, extra: 1}",
                &["strategy `a`", "`extra`", "unknown key"],
            ),
        ];
        for (yaml, want) in cases {
            let e = parse(yaml, "f.yaml", &reg, &topics)
                .unwrap_err()
                .to_string();
            for w in *want {
                assert!(e.contains(w), "{yaml}\n  -> {e}\n  lacks {w}");
            }
            assert!(e.starts_with("f.yaml"), "{e}");
        }
        let dup = format!("strategies:\n  - {ok}\n  - {ok}\n");
        let e = parse(&dup, "f.yaml", &reg, &topics)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate id `a`") && e.contains("strategies[1]"),
            "{e}"
        );
        let good = format!(
            "strategies:\n  - {ok}\n  - {{id: b, class: ema_cross, symbols: [X/Y], events: [bar], params: {{qty: '0.1'}}}}\n"
        );
        let defs = parse(&good, "f.yaml", &reg, &topics).unwrap();
        assert_eq!(defs[1].params.decimal("qty").unwrap().to_string(), "0.1");
        assert_eq!(
            defs[0].params.int("slow").unwrap(),
            50,
            "defaults fill the rest"
        );
        assert!(parse("", "f.yaml", &reg, &topics).unwrap().is_empty());
    }
}

#[cfg(test)]
mod props {
    use super::super::testing::{manager, trade};
    use super::*;
    use proptest::prelude::*;

    const BOTH: &str = "strategies:
  - {id: tl, class: trendline_break, symbols: ['*'], events: [trade], params: {qty: 1, lookback_periods: 5, breakout_threshold: 0.005}}
  - {id: ec, class: ema_cross, symbols: ['*'], events: [trade], params: {qty: 1, fast: 2, slow: 4, long_only: false}}
";

    fn run(events: &[Event<'static>]) -> Vec<String> {
        let mut m = manager(Registry::builtin(), BOTH);
        let mut out = Vec::new();
        for ev in events {
            m.on_event(ev, &mut out);
        }
        out.iter().map(|e| e.to_json()).collect()
    }

    proptest! {
        /// Each symbol's intents are the same whether its trades come alone or interleaved
        /// with another symbol's: state is per (strategy, symbol).
        #[test]
        fn symbols_never_share_state(
            tape in proptest::collection::vec((any::<bool>(), 900u32..1100), 1..200),
        ) {
            let events: Vec<_> = tape
                .iter()
                .enumerate()
                .map(|(i, (b, p))| {
                    let sym = if *b { "B/USDT" } else { "A/USDT" };
                    trade(sym, &format!("{}.{:02}", p / 100, p % 100), i as i64)
                })
                .collect();
            let mixed = run(&events);
            for sym in ["A/USDT", "B/USDT"] {
                let alone: Vec<_> = events.iter().filter(|e| e.symbol() == Some(sym)).cloned().collect();
                let want: Vec<_> = mixed.iter().filter(|l| l.contains(&format!("\"symbol\":\"{sym}\""))).cloned().collect();
                prop_assert_eq!(run(&alone), want);
            }
        }
    }
}
