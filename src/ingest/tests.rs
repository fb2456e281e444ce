//! Table tests of the ingest cores.

use super::*;

fn rec(id: u64) -> TradeRec {
    TradeRec {
        id,
        price: Decimal::from(10),
        qty: Decimal::ONE,
        side: Side::Buy,
        ts_ns: id as i64,
        ts_local_ns: 0,
    }
}

fn ids(v: &[TradeRec]) -> Vec<u64> {
    v.iter().map(|t| t.id).collect()
}

#[test]
fn dedup_window_remembers_the_last_512() {
    let mut d = TradeDedup::new(DEDUP_WINDOW);
    for id in 1..=1000 {
        assert!(!d.contains(id));
        d.insert(id);
        assert!(d.contains(id));
    }
    assert!(
        d.contains(489) && !d.contains(488),
        "window is the last 512 ids"
    );
    assert!(!d.contains(1001));
    let mut d = TradeDedup::new(3);
    for id in [5, 3, 9, 4] {
        d.insert(id);
    }
    assert_eq!(
        [3, 4, 5, 9].map(|i| d.contains(i)),
        [true, true, false, true],
        "out-of-order ids and eviction of the oldest inserted"
    );
}

#[test]
fn sequencer_table() {
    // (offered ids, expected offers, expected emitted ids)
    use Offer::*;
    let cases: &[(&[u64], &[Offer], &[u64])] = &[
        (&[7, 8, 9], &[Emitted, Emitted, Emitted], &[7, 8, 9]),
        (
            &[1, 2, 2, 3, 1],
            &[Emitted, Emitted, Duplicate, Emitted, Duplicate],
            &[1, 2, 3],
        ),
        // Out of order: 3 waits for 2, then both go in order.
        (
            &[1, 3, 2, 4],
            &[Emitted, Held, Emitted, Emitted],
            &[1, 2, 3, 4],
        ),
        (
            &[1, 3, 3, 2],
            &[Emitted, Held, Duplicate, Emitted],
            &[1, 2, 3],
        ),
        (
            &[1, 4, 3, 2],
            &[Emitted, Held, Held, Emitted],
            &[1, 2, 3, 4],
        ),
    ];
    for (offered, offers, emitted) in cases {
        let mut s = TradeSeq::new();
        let mut out = vec![];
        let got: Vec<Offer> = offered
            .iter()
            .map(|&i| s.offer(rec(i), 0, &mut out))
            .collect();
        assert_eq!(&got, offers, "{offered:?}");
        assert_eq!(ids(&out), *emitted, "{offered:?}");
        assert_eq!(s.hole(), None);
    }
}

#[test]
fn holes_wait_then_recover_from_rest_or_are_reported() {
    let mut s = TradeSeq::new();
    let mut out = vec![];
    s.offer(rec(10), 0, &mut out);
    assert_eq!(s.offer(rec(14), 1_000, &mut out), Offer::Held);
    assert_eq!(s.offer(rec(15), 2_000, &mut out), Offer::Held);
    assert_eq!(s.hole(), Some(Hole { from: 11, to: 13 }));
    assert!(!s.hole_due(1_000 + 99, 100, 10));
    assert!(s.hole_due(1_000 + 100, 100, 10), "waited long enough");
    assert!(s.hole_due(0, 100, 2), "too many held");
    // REST knows 12..=16 (overlapping what is held), but not 11.
    let rest: Vec<TradeRec> = (12..=16).map(rec).collect();
    let r = s.recover(&rest, &mut out);
    assert_eq!(r.holes, vec![Hole { from: 11, to: 11 }]);
    assert_eq!(r.filled, 3, "12, 13 and 16 came from REST");
    assert_eq!(ids(&out), vec![10, 12, 13, 14, 15, 16]);
    assert_eq!(s.offer(rec(11), 0, &mut out), Offer::Late);
    assert_eq!(s.offer(rec(16), 0, &mut out), Offer::Duplicate);
    assert_eq!(s.offer(rec(17), 0, &mut out), Offer::Emitted);
    assert!(!s.hole_due(i64::MAX, 0, 0));
}

