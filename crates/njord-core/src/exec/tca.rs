//! Transaction-cost analysis of parent orders (implementation shortfall, Perold), from the
//! events a run leaves: market prices, the parents (orders with `exec`), the fills of their
//! children and their `exec_status`.
//!
//! Per parent, with `s` = +1 for a buy and −1 for a sell, so that a cost is positive when it
//! hurts (a buy above, a sell below):
//! - decision price: the symbol's last price at the parent's `ts_accepted_ns` (the intent's
//!   time); arrival price: the last price when the executor took it (the same instant where
//!   the executor runs in event time, so the delay cost is then 0);
//! - delay = filled × (arrival − decision) × s;
//! - impact (spread and impact) = Σ q × (fill − arrival) × s;
//! - fees = Σ fees of the children's fills (in the quote asset);
//! - opportunity = (qty − filled) × (end − decision) × s, `end` the last price when the parent
//!   ended (or when the run ended);
//! - each also in bps of the decision notional (qty × decision price); totals by algorithm,
//!   strategy and symbol add the amounts and divide by the summed decision notional.

use crate::event::{Event, Side};
use crate::num::RawJson;
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One parent's costs. A report writes its rows with [`ParentCost::write_json`], the same
/// bytes this derived form gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParentCost {
    pub parent_id: Arc<str>,
    pub strategy_id: Arc<str>,
    pub symbol: Arc<str>,
    pub side: Side,
    pub algo: Arc<str>,
    pub state: Arc<str>,
    #[serde(with = "crate::num")]
    pub qty: Decimal,
    #[serde(with = "crate::num")]
    pub filled: Decimal,
    #[serde(with = "crate::num")]
    pub decision_price: Decimal,
    #[serde(with = "crate::num")]
    pub arrival_price: Decimal,
    /// Average fill price (0 before a fill).
    #[serde(with = "crate::num")]
    pub avg_price: Decimal,
    #[serde(with = "crate::num")]
    pub end_price: Decimal,
    #[serde(flatten)]
    pub cost: Cost,
}

/// Costs in the quote asset and in bps of the decision notional.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    #[serde(with = "crate::num")]
    pub decision_notional: Decimal,
    #[serde(with = "crate::num")]
    pub delay: Decimal,
    #[serde(with = "crate::num")]
    pub impact: Decimal,
    #[serde(with = "crate::num")]
    pub fees: Decimal,
    #[serde(with = "crate::num")]
    pub opportunity: Decimal,
    #[serde(with = "crate::num")]
    pub total: Decimal,
    pub delay_bps: f64,
    pub impact_bps: f64,
    pub fees_bps: f64,
    pub opportunity_bps: f64,
    pub total_bps: f64,
}

impl Cost {
    fn add(&mut self, o: &Cost) {
        let add = |a: &mut Decimal, b: Decimal| *a = a.checked_add(b).unwrap_or(*a);
        add(&mut self.decision_notional, o.decision_notional);
        add(&mut self.delay, o.delay);
        add(&mut self.impact, o.impact);
        add(&mut self.fees, o.fees);
        add(&mut self.opportunity, o.opportunity);
        add(&mut self.total, o.total);
        self.set_bps();
    }

    fn set_bps(&mut self) {
        let n = crate::num::nearest_f64(self.decision_notional);
        let bps = |x: Decimal| {
            if n > 0.0 {
                crate::num::nearest_f64(x) / n * 10_000.0
            } else {
                0.0
            }
        };
        self.delay_bps = bps(self.delay);
        self.impact_bps = bps(self.impact);
        self.fees_bps = bps(self.fees);
        self.opportunity_bps = bps(self.opportunity);
        self.total_bps = bps(self.total);
    }
}

/// Costs summed over a group of parents (one algorithm, strategy or symbol).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCost {
    pub key: String,
    pub parents: u64,
    #[serde(flatten)]
    pub cost: Cost,
}

/// Each parent as one compact JSON object, so that a pretty-printed report keeps a parent
/// per line: a run can work thousands, and indenting each field cost more than the rest of
/// the report.
fn one_per_line<S: serde::Serializer>(parents: &[ParentCost], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(parents.len()))?;
    let mut line = Vec::with_capacity(512);
    for p in parents {
        line.clear();
        p.write_json(&mut line);
        // Only JSON text is ever written.
        seq.serialize_element(&RawJson(std::str::from_utf8(&line).unwrap_or("null")))?;
    }
    seq.end()
}

