//! What a valid line can still get wrong about the market: the rules of
//! `njord-journal validate`, beyond the per-line ones of [`crate::event::Decoder::line`].
//!
//! Per symbol, in the order given: trade ids that skip (a gap) or repeat or go back, event
//! time that goes back (trades; bars per timeframe), crossed or unsorted books, bars that
//! close before they open, bars whose volume or trade count disagrees with the trades of
//! the same input inside them (only bars wholly within the trades' time span), and fills
//! priced outside the range the symbol traded in within [`FILL_WINDOW_NS`] of the fill.
//! The last two need the trades, so the input is read twice: [`TapeCheck::first`] for
//! every event, then [`TapeCheck::second`] for the trades, when [`TapeCheck::needs_trades`].

use crate::event::{Event, Trade};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// A fill must be within the traded range of this much time either side of it.
pub const FILL_WINDOW_NS: i64 = 60_000_000_000;

/// Where a line is: the index of its file in the caller's list, and its line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub file: usize,
    pub line: u64,
}

/// One problem, at the line that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Loc,
    pub reason: String,
}

#[derive(Debug, Default)]
struct TradeState {
    last_id: Option<u64>,
    last_ts: i64,
}

#[derive(Debug)]
struct BarCheck {
    at: Loc,
    volume: Decimal,
    trades: u64,
    ts_open: i64,
    ts_close: i64,
    seen_volume: Decimal,
    seen_trades: u64,
}

#[derive(Debug)]
struct FillCheck {
    at: Loc,
    ts: i64,
    price: Decimal,
    low: Option<Decimal>,
    high: Option<Decimal>,
}

#[derive(Debug, Default)]
pub struct TapeCheck {
    problems: Vec<Problem>,
    trades: HashMap<String, TradeState>,
    /// (symbol, timeframe) → last bar open time.
    bar_times: HashMap<(String, String), i64>,
    /// symbol → bar length → bar open time → the bar.
    bars: HashMap<String, BTreeMap<i64, BTreeMap<i64, BarCheck>>>,
    /// symbol → fills in time order (index of the first whose window is still open).
    fills: HashMap<String, (Vec<FillCheck>, usize)>,
    /// symbol → (first, last) trade time, from the second pass.
    span: HashMap<String, (i64, i64)>,
}

impl TapeCheck {
    pub fn new() -> Self {
        TapeCheck::default()
    }

    fn problem(&mut self, at: Loc, reason: String) {
        self.problems.push(Problem { at, reason });
    }

    /// First pass: every event, in order.
    pub fn first(&mut self, at: Loc, ev: &Event<'_>) {
        match ev {
            Event::Trade(t) => self.trade_order(at, t),
            Event::Book(b) => {
                if let (Some(bid), Some(ask)) = (b.bids.first(), b.asks.first())
                    && bid.price >= ask.price
                {
                    self.problem(
                        at,
                        format!(
                            "{}: crossed book: best bid {} ≥ best ask {}",
                            b.symbol, bid.price, ask.price
                        ),
                    );
                }
                if b.bids.windows(2).any(|w| w[0].price <= w[1].price)
                    || b.asks.windows(2).any(|w| w[0].price >= w[1].price)
                {
                    self.problem(
                        at,
                        format!(
                            "{}: book levels out of order (bids must fall, asks rise)",
                            b.symbol
                        ),
                    );
                }
            }
            Event::Bar(b) => {
                if b.ts_close_ns <= b.ts_open_ns {
                    self.problem(
                        at,
                        format!(
                            "{}: bar closes ({}) before it opens ({})",
                            b.symbol, b.ts_close_ns, b.ts_open_ns
                        ),
                    );
                    return;
                }
                let key = (b.symbol.to_string(), b.timeframe.to_string());
                if let Some(&last) = self.bar_times.get(&key)
                    && b.ts_open_ns <= last
                {
                    self.problem(
                        at,
                        format!(
                            "{} {}: bar time goes back or repeats (opens at {}, the previous at {last})",
                            b.symbol, b.timeframe, b.ts_open_ns
                        ),
                    );
                }
                self.bar_times.insert(key, b.ts_open_ns);
                self.bars
                    .entry(b.symbol.to_string())
                    .or_default()
                    .entry(b.ts_close_ns - b.ts_open_ns)
                    .or_default()
                    .insert(
                        b.ts_open_ns,
                        BarCheck {
                            at,
                            volume: b.volume,
                            trades: b.trades,
                            ts_open: b.ts_open_ns,
                            ts_close: b.ts_close_ns,
                            seen_volume: Decimal::ZERO,
                            seen_trades: 0,
                        },
                    );
            }
            Event::Fill(f) => {
                let (list, _) = self.fills.entry(f.symbol.to_string()).or_default();
                list.push(FillCheck {
                    at,
                    ts: f.ts_fill_ns,
                    price: f.price,
                    low: None,
                    high: None,
                });
            }
            _ => {}
        }
    }

