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
//! matches the symbol. Each (strategy, symbol) pair gets its own instance. `position` events
//! are not routed: they update the positions the context shows (a position with a
//! `strategy_id` belongs to that strategy, one without to every strategy).

use super::ids::IdSeq;
use super::registry::{Class, Params, Registry};
use super::{Context, PriceBook, Strategy, StrategyId};
use crate::config::Topics;
use crate::event::{Event, Intent, Kind};
use crate::stage::Out;
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
    const KEYS: [&str; 6] = ["id", "class", "enabled", "symbols", "events", "params"];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(
            &place,
            k,
            format!("unknown key (known: {})", KEYS.join(", ")),
        ));
    }
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
            ids: IdSeq::new(&self.def.id, symbol),
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

/// Which instances an event goes to, per (kind, timeframe, symbol).
struct Route {
    price_slot: usize,
    targets: Vec<(usize, usize)>,
}

/// Runs the configured strategies over events.
pub struct Manager {
    registry: Registry,
    topics: Topics,
    entries: Vec<Entry>,
    routes: HashMap<String, Route>,
    key: String,
    prices: PriceBook,
    scratch: Vec<Intent<'static>>,
}

impl Manager {
    /// A manager running the enabled strategies of `defs` (from [`parse`]).
    pub fn new(registry: Registry, topics: Topics, defs: Vec<StrategyDef>) -> Self {
        let mut m = Manager {
            registry,
            topics,
            entries: Vec::new(),
            routes: HashMap::new(),
            key: String::with_capacity(64),
            prices: PriceBook::default(),
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

    /// Parses a strategies file's text against this manager's registry and topics.
    pub fn parse(&self, text: &str, path: &str) -> Result<Vec<StrategyDef>, LoadError> {
        parse(text, path, &self.registry, &self.topics)
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

    /// Bus subscriptions: each running strategy's `events` (`trade`/`bar` narrowed to its
    /// symbols) and the positions topic.
    pub fn input_patterns(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.failed.is_none())
            .flat_map(|e| {
                e.filters.iter().flat_map(|f| match f {
                    EventFilter::Kind(k) => e
                        .def
                        .symbols
                        .iter()
                        .map(|s| self.topics.for_symbol(*k, s))
                        .collect::<Vec<_>>(),
                    EventFilter::Topic(p) => vec![p.clone()],
                })
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
        self.routes.clear();
        report
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
        self.key.clear();
        self.key.push(if kind == Kind::Trade { 't' } else { 'b' });
        self.key.push_str(timeframe);
        self.key.push('\0');
        self.key.push_str(symbol);
        if !self.routes.contains_key(self.key.as_str()) {
            let route = self.route(ev, kind, symbol);
            self.routes.insert(self.key.clone(), route);
        }
        let Some(route) = self.routes.get(self.key.as_str()) else {
            return;
        };
        self.prices.set(route.price_slot, price);
        if route.targets.is_empty() {
            return;
        }
        let price_f64 = price.to_f64().unwrap_or(f64::NAN);
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
            self.routes.clear();
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

fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}