impl ParentCost {
    /// The compact JSON its `Serialize` gives (the same bytes, tested), written directly: a
    /// report can hold thousands of parents, and serde's flattened form costs several times
    /// as much.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use crate::event::write_json_str;
        use crate::num::write_plain;
        let str_field = |out: &mut Vec<u8>, key: &str, v: &str| {
            out.extend_from_slice(key.as_bytes());
            write_json_str(v, out);
        };
        let dec = |out: &mut Vec<u8>, key: &str, v: Decimal| {
            out.extend_from_slice(key.as_bytes());
            write_plain(v, out);
        };
        let float = |out: &mut Vec<u8>, key: &str, v: f64| {
            out.extend_from_slice(key.as_bytes());
            // Writing a float into a Vec cannot fail (a non-finite one is `null`).
            let _ = serde_json::to_writer(&mut *out, &v);
        };
        let c = &self.cost;
        str_field(out, "{\"parent_id\":", &self.parent_id);
        str_field(out, ",\"strategy_id\":", &self.strategy_id);
        str_field(out, ",\"symbol\":", &self.symbol);
        str_field(out, ",\"side\":", self.side.as_str());
        str_field(out, ",\"algo\":", &self.algo);
        str_field(out, ",\"state\":", &self.state);
        dec(out, ",\"qty\":", self.qty);
        dec(out, ",\"filled\":", self.filled);
        dec(out, ",\"decision_price\":", self.decision_price);
        dec(out, ",\"arrival_price\":", self.arrival_price);
        dec(out, ",\"avg_price\":", self.avg_price);
        dec(out, ",\"end_price\":", self.end_price);
        dec(out, ",\"decision_notional\":", c.decision_notional);
        dec(out, ",\"delay\":", c.delay);
        dec(out, ",\"impact\":", c.impact);
        dec(out, ",\"fees\":", c.fees);
        dec(out, ",\"opportunity\":", c.opportunity);
        dec(out, ",\"total\":", c.total);
        float(out, ",\"delay_bps\":", c.delay_bps);
        float(out, ",\"impact_bps\":", c.impact_bps);
        float(out, ",\"fees_bps\":", c.fees_bps);
        float(out, ",\"opportunity_bps\":", c.opportunity_bps);
        float(out, ",\"total_bps\":", c.total_bps);
        out.push(b'}');
    }
}

/// The report: every parent, then the totals by algorithm, strategy and symbol.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    #[serde(serialize_with = "one_per_line")]
    pub parents: Vec<ParentCost>,
    pub by_algo: Vec<GroupCost>,
    pub by_strategy: Vec<GroupCost>,
    pub by_symbol: Vec<GroupCost>,
}

#[derive(Debug)]
struct Row {
    strategy_id: Arc<str>,
    symbol: Arc<str>,
    side: Side,
    algo: Arc<str>,
    state: Arc<str>,
    qty: Decimal,
    decision: Option<Decimal>,
    filled: Decimal,
    cost: Decimal,
    fees: Decimal,
    end: Option<Decimal>,
}

/// Gathers what the report needs, event by event (in event-time order).
#[derive(Debug, Default)]
pub struct Tca {
    /// Last price per symbol, and whether it has traded (then bars no longer price it, as in
    /// paper).
    last: FxHashMap<String, (Decimal, bool)>,
    rows: BTreeMap<(i64, u64), (Arc<str>, Row)>,
    /// Row key per parent id, and of each child id.
    by_parent: FxHashMap<Arc<str>, (i64, u64)>,
    children: FxHashMap<String, (i64, u64)>,
    seq: u64,
    /// Strategies, symbols, algorithms and states, each kept once: thousands of rows share
    /// a handful of names, and the report copies them.
    names: FxHashSet<Arc<str>>,
}

/// `s` as kept in `names`, added when new.
fn intern(names: &mut FxHashSet<Arc<str>>, s: &str) -> Arc<str> {
    if let Some(n) = names.get(s) {
        return n.clone();
    }
    let n: Arc<str> = s.into();
    names.insert(n.clone());
    n
}

