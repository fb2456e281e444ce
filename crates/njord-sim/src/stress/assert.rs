//! The assertions: pure functions of the [`Evidence`]. Each says how many things it checked
//! and fails when that is zero, so a scenario whose fault never bit cannot pass.

use super::evidence::{Evidence, VenueOrder};
use super::schema::Assertion;
use njord::broker::client_id::client_order_id;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// One assertion's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    pub checked: u64,
    pub detail: String,
    pub evidence: Vec<Value>,
}

fn outcome(a: &Assertion, checked: u64, failures: Vec<Value>, detail: String) -> Outcome {
    let passed = checked > 0 && failures.is_empty();
    let detail = if checked == 0 {
        format!("checked nothing: {detail}")
    } else {
        detail
    };
    Outcome {
        name: a.name().to_string(),
        passed,
        checked,
        detail,
        evidence: failures,
    }
}

pub fn evaluate(a: &Assertion, ev: &Evidence) -> Outcome {
    match a {
        Assertion::LossTripWithin { events } => loss_trip_within(a, ev, *events),
        Assertion::NoOrderAfterHalt { grace_ms } => no_order_after_halt(a, ev, *grace_ms),
        Assertion::MaxOrderNotional { usd } => max_order_notional(a, ev, *usd),
        Assertion::OneOrderPerIntent {} => one_order_per_intent(a, ev),
        Assertion::NoRequestInRetryAfter {} => no_request_in_retry_after(a, ev),
        Assertion::Reconcile { assets } => reconcile(a, ev, assets),
        Assertion::AlertFired {
            rule,
            after,
            within,
        } => alert_fired(a, ev, rule, after, within),
        Assertion::Expect {
            min_venue_orders,
            min_fills,
            min_denials,
            min_http,
        } => expect(a, ev, *min_venue_orders, *min_fills, min_denials, min_http),
    }
}

/// The first position in risk's audit chain at or past the loss cap, then risk's inputs
/// until its `kill_switch` record: fewer than `events` of them may come in between.
fn loss_trip_within(a: &Assertion, ev: &Evidence, events: u64) -> Outcome {
    let Some(cap) = ev.daily_loss_cap else {
        return outcome(a, 0, vec![], "risk.daily_loss_usd_cap is not set".into());
    };
    let positions = ev
        .risk_chain
        .iter()
        .filter(|(k, _)| k == "position")
        .count() as u64;
    let breach = ev
        .risk_chain
        .iter()
        .position(|(k, pnl)| k == "position" && pnl.is_some_and(|p| p <= -cap));
    let trip = ev.risk_chain.iter().position(|(k, _)| k == "kill_switch");
    let mut failures = Vec::new();
    let detail = match (breach, trip) {
        (None, _) => {
            failures.push(json!({"breach": null, "positions": positions}));
            format!("no position of {positions} reached the day's loss cap of {cap} USD")
        }
        (Some(b), None) => {
            failures.push(json!({"breach_at": b, "trip": null}));
            format!(
                "the loss reached the cap of {cap} USD (audit record {b}) but risk never tripped"
            )
        }
        // A trip before the first breach is not this breach's trip: some other record
        // tripped risk (or the kill file was there already).
        (Some(b), Some(t)) if t < b => {
            failures.push(json!({"breach_at": b, "trip_at": t}));
            format!(
                "risk tripped (audit record {t}) before any position reached the cap of {cap} USD (record {b})"
            )
        }
        (Some(b), Some(t)) => {
            let between = ev.risk_chain[b + 1..t]
                .iter()
                .filter(|(k, _)| k != "decision")
                .count() as u64;
            if between >= events {
                failures.push(json!({"breach_at": b, "trip_at": t, "inputs_between": between}));
            }
            format!(
                "the trip came {between} input(s) after the breaching position (allowed: fewer than {events})"
            )
        }
    };
    match &ev.trip {
        Some(t) if t.by.starts_with("njord-risk") && t.reason.starts_with("daily loss") => {}
        other => failures.push(json!({"kill_file": other, "want": "by njord-risk, daily loss"})),
    }
    outcome(a, positions, failures, detail)
}

fn is_order_request(method: &str, path: &str) -> bool {
    method == "POST" && (path == "/api/v3/order" || path.ends_with("/oco"))
}

