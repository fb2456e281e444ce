//! Exits and position sizing that the strategy manager applies to every entry of a strategy
//! (`exits:` and `stake:` in the strategies file), whatever its class.
//!
//! The manager keeps, per (strategy, symbol), the position its intents would make if each
//! filled at the price of the event that caused it (strategies see no fills, so this is what
//! they can know, the same in a backtest, on paper and live). On every event routed to the
//! strategy it checks, for an open position, in this order:
//!
//! 1. `stop_loss` r: exit when the return since entry is ≤ −r;
//! 2. `trailing_stop` r: exit when the price has fallen (risen, for a short) by r from the
//!    best price since entry;
//! 3. `take_profit` r: exit when the return is ≥ r;
//! 4. `roi` {minutes: r, …} (freqtrade's `minimal_roi`): exit when the return is ≥ the entry
//!    of the largest minutes ≤ the time held;
//! 5. `time_stop` m: exit once the position has been held m minutes.
//!
//! The return of a long is `price / entry − 1`, of a short `1 − price / entry`, exact. An exit
//! is a market intent for the whole position, with `meta.exit` naming the rule and
//! `meta.return` the return. The strategy still sees the event; its own next intent that
//! would close the position the exit already closed is dropped (and counted).
//!
//! `stake` sizes each entry (an intent from flat, or adding to the position) instead of the
//! strategy's quantity, rounded down to `step` (default 0.00000001); an intent against the
//! position then closes all of it:
//! - `{quote: 100}`: 100 of the quote asset at the event's price;
//! - `{fraction: 0.1, capital: 1000}`: that fraction of the capital plus the realized result
//!   of this strategy on this symbol so far;
//! - `{volatility: {quote: 100, target: 0.01, window: 20, max_quote: 300}}`: `quote × target /
//!   σ`, σ the sample standard deviation (T−1) of the last `window` simple returns between
//!   events, at most `max_quote` (default 3 × quote); `quote` until `window` returns are seen.

use crate::event::{Intent, Map, Side};
use crate::num::to_json;
use rust_decimal::prelude::*;
use serde_json::Value;
use std::collections::VecDeque;

const NS_PER_MIN: i64 = 60_000_000_000;

/// The exit rules of a strategy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exits {
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub trailing_stop: Option<Decimal>,
    /// (minutes held in ns, minimum return), ascending by time.
    pub roi: Vec<(i64, Decimal)>,
    pub time_stop_ns: Option<i64>,
}

/// How entries are sized.
#[derive(Debug, Clone, PartialEq)]
pub struct Stake {
    pub rule: StakeRule,
    pub step: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StakeRule {
    Quote(Decimal),
    Fraction {
        fraction: Decimal,
        capital: Decimal,
    },
    Volatility {
        quote: Decimal,
        target: f64,
        window: usize,
        max_quote: Decimal,
    },
}

/// A key of the strategies file and what is wrong with it.
pub type KeyError = (String, String);

fn key_err(key: &str, msg: impl Into<String>) -> KeyError {
    (key.to_string(), msg.into())
}

/// A positive decimal (numbers or decimal strings, as in events).
fn positive(key: &str, v: &Value) -> Result<Decimal, KeyError> {
    match crate::num::decimal_of(v) {
        Some(d) if d > Decimal::ZERO => Ok(d.normalize()),
        _ => Err(key_err(
            key,
            format!("expected a positive number, found `{v}`"),
        )),
    }
}

fn non_negative(key: &str, v: &Value) -> Result<Decimal, KeyError> {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Decimal::ZERO),
        _ => positive(key, v)
            .map_err(|_| key_err(key, format!("expected a number ≥ 0, found `{v}`"))),
    }
}

fn whole(key: &str, v: &Value) -> Result<u64, KeyError> {
    v.as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| key_err(key, format!("expected a whole number > 0, found `{v}`")))
}

fn mapping<'v>(
    key: &str,
    v: &'v Value,
    known: &[&str],
) -> Result<&'v serde_json::Map<String, Value>, KeyError> {
    let Value::Object(m) = v else {
        return Err(key_err(key, format!("expected a mapping, found `{v}`")));
    };
    if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
        let msg = format!("unknown key (known: {})", known.join(", "));
        return Err(key_err(&format!("{key}.{k}"), msg));
    }
    Ok(m)
}

