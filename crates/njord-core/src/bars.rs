//! OHLCV bars from trades (issue 8).
//!
//! [`BarAggregator`] is a pure core: buckets are aligned to the Unix epoch in UTC on the trade's
//! event time, every figure is an exact decimal, and it never reads the clock — the daemon shell
//! passes the wall clock in through [`BarAggregator::close_due`]. A trade whose bucket has
//! already been closed (or is older than the open one) is *late*: counted, reported by the
//! shell, never merged into a wrong bar. Acceptance is decided once per trade for all of a
//! symbol's timeframes, so every timeframe sees the same trades and a higher timeframe is
//! exactly the aggregation of a lower one it is a multiple of.

use crate::event::{Bar, Trade, compact_symbol};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// The timeframes `njord-bars` knows, with their length in seconds.
const TIMEFRAMES: [(&str, i64); 11] = [
    ("1m", 60),
    ("3m", 180),
    ("5m", 300),
    ("15m", 900),
    ("30m", 1_800),
    ("1h", 3_600),
    ("2h", 7_200),
    ("4h", 14_400),
    ("6h", 21_600),
    ("12h", 43_200),
    ("1d", 86_400),
];

/// A bar length, epoch-aligned in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeframe {
    ns: i64,
    label: &'static str,
}

impl Timeframe {
    /// Parses `1m`, `5m`, `1h`, `1d`, …
    pub fn parse(s: &str) -> Result<Timeframe, String> {
        TIMEFRAMES
            .iter()
            .find(|(l, _)| *l == s.trim())
            .map(|&(label, secs)| Timeframe {
                ns: secs * 1_000_000_000,
                label,
            })
            .ok_or_else(|| {
                let known: Vec<&str> = TIMEFRAMES.iter().map(|t| t.0).collect();
                format!("unknown timeframe `{s}` (use one of {})", known.join(" "))
            })
    }

    /// Parses a comma-separated list; the result is sorted shortest first, without repeats.
    pub fn parse_list(s: &str) -> Result<Vec<Timeframe>, String> {
        let mut tfs = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Timeframe::parse)
            .collect::<Result<Vec<_>, _>>()?;
        tfs.sort();
        tfs.dedup();
        if tfs.is_empty() {
            return Err("no timeframe given (e.g. --timeframes 1m,5m,1h)".into());
        }
        Ok(tfs)
    }

    /// The timeframe `ns` long, if njord knows one (imports infer it from a bar's length).
    pub fn from_ns(ns: i64) -> Option<Timeframe> {
        TIMEFRAMES
            .iter()
            .find(|(_, secs)| secs.checked_mul(1_000_000_000) == Some(ns))
            .map(|&(label, secs)| Timeframe {
                ns: secs * 1_000_000_000,
                label,
            })
    }

    pub fn label(self) -> &'static str {
        self.label
    }

    pub fn ns(self) -> i64 {
        self.ns
    }

    /// Start of the bucket holding `ts_ns`.
    pub fn bucket_start(self, ts_ns: i64) -> i64 {
        // Saturates only for the first bucket before i64::MIN, which no real tape reaches.
        ts_ns.saturating_sub(ts_ns.rem_euclid(self.ns))
    }

    fn end(self, start: i64) -> i64 {
        start.saturating_add(self.ns)
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.label)
    }
}

/// What became of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// Older than a bucket already closed or open: counted, not merged. `open_ns` is the start
    /// of the earliest bucket that still accepts trades, for the report.
    Late {
        open_ns: i64,
    },
    /// The volume would leave the decimal range; the trade is refused whole.
    Overflow,
    /// A new symbol while `max_symbols` are aggregated already: refused and counted.
    TooManySymbols,
}

/// The bar being built.
#[derive(Debug, Clone)]
struct Acc {
    start: i64,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    trades: u64,
}

#[derive(Debug, Clone)]
struct TfState {
    tf: Timeframe,
    open: Option<Acc>,
    /// End of the last bar emitted: trades before it are late.
    closed_until: i64,
    /// Close of the last bar emitted, the level of gap bars.
    last_close: Option<Decimal>,
}

#[derive(Debug, Clone)]
struct SymbolState {
    symbol: String,
    tfs: Vec<TfState>,
    late: u64,
}