/// No order request reaches the venue later than `grace_ms` after the first halt (the kill
/// file's time or an operator halt the runner made).
fn no_order_after_halt(a: &Assertion, ev: &Evidence, grace_ms: u64) -> Outcome {
    let halt = ev
        .trip
        .as_ref()
        .map(|t| t.ts_ns)
        .into_iter()
        .chain(ev.marks.get("kill").copied())
        .min();
    let Some(halt) = halt else {
        return outcome(a, 0, vec![], "trading was never halted".into());
    };
    let orders: Vec<_> = ev
        .requests
        .iter()
        .filter(|r| is_order_request(&r.method, &r.path))
        .collect();
    let limit = halt + (grace_ms as i64) * 1_000_000;
    let late: Vec<Value> = orders
        .iter()
        .filter(|r| r.ts_ns > limit)
        .map(|r| json!({"request": r, "ms_after_halt": (r.ts_ns - halt) / 1_000_000}))
        .collect();
    let denied_after = ev
        .decisions
        .iter()
        .filter(|d| !d.allowed && d.reason == "halted")
        .count();
    let detail = format!(
        "{} order request(s), {} after the halt (+{grace_ms} ms grace); {denied_after} intent(s) denied as halted",
        orders.len(),
        late.len()
    );
    outcome(a, (orders.len() + denied_after) as u64, late, detail)
}

fn max_order_notional(a: &Assertion, ev: &Evidence, usd: Decimal) -> Outcome {
    // Out of range counts as over the cap (the runner refuses such evidence before this).
    let over: Vec<Value> = ev
        .orders
        .iter()
        .filter(|o| o.notional().is_none_or(|n| n > usd))
        .map(|o| json!({"order": o, "notional": o.notional()}))
        .collect();
    let largest = ev
        .orders
        .iter()
        .filter_map(VenueOrder::notional)
        .max()
        .unwrap_or_default();
    let detail = format!(
        "{} venue order(s), the largest {largest} USD (cap {usd})",
        ev.orders.len()
    );
    outcome(a, ev.orders.len() as u64, over, detail)
}

/// Each client order id (one per intent) is at most one venue order, and no intent has two.
fn one_order_per_intent(a: &Assertion, ev: &Evidence) -> Outcome {
    let mut by_cid: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for o in &ev.orders {
        by_cid
            .entry(&o.client_order_id)
            .or_default()
            .push(o.order_id);
    }
    let mut failures: Vec<Value> = by_cid
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(cid, ids)| json!({"client_order_id": cid, "venue_orders": ids}))
        .collect();
    let known: HashMap<String, &str> = ev
        .intents
        .iter()
        .map(|i| (client_order_id(i), i.as_str()))
        .collect();
    failures.extend(
        by_cid
            .keys()
            .filter(|cid| !known.contains_key(**cid))
            .map(|cid| json!({"client_order_id": cid, "intent": null})),
    );
    let per_intent = known
        .keys()
        .filter(|c| by_cid.contains_key(c.as_str()))
        .count();
    let detail = format!(
        "{} venue order(s) under {} client order id(s); {per_intent} of {} intent(s) reached the venue",
        ev.orders.len(),
        by_cid.len(),
        ev.intents.len()
    );
    outcome(a, ev.orders.len() as u64, failures, detail)
}

/// No keyed request between an answer with `Retry-After: R` and R seconds later.
fn no_request_in_retry_after(a: &Assertion, ev: &Evidence) -> Outcome {
    let windows: Vec<(i64, i64, u16)> = ev
        .responses
        .values()
        .filter_map(|r| {
            let s = i64::try_from(r.retry_after_s?).unwrap_or(i64::MAX);
            let to = r.ts_ns.saturating_add(s.saturating_mul(1_000_000_000));
            Some((r.ts_ns, to, r.status))
        })
        .collect();
    let mut failures = Vec::new();
    let mut margin: Option<i64> = None;
    for (from, to, status) in &windows {
        for r in ev.requests.iter().filter(|r| r.keyed && r.ts_ns > *from) {
            if r.ts_ns < *to {
                failures.push(
                    json!({"status": status, "window_ms": (to - from) / 1_000_000,
                    "request": r, "ms_into_window": (r.ts_ns - from) / 1_000_000}),
                );
            } else {
                margin = Some(margin.map_or(r.ts_ns - to, |m| m.min(r.ts_ns - to)));
            }
        }
    }
    let detail = format!(
        "{} Retry-After window(s) ({}); the first keyed request after a window came {} ms after its end",
        windows.len(),
        windows
            .iter()
            .map(|(f, t, s)| format!("{s} for {} ms", (t - f) / 1_000_000))
            .collect::<Vec<_>>()
            .join(", "),
        margin.map_or("-".into(), |m| (m / 1_000_000).to_string())
    );
    outcome(a, windows.len() as u64, failures, detail)
}

