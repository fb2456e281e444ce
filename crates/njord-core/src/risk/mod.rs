//! The pre-trade risk engine (a pure core): intents in, one `decision` each, and an `order`
//! after every allowed one.
//!
//! Checks run in a fixed order and the first failure is the answer, with a stable reason code
//! (DESIGN §8) and the numbers behind it in `caps`:
//! `invalid_intent`, `duplicate_intent`, `halted`, `no_ref_price`, `per_order_usd_cap`,
//! `daily_loss_usd_cap`, `orders_per_min_cap`. What only the shell can know (the kill switch,
//! shared Redis state) comes in as [`External`], read right before the intent; the core itself
//! does no I/O and reads no clock, so the backtester runs the very same rules.

pub mod bucket;
pub mod dedup;
pub mod shape;
pub mod usd;

use crate::config;
use crate::event::{Decision, Event, Intent, Map, Order, OrderType, Position, Side};
use crate::num::to_json;
use crate::reason::Reason;
use crate::time::utc_day;
use bucket::TokenBucket;
use dedup::DedupWindow;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::borrow::Cow;

/// Redis key holding today's realized PnL net of fees, in USD (DESIGN §4).
pub const PNL_DAY_KEY: &str = "njord:pnl:day";
/// Redis key holding the UTC date (`YYYY-MM-DD`) that [`PNL_DAY_KEY`] belongs to, so that
/// yesterday's loss does not halt today.
pub const PNL_DAY_DATE_KEY: &str = "njord:pnl:day:date";

/// The limits, reloadable on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    pub per_order_usd_cap: Decimal,
    pub daily_loss_usd_cap: Decimal,
    pub orders_per_min_cap: u32,
    /// The oldest a last trade may be, before the intent's time, to price it.
    pub max_ref_age_ns: i64,
}

impl From<&config::Risk> for Caps {
    fn from(r: &config::Risk) -> Self {
        Caps {
            per_order_usd_cap: r.per_order_usd_cap,
            daily_loss_usd_cap: r.daily_loss_usd_cap,
            orders_per_min_cap: r.orders_per_min_cap,
            max_ref_age_ns: i64::try_from(r.max_ref_age_ms)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        }
    }
}

/// The kill switch as the shell read it right before the intent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Halt {
    #[default]
    Clear,
    /// The kill file exists.
    File,
    /// The Redis key holds anything but the clear value "0".
    Redis,
    /// A source could not be read: counts as tripped (fail closed). `source` is
    /// `redis-error`, `redis-key-lost` (the key vanished after it was seen) or `file-error`.
    Unreadable { source: &'static str, error: String },
}

/// Today's PnL as shared state tells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SharedPnl {
    /// No shared value (stdio, or nothing written yet today): use the positions seen.
    #[default]
    None,
    /// `njord:pnl:day` for the intent's UTC day, in USD.
    Usd(Decimal),
    /// The key holds something that is not a number: fail closed.
    Unreadable(String),
}

/// What the shell knows from outside for one intent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct External {
    pub halt: Halt,
    /// The id is already known to shared state (Redis), possibly from before a restart.
    pub seen_shared: bool,
    pub pnl: SharedPnl,
}

/// The verdict on an intent, before it is written as events.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub reason: Option<Reason>,
    pub caps: Map,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.reason.is_none()
    }
}

/// The numbers behind a decision (its `caps`), gathered as the checks run. Left out when the
/// engine does not explain ([`RiskSettings::explain`]): formatting them costs more than the
/// checks themselves.
struct Notes(Option<Map>);

impl Notes {
    fn put(&mut self, key: &str, value: impl FnOnce() -> Value) {
        if let Some(m) = &mut self.0 {
            m.insert(key.to_string(), value());
        }
    }

    fn clear(&mut self) {
        if let Some(m) = &mut self.0 {
            m.clear();
        }
    }

    fn text(&mut self, key: &str, value: &str) {
        self.put(key, || value.into());
    }

    fn num(&mut self, key: &str, value: Decimal) {
        self.put(key, || to_json(value));
    }
}

/// Settings of the engine that are not caps.
#[derive(Debug, Clone)]
pub struct RiskSettings {
    /// Venue written in accepted orders.
    pub venue: String,
    /// How many allowed intent ids are remembered for `duplicate_intent`.
    pub dedup_window: usize,
    /// Whether decisions carry the numbers they were checked against (`caps`). The
    /// backtester, which only counts decisions, leaves them out.
    pub explain: bool,
}

/// The risk core. Feed it every event with [`RiskEngine::on_event`].
#[derive(Debug)]
pub struct RiskEngine {
    caps: Caps,
    venue: String,
    explain: bool,
    /// Last trade price per symbol, set on every trade.
    last: crate::prices::LastPrices,
    seen: DedupWindow,
    buckets: FxHashMap<String, TokenBucket>,
    /// Latest `(UTC day, realized_pnl_day)` per (strategy, symbol) position seen.
    positions: usd::DayPnl,
    /// The last `exec` spec checked: a strategy's intents share one, parsed once.
    specs: crate::exec::spec::Memo,
    /// The latest groups with a denied leg: their later legs are denied too.
    denied_groups: std::collections::VecDeque<String>,
    /// The legs of a `group_size` group that have come, with what the shell read for each:
    /// decided when the last comes.
    held: Vec<(Intent<'static>, External)>,
}

/// How many denied groups are remembered: a group's legs come one after another.
const DENIED_GROUPS: usize = 64;
/// The most legs a group may have (`group_size`).
pub const MAX_GROUP_LEGS: u32 = 16;

/// The group an intent is a leg of and its size, when risk holds it for the group: a
/// `group_id` and a `group_size` of 2 to [`MAX_GROUP_LEGS`].
fn held_group<'i>(i: &'i Intent<'_>) -> Option<(&'i str, usize)> {
    let g = i.group_id.as_deref().filter(|g| !g.is_empty())?;
    let n = i.group_size.filter(|n| (2..=MAX_GROUP_LEGS).contains(n))?;
    Some((g, n as usize))
}

/// An `invalid_intent` denial naming the field and its problem.
fn invalid(notes: &mut Notes, field: &str, problem: &str) -> Reason {
    notes.text("field", field);
    notes.text("problem", problem);
    Reason::InvalidIntent
}

/// The UTC date (`2026-11-24`) of a timestamp: the day daily PnL belongs to.
pub fn utc_date(ts_ns: i64) -> String {
    crate::time::format_rfc3339(utc_day(ts_ns).saturating_mul(crate::time::NS_PER_DAY))
        .chars()
        .take(10)
        .collect()
}

impl RiskEngine {
    pub fn new(caps: Caps, settings: RiskSettings) -> Self {
        RiskEngine {
            caps,
            venue: settings.venue,
            explain: settings.explain,
            last: crate::prices::LastPrices::default(),
            seen: DedupWindow::new(settings.dedup_window),
            buckets: FxHashMap::default(),
            positions: usd::DayPnl::default(),
            specs: crate::exec::spec::Memo::default(),
            denied_groups: std::collections::VecDeque::new(),
            held: Vec::new(),
        }
    }

    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// Replaces the caps (SIGHUP). Buckets keep their tokens, clamped to a lower cap.
    pub fn set_caps(&mut self, caps: Caps) {
        self.caps = caps;
    }

