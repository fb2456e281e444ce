//! Table tests of the manager: routing, positions, failures, ids, reloads and the file.

use super::super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, Scope};
use super::super::testing::{T0, bar, manager, trade};
use super::super::{Context, Strategy, StrategyError, meta};
use super::*;
use crate::event::{Event, Intent, Side};

/// Emits one intent per event with what its context shows; panics or errors at the
/// price given by `fail_at` (`fail_with` 1 = panic, 2 = error).
struct Probe {
    seen: u32,
    fail_at: f64,
    fail_with: i64,
}

impl Strategy for Probe {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        self.seen += 1;
        if ctx.price_f64() == self.fail_at {
            match self.fail_with {
                1 => panic!("probe told to panic"),
                _ => return Err(StrategyError("probe told to fail".into())),
            }
        }
        let pos = ctx
            .position(ctx.symbol())
            .to_string()
            .parse()
            .unwrap_or(f64::NAN);
        let btc = ctx
            .last_price("BTC/USDT")
            .map_or(-1.0, |p| p.to_string().parse().unwrap());
        out.push(ctx.intent(Side::Buy, Decimal::ONE, || {
            meta([
                ("seen", f64::from(self.seen)),
                ("position", pos),
                ("btc", btc),
            ])
        }));
        Ok(())
    }
}

fn build_probe(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    Ok(Box::new(Probe {
        seen: 0,
        fail_at: p.float("fail_at")?,
        fail_with: p.int("fail_with")?,
    }))
}

const PROBE: Class = Class {
    name: "probe",
    about: "test probe",
    params: &[
        ParamSpec {
            name: "fail_at",
            kind: ParamKind::Float {
                min: -1.0,
                max: f64::INFINITY,
            },
            default: Some(ParamValue::Float(-1.0)),
            help: "",
        },
        ParamSpec {
            name: "fail_with",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(1)),
            help: "",
        },
    ],
    build: build_probe,
    scope: Scope::PerSymbol,
    open: false,
};

fn registry() -> Registry {
    let mut r = Registry::builtin();
    r.register(PROBE).unwrap();
    assert!(r.register(PROBE).is_err(), "a name is registered once");
    r
}

/// (strategy, symbol, meta.seen) of every intent.
fn seen(out: &Out) -> Vec<(String, String, f64)> {
    out.iter()
        .map(|e| match e {
            Event::Intent(i) => (
                i.strategy_id.to_string(),
                i.symbol.to_string(),
                i.meta["seen"].as_f64().unwrap(),
            ),
            _ => unreachable!(),
        })
        .collect()
}

const TWO: &str = "strategies:
  - {id: a, class: probe, symbols: [ATOM/USDT], events: [trade]}
  - {id: b, class: probe, symbols: ['*/USDT'], events: [trade, 'md.ohlcv.1m.*']}
";

#[test]
fn routes_by_symbol_and_event_with_state_per_symbol() {
    let mut m = manager(registry(), TWO);
    let mut out = Vec::new();
    for ev in [
        trade("ATOM/USDT", "10", 0),
        trade("BTC/USDT", "50000", 1),
        trade("ATOM/EUR", "9", 2),
        bar("ATOM/USDT", "1m", "10", 3),
        bar("ATOM/USDT", "5m", "10", 4),
        trade("ATOM/USDT", "10", 5),
    ] {
        m.on_event(&ev, &mut out);
    }
    let s = |a: &str, b: &str, n: f64| (a.to_string(), b.to_string(), n);
    assert_eq!(
        seen(&out),
        [
            s("a", "ATOM/USDT", 1.0),
            s("b", "ATOM/USDT", 1.0),
            s("b", "BTC/USDT", 1.0),
            s("b", "ATOM/USDT", 2.0),
            s("a", "ATOM/USDT", 2.0),
            s("b", "ATOM/USDT", 3.0),
        ]
    );
    let Event::Intent(last) = &out[5] else {
        unreachable!()
    };
    assert_eq!(
        last.meta["btc"].as_f64(),
        Some(50000.0),
        "last prices of other symbols"
    );
    assert_eq!(
        last.ts_ns,
        T0 + 5_000_000_000,
        "intent time is the event's time"
    );
    let Event::Intent(from_bar) = &out[3] else {
        unreachable!()
    };
    assert_eq!(
        from_bar.ts_ns,
        T0 + 3 * 60_000_000_000,
        "a bar's time is its close"
    );
    assert_eq!(
        m.input_patterns(),
        ["md.ohlcv.1m.*", "md.trades.*", "positions.snapshot"]
    );
}

