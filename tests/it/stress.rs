//! `njord-stress run` end to end: each scenario of `scenarios/` runs the real stack (Redis and
//! the stages under njord-ctl) against njord-sim on loopback and must pass; a mutated
//! scenario must fail on the assertion it breaks; the HTML report is self-contained and
//! renders.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn stress_bin() -> PathBuf {
    crate::support::sim_bin().with_file_name("njord-stress")
}

/// `njord-stress run FILE --out OUT`, from the repository root.
fn run(file: &Path, out: &Path) -> Output {
    Command::new(stress_bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NJORD_CONFIG")
        .env("NJORD__LOGGING__JSON_FILE", "false")
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn report(out: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(out.join(name).join("report.json"))
        .unwrap_or_else(|e| panic!("{name}: no report.json: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Runs `scenarios/NAME.yaml`; it must exit 0 with every assertion passed and checked.
fn passes(name: &str) {
    let out = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.yaml"));
    let o = run(&file, out.path());
    let r = report(out.path(), name);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{:#}",
        String::from_utf8_lossy(&o.stderr),
        r["assertions"]
    );
    assert_eq!(r["passed"], true);
    let asserted = r["assertions"].as_array().unwrap();
    assert!(!asserted.is_empty());
    for a in asserted {
        assert!(
            a["passed"] == true && a["checked"].as_u64().unwrap() > 0,
            "{a:#}"
        );
    }
    assert!(out.path().join(name).join("report.html").exists());
}

#[test]
fn latency_spike() {
    passes("latency_spike");
}

#[test]
fn order_5xx_and_drop() {
    passes("order_5xx_and_drop");
}

#[test]
fn rate_limit_ban() {
    passes("rate_limit_ban");
}

#[test]
fn listen_key_and_skew() {
    passes("listen_key_and_skew");
}

#[test]
fn order_cap_gap() {
    passes("order_cap_gap");
}

#[test]
fn venue_outage() {
    passes("venue_outage");
}

#[test]
fn silent_feed_halt() {
    passes("silent_feed_halt");
}

#[test]
fn daily_loss_trip() {
    passes("daily_loss_trip");
}

/// The daily-loss scenario with the trip switched off must fail, on the trip assertion, with
/// exit 1: the assertion can fail. Its report renders in chromium, self-contained.
#[test]
fn a_scenario_without_the_trip_fails_and_its_report_renders() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/daily_loss_trip.yaml")).unwrap();
    assert!(text.contains("trip_on_daily_loss: true"));
    let file = dir.path().join("no_trip.yaml");
    std::fs::write(
        &file,
        text.replace("trip_on_daily_loss: true", "trip_on_daily_loss: false"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(&file, &out);
    let r = report(&out, "daily_loss_trip");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(r["passed"], false);
    let trip = r["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "loss_trip_within")
        .unwrap();
    assert_eq!(trip["passed"], false, "{trip:#}");
    // A failed run keeps its evidence.
    assert!(out.join("daily_loss_trip/sim.journal.ndjson").exists());

    let html_path = out.join("daily_loss_trip/report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    for banned in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the report");
    }
    let (dom, _) = crate::support::chromium_dom(&html_path);
    for id in ["assertions", "chart", "timeline", "counts"] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    assert!(dom.contains("FAILED") && dom.contains("loss_trip_within"));
    assert_eq!(dom.matches("<svg").count(), 1);
}

/// A bad scenario file is a usage error (exit 2) naming the file and the key.
#[test]
fn a_bad_scenario_names_its_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\ntape: {gen: [--symbol, ATOM/USDT, --count, '10']}\nevents:\n  - {at: 1m, hold: 1s, clear: true}\nassertions:\n  - one_order_per_intent: {}\n",
    )
    .unwrap();
    let o = run(&file, &dir.path().join("out"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml") && err.contains("events[0]"),
        "{err}"
    );
    std::fs::write(
        &file,
        "name: bad\ntape: {gen: []}\nassertions:\n  - nonsense: {}\n",
    )
    .unwrap();
    let o = run(&file, &dir.path().join("out"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml") && err.contains("nonsense"),
        "{err}"
    );
}
