//! `njord-audit replay`: the risk core re-run over a risk engine's chain — the configurations
//! it loaded, the prices it had seen (`market` records), the positions it received and each
//! intent with what the shell read for it (`ext`: kill switch, shared duplicate mark, shared
//! PnL) — and every decision and order it produced compared byte for byte with the audited
//! ones.
//!
//! The risk stage records, right before each decision, the prices that changed since its
//! previous intent (a diff of its last-price table, so trades cost nothing extra), so the
//! engine's inputs are all in the chain.

use crate::config::Config;
use crate::event::{self, Event};
use crate::num::parse_decimal;
use crate::prices::LastPrices;
use crate::risk::{Caps, External, Halt, RiskEngine, RiskSettings, SharedPnl};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};

/// What the shell read for an intent, as a record field.
pub fn external_record(ext: &External) -> Value {
    let halt = match &ext.halt {
        Halt::Clear => json!("clear"),
        Halt::File => json!("file"),
        Halt::Redis => json!("redis"),
        Halt::Unreadable { source, error } => json!({"unreadable": source, "error": error}),
    };
    let pnl = match &ext.pnl {
        SharedPnl::None => Value::Null,
        SharedPnl::Usd(d) => Value::from(d.to_string()),
        SharedPnl::Unreadable(e) => json!({"unreadable": e}),
    };
    json!({"halt": halt, "seen_shared": ext.seen_shared, "pnl": pnl})
}

fn external_of(v: &Value) -> Result<External, String> {
    let halt = match &v["halt"] {
        Value::String(s) if s == "clear" => Halt::Clear,
        Value::String(s) if s == "file" => Halt::File,
        Value::String(s) if s == "redis" => Halt::Redis,
        Value::Object(m) => Halt::Unreadable {
            source: match m.get("unreadable").and_then(Value::as_str) {
                Some("redis-error") => "redis-error",
                Some("redis-key-lost") => "redis-key-lost",
                Some("file-error") => "file-error",
                _ => "unknown",
            },
            error: m.get("error").and_then(Value::as_str).unwrap_or("").into(),
        },
        other => return Err(format!("ext.halt: unknown value {other}")),
    };
    let pnl = match &v["pnl"] {
        Value::Null => SharedPnl::None,
        Value::String(s) => SharedPnl::Usd(parse_decimal(s).map_err(|e| format!("ext.pnl: {e}"))?),
        Value::Object(m) => SharedPnl::Unreadable(
            m.get("unreadable")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
        ),
        other => return Err(format!("ext.pnl: unknown value {other}")),
    };
    Ok(External {
        halt,
        seen_shared: v["seen_shared"].as_bool().unwrap_or(false),
        pnl,
    })
}

/// The prices a risk engine has seen, as last recorded: [`MarketView::changes`] gives what
/// moved since.
#[derive(Debug, Default)]
pub struct MarketView {
    recorded: Vec<Option<(Decimal, i64)>>,
}

impl MarketView {
    /// The prices that changed since the last call, as a `market` record's `prices`; `None`
    /// when nothing did.
    pub fn changes(&mut self, last: &LastPrices) -> Option<Value> {
        let mut changed = Vec::new();
        for (i, (symbol, now)) in last.iter().enumerate() {
            if i >= self.recorded.len() {
                self.recorded.push(None);
            }
            if let Some((price, ts)) = now
                && self.recorded[i] != now
            {
                self.recorded[i] = now;
                changed.push(json!({"symbol": symbol, "price": price.to_string(), "ts_ns": ts}));
            }
        }
        (!changed.is_empty()).then_some(Value::Array(changed))
    }
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub intents: u64,
    pub identical: u64,
    /// (seq of the audited record, what differs, audited line, replayed line).
    pub differences: Vec<(u64, String, String, String)>,
}

/// One record of a chain, parsed.
pub struct Rec {
    pub seq: u64,
    pub v: Value,
}

