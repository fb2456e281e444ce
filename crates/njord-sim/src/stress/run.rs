//! `njord-stress run`: one scenario after another, each in OUT/NAME.

use super::assert::{Outcome, evaluate};
use super::drive::{Action, Driver};
use super::evidence::{self, Evidence, Journal};
use super::report::{self, Chart};
use super::schema::Scenario;
use super::stack::{Ctl, SimProc, Webhook, now_ns, write_files};
use super::{RunArgs, load, tape};
use njord::app::Error;
use njord::event::{Event, Trade};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The most trades stepped while the session comes up (and at most half the trades before the
/// first action, so that a slow start leaves the warm-up room).
const PREROLL: usize = 30;

/// Runs every scenario; exit 1 if an assertion failed, 2 if a scenario could not run.
pub fn run_all(a: &RunArgs) -> Result<(), Error> {
    let mut failed = 0;
    let mut broken = Vec::new();
    for path in &a.scenarios {
        match run_one(path, &a.out, a.keep) {
            Ok((true, dir)) => eprintln!("PASS {} ({})", path.display(), dir),
            Ok((false, dir)) => {
                failed += 1;
                eprintln!("FAIL {} (see {dir}/report.html)", path.display());
            }
            Err(e) => {
                eprintln!("ERROR {}: {e}", path.display());
                broken.push(e);
            }
        }
    }
    if !broken.is_empty() {
        return Err(Error::Exit(2));
    }
    njord::app::exit_status(u8::from(failed > 0))
}

/// The tape's trades, moved so the first one is now: the stages compare prices' times with
/// the wall clock (a live broker refuses a stale reference price).
fn rebased(bytes: &[u8], origin: &Path) -> Result<Vec<Trade<'static>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut trades: Vec<Trade<'static>> = text
        .lines()
        .filter_map(|l| match njord::event::decode(l).map(Event::into_owned) {
            Ok(Event::Trade(t)) => Some(t),
            _ => None,
        })
        .collect();
    let first = trades
        .first()
        .map(|t| t.ts_ns)
        .ok_or_else(|| format!("{}: the tape has no trades", origin.display()))?;
    let shift = now_ns() - first;
    for t in &mut trades {
        t.ts_ns += shift;
    }
    Ok(trades)
}