/// Turns trades into bars, per symbol and timeframe.
#[derive(Debug, Clone)]
pub struct BarAggregator {
    tfs: Vec<Timeframe>,
    fill_gaps: bool,
    symbols: Vec<SymbolState>,
    index: HashMap<String, usize>,
    /// Gaps too long to fill (see [`MAX_GAP_BARS`]).
    unfilled_gaps: u64,
    /// The last symbol seen: most tapes carry one symbol, so this skips the hash.
    last: usize,
    /// Symbols aggregated at most (`bars.max_symbols`), so memory stays bounded.
    max_symbols: usize,
    /// Trades refused for a symbol beyond `max_symbols`.
    refused: u64,
    /// The latest event time of any trade seen (i64::MIN before the first).
    watermark: i64,
}

impl BarAggregator {
    /// `tfs` as returned by [`Timeframe::parse_list`]. With `fill_gaps`, empty buckets between
    /// two bars become flat bars at the previous close with zero volume.
    pub fn new(mut tfs: Vec<Timeframe>, fill_gaps: bool) -> Self {
        tfs.sort();
        tfs.dedup();
        BarAggregator {
            tfs,
            fill_gaps,
            symbols: Vec::new(),
            index: HashMap::new(),
            unfilled_gaps: 0,
            last: 0,
            max_symbols: usize::MAX,
            refused: 0,
            watermark: i64::MIN,
        }
    }

    /// Aggregates at most `n` symbols (`bars.max_symbols`); trades of further symbols are
    /// refused with [`Outcome::TooManySymbols`].
    pub fn with_max_symbols(mut self, n: usize) -> Self {
        self.max_symbols = n;
        self
    }

    /// The most symbols aggregated at once.
    pub fn max_symbols(&self) -> usize {
        self.max_symbols
    }

    /// Trades refused because `max_symbols` symbols were aggregated already.
    pub fn refused_symbols(&self) -> u64 {
        self.refused
    }

    /// The latest event time of any trade seen, late ones included: how far the tape has got.
    /// A daemon closes bars by it ([`BarAggregator::close_due`]`(watermark, grace)`), so a
    /// tape whose event time is not now still gets whole bars.
    pub fn watermark(&self) -> Option<i64> {
        (self.watermark != i64::MIN).then_some(self.watermark)
    }

    fn symbol_index(&mut self, symbol: &str) -> Option<usize> {
        if self
            .symbols
            .get(self.last)
            .is_some_and(|s| s.symbol == symbol)
        {
            return Some(self.last);
        }
        let i = match self.index.get(symbol) {
            Some(&i) => i,
            None if self.symbols.len() >= self.max_symbols => {
                self.refused += 1;
                return None;
            }
            None => {
                let i = self.symbols.len();
                self.symbols.push(SymbolState {
                    symbol: symbol.to_string(),
                    tfs: self
                        .tfs
                        .iter()
                        .map(|&tf| TfState {
                            tf,
                            open: None,
                            closed_until: i64::MIN,
                            last_close: None,
                        })
                        .collect(),
                    late: 0,
                });
                self.index.insert(symbol.to_string(), i);
                i
            }
        };
        self.last = i;
        Some(i)
    }