    fn trade_order(&mut self, at: Loc, t: &Trade<'_>) {
        let s = self.trades.entry(t.symbol.to_string()).or_default();
        let (last_id, last_ts) = (s.last_id, s.last_ts);
        let id = t.trade_id.parse::<u64>().ok();
        if let Some(id) = id {
            s.last_id = Some(id.max(last_id.unwrap_or(0)));
        }
        s.last_ts = s.last_ts.max(t.ts_ns);
        if t.ts_ns < last_ts {
            self.problem(
                at,
                format!(
                    "{}: time goes back: trade {} at {} after one at {last_ts}",
                    t.symbol, t.trade_id, t.ts_ns
                ),
            );
        }
        match (id, last_id) {
            (Some(id), Some(last)) if id <= last => self.problem(
                at,
                format!(
                    "{}: trade id {id} repeats or goes back (the highest so far is {last})",
                    t.symbol
                ),
            ),
            (Some(id), Some(last)) if id - last > 1 => self.problem(
                at,
                format!(
                    "{}: gap in trade ids: {}–{} missing ({} trades)",
                    t.symbol,
                    last + 1,
                    id - 1,
                    id - last - 1
                ),
            ),
            _ => {}
        }
    }

    /// Whether bars or fills wait for the second pass over the trades.
    pub fn needs_trades(&self) -> bool {
        !self.bars.is_empty() || !self.fills.is_empty()
    }

    /// Second pass: the trades again, in the same order.
    pub fn second(&mut self, ev: &Event<'_>) {
        let Event::Trade(t) = ev else { return };
        let span = self
            .span
            .entry(t.symbol.to_string())
            .or_insert((t.ts_ns, t.ts_ns));
        span.0 = span.0.min(t.ts_ns);
        span.1 = span.1.max(t.ts_ns);
        if let Some(by_len) = self.bars.get_mut(t.symbol.as_ref()) {
            for bars in by_len.values_mut() {
                if let Some((_, bar)) = bars.range_mut(..=t.ts_ns).next_back()
                    && t.ts_ns < bar.ts_close
                {
                    bar.seen_volume += t.qty;
                    bar.seen_trades += 1;
                }
            }
        }
        if let Some((fills, first_open)) = self.fills.get_mut(t.symbol.as_ref()) {
            // Fills are in time order; their windows are as long as each other, so the open
            // ones are a run from `first_open`.
            while *first_open < fills.len()
                && fills[*first_open].ts.saturating_add(FILL_WINDOW_NS) < t.ts_ns
            {
                *first_open += 1;
            }
            for f in fills[*first_open..].iter_mut() {
                if f.ts.saturating_sub(FILL_WINDOW_NS) > t.ts_ns {
                    break;
                }
                f.low = Some(f.low.map_or(t.price, |l| l.min(t.price)));
                f.high = Some(f.high.map_or(t.price, |h| h.max(t.price)));
            }
        }
    }

