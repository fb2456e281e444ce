//! `xs_momentum`: cross-sectional momentum. Ranks the strategy's symbols by their return over
//! the last `lookback` bars and holds the `top` best, rebalancing on bar closes.
//!
//! A close time is ranked once every symbol seen so far has its bar of that time, or, when
//! one is missing, as the next close time begins, among the symbols that reported it (a held
//! symbol without a bar is neither ranked nor sold then). Every
//! `rebalance` ranked closes, symbols leaving the top are sold (what was bought of them) and
//! symbols entering it are bought for `quote` of the quote asset at their close, rounded down
//! to `step`. Ties rank by symbol name, so the choice is deterministic. Symbols without
//! `lookback` + 1 closes yet are not ranked. `meta` has the symbol's `rank` (1 is best),
//! `return` and `lookback`.

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, STEP, Scope};
use super::{Context, Strategy, StrategyError, meta};
use crate::event::{Event, Intent, Side};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

pub const CLASS: Class = Class {
    name: "xs_momentum",
    about: "Holds the top symbols by return over a lookback, rebalanced on bar closes",
    params: &[
        ParamSpec {
            name: "lookback",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(20)),
            help: "bars the return is measured over",
        },
        ParamSpec {
            name: "top",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(3)),
            help: "symbols held",
        },
        ParamSpec {
            name: "rebalance",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(1)),
            help: "ranked closes between two rebalances",
        },
        ParamSpec {
            name: "quote",
            kind: ParamKind::PositiveDecimal,
            default: None,
            help: "quote asset spent on each symbol bought",
        },
        STEP,
    ],
    build,
    scope: Scope::Shared,
    open: false,
};

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    Ok(Box::new(XsMomentum {
        lookback: p.usize("lookback")?,
        top: p.usize("top")?,
        rebalance: p.usize("rebalance")?,
        quote: p.decimal("quote")?,
        step: p.decimal("step")?,
        symbols: BTreeMap::new(),
        ranked_ts: i64::MIN,
        latest: i64::MIN,
        ranked: 0,
    }))
}

#[derive(Default)]
struct Series {
    closes: VecDeque<f64>,
    close: Decimal,
    ts_ns: i64,
    /// What the strategy bought and holds.
    held: Option<Decimal>,
}

pub struct XsMomentum {
    lookback: usize,
    top: usize,
    rebalance: usize,
    quote: Decimal,
    step: Decimal,
    /// By symbol: name order is the tie-break.
    symbols: BTreeMap<String, Series>,
    /// The last close time ranked.
    ranked_ts: i64,
    /// The latest close time seen.
    latest: i64,
    /// Closes ranked so far.
    ranked: usize,
}

impl Strategy for XsMomentum {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let ts = ctx.ts_ns();
        // A close some symbol never reported is ranked when a later one begins, before this
        // event's bar counts, with the symbols that did report.
        if self.latest > self.ranked_ts && ts > self.latest {
            self.rank(self.latest, ctx, out);
        }
        if !self.symbols.contains_key(ctx.symbol()) {
            self.symbols
                .insert(ctx.symbol().to_owned(), Series::default());
        }
        if let Some(s) = self.symbols.get_mut(ctx.symbol()) {
            if s.closes.len() > self.lookback {
                s.closes.pop_front();
            }
            s.closes.push_back(ctx.price_f64());
            s.close = ctx.price();
            s.ts_ns = ts;
        }
        self.latest = self.latest.max(ts);
        if ts > self.ranked_ts && self.symbols.values().all(|s| s.ts_ns == ts) {
            self.rank(ts, ctx, out);
        }
        Ok(())
    }
}