    /// Adds a trade; bars it closes are appended to `out` in event-time order.
    pub fn on_trade(&mut self, t: &Trade<'_>, out: &mut Vec<Bar<'static>>) -> Outcome {
        self.watermark = self.watermark.max(t.ts_ns);
        let Some(i) = self.symbol_index(&t.symbol) else {
            return Outcome::TooManySymbols;
        };
        let fill_gaps = self.fill_gaps;
        let st = &mut self.symbols[i];
        // Decide for every timeframe at once, before touching anything; remember each
        // bucket and new volume so the update does not compute them again.
        let mut plan = [(0i64, None::<Decimal>); TIMEFRAMES.len()];
        for (s, p) in st.tfs.iter().zip(plan.iter_mut()) {
            // Most trades fall in the open bucket: a range check spares the division.
            let b = match &s.open {
                Some(a)
                    if t.ts_ns >= a.start
                        && (t.ts_ns.wrapping_sub(a.start) as u64) < s.tf.ns as u64 =>
                {
                    a.start
                }
                _ => s.tf.bucket_start(t.ts_ns),
            };
            let earliest = s.open.as_ref().map_or(s.closed_until, |a| a.start);
            if b < earliest {
                st.late += 1;
                let open_ns = st
                    .tfs
                    .iter()
                    .map(|s| s.open.as_ref().map_or(s.closed_until, |a| a.start))
                    .max()
                    .unwrap_or(earliest);
                return Outcome::Late { open_ns };
            }
            *p = (b, None);
            if let Some(a) = &s.open
                && a.start == b
            {
                match a.volume.checked_add(t.qty) {
                    Some(v) => p.1 = Some(v),
                    None => return Outcome::Overflow,
                }
            }
        }
        let first = out.len();
        for (s, &(b, volume)) in st.tfs.iter_mut().zip(plan.iter()) {
            if let (Some(a), Some(v)) = (&mut s.open, volume) {
                if t.price > a.high {
                    a.high = t.price;
                } else if t.price < a.low {
                    a.low = t.price;
                }
                a.close = t.price;
                a.volume = v;
                a.trades += 1;
                continue;
            }
            if let Some(a) = s.open.take() {
                close(&st.symbol, s, a, out);
            }
            if fill_gaps && !fill(&st.symbol, s, b, out) {
                self.unfilled_gaps += 1;
            }
            s.open = Some(Acc {
                start: b,
                open: t.price,
                high: t.price,
                low: t.price,
                close: t.price,
                volume: t.qty,
                trades: 1,
            });
        }
        sort_bars(&mut out[first..]);
        Outcome::Accepted
    }

    /// Closes every open bar whose bucket ended at least `grace_ns` before `now_ns`, an event
    /// time: the [`BarAggregator::watermark`], or (for a quiet stream) the watermark advanced
    /// by the time nothing has arrived, which the daemon shell measures.
    pub fn close_due(&mut self, now_ns: i64, grace_ns: i64, out: &mut Vec<Bar<'static>>) {
        let first = out.len();
        for st in &mut self.symbols {
            for s in &mut st.tfs {
                let due = s
                    .open
                    .as_ref()
                    .is_some_and(|a| s.tf.end(a.start).saturating_add(grace_ns) <= now_ns);
                if due && let Some(a) = s.open.take() {
                    close(&st.symbol, s, a, out);
                }
            }
        }
        sort_bars(&mut out[first..]);
    }

    /// End of input: emits every open bar.
    pub fn finish(&mut self, out: &mut Vec<Bar<'static>>) {
        self.close_due(i64::MAX, 0, out);
    }

    /// Gaps left empty under `fill_gaps` because they spanned more than [`MAX_GAP_BARS`]
    /// buckets (a clock jump, or a tape with a hole of months).
    pub fn unfilled_gaps(&self) -> u64 {
        self.unfilled_gaps
    }

    /// Late trades per symbol, in order of first appearance.
    pub fn late_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.symbols.iter().map(|s| (s.symbol.as_str(), s.late))
    }
}

fn close(symbol: &str, s: &mut TfState, a: Acc, out: &mut Vec<Bar<'static>>) {
    let end = s.tf.end(a.start);
    s.closed_until = end;
    s.last_close = Some(a.close);
    out.push(Bar {
        symbol: Cow::Owned(symbol.to_string()),
        timeframe: Cow::Borrowed(s.tf.label),
        ts_open_ns: a.start,
        ts_close_ns: end,
        open: a.open,
        high: a.high,
        low: a.low,
        close: a.close,
        volume: a.volume,
        trades: a.trades,
    });
}

/// The most flat bars one gap may produce; a longer gap (a timestamp off by years would
/// otherwise mean millions of bars held in memory at once) is left empty and counted.
pub const MAX_GAP_BARS: i64 = 100_000;

/// Flat bars for the empty buckets between the last bar and the bucket starting at `until`;
/// false when the gap is longer than [`MAX_GAP_BARS`] and was left empty.
fn fill(symbol: &str, s: &mut TfState, until: i64, out: &mut Vec<Bar<'static>>) -> bool {
    let Some(px) = s.last_close else { return true };
    if until.saturating_sub(s.closed_until) / s.tf.ns > MAX_GAP_BARS {
        return false;
    }
    while s.closed_until < until {
        let a = Acc {
            start: s.closed_until,
            open: px,
            high: px,
            low: px,
            close: px,
            volume: Decimal::ZERO,
            trades: 0,
        };
        close(symbol, s, a, out);
    }
    true
}