    /// Every problem, in input order.
    pub fn finish(mut self) -> Vec<Problem> {
        for (symbol, by_len) in std::mem::take(&mut self.bars) {
            let Some(&(first, last)) = self.span.get(&symbol) else {
                continue;
            };
            for bar in by_len.into_values().flat_map(BTreeMap::into_values) {
                // Only bars the trades cover from end to end can be compared.
                if bar.ts_open < first || bar.ts_close > last.saturating_add(1) {
                    continue;
                }
                if bar.seen_volume != bar.volume {
                    self.problem(
                        bar.at,
                        format!(
                            "{symbol}: bar volume {} but its trades sum to {}",
                            bar.volume, bar.seen_volume
                        ),
                    );
                }
                if bar.trades > 0 && bar.seen_trades != bar.trades {
                    self.problem(
                        bar.at,
                        format!(
                            "{symbol}: bar counts {} trades but {} are inside it",
                            bar.trades, bar.seen_trades
                        ),
                    );
                }
            }
        }
        for (symbol, (fills, _)) in std::mem::take(&mut self.fills) {
            for f in fills {
                if let (Some(low), Some(high)) = (f.low, f.high)
                    && (f.price < low || f.price > high)
                {
                    self.problem(
                        f.at,
                        format!(
                            "{symbol}: fill at {} outside the traded range {low}–{high} within 60 s",
                            f.price
                        ),
                    );
                }
            }
        }
        self.problems.sort_by_key(|p| p.at);
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    fn run(lines: &[&str]) -> Vec<(u64, String)> {
        let mut c = TapeCheck::new();
        let evs: Vec<_> = lines.iter().map(|l| decode(l).unwrap()).collect();
        for (i, e) in evs.iter().enumerate() {
            c.first(
                Loc {
                    file: 0,
                    line: i as u64 + 1,
                },
                e,
            );
        }
        if c.needs_trades() {
            for e in &evs {
                c.second(e);
            }
        }
        c.finish()
            .into_iter()
            .map(|p| (p.at.line, p.reason))
            .collect()
    }

    fn trade(id: u64, price: &str, qty: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{id}","price":{price},"qty":{qty},"side":"buy","ts_ns":{ts}}}"#
        )
    }

    #[test]
    fn gaps_repeats_and_time_going_back_are_found_at_their_line() {
        let l = [
            trade(1, "1", "1", 10),
            trade(2, "1", "1", 20),
            trade(5, "1", "1", 30),
            trade(5, "1", "1", 30),
            trade(6, "1", "1", 25),
        ];
        let refs: Vec<&str> = l.iter().map(String::as_str).collect();
        let p = run(&refs);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[0].0, 3);
        assert!(p[0].1.contains("3–4 missing (2 trades)"), "{}", p[0].1);
        assert_eq!(p[1].0, 4);
        assert!(p[1].1.contains("repeats"));
        assert_eq!(p[2].0, 5);
        assert!(p[2].1.contains("time goes back"));
    }

    #[test]
    fn crossed_books_and_bars_that_disagree_with_their_trades() {
        let book =
            r#"{"kind":"book","symbol":"A/USDT","bids":[[10.1,1]],"asks":[[10,1]],"ts_ns":5}"#;
        let bar = |vol: &str, n: u64| {
            format!(
                r#"{{"kind":"bar","symbol":"A/USDT","timeframe":"1m","ts_open_ns":0,"ts_close_ns":60000000000,"open":1,"high":2,"low":1,"close":2,"volume":{vol},"trades":{n}}}"#
            )
        };
        let t1 = trade(1, "1", "1.5", 0);
        let t2 = trade(2, "2", "2", 59_999_999_999);
        let good = bar("3.5", 2);
        let p = run(&[book, &t1, &t2, &good]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.contains("crossed book"));
        let bad = bar("3", 3);
        let p = run(&[&t1, &t2, &bad]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].1.contains("volume 3 but its trades sum to 3.5"),
            "{}",
            p[0].1
        );
        assert!(p[1].1.contains("counts 3 trades but 2"), "{}", p[1].1);
    }

    #[test]
    fn a_fill_outside_what_traded_around_it_is_found() {
        let fill = |price: &str| {
            format!(
                r#"{{"kind":"fill","order_id":"o","intent_id":"i","symbol":"A/USDT","side":"buy","qty":1,"price":{price},"fee":0,"ts_fill_ns":100000000000}}"#
            )
        };
        let t1 = trade(1, "10", "1", 90_000_000_000);
        let t2 = trade(2, "11", "1", 110_000_000_000);
        let far = trade(3, "50", "1", 400_000_000_000);
        let (inside, outside) = (fill("10.5"), fill("12"));
        assert!(run(&[&t1, &inside, &t2, &far]).is_empty());
        let p = run(&[&t1, &outside, &t2, &far]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, 2);
        assert!(
            p[0].1.contains("outside the traded range 10–11"),
            "{}",
            p[0].1
        );
    }
}