#[test]
fn recovery_after_reconnect_fills_everything_and_dedups_the_stream() {
    let mut s = TradeSeq::new();
    let mut out = vec![];
    for i in 1..=5 {
        s.offer(rec(i), 0, &mut out);
    }
    out.clear();
    let rest: Vec<TradeRec> = (1..=9).map(rec).collect();
    let r = s.recover(&rest, &mut out);
    assert_eq!((r.filled, r.holes.len()), (4, 0));
    assert_eq!(ids(&out), vec![6, 7, 8, 9]);
    assert_eq!(s.offer(rec(8), 0, &mut out), Offer::Duplicate);
    assert_eq!(s.offer(rec(10), 0, &mut out), Offer::Emitted);
    // A REST window that starts too late leaves a reported hole.
    out.clear();
    let r = s.recover(&(2000..=2001).map(rec).collect::<Vec<_>>(), &mut out);
    assert_eq!(r.holes, vec![Hole { from: 11, to: 1999 }]);
    assert_eq!(r.holes[0].count(), 1989);
}

#[test]
fn control_rate_allows_five_a_second() {
    let mut r = ControlRate::new(5);
    let taken = (0..10).filter(|_| r.try_take(0)).count();
    assert_eq!(taken, 5);
    assert!(r.wait_ns(0) > 0);
    assert!(!r.try_take(100_000_000));
    assert!(r.try_take(200_000_000), "one token every 200 ms");
    assert_eq!(r.wait_ns(1_000_000_000_000), 0);
}

#[test]
fn streams_parse() {
    assert_eq!(
        "trades,book".parse(),
        Ok(Streams {
            trades: true,
            ticker: false,
            book: true
        })
    );
    assert!(
        "trades,candles"
            .parse::<Streams>()
            .unwrap_err()
            .contains("candles")
    );
    assert!(",".parse::<Streams>().is_err());
}

fn core() -> Ingest {
    let sym = |p: &str, v: &str| VenueSymbol {
        pair: p.into(),
        venue: v.into(),
        stream: v.to_ascii_lowercase(),
    };
    Ingest::new(
        "binanceus",
        vec![sym("ATOM/USDT", "ATOMUSDT"), sym("BTC/USDT", "BTCUSDT")],
        Streams::default(),
        CoreConfig::default(),
    )
}

fn trade_frame(sym: &str, id: u64, m: bool) -> String {
    format!(
        r#"{{"stream":"{}@trade","data":{{"e":"trade","E":1,"s":"{sym}","t":{id},"p":"10.50000000","q":"0.10000000","b":1,"a":2,"T":1700000000123,"m":{m},"M":true}}}}"#,
        sym.to_ascii_lowercase()
    )
}

fn run(core: &mut Ingest, frames: &[String]) -> (Vec<String>, Vec<Note>) {
    let mut lines = vec![];
    let mut notes = vec![];
    for f in frames {
        core.on_frame(
            f,
            42,
            0,
            &mut |_, ev: &Event| lines.push(ev.to_json()),
            &mut notes,
        );
    }
    (lines, notes)
}