/// The venue's balance change of each asset equals what the broker's fills add up to; the
/// broker's last balance of each asset is the venue's; its position is the venue's net
/// traded quantity; the venue's trades are as many as the broker's fills; each order executed
/// what the fills say.
fn reconcile(a: &Assertion, ev: &Evidence, assets: &[String]) -> Outcome {
    let mut failures = Vec::new();
    let Some(moved) = fill_moves(ev) else {
        return outcome(
            a,
            1,
            vec![json!({"broker_fills": "out of range"})],
            "the broker's fills add up to more than a Decimal holds".into(),
        );
    };
    for asset in assets {
        let before = ev.account_before.get(asset).copied().unwrap_or_default();
        let after = ev.account_after.get(asset).copied().unwrap_or_default();
        let fills = moved.get(asset.as_str()).copied().unwrap_or_default();
        let change = after.checked_sub(before);
        if change != Some(fills) {
            failures.push(json!({"asset": asset, "venue_change": change, "broker_fills": fills}));
        }
    }
    for asset in assets {
        let venue = ev.account_after.get(asset).copied().unwrap_or_default();
        match ev.broker_balances.get(asset) {
            Some(b) if *b == venue => {}
            other => failures.push(
                json!({"asset": asset, "venue_balance": venue, "broker_last_balance": other}),
            ),
        }
    }
    let net = ev
        .venue_trades
        .iter()
        .try_fold(Decimal::ZERO, |sum, (_, buyer, qty, ..)| {
            if *buyer {
                sum.checked_add(*qty)
            } else {
                sum.checked_sub(*qty)
            }
        });
    if !ev.venue_trades.is_empty() && (net.is_none() || ev.broker_position != net) {
        failures.push(json!({"venue_net_qty": net, "broker_position": ev.broker_position}));
    }
    if ev.venue_trades.len() != ev.fills.len() {
        failures
            .push(json!({"venue_trades": ev.venue_trades.len(), "broker_fills": ev.fills.len()}));
    }
    for o in ev.orders.iter().filter(|o| o.executed_qty > Decimal::ZERO) {
        let id = o.order_id.to_string();
        let filled = ev
            .fills
            .iter()
            .filter(|f| f.order_id == id)
            .try_fold(Decimal::ZERO, |sum, f| sum.checked_add(f.qty));
        if filled != Some(o.executed_qty) {
            failures.push(json!({"order_id": o.order_id, "venue_executed": o.executed_qty, "broker_fills": filled}));
        }
    }
    let traded = ev.venue_trades.len() as u64;
    let detail = format!(
        "{} asset(s), {traded} venue trade(s), {} broker fill(s), {} open order(s) at the end",
        assets.len(),
        ev.fills.len(),
        ev.open_orders
    );
    // Nothing traded is nothing reconciled.
    let checked = if traded == 0 {
        0
    } else {
        assets.len() as u64 + traded
    };
    outcome(a, checked, failures, detail)
}

/// What the broker's fills moved of each asset: the base by quantity, the quote by
/// `qty × price`, each fee in its asset; `None` when a sum leaves `Decimal`'s range.
pub fn fill_moves(ev: &Evidence) -> Option<BTreeMap<&str, Decimal>> {
    let mut moved: BTreeMap<&str, Decimal> = BTreeMap::new();
    for f in &ev.fills {
        let buy = f.side == "buy";
        let quote = f.qty.checked_mul(f.price)?;
        let base = moved.entry(&ev.base).or_default();
        *base = if buy {
            base.checked_add(f.qty)
        } else {
            base.checked_sub(f.qty)
        }?;
        let q = moved.entry(&ev.quote).or_default();
        *q = if buy {
            q.checked_sub(quote)
        } else {
            q.checked_add(quote)
        }?;
        let fee = moved.entry(&f.fee_asset).or_default();
        *fee = fee.checked_sub(f.fee)?;
    }
    Some(moved)
}