#[test]
fn positions_reach_the_context() {
    let mut m = manager(registry(), TWO);
    let mut out = Vec::new();
    let pos = |sid: &str, qty: &str| {
        crate::event::decode(&format!(
                r#"{{"kind":"position","symbol":"ATOM/USDT","strategy_id":{sid},"qty":{qty},"avg_price":10,"realized_pnl":0,"ts_ns":1}}"#
            ))
            .unwrap()
            .into_owned()
    };
    m.on_event(&pos("\"a\"", "2.5"), &mut out);
    m.on_event(&trade("ATOM/USDT", "10", 0), &mut out);
    let positions: Vec<_> = out
        .iter()
        .map(|e| match e {
            Event::Intent(i) => i.meta["position"].as_f64().unwrap(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(positions, [2.5, 0.0], "a's own position; b has none");
    out.clear();
    m.on_event(&pos("null", "-1"), &mut out);
    m.on_event(&trade("ATOM/USDT", "10", 1), &mut out);
    assert!(
        out.iter()
            .all(|e| matches!(e, Event::Intent(i) if i.meta["position"].as_f64() == Some(-1.0)))
    );
}

#[test]
fn a_failing_strategy_is_disabled_and_the_others_go_on() {
    for fail_with in [1, 2] {
        let yaml = format!(
                "strategies:
  - {{id: bad, class: probe, symbols: ['*'], events: [trade], params: {{fail_at: 13, fail_with: {fail_with}}}}}
  - {{id: good, class: probe, symbols: ['*'], events: [trade]}}
"
            );
        let mut m = manager(registry(), &yaml);
        let mut out = Vec::new();
        for (i, p) in ["12", "13", "14"].iter().enumerate() {
            m.on_event(&trade("ATOM/USDT", p, i as i64), &mut out);
        }
        let ids: Vec<_> = seen(&out).into_iter().map(|(s, _, n)| (s, n)).collect();
        assert_eq!(
            ids,
            [
                ("bad".into(), 1.0),
                ("good".into(), 1.0),
                ("good".into(), 2.0),
                ("good".into(), 3.0)
            ]
        );
        let failed = m.failed();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, "bad");
        assert!(failed[0].1.contains("ATOM/USDT"), "{failed:?}");
        assert_eq!(m.running(), ["good"]);
        assert!(!m.input_patterns().is_empty());
    }
}

#[test]
fn ids_are_deterministic_and_count_within_a_timestamp() {
    let yaml = "strategies:\n  - {id: a, class: probe, symbols: ['*'], events: [trade]}\n";
    let run = || {
        let mut m = manager(registry(), yaml);
        let mut out = Vec::new();
        for i in [0, 0, 1] {
            m.on_event(&trade("ATOM/USDT", "10", i), &mut out);
        }
        out.iter()
            .map(|e| match e {
                Event::Intent(i) => i.id.clone().unwrap().into_owned(),
                _ => unreachable!(),
            })
            .collect::<Vec<_>>()
    };
    let ids = run();
    assert_eq!(ids, run());
    let key = crate::strategy::ids::key(&["a", "ATOM/USDT", "probe", "fail_at=-1;fail_with=1;"]);
    assert_eq!(ids[0], crate::strategy::ids::intent_id(key, T0, 0));
    assert_eq!(ids[1], crate::strategy::ids::intent_id(key, T0, 1));
    assert_eq!(
        ids[2],
        crate::strategy::ids::intent_id(key, T0 + 1_000_000_000, 0)
    );
}

#[test]
fn reload_keeps_untouched_state_and_recreates_changed() {
    let reg = registry();
    let mut m = manager(reg.clone(), TWO);
    let mut out = Vec::new();
    m.on_event(&trade("ATOM/USDT", "10", 0), &mut out);
    let topics = Topics::default();
    let next = "strategies:
  - {id: b, class: probe, symbols: ['*/USDT'], events: [trade, 'md.ohlcv.1m.*'], params: {fail_at: 99}}
  - {id: c, class: probe, symbols: [ATOM/USDT], events: [trade]}
  - {id: a, class: probe, symbols: [ATOM/USDT, BTC/USDT], events: [trade]}
";
    let defs = parse(next, "next.yaml", &reg, &topics).unwrap();
    let report = m.apply(defs);
    assert_eq!(
        report,
        ReloadReport {
            added: vec!["c".into()],
            removed: vec![],
            recreated: vec!["b".into()],
            kept: vec!["a".into()],
        }
    );
    out.clear();
    m.on_event(&trade("ATOM/USDT", "10", 1), &mut out);
    let s = |a: &str, n: f64| (a.to_string(), "ATOM/USDT".to_string(), n);
    // File order after the reload; a kept its count, b restarted, c is new.
    assert_eq!(seen(&out), [s("b", 1.0), s("c", 1.0), s("a", 2.0)]);
    // Removing and disabling stop strategies.
    let last =
        "strategies:\n  - {id: a, class: probe, enabled: false, symbols: ['*'], events: [trade]}\n";
    let report = m.apply(parse(last, "last.yaml", &reg, &topics).unwrap());
    assert_eq!(report.removed, ["a", "b", "c"]);
    out.clear();
    m.on_event(&trade("ATOM/USDT", "10", 2), &mut out);
    assert!(out.is_empty());
}

#[test]
fn reloads_mid_tape_leave_an_untouched_strategy_exactly_as_without() {
    let tl = "  - {id: tl, class: trendline_break, symbols: ['*'], events: [trade], params: {qty: 1, lookback_periods: 8, breakout_threshold: 0.004}}\n";
    let ec = "  - {id: ec, class: ema_cross, symbols: ['*'], events: [trade], params: {qty: 1, fast: 3, slow: 9}}\n";
    let files = [
        format!("strategies:\n{tl}"),
        format!("strategies:\n{ec}{tl}"),
        "strategies: [{id: tl, class: nope}]\n".to_owned(),
        format!("strategies:\n{tl}{}", ec.replace("fast: 3", "fast: 4")),
    ];
    let tape: Vec<_> = (0..600)
        .map(|i| {
            let p = 10.0 + (f64::from(i) / 9.0).sin() * 0.3 + (f64::from(i) / 2.0).cos() * 0.05;
            trade(
                if i % 3 == 0 { "B/USDT" } else { "A/USDT" },
                &format!("{p:.4}"),
                i.into(),
            )
        })
        .collect();
    let only_tl = |out: &Out| -> Vec<String> {
        out.iter()
            .filter(|e| matches!(e, Event::Intent(i) if i.strategy_id == "tl"))
            .map(|e| e.to_json())
            .collect()
    };
    let reg = registry();
    let topics = Topics::default();
    let mut plain = manager(reg.clone(), &files[0]);
    let mut want = Vec::new();
    for ev in &tape {
        plain.on_event(ev, &mut want);
    }
    let mut m = manager(reg.clone(), &files[0]);
    let mut got = Vec::new();
    for (i, ev) in tape.iter().enumerate() {
        if i % 150 == 149 {
            let file = &files[1 + (i / 150) % 3];
            if let Ok(defs) = parse(file, "f.yaml", &reg, &topics) {
                let report = m.apply(defs);
                assert!(report.kept.contains(&"tl".to_owned()), "{report}");
            }
        }
        m.on_event(ev, &mut got);
    }
    assert!(only_tl(&want).len() > 5);
    assert_eq!(only_tl(&got), only_tl(&want));
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Intent(i) if i.strategy_id == "ec"))
    );
}

