use super::*;
use crate::event;
use std::sync::Arc;

const S: i64 = 1_000_000_000;

#[test]
fn latency_buckets_run_from_25_us_to_10_s_about_doubling() {
    let b: Vec<f64> = latency_buckets().collect();
    assert_eq!(b.len(), 20);
    assert!((b[0] - 25e-6).abs() < 1e-12, "{}", b[0]);
    assert!((b[19] - 10.0).abs() < 1e-9, "{}", b[19]);
    for w in b.windows(2) {
        let f = w[1] / w[0];
        assert!((1.9..2.1).contains(&f), "{f}");
    }
}

#[test]
fn addresses_parse_with_loopback_by_default() {
    use std::net::SocketAddr;
    let at = |s: &str| MetricsAddr::At(s.parse::<SocketAddr>().unwrap());
    assert_eq!(MetricsAddr::parse("9464").unwrap(), at("127.0.0.1:9464"));
    assert_eq!(MetricsAddr::parse("[::1]:9").unwrap(), at("[::1]:9"));
    assert_eq!(MetricsAddr::parse("off").unwrap(), MetricsAddr::Off);
    let e = MetricsAddr::parse("localhost:9464").unwrap_err();
    assert!(e.contains("HOST:PORT"), "{e}");
}

#[test]
fn the_accept_header_picks_openmetrics() {
    let prom = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    assert_eq!(Format::from_accept(prom), Format::OpenMetrics);
    assert_eq!(Format::from_accept("*/*"), Format::Prometheus);
    assert!(Format::Prometheus.content_type().contains("0.0.4"));
}

#[test]
fn ready_needs_start_up_a_turning_loop_and_a_moving_watermark() {
    let h = Health::new(60_000);
    let t = 1_000 * S;
    assert!(h.live(t).unwrap_err().contains("not started"));
    h.beat(t);
    assert!(h.ready(t).unwrap_err().contains("start-up"));
    h.set_started();
    assert!(h.ready(t).unwrap_err().contains("no event yet"));
    h.watermark(5, t);
    assert_eq!(
        h.ready(t + 59 * S),
        Err("the event loop has not turned for 59.0 s".into())
    );
    h.beat(t + 59 * S);
    assert_eq!(h.ready(t + 59 * S), Ok(()));
    // The same watermark again is no progress; a later one is.
    h.watermark(5, t + 61 * S);
    h.beat(t + 61 * S);
    assert!(h.ready(t + 61 * S).unwrap_err().contains("stale"));
    h.watermark(6, t + 61 * S);
    assert_eq!(h.ready(t + 61 * S), Ok(()));
    // Staleness off: an idle but turning loop stays ready.
    let quiet = Health::new(0);
    quiet.set_started();
    quiet.beat(t);
    assert_eq!(quiet.ready(t), Ok(()));
}

fn ev(line: &str) -> event::Event<'_> {
    event::decode(line).unwrap()
}

#[test]
fn decisions_show_the_trading_state_and_count_trips_by_source() {
    let mut obs = Observer::new(&Default::default(), Arc::new(Health::new(0)));
    obs.attach(true);
    let decision = |id: &str, allowed: bool, reason: &str, caps: &str| {
        format!(
            r#"{{"kind":"decision","intent_id":"{id}","allowed":{allowed},"reason":{reason},"caps":{caps},"ts_ns":1}}"#
        )
    };
    let allowed = decision("a", true, "null", "{}");
    let halted = decision("h", false, r#""halted""#, r#"{"source":"redis"}"#);
    let unreadable = decision(
        "u",
        false,
        r#""halted""#,
        r#"{"source":"file","error":"permission denied"}"#,
    );
    let duplicate = decision("d", false, r#""duplicate_intent""#, "{}");
    let state = |text: &str| {
        (
            text.contains(r#"njord_trading_state{state="active"} 1"#),
            text.contains(r#"njord_trading_state{state="halted"} 1"#),
        )
    };
    obs.output(&ev(&allowed));
    assert_eq!(state(&encode(Format::Prometheus)), (true, false));
    obs.output(&ev(&halted));
    obs.output(&ev(&halted));
    // A duplicate is refused before the switch is read: the state stays halted.
    obs.output(&ev(&duplicate));
    let text = encode(Format::Prometheus);
    assert_eq!(state(&text), (false, true));
    assert!(
        text.contains(r#"njord_kill_switch_trips_total{source="redis"} 1"#),
        "{text}"
    );
    obs.output(&ev(&allowed));
    obs.output(&ev(&unreadable));
    let text = encode(Format::Prometheus);
    assert!(
        text.contains(r#"njord_kill_switch_trips_total{source="unreadable"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"njord_decisions_total{allowed="false",reason="halted"} 3"#),
        "{text}"
    );
}