    /// Remembers an allowed intent id without deciding anything (`--resume`).
    pub fn remember(&mut self, id: &str) {
        self.seen.insert(id);
    }

    /// The last trade prices the checks price intents with.
    pub fn last_prices(&self) -> &crate::prices::LastPrices {
        &self.last
    }

    /// The day's net realized PnL in USD from the positions seen, for the UTC day of `ts_ns`,
    /// when it has reached minus the daily loss cap (what `daily_loss_usd_cap` denies on).
    pub fn daily_loss_reached(&self, ts_ns: i64) -> Option<Decimal> {
        let pnl = self.positions.usd(utc_day(ts_ns), &self.last);
        (pnl <= -self.caps.daily_loss_usd_cap).then_some(pnl)
    }

    /// The last trade price of a symbol.
    pub fn last_price(&self, symbol: &str) -> Option<Decimal> {
        self.last.get(symbol)
    }

    /// Handles one event: trades update last prices, positions feed the daily loss, intents
    /// are decided with `ext` (ignored for other kinds) and push a decision, then an order
    /// when allowed.
    pub fn on_event(&mut self, ev: &Event<'_>, ext: &External, out: &mut Vec<Event<'static>>) {
        match ev {
            Event::Trade(t) => self.on_trade(&t.symbol, t.price, t.ts_ns),
            // A closed bar's close, as of its close time: the reference of a tape of bars.
            Event::Bar(b) => self.on_trade(&b.symbol, b.close, b.ts_close_ns),
            Event::Position(p) => self.on_position(p),
            Event::Intent(i) => self.on_intent(i, ext, out),
            _ => {}
        }
    }

    /// Records a trade price; the hot path allocates only for a symbol seen for the first time.
    pub fn on_trade(&mut self, symbol: &str, price: Decimal, ts_ns: i64) {
        self.last.set(symbol, price, ts_ns);
    }

    /// Keeps the latest `realized_pnl_day` of each (strategy, symbol) position.
    pub fn on_position(&mut self, p: &Position<'_>) {
        self.positions.on_position(p);
    }

    /// Decides an intent and pushes its decision (and order when allowed).
    ///
    /// The leg of a group with a `group_size` is held until the group's last leg comes; then
    /// every leg is decided, in the order they came, and all are allowed or none: when one is
    /// denied, the legs allowed before it are undone (their ids and order-rate tokens given
    /// back) and denied `group_leg_denied`, like those after it. The legs of a group answer
    /// one event: they come one after another, with one `group_size` and one `ts_ns`. An
    /// intent that is not the next such leg of the held group (or [`RiskEngine::on_end`])
    /// first denies the held legs `group_incomplete`, and a later leg of that group is denied
    /// `group_leg_denied`. Decisions therefore come in the order the intents came, each with
    /// its own time, though a held leg's comes with the group's last.
    pub fn on_intent(&mut self, i: &Intent<'_>, ext: &External, out: &mut Vec<Event<'static>>) {
        let group = held_group(i);
        let next_leg = self.held.first().is_some_and(|(first, _)| {
            group.is_some_and(|(g, n)| {
                first.group_id.as_deref() == Some(g)
                    && held_group(first).is_some_and(|(_, size)| size == n)
                    && first.ts_ns == i.ts_ns
            })
        });
        if !next_leg {
            self.deny_incomplete(out);
        }
        match group {
            Some((g, size)) if !self.denied_groups.iter().any(|d| d == g) => {
                let leg = Event::Intent(i.clone()).into_owned();
                if let Event::Intent(leg) = leg {
                    self.held.push((leg, ext.clone()));
                }
                if self.held.len() >= size {
                    self.decide_group(out);
                }
            }
            _ => {
                let verdict = self.decide(i, ext);
                self.push_verdict(i, verdict, out);
            }
        }
    }

    /// The end of the input: held legs of a group that never completed are denied
    /// `group_incomplete`.
    pub fn on_end(&mut self, out: &mut Vec<Event<'static>>) {
        self.deny_incomplete(out);
    }

    /// Denies the held legs `group_incomplete`, and the group's stragglers after them.
    fn deny_incomplete(&mut self, out: &mut Vec<Event<'static>>) {
        let legs = std::mem::take(&mut self.held);
        let Some((first, _)) = legs.first() else {
            return;
        };
        let group = first.group_id.as_deref().unwrap_or("").to_owned();
        let size = first.group_size.unwrap_or(0);
        self.remember_denied(&group);
        for (leg, _) in &legs {
            let mut notes = Notes(self.explain.then(Map::new));
            notes.text("group_id", &group);
            notes.put("group_size", || size.into());
            notes.put("legs_seen", || legs.len().into());
            let verdict = Verdict {
                reason: Some(Reason::GroupIncomplete),
                caps: notes.0.unwrap_or_default(),
            };
            self.push_verdict(leg, verdict, out);
        }
    }

    /// Decides the held legs as one: all allowed, or all denied.
    fn decide_group(&mut self, out: &mut Vec<Event<'static>>) {
        let legs = std::mem::take(&mut self.held);
        // What allowing a leg changes, to undo it when a later leg is denied.
        let buckets: Vec<(String, Option<TokenBucket>)> = legs
            .iter()
            .map(|(l, _)| {
                (
                    l.symbol.to_string(),
                    self.buckets.get(l.symbol.as_ref()).cloned(),
                )
            })
            .collect();
        let oldest = self.seen.oldest(legs.len());
        let mut verdicts: Vec<Verdict> = Vec::with_capacity(legs.len());
        let mut denied = None;
        for (k, (leg, ext)) in legs.iter().enumerate() {
            let verdict = self.decide(leg, ext);
            let allowed = verdict.allowed();
            verdicts.push(verdict);
            if !allowed {
                denied = Some(k);
                break;
            }
        }
        if let Some(k) = denied {
            for (symbol, bucket) in buckets.into_iter().rev() {
                match bucket {
                    Some(b) => self.buckets.insert(symbol, b),
                    None => self.buckets.remove(&symbol),
                };
            }
            let denied_id = legs[k].0.id.as_deref().unwrap_or("").to_owned();
            for (j, (leg, _)) in legs.iter().enumerate() {
                if j < k {
                    self.seen.forget(leg.id.as_deref().unwrap_or(""));
                }
                if j != k {
                    let mut notes = Notes(self.explain.then(Map::new));
                    notes.text("group_id", leg.group_id.as_deref().unwrap_or(""));
                    notes.text("denied_leg", &denied_id);
                    let verdict = Verdict {
                        reason: Some(Reason::GroupLegDenied),
                        caps: notes.0.unwrap_or_default(),
                    };
                    if j < k {
                        verdicts[j] = verdict;
                    } else {
                        verdicts.push(verdict);
                    }
                }
            }
            // The ids the undone legs pushed out of the window come back.
            self.seen.restore(oldest);
        }
        for ((leg, _), verdict) in legs.iter().zip(verdicts) {
            self.push_verdict(leg, verdict, out);
        }
    }