impl XsMomentum {
    /// Ranks close time `t` among the symbols with a bar of it and, on a rebalance, trades
    /// the change of the top: a held symbol without a bar of `t` is neither ranked nor sold.
    fn rank(&mut self, t: i64, ctx: &Context<'_>, out: &mut Vec<Intent<'static>>) {
        self.ranked_ts = t;
        self.ranked += 1;
        if !(self.ranked - 1).is_multiple_of(self.rebalance) {
            return;
        }
        let reported = |s: &Series| s.ts_ns == t;
        let mut ranks: Vec<(&str, f64)> = self
            .symbols
            .iter()
            .filter(|(_, s)| reported(s) && s.closes.len() > self.lookback)
            .filter_map(|(sym, s)| {
                let (first, last) = (*s.closes.front()?, *s.closes.back()?);
                let r = last / first - 1.0;
                r.is_finite().then_some((sym.as_str(), r))
            })
            .collect();
        // Best first; a stable sort keeps name order among equals.
        ranks.sort_by(|a, b| b.1.total_cmp(&a.1));
        let chosen = |sym: &str| ranks.iter().take(self.top).any(|(s, _)| *s == sym);
        let ranked: BTreeMap<&str, (usize, f64)> = ranks
            .iter()
            .enumerate()
            .map(|(i, (s, r))| (*s, (i + 1, *r)))
            .collect();
        let lookback = self.lookback as f64;
        let mut orders = Vec::new();
        for (sym, s) in self.symbols.iter().filter(|(_, s)| reported(s)) {
            let (rank, ret) = ranked.get(sym.as_str()).copied().unwrap_or((0, f64::NAN));
            let values = [
                ("rank", rank as f64),
                ("return", ret),
                ("lookback", lookback),
            ];
            match (s.held, chosen(sym)) {
                (Some(q), false) => orders.push((sym.clone(), Side::Sell, q, values)),
                (None, true) => {
                    let q = self
                        .quote
                        .checked_div(s.close)
                        .and_then(|units| units.checked_div(self.step))
                        .map(|steps| steps.floor() * self.step)
                        .unwrap_or_default();
                    if q > Decimal::ZERO {
                        orders.push((sym.clone(), Side::Buy, q, values));
                    }
                }
                _ => {}
            }
        }
        // Sells first: they free the quote the buys spend.
        orders.sort_by_key(|o| o.1 == Side::Buy);
        for (sym, side, qty, values) in orders {
            if let Some(s) = self.symbols.get_mut(&sym) {
                s.held = (side == Side::Buy).then_some(qty);
            }
            out.push(ctx.intent_on(&sym, side, qty, || meta(values)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::super::testing::{bar, manager};
    use crate::event::Event;

    const YAML: &str = "strategies:\n  - {id: m, class: xs_momentum, symbols: ['*'], events: [bar], params: {lookback: 2, top: 1, quote: 100, step: 0.01}}\n";

    /// (symbol, side, qty) of every intent after feeding closes of A, B and C per bar.
    fn run(closes: &[[&str; 3]]) -> Vec<(String, String, String)> {
        let mut m = manager(Registry::builtin(), YAML);
        let mut out = Vec::new();
        for (i, row) in closes.iter().enumerate() {
            for (sym, c) in ["A/USDT", "B/USDT", "C/USDT"].iter().zip(row) {
                m.on_event(&bar(sym, "1m", c, i as i64 + 1), &mut out);
            }
        }
        out.iter()
            .map(|e| match e {
                Event::Intent(i) => (i.symbol.to_string(), i.side.to_string(), i.qty.to_string()),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn holds_the_best_and_rotates_when_the_ranking_changes() {
        let got = run(&[
            ["10", "20", "40"],
            ["11", "20", "40"],
            // A +20 % over 2 bars, B 0, C −5 %: buy A.
            ["12", "20", "38"],
            // A 12/11 − 1 = 9 %, B 30/20 − 1 = 50 %: rotate into B.
            ["12", "30", "38"],
            // Still B (30/20).
            ["12", "30", "38"],
        ]);
        assert_eq!(
            got,
            [
                ("A/USDT".into(), "buy".into(), "8.33".into()),
                ("A/USDT".into(), "sell".into(), "8.33".into()),
                ("B/USDT".into(), "buy".into(), "3.33".into()),
            ]
        );
    }

    #[test]
    fn ties_rank_by_name_and_a_missing_bar_waits_for_the_next_close() {
        // Equal returns: A ranks before B.
        let got = run(&[["10", "10", "10"], ["10", "10", "10"], ["11", "11", "9"]]);
        assert_eq!(got, [("A/USDT".into(), "buy".into(), "9.09".into())]);
        // C's third bar never comes: that close is ranked, among A and B, when the fourth
        // begins, before A's fourth bar counts; A's fourth bar then waits for the others.
        let mut m = manager(Registry::builtin(), YAML);
        let mut out = Vec::new();
        for i in 1..=3 {
            m.on_event(&bar("A/USDT", "1m", "10", i), &mut out);
            m.on_event(&bar("B/USDT", "1m", &format!("{}", 10 + i), i), &mut out);
            if i < 3 {
                m.on_event(&bar("C/USDT", "1m", "10", i), &mut out);
            }
        }
        assert!(out.is_empty());
        m.on_event(&bar("A/USDT", "1m", "99", 4), &mut out);
        let Some(crate::event::Event::Intent(i)) = out.first() else {
            panic!("{out:?}")
        };
        // B: 13/11 − 1 is the best return at close 3; bought at its close of 13.
        assert_eq!(
            (&*i.symbol, &*i.side, i.qty.to_string()),
            ("B/USDT", "buy", "7.69".into())
        );
        assert_eq!(out.len(), 1);
    }
}