/// Re-runs the risk core over `records` (one chain, in order).
pub fn replay(records: &[Rec]) -> Result<ReplayReport, String> {
    let mut report = ReplayReport::default();
    let mut configs: HashMap<String, Config> = HashMap::new();
    let mut engine: Option<RiskEngine> = None;
    let mut config_hash = String::new();
    let mut allowed: Vec<String> = Vec::new();
    // Replayed events the next audited decision and order must equal, with the intent seq.
    let mut expected: VecDeque<(u64, String)> = VecDeque::new();
    let mut scratch = Vec::new();
    for r in records {
        let v = &r.v;
        let at = |what: &str| format!("record {}: {what}", r.seq);
        match v["kind"].as_str().unwrap_or("") {
            "start" => engine = None,
            "config" | "config_in_force" => {
                let hash = v["config_hash"].as_str().unwrap_or("").to_string();
                if let Some(text) = v["config"].as_str() {
                    let cfg: Config = serde_json::from_str(text)
                        .map_err(|e| at(&format!("configuration unreadable: {e}")))?;
                    configs.insert(hash.clone(), cfg);
                }
                let cfg = configs
                    .get(&hash)
                    .ok_or_else(|| at(&format!("configuration {hash} is not in this chain")))?;
                let caps = Caps::from(&cfg.risk);
                match engine.as_mut() {
                    Some(e) => e.set_caps(caps),
                    None => {
                        engine = Some(RiskEngine::new(
                            caps,
                            RiskSettings {
                                venue: cfg.exchange.venue.clone(),
                                dedup_window: cfg.risk.dedup_window,
                                explain: true,
                            },
                        ))
                    }
                }
                config_hash = hash;
            }
            "resume" => {
                let e = engine
                    .as_mut()
                    .ok_or_else(|| at("resume before a configuration"))?;
                allowed.iter().for_each(|id| e.remember(id));
            }
            "market" => {
                let e = engine
                    .as_mut()
                    .ok_or_else(|| at("prices before a configuration"))?;
                for p in v["prices"].as_array().into_iter().flatten() {
                    let (Some(symbol), Some(price), Some(ts)) = (
                        p["symbol"].as_str(),
                        p["price"].as_str(),
                        p["ts_ns"].as_i64(),
                    ) else {
                        return Err(at("a price needs symbol, price and ts_ns"));
                    };
                    let price = parse_decimal(price).map_err(|e| at(&e.to_string()))?;
                    e.on_trade(symbol, price, ts);
                }
            }
            "position" | "intent" => {
                let e = engine
                    .as_mut()
                    .ok_or_else(|| at("an event before a configuration"))?;
                let line = v["event"].as_str().ok_or_else(|| at("no event"))?;
                let ev = event::decode(line).map_err(|err| at(&err.to_string()))?;
                match &ev {
                    Event::Position(p) => e.on_position(p),
                    Event::Intent(i) => {
                        let ext = external_of(&v["ext"]).map_err(|m| at(&m))?;
                        let mut out = Vec::new();
                        e.on_intent(i, &ext, &mut out);
                        report.intents += 1;
                        for o in &out {
                            scratch.clear();
                            o.write_line(&mut scratch);
                            scratch.pop();
                            expected.push_back((r.seq, String::from_utf8_lossy(&scratch).into()));
                        }
                    }
                    _ => return Err(at("not a position or intent")),
                }
            }
            kind @ ("decision" | "order") => {
                let audited = v["event"].as_str().unwrap_or("").to_string();
                let Some((intent_seq, replayed)) = expected.pop_front() else {
                    report.differences.push((
                        r.seq,
                        format!("a {kind} without an audited intent before it"),
                        audited,
                        String::new(),
                    ));
                    continue;
                };
                if kind == "decision" {
                    if v["config_hash"].as_str() != Some(config_hash.as_str()) {
                        report.differences.push((
                            r.seq,
                            format!(
                                "the decision names configuration {}, but {config_hash} was in force",
                                v["config_hash"]
                            ),
                            audited.clone(),
                            replayed.clone(),
                        ));
                    }
                    if let Ok(Event::Decision(d)) = event::decode(&audited)
                        && d.allowed
                    {
                        allowed.push(d.intent_id.to_string());
                    }
                }
                if audited == replayed {
                    if kind == "decision" {
                        report.identical += 1;
                    }
                } else {
                    report.differences.push((
                        r.seq,
                        format!("the {kind} of the intent at record {intent_seq} differs"),
                        audited,
                        replayed,
                    ));
                }
            }
            _ => {}
        }
    }
    for (intent_seq, replayed) in expected {
        report.differences.push((
            intent_seq,
            "the replay decided this intent, but the chain has no such record".into(),
            String::new(),
            replayed,
        ));
    }
    Ok(report)
}