    /// Pushes the decision on `i` (and its order when allowed).
    fn push_verdict(&mut self, i: &Intent<'_>, verdict: Verdict, out: &mut Vec<Event<'static>>) {
        let intent_id = i.id.as_deref().unwrap_or("").to_string();
        let allowed = verdict.allowed();
        out.push(Event::Decision(Decision {
            intent_id: Cow::Owned(intent_id.clone()),
            allowed,
            reason: verdict.reason,
            caps: verdict.caps,
            ts_ns: i.ts_ns,
        }));
        if allowed {
            // `decide` only allows a known side and type.
            if let (Some(side), Some(order_type)) = (i.side(), i.order_type()) {
                out.push(Event::Order(Order {
                    intent_id: Cow::Owned(intent_id),
                    strategy_id: (!i.strategy_id.is_empty())
                        .then(|| Cow::Owned(i.strategy_id.to_string())),
                    venue: Cow::Owned(self.venue.clone()),
                    symbol: Cow::Owned(i.symbol.to_string()),
                    side,
                    order_type,
                    qty: i.qty,
                    limit_price: i.limit_price.filter(|_| order_type.has_limit()),
                    stop_price: i.stop_price,
                    trail: i.trail,
                    time_in_force: i.time_in_force().flatten(),
                    post_only: i.post_only,
                    oco: i.oco.as_deref().map(|g| Cow::Owned(g.to_string())),
                    exec: i.exec.clone(),
                    iceberg_qty: None,
                    group_id: i.group_id.as_deref().map(|g| Cow::Owned(g.to_string())),
                    ts_accepted_ns: i.ts_ns,
                }));
            }
        }
    }

    /// Runs the checks in order. An allowed intent is remembered and spends a token; a denied
    /// one changes nothing.
    pub fn decide(&mut self, i: &Intent<'_>, ext: &External) -> Verdict {
        let mut notes = Notes(self.explain.then(Map::new));
        let group = i.group_id.as_deref().filter(|g| !g.is_empty());
        let reason = match group {
            Some(g) if self.denied_groups.iter().any(|d| d == g) => {
                notes.text("group_id", g);
                Some(Reason::GroupLegDenied)
            }
            _ => self.check(i, ext, &mut notes).err(),
        };
        if let (Some(g), Some(_)) = (group, reason) {
            self.remember_denied(g);
        }
        Verdict {
            reason,
            caps: notes.0.unwrap_or_default(),
        }
    }

    /// Remembers a group with a denied leg, so its later legs are denied too.
    fn remember_denied(&mut self, group: &str) {
        if group.is_empty() || self.denied_groups.iter().any(|d| d == group) {
            return;
        }
        if self.denied_groups.len() == DENIED_GROUPS {
            self.denied_groups.pop_front();
        }
        self.denied_groups.push_back(group.to_owned());
    }

    /// The checks in order: `Err` is the reason of the first that denies; `notes` gathers
    /// the numbers behind the verdict.
    fn check(&mut self, i: &Intent<'_>, ext: &External, notes: &mut Notes) -> Result<(), Reason> {
        // 1. invalid_intent
        let id = match i.id.as_deref() {
            Some(id) if !id.is_empty() => id,
            _ => return Err(invalid(notes, "id", "missing or empty")),
        };
        if i.symbol.is_empty() {
            return Err(invalid(notes, "symbol", "missing or empty"));
        }
        if i.side().is_none() {
            return Err(invalid(notes, "side", "must be \"buy\" or \"sell\""));
        }
        let Some(order_type) = i.order_type() else {
            let types = "must be market, limit, stop_market, stop_limit or take_profit_limit";
            return Err(invalid(notes, "type", types));
        };
        if i.qty <= Decimal::ZERO {
            return Err(invalid(notes, "qty", "must be positive"));
        }
        if let Some(n) = i.group_size {
            if i.group_id.as_deref().is_none_or(str::is_empty) {
                return Err(invalid(notes, "group_size", "needs a group_id"));
            }
            if !(2..=MAX_GROUP_LEGS).contains(&n) {
                let problem = format!("must be 2 to {MAX_GROUP_LEGS}");
                return Err(invalid(notes, "group_size", &problem));
            }
        }
        let shape = shape::shape(i, order_type, &mut self.specs)
            .map_err(|(f, p)| invalid(notes, &f, &p))?;
        let limit = shape.limit.filter(|_| order_type == OrderType::Limit);

        // 2. duplicate_intent
        if self.seen.contains(id) || ext.seen_shared {
            let source = if self.seen.contains(id) {
                "memory"
            } else {
                "redis"
            };
            notes.text("source", source);
            return Err(Reason::DuplicateIntent);
        }

        // 3. halted
        match &ext.halt {
            Halt::Clear => {}
            Halt::File => {
                notes.text("source", "file");
                return Err(Reason::Halted);
            }
            Halt::Redis => {
                notes.text("source", "redis");
                return Err(Reason::Halted);
            }
            Halt::Unreadable { source, error } => {
                notes.text("source", source);
                notes.text("error", error);
                return Err(Reason::Halted);
            }
        }

        // 4. no_ref_price, ref_price_stale: the last trade, positive and fresh at the
        // intent's time, or a buy's limit (it cannot pay more). A limit order is valued at
        // the higher of the two; a sell's limit is only a floor, so it needs a trade.
        let last = self.last.get_with_time(i.symbol.as_ref());
        if order_type.is_triggered() {
            // A stop is valued at what it trades at once triggered, and checked against the
            // market it waits on: it needs a fresh last trade like a market order.
            let side = i.side().unwrap_or(Side::Buy);
            if let Some((p, ts)) = last
                && p > Decimal::ZERO
                && i.ts_ns.saturating_sub(ts) <= self.caps.max_ref_age_ns
                && let Some((field, problem)) = shape.wrong_side(side, p)
            {
                return Err(invalid(notes, &field, &problem));
            }
        }
        let (ref_price, ref_source) = match last {
            Some((p, ts)) => {
                let age = i.ts_ns.saturating_sub(ts);
                if p <= Decimal::ZERO || age > self.caps.max_ref_age_ns {
                    notes.text("symbol", &i.symbol);
                    notes.num("ref_price", p);
                    notes.put("ref_age_ms", || (age / 1_000_000).into());
                    notes.put("max_ref_age_ms", || {
                        (self.caps.max_ref_age_ns / 1_000_000).into()
                    });
                    return Err(Reason::RefPriceStale);
                }
                let side = i.side().unwrap_or(Side::Buy);
                match (shape.trigger_value(side, Some(p)), limit) {
                    (Some(v), _) => v,
                    (None, Some(l)) if l > p => (l, "limit_price"),
                    _ => (p, "last_trade"),
                }
            }
            None => match (limit, i.side()) {
                (Some(l), Some(Side::Buy)) if !order_type.is_triggered() => (l, "limit_price"),
                _ => {
                    notes.text("symbol", &i.symbol);
                    return Err(Reason::NoRefPrice);
                }
            },
        };

        // 5. per_order_usd_cap (in USD: a non-USD quote is converted by its last USD price)
        let Some(quote) = usd::quote_of(&i.symbol) else {
            notes.text("symbol", &i.symbol);
            notes.text("problem", "cannot tell the quote asset");
            return Err(Reason::NoRefPrice);
        };
        let Some((rate, via)) = usd::usd_rate(quote, &self.last) else {
            notes.text("symbol", &i.symbol);
            notes.text("quote", quote);
            notes.put("needed", || {
                format!("{quote}/USDT or {quote}/USD last price").into()
            });
            return Err(Reason::NoRefPrice);
        };
        let notional = i
            .qty
            .checked_mul(ref_price)
            .and_then(|n| n.checked_mul(rate));
        let cap = self.caps.per_order_usd_cap;
        notes.num("ref_price", ref_price);
        notes.text("ref_source", ref_source);
        if let Some(via) = via {
            notes.num("quote_usd", rate);
            notes.text("quote_usd_symbol", &via);
        }
        notes.num("per_order_usd_cap", cap);
        match notional {
            Some(n) => {
                notes.num("notional_usd", n);
                if n > cap {
                    return Err(Reason::PerOrderUsdCap);
                }
            }
            None => {
                notes.text("notional_usd", "overflow");
                return Err(Reason::PerOrderUsdCap);
            }
        }

        // 6. daily_loss_usd_cap (the UTC day of the intent)
        let day = utc_day(i.ts_ns);
        let (pnl, source) = match &ext.pnl {
            SharedPnl::Usd(p) => (*p, "redis"),
            SharedPnl::None => (self.positions.usd(day, &self.last), "positions"),
            SharedPnl::Unreadable(e) => {
                notes.text("source", "redis-error");
                notes.text("error", e);
                return Err(Reason::DailyLossUsdCap);
            }
        };
        let loss_cap = self.caps.daily_loss_usd_cap;
        if pnl <= -loss_cap {
            // This denial shows only the numbers it was decided on.
            notes.clear();
            notes.num("pnl_day_usd", pnl);
            notes.num("daily_loss_usd_cap", loss_cap);
            notes.put("day", || utc_date(i.ts_ns).into());
            notes.text("source", source);
            return Err(Reason::DailyLossUsdCap);
        }
        notes.num("pnl_day_usd", pnl);

        // 7. orders_per_min_cap (per symbol, event time)
        let per_min = self.caps.orders_per_min_cap;
        let bucket = match self.buckets.get_mut(i.symbol.as_ref()) {
            Some(b) => b,
            None => self
                .buckets
                .entry(i.symbol.to_string())
                .or_insert_with(|| TokenBucket::full(per_min, i.ts_ns)),
        };
        if !bucket.has_token(per_min, i.ts_ns) {
            notes.clear();
            notes.put("orders_per_min_cap", || per_min.into());
            notes.put("tokens", || to_json(bucket.tokens()));
            return Err(Reason::OrdersPerMinCap);
        }
        bucket.spend();
        notes.put("tokens_left", || to_json(bucket.tokens()));
        self.seen.insert(id);
        Ok(())
    }
}

