//! Reading a trail's records back for people: the life of one order (`trace`) and the
//! period report (`report`): blotter, fills, PnL per strategy, kill-switch actions, denials
//! by reason code, reconciliation breaks.

use super::replay::Rec;
use crate::journal::{Series, decompressed, resolve};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Every chain under `paths` with its records in order (blank and unparsable lines, such as
/// a torn last line, left out: `verify` is the place that judges them).
pub fn chains(paths: &[PathBuf]) -> Result<Vec<(String, Vec<Rec>)>, String> {
    let series = resolve(paths).map_err(|e| e.to_string())?;
    series
        .iter()
        .filter_map(|s| super::check::chain_of(s).map(|c| (c, s)))
        .map(|(chain, s)| Ok((chain, records(s)?)))
        .collect()
}

fn records(s: &Series) -> Result<Vec<Rec>, String> {
    let mut out = Vec::new();
    for f in &s.files {
        let file = std::fs::File::open(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let r = decompressed(file).map_err(|e| format!("{}: {e}", f.display()))?;
        for line in BufReader::new(r).lines() {
            let line = line.map_err(|e| format!("{}: {e}", f.display()))?;
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && let Some(seq) = v["seq"].as_u64()
            {
                out.push(Rec { seq, v });
            }
        }
    }
    Ok(out)
}

/// A record's event, parsed (`None` for records that are not events).
fn event_of(r: &Rec) -> Option<Value> {
    serde_json::from_str(r.v["event"].as_str()?).ok()
}

fn text(v: &Value, key: &str) -> String {
    shown(&v[key])
}

/// A value as a report shows it: text as itself, nothing for null.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One step in the life of an order.
#[derive(Debug, Serialize)]
pub struct Step {
    pub ts_ns: i64,
    pub chain: String,
    pub seq: u64,
    pub kind: String,
    pub event: Value,
}

/// Every audited event of the order `id` (an intent id or a client order id), across
/// chains, by time: intent, decision, order, acks and updates, fills.
pub fn trace(chains: &[(String, Vec<Rec>)], id: &str) -> Vec<Step> {
    // Ids known for this order: the intent id and its client order ids, found through the
    // events that carry both.
    let mut ids: BTreeSet<String> = BTreeSet::from([id.to_string()]);
    ids.insert(crate::broker::client_id::client_order_id(id));
    // Each record's event; a decision record holds its intent too, shown as its own step.
    let parsed: Vec<(&str, &Rec, String, Value)> = chains
        .iter()
        .flat_map(|(c, rs)| rs.iter().map(move |r| (c.as_str(), r)))
        .flat_map(|(c, r)| {
            let intent = serde_json::from_str(r.v["intent"].as_str().unwrap_or(""))
                .ok()
                .map(|i| (c, r, "intent".to_string(), i));
            let event = event_of(r).map(|e| (c, r, text(&r.v, "kind"), e));
            intent.into_iter().chain(event)
        })
        .collect();
    for (_, _, _, e) in &parsed {
        let (intent, cid) = (text(e, "intent_id"), text(e, "client_order_id"));
        if !intent.is_empty() && !cid.is_empty() && (ids.contains(&intent) || ids.contains(&cid)) {
            ids.insert(intent);
            ids.insert(cid);
        }
    }
    let mut steps: Vec<Step> = parsed
        .into_iter()
        .filter(|(_, _, kind, e)| {
            let own_id = if kind == "intent" {
                text(e, "id")
            } else {
                String::new()
            };
            [own_id, text(e, "intent_id"), text(e, "client_order_id")]
                .iter()
                .any(|x| !x.is_empty() && ids.contains(x))
        })
        .map(|(chain, r, kind, e)| Step {
            ts_ns: r.v["ts_ns"].as_i64().unwrap_or(0),
            chain: chain.to_string(),
            seq: r.seq,
            kind,
            event: e,
        })
        .collect();
    // At one time, the order things happen in: risk decides before an executor acts.
    let rank = |kind: &str| {
        [
            "intent",
            "decision",
            "order",
            "echo",
            "ack",
            "order_update",
            "fill",
            "position",
        ]
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(8)
    };
    steps.sort_by(|a, b| {
        (a.ts_ns, rank(&a.kind), &a.chain, a.seq).cmp(&(b.ts_ns, rank(&b.kind), &b.chain, b.seq))
    });
    steps
}

/// What `report` covers, by section.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub from_ns: i64,
    pub to_ns: i64,
    /// Orders risk allowed, with how each ended.
    pub orders: Vec<BTreeMap<String, Value>>,
    pub fills: Vec<BTreeMap<String, Value>>,
    /// Realized PnL and fees per strategy, from the last position of each strategy and symbol.
    pub pnl: Vec<BTreeMap<String, Value>>,
    /// Kill-switch trips and clears, and decisions that changed the trading state.
    pub trading_state: Vec<BTreeMap<String, Value>>,
    pub denials: Vec<BTreeMap<String, Value>>,
    pub reconcile_breaks: Vec<BTreeMap<String, Value>>,
    /// The venue's clock offset per hour: measurements, lowest, highest.
    pub clock_offset: Vec<BTreeMap<String, Value>>,
}

fn row(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The report of records whose time is in `[from_ns, to_ns)`.
pub fn report(chains: &[(String, Vec<Rec>)], from_ns: i64, to_ns: i64) -> Report {
    let mut rep = Report {
        from_ns,
        to_ns,
        ..Report::default()
    };
    // Last status per client order id and per intent id.
    let mut status: BTreeMap<String, (String, Value, Value)> = BTreeMap::new();
    let mut positions: BTreeMap<(String, String), (Value, Value)> = BTreeMap::new();
    let mut denials: BTreeMap<String, u64> = BTreeMap::new();
    let mut orders_seen: BTreeSet<String> = BTreeSet::new();
    let mut halted = false;
    // Per hour: (measurements, lowest, highest offset in ms).
    let mut offsets: BTreeMap<i64, (u64, i64, i64)> = BTreeMap::new();
    for (chain, recs) in chains {
        for r in recs {
            let ts = r.v["ts_ns"].as_i64().unwrap_or(0);
            if ts < from_ns || ts >= to_ns {
                continue;
            }
            let kind = r.v["kind"].as_str().unwrap_or("");
            if kind == "kill_switch" {
                rep.trading_state.push(row(&[
                    ("ts_ns", ts.into()),
                    ("chain", chain.as_str().into()),
                    ("action", r.v["action"].clone()),
                    ("by", r.v["by"].clone()),
                    ("source", r.v["source"].clone()),
                    ("reason", r.v["reason"].clone()),
                ]));
                continue;
            }
            if kind == "clock_offset" {
                let ms = r.v["venue_offset_ms"].as_i64().unwrap_or(0);
                let h = offsets
                    .entry(ts.div_euclid(3_600_000_000_000))
                    .or_insert((0, ms, ms));
                *h = (h.0 + 1, h.1.min(ms), h.2.max(ms));
                continue;
            }
            let Some(e) = event_of(r) else { continue };
            match kind {
                // An order may be in more than one executor's chain: listed once.
                "order" => {
                    if !orders_seen.insert(text(&e, "intent_id")) {
                        continue;
                    }
                    rep.orders.push(row(&[
                        ("ts_ns", ts.into()),
                        ("intent_id", e["intent_id"].clone()),
                        ("strategy", e["strategy_id"].clone()),
                        ("symbol", e["symbol"].clone()),
                        ("side", e["side"].clone()),
                        ("type", e["type"].clone()),
                        ("qty", e["qty"].clone()),
                        ("limit_price", e["limit_price"].clone()),
                    ]));
                }
                "order_update" => {
                    status.insert(
                        text(&e, "client_order_id"),
                        (
                            text(&e, "status"),
                            e["filled_qty"].clone(),
                            e["avg_price"].clone(),
                        ),
                    );
                }
                "fill" => rep.fills.push(row(&[
                    ("ts_ns", e["ts_fill_ns"].clone()),
                    ("chain", chain.as_str().into()),
                    ("intent_id", e["intent_id"].clone()),
                    ("strategy", e["strategy_id"].clone()),
                    ("symbol", e["symbol"].clone()),
                    ("side", e["side"].clone()),
                    ("qty", e["qty"].clone()),
                    ("price", e["price"].clone()),
                    ("fee", e["fee"].clone()),
                    ("fee_asset", e["fee_asset"].clone()),
                    ("liquidity", e["liquidity"].clone()),
                ])),
                "position" if chain != "njord-risk" => {
                    let key = (text(&e, "strategy_id"), text(&e, "symbol"));
                    positions.insert(key, (e["realized_pnl"].clone(), e["fees"].clone()));
                }
                "decision" => {
                    let allowed = e["allowed"].as_bool().unwrap_or(false);
                    let reason = text(&e, "reason");
                    if !allowed {
                        *denials.entry(reason.clone()).or_default() += 1;
                    }
                    let now_halted = reason == "halted";
                    if now_halted != halted && (allowed || now_halted) {
                        halted = now_halted;
                        rep.trading_state.push(row(&[
                            ("ts_ns", ts.into()),
                            ("chain", chain.as_str().into()),
                            ("action", if halted { "halted" } else { "trading" }.into()),
                            ("by", Value::Null),
                            ("source", "decision".into()),
                            ("reason", e["intent_id"].clone()),
                        ]));
                    }
                }
                "reconcile_break" => rep.reconcile_breaks.push(row(&[
                    ("ts_ns", ts.into()),
                    ("chain", chain.as_str().into()),
                    ("event", e.clone()),
                ])),
                _ => {}
            }
        }
    }
    let dec = |v: &Value| match v {
        Value::String(s) => crate::num::parse_decimal(s).unwrap_or_default(),
        Value::Number(n) => crate::num::parse_decimal(&n.to_string()).unwrap_or_default(),
        _ => rust_decimal::Decimal::ZERO,
    };
    let mut filled_by_intent: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
    for f in &rep.fills {
        *filled_by_intent.entry(shown(&f["intent_id"])).or_default() += dec(&f["qty"]);
    }
    for o in &mut rep.orders {
        let intent = o["intent_id"].as_str().unwrap_or("").to_string();
        let found = status
            .get(&crate::broker::client_id::client_order_id(&intent))
            .or_else(|| status.get(&intent));
        // Without an order update (paper fills a market order at once), the fills tell.
        let (st, filled, avg) = found.cloned().unwrap_or_else(|| {
            let filled = filled_by_intent.get(&intent).copied().unwrap_or_default();
            let st = if filled.is_zero() {
                "no fill recorded"
            } else if filled >= dec(&o["qty"]) {
                "filled"
            } else {
                "partially_filled"
            };
            (
                st.into(),
                filled.normalize().to_string().into(),
                Value::Null,
            )
        });
        o.insert("status".into(), st.into());
        o.insert("filled_qty".into(), filled);
        o.insert("avg_price".into(), avg);
    }
    let mut per_strategy: BTreeMap<String, (rust_decimal::Decimal, rust_decimal::Decimal)> =
        BTreeMap::new();
    for ((strategy, _), (pnl, fees)) in positions {
        let e = per_strategy.entry(strategy).or_default();
        e.0 += dec(&pnl);
        e.1 += dec(&fees);
    }
    rep.pnl = per_strategy
        .into_iter()
        .map(|(s, (p, f))| {
            row(&[
                ("strategy", s.into()),
                ("realized_pnl", p.normalize().to_string().into()),
                ("fees", f.normalize().to_string().into()),
            ])
        })
        .collect();
    rep.clock_offset = offsets
        .into_iter()
        .map(|(hour, (n, lo, hi))| {
            row(&[
                (
                    "hour",
                    crate::time::format_rfc3339(hour * 3_600_000_000_000).into(),
                ),
                ("measurements", n.into()),
                ("min_offset_ms", lo.into()),
                ("max_offset_ms", hi.into()),
            ])
        })
        .collect();
    rep.denials = denials
        .into_iter()
        .map(|(r, n)| row(&[("reason", r.into()), ("count", n.into())]))
        .collect();
    rep
}

/// The sections of a report in order, with their rows.
fn sections(r: &Report) -> [(&'static str, &Vec<BTreeMap<String, Value>>); 7] {
    [
        ("orders", &r.orders),
        ("fills", &r.fills),
        ("pnl", &r.pnl),
        ("trading_state", &r.trading_state),
        ("denials", &r.denials),
        ("reconcile_breaks", &r.reconcile_breaks),
        ("clock_offset", &r.clock_offset),
    ]
}

/// CSV: one block per section, its name in a first column.
pub fn to_csv(r: &Report) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for (name, rows) in sections(r) {
        let Some(first) = rows.first() else { continue };
        let cols: Vec<&String> = first.keys().collect();
        out.push_str("section,");
        out.push_str(&cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
        for row in rows {
            out.push_str(name);
            for c in &cols {
                out.push(',');
                out.push_str(&quote(&shown(&row[*c])));
            }
            out.push('\n');
        }
    }
    out
}

/// HTML: one table per section.
pub fn to_html(r: &Report) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Njord audit report</title></head><body>\n<h1>Njord audit report</h1>\n<p>{} to {}</p>\n",
        esc(&crate::time::format_rfc3339(r.from_ns)),
        esc(&crate::time::format_rfc3339(r.to_ns))
    );
    for (name, rows) in sections(r) {
        out.push_str(&format!("<h2>{name}</h2>\n"));
        let Some(first) = rows.first() else {
            out.push_str("<p>none</p>\n");
            continue;
        };
        out.push_str("<table>\n<tr>");
        for c in first.keys() {
            out.push_str(&format!("<th>{}</th>", esc(c)));
        }
        out.push_str("</tr>\n");
        for row in rows {
            out.push_str("<tr>");
            for v in row.values() {
                out.push_str(&format!("<td>{}</td>", esc(&shown(v))));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
