//! Table tests of the broker service's decisions over a scripted in-memory venue and a manual
//! clock: no socket is opened and nothing waits. What counts is what the venue received (order
//! requests, lookups, booked orders), not only what the service printed.

mod mem_venue;

use super::*;
use crate::broker::AssetBalance;
use crate::clock::ManualClock;
use crate::config::Env;
use crate::reason::Reason;
use mem_venue::{Answer, LISTED, MemVenue};
use serde_json::Value;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The first wall time of every manual clock here.
const START_NS: i64 = 1_700_000_000_000_000_000;

/// A broker over an in-memory venue, in a temporary directory (journals, watermark, kill
/// file), with its clock.
struct Harness {
    stage: BrokerStage<MemVenue, ManualClock>,
    venue: MemVenue,
    clock: ManualClock,
    /// What the service opened the venue for, if it did.
    opened: Option<Purpose>,
    dir: tempfile::TempDir,
}

/// Live by both flags, everything else as configured by default, the kill file in `dir`.
fn live_config(dir: &Path) -> (Config, Options) {
    let mut cfg = Config::default();
    cfg.app.env = Env::Live;
    cfg.journal.dir = dir.join("journal");
    cfg.risk.kill_switch_file = dir.join("halt");
    cfg.exchange.symbols = vec![LISTED.into()];
    let opts = Options {
        enable_live: Some("1".into()),
        ..Options::default()
    };
    (cfg, opts)
}

impl Harness {
    fn live(venue: MemVenue) -> Harness {
        Harness::start(venue, |_, _| {})
    }

    /// A broker started live over `venue`, after `setup` changed the config or options.
    fn start(venue: MemVenue, setup: impl FnOnce(&mut Config, &mut Options)) -> Harness {
        Harness::start_in(tempfile::tempdir().unwrap(), venue, setup)
    }

    fn start_in(
        dir: tempfile::TempDir,
        venue: MemVenue,
        setup: impl FnOnce(&mut Config, &mut Options),
    ) -> Harness {
        let (mut cfg, mut opts) = live_config(dir.path());
        setup(&mut cfg, &mut opts);
        let clock = ManualClock::starting_at(START_NS);
        // The venue quotes 5 unless the test set another price.
        venue
            .account()
            .prices
            .entry(LISTED.into())
            .or_insert(dec("5"));
        let mut opened = None;
        let stage = BrokerStage::start(&cfg, &opts, clock.clone(), |purpose| {
            opened = Some(purpose);
            Ok(venue.clone())
        })
        .unwrap();
        Harness {
            stage,
            venue,
            clock,
            opened,
            dir,
        }
    }

    /// The same directory and venue, a new broker: what a restart sees.
    fn restart(mut self) -> Harness {
        self.stage.flush().unwrap();
        let Harness { venue, dir, .. } = self;
        Harness::start_in(dir, venue, |_, _| {})
    }

    fn send(&mut self, line: &str) -> Vec<Value> {
        let ev = crate::event::decode(line).unwrap();
        let mut out = Out::new();
        self.stage.on_event(&ev, &mut out).unwrap();
        as_json(out)
    }

    fn tick(&mut self) -> Vec<Value> {
        let mut out = Out::new();
        self.stage.on_tick(self.clock.now_ns(), &mut out).unwrap();
        as_json(out)
    }

    fn end(&mut self) -> Vec<Value> {
        let mut out = Out::new();
        self.stage.on_end(&mut out).unwrap();
        as_json(out)
    }
}