impl Tca {
    pub fn on_event(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Trade(t) => self.price(&t.symbol, t.price, true),
            Event::Bar(b) => self.price(&b.symbol, b.close, false),
            Event::Order(o) if o.exec.is_some() => {
                if self.by_parent.contains_key(o.intent_id.as_ref()) {
                    return;
                }
                let algo = o
                    .exec
                    .as_ref()
                    .and_then(|m| m.get("algo"))
                    .and_then(|a| a.as_str())
                    .unwrap_or("");
                self.seq += 1;
                let key = (o.ts_accepted_ns, self.seq);
                let id: Arc<str> = o.intent_id.as_ref().into();
                self.by_parent.insert(id.clone(), key);
                let row = Row {
                    strategy_id: intern(&mut self.names, o.strategy_id.as_deref().unwrap_or("")),
                    symbol: intern(&mut self.names, &o.symbol),
                    side: o.side,
                    algo: intern(&mut self.names, algo),
                    state: intern(&mut self.names, "working"),
                    qty: o.qty,
                    decision: self.last(&o.symbol),
                    filled: Decimal::ZERO,
                    cost: Decimal::ZERO,
                    fees: Decimal::ZERO,
                    end: None,
                };
                self.rows.insert(key, (id, row));
            }
            Event::Order(o) => {
                if let Some((parent, _)) = o.intent_id.rsplit_once('-')
                    && let Some(&key) = self.by_parent.get(parent)
                {
                    self.children.insert(o.intent_id.to_string(), key);
                }
            }
            Event::Fill(f) => {
                let Some(row) = self
                    .children
                    .get(f.intent_id.as_ref())
                    .and_then(|k| self.rows.get_mut(k))
                    .map(|(_, r)| r)
                else {
                    return;
                };
                row.filled = row.filled.checked_add(f.qty).unwrap_or(row.filled);
                row.cost = f
                    .qty
                    .checked_mul(f.price)
                    .and_then(|c| row.cost.checked_add(c))
                    .unwrap_or(row.cost);
                row.fees = row.fees.checked_add(f.fee).unwrap_or(row.fees);
            }
            Event::ExecStatus(s) => {
                let last = self.last(&s.symbol);
                if let Some(row) = self
                    .by_parent
                    .get(s.parent_id.as_ref())
                    .and_then(|k| self.rows.get_mut(k))
                    .map(|(_, r)| r)
                {
                    if *row.state != *s.state {
                        row.state = intern(&mut self.names, &s.state);
                    }
                    if s.is_final() {
                        row.end = last;
                    }
                }
            }
            _ => {}
        }
    }

    /// Sets a symbol's last price directly, for a caller that tracks prices itself (the
    /// backtester asks the execution core) instead of passing every trade.
    pub fn on_price(&mut self, symbol: &str, price: Decimal) {
        self.price(symbol, price, true);
    }

    /// Brings every symbol's last price up to date from `price`, for a caller that tracks
    /// prices itself: before a report, parents still working end at the last trade, as when
    /// every trade is passed.
    pub fn reprice(&mut self, price: impl Fn(&str) -> Option<Decimal>) {
        for (symbol, (last, _)) in &mut self.last {
            if let Some(p) = price(symbol) {
                *last = p;
            }
        }
    }

    fn price(&mut self, symbol: &str, price: Decimal, trade: bool) {
        match self.last.get_mut(symbol) {
            Some((_, true)) if !trade => {}
            Some(p) => *p = (price, trade || p.1),
            None => {
                self.last.insert(symbol.to_string(), (price, trade));
            }
        }
    }

    fn last(&self, symbol: &str) -> Option<Decimal> {
        self.last.get(symbol).map(|(p, _)| *p)
    }

    /// Whether any parent was seen.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The report now (parents still working end at the last price seen).
    pub fn report(&self) -> Report {
        let mut parents = Vec::with_capacity(self.rows.len());
        let done: Arc<str> = "done".into();
        for (id, r) in self.rows.values() {
            let Some(decision) = r.decision else {
                // No price before it arrived: nothing to measure against.
                continue;
            };
            let arrival = decision;
            let end = r.end.or_else(|| self.last(&r.symbol)).unwrap_or(decision);
            let s = match r.side {
                Side::Buy => Decimal::ONE,
                Side::Sell => Decimal::NEGATIVE_ONE,
            };
            let m = |a: Decimal, b: Decimal| a.checked_mul(b).unwrap_or_default();
            let delay = m(m(r.filled, arrival - decision), s);
            let impact = m(r.cost - m(r.filled, arrival), s);
            let opportunity = m(m(r.qty - r.filled, end - decision), s);
            let mut cost = Cost {
                decision_notional: m(r.qty, decision).normalize(),
                delay: delay.normalize(),
                impact: impact.normalize(),
                fees: r.fees.normalize(),
                opportunity: opportunity.normalize(),
                total: [impact, r.fees, opportunity]
                    .into_iter()
                    .try_fold(delay, |a, b| a.checked_add(b))
                    .unwrap_or_default()
                    .normalize(),
                ..Cost::default()
            };
            cost.set_bps();
            let avg = if r.filled.is_zero() {
                Decimal::ZERO
            } else {
                r.cost
                    .checked_div(r.filled)
                    .unwrap_or_default()
                    .round_dp(12)
                    .normalize()
            };
            parents.push(ParentCost {
                parent_id: id.clone(),
                strategy_id: r.strategy_id.clone(),
                symbol: r.symbol.clone(),
                side: r.side,
                algo: r.algo.clone(),
                state: if r.filled >= r.qty {
                    done.clone()
                } else {
                    r.state.clone()
                },
                qty: r.qty,
                filled: r.filled.normalize(),
                decision_price: decision,
                arrival_price: arrival,
                avg_price: avg,
                end_price: end,
                cost,
            });
        }
        let group = |key: &dyn Fn(&ParentCost) -> &Arc<str>| {
            let mut g: BTreeMap<Arc<str>, GroupCost> = BTreeMap::new();
            for p in &parents {
                let e = g.entry(key(p).clone()).or_insert_with(|| GroupCost {
                    key: key(p).to_string(),
                    parents: 0,
                    cost: Cost::default(),
                });
                e.parents += 1;
                e.cost.add(&p.cost);
            }
            g.into_values().collect::<Vec<_>>()
        };
        Report {
            by_algo: group(&|p| &p.algo),
            by_strategy: group(&|p| &p.strategy_id),
            by_symbol: group(&|p| &p.symbol),
            parents,
        }
    }
}