/// What a decision says about the kill switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Clear,
    /// Halted, read from `file`, `redis`, `unreadable` (a source failed) or `other`.
    Halted(&'static str),
}

/// The kill switch as a decision of the risk engine or the live broker shows it; `None` for a
/// refusal made before the switch was read (an invalid or duplicate intent). The risk engine
/// writes `caps.source` (and `caps.error` when unreadable), the live broker one key per
/// source that said halt.
pub fn switch_of(d: &crate::event::Decision<'_>) -> Option<Switch> {
    match d.reason {
        Some(Reason::Halted) => {}
        Some(Reason::InvalidIntent | Reason::DuplicateIntent) => return None,
        _ => return Some(Switch::Clear),
    }
    let caps = &d.caps;
    let unreadable =
        |v: &serde_json::Value| v.as_str().is_some_and(|s| s.starts_with("unreadable"));
    if caps.contains_key("error") || caps.values().any(unreadable) {
        return Some(Switch::Halted("unreadable"));
    }
    Some(Switch::Halted(
        match caps.get("source").and_then(|v| v.as_str()) {
            Some("file") => "file",
            Some("redis") => "redis",
            _ if caps.contains_key("file") => "file",
            _ if caps.contains_key("redis") => "redis",
            _ => "other",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;
    use crate::time::{NS_PER_DAY, NS_PER_SEC};

    const T0: i64 = 1_700_000_000 * NS_PER_SEC;

    fn engine() -> RiskEngine {
        RiskEngine::new(
            Caps {
                per_order_usd_cap: Decimal::from(100),
                daily_loss_usd_cap: Decimal::from(50),
                orders_per_min_cap: 2,
                max_ref_age_ns: 60 * NS_PER_SEC,
            },
            RiskSettings {
                venue: "binanceus".into(),
                dedup_window: 1000,
                explain: true,
            },
        )
    }

    /// A trade at `T0`.
    fn trade(e: &mut RiskEngine, symbol: &str, price: &str) {
        e.on_trade(symbol, price.parse().unwrap(), T0);
    }

    /// Decides the intent written as JSON fields (without `kind`).
    fn decide(e: &mut RiskEngine, fields: &str, ext: &External) -> (Option<Reason>, Map) {
        let line = format!(r#"{{"kind":"intent",{fields}}}"#);
        let ev = decode(&line).unwrap();
        let Event::Intent(i) = ev else { panic!() };
        let v = e.decide(&i, ext);
        (v.reason, v.caps)
    }

    fn intent(id: &str, sym: &str, side: &str, ty: &str, qty: &str, px: &str, ts: i64) -> String {
        format!(
            r#""id":"{id}","ts_ns":{ts},"strategy_id":"s","symbol":"{sym}","side":"{side}","type":"{ty}","qty":{qty},"limit_price":{px}"#
        )
    }

    /// Once a leg of a group is denied, its later legs are too; other groups and intents
    /// without one are decided on their own.
    #[test]
    fn a_denied_leg_denies_the_rest_of_its_group() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        trade(&mut e, "B/USDT", "20");
        let ext = External::default();
        let leg = |id, sym, qty, group: &str| {
            format!(
                r#"{},"group_id":"{group}""#,
                intent(id, sym, "buy", "market", qty, "null", T0)
            )
        };
        // 20 × 10 = 200 USD is above the 100 USD cap: the first leg is denied.
        let (r, _) = decide(&mut e, &leg("a1", "A/USDT", "20", "g1"), &ext);
        assert_eq!(r, Some(Reason::PerOrderUsdCap));
        let (r, caps) = decide(&mut e, &leg("b1", "B/USDT", "1", "g1"), &ext);
        assert_eq!(r, Some(Reason::GroupLegDenied));
        assert_eq!(caps.get("group_id").and_then(|g| g.as_str()), Some("g1"));
        assert_eq!(
            decide(&mut e, &leg("a2", "A/USDT", "1", "g2"), &ext).0,
            None
        );
        let plain = intent("a3", "A/USDT", "buy", "market", "1", "null", T0);
        assert_eq!(decide(&mut e, &plain, &ext).0, None);
        // Two orders of A in the minute: the rate cap denies the next leg, and closes its group.
        let (r, _) = decide(&mut e, &leg("b2", "A/USDT", "1", "g2"), &ext);
        assert_eq!(r, Some(Reason::OrdersPerMinCap));
        let (r, _) = decide(&mut e, &leg("b3", "A/USDT", "1", "g3"), &ext);
        assert_eq!(r, Some(Reason::OrdersPerMinCap));
        assert_eq!(
            decide(&mut e, &leg("c3", "B/USDT", "1", "g3"), &ext).0,
            Some(Reason::GroupLegDenied)
        );
    }

    /// Feeds the intent written as JSON fields to `on_intent`; returns (intent id, reason
    /// code or "allowed", the order's group) of each decision and order it pushed.
    fn feed(e: &mut RiskEngine, fields: &str) -> Vec<(String, String)> {
        let line = format!(r#"{{"kind":"intent",{fields}}}"#);
        let Event::Intent(i) = decode(&line).unwrap() else {
            panic!()
        };
        let mut out = Vec::new();
        e.on_intent(&i, &External::default(), &mut out);
        answers(&out)
    }

    fn answers(out: &[Event<'_>]) -> Vec<(String, String)> {
        out.iter()
            .map(|ev| match ev {
                Event::Decision(d) => (
                    d.intent_id.to_string(),
                    d.reason.map_or("allowed", |r| r.as_str()).to_string(),
                ),
                Event::Order(o) => (
                    o.intent_id.to_string(),
                    format!("order {}", o.group_id.as_deref().unwrap_or("-")),
                ),
                _ => panic!("{ev:?}"),
            })
            .collect()
    }

    fn pair(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// The legs of a `group_size` group are decided when the last comes: all allowed, or all
    /// denied with what allowing the first changed undone.
    #[test]
    fn a_sized_group_is_allowed_whole_or_not_at_all() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        trade(&mut e, "B/USDT", "20");
        let leg = |id, sym, qty, group: &str| {
            format!(
                r#"{},"group_id":"{group}","group_size":2"#,
                intent(id, sym, "buy", "market", qty, "null", T0)
            )
        };
        // a1 alone would pass; b1 (400 USD) is above the cap: neither goes out.
        assert!(feed(&mut e, &leg("a1", "A/USDT", "1", "g1")).is_empty());
        let out = feed(&mut e, &leg("b1", "B/USDT", "20", "g1"));
        assert_eq!(
            out,
            pair(&[("a1", "group_leg_denied"), ("b1", "per_order_usd_cap")])
        );
        // a1's id and its rate token were given back: two more orders of A fit the minute,
        // and a1 is not a duplicate.
        let plain = |id| intent(id, "A/USDT", "buy", "market", "1", "null", T0);
        assert_eq!(feed(&mut e, &plain("a1"))[0].1, "allowed");
        // Both legs allowed: decisions and orders in the order the legs came, with the group.
        assert!(feed(&mut e, &leg("a2", "A/USDT", "1", "g2")).is_empty());
        let out = feed(&mut e, &leg("b2", "B/USDT", "1", "g2"));
        assert_eq!(
            out,
            pair(&[
                ("a2", "allowed"),
                ("a2", "order g2"),
                ("b2", "allowed"),
                ("b2", "order g2")
            ])
        );
        // A denied first leg: the second is not checked.
        assert!(feed(&mut e, &leg("a3", "A/USDT", "1", "g3")).is_empty());
        let out = feed(&mut e, &leg("b3", "B/USDT", "1", "g3"));
        assert_eq!(
            out,
            pair(&[("a3", "orders_per_min_cap"), ("b3", "group_leg_denied")])
        );
    }

    /// A held leg is denied `group_incomplete` when another intent or the end comes first;
    /// a straggler of that group is denied at once.
    #[test]
    fn an_incomplete_group_is_denied() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        let leg = |id, group: &str, size: u32| {
            format!(
                r#"{},"group_id":"{group}","group_size":{size}"#,
                intent(id, "A/USDT", "buy", "market", "1", "null", T0)
            )
        };
        assert!(feed(&mut e, &leg("c1", "g1", 3)).is_empty());
        assert!(feed(&mut e, &leg("c2", "g1", 3)).is_empty());
        let plain = intent("p", "A/USDT", "buy", "market", "1", "null", T0);
        assert_eq!(
            feed(&mut e, &plain),
            pair(&[
                ("c1", "group_incomplete"),
                ("c2", "group_incomplete"),
                ("p", "allowed"),
                ("p", "order -")
            ])
        );
        assert_eq!(
            feed(&mut e, &leg("c3", "g1", 3)),
            pair(&[("c3", "group_leg_denied")])
        );
        // Another group's leg also ends the held one.
        assert!(feed(&mut e, &leg("d1", "g2", 2)).is_empty());
        assert_eq!(
            feed(&mut e, &leg("e1", "g3", 2)),
            pair(&[("d1", "group_incomplete")])
        );
        let mut out = Vec::new();
        e.on_end(&mut out);
        assert_eq!(answers(&out), pair(&[("e1", "group_incomplete")]));
        // A leg of another size, or of another time, is not the next leg of its group.
        assert!(feed(&mut e, &leg("h1", "g5", 2)).is_empty());
        assert_eq!(
            feed(&mut e, &leg("h2", "g5", 3)),
            pair(&[("h1", "group_incomplete"), ("h2", "group_leg_denied")])
        );
        assert!(feed(&mut e, &leg("k1", "g6", 2)).is_empty());
        let later = format!(
            r#"{},"group_id":"g6","group_size":2"#,
            intent("k2", "A/USDT", "buy", "market", "1", "null", T0 + 1)
        );
        assert_eq!(
            feed(&mut e, &later),
            pair(&[("k1", "group_incomplete"), ("k2", "group_leg_denied")])
        );
        let (r, caps) = decide(&mut e, &leg("f1", "g4", 1), &External::default());
        assert_eq!(r, Some(Reason::InvalidIntent));
        assert_eq!(caps["field"], "group_size");
        let lone = format!(
            r#"{},"group_size":2"#,
            intent("f2", "A/USDT", "buy", "market", "1", "null", T0)
        );
        assert_eq!(
            decide(&mut e, &lone, &External::default()).1["problem"],
            "needs a group_id"
        );
    }

    /// A valid `exec` spec is remembered; any other spec, even right after, is checked in
    /// full.
    #[test]
    fn exec_specs_checked_unless_already_valid() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        let ext = External::default();
        let shared: crate::event::ExecSpec =
            serde_json::from_str::<Map>(r#"{"algo":"twap","duration":"1m"}"#)
                .unwrap()
                .into();
        let bad: crate::event::ExecSpec =
            serde_json::from_str::<Map>(r#"{"algo":"twap","duration":"never"}"#)
                .unwrap()
                .into();
        let verdict = |e: &mut RiskEngine, id: &str, exec: &crate::event::ExecSpec| {
            let line = format!(
                r#"{{"kind":"intent",{}}}"#,
                intent(id, "A/USDT", "buy", "market", "1", "null", T0)
            );
            let Event::Intent(mut i) = decode(&line).unwrap() else {
                panic!()
            };
            i.exec = Some(exec.clone());
            e.decide(&i, &ext)
        };
        assert_eq!(verdict(&mut e, "i1", &shared).reason, None);
        let v = verdict(&mut e, "i2", &bad);
        assert_eq!(v.reason, Some(Reason::InvalidIntent));
        assert_eq!(
            v.caps.get("field").and_then(|f| f.as_str()),
            Some("exec.duration")
        );
        assert_eq!(verdict(&mut e, "i3", &shared).reason, None);
    }

    #[test]
    fn each_reason_code() {
        let clear = External::default();
        let cases: Vec<(&str, String, External, Option<Reason>)> = vec![
            (
                "missing id",
                r#""ts_ns":1,"symbol":"A/USDT","side":"buy","type":"market","qty":1"#.into(),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "bad side",
                intent("i1", "A/USDT", "hold", "market", "1", "null", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "bad type",
                intent("i1", "A/USDT", "buy", "stop", "1", "null", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "zero qty",
                intent("i1", "A/USDT", "buy", "market", "0", "null", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "negative qty",
                intent("i1", "A/USDT", "buy", "market", "-1", "null", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "limit without price",
                intent("i1", "A/USDT", "buy", "limit", "1", "null", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "limit zero price",
                intent("i1", "A/USDT", "buy", "limit", "1", "0", T0),
                clear.clone(),
                Some(Reason::InvalidIntent),
            ),
            (
                "halted by file",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    halt: Halt::File,
                    ..Default::default()
                },
                Some(Reason::Halted),
            ),
            (
                "halted by redis",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    halt: Halt::Redis,
                    ..Default::default()
                },
                Some(Reason::Halted),
            ),
            (
                "redis unreadable",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    halt: Halt::Unreadable {
                        source: "redis-error",
                        error: "down".into(),
                    },
                    ..Default::default()
                },
                Some(Reason::Halted),
            ),
            (
                "shared duplicate",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    seen_shared: true,
                    ..Default::default()
                },
                Some(Reason::DuplicateIntent),
            ),
            (
                "market without price",
                intent("i1", "B/USDT", "buy", "market", "1", "null", T0),
                clear.clone(),
                Some(Reason::NoRefPrice),
            ),
            (
                "non-USD quote without rate",
                intent("i1", "A/EUR", "buy", "limit", "1", "5", T0),
                clear.clone(),
                Some(Reason::NoRefPrice),
            ),
            (
                "over the notional cap",
                intent("i1", "A/USDT", "buy", "market", "11", "null", T0),
                clear.clone(),
                Some(Reason::PerOrderUsdCap),
            ),
            (
                "limit price as reference",
                intent("i1", "C/USD", "buy", "limit", "3", "40", T0),
                clear.clone(),
                Some(Reason::PerOrderUsdCap),
            ),
            (
                "converted quote over cap",
                intent("i1", "E/BTC", "buy", "limit", "1", "0.01", T0),
                clear.clone(),
                Some(Reason::PerOrderUsdCap),
            ),
            (
                "daily loss from redis",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    pnl: SharedPnl::Usd(Decimal::from(-50)),
                    ..Default::default()
                },
                Some(Reason::DailyLossUsdCap),
            ),
            (
                "unreadable pnl",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    pnl: SharedPnl::Unreadable("x".into()),
                    ..Default::default()
                },
                Some(Reason::DailyLossUsdCap),
            ),
            (
                "loss just under the cap",
                intent("i1", "A/USDT", "buy", "market", "1", "null", T0),
                External {
                    pnl: SharedPnl::Usd("-49.99".parse().unwrap()),
                    ..Default::default()
                },
                None,
            ),
            (
                "allowed at the cap",
                intent("i1", "A/USDT", "buy", "market", "10", "null", T0),
                clear.clone(),
                None,
            ),
        ];
        for (name, fields, ext, want) in cases {
            let mut e = engine();
            trade(&mut e, "A/USDT", "10");
            trade(&mut e, "BTC/USDT", "50000");
            let (got, caps) = decide(&mut e, &fields, &ext);
            assert_eq!(got, want, "{name}: {caps:?}");
        }
    }

    #[test]
    fn checks_run_in_order() {
        let mut e = engine();
        // Halted and over the cap and without price: the first failing check wins.
        let halted = External {
            halt: Halt::File,
            ..Default::default()
        };
        let (r, _) = decide(
            &mut e,
            &intent("i1", "Z/USDT", "buy", "market", "1000", "null", T0),
            &halted,
        );
        assert_eq!(r, Some(Reason::Halted));
        let (r, _) = decide(
            &mut e,
            &intent("i1", "Z/USDT", "buy", "market", "0", "null", T0),
            &halted,
        );
        assert_eq!(r, Some(Reason::InvalidIntent));
        let (r, _) = decide(
            &mut e,
            &intent("i1", "Z/USDT", "buy", "market", "1000", "null", T0),
            &External::default(),
        );
        assert_eq!(r, Some(Reason::NoRefPrice));
    }

    #[test]
    fn duplicates_and_denied_ids() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        let ok = External::default();
        let halted = External {
            halt: Halt::Redis,
            ..Default::default()
        };
        // A denied intent is not remembered: the same id may come back.
        let (r, _) = decide(
            &mut e,
            &intent("x", "A/USDT", "buy", "market", "1", "null", T0),
            &halted,
        );
        assert_eq!(r, Some(Reason::Halted));
        let (r, _) = decide(
            &mut e,
            &intent("x", "A/USDT", "buy", "market", "1", "null", T0),
            &ok,
        );
        assert_eq!(r, None);
        let (r, caps) = decide(
            &mut e,
            &intent("x", "A/USDT", "buy", "market", "1", "null", T0),
            &ok,
        );
        assert_eq!(r, Some(Reason::DuplicateIntent));
        assert_eq!(caps["source"], "memory");
        // Duplicate comes before halted.
        let (r, _) = decide(
            &mut e,
            &intent("x", "A/USDT", "buy", "market", "1", "null", T0),
            &halted,
        );
        assert_eq!(r, Some(Reason::DuplicateIntent));
    }

    #[test]
    fn caps_carry_the_numbers() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        let (r, caps) = decide(
            &mut e,
            &intent("i", "A/USDT", "buy", "limit", "10.5", "9", T0),
            &External::default(),
        );
        assert_eq!(r, Some(Reason::PerOrderUsdCap));
        assert_eq!(caps["notional_usd"].to_string(), "105");
        assert_eq!(caps["ref_price"].to_string(), "10");
        assert_eq!(caps["ref_source"], "last_trade");
        assert_eq!(caps["per_order_usd_cap"].to_string(), "100");
        // QUOTE/USDT is preferred to QUOTE/USD for conversion.
        trade(&mut e, "ETH/BTC", "0.05");
        trade(&mut e, "BTC/USD", "1000");
        trade(&mut e, "BTC/USDT", "1500");
        let (r, caps) = decide(
            &mut e,
            &intent("j", "ETH/BTC", "buy", "market", "1", "null", T0),
            &External::default(),
        );
        assert_eq!(r, None, "{caps:?}");
        assert_eq!(caps["notional_usd"].to_string(), "75");
        assert_eq!(caps["quote_usd_symbol"], "BTC/USDT");
    }

    #[test]
    fn daily_loss_from_positions_of_the_intents_day() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "1");
        let pos = |sym: &str, strat: &str, pnl: &str, ts: i64| {
            decode(&format!(
                r#"{{"kind":"position","symbol":"{sym}","strategy_id":"{strat}","qty":0,"avg_price":0,"realized_pnl":0,"fees":0,"realized_pnl_day":{pnl},"ts_ns":{ts}}}"#
            ))
            .unwrap()
            .into_owned()
        };
        let mut out = vec![];
        let ext = External::default();
        e.on_event(&pos("A/USDT", "s1", "-30", T0), &ext, &mut out);
        e.on_event(&pos("B/USDT", "s1", "-15", T0), &ext, &mut out);
        // Latest per (strategy, symbol) replaces the earlier one.
        e.on_event(&pos("A/USDT", "s2", "-1", T0), &ext, &mut out);
        e.on_event(&pos("A/USDT", "s2", "-5", T0), &ext, &mut out);
        let (r, caps) = decide(
            &mut e,
            &intent("a", "A/USDT", "buy", "market", "1", "null", T0),
            &ext,
        );
        assert_eq!(r, Some(Reason::DailyLossUsdCap));
        assert_eq!(caps["pnl_day_usd"].to_string(), "-50");
        assert_eq!(caps["source"], "positions");
        // The next UTC day starts from zero.
        e.on_trade("A/USDT", Decimal::ONE, T0 + NS_PER_DAY);
        let (r, _) = decide(
            &mut e,
            &intent("b", "A/USDT", "buy", "market", "1", "null", T0 + NS_PER_DAY),
            &ext,
        );
        assert_eq!(r, None);
    }

    #[test]
    fn absurd_numbers_do_not_panic() {
        let mut e = engine();
        trade(&mut e, "BTC/USDT", "79228162514264337593543950335");
        trade(&mut e, "A/USDT", "79228162514264337593543950335");
        let p = decode(r#"{"kind":"position","symbol":"E/BTC","strategy_id":"s","qty":0,"avg_price":0,"realized_pnl":0,"fees":0,"realized_pnl_day":-79228162514264337593543950335,"ts_ns":1700000000000000000}"#).unwrap();
        e.on_event(&p, &External::default(), &mut vec![]);
        let (r, _) = decide(
            &mut e,
            &intent("a", "A/USDT", "buy", "market", "1000", "null", T0),
            &External::default(),
        );
        assert_eq!(r, Some(Reason::PerOrderUsdCap));
        let (r, _) = decide(
            &mut e,
            &intent("b", "C/USDT", "buy", "limit", "0.000001", "1", T0),
            &External::default(),
        );
        assert_eq!(r, Some(Reason::DailyLossUsdCap));
    }

    #[test]
    fn rate_bucket_per_symbol_in_event_time() {
        let mut e = engine();
        trade(&mut e, "A/USDT", "1");
        trade(&mut e, "B/USDT", "1");
        let ok = External::default();
        let mut n = 0;
        let mut go = |e: &mut RiskEngine, sym: &str, ts: i64| {
            n += 1;
            decide(
                e,
                &intent(&format!("r{n}"), sym, "buy", "market", "1", "null", ts),
                &ok,
            )
            .0
        };
        assert_eq!(go(&mut e, "A/USDT", T0), None);
        assert_eq!(go(&mut e, "A/USDT", T0), None);
        assert_eq!(go(&mut e, "A/USDT", T0), Some(Reason::OrdersPerMinCap));
        // Another symbol has its own bucket.
        assert_eq!(go(&mut e, "B/USDT", T0), None);
        // Denials spend nothing: 30 s of event time gives exactly one token back.
        assert_eq!(
            go(&mut e, "A/USDT", T0 + 30 * NS_PER_SEC - 1),
            Some(Reason::OrdersPerMinCap)
        );
        assert_eq!(go(&mut e, "A/USDT", T0 + 30 * NS_PER_SEC), None);
        assert_eq!(
            go(&mut e, "A/USDT", T0 + 30 * NS_PER_SEC),
            Some(Reason::OrdersPerMinCap)
        );
        // A reload to a higher cap takes effect on refill.
        e.set_caps(Caps {
            orders_per_min_cap: 60,
            ..e.caps().clone()
        });
        assert_eq!(go(&mut e, "A/USDT", T0 + 31 * NS_PER_SEC), None);
    }

    #[test]
    fn a_reference_price_is_positive_fresh_and_never_a_sell_limit() {
        let ok = External::default();
        let go =
            |e: &mut RiskEngine, id: &str, side: &str, ty: &str, qty: &str, limit: &str, ts| {
                decide(e, &intent(id, "A/USDT", side, ty, qty, limit, ts), &ok)
            };
        let mut e = engine();
        // No trade: a buy limit is bounded by its price; a sell limit or a market order is not.
        assert_eq!(go(&mut e, "a", "buy", "limit", "10", "5", T0).0, None);
        assert_eq!(
            go(&mut e, "b", "sell", "limit", "100", "0.05", T0).0,
            Some(Reason::NoRefPrice)
        );
        assert_eq!(
            go(&mut e, "c", "buy", "market", "1", "null", T0).0,
            Some(Reason::NoRefPrice)
        );
        // A negative trade price never values an order (it once gave notional_usd -100000).
        trade(&mut e, "A/USDT", "-1");
        let (r, caps) = go(&mut e, "d", "buy", "market", "100000", "null", T0);
        assert_eq!(r, Some(Reason::RefPriceStale));
        assert_eq!(caps["ref_price"].to_string(), "-1");
        trade(&mut e, "A/USDT", "10");
        assert_eq!(
            go(
                &mut e,
                "e",
                "buy",
                "market",
                "1",
                "null",
                T0 + 60 * NS_PER_SEC
            )
            .0,
            None
        );
        let (r, caps) = go(
            &mut e,
            "f",
            "buy",
            "market",
            "1",
            "null",
            T0 + 60 * NS_PER_SEC + 1,
        );
        assert_eq!(r, Some(Reason::RefPriceStale));
        assert_eq!(caps["ref_age_ms"].to_string(), "60000");
        // A sell limit below the market is worth the market: 20 × 10 = 200 > 100.
        let (r, caps) = go(&mut e, "g", "sell", "limit", "20", "0.05", T0);
        assert_eq!(r, Some(Reason::PerOrderUsdCap));
        assert_eq!(caps["notional_usd"].to_string(), "200");
        // A limit above the market is worth its limit, whichever side.
        let (r, caps) = go(&mut e, "h", "buy", "limit", "5", "30", T0);
        assert_eq!(r, Some(Reason::PerOrderUsdCap));
        assert_eq!(caps["ref_source"], "limit_price");
    }

    /// Stops and take-profits: the fields each type needs or refuses, the side of the market
    /// a stop belongs on, and the notional at the stop or limit price.
    #[test]
    fn protective_orders_are_shaped_placed_and_valued() {
        let base = |id: &str, side: &str, ty: &str, extra: &str| {
            format!(
                r#""id":"{id}","ts_ns":{T0},"strategy_id":"s","symbol":"A/USDT","side":"{side}","type":"{ty}","qty":1{extra}"#
            )
        };
        let invalid = [
            ("stop_market", "sell", "", "stop_price"),
            ("stop_market", "sell", r#","stop_price":0"#, "stop_price"),
            ("stop_limit", "sell", r#","stop_price":9"#, "limit_price"),
            (
                "take_profit_limit",
                "sell",
                r#","limit_price":11,"trail":{"bps":50}"#,
                "trail",
            ),
            (
                "stop_market",
                "sell",
                r#","stop_price":9,"trail":{"bps":50}"#,
                "trail",
            ),
            (
                "stop_market",
                "sell",
                r#","trail":{"bps":50,"amount":1}"#,
                "trail",
            ),
            ("stop_market", "sell", r#","trail":{"bps":10000}"#, "trail"),
            ("stop_market", "sell", r#","trail":{}"#, "trail"),
            (
                "limit",
                "buy",
                r#","limit_price":9,"stop_price":8"#,
                "stop_price",
            ),
            (
                "limit",
                "buy",
                r#","limit_price":9,"time_in_force":"day""#,
                "time_in_force",
            ),
            (
                "market",
                "buy",
                r#","time_in_force":"ioc""#,
                "time_in_force",
            ),
            (
                "limit",
                "buy",
                r#","limit_price":9,"post_only":true,"time_in_force":"ioc""#,
                "post_only",
            ),
            (
                "stop_limit",
                "sell",
                r#","stop_price":9,"limit_price":9,"post_only":true"#,
                "post_only",
            ),
            ("limit", "buy", r#","limit_price":9,"oco":"""#, "oco"),
            // On the wrong side of the last trade (10): they would trigger at once.
            ("stop_market", "sell", r#","stop_price":10"#, "stop_price"),
            (
                "stop_limit",
                "buy",
                r#","stop_price":9.5,"limit_price":11"#,
                "stop_price",
            ),
            (
                "take_profit_limit",
                "sell",
                r#","stop_price":9,"limit_price":9"#,
                "stop_price",
            ),
            (
                "take_profit_limit",
                "buy",
                r#","stop_price":11,"limit_price":11"#,
                "stop_price",
            ),
        ];
        for (n, (ty, side, extra, field)) in invalid.into_iter().enumerate() {
            let mut e = engine();
            trade(&mut e, "A/USDT", "10");
            let (r, caps) = decide(
                &mut e,
                &base(&format!("i{n}"), side, ty, extra),
                &External::default(),
            );
            assert_eq!(
                r,
                Some(Reason::InvalidIntent),
                "{ty} {side} {extra}: {caps:?}"
            );
            assert_eq!(caps["field"], field, "{ty} {side} {extra}: {caps:?}");
        }
        let problem = {
            let mut e = engine();
            trade(&mut e, "A/USDT", "10");
            let (_, caps) = decide(
                &mut e,
                &base("w", "sell", "stop_market", r#","stop_price":10.5"#),
                &External::default(),
            );
            caps["problem"].as_str().unwrap().to_string()
        };
        assert_eq!(
            problem,
            "a sell stop_market at 10.5 would trigger at once: the last trade is 10 (its stop belongs below the market)"
        );
        // Valued at the higher of stop and limit, or at the last trade for a trailing stop.
        let valued = [
            (
                "stop_market",
                "buy",
                r#","stop_price":12"#,
                "12",
                "stop_price",
            ),
            (
                "stop_limit",
                "buy",
                r#","stop_price":11,"limit_price":11.5"#,
                "11.5",
                "limit_price",
            ),
            (
                "stop_limit",
                "sell",
                r#","stop_price":9,"limit_price":8.5"#,
                "9",
                "stop_price",
            ),
            (
                "take_profit_limit",
                "sell",
                r#","stop_price":12,"limit_price":11.9"#,
                "12",
                "stop_price",
            ),
            (
                "stop_market",
                "sell",
                r#","trail":{"amount":0.5}"#,
                "10",
                "last_trade",
            ),
            (
                "stop_market",
                "buy",
                r#","trail":{"amount":0.5}"#,
                "10.5",
                "trail",
            ),
            (
                "limit",
                "buy",
                r#","limit_price":9,"post_only":true,"oco":"x","time_in_force":"GTC""#,
                "10",
                "last_trade",
            ),
        ];
        for (n, (ty, side, extra, price, source)) in valued.into_iter().enumerate() {
            let mut e = engine();
            trade(&mut e, "A/USDT", "10");
            let (r, caps) = decide(
                &mut e,
                &base(&format!("v{n}"), side, ty, extra),
                &External::default(),
            );
            assert_eq!(r, None, "{ty} {extra}: {caps:?}");
            assert_eq!(caps["ref_price"].to_string(), price, "{ty} {extra}");
            assert_eq!(caps["ref_source"], source, "{ty} {extra}");
        }
        // A stop needs a fresh last trade even for a buy (its limit cannot stand in for it).
        let mut e = engine();
        let (r, _) = decide(
            &mut e,
            &base(
                "n",
                "buy",
                "stop_limit",
                r#","stop_price":11,"limit_price":11"#,
            ),
            &External::default(),
        );
        assert_eq!(r, Some(Reason::NoRefPrice));
        // The order carries every field on.
        let mut e = engine();
        trade(&mut e, "A/USDT", "10");
        let line = format!(
            r#"{{"kind":"intent",{}}}"#,
            base(
                "o",
                "sell",
                "stop_limit",
                r#","stop_price":9,"limit_price":8.9,"time_in_force":"IOC","oco":"exit""#
            )
        );
        let i = decode(&line).unwrap();
        let Event::Intent(i) = i else { panic!() };
        let mut out = vec![];
        e.on_intent(&i, &External::default(), &mut out);
        assert_eq!(
            out[1].to_json(),
            format!(
                r#"{{"kind":"order","intent_id":"o","strategy_id":"s","venue":"binanceus","symbol":"A/USDT","side":"sell","type":"stop_limit","qty":1,"limit_price":8.9,"stop_price":9,"time_in_force":"ioc","oco":"exit","ts_accepted_ns":{T0}}}"#
            )
        );
    }

    #[test]
    fn allowed_intent_becomes_an_order() {
        let mut e = engine();
        let mut out = vec![];
        let ext = External::default();
        let t = decode(r#"{"kind":"trade","symbol":"A/USDT","trade_id":"1","price":10,"qty":1,"side":"buy","ts_ns":5}"#).unwrap();
        e.on_event(&t, &ext, &mut out);
        let i = decode(r#"{"kind":"intent","id":"i1","ts_ns":7,"strategy_id":"","symbol":"A/USDT","side":"sell","type":"market","qty":2,"limit_price":9}"#).unwrap();
        e.on_event(&i, &ext, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].to_json(),
            r#"{"kind":"decision","intent_id":"i1","allowed":true,"reason":null,"caps":{"notional_usd":20,"per_order_usd_cap":100,"pnl_day_usd":0,"ref_price":10,"ref_source":"last_trade","tokens_left":1},"ts_ns":7}"#
        );
        assert_eq!(
            out[1].to_json(),
            r#"{"kind":"order","intent_id":"i1","strategy_id":null,"venue":"binanceus","symbol":"A/USDT","side":"sell","type":"market","qty":2,"limit_price":null,"ts_accepted_ns":7}"#
        );
        let bad = decode(
            r#"{"kind":"intent","ts_ns":8,"symbol":"A/USDT","side":"buy","type":"market","qty":1}"#,
        )
        .unwrap();
        out.clear();
        e.on_event(&bad, &ext, &mut out);
        assert_eq!(
            out[0].to_json(),
            r#"{"kind":"decision","intent_id":"","allowed":false,"reason":"invalid_intent","caps":{"field":"id","problem":"missing or empty"},"ts_ns":8}"#
        );
    }
}
