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

const DAY_NS: i64 = 86_400_000_000_000;
/// Wall time a run may take beyond its tape's length (the tape is stepped faster than real
/// time, but holds and a slow machine add to it).
const RUN_MARGIN_NS: i64 = 5 * 60_000_000_000;

/// How long to wait for the next UTC day before a tape of `span` ns starts at `now`: the
/// stages' day (risk's loss cap resets at midnight UTC) comes from the tape's clock for
/// trades and from the wall clock for the broker's positions, so the tape and the run must
/// both stay in one day. A tape that starts in the past is stale and one in the next day
/// splits the two clocks, so when `now + span` (plus [`RUN_MARGIN_NS`]) would cross
/// midnight the run waits for it. `None` for a tape too long for one day.
fn midnight_wait(now: i64, span: i64) -> Option<i64> {
    let day = |ns: i64| ns.div_euclid(DAY_NS);
    let end = now.checked_add(span)?.checked_add(RUN_MARGIN_NS)?;
    if !(0..DAY_NS - RUN_MARGIN_NS).contains(&span) || day(end) == day(now) {
        return None;
    }
    // A second into the new day.
    Some((day(now) + 1) * DAY_NS - now + 1_000_000_000)
}

/// The tape's trades, moved so the first one is now: the stages compare prices' times with
/// the wall clock (a live broker refuses a stale reference price). Waits first for midnight
/// UTC when the run would cross it ([`midnight_wait`]). Returns the trades, whether the tape
/// spans two UTC days (a tape longer than a day) and the seconds waited.
fn rebased(bytes: &[u8], origin: &Path) -> Result<(Vec<Trade<'static>>, bool, u64), String> {
    let (_, span) = rebased_at(bytes, origin, 0)?;
    let waited = match midnight_wait(now_ns(), span) {
        Some(ns) => {
            eprintln!(
                "{}: the tape would cross midnight UTC; waiting {} s for the next day",
                origin.display(),
                ns / 1_000_000_000
            );
            std::thread::sleep(Duration::from_nanos(ns as u64));
            ns as u64 / 1_000_000_000
        }
        None => 0,
    };
    let (trades, _) = rebased_at(bytes, origin, now_ns())?;
    let day = |ns: i64| ns.div_euclid(DAY_NS);
    let spans_days = day(trades[0].ts_ns) != day(trades[trades.len() - 1].ts_ns);
    Ok((trades, spans_days, waited))
}

/// The tape's trades with the first at `start`, and the tape's length.
fn rebased_at(
    bytes: &[u8],
    origin: &Path,
    start: i64,
) -> Result<(Vec<Trade<'static>>, i64), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut trades: Vec<Trade<'static>> = text
        .lines()
        .filter_map(|l| match njord::event::decode(l).map(Event::into_owned) {
            Ok(Event::Trade(t)) => Some(t),
            _ => None,
        })
        .collect();
    let (Some(first), Some(last)) = (trades.first(), trades.last()) else {
        return Err(format!("{}: the tape has no trades", origin.display()));
    };
    let overflow = || format!("{}: the tape's times are out of range", origin.display());
    let span = last.ts_ns.checked_sub(first.ts_ns).ok_or_else(overflow)?;
    let shift = start.checked_sub(first.ts_ns).ok_or_else(overflow)?;
    for t in &mut trades {
        t.ts_ns = t.ts_ns.checked_add(shift).ok_or_else(overflow)?;
    }
    Ok((trades, span))
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
        let until = first
            .checked_add(off)
            .ok_or_else(|| format!("{key}: {at} is out of range"))?;
        Ok(trades.partition_point(|t| t.ts_ns < until))
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
    // A bad file is said at once, before any wait for midnight.
    let (probe, _) = rebased_at(&bytes, path, 0).map_err(at)?;
    schedule(&s, &probe, &probe[0].symbol).map_err(at)?;
    let (trades, spans_days, waited_s) = rebased(&bytes, path).map_err(at)?;
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
        account_before: evidence::balances(&sim.signed("/api/v3/account", &[]).map_err(at)?)
            .map_err(at)?,
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
    let mut error = driven.err();
    ev.marks = driver.marks.clone();
    ev.intents = driver.intents.clone();
    let restarts = ctl.restarts();
    let processes = ctl.processes();
    let bus = ctl.bus();
    let timeline = std::mem::take(&mut driver.timeline);
    let barriers = json!({"count": driver.barriers, "max_ms": driver.barrier_max_ms});
    let mut journal = std::mem::take(&mut driver.journal);
    drop(driver);
    // `down` first: the stages flush their journals as they stop, and what the broker does
    // while it stops (an order or a resend on the way out) is judged too. The venue is read
    // after it, while the simulator still runs.
    drop(ctl);
    if error.is_none() {
        error = evidence::venue(&mut ev, &sim, &mut journal).err();
    }
    if error.is_none() {
        error = evidence::files(&mut ev, &dir, webhook.as_ref().map(|w| &w.received)).err();
    }
    if error.is_none() && super::assert::fill_moves(&ev).is_none() {
        error = Some("the broker's fills add up to more than a Decimal holds".into());
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
            "spans_utc_midnight": spans_days, "waited_for_midnight_s": waited_s, "first_ts_ns": trades[0].ts_ns, "last_ts_ns": trades[trades.len() - 1].ts_ns,
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
                    o.quote_qty.checked_div(o.executed_qty).unwrap_or(o.price)
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

    fn tape_bytes(t: &[Trade<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for t in t {
            Event::Trade(t.clone()).write_line(&mut out);
        }
        out
    }

    #[test]
    fn a_run_that_would_cross_midnight_waits_for_it() {
        let midnight = 20_000 * DAY_NS;
        let min = 60_000_000_000;
        // A ten-minute tape twenty minutes before midnight: no wait.
        assert_eq!(midnight_wait(midnight - 20 * min, 10 * min), None);
        // Twelve minutes before: the run's margin would cross; wait until just after.
        assert_eq!(
            midnight_wait(midnight - 12 * min, 10 * min),
            Some(12 * min + 1_000_000_000)
        );
        // A tape of more than a day cannot fit.
        assert_eq!(midnight_wait(midnight - min, DAY_NS), None);
        assert_eq!(midnight_wait(i64::MAX - 1, min), None);
    }

    #[test]
    fn times_out_of_range_are_errors() {
        let bytes = tape_bytes(&trades(600));
        let p = Path::new("t");
        let (t, span) = rebased_at(&bytes, p, 1_000).unwrap();
        assert_eq!(
            (t[0].ts_ns, t[599].ts_ns, span),
            (1_000, 599_000_001_000, 599_000_000_000)
        );
        assert!(rebased_at(&bytes, p, i64::MAX - 1).is_err());
        let s = scenario("intents:\n  - {at: 1m, id: a, side: buy, qty: 1}\n");
        let mut far = trades(200);
        far[0].ts_ns = i64::MAX - 1;
        assert!(
            schedule(&s, &far, "A/B")
                .unwrap_err()
                .contains("out of range")
        );
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