#[test]
fn invalid_files_name_file_strategy_and_key() {
    let reg = registry();
    let topics = Topics::default();
    let ok = "{id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1}}";
    let cases: &[(&str, &[&str])] = &[
        ("strategies: [", &["f.yaml", "not valid YAML"]),
        ("strategy: []", &["f.yaml", "top level", "`strategy`"]),
        ("strategies: {a: 1}", &["expected a list"]),
        (
            "strategies:\n  - {class: ema_cross}",
            &["strategies[0]", "`id`", "required"],
        ),
        (
            "strategies:\n  - {id: 'a b', class: ema_cross}",
            &["strategies[0]", "`id`"],
        ),
        (
            "strategies:\n  - {id: a, class: nope, symbols: [X/Y], events: [trade]}",
            &[
                "strategy `a`",
                "`class`",
                "unknown class `nope`",
                "ema_cross",
            ],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [], events: [trade], params: {qty: 1}}",
            &["strategy `a`", "`symbols`", "empty"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], params: {qty: 1}}",
            &["strategy `a`", "`events`", "required"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [risk.decisions], params: {qty: 1}}",
            &["`events[0]`", "risk.decisions", "md.trades.*"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fats: 3}}",
            &[
                "strategy `a`",
                "`params`",
                "unknown parameter `fats`",
                "fast",
            ],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fast: 2.5}}",
            &["strategy `a`", "`params.fast`", "integer", "2.5"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: abc}}",
            &["`params.qty`", "decimal"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: -1}}",
            &["`params.qty`", "> 0"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {}}",
            &["`params.qty`", "required"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, long_only: yes please}}",
            &["`params.long_only`", "true or false"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1, fast: 60}}",
            &["`params.fast`", "less than slow"],
        ),
        (
            "strategies:\n  - {id: a, class: trendline_break, symbols: [X/Y], events: [trade], params: {qty: 1, lookback_periods: 2}}",
            &["`params.lookback_periods`", ">= 3"],
        ),
        (
            "strategies:\n  - {id: a, class: rsi_tema_bb, symbols: [X/Y], events: [trade], params: {qty: 1, rsi_oversold: 80}}",
            &["`params.rsi_oversold`", "less than rsi_overbought"],
        ),
        (
            "strategies:\n  - {id: a, class: ema_cross, symbols: [X/Y], events: [trade], params: {qty: 1}, extra: 1}",
            &["strategy `a`", "`extra`", "unknown key"],
        ),
    ];
    for (yaml, want) in cases {
        let e = parse(yaml, "f.yaml", &reg, &topics)
            .unwrap_err()
            .to_string();
        for w in *want {
            assert!(e.contains(w), "{yaml}\n  -> {e}\n  lacks {w}");
        }
        assert!(e.starts_with("f.yaml"), "{e}");
    }
    let dup = format!("strategies:\n  - {ok}\n  - {ok}\n");
    let e = parse(&dup, "f.yaml", &reg, &topics)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("duplicate id `a`") && e.contains("strategies[1]"),
        "{e}"
    );
    let good = format!(
        "strategies:\n  - {ok}\n  - {{id: b, class: ema_cross, symbols: [X/Y], events: [bar], params: {{qty: '0.1'}}}}\n"
    );
    let defs = parse(&good, "f.yaml", &reg, &topics).unwrap();
    assert_eq!(defs[1].params.decimal("qty").unwrap().to_string(), "0.1");
    assert_eq!(
        defs[0].params.int("slow").unwrap(),
        50,
        "defaults fill the rest"
    );
    assert!(parse("", "f.yaml", &reg, &topics).unwrap().is_empty());
}