#[test]
fn trade_frames_become_trade_events() {
    let mut c = core();
    let (lines, notes) = run(
        &mut c,
        &[
            trade_frame("ATOMUSDT", 7, true),
            trade_frame("BTCUSDT", 1, false),
        ],
    );
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        lines[0],
        r#"{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"7","price":10.5,"qty":0.1,"side":"sell","ts_ns":1700000000123000000,"ts_local_ns":42}"#
    );
    assert!(lines[1].contains(r#""symbol":"BTC/USDT""#) && lines[1].contains(r#""side":"buy""#));
    assert_eq!(
        c.stream_names()[..3],
        [
            "atomusdt@trade",
            "atomusdt@bookTicker",
            "atomusdt@depth@100ms"
        ]
    );
}

#[test]
fn garbage_and_unknown_symbols_are_noted_and_skipped() {
    let mut c = core();
    let frames = [
        "garbage".to_string(),
        trade_frame("ETHUSDT", 1, true),
        r#"{"stream":"atomusdt@kline_1m","data":{}}"#.to_string(),
        r#"{"result":null,"id":1}"#.to_string(),
        trade_frame("ATOMUSDT", 1, true),
    ];
    let (lines, notes) = run(&mut c, &frames);
    assert_eq!(lines.len(), 1);
    assert_eq!(c.counters.bad_frames, 3);
    assert_eq!(notes.last(), Some(&Note::Reply(Some(1))));
    let (_, notes) = run(&mut c, &[r#"{"e":"serverShutdown","E":1}"#.to_string()]);
    assert_eq!(notes, vec![Note::ServerShutdown]);
}

#[test]
fn a_ticker_with_an_empty_side_is_counted_not_sent() {
    let mut c = core();
    let ticker = |bid: &str, ask: &str| {
        format!(
            r#"{{"stream":"atomusdt@bookTicker","data":{{"u":1,"s":"ATOMUSDT","b":"{bid}","B":"1","a":"{ask}","A":"2"}}}}"#
        )
    };
    let (lines, _) = run(
        &mut c,
        &[
            ticker("0", "10.1"),
            ticker("10", "0.00000000"),
            ticker("10", "10.1"),
        ],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(r#""bid":10,"ask":10.1"#), "{}", lines[0]);
    assert_eq!((c.counters.tickers, c.counters.empty_tickers), (1, 2));
}

#[test]
fn book_frames_sync_with_a_snapshot() {
    let mut c = core();
    let depth = |u: u64, bid: &str| {
        format!(
            r#"{{"stream":"atomusdt@depth@100ms","data":{{"e":"depthUpdate","E":5,"s":"ATOMUSDT","U":{u},"u":{u},"b":[["{bid}","1.5"]],"a":[]}}}}"#
        )
    };
    let (lines, notes) = run(&mut c, &[depth(10, "9.8"), depth(11, "9.9")]);
    assert!(lines.is_empty());
    assert_eq!(notes, vec![Note::FetchSnapshot(0)]);
    let mut lines = vec![];
    let mut notes = vec![];
    let snap = Snapshot {
        last_update_id: 10,
        bids: vec![],
        asks: vec![crate::event::Level {
            price: Decimal::from(11),
            qty: Decimal::ONE,
        }],
    };
    c.on_snapshot(
        0,
        Some(snap),
        99,
        &mut |_, ev: &Event| lines.push(ev.to_json()),
        &mut notes,
    );
    assert_eq!(
        lines,
        [
            r#"{"kind":"book","venue":"binanceus","symbol":"ATOM/USDT","bids":[[9.9,1.5]],"asks":[[11,1]],"ts_ns":99}"#
        ]
    );
    let (lines, notes) = run(&mut c, &[depth(12, "9.8"), depth(14, "9.7")]);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        notes,
        vec![
            Note::BookGap {
                symbol: "ATOM/USDT".into(),
                expected: 13,
                got: 14
            },
            Note::FetchSnapshot(0)
        ]
    );
    assert_eq!(c.counters.book_resyncs, 1);
}

#[test]
fn reconnect_asks_rest_and_reports_unfillable_holes() {
    let mut c = core();
    let (_, _) = run(&mut c, &[trade_frame("ATOMUSDT", 100, false)]);
    let mut notes = vec![];
    c.on_subscribed(&mut notes);
    assert_eq!(notes, vec![Note::Recover(0)]);
    let rest: Vec<RestTrade> = (103..=104)
        .map(|id| RestTrade {
            id,
            price: Decimal::ONE,
            qty: Decimal::ONE,
            time: 5,
            is_buyer_maker: false,
        })
        .collect();
    let mut lines = vec![];
    let mut notes = vec![];
    c.on_recovered(
        0,
        &rest,
        7,
        &mut |_, ev: &Event| lines.push(ev.to_json()),
        &mut notes,
    );
    assert_eq!(lines.len(), 2);
    assert_eq!(
        notes,
        vec![Note::Gap {
            symbol: "ATOM/USDT".into(),
            hole: Hole { from: 101, to: 102 }
        }]
    );
    assert_eq!(
        (
            c.counters.gaps,
            c.counters.missing_ids,
            c.counters.recovered
        ),
        (1, 2, 2)
    );
}

#[test]
fn extreme_ids_do_not_overflow() {
    let mut s = TradeSeq::new();
    let mut out = vec![];
    assert_eq!(s.offer(rec(u64::MAX - 1), 0, &mut out), Offer::Emitted);
    assert_eq!(s.offer(rec(u64::MAX), 0, &mut out), Offer::Emitted);
    assert_eq!(s.offer(rec(3), 0, &mut out), Offer::Late);
    let r = s.recover(&[rec(u64::MAX), rec(0)], &mut out);
    assert_eq!(r, Recovery::default());
    let mut c = core();
    let frame = |u: u64| {
        format!(
            r#"{{"stream":"atomusdt@depth","data":{{"e":"depthUpdate","E":1,"s":"ATOMUSDT","U":{u},"u":{u},"b":[],"a":[]}}}}"#
        )
    };
    let mut notes = vec![];
    c.on_snapshot(
        0,
        Some(Snapshot {
            last_update_id: u64::MAX,
            ..Default::default()
        }),
        0,
        &mut |_, _: &Event| {},
        &mut notes,
    );
    let (_, notes) = run(
        &mut c,
        &[
            frame(u64::MAX),
            frame(1),
            trade_frame("ATOMUSDT", u64::MAX, true),
        ],
    );
    assert!(notes.is_empty(), "{notes:?}");
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Ids 1..=n, locally shuffled, some sent twice, some lost.
    fn stream() -> impl Strategy<Value = (u64, Vec<u64>)> {
        (1u64..300).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec((0u8..10, 0u8..10), n as usize),
            )
                .prop_map(|(n, dice)| {
                    let mut ids: Vec<u64> = (1..=n).collect();
                    for (i, d) in dice.iter().enumerate().skip(1) {
                        if d.0 == 0 {
                            ids.swap(i - 1, i);
                        }
                    }
                    let mut out = vec![];
                    for (id, d) in ids.iter().zip(&dice) {
                        match d.1 {
                            0 => {}
                            1 => out.extend([*id, *id]),
                            _ => out.push(*id),
                        }
                    }
                    (n, out)
                })
        })
    }

    proptest! {
        #[test]
        fn output_is_increasing_and_holes_are_exactly_the_missing_ids((n, sent) in stream(), rest_has_all in any::<bool>()) {
            let mut s = TradeSeq::new();
            let mut out = vec![];
            for (t, id) in sent.iter().enumerate() {
                s.offer(rec(*id), t as i64, &mut out);
            }
            let rest: Vec<TradeRec> = if rest_has_all { (1..=n).map(rec).collect() } else { vec![] };
            let r = s.recover(&rest, &mut out);
            let got = ids(&out);
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
            if rest_has_all && got.first() == Some(&1) {
                prop_assert_eq!(got, (1..=n).collect::<Vec<_>>());
                prop_assert!(r.holes.is_empty());
            } else if let (Some(first), Some(last)) = (got.first(), got.last()) {
                let missing: u64 = r.holes.iter().map(Hole::count).sum();
                prop_assert_eq!(missing, last - first + 1 - got.len() as u64);
            }
        }
    }
}