impl Exits {
    /// Reads an `exits:` mapping.
    pub fn parse(v: &Value) -> Result<Exits, KeyError> {
        const KNOWN: [&str; 5] = [
            "stop_loss",
            "take_profit",
            "trailing_stop",
            "roi",
            "time_stop",
        ];
        let m = mapping("exits", v, &KNOWN)?;
        let fraction = |k: &str| -> Result<Option<Decimal>, KeyError> {
            let key = format!("exits.{k}");
            m.get(k).map(|v| positive(&key, v)).transpose()
        };
        let stop_loss = fraction("stop_loss")?;
        let trailing_stop = fraction("trailing_stop")?;
        for (k, r) in [("stop_loss", stop_loss), ("trailing_stop", trailing_stop)] {
            if r.is_some_and(|r| r >= Decimal::ONE) {
                return Err(key_err(
                    &format!("exits.{k}"),
                    "a fraction below 1 (0.05 is 5 %)",
                ));
            }
        }
        let mut roi = Vec::new();
        if let Some(v) = m.get("roi") {
            let Value::Object(table) = v else {
                return Err(key_err(
                    "exits.roi",
                    "expected a mapping of minutes to returns",
                ));
            };
            for (minutes, r) in table {
                let key = format!("exits.roi.{minutes}");
                let Ok(mins) = minutes.parse::<i64>() else {
                    return Err(key_err(
                        &key,
                        "the key is the minutes held, a whole number ≥ 0",
                    ));
                };
                if !(0..=i64::MAX / NS_PER_MIN).contains(&mins) {
                    return Err(key_err(&key, "the minutes held must be ≥ 0"));
                }
                roi.push((mins * NS_PER_MIN, non_negative(&key, r)?));
            }
            roi.sort_by_key(|(t, _)| *t);
        }
        let time_stop_ns = match m.get("time_stop") {
            None => None,
            Some(v) => {
                let mins = whole("exits.time_stop", v)?;
                let ns = i64::try_from(mins)
                    .ok()
                    .and_then(|m| m.checked_mul(NS_PER_MIN))
                    .ok_or_else(|| key_err("exits.time_stop", "too many minutes"))?;
                Some(ns)
            }
        };
        Ok(Exits {
            stop_loss,
            take_profit: fraction("take_profit")?,
            trailing_stop,
            roi,
            time_stop_ns,
        })
    }

    /// The rule that exits a position, if any, and the return it saw.
    fn check(&self, pos: &Book, price: Decimal, ts_ns: i64) -> Option<(&'static str, Decimal)> {
        let ret = pos.return_at(price)?;
        if self.stop_loss.is_some_and(|r| ret <= -r) {
            return Some(("stop_loss", ret));
        }
        if let Some(r) = self.trailing_stop {
            let best = pos.best;
            let from_best = match pos.side()? {
                Side::Buy => Decimal::ONE - price.checked_div(best)?,
                Side::Sell => price.checked_div(best)? - Decimal::ONE,
            };
            if from_best >= r {
                return Some(("trailing_stop", ret));
            }
        }
        if self.take_profit.is_some_and(|r| ret >= r) {
            return Some(("take_profit", ret));
        }
        let held = ts_ns.saturating_sub(pos.entry_ns);
        if let Some((_, r)) = self.roi.iter().rev().find(|(t, _)| *t <= held)
            && ret >= *r
        {
            return Some(("roi", ret));
        }
        if self.time_stop_ns.is_some_and(|t| held >= t) {
            return Some(("time_stop", ret));
        }
        None
    }
}