fn as_json(out: Out) -> Vec<Value> {
    out.iter()
        .map(|e| serde_json::from_str(&e.to_json()).unwrap())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

fn order_line(intent: &str, symbol: &str, order_type: &str, qty: &str, limit: &str) -> String {
    let limit = if limit.is_empty() {
        String::new()
    } else {
        format!(r#","limit_price":"{limit}""#)
    };
    format!(
        r#"{{"kind":"order","intent_id":"{intent}","strategy_id":"s1","venue":"binanceus","symbol":"{symbol}","side":"buy","type":"{order_type}","qty":"{qty}"{limit},"ts_accepted_ns":1000}}"#
    )
}

/// A limit buy of 1 ATOM at 5 USDT: 5 USD, under the 10 USD live cap.
fn order(intent: &str) -> String {
    order_line(intent, LISTED, "limit", "1", "5")
}

/// A trade on the broker's input: its reference price.
fn trade(price: &str, ts_ns: i64) -> String {
    format!(
        r#"{{"kind":"trade","venue":"binanceus","symbol":"{LISTED}","trade_id":"1","price":"{price}","qty":"1","side":"buy","ts_ns":{ts_ns}}}"#
    )
}

/// What an order sent live reports first: its write-ahead `pending_new`, then the ack.
const PLACED: &[&str] = &["order_update", "ack"];

fn cancel(intent: &str) -> String {
    format!(r#"{{"kind":"cancel","intent_id":"{intent}","ts_ns":2000}}"#)
}

/// The kill switch file as a row of a table sets it up.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KillFile {
    Absent,
    Present,
    /// Its state cannot be read (a path through a regular file): fails closed.
    Unreadable,
}

#[test]
fn gates_decide_whether_an_order_reaches_the_venue() {
    struct Row {
        name: &'static str,
        env: Env,
        enable_live: Option<&'static str>,
        validate: bool,
        kill: KillFile,
        cap_usd: &'static str,
        /// The venue's quote (bid = ask); `None`: the ticker fails.
        venue_price: Option<&'static str>,
        /// A trade on the input before the order (price, age at the order in ms).
        input_trade: Option<(&'static str, i64)>,
        order: String,
        want_kinds: &'static [&'static str],
        want_reason: Option<Reason>,
        want_opened: Option<Purpose>,
        want_requests: usize,
        want_validations: usize,
    }
    let live = |name: &'static str, order: String| Row {
        name,
        env: Env::Live,
        enable_live: Some("1"),
        validate: false,
        kill: KillFile::Absent,
        cap_usd: "10",
        venue_price: Some("5"),
        input_trade: None,
        order,
        want_kinds: PLACED,
        want_reason: None,
        want_opened: Some(Purpose::Trade),
        want_requests: 1,
        want_validations: 0,
    };
    let dry = |name: &'static str, env: Env, enable_live: Option<&'static str>| Row {
        env,
        enable_live,
        want_kinds: &["echo"],
        want_opened: None,
        want_requests: 0,
        ..live(name, order("g-1"))
    };
    let denied = |name: &'static str, reason: Reason, row: Row| Row {
        want_kinds: &["decision"],
        want_reason: Some(reason),
        want_requests: 0,
        ..Row { name, ..row }
    };
    let rows = [
        dry("dev env: echoed, no venue opened", Env::Dev, Some("1")),
        dry("live env without the flag: echoed", Env::Live, None),
        dry("flag not exactly 1: echoed", Env::Live, Some("true")),
        dry("paper env: echoed", Env::Paper, Some("1")),
        Row {
            validate: true,
            want_opened: Some(Purpose::Validate),
            want_validations: 1,
            ..dry(
                "--validate: the venue checks it, nothing placed",
                Env::Dev,
                None,
            )
        },
        live("live by both flags: placed once", order("g-1")),
        denied(
            "kill file present: halted",
            Reason::Halted,
            Row {
                kill: KillFile::Present,
                ..live("", order("g-1"))
            },
        ),
        denied(
            "kill file unreadable: fails closed",
            Reason::Halted,
            Row {
                kill: KillFile::Unreadable,
                ..live("", order("g-1"))
            },
        ),
        denied(
            "15 USD over the built-in 10 USD cap",
            Reason::LiveMicroCap,
            live("", order_line("g-1", LISTED, "limit", "3", "5")),
        ),
        denied(
            "config lowers the cap to 2 USD",
            Reason::LiveMicroCap,
            Row {
                cap_usd: "2",
                ..live("", order("g-1"))
            },
        ),
        denied(
            "config cannot raise the cap above 10 USD",
            Reason::LiveMicroCap,
            Row {
                cap_usd: "1000",
                ..live("", order_line("g-1", LISTED, "limit", "3", "5"))
            },
        ),
        denied(
            "no venue quote: fails closed, even for a limit order",
            Reason::NoRefPrice,
            Row {
                venue_price: None,
                ..live("", order("g-1"))
            },
        ),
        live(
            "market order priced at the venue's ask plus slippage: 5.025",
            order_line("g-1", LISTED, "market", "1", ""),
        ),
        denied(
            "market order at exactly the cap: over it once the slippage allowance counts",
            Reason::LiveMicroCap,
            live("", order_line("g-1", LISTED, "market", "2", "")),
        ),
        denied(
            "the venue's quote puts a market order over the cap",
            Reason::LiveMicroCap,
            Row {
                venue_price: Some("50"),
                ..live("", order_line("g-1", LISTED, "market", "1", ""))
            },
        ),
        denied(
            "a bad input trade (0.01 while the venue quotes 5): deviation",
            Reason::RefPriceDeviation,
            Row {
                input_trade: Some(("0.01", 0)),
                ..live("", order_line("g-1", LISTED, "market", "900", ""))
            },
        ),
        denied(
            "a half-price input trade: deviation",
            Reason::RefPriceDeviation,
            Row {
                input_trade: Some(("2.5", 0)),
                ..live("", order_line("g-1", LISTED, "market", "1", ""))
            },
        ),
        denied(
            "an input trade older than broker.max_ref_age_ms: stale",
            Reason::RefPriceStale,
            Row {
                input_trade: Some(("5", 5_001)),
                ..live("", order_line("g-1", LISTED, "market", "1", ""))
            },
        ),
        Row {
            input_trade: Some(("5.04", 5_000)),
            ..live(
                "a fresh input trade within the band",
                order_line("g-1", LISTED, "market", "1", ""),
            )
        },
        denied(
            "a sell limit far below the market is worth the market: 100 at 0.05 is ~500 USD",
            Reason::LiveMicroCap,
            live(
                "",
                order_line("g-1", LISTED, "limit", "100", "0.05").replace("\"buy\"", "\"sell\""),
            ),
        ),
        denied(
            "symbol the venue does not list: no quote for it, refused before sending",
            Reason::NoRefPrice,
            live("", order_line("g-1", "DOGE/USDT", "limit", "1", "0.1")),
        ),
        Row {
            want_kinds: &["order_update"],
            want_requests: 0,
            ..live(
                "order for another venue: rejected, never sent",
                order("g-1").replace("binanceus", "kraken"),
            )
        },
    ];
    for row in rows {
        let venue = MemVenue::default();
        if let Some(p) = row.venue_price {
            venue.account().prices.insert(LISTED.into(), dec(p));
        }
        let dir = tempfile::tempdir().unwrap();
        match row.kill {
            KillFile::Absent => {}
            KillFile::Present => std::fs::write(dir.path().join("halt"), "").unwrap(),
            KillFile::Unreadable => {
                std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
            }
        }
        let mut h = Harness::start_in(dir, venue, |cfg, opts| {
            cfg.app.env = row.env;
            cfg.broker.live_max_notional_usd = dec(row.cap_usd);
            if row.kill == KillFile::Unreadable {
                cfg.risk.kill_switch_file =
                    cfg.risk.kill_switch_file.with_file_name("not-a-dir/halt");
            }
            opts.enable_live = row.enable_live.map(String::from);
            opts.validate = row.validate;
        });
        if row.venue_price.is_none() {
            h.venue.account().prices.clear();
        }
        if let Some((price, age_ms)) = row.input_trade {
            h.send(&trade(price, START_NS - age_ms * 1_000_000));
        }
        let out = h.send(&row.order);
        let name = row.name;
        assert_eq!(kinds(&out), row.want_kinds, "{name}: {out:?}");
        if let Some(reason) = row.want_reason {
            assert_eq!(out[0]["reason"], reason.as_str(), "{name}");
            assert_eq!(out[0]["ts_ns"], START_NS, "{name}: stamped by the clock");
        }
        if row.want_kinds == ["order_update"] {
            assert_eq!(out[0]["status"], "rejected", "{name}");
        }
        assert_eq!(h.opened, row.want_opened, "{name}");
        assert_eq!(h.venue.place_requests(), row.want_requests, "{name}");
        assert_eq!(h.venue.booked_orders(), row.want_requests, "{name}");
        assert_eq!(
            h.venue.account().validate_requests.len(),
            row.want_validations,
            "{name}"
        );
    }
}