impl Report {
    /// The totals as an aligned table (the parents are in `--json`).
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<10} {:<24} {:>7} {:>16} {:>10} {:>10} {:>10} {:>12} {:>10}",
            "by",
            "key",
            "parents",
            "decision_notional",
            "delay_bps",
            "impact_bps",
            "fees_bps",
            "opportunity_bps",
            "total_bps"
        );
        for (by, rows) in [
            ("algo", &self.by_algo),
            ("strategy", &self.by_strategy),
            ("symbol", &self.by_symbol),
        ] {
            for g in rows {
                let c = &g.cost;
                let _ = writeln!(
                    s,
                    "{:<10} {:<24} {:>7} {:>16} {:>10.2} {:>10.2} {:>10.2} {:>12.2} {:>10.2}",
                    by,
                    g.key,
                    g.parents,
                    c.decision_notional.round_dp(2),
                    c.delay_bps,
                    c.impact_bps,
                    c.fees_bps,
                    c.opportunity_bps,
                    c.total_bps
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;
    use std::str::FromStr;

    /// The direct row writer gives serde's bytes, whatever the text, signs, scales and floats.
    #[test]
    fn row_writer_matches_serde() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let mut cost = Cost {
            decision_notional: d("1234.5000"),
            delay: d("0"),
            impact: d("-0.00000012"),
            fees: d("79228162514264337593543950335"),
            opportunity: d("-3.1"),
            total: d("0.000"),
            ..Cost::default()
        };
        for (i, bps) in [
            0.0,
            -1.5,
            1e-7,
            12_345.678_9,
            f64::NAN,
            f64::INFINITY,
            1e300,
        ]
        .into_iter()
        .enumerate()
        {
            cost.delay_bps = bps;
            cost.total_bps = -bps;
            cost.fees_bps = i as f64 / 3.0;
            let row = ParentCost {
                parent_id: format!("p\"{i}\\\u{1}é").into(),
                strategy_id: "ema".into(),
                symbol: "ATOM/USDT".into(),
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                algo: "twap".into(),
                state: "done".into(),
                qty: d("1.50"),
                filled: d("-0"),
                decision_price: d("10.0038"),
                arrival_price: d("0.0000001"),
                avg_price: d("100"),
                end_price: d("9.999"),
                cost: cost.clone(),
            };
            let mut direct = Vec::new();
            row.write_json(&mut direct);
            let serde = serde_json::to_string(&row).unwrap();
            assert_eq!(String::from_utf8(direct).unwrap(), serde);
        }
    }

    fn feed(t: &mut Tca, lines: &[String]) {
        for l in lines {
            t.on_event(&decode(l).unwrap());
        }
    }

    fn trade(p: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"trade","symbol":"A/USDT","trade_id":"{ts}","price":{p},"qty":1,"side":"buy","ts_ns":{ts}}}"#
        )
    }

    fn parent(id: &str, side: &str, qty: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"A/USDT","side":"{side}","type":"market","qty":{qty},"limit_price":null,"exec":{{"algo":"twap","duration":"1m"}},"ts_accepted_ns":{ts}}}"#
        )
    }

    fn child(id: &str, side: &str, qty: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"order","intent_id":"{id}","strategy_id":"s","venue":"v","symbol":"A/USDT","side":"{side}","type":"market","qty":{qty},"limit_price":null,"ts_accepted_ns":{ts}}}"#
        )
    }

    fn fill(id: &str, side: &str, qty: &str, price: &str, fee: &str) -> String {
        format!(
            r#"{{"kind":"fill","order_id":"x","intent_id":"{id}","strategy_id":"s","symbol":"A/USDT","side":"{side}","qty":{qty},"price":{price},"fee":{fee},"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":5}}"#
        )
    }

    fn status(id: &str, side: &str, state: &str, ts: i64) -> String {
        format!(
            r#"{{"kind":"exec_status","parent_id":"{id}","strategy_id":"s","symbol":"A/USDT","side":"{side}","algo":"twap","state":"{state}","qty":4,"sent":3,"filled":3,"avg_price":0,"remaining":1,"children":2,"ts_ns":{ts}}}"#
        )
    }

    /// Hand-checked: a buy of 4 decided at 10 fills 2 at 10.1 and 1 at 10.2 (fees 0.03) and
    /// ends with 1 unfilled at 10.5; a sell of 2 decided at 10 fills at 9.9.
    #[test]
    fn shortfall_splits_into_delay_impact_fees_and_opportunity() {
        let mut t = Tca::default();
        feed(
            &mut t,
            &[
                trade("10", 1),
                parent("b", "buy", "4", 1),
                child("b-1", "buy", "2", 2),
                fill("b-1", "buy", "2", "10.1", "0.02"),
                child("b-2", "buy", "1", 3),
                fill("b-2", "buy", "1", "10.2", "0.01"),
                trade("10.5", 4),
                status("b", "buy", "expired", 4),
                parent("s", "sell", "2", 5),
                child("s-1", "sell", "2", 5),
                fill("s-1", "sell", "2", "9.9", "0"),
                status("s", "sell", "done", 6),
            ],
        );
        let r = t.report();
        let b = &r.parents[0];
        assert_eq!(
            (b.decision_price, b.avg_price, b.end_price, b.filled),
            (
                Decimal::from(10),
                Decimal::new(10133333333333, 12),
                Decimal::new(105, 1),
                Decimal::from(3)
            )
        );
        let c = &b.cost;
        assert_eq!(
            (
                c.decision_notional,
                c.delay,
                c.impact,
                c.fees,
                c.opportunity,
                c.total
            ),
            (
                Decimal::from(40),
                Decimal::ZERO,
                Decimal::new(4, 1),
                Decimal::new(3, 2),
                Decimal::new(5, 1),
                Decimal::new(93, 2)
            )
        );
        assert!((c.impact_bps - 100.0).abs() < 1e-9 && (c.total_bps - 232.5).abs() < 1e-9);
        // The sell, decided at the last trade, 10.5: 9.9 costs 0.6 × 2 = 1.2, of 21.
        let s = &r.parents[1];
        assert_eq!(
            (s.decision_price, s.cost.impact, s.cost.opportunity),
            (Decimal::new(105, 1), Decimal::new(12, 1), Decimal::ZERO)
        );
        // Grouped: one algorithm, 2.13 over 61 of decision notional.
        assert_eq!(r.by_algo.len(), 1);
        let g = &r.by_algo[0].cost;
        assert_eq!(
            (g.total, g.decision_notional),
            (Decimal::new(213, 2), Decimal::from(61))
        );
        assert!((g.total_bps - 2.13 / 61.0 * 10_000.0).abs() < 1e-9);
        assert!(r.table().contains("twap"));
    }
}