/// `(trade index, action, offset text, event number)`, in the order they happen: at one
/// index, events before intents, each in file order.
fn schedule(
    s: &Scenario,
    trades: &[Trade<'_>],
    symbol: &str,
) -> Result<Vec<(usize, Action, String, usize)>, String> {
    let first = trades.first().map(|t| t.ts_ns).unwrap_or(0);
    let index = |at: &str, key: String| -> Result<usize, String> {
        let off = njord::stress::parse_offset(at).map_err(|e| format!("{key}: {e}"))?;
        Ok(trades.partition_point(|t| t.ts_ns < first + off))
    };
    let mut out = Vec::new();
    for (n, e) in s.events.iter().enumerate() {
        let key = format!("events[{n}]");
        let at = index(&e.at, format!("{key}.at"))?;
        let set = [
            e.fault.is_some(),
            e.clear,
            e.hold.is_some(),
            e.kill.is_some(),
        ];
        if set.iter().filter(|b| **b).count() != 1 {
            return Err(format!("{key}: exactly one of fault, clear, hold, kill"));
        }
        let action = if let Some(f) = &e.fault {
            Action::Fault(f.clone())
        } else if e.clear {
            Action::Clear
        } else if let Some(h) = &e.hold {
            let ns = njord::stress::parse_offset(h).map_err(|e| format!("{key}.hold: {e}"))?;
            Action::Hold(Duration::from_nanos(ns.max(0) as u64))
        } else {
            let k = e
                .kill
                .as_ref()
                .map(|k| k.reason.clone())
                .unwrap_or_default();
            Action::Kill(k)
        };
        out.push((at, action, e.at.clone(), n));
        if let Some(until) = &e.until {
            if e.fault.is_none() {
                return Err(format!("{key}.until: only with a fault"));
            }
            out.push((
                index(until, format!("{key}.until"))?,
                Action::Until(n),
                until.clone(),
                n,
            ));
        }
    }
    for (n, i) in s.intents.iter().enumerate() {
        let key = format!("intents[{n}]");
        if !matches!(i.side.as_str(), "buy" | "sell") {
            return Err(format!("{key}.side: buy or sell, not {}", i.side));
        }
        // Decimals as JSON numbers, as the event format has them (shortest form round-trips).
        let num = |d: Decimal| {
            serde_json::from_str::<Value>(&d.normalize().to_string()).unwrap_or_default()
        };
        let mut v = json!({"kind": "intent", "id": i.id, "ts_ns": 0, "strategy_id": "stress",
            "symbol": symbol, "side": i.side, "type": i.order_type, "qty": num(i.qty)});
        if let Some(p) = i.limit_price {
            v["limit_price"] = num(p);
        }
        if let Some(t) = &i.time_in_force {
            v["time_in_force"] = json!(t);
        }
        njord::event::decode(&v.to_string()).map_err(|e| format!("{key}: not an intent: {e}"))?;
        out.push((
            index(&i.at, format!("{key}.at"))?,
            Action::Intent(v),
            i.at.clone(),
            usize::MAX,
        ));
    }
    out.sort_by_key(|(i, a, _, _)| (*i, matches!(a, Action::Intent(_))));
    Ok(out)
}

/// Runs one scenario in OUT/NAME: Ok((passed, dir)), or Err when it could not run.
fn run_one(path: &Path, out: &Path, keep: bool) -> Result<(bool, String), String> {
    let started = Instant::now();
    let started_ns = now_ns();
    let s = load(path)?;
    let at = |e: String| format!("{} (scenario {}): {e}", path.display(), s.name);
    if s.assertions.is_empty() {
        return Err(at(
            "no assertions: a tape-only scenario is for `njord-stress tape`".into(),
        ));
    }
    let bytes = tape(&s, path)?;
    let trades = rebased(&bytes, path)?;
    let symbol = trades[0].symbol.to_string();
    let (base, quote) = symbol
        .split_once('/')
        .ok_or_else(|| at(format!("the tape's symbol {symbol} is not BASE/QUOTE")))?;
    let plan = schedule(&s, &trades, &symbol).map_err(at)?;
    let settle = njord::stress::parse_offset(&s.drive.settle_timeout)
        .map_err(|e| at(format!("drive.settle_timeout: {e}")))?;
    let dir = out.join(&s.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    for t in &trades {
        Event::Trade(t.clone()).write_line(&mut lines);
    }
    std::fs::write(dir.join("tape.ndjson"), &lines).map_err(|e| e.to_string())?;

    let sim = SimProc::spawn(&dir, &dir.join("tape.ndjson"), &s.venue.args).map_err(at)?;
    let mut ev = Evidence {
        symbol: symbol.clone(),
        base: base.into(),
        quote: quote.into(),
        account_before: evidence::balances(&sim.signed("GET", "/api/v3/account", "").map_err(at)?),
        daily_loss_cap: match &s.stack.config["risk"]["daily_loss_usd_cap"] {
            Value::Null => None,
            v => Some(evidence::dec(v)),
        },
        ..Default::default()
    };
    let webhook = match &s.stack.alerts {
        Some(_) => Some(Webhook::start().map_err(at)?),
        None => None,
    };
    let files = write_files(
        &s,
        &dir,
        &sim,
        &symbol,
        webhook.as_ref().map(|w| w.url.as_str()),
    )
    .map_err(at)?;
    // Ingest is ready once its book is built from the feed, which takes a few trades, and
    // `status` answers only once the whole session is up: a second thread steps the tape
    // slowly meanwhile (pacing, not waiting), at most PREROLL trades.
    let first_action = plan.first().map_or(trades.len(), |(i, ..)| *i);
    let preroll_cap = PREROLL.min(trades.len() / 5).min(first_action / 2);
    let preroll = AtomicUsize::new(0);
    let up_done = AtomicBool::new(false);
    let ctl = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !up_done.load(Ordering::Relaxed) && preroll.load(Ordering::Relaxed) < preroll_cap
            {
                match sim.control("step", &json!({"trades": 1})) {
                    Ok(v) => preroll.fetch_add(
                        v["played"].as_u64().unwrap_or(0) as usize,
                        Ordering::Relaxed,
                    ),
                    Err(_) => return,
                };
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        let up = Ctl::up(&dir, files);
        up_done.store(true, Ordering::Relaxed);
        up
    })
    .map_err(at)?;
    let mut driver = Driver::new(
        &sim,
        &ctl,
        Journal::new(&dir.join("sim.journal.ndjson")),
        Duration::from_nanos(settle as u64),
    )
    .map_err(at)?;
    let stages = ctl.metrics().len().saturating_sub(1);
    let mut played = preroll.into_inner();
    // The warm-up may use the trades left before the first action, and no more.
    let room = first_action.saturating_sub(played) as u64;
    played += driver.warm_up(stages, room).map_err(at)? as usize;
    let warm = played;
    // Actions happen at their offsets, or the run says it could not keep them.
    if let Some((i, _, offset, _)) = plan.first().filter(|(i, ..)| *i < played) {
        return Err(at(format!(
            "the stack took {played} trades to come up, past the first action at {offset} (trade {i}); start it later"
        )));
    }
    let mut clock: Vec<(i64, i64)> = Vec::new();
    let driven = (|| -> Result<(), String> {
        let step = s.drive.step.max(1) as usize;
        let mut todo = plan.iter().peekable();
        loop {
            while let Some((i, action, offset, n)) = todo.peek().copied() {
                if *i > played {
                    break;
                }
                let ts = trades[played.saturating_sub(1)].ts_ns;
                driver.act(*n, action, ts, offset)?;
                todo.next();
            }
            if played >= trades.len() {
                return Ok(());
            }
            let next_action = todo.peek().map_or(trades.len(), |(i, ..)| *i);
            let n = step
                .min(next_action.max(played + 1) - played)
                .min(trades.len() - played);
            let got = driver.step(n as u64)? as usize;
            played += got;
            clock.push((now_ns(), trades[played.saturating_sub(1)].ts_ns));
            if got < n {
                return Ok(());
            }
        }
    })()
    .and_then(|_| driver.finish());
    let error = driven
        .and_then(|_| evidence::venue(&mut ev, &sim, &driver.journal))
        .err();
    ev.marks = driver.marks.clone();
    ev.intents = driver.intents.clone();
    let restarts = ctl.restarts();
    let processes = ctl.processes();
    let bus = ctl.bus();
    let timeline = std::mem::take(&mut driver.timeline);
    let barriers = json!({"count": driver.barriers, "max_ms": driver.barrier_max_ms});
    drop(driver);
    // `down` first: the stages flush their journals as they stop.
    drop(ctl);
    if error.is_none() {
        evidence::files(&mut ev, &dir, webhook.as_ref().map(|w| &w.received));
    }
    drop(sim);

    let mut outcomes: Vec<Outcome> = match &error {
        None => s.assertions.iter().map(|a| evaluate(a, &ev)).collect(),
        Some(_) => Vec::new(),
    };
    if !restarts.is_empty() {
        // A stage that crashed under a fault is a finding, whatever else held.
        outcomes.push(Outcome {
            name: "no_stage_restarted".into(),
            passed: false,
            checked: restarts.len() as u64,
            detail: format!("restarted: {restarts:?}"),
            evidence: vec![],
        });
    }
    let passed = error.is_none() && outcomes.iter().all(|o| o.passed);
    let mut denials = std::collections::BTreeMap::<&str, u64>::new();
    for d in ev.decisions.iter().filter(|d| !d.allowed) {
        *denials.entry(&d.reason).or_default() += 1;
    }
    let mut http = std::collections::BTreeMap::<String, u64>::new();
    for r in ev.responses.values() {
        *http.entry(r.class()).or_default() += 1;
    }
    let kept = keep || !passed;
    let report = json!({
        "scenario": s.name, "file": path.display().to_string(), "about": s.about,
        "passed": passed, "error": error,
        "started_at_ns": started_ns, "wall_s": started.elapsed().as_secs_f64(),
        "njord_version": env!("CARGO_PKG_VERSION"),
        "tape": {"trades": trades.len(), "played": played, "played_to_come_up": warm, "symbol": symbol,
            "first_ts_ns": trades[0].ts_ns, "last_ts_ns": trades[trades.len() - 1].ts_ns,
            "sha256": hex::encode(Sha256::digest(&bytes))},
        "stack": {"controller": "njord-ctl", "bus": bus, "venue": "njord-sim", "processes": processes},
        "timeline": timeline,
        "assertions": outcomes,
        "counts": {"intents": ev.intents.len(), "decisions": ev.decisions.len(), "denials": denials,
            "venue_orders": ev.orders.len(), "fills": ev.venue_trades.len(), "http": http},
        "venue": {"orders": ev.orders, "open_orders": ev.open_orders,
            "account_before": ev.account_before, "account_after": ev.account_after},
        "trip": ev.trip, "alerts": ev.alerts,
        "barriers": barriers,
        "artifacts": if kept { json!({"sim_journal": "sim.journal.ndjson", "logs": "state/logs",
            "journals": "journal", "audit": "audit", "ctl_log": "ctl.log"}) } else { json!({}) },
    });
    let chart = chart(&report, &trades, &ev, &clock);
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write(
        "report.json",
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )?;
    write("report.html", report::html(&report, &chart))?;
    if !kept {
        for p in [
            "state",
            "journal",
            "audit",
            "log",
            "sim.journal.ndjson",
            "tape.ndjson",
        ] {
            let p = dir.join(p);
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
    // A run that could not finish is a stack error (exit 2), with its report written.
    if let Some(e) = error {
        return Err(at(e));
    }
    Ok((passed, dir.display().to_string()))
}

/// The chart's series on the tape clock; venue orders (wall time) are placed by the
/// (wall, tape) pairs recorded at each step.
fn chart(report: &Value, trades: &[Trade<'_>], ev: &Evidence, clock: &[(i64, i64)]) -> Chart {
    let to_tape = |wall_ns: i64| {
        clock
            .iter()
            .take_while(|(w, _)| *w <= wall_ns)
            .last()
            .map_or(trades[0].ts_ns, |(_, t)| *t)
    };
    let f = |d: Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
    let mut bands = Vec::new();
    let mut open: Vec<(i64, String)> = Vec::new();
    for t in report["timeline"].as_array().into_iter().flatten() {
        let ts = t["tape_ts_ns"].as_i64().unwrap_or(0);
        match t["action"].as_str() {
            Some("fault") => {
                open.push((ts, t["detail"]["fault"].as_str().unwrap_or("").to_string()))
            }
            Some("until") | Some("clear") => {
                bands.extend(open.drain(..).map(|(from, l)| (from, ts, l)));
            }
            Some("hold") => bands.push((ts, ts, format!("hold {}", t["detail"]))),
            _ => {}
        }
    }
    let end = trades.last().map_or(0, |t| t.ts_ns);
    bands.extend(open.into_iter().map(|(from, l)| (from, end, l)));
    Chart {
        prices: trades.iter().map(|t| (t.ts_ns, f(t.price))).collect(),
        bands,
        orders: ev
            .orders
            .iter()
            .map(|o| {
                let p = if o.price > Decimal::ZERO || o.executed_qty.is_zero() {
                    o.price
                } else {
                    o.quote_qty / o.executed_qty
                };
                (
                    to_tape(o.time_ms * 1_000_000),
                    f(p),
                    o.side.clone(),
                    o.status.clone(),
                )
            })
            .collect(),
        halt: ev
            .trip
            .as_ref()
            .map(|t| t.ts_ns)
            .or(ev.marks.get("kill").copied())
            .map(to_tape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trades(n: i64) -> Vec<Trade<'static>> {
        (0..n)
            .map(|i| {
                let line = format!(
                    r#"{{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"{i}","price":10,"qty":1,"side":"buy","ts_ns":{}}}"#,
                    i * 1_000_000_000
                );
                match njord::event::decode(&line).map(Event::into_owned) {
                    Ok(Event::Trade(t)) => t,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    fn scenario(extra: &str) -> Scenario {
        serde_saphyr::from_str(&format!(
            "name: s\ntape: {{gen: []}}\n{extra}assertions:\n  - one_order_per_intent: {{}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn actions_at_one_offset_run_events_first_and_until_ends_its_fault() {
        let s = scenario(
            "intents:\n  - {at: 1m, id: a, side: buy, qty: 0.5}\nevents:\n  - {at: 1m, until: 2m, fault: {fault: outage}}\n  - {at: 90s, hold: 1s}\n",
        );
        let plan = schedule(&s, &trades(200), "ATOM/USDT").unwrap();
        let kinds: Vec<(usize, &str)> = plan
            .iter()
            .map(|(i, a, ..)| {
                let k = match a {
                    Action::Fault(_) => "fault",
                    Action::Intent(_) => "intent",
                    Action::Hold(_) => "hold",
                    Action::Until(0) => "until",
                    _ => "other",
                };
                (*i, k)
            })
            .collect();
        assert_eq!(
            kinds,
            [(60, "fault"), (60, "intent"), (90, "hold"), (120, "until")]
        );
        let Action::Intent(v) = &plan[1].1 else {
            unreachable!()
        };
        assert!(v.to_string().contains(r#""qty":0.5"#), "{v}");
    }

    #[test]
    fn a_bad_event_or_intent_is_named() {
        let t = trades(10);
        let both = scenario("events:\n  - {at: 1s, hold: 1s, clear: true}\n");
        assert!(
            schedule(&both, &t, "A/B")
                .unwrap_err()
                .contains("events[0]")
        );
        let until = scenario("events:\n  - {at: 1s, until: 2s, hold: 1s}\n");
        assert!(
            schedule(&until, &t, "A/B")
                .unwrap_err()
                .contains("events[0].until")
        );
        let side = scenario("intents:\n  - {at: 1s, id: a, side: hold, qty: 1}\n");
        assert!(
            schedule(&side, &t, "A/B")
                .unwrap_err()
                .contains("intents[0].side")
        );
        let at = scenario("intents:\n  - {at: 3m1s, id: a, side: buy, qty: 1}\n");
        assert!(
            schedule(&at, &t, "A/B")
                .unwrap_err()
                .contains("intents[0].at")
        );
    }
}