#[test]
fn one_intent_is_one_venue_order_whatever_the_venue_answers() {
    use Answer::*;
    struct Row {
        name: &'static str,
        answers: &'static [Answer],
        /// An open order already carries the intent's client order id at the venue.
        already_booked: bool,
        lookups_fail: bool,
        /// What the send itself reports, then what the ticks after it report (each tick
        /// comes after the resend window).
        want_sent: &'static [&'static str],
        want_settled: &'static [&'static str],
        /// The last order update's status, when there is one.
        want_status: Option<&'static str>,
        /// Order requests and lookups the venue received, and orders it booked.
        want_requests: usize,
        want_lookups: usize,
        want_booked: usize,
    }
    let unknown: &[&str] = &["order_update", "order_update"];
    let rows = [
        Row {
            name: "accepted: acknowledged",
            answers: &[Accept],
            already_booked: false,
            lookups_fail: false,
            want_sent: PLACED,
            want_settled: &[],
            want_status: Some("pending_new"),
            want_requests: 1,
            want_lookups: 0,
            want_booked: 1,
        },
        Row {
            name: "answer lost after booking: unknown, then found by its client id",
            answers: &[BookButTimeOut],
            already_booked: false,
            lookups_fail: false,
            want_sent: unknown,
            want_settled: &["order_update"],
            want_status: Some("new"),
            want_requests: 1,
            want_lookups: 1,
            want_booked: 1,
        },
        Row {
            name: "request lost: looked up after the window, then sent again",
            answers: &[LoseRequest, Accept],
            already_booked: false,
            lookups_fail: false,
            want_sent: unknown,
            want_settled: &["ack"],
            want_status: Some("unknown"),
            want_requests: 2,
            want_lookups: 1,
            want_booked: 1,
        },
        Row {
            name: "lost, lost, then booked but lost: every resend follows a lookup",
            answers: &[LoseRequest, LoseRequest, BookButTimeOut],
            already_booked: false,
            lookups_fail: false,
            want_sent: unknown,
            want_settled: &["order_update"],
            want_status: Some("new"),
            want_requests: 3,
            want_lookups: 3,
            want_booked: 1,
        },
        Row {
            name: "every try lost: gives up after max_attempts, reported rejected",
            answers: &[LoseRequest; 5],
            already_booked: false,
            lookups_fail: false,
            want_sent: unknown,
            want_settled: &["order_update"],
            want_status: Some("rejected"),
            want_requests: 5,
            want_lookups: 5,
            want_booked: 0,
        },
        Row {
            name: "answer lost and every lookup fails: unknown, never sent blindly",
            answers: &[LoseRequest],
            already_booked: false,
            lookups_fail: true,
            want_sent: unknown,
            want_settled: &[],
            want_status: Some("unknown"),
            want_requests: 1,
            want_lookups: 6,
            want_booked: 0,
        },
        Row {
            name: "client id in use by an order the venue has: that order is the answer",
            answers: &[],
            already_booked: true,
            lookups_fail: false,
            want_sent: PLACED,
            want_settled: &[],
            want_status: Some("pending_new"),
            want_requests: 1,
            want_lookups: 1,
            want_booked: 1,
        },
        Row {
            name: "client id in use by an order nobody can find: rejected, not resent",
            answers: &[ClaimInUse],
            already_booked: false,
            lookups_fail: false,
            want_sent: &["order_update", "order_update"],
            want_settled: &[],
            want_status: Some("rejected"),
            want_requests: 1,
            want_lookups: 1,
            want_booked: 0,
        },
        Row {
            name: "venue error: rejected, not retried",
            answers: &[Reject],
            already_booked: false,
            lookups_fail: false,
            want_sent: &["order_update", "order_update"],
            want_settled: &[],
            want_status: Some("rejected"),
            want_requests: 1,
            want_lookups: 0,
            want_booked: 0,
        },
    ];
    for row in rows {
        let name = row.name;
        let venue = MemVenue::answering(row.answers);
        venue.account().lookups_fail = row.lookups_fail;
        // No REST polls: only the settling of unknown orders asks the venue.
        let mut h = Harness::start(venue, |cfg, _| cfg.broker.poll_interval_ms = 3_600_000);
        // Booked after the start: one open at the start is adopted and never sent at all.
        let existing = row.already_booked.then(|| h.venue.booked("p-1", "1"));
        let before = h.clock.monotonic();
        let sent = h.send(&order("p-1"));
        assert_eq!(kinds(&sent), row.want_sent, "{name}: {sent:?}");
        assert_eq!(
            sent[0]["status"], "pending_new",
            "{name}: journaled before the send"
        );
        assert_eq!(h.clock.monotonic(), before, "{name}: the send never waits");
        let mut settled = Vec::new();
        for _ in 0..6 {
            h.clock.advance(Duration::from_secs(6));
            settled.extend(h.tick().into_iter().filter(|e| e["kind"] != "balance"));
        }
        assert_eq!(kinds(&settled), row.want_settled, "{name}: {settled:?}");
        let last_status = sent
            .iter()
            .chain(&settled)
            .filter_map(|e| e["status"].as_str())
            .next_back();
        assert_eq!(last_status, row.want_status, "{name}");
        let a = h.venue.account();
        assert_eq!(a.place_requests.len(), row.want_requests, "{name}");
        assert_eq!(a.lookups.len(), row.want_lookups, "{name}");
        assert_eq!(a.orders.len(), row.want_booked, "{name}");
        assert!(
            a.place_requests
                .iter()
                .chain(&a.lookups)
                .all(|c| c == "p-1"),
            "{name}: always by the intent's client order id"
        );
        if let Some(ack) = sent.iter().chain(&settled).find(|e| e["kind"] == "ack") {
            let at_venue = existing.as_ref().unwrap_or(&a.orders[0]);
            assert_eq!(
                ack["exchange_order_id"], at_venue.exchange_order_id,
                "{name}"
            );
        }
    }
}

