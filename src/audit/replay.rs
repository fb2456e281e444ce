//! `njord-audit replay`: the risk core re-run over a risk engine's chain — the configurations
//! it loaded, the positions it received and each intent with what the shell read for it
//! (`ext`: kill switch, shared duplicate mark, shared PnL) and the prices it had seen — and
//! every decision it makes again compared byte for byte with the audited one.
//!
//! The risk stage writes one record per intent: the decision, with the intent as received,
//! its `ext` and the prices that changed since the previous decision (`prices`, a diff of its
//! last-price table, so trades cost nothing extra), so the engine's inputs are all in the
//! chain.

use crate::audit::push_string;
use crate::config::Config;
use crate::event::{self, Event};
use crate::num::parse_decimal;
use crate::prices::LastPrices;
use crate::risk::{Caps, External, Halt, RiskEngine, RiskSettings, SharedPnl};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

/// What the shell read for an intent, as a decision record's `ext` in canonical form,
/// appended to `out`.
pub fn write_external(ext: &External, out: &mut String) {
    out.push_str("{\"halt\":");
    match &ext.halt {
        Halt::Clear => out.push_str("\"clear\""),
        Halt::File => out.push_str("\"file\""),
        Halt::Redis => out.push_str("\"redis\""),
        Halt::Unreadable { source, error } => {
            out.push_str("{\"error\":");
            push_string(error, out);
            out.push_str(",\"unreadable\":");
            push_string(source, out);
            out.push('}');
        }
    }
    out.push_str(",\"pnl\":");
    match &ext.pnl {
        SharedPnl::None => out.push_str("null"),
        SharedPnl::Usd(d) => push_string(&d.to_string(), out),
        SharedPnl::Unreadable(e) => {
            out.push_str("{\"unreadable\":");
            push_string(e, out);
            out.push('}');
        }
    }
    out.push_str(",\"seen_shared\":");
    out.push_str(if ext.seen_shared { "true" } else { "false" });
    out.push('}');
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
    /// The prices that changed since the last call, as a decision record's `prices` in
    /// canonical form, appended to `out` (nothing when none did).
    pub fn changes(&mut self, last: &LastPrices, out: &mut String) {
        let start = out.len();
        for (i, (symbol, now)) in last.iter().enumerate() {
            if i >= self.recorded.len() {
                self.recorded.push(None);
            }
            if let Some((price, ts)) = now
                && self.recorded[i] != now
            {
                self.recorded[i] = now;
                out.push_str(if out.len() == start { "[" } else { "," });
                out.push_str("{\"price\":\"");
                let _ = write!(out, "{price}");
                out.push('"');
                out.push_str(",\"symbol\":");
                push_string(symbol, out);
                out.push_str(",\"ts_ns\":");
                out.push_str(itoa::Buffer::new().format(ts));
                out.push('}');
            }
        }
        if out.len() > start {
            out.push(']');
        }
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
    let mut scratch = Vec::new();
    // A chain written before one record per intent holds the intent in a record of its own
    // (its line as `event`, with `ext`), then its decision: the intent waits here for it.
    let mut legacy_intent: Option<&Value> = None;
    // Audited decisions waiting for the replay's: the legs of a group are decided together,
    // when the last comes (or at the end), in the order they came.
    let mut awaiting = Awaiting::default();
    let mut out = Vec::new();
    for r in records {
        let v = &r.v;
        let at = |what: &str| format!("record {}: {what}", r.seq);
        match v["kind"].as_str().unwrap_or("") {
            "start" => {
                // The process before this start decided its held legs at its end.
                if let Some(mut e) = engine.take() {
                    out.clear();
                    e.on_end(&mut out);
                    awaiting.settle(&out, &mut scratch, &mut report);
                }
            }
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
            "position" | "intent" | "decision" => {
                let e = engine
                    .as_mut()
                    .ok_or_else(|| at("an event before a configuration"))?;
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
                let line = v["event"].as_str().ok_or_else(|| at("no event"))?;
                match v["kind"].as_str() {
                    Some("position") => {
                        match event::decode(line).map_err(|err| at(&err.to_string()))? {
                            Event::Position(p) => e.on_position(&p),
                            _ => return Err(at("not a position")),
                        }
                        continue;
                    }
                    Some("intent") => {
                        legacy_intent = Some(v);
                        continue;
                    }
                    _ => {}
                }
                let audited = line.to_string();
                if let Ok(Event::Decision(d)) = event::decode(&audited)
                    && d.allowed
                {
                    allowed.push(d.intent_id.to_string());
                }
                // The intent this record holds, or the one recorded before it.
                let source = match v.get("intent") {
                    Some(Value::String(intent)) => Some((intent.as_str(), &v["ext"])),
                    _ => legacy_intent
                        .take()
                        .and_then(|i| Some((i["event"].as_str()?, &i["ext"]))),
                };
                let Some((intent, ext)) = source else {
                    report.differences.push((
                        r.seq,
                        "a decision without the intent it decides".into(),
                        audited,
                        String::new(),
                    ));
                    continue;
                };
                let Event::Intent(i) = event::decode(intent).map_err(|err| at(&err.to_string()))?
                else {
                    return Err(at("`intent` is not an intent"));
                };
                let ext = external_of(ext).map_err(|m| at(&m))?;
                report.intents += 1;
                if v["config_hash"].as_str() != Some(config_hash.as_str()) {
                    report.differences.push((
                        r.seq,
                        format!(
                            "the decision names configuration {}, but {config_hash} was in force",
                            v["config_hash"]
                        ),
                        audited.clone(),
                        String::new(),
                    ));
                }
                awaiting.0.push_back((r.seq, audited));
                out.clear();
                e.on_intent(&i, &ext, &mut out);
                awaiting.settle(&out, &mut scratch, &mut report);
            }
            _ => {}
        }
    }
    if let Some(e) = engine.as_mut() {
        out.clear();
        e.on_end(&mut out);
        awaiting.settle(&out, &mut scratch, &mut report);
    }
    for (seq, audited) in awaiting.0 {
        report.differences.push((
            seq,
            "the replay made no decision on this intent".into(),
            audited,
            String::new(),
        ));
    }
    Ok(report)
}

/// Audited decisions (seq, line) the replay has not decided yet, oldest first.
#[derive(Default)]
struct Awaiting(VecDeque<(u64, String)>);

impl Awaiting {
    /// Compares each decision in `out` with the oldest audited one waiting. The order an
    /// allowed decision brings is not in risk's chain.
    fn settle(&mut self, out: &[Event<'_>], scratch: &mut Vec<u8>, report: &mut ReplayReport) {
        for d in out.iter().filter(|e| matches!(e, Event::Decision(_))) {
            scratch.clear();
            d.write_line(scratch);
            scratch.pop();
            let replayed = String::from_utf8_lossy(scratch).into_owned();
            match self.0.pop_front() {
                Some((_, audited)) if audited == replayed => report.identical += 1,
                Some((seq, audited)) => report.differences.push((
                    seq,
                    "the decision differs from the replay's".into(),
                    audited,
                    replayed,
                )),
                None => report.differences.push((
                    0,
                    "the replay made a decision the chain does not hold".into(),
                    String::new(),
                    replayed,
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_shell_read_is_canonical_and_reads_back() {
        let cases = [
            External::default(),
            External {
                halt: Halt::Unreadable {
                    source: "redis-error",
                    error: "connection \"refused\"\n".into(),
                },
                seen_shared: true,
                pnl: SharedPnl::Usd(Decimal::new(-12345, 2)),
            },
            External {
                halt: Halt::File,
                seen_shared: false,
                pnl: SharedPnl::Unreadable("njord:pnl:day: not a number".into()),
            },
        ];
        for ext in cases {
            let mut text = String::new();
            write_external(&ext, &mut text);
            let v: Value = serde_json::from_str(&text).unwrap();
            let mut again = String::new();
            crate::audit::canonical(&v, &mut again).unwrap();
            assert_eq!(again, text);
            assert_eq!(external_of(&v).unwrap(), ext);
        }
        let mut last = LastPrices::default();
        last.set("ATOM/USDT", Decimal::new(1050, 2), 7);
        let mut view = MarketView::default();
        let mut prices = String::new();
        view.changes(&last, &mut prices);
        assert_eq!(
            prices,
            r#"[{"price":"10.50","symbol":"ATOM/USDT","ts_ns":7}]"#
        );
        prices.clear();
        view.changes(&last, &mut prices);
        assert_eq!(prices, "", "nothing moved since");
    }
}