fn alert_fired(a: &Assertion, ev: &Evidence, rule: &str, after: &str, within: &str) -> Outcome {
    let Some(&from) = ev.marks.get(after) else {
        return outcome(a, 0, vec![], format!("`{after}` never happened"));
    };
    let within_ns = match njord::stress::parse_offset(within) {
        Ok(ns) => ns,
        Err(e) => return outcome(a, 0, vec![], format!("within: {e}")),
    };
    let hit = ev
        .alerts
        .iter()
        .filter(|(ts, name)| name == rule && *ts >= from)
        .map(|(ts, _)| ts - from)
        .min();
    let mut failures = Vec::new();
    let detail = match hit {
        Some(d) if d <= within_ns => {
            format!("`{rule}` arrived {} ms after `{after}`", d / 1_000_000)
        }
        Some(d) => {
            failures.push(json!({"rule": rule, "ms_after": d / 1_000_000}));
            format!(
                "`{rule}` arrived {} ms after `{after}`, later than {within}",
                d / 1_000_000
            )
        }
        None => {
            failures.push(json!({"rule": rule, "received": ev.alerts}));
            format!("`{rule}` never arrived after `{after}`")
        }
    };
    outcome(a, ev.alerts.len() as u64, failures, detail)
}

fn expect(
    a: &Assertion,
    ev: &Evidence,
    min_orders: u64,
    min_fills: u64,
    min_denials: &BTreeMap<String, u64>,
    min_http: &BTreeMap<String, u64>,
) -> Outcome {
    let mut failures = Vec::new();
    let orders = ev.orders.len() as u64;
    let fills = ev.venue_trades.len() as u64;
    if orders < min_orders {
        failures.push(json!({"venue_orders": orders, "min": min_orders}));
    }
    if fills < min_fills {
        failures.push(json!({"fills": fills, "min": min_fills}));
    }
    let mut denials: BTreeMap<&str, u64> = BTreeMap::new();
    for d in ev.decisions.iter().filter(|d| !d.allowed) {
        *denials.entry(&d.reason).or_default() += 1;
    }
    for (reason, min) in min_denials {
        let got = denials.get(reason.as_str()).copied().unwrap_or(0);
        if got < *min {
            failures.push(json!({"denials": reason, "got": got, "min": min}));
        }
    }
    let mut http: BTreeMap<String, u64> = BTreeMap::new();
    for r in ev.responses.values() {
        *http.entry(r.class()).or_default() += 1;
    }
    for (class, min) in min_http {
        let got = http.get(class).copied().unwrap_or(0);
        if got < *min {
            failures.push(json!({"http": class, "got": got, "min": min}));
        }
    }
    let detail =
        format!("{orders} venue order(s), {fills} fill(s), denials {denials:?}, answers {http:?}");
    outcome(
        a,
        orders + fills + ev.decisions.len() as u64,
        failures,
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stress::evidence::{BrokerFill, Decision, Req, Resp, Trip};

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn req(id: u64, ms: i64, method: &str, path: &str, keyed: bool) -> Req {
        Req {
            id,
            ts_ns: ms * 1_000_000,
            method: method.into(),
            path: path.into(),
            keyed,
        }
    }

    fn order(id: u64, cid: &str, price: Decimal, qty: Decimal) -> VenueOrder {
        VenueOrder {
            order_id: id,
            client_order_id: cid.into(),
            side: "BUY".into(),
            order_type: "LIMIT".into(),
            status: "FILLED".into(),
            price,
            orig_qty: qty,
            executed_qty: qty,
            quote_qty: price * qty,
            time_ms: 0,
        }
    }

    fn base() -> Evidence {
        Evidence {
            base: "ATOM".into(),
            quote: "USDT".into(),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_checked_is_a_failure() {
        let ev = base();
        for a in [
            Assertion::OneOrderPerIntent {},
            Assertion::NoRequestInRetryAfter {},
            Assertion::NoOrderAfterHalt { grace_ms: 50 },
            Assertion::MaxOrderNotional { usd: dec("9") },
            Assertion::Reconcile {
                assets: vec!["ATOM".into()],
            },
            Assertion::LossTripWithin { events: 1 },
        ] {
            let o = evaluate(&a, &ev);
            assert!(!o.passed && o.checked == 0, "{o:?}");
        }
    }

    #[test]
    fn an_order_after_the_halt_fails_one_before_passes() {
        let mut ev = base();
        ev.trip = Some(Trip {
            ts_ns: 1_000 * 1_000_000,
            by: "njord-kill".into(),
            reason: "operator".into(),
        });
        ev.requests = vec![req(1, 900, "POST", "/api/v3/order", true)];
        let a = Assertion::NoOrderAfterHalt { grace_ms: 50 };
        assert!(evaluate(&a, &ev).passed);
        ev.requests
            .push(req(2, 1_060, "POST", "/api/v3/order", true));
        let o = evaluate(&a, &ev);
        assert!(!o.passed && o.evidence.len() == 1, "{o:?}");
        // Within the grace it passes; a query after the halt is no order.
        ev.requests[1] = req(2, 1_040, "POST", "/api/v3/order", true);
        ev.requests
            .push(req(3, 2_000, "GET", "/api/v3/order", true));
        assert!(evaluate(&a, &ev).passed);
    }

    #[test]
    fn a_keyed_request_inside_retry_after_fails() {
        let mut ev = base();
        ev.requests = vec![
            req(1, 1_000, "POST", "/api/v3/order", true),
            req(2, 2_100, "POST", "/api/v3/order", true),
            // Unkeyed (ingest's public REST) does not count.
            req(3, 1_500, "GET", "/api/v3/trades", false),
        ];
        ev.responses.insert(
            1,
            Resp {
                ts_ns: 1_001 * 1_000_000,
                status: 429,
                retry_after_s: Some(1),
                dropped: false,
            },
        );
        let a = Assertion::NoRequestInRetryAfter {};
        let o = evaluate(&a, &ev);
        assert!(o.passed && o.checked == 1, "{o:?}");
        ev.requests
            .push(req(4, 1_900, "GET", "/api/v3/openOrders", true));
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn two_orders_for_one_intent_fail() {
        let mut ev = base();
        ev.intents = vec!["i-1".into(), "i-2".into()];
        let (c1, c2) = (client_order_id("i-1"), client_order_id("i-2"));
        ev.orders = vec![
            order(1, &c1, dec("10"), dec("0.5")),
            order(2, &c2, dec("10"), dec("0.5")),
        ];
        let a = Assertion::OneOrderPerIntent {};
        assert!(evaluate(&a, &ev).passed);
        ev.orders.push(order(3, &c2, dec("10"), dec("0.5")));
        assert!(!evaluate(&a, &ev).passed);
        // An order nobody asked for fails too.
        ev.orders.pop();
        ev.orders.push(order(4, "stray", dec("10"), dec("0.5")));
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn notional_above_the_cap_fails() {
        let mut ev = base();
        ev.orders = vec![order(1, "a", dec("10"), dec("0.85"))];
        let a = Assertion::MaxOrderNotional { usd: dec("9") };
        assert!(evaluate(&a, &ev).passed);
        ev.orders.push(order(2, "b", dec("10"), dec("0.91")));
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn fills_must_add_up_to_the_venue_account() {
        let mut ev = base();
        ev.account_before = [("ATOM".into(), dec("100")), ("USDT".into(), dec("1000"))].into();
        ev.account_after = [
            ("ATOM".into(), dec("100.4995")),
            ("USDT".into(), dec("995")),
        ]
        .into();
        ev.orders = vec![order(7, "a", dec("10"), dec("0.5"))];
        ev.venue_trades = vec![(7, true, dec("0.5"), dec("5"), dec("0.0005"), "ATOM".into())];
        ev.fills = vec![BrokerFill {
            order_id: "7".into(),
            intent_id: "a".into(),
            side: "buy".into(),
            qty: dec("0.5"),
            price: dec("10"),
            fee: dec("0.0005"),
            fee_asset: "ATOM".into(),
        }];
        ev.broker_balances = ev.account_after.clone();
        ev.broker_position = Some(dec("0.5"));
        let a = Assertion::Reconcile {
            assets: vec!["ATOM".into(), "USDT".into()],
        };
        let o = evaluate(&a, &ev);
        assert!(o.passed, "{o:?}");
        // A position or a balance the venue does not show.
        ev.broker_position = Some(dec("0.4"));
        assert!(!evaluate(&a, &ev).passed);
        ev.broker_position = Some(dec("0.5"));
        ev.broker_balances.insert("USDT".into(), dec("996"));
        assert!(!evaluate(&a, &ev).passed);
        ev.broker_balances = ev.account_after.clone();
        // A fill the broker never saw.
        ev.fills.clear();
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn the_trip_must_follow_the_breach_at_once() {
        let mut ev = base();
        ev.daily_loss_cap = Some(dec("2"));
        ev.trip = Some(Trip {
            ts_ns: 1,
            by: "njord-risk".into(),
            reason: "daily loss on 2026-01-01".into(),
        });
        let p = |pnl: Decimal| ("position".to_string(), Some(pnl));
        ev.risk_chain = vec![p(dec("-1")), p(dec("-2.5")), ("kill_switch".into(), None)];
        let a = Assertion::LossTripWithin { events: 1 };
        assert!(evaluate(&a, &ev).passed);
        ev.risk_chain.insert(2, ("trade".into(), None));
        assert!(!evaluate(&a, &ev).passed);
        ev.risk_chain.remove(2);
        ev.trip = None;
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn a_trip_before_the_breach_fails() {
        let mut ev = base();
        ev.daily_loss_cap = Some(dec("2"));
        ev.trip = Some(Trip {
            ts_ns: 1,
            by: "njord-risk".into(),
            reason: "daily loss on 2026-01-01".into(),
        });
        let p = |pnl: Decimal| ("position".to_string(), Some(pnl));
        // Risk tripped on something else, then a position reached the cap.
        ev.risk_chain = vec![
            p(dec("-1")),
            ("kill_switch".into(), None),
            p(dec("-2.5")),
            ("trade".into(), None),
        ];
        let a = Assertion::LossTripWithin { events: 5 };
        let o = evaluate(&a, &ev);
        assert!(!o.passed, "{o:?}");
        assert!(o.detail.contains("before any position"), "{}", o.detail);
        assert_eq!(o.evidence[0]["trip_at"], 1);
        assert_eq!(o.evidence[0]["breach_at"], 2);
    }

    #[test]
    fn numbers_out_of_range_do_not_panic() {
        let mut ev = base();
        let huge = Decimal::MAX;
        let mut o = order(1, "c", dec("1"), dec("2"));
        o.price = huge;
        ev.orders = vec![o];
        assert_eq!(ev.orders[0].notional(), None);
        let a = Assertion::MaxOrderNotional { usd: dec("10") };
        assert!(!evaluate(&a, &ev).passed);
        ev.fills = vec![BrokerFill {
            order_id: "1".into(),
            intent_id: "i".into(),
            side: "buy".into(),
            qty: dec("2"),
            price: huge,
            fee: Decimal::ZERO,
            fee_asset: "USDT".into(),
        }];
        assert!(fill_moves(&ev).is_none());
        let r = Assertion::Reconcile {
            assets: vec!["USDT".into()],
        };
        assert!(!evaluate(&r, &ev).passed);
    }

    #[test]
    fn an_alert_must_arrive_after_its_trigger_and_in_time() {
        let mut ev = base();
        let a = Assertion::AlertFired {
            rule: "feed_silent".into(),
            after: "silence".into(),
            within: "2s".into(),
        };
        ev.alerts = vec![(500_000_000, "feed_silent".into())];
        // Silence never happened: nothing to judge.
        assert!(!evaluate(&a, &ev).passed);
        ev.marks.insert("silence".into(), 1_000_000_000);
        // The only notice came before the silence.
        assert!(!evaluate(&a, &ev).passed);
        ev.alerts.push((4_000_000_000, "feed_silent".into()));
        assert!(!evaluate(&a, &ev).passed, "3 s late");
        ev.alerts.push((2_500_000_000, "feed_silent".into()));
        let o = evaluate(&a, &ev);
        assert!(o.passed && o.detail.contains("1500 ms"), "{o:?}");
        ev.alerts = vec![(2_500_000_000, "other".into())];
        assert!(!evaluate(&a, &ev).passed);
    }

    #[test]
    fn denials_and_answers_below_the_floor_fail() {
        let mut ev = base();
        ev.decisions = vec![Decision {
            by: "risk".into(),
            intent_id: "a".into(),
            allowed: false,
            reason: "halted".into(),
        }];
        let a = |n| Assertion::Expect {
            min_venue_orders: 0,
            min_fills: 0,
            min_denials: [("halted".to_string(), n)].into(),
            min_http: Default::default(),
        };
        assert!(evaluate(&a(1), &ev).passed);
        assert!(!evaluate(&a(2), &ev).passed);
        // The fault must have bitten: one 503 asked for, none seen.
        let bit = Assertion::Expect {
            min_venue_orders: 0,
            min_fills: 0,
            min_denials: Default::default(),
            min_http: [("5xx".to_string(), 1)].into(),
        };
        assert!(!evaluate(&bit, &ev).passed);
        ev.responses.insert(
            1,
            Resp {
                ts_ns: 0,
                status: 503,
                retry_after_s: None,
                dropped: false,
            },
        );
        assert!(evaluate(&bit, &ev).passed);
    }
}