#[test]
fn an_unknown_order_never_holds_up_the_next_one() {
    let mut h = Harness::live(MemVenue::answering(&[Answer::LoseRequest]));
    let first = h.send(&order("u-1"));
    assert_eq!(first[1]["status"], "unknown");
    let next = h.send(&order("u-2"));
    assert_eq!(kinds(&next), PLACED, "sent at once: {next:?}");
    assert_eq!(h.venue.place_requests(), 2);
}

#[test]
fn an_intent_is_never_placed_twice_in_one_run_or_after_a_restart() {
    struct Row {
        name: &'static str,
        answers: &'static [Answer],
        restart: bool,
    }
    let rows = [
        Row {
            name: "acknowledged, sent again in the same run",
            answers: &[Answer::Accept],
            restart: false,
        },
        Row {
            name: "acknowledged, sent again after a restart (the journal remembers)",
            answers: &[Answer::Accept],
            restart: true,
        },
        Row {
            name: "outcome unknown, sent again in the same run",
            answers: &[Answer::LoseRequest; 5],
            restart: false,
        },
    ];
    for row in rows {
        let name = row.name;
        let mut h = Harness::live(MemVenue::answering(row.answers));
        h.send(&order("r-1"));
        let requests = h.venue.place_requests();
        if row.restart {
            h = h.restart();
        }
        assert_eq!(h.send(&order("r-1")), Vec::<Value>::new(), "{name}");
        assert_eq!(h.venue.place_requests(), requests, "{name}: nothing sent");
    }

    // Open at the venue when the broker starts (an earlier run placed it): adopted, not sent.
    let venue = MemVenue::default();
    venue.booked("r-2", "1");
    let mut h = Harness::live(venue);
    assert_eq!(kinds(&h.tick()), ["order_update"]);
    assert_eq!(h.send(&order("r-2")), Vec::<Value>::new());
    assert_eq!(h.venue.place_requests(), 0);

    // Filled at the venue (closed: Binance would take its client id again), sent by another
    // host or a run whose journal is gone: the venue's recent orders say so.
    let venue = MemVenue::default();
    venue.booked("r-3", "1");
    venue.account().order_mut("r-3").unwrap().status = OrderStatus::Filled;
    let mut h = Harness::live(venue);
    assert_eq!(h.send(&order("r-3")), Vec::<Value>::new());
    assert_eq!(h.venue.place_requests(), 0);

    // Killed between the send and its answer: the journal holds a `pending_new` only. The
    // restart waits out the window and asks the venue by client id.
    for (answer, booked, want) in [
        (Answer::BookButTimeOut, 1, "new"),
        (Answer::LoseRequest, 0, "rejected"),
    ] {
        let mut h = Harness::live(MemVenue::answering(&[answer]));
        h.send(&order("r-4"));
        let mut h = h.restart();
        let found = h.tick();
        let statuses: Vec<_> = found.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(statuses, [want], "{answer:?}: {found:?}");
        let again = h.send(&order("r-4"));
        let resent = usize::from(booked == 0);
        assert_eq!(
            h.venue.place_requests(),
            1 + resent,
            "{answer:?}: {again:?}"
        );
        assert_eq!(
            h.venue.booked_orders(),
            1,
            "{answer:?}: one order in the end"
        );
    }
}