/// Event-time order, shorter timeframe first on ties: deterministic and what a consumer
/// reading by time expects.
fn sort_bars(bars: &mut [Bar<'static>]) {
    if bars.len() > 1 {
        bars.sort_by_key(|b| (b.ts_close_ns, b.ts_close_ns - b.ts_open_ns));
    }
}

/// The journal stem of a bar: `ohlcv.{tf}.{SYM}`.
pub fn journal_stem(b: &Bar<'_>) -> String {
    format!("ohlcv.{}.{}", b.timeframe, compact_symbol(&b.symbol))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Side;
    use proptest::prelude::*;
    use std::str::FromStr;

    const MIN: i64 = 60_000_000_000;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tr(sym: &str, ts: i64, px: &str, qty: &str) -> Trade<'static> {
        Trade {
            venue: Cow::Borrowed("v"),
            symbol: Cow::Owned(sym.to_string()),
            trade_id: Cow::Borrowed("1"),
            price: d(px),
            qty: d(qty),
            side: Side::Buy,
            ts_ns: ts,
            ts_local_ns: None,
        }
    }

    fn agg(tfs: &str, fill: bool) -> BarAggregator {
        BarAggregator::new(Timeframe::parse_list(tfs).unwrap(), fill)
    }

    #[test]
    fn symbols_beyond_the_limit_are_refused_and_counted() {
        let mut a = agg("1m", false).with_max_symbols(2);
        let mut out = Vec::new();
        for (i, sym) in ["A/B", "C/D", "E/F", "A/B", "G/H", "C/D"]
            .iter()
            .enumerate()
        {
            let want = if matches!(*sym, "E/F" | "G/H") {
                Outcome::TooManySymbols
            } else {
                Outcome::Accepted
            };
            assert_eq!(
                a.on_trade(&tr(sym, i as i64, "1", "1"), &mut out),
                want,
                "{sym}"
            );
        }
        assert_eq!(a.refused_symbols(), 2);
        a.finish(&mut out);
        let symbols: Vec<&str> = out.iter().map(|b| &*b.symbol).collect();
        assert_eq!(symbols, ["A/B", "C/D"]);
    }

    /// (tf, open_ns, o, h, l, c, v, n) as strings for compact assertions.
    fn row(b: &Bar<'_>) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {}",
            b.symbol,
            b.timeframe,
            b.ts_open_ns / MIN,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.trades
        )
    }

    fn run(a: &mut BarAggregator, trades: &[Trade<'_>]) -> (Vec<String>, Vec<Outcome>) {
        let mut out = Vec::new();
        let outcomes = trades.iter().map(|t| a.on_trade(t, &mut out)).collect();
        a.finish(&mut out);
        (out.iter().map(row).collect(), outcomes)
    }

    #[test]
    fn watermark_closes_other_symbols_bars_after_the_grace() {
        let mut a = agg("1m", false);
        let mut out = Vec::new();
        assert_eq!(a.watermark(), None);
        a.on_trade(&tr("A/B", 10 * MIN + 5, "1", "1"), &mut out);
        a.on_trade(&tr("C/D", 10 * MIN + 7, "2", "1"), &mut out);
        a.on_trade(&tr("A/B", 11 * MIN + 1, "3", "1"), &mut out);
        // A/B's own later trade closed its bar; C/D's waits for the watermark plus grace.
        assert_eq!(
            out.iter().map(row).collect::<Vec<_>>(),
            ["A/B 1m 10 1 1 1 1 1 1"]
        );
        let w = a.watermark().unwrap();
        assert_eq!(w, 11 * MIN + 1);
        a.close_due(w, 2, &mut out);
        assert_eq!(out.len(), 1, "within the grace");
        a.close_due(w + 1, 2, &mut out);
        assert_eq!(row(&out[1]), "C/D 1m 10 2 2 2 2 1 1");
        // A late trade does not move the watermark back.
        a.on_trade(&tr("C/D", 10 * MIN, "2", "1"), &mut out);
        assert_eq!(a.watermark(), Some(w));
    }

    #[test]
    fn parses_timeframes() {
        let t = Timeframe::parse_list("1h,1m, 5m,1m").unwrap();
        let labels: Vec<_> = t.iter().map(|t| t.label()).collect();
        assert_eq!(labels, ["1m", "5m", "1h"]);
        assert!(Timeframe::parse("7m").unwrap_err().contains("1m 3m 5m"));
        assert!(Timeframe::parse_list(",").is_err());
        assert_eq!(
            Timeframe::from_ns(300_000_000_000).map(|t| t.label()),
            Some("5m")
        );
        assert_eq!(Timeframe::from_ns(7), None);
        assert_eq!(
            Timeframe::parse("1d").unwrap().bucket_start(-1),
            -86_400 * 1_000_000_000
        );
    }

    #[test]
    fn bucket_edges_and_one_trade_bars() {
        let mut a = agg("1m", false);
        let (bars, _) = run(
            &mut a,
            &[
                tr("A/B", 0, "10", "1"),
                tr("A/B", MIN - 1, "12", "2"),
                tr("A/B", MIN, "11", "0.5"),
                tr("A/B", 3 * MIN + 5, "9", "1"),
            ],
        );
        assert_eq!(
            bars,
            [
                "A/B 1m 0 10 12 10 12 3 2",
                "A/B 1m 1 11 11 11 11 0.5 1",
                "A/B 1m 3 9 9 9 9 1 1"
            ]
        );
    }

    #[test]
    fn emitted_when_a_later_bucket_starts() {
        let mut a = agg("1m,5m", false);
        let mut out = Vec::new();
        a.on_trade(&tr("A/B", 10, "1", "1"), &mut out);
        a.on_trade(&tr("A/B", MIN - 1, "2", "1"), &mut out);
        assert!(out.is_empty());
        a.on_trade(&tr("A/B", 5 * MIN, "3", "1"), &mut out);
        let rows: Vec<_> = out.iter().map(row).collect();
        assert_eq!(rows, ["A/B 1m 0 1 2 1 2 2 2", "A/B 5m 0 1 2 1 2 2 2"]);
        assert_eq!(out[1].ts_close_ns, 5 * MIN);
    }

    #[test]
    fn midnight_is_a_day_boundary() {
        let day = 86_400 * 1_000_000_000i64;
        let mut a = agg("1h,1d", false);
        let (bars, _) = run(
            &mut a,
            &[tr("A/B", day - 1, "5", "1"), tr("A/B", day, "6", "1")],
        );
        assert_eq!(
            bars,
            [
                "A/B 1h 1380 5 5 5 5 1 1",
                "A/B 1d 0 5 5 5 5 1 1",
                "A/B 1h 1440 6 6 6 6 1 1",
                "A/B 1d 1440 6 6 6 6 1 1",
            ]
        );
    }

    #[test]
    fn gaps_are_empty_unless_filled() {
        let trades = [tr("A/B", 0, "10", "1"), tr("A/B", 3 * MIN, "11", "1")];
        let (bars, _) = run(&mut agg("1m", false), &trades);
        assert_eq!(bars.len(), 2);
        let (bars, _) = run(&mut agg("1m", true), &trades);
        assert_eq!(
            bars,
            [
                "A/B 1m 0 10 10 10 10 1 1",
                "A/B 1m 1 10 10 10 10 0 0",
                "A/B 1m 2 10 10 10 10 0 0",
                "A/B 1m 3 11 11 11 11 1 1",
            ]
        );
    }

    #[test]
    fn gaps_beyond_the_limit_stay_empty() {
        let mut a = agg("1m", true);
        let (bars, _) = run(
            &mut a,
            &[
                tr("A/B", 0, "1", "1"),
                tr("A/B", (MAX_GAP_BARS + 2) * MIN, "2", "1"),
            ],
        );
        assert_eq!(bars.len(), 2);
        assert_eq!(a.unfilled_gaps(), 1);
    }

    #[test]
    fn late_trades_are_counted_never_merged() {
        let mut a = agg("1m,1h", false);
        let (bars, outcomes) = run(
            &mut a,
            &[
                tr("A/B", MIN, "10", "1"),
                tr("A/B", 2 * MIN, "11", "1"),
                tr("A/B", MIN + 5, "99", "1"),
                tr("A/B", 2 * MIN + 1, "12", "1"),
                tr("C/D", 0, "1", "1"),
            ],
        );
        assert_eq!(outcomes[2], Outcome::Late { open_ns: 2 * MIN });
        assert_eq!(outcomes[4], Outcome::Accepted, "per symbol");
        assert!(bars.iter().all(|b| !b.contains("99")), "{bars:?}");
        assert_eq!(
            bars,
            [
                "A/B 1m 1 10 10 10 10 1 1",
                "C/D 1m 0 1 1 1 1 1 1",
                "A/B 1m 2 11 12 11 12 2 2",
                "A/B 1h 0 10 12 10 12 3 3",
                "C/D 1h 0 1 1 1 1 1 1",
            ]
        );
        let late: Vec<_> = a.late_counts().collect();
        assert_eq!(late, [("A/B", 1), ("C/D", 0)]);
    }

    #[test]
    fn out_of_order_within_the_open_bucket_is_fine() {
        let (bars, outcomes) = run(
            &mut agg("1m", false),
            &[tr("A/B", 30, "10", "1"), tr("A/B", 10, "9", "1")],
        );
        assert!(outcomes.iter().all(|o| *o == Outcome::Accepted));
        assert_eq!(bars, ["A/B 1m 0 10 10 9 9 2 2"]);
    }

    #[test]
    fn wall_clock_close_with_grace_then_late() {
        let mut a = agg("1m", false);
        let mut out = Vec::new();
        a.on_trade(&tr("A/B", 5, "10", "1"), &mut out);
        a.close_due(MIN + 999, 1000, &mut out);
        assert!(out.is_empty(), "grace not over");
        a.close_due(MIN + 1000, 1000, &mut out);
        assert_eq!(
            out.iter().map(row).collect::<Vec<_>>(),
            ["A/B 1m 0 10 10 10 10 1 1"]
        );
        assert_eq!(
            a.on_trade(&tr("A/B", 6, "11", "1"), &mut out),
            Outcome::Late { open_ns: MIN }
        );
        a.close_due(i64::MAX, 0, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn exact_with_many_decimals() {
        let (bars, _) = run(
            &mut agg("1m", false),
            &[
                tr("A/B", 0, "0.100000000000000000000000001", "0.1"),
                tr("A/B", 1, "0.100000000000000000000000002", "0.2"),
                tr("A/B", 2, "0.1", "0.00031099999999999997"),
            ],
        );
        assert_eq!(
            bars,
            [
                "A/B 1m 0 0.100000000000000000000000001 0.100000000000000000000000002 0.1 0.1 0.30031099999999999997 3"
            ]
        );
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        let (bars, outcomes) = run(
            &mut agg("1m,1d", true),
            &[
                tr("A/B", i64::MIN + 5, "1", "1"),
                tr("A/B", i64::MAX - 5, "2", "1"),
                tr("A/B", i64::MAX, "3", "1"),
            ],
        );
        assert!(outcomes.iter().all(|o| *o == Outcome::Accepted));
        assert_eq!(bars.len(), 4);
    }

    #[test]
    fn overflow_is_refused_whole() {
        let mut a = agg("1m", false);
        let mut out = Vec::new();
        let big = "70000000000000000000000000000";
        assert_eq!(
            a.on_trade(&tr("A/B", 0, "1", big), &mut out),
            Outcome::Accepted
        );
        assert_eq!(
            a.on_trade(&tr("A/B", 1, "2", big), &mut out),
            Outcome::Overflow
        );
        a.finish(&mut out);
        assert_eq!(out[0].trades, 1);
    }

    /// Aggregates bars of one timeframe into the next, the way a chart would.
    fn roll_up(bars: &[Bar<'static>], tf: Timeframe) -> Vec<String> {
        let mut rolled: Vec<Bar<'static>> = Vec::new();
        for b in bars {
            let start = tf.bucket_start(b.ts_open_ns);
            match rolled.last_mut() {
                Some(r) if r.ts_open_ns == start => {
                    r.high = r.high.max(b.high);
                    r.low = r.low.min(b.low);
                    r.close = b.close;
                    r.volume += b.volume;
                    r.trades += b.trades;
                }
                _ => rolled.push(Bar {
                    timeframe: Cow::Borrowed(tf.label()),
                    ts_open_ns: start,
                    ts_close_ns: start + tf.ns(),
                    ..b.clone()
                }),
            }
        }
        rolled.iter().map(row).collect()
    }

    /// The bars of one timeframe computed the obvious way: accepted trades grouped by bucket,
    /// in arrival order.
    fn reference(trades: &[Trade<'static>], tf: Timeframe) -> Vec<String> {
        let mut buckets: Vec<(i64, Vec<&Trade<'static>>)> = Vec::new();
        for t in trades {
            let b = tf.bucket_start(t.ts_ns);
            match buckets.iter_mut().find(|(s, _)| *s == b) {
                Some((_, v)) => v.push(t),
                None => buckets.push((b, vec![t])),
            }
        }
        buckets.sort_by_key(|(s, _)| *s);
        buckets
            .iter()
            .map(|(s, ts)| {
                let bar = Bar {
                    symbol: Cow::Borrowed("A/B"),
                    timeframe: Cow::Borrowed(tf.label()),
                    ts_open_ns: *s,
                    ts_close_ns: s + tf.ns(),
                    open: ts[0].price,
                    high: ts.iter().map(|t| t.price).max().unwrap(),
                    low: ts.iter().map(|t| t.price).min().unwrap(),
                    close: ts[ts.len() - 1].price,
                    volume: ts.iter().map(|t| t.qty).sum(),
                    trades: ts.len() as u64,
                };
                row(&bar)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn bars_equal_accepted_trades_grouped_by_bucket(
            steps in proptest::collection::vec((-(8 * MIN)..(12 * MIN), 1u32..100_000, 1u32..1000), 1..200),
            tfs in proptest::sample::subsequence(vec!["1m", "3m", "5m", "15m", "1h"], 1..4),
        ) {
            let mut a = agg(&tfs.join(","), false);
            let mut ts = 0i64;
            let mut out = Vec::new();
            let mut accepted = Vec::new();
            for (dt, px, q) in steps {
                ts = (ts + dt).max(0);
                let t = tr("A/B", ts, &format!("{}.{:03}", px / 1000, px % 1000), &format!("0.{q:03}"));
                if a.on_trade(&t, &mut out) == Outcome::Accepted {
                    accepted.push(t);
                }
            }
            a.finish(&mut out);
            for l in &tfs {
                let tf = Timeframe::parse(l).unwrap();
                let got: Vec<String> = out.iter().filter(|b| b.timeframe == *l).map(row).collect();
                prop_assert_eq!(got, reference(&accepted, tf));
            }
            let closes: Vec<i64> = out.iter().map(|b| b.ts_close_ns).collect();
            let mut sorted = closes.clone();
            sorted.sort();
            prop_assert_eq!(closes, sorted, "bars come out in event-time order");
        }

        #[test]
        fn higher_timeframes_equal_aggregated_lower(
            steps in proptest::collection::vec((-(20 * MIN)..(40 * MIN), 1u32..100_000, 1u32..1000), 1..300)
        ) {
            let mut a = agg("1m,5m,1h", false);
            let mut ts = 0i64;
            let mut out = Vec::new();
            for (dt, px, q) in steps {
                ts = (ts + dt).max(0);
                let t = tr("A/B", ts, &format!("{}.{:03}", px / 1000, px % 1000), &format!("0.{q:03}"));
                a.on_trade(&t, &mut out);
            }
            a.finish(&mut out);
            let only = |l: &str| -> Vec<Bar<'static>> { out.iter().filter(|b| b.timeframe == l).cloned().collect() };
            let (m1, m5, h1) = (only("1m"), only("5m"), only("1h"));
            let h = Timeframe::parse("1h").unwrap();
            prop_assert_eq!(roll_up(&m1, h), h1.iter().map(row).collect::<Vec<_>>());
            prop_assert_eq!(roll_up(&m5, h), h1.iter().map(row).collect::<Vec<_>>());
            prop_assert_eq!(roll_up(&m1, Timeframe::parse("5m").unwrap()), m5.iter().map(row).collect::<Vec<_>>());
        }
    }
}