impl Stake {
    /// Reads a `stake:` mapping.
    pub fn parse(v: &Value) -> Result<Stake, KeyError> {
        let m = mapping(
            "stake",
            v,
            &["quote", "fraction", "capital", "volatility", "step"],
        )?;
        let step = match m.get("step") {
            Some(v) => positive("stake.step", v)?,
            None => Decimal::new(1, 8),
        };
        let get = |k: &str| {
            m.get(k)
                .map(|v| positive(&format!("stake.{k}"), v))
                .transpose()
        };
        let rule = match (m.get("quote"), m.get("fraction"), m.get("volatility")) {
            (Some(_), None, None) => StakeRule::Quote(get("quote")?.unwrap_or_default()),
            (None, Some(_), None) => {
                let fraction = get("fraction")?.unwrap_or_default();
                if fraction > Decimal::ONE {
                    return Err(key_err("stake.fraction", "at most 1 (0.1 is 10 %)"));
                }
                let Some(capital) = get("capital")? else {
                    return Err(key_err("stake.capital", "required with fraction"));
                };
                StakeRule::Fraction { fraction, capital }
            }
            (None, None, Some(v)) => {
                let known = ["quote", "target", "window", "max_quote"];
                let vm = mapping("stake.volatility", v, &known)?;
                let need = |k: &str| {
                    vm.get(k)
                        .ok_or_else(|| key_err(&format!("stake.volatility.{k}"), "required"))
                };
                let quote = positive("stake.volatility.quote", need("quote")?)?;
                let target = positive("stake.volatility.target", need("target")?)?;
                let window = whole("stake.volatility.window", need("window")?)?;
                if window < 2 {
                    return Err(key_err("stake.volatility.window", "at least 2 returns"));
                }
                let max_quote = match vm.get("max_quote") {
                    Some(v) => positive("stake.volatility.max_quote", v)?,
                    None => quote.checked_mul(Decimal::from(3)).ok_or_else(|| {
                        key_err("stake.volatility.quote", "too large (give max_quote)")
                    })?,
                };
                StakeRule::Volatility {
                    quote,
                    target: crate::num::nearest_f64(target),
                    window: usize::try_from(window).unwrap_or(usize::MAX).min(100_000),
                    max_quote,
                }
            }
            _ => {
                return Err(key_err(
                    "stake",
                    "give exactly one of quote, fraction (with capital) or volatility",
                ));
            }
        };
        if m.contains_key("capital") && !matches!(rule, StakeRule::Fraction { .. }) {
            return Err(key_err("stake.capital", "only with fraction"));
        }
        Ok(Stake { rule, step })
    }
}

/// The position the manager keeps for one (strategy, symbol), and what sizing needs.
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// Signed: a short is negative.
    qty: Decimal,
    entry_price: Decimal,
    entry_ns: i64,
    /// Best price since entry: the highest for a long, the lowest for a short.
    best: Decimal,
    realized: Decimal,
    /// The side of the last exit, whose echo from the strategy is dropped.
    exited: Option<Side>,
    /// Intents dropped: an exit had closed the position already, or the stake sized them
    /// to nothing.
    pub dropped: u64,
    last_price: Option<f64>,
    returns: VecDeque<f64>,
}

impl Book {
    fn side(&self) -> Option<Side> {
        match self.qty.cmp(&Decimal::ZERO) {
            std::cmp::Ordering::Greater => Some(Side::Buy),
            std::cmp::Ordering::Less => Some(Side::Sell),
            std::cmp::Ordering::Equal => None,
        }
    }

    fn return_at(&self, price: Decimal) -> Option<Decimal> {
        let r = price.checked_div(self.entry_price)?;
        match self.side()? {
            Side::Buy => r.checked_sub(Decimal::ONE),
            Side::Sell => Decimal::ONE.checked_sub(r),
        }
    }

    /// Follows the market: the best price since entry, and the returns volatility sizing
    /// needs.
    pub fn on_price(&mut self, price: Decimal, price_f64: f64, stake: Option<&Stake>) {
        if self.qty.is_zero() && stake.is_none() {
            return;
        }
        match self.side() {
            Some(Side::Buy) => self.best = self.best.max(price),
            Some(Side::Sell) => self.best = self.best.min(price),
            None => {}
        }
        if let Some(Stake {
            rule: StakeRule::Volatility { window, .. },
            ..
        }) = stake
        {
            if let Some(prev) = self.last_price.filter(|p| *p > 0.0) {
                if self.returns.len() == *window {
                    self.returns.pop_front();
                }
                self.returns.push_back(price_f64 / prev - 1.0);
            }
            self.last_price = Some(price_f64);
        }
    }