#[test]
fn symbols_are_matched_once_and_bounded() {
    let mut m = manager(registry(), TWO);
    m.set_limits(&Strat {
        max_symbols: 5,
        max_symbols_per_strategy: 3,
    });
    let mut out = Vec::new();
    // `b` (`*/USDT`) runs on 3 symbols; the 4th and 5th reach no instance of it.
    for round in 0..2 {
        for (i, sym) in ["A/USDT", "B/USDT", "C/USDT", "D/USDT", "E/USDT", "F/USDT"]
            .iter()
            .enumerate()
        {
            m.on_event(&trade(sym, "1", round * 10 + i as i64), &mut out);
        }
    }
    // Each symbol's route is worked out once: a second round adds none.
    assert_eq!(m.routes.len(), 5);
    assert_eq!(m.route_of.len(), 5);
    let b = &m.entries[1];
    assert_eq!((b.states.len(), b.state_of.len()), (3, 3));
    let symbols: Vec<String> = seen(&out).into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(
        symbols,
        ["A/USDT", "B/USDT", "C/USDT", "A/USDT", "B/USDT", "C/USDT"]
    );
    // F/USDT: beyond `max_symbols`, twice; D and E: beyond `b`'s instances, twice each.
    assert_eq!(m.refused(), (2, vec![("b", 4)]));
    // A reload that narrows the symbols keeps the lookup in step with the instances.
    m.apply(
        parse(
            "strategies:\n  - {id: b, class: probe, symbols: ['B/USDT', 'C/USDT'], events: [trade, 'md.ohlcv.1m.*']}\n",
            "t",
            &registry(),
            &Topics::default(),
        )
        .unwrap(),
    );
    let b = &m.entries[0];
    assert_eq!(b.state_of.len(), 2);
    assert!(b.states.iter().all(|s| b.state_of[&s.symbol] < 2));
}

#[test]
fn many_distinct_symbols_cost_one_lookup_each() {
    let mut m = manager(registry(), TWO);
    m.set_limits(&Strat {
        max_symbols: usize::MAX,
        max_symbols_per_strategy: usize::MAX,
    });
    m.explain(false);
    let mut out = Vec::new();
    let n = 20_000;
    for i in 0..n {
        m.on_event(&trade(&format!("S{i}/USDT"), "1", i), &mut out);
    }
    assert_eq!(out.len(), n as usize);
    assert_eq!(m.entries[1].states.len(), n as usize);
    assert_eq!(m.refused(), (0, vec![]));
}