#[test]
fn reconciliation_at_start_reports_what_the_venue_has_and_no_fill_twice() {
    struct Row {
        name: &'static str,
        /// Fill watermark on disk before the start.
        watermark: Option<u64>,
        /// Trades on the account before the start.
        trades: &'static [u64],
        /// An order of an earlier run still open at the venue.
        open_order: bool,
        want_updates: usize,
        want_fills: &'static [u64],
        want_watermark: u64,
    }
    let rows = [
        Row {
            name: "open order of an earlier run: reported at the first tick",
            watermark: None,
            trades: &[],
            open_order: true,
            want_updates: 1,
            want_fills: &[],
            want_watermark: 0,
        },
        Row {
            name: "first run: trades already on the account are not ours to report",
            watermark: None,
            trades: &[1, 2],
            open_order: false,
            want_updates: 0,
            want_fills: &[],
            want_watermark: 2,
        },
        Row {
            name: "watermark on disk: only the trades above it, once",
            watermark: Some(1),
            trades: &[1, 2, 3],
            open_order: false,
            want_updates: 0,
            want_fills: &[2, 3],
            want_watermark: 3,
        },
    ];
    for row in rows {
        let name = row.name;
        let venue = MemVenue::default();
        if row.open_order {
            venue.booked("earlier", "1");
        }
        for &t in row.trades {
            venue.fill(t, "x0");
        }
        let dir = tempfile::tempdir().unwrap();
        if let Some(w) = row.watermark {
            let path = dir.path().join("journal").join(WATERMARK_FILE);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text = format!(r#"{{"trade_id":{{"{LISTED}":{w}}}}}"#);
            std::fs::write(path, text).unwrap();
        }
        let mut h = Harness::start_in(dir, venue, |_, _| {});
        let mut out = h.tick();
        // A poll is due after poll_interval_ms; the second one must find nothing new.
        for _ in 0..2 {
            h.clock.advance(Duration::from_millis(5_000));
            out.extend(h.tick());
        }
        let updates = out.iter().filter(|e| e["kind"] == "order_update").count();
        let fills: Vec<u64> = out
            .iter()
            .filter(|e| e["kind"] == "fill")
            .map(|e| e["ts_fill_ns"].as_u64().unwrap())
            .collect();
        assert_eq!(updates, row.want_updates, "{name}: {out:?}");
        assert_eq!(fills, row.want_fills, "{name}: {out:?}");
        let path = h.dir.path().join("journal").join(WATERMARK_FILE);
        let mark: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(mark["trade_id"][LISTED], row.want_watermark, "{name}");
    }
}

#[test]
fn user_stream_news_and_reconnects_are_reconciled_once() {
    let venue = MemVenue::default();
    let mut h = Harness::live(venue.clone());
    h.tick();
    let ack = h.send(&order("s-1"));
    let xid = ack[1]["exchange_order_id"].as_str().unwrap().to_string();
    let filled = {
        let mut a = venue.account();
        let o = a.order_mut("s-1").unwrap();
        o.status = OrderStatus::Filled;
        o.filled_qty = dec("1");
        o.cum_quote = dec("5");
        o.clone()
    };
    venue.fill(10, &xid);
    venue.fill(11, &xid);
    let first = venue.account().fills[0].clone();
    // The stream brings the final report and one fill, then drops and comes back.
    for msg in [
        StreamMsg::Order(filled.clone()),
        StreamMsg::Fill(first),
        StreamMsg::Down("test".into()),
        StreamMsg::Connected { reconnect: true },
        StreamMsg::Order(filled),
    ] {
        venue.account().stream.push_back(msg);
    }
    let out = h.tick();
    assert_eq!(
        kinds(&out),
        ["order_update", "fill", "position", "fill", "position"],
        "the reconnect's REST poll found the missed fill at once: {out:?}"
    );
    assert_eq!(out[0]["status"], "filled");
    assert!(out[1..].iter().step_by(2).all(|f| f["intent_id"] == "s-1"));
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(h.tick(), Vec::<Value>::new(), "polls repeat nothing");
}

/// What a tick brings other than order updates.
fn news(h: &mut Harness) -> Vec<Value> {
    let mut out = h.tick();
    out.retain(|e| e["kind"] != "order_update");
    out
}

/// Live, the broker is the only stage that sees venue fills, so it books them: each fill is
/// followed by its position (the fee paid in the base asset valued at the fill price), the
/// fill is on disk before the watermark passes it, and a restart counts the earlier fills.
#[test]
fn venue_fills_are_booked_into_positions_that_survive_a_restart() {
    let venue = MemVenue::default();
    let mut h = Harness::live(venue.clone());
    h.tick();
    let ack = h.send(&order("p-1"));
    let xid = ack[1]["exchange_order_id"].as_str().unwrap().to_string();
    venue.fill(10, &xid);
    h.clock.advance(Duration::from_millis(5_000));
    let out = news(&mut h);
    assert_eq!(kinds(&out), ["fill", "position"], "{out:?}");
    let p = &out[1];
    assert_eq!(
        (
            &p["qty"],
            &p["avg_price"],
            &p["fees"],
            &p["realized_pnl_day"]
        ),
        (
            &serde_json::json!(0.5),
            &serde_json::json!(5),
            &serde_json::json!(0.0025),
            &serde_json::json!(-0.0025)
        ),
        "0.0005 ATOM of fee at 5: {p}"
    );
    let journal = h.dir.path().join("journal");
    let on_disk = std::fs::read_to_string(journal.join("broker.fills.ndjson")).unwrap();
    assert_eq!(
        on_disk.lines().count(),
        1,
        "the fill is written before its watermark"
    );
    let mark = std::fs::read_to_string(journal.join(WATERMARK_FILE)).unwrap();
    assert!(mark.contains(&format!(r#""{LISTED}":10"#)), "{mark}");

    let mut h = h.restart();
    venue.fill(11, &xid);
    h.clock.advance(Duration::from_millis(5_000));
    let out = news(&mut h);
    assert_eq!(kinds(&out), ["fill", "position"], "{out:?}");
    // After a restart the fill of an earlier run's order finds its strategy in the journal of
    // given orders, so it adds to the same position.
    let p = &out[1];
    assert_eq!(
        (
            &p["strategy_id"],
            &p["qty"],
            &p["fees"],
            &p["realized_pnl_day"]
        ),
        (
            &serde_json::json!("s1"),
            &serde_json::json!(1),
            &serde_json::json!(0.005),
            &serde_json::json!(-0.005)
        ),
        "{p}"
    );
    assert_eq!(h.stage.book.len(), 1);
    h.stage.flush().unwrap();
    let positions = std::fs::read_to_string(journal.join("broker.positions.ndjson")).unwrap();
    assert_eq!(positions.lines().count(), 2);
}

#[test]
fn polls_balances_and_shutdown_follow_the_clock() {
    let venue = MemVenue::default();
    venue.account().balances = vec![AssetBalance {
        asset: "USDT".into(),
        free: dec("100"),
        locked: dec("0"),
    }];
    let mut h = Harness::live(venue.clone());
    let out = h.tick();
    assert_eq!(kinds(&out), ["balance"], "balances are due at start");
    assert_eq!(out[0]["ts_ns"], START_NS, "stamped by the clock");
    h.send(&order("t-1"));
    venue.account().balances[0].locked = dec("5");
    h.clock.advance(Duration::from_millis(4_999));
    assert_eq!(
        h.tick(),
        Vec::<Value>::new(),
        "nothing due before the poll interval"
    );
    h.clock.advance(Duration::from_millis(1));
    assert_eq!(
        kinds(&h.tick()),
        ["order_update"],
        "the poll reports the NEW order"
    );
    h.clock.advance(Duration::from_millis(25_000));
    assert_eq!(kinds(&h.tick()), ["balance"], "balances every 30 s");

    // Shutdown follows the open order for the grace period, on the clock, then lets go.
    let before = h.clock.monotonic();
    assert_eq!(h.end(), Vec::<Value>::new());
    assert_eq!(h.clock.monotonic() - before, Duration::from_millis(5_000));
    assert!(venue.account().stream_closed);

    // An order the stream reports final during the grace period ends the wait.
    let venue = MemVenue::default();
    let mut h = Harness::live(venue.clone());
    h.send(&order("t-2"));
    let canceled = {
        let mut a = venue.account();
        let o = a.order_mut("t-2").unwrap();
        o.status = OrderStatus::Canceled;
        o.clone()
    };
    venue.account().stream.push_back(StreamMsg::Order(canceled));
    let before = h.clock.monotonic();
    let out = h.end();
    assert_eq!(kinds(&out), ["order_update"]);
    assert_eq!(out[0]["status"], "canceled");
    assert_eq!(h.clock.monotonic() - before, Duration::from_millis(100));
}

#[test]
fn cancels_go_by_client_id_and_report_the_venue_final_word() {
    struct Row {
        name: &'static str,
        /// The order's status at the venue when the cancel arrives; `None`: never placed.
        at_venue: Option<OrderStatus>,
        want_cancels: usize,
        want_status: Option<&'static str>,
    }
    let rows = [
        Row {
            name: "open: canceled",
            at_venue: Some(OrderStatus::New),
            want_cancels: 1,
            want_status: Some("canceled"),
        },
        Row {
            name: "filled before the cancel arrived: the fill is the answer",
            at_venue: Some(OrderStatus::Filled),
            want_cancels: 1,
            want_status: Some("filled"),
        },
        Row {
            name: "intent never placed: nothing sent",
            at_venue: None,
            want_cancels: 0,
            want_status: None,
        },
    ];
    for row in rows {
        let name = row.name;
        let venue = MemVenue::default();
        let mut h = Harness::live(venue.clone());
        if let Some(status) = row.at_venue {
            h.send(&order("c-1"));
            venue.account().order_mut("c-1").unwrap().status = status;
        }
        let out = h.send(&cancel("c-1"));
        assert_eq!(venue.account().cancels.len(), row.want_cancels, "{name}");
        let status: Vec<&str> = out.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(status, Vec::from_iter(row.want_status), "{name}: {out:?}");
    }
}

/// A sell of 1 ATOM/USDT with the given fields on top.
fn sell(intent: &str, fields: Value) -> String {
    let mut o = serde_json::json!({
        "kind": "order", "intent_id": intent, "strategy_id": "s1", "venue": "binanceus",
        "symbol": LISTED, "side": "sell", "qty": "1", "ts_accepted_ns": 1000,
    });
    if let (Some(o), Value::Object(f)) = (o.as_object_mut(), fields) {
        o.extend(f);
    }
    o.to_string()
}

/// A live broker over a venue quoting 5, its input's last trade at 5.
fn live_at_5() -> (MemVenue, Harness) {
    let venue = MemVenue::default();
    let mut h = Harness::live(venue.clone());
    market_at(&mut h, "5");
    (venue, h)
}

/// A take-profit `tp`, a sell limit at 5.5 in the group `g`.
fn send_take_profit(h: &mut Harness) -> Vec<Value> {
    h.send(&sell(
        "tp",
        serde_json::json!({"type": "limit", "limit_price": "5.5", "oco": "g"}),
    ))
}

/// Moves the venue's quote and the input's last trade to `price` together.
fn market_at(h: &mut Harness, price: &str) -> Vec<Value> {
    h.venue.account().prices.insert(LISTED.into(), dec(price));
    let now = h.clock.now_ns();
    h.send(&trade(price, now))
}

#[test]
fn a_stop_the_venue_cannot_hold_is_armed_sent_once_on_the_trade_through_it_and_survives_a_restart()
{
    let (venue, mut h) = live_at_5();
    let out = h.send(&sell(
        "st-1",
        serde_json::json!({"type": "stop_market", "stop_price": "4.8"}),
    ));
    assert_eq!(kinds(&out), ["order_update"]);
    assert_eq!(
        (
            out[0]["status"].as_str(),
            out[0]["exchange_order_id"].as_str()
        ),
        (Some("new"), Some(""))
    );
    assert_eq!(
        venue.place_requests(),
        0,
        "Binance.US has no stop-market: held here"
    );
    let mut h = h.restart();
    eprintln!(
        "JOURNAL {}",
        std::fs::read_to_string(h.dir.path().join("journal/broker.armed.ndjson"))
            .unwrap_or_default()
    );
    assert!(market_at(&mut h, "4.9").is_empty());
    assert_eq!(venue.place_requests(), 0);
    // The market gaps through the stop: one order, a market sell (limit IOC at the cap).
    let out = market_at(&mut h, "4.7");
    assert_eq!(kinds(&out), PLACED, "{out:?}");
    assert_eq!(venue.account().place_requests, ["st-1"]);
    assert!(market_at(&mut h, "4.6").is_empty(), "triggers once");
    let mut h = h.restart();
    assert!(
        market_at(&mut h, "4.5").is_empty(),
        "sent: never armed again"
    );
    assert_eq!(venue.place_requests(), 1);
}

#[test]
fn an_oco_pair_is_one_venue_list_and_a_lone_leg_goes_alone_after_the_wait() {
    let (venue, mut h) = live_at_5();
    let tp = sell(
        "tp",
        serde_json::json!({"type": "limit", "limit_price": "5.5", "oco": "x"}),
    );
    let sl = sell(
        "sl",
        serde_json::json!({"type": "stop_limit", "stop_price": "4.5", "limit_price": "4.4", "oco": "x"}),
    );
    assert!(
        h.send(&tp).is_empty(),
        "the first leg waits for its partner"
    );
    let out = h.send(&sl);
    assert_eq!(
        kinds(&out),
        ["order_update", "order_update", "ack", "ack"],
        "{out:?}"
    );
    assert_eq!(venue.account().place_requests, ["tp", "sl"]);
    let lone = sell(
        "lone",
        serde_json::json!({"type": "limit", "limit_price": "5.5", "oco": "y"}),
    );
    assert!(h.send(&lone).is_empty());
    h.clock.advance(OCO_PAIR_WAIT);
    let out = h.tick();
    assert_eq!(kinds(&out), PLACED, "{out:?}");
    assert_eq!(venue.place_requests(), 3);
}

#[test]
fn a_group_the_broker_enforces_cancels_the_others_when_one_triggers_or_fills() {
    for trigger in [true, false] {
        let (venue, mut h) = live_at_5();
        h.send(&sell(
            "tp",
            serde_json::json!({"type": "limit", "limit_price": "5.5", "oco": "g"}),
        ));
        // Not a venue list (a stop-market): the limit goes alone, the stop is armed.
        let out = h.send(&sell(
            "sl",
            serde_json::json!({"type": "stop_market", "stop_price": "4.8", "oco": "g"}),
        ));
        assert_eq!(
            kinds(&out),
            ["order_update", "ack", "order_update"],
            "{out:?}"
        );
        if trigger {
            let out = market_at(&mut h, "4.7");
            assert_eq!(venue.account().cancels, ["tp"], "{out:?}");
            assert_eq!(venue.account().place_requests, ["tp", "sl"]);
        } else {
            venue.fill(7, "x1");
            h.clock.advance(Duration::from_secs(5));
            h.tick();
            let out = h.tick();
            let sl: Vec<_> = out
                .iter()
                .filter(|e| e["client_order_id"] == "sl")
                .collect();
            assert_eq!(sl.len(), 1, "{out:?}");
            assert_eq!(sl[0]["status"], "canceled");
            assert!(market_at(&mut h, "4.7").is_empty(), "disarmed");
            assert_eq!(venue.account().place_requests, ["tp"]);
        }
    }
}

#[test]
fn one_exit_per_group_even_when_one_trade_reaches_two_armed_members() {
    let (venue, mut h) = live_at_5();
    for (id, stop) in [("a", "4.8"), ("b", "4.9")] {
        h.send(&sell(
            id,
            serde_json::json!({"type": "stop_market", "stop_price": stop, "oco": "g"}),
        ));
    }
    let out = market_at(&mut h, "4.7");
    assert_eq!(venue.account().place_requests, ["a"], "{out:?}");
    let b: Vec<_> = out.iter().filter(|e| e["client_order_id"] == "b").collect();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["status"], "canceled");
}

#[test]
fn a_refused_trigger_stays_armed_and_leaves_its_group_alone() {
    let (venue, mut h) = live_at_5();
    send_take_profit(&mut h);
    h.send(&sell(
        "sl",
        serde_json::json!({"type": "stop_market", "stop_price": "4.8", "oco": "g"}),
    ));
    // The input says 4.7, the venue still quotes 5: 6% apart, refused.
    let now = h.clock.now_ns();
    let out = h.send(&trade("4.7", now));
    assert_eq!(kinds(&out), ["decision"], "{out:?}");
    assert_eq!(out[0]["reason"], "ref_price_deviation");
    assert!(
        venue.account().cancels.is_empty(),
        "the take-profit still protects"
    );
    // Within a second: not asked again. After it, with prices that agree: sent.
    assert!(market_at(&mut h, "4.7").is_empty());
    h.clock.advance(ARMED_RETRY);
    let out = market_at(&mut h, "4.7");
    assert_eq!(venue.account().place_requests, ["tp", "sl"], "{out:?}");
    assert_eq!(venue.account().cancels, ["tp"]);
}

#[test]
fn a_cancelled_armed_order_stays_cancelled_across_a_crash() {
    let (_, mut h) = live_at_5();
    h.send(&sell(
        "a",
        serde_json::json!({"type": "stop_market", "stop_price": "4.8"}),
    ));
    let out = h.send(&cancel("a"));
    assert_eq!(out[0]["status"], "canceled");
    // No tick, no flush: what a crash right after the report leaves.
    let Harness { venue, dir, .. } = h;
    let mut h = Harness::start_in(dir, venue.clone(), |_, _| {});
    assert!(market_at(&mut h, "4.7").is_empty());
    assert_eq!(venue.place_requests(), 0);
}

#[test]
fn a_trailing_stop_keeps_its_best_price_across_a_restart() {
    let (_, mut h) = live_at_5();
    h.send(&sell(
        "tr",
        serde_json::json!({"type": "stop_market", "trail": {"amount": "0.5"}}),
    ));
    market_at(&mut h, "6");
    let mut h = h.restart();
    // Best 6, stop 5.5: a trade at 5.4 reaches it.
    let out = market_at(&mut h, "5.4");
    assert_eq!(kinds(&out), PLACED, "{out:?}");
}

#[test]
fn a_third_member_triggering_cancels_a_venue_list_and_a_passed_stop_goes_at_once() {
    let (venue, mut h) = live_at_5();
    send_take_profit(&mut h);
    h.send(&sell(
        "sl",
        serde_json::json!({"type": "stop_limit", "stop_price": "4.5", "limit_price": "4.4", "oco": "g"}),
    ));
    h.send(&sell(
        "ts",
        serde_json::json!({"type": "stop_market", "stop_price": "4.8", "oco": "g"}),
    ));
    market_at(&mut h, "4.7");
    assert_eq!(venue.account().place_requests, ["tp", "sl", "ts"]);
    assert_eq!(venue.account().cancels, ["tp", "sl"]);
    // A stop-limit the market has already passed: the venue would refuse it as would
    // trigger at once; it goes out as the limit it becomes.
    let out = h.send(&sell(
        "late",
        serde_json::json!({"type": "stop_limit", "stop_price": "4.9", "limit_price": "4.6"}),
    ));
    assert_eq!(
        kinds(&out),
        ["order_update", "order_update", "ack"],
        "{out:?}"
    );
    assert_eq!(
        venue.account().place_requests.last().map(String::as_str),
        Some("late")
    );
}