    /// The exit the rules call for now, as an intent built by `make`.
    pub fn exit(
        &mut self,
        rules: &Exits,
        price: Decimal,
        ts_ns: i64,
        make: impl FnOnce(Side, Decimal, Map) -> Intent<'static>,
    ) -> Option<Intent<'static>> {
        let (rule, ret) = rules.check(self, price, ts_ns)?;
        let side = self.side()?.opposite();
        let mut meta = Map::new();
        meta.insert("exit".into(), rule.into());
        meta.insert("return".into(), to_json(ret.normalize()));
        let intent = make(side, self.qty.abs(), meta);
        self.book(side, self.qty.abs(), price, ts_ns);
        self.exited = Some(side);
        Some(intent)
    }

    /// Sizes a strategy's intent and books it; `None` drops it (it would close what an exit
    /// closed already).
    pub fn admit(
        &mut self,
        mut intent: Intent<'static>,
        side: Side,
        price: Decimal,
        stake: Option<&Stake>,
    ) -> Option<Intent<'static>> {
        if let Some(exited) = self.exited.take()
            && exited == side
            && self.qty.is_zero()
        {
            self.dropped += 1;
            return None;
        }
        if let Some(stake) = stake {
            let qty = match self.side() {
                Some(s) if s != side => Some(self.qty.abs()),
                _ => self.stake_qty(stake, price),
            };
            let Some(qty) = qty else {
                self.dropped += 1;
                return None;
            };
            intent.qty = qty;
        }
        self.record(side, intent.qty, price, intent.ts_ns);
        Some(intent)
    }

    /// Books an intent of a strategy without exits or stake, so that rules added by a
    /// reload start from the position it holds.
    pub fn record(&mut self, side: Side, qty: Decimal, price: Decimal, ts_ns: i64) {
        self.book(side, qty, price, ts_ns);
    }

    /// The quantity a stake buys at `price`, rounded down to its step; `None` if that is 0.
    fn stake_qty(&self, stake: &Stake, price: Decimal) -> Option<Decimal> {
        let quote = match &stake.rule {
            StakeRule::Quote(q) => *q,
            StakeRule::Fraction { fraction, capital } => {
                capital.checked_add(self.realized)?.checked_mul(*fraction)?
            }
            StakeRule::Volatility {
                quote,
                target,
                window,
                max_quote,
            } => {
                if self.returns.len() < *window {
                    *quote
                } else {
                    let n = self.returns.len() as f64;
                    let mean = self.returns.iter().sum::<f64>() / n;
                    let var =
                        self.returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
                    let scale = target / var.sqrt();
                    let scaled = Decimal::from_f64(scale)
                        .and_then(|s| quote.checked_mul(s))
                        .unwrap_or(*max_quote);
                    scaled.min(*max_quote)
                }
            }
        };
        let qty = quote.checked_div(price)?;
        let steps = qty.checked_div(stake.step)?.floor();
        let qty = steps.checked_mul(stake.step)?.normalize();
        (qty > Decimal::ZERO).then_some(qty)
    }

    /// Books a fill of `qty` at `price`: adds to the position at the average price, or
    /// reduces it and realizes the difference.
    fn book(&mut self, side: Side, qty: Decimal, price: Decimal, ts_ns: i64) {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        let before = self.qty;
        let Some(after) = before.checked_add(signed) else {
            return;
        };
        if before.is_zero() || before.is_sign_positive() == signed.is_sign_positive() {
            // Opening or adding: the average entry price, the entry time of the first lot.
            let cost = before
                .abs()
                .checked_mul(self.entry_price)
                .and_then(|c| c.checked_add(qty.checked_mul(price)?));
            if let Some(avg) = cost.and_then(|c| c.checked_div(after.abs())) {
                self.entry_price = avg;
            }
            if before.is_zero() {
                self.entry_ns = ts_ns;
                self.best = price;
            }
        } else {
            let closed = qty.min(before.abs());
            let per_unit = if before.is_sign_positive() {
                price - self.entry_price
            } else {
                self.entry_price - price
            };
            if let Some(pnl) = per_unit.checked_mul(closed) {
                self.realized = self.realized.checked_add(pnl).unwrap_or(self.realized);
            }
            if qty > before.abs() {
                // Flipped: the rest opens at this price.
                self.entry_price = price;
                self.entry_ns = ts_ns;
                self.best = price;
            }
        }
        self.qty = after;
        if after.is_zero() {
            self.entry_price = Decimal::ZERO;
        }
    }
}
