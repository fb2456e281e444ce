//! Frame-to-stdout latency of `njord-ingest` at a steady trade rate from `njord-sim`.
//!
//! Plays a generated tape through `njord-sim serve` at the speed that gives `--rate` trades a
//! second, runs `njord-ingest --streams trades` against it, and for every line read from
//! ingest's stdout takes `now − ts_local_ns` (the time ingest stamped on receiving the frame),
//! so the figure covers decoding, sequencing, writing, the pipe and the reader's wake-up.
//! Ingest's own figure — receipt to the line written to stdout, the "frame to stdout" —
//! comes from the counters it logs when stopped (`out_latency_*_us`). The same measurement of
//! a bare pipe (a child sleeping, then writing one timestamped line, `rate` times a second)
//! gives the machine's floor for the reader's part, printed alongside.
//! Prints `name: value unit` lines.
//!
//!     cargo build --profile bench --bins --example ingest_latency
//!     target/release/examples/ingest_latency --count 100000 --rate 10000
//!
//! The binaries are taken from the directory above this example's (`target/<profile>/`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/examples")
        .to_path_buf()
}

fn field_i64(line: &str, key: &str) -> Option<i64> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `--baseline-writer`: writes `count` lines stamped with the wall clock, `rate` a second.
fn baseline_writer(count: u64, rate: u64) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let start = std::time::Instant::now();
    for i in 0..count {
        let due = std::time::Duration::from_nanos(i * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        if writeln!(out, "{{\"ts_local_ns\":{}}}", now_ns()).is_err() || out.flush().is_err() {
            return;
        }
    }
}

/// Reads lines until `count`, returning `now − ts_local_ns` of each and the time span.
fn measure(out: impl std::io::Read, count: u64) -> (Vec<i64>, f64) {
    let mut lat = Vec::with_capacity(count as usize);
    let (mut t_first, mut t_last) = (0, 0);
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let now = now_ns();
        let Some(local) = field_i64(&line, "\"ts_local_ns\":") else {
            continue;
        };
        if lat.is_empty() {
            t_first = local;
        }
        t_last = local;
        lat.push(now - local);
        if lat.len() as u64 == count {
            break;
        }
    }
    (lat, (t_last - t_first) as f64 / 1e9)
}

fn report(name: &str, lat: Vec<i64>, secs: f64, warmup: usize) {
    let n = lat.len();
    let mut steady: Vec<i64> = lat.into_iter().skip(warmup).collect();
    steady.sort_unstable();
    let pct = |p: f64| {
        steady
            .get(((steady.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |ns| *ns as f64 / 1000.0)
    };
    println!("{name}_lines: {n} lines");
    println!("{name}_rate: {:.0} lines/s", n as f64 / secs.max(1e-9));
    println!("{name}_latency_p50: {:.1} us", pct(0.50));
    println!("{name}_latency_p99: {:.1} us", pct(0.99));
    println!("{name}_latency_p999: {:.1} us", pct(0.999));
    println!("{name}_latency_max: {:.1} us", pct(1.0));
}

fn main() {
    let count = arg("--count", 100_000);
    let rate = arg("--rate", 10_000).max(1);
    if std::env::args().any(|a| a == "--baseline-writer") {
        baseline_writer(count, rate);
        return;
    }
    let warmup = (count / 20) as usize;
    let bins = bin_dir();
    let dir = std::env::temp_dir().join(format!("njord-ingest-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let tape = dir.join("tape.ndjson");
    let out = Command::new(bins.join("njord-sim"))
        .args([
            "-q",
            "gen",
            "--symbol",
            "ATOM/USDT",
            "--seed",
            "1",
            "--count",
        ])
        .arg(count.to_string())
        .output()
        .expect("njord-sim gen (build the bins first)");
    std::fs::write(&tape, &out.stdout).expect("write tape");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().and_then(|l| field_i64(l, "\"ts_ns\":"));
    let last = text.lines().last().and_then(|l| field_i64(l, "\"ts_ns\":"));
    let span_s = (last.unwrap_or(0) - first.unwrap_or(0)) as f64 / 1e9;
    let speed = span_s / (count as f64 / rate as f64);

    let mut sim = Command::new(bins.join("njord-sim"))
        .args(["-q", "serve", "--start-on-subscribe", "--speed"])
        .arg(format!("{speed:.3}x"))
        .arg("--tape")
        .arg(&tape)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("njord-sim serve");
    let mut ready = String::new();
    BufReader::new(sim.stdout.take().expect("sim stdout"))
        .read_line(&mut ready)
        .expect("sim_ready");
    let v: serde_json::Value = serde_json::from_str(&ready).expect("sim_ready JSON");
    let cfg = dir.join("base.yaml");
    std::fs::write(
        &cfg,
        format!(
            "journal:\n  dir: {}\nlogging:\n  json_file: false\n",
            dir.join("journal").display()
        ),
    )
    .expect("config");
    let log = dir.join("ingest.log");
    let mut ingest = Command::new(bins.join("njord-ingest"))
        .arg("--config")
        .arg(&cfg)
        .args(["--symbol", "ATOM/USDT", "--streams", "trades"])
        .args(["--rest-url", v["rest_url"].as_str().unwrap_or_default()])
        .args(["--ws-url", v["ws_url"].as_str().unwrap_or_default()])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("ingest log"))
        .spawn()
        .expect("njord-ingest");
    let (lat, secs) = measure(ingest.stdout.take().expect("ingest stdout"), count);
    // A stop signal makes ingest log its counters, latency included, and exit.
    let _ = Command::new("kill")
        .args(["-TERM", &ingest.id().to_string()])
        .status();
    let _ = ingest.wait();
    let _ = sim.kill();
    let _ = sim.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    report("ingest", lat, secs, warmup);
    let done = logged.lines().rfind(|l| l.contains("njord-ingest: done"));
    for (key, name) in [
        ("out_latency_p50_us=", "p50"),
        ("out_latency_p99_us=", "p99"),
        ("out_latency_max_us=", "max"),
    ] {
        match done.and_then(|l| field_i64(l, key)) {
            Some(us) => println!("ingest_frame_to_stdout_{name}: {us} us"),
            None => println!("ingest_frame_to_stdout_{name}: not logged"),
        }
    }

    let mut base = Command::new(std::env::current_exe().expect("own path"))
        .args(["--baseline-writer", "--count", &count.to_string()])
        .args(["--rate", &rate.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("baseline writer");
    let (lat, secs) = measure(base.stdout.take().expect("baseline stdout"), count);
    let _ = base.wait();
    report("pipe_baseline", lat, secs, warmup);
}
