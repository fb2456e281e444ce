//! njord-sim throughput: signed REST requests per second and WebSocket trade frames per
//! second on loopback (targets: 20,000 and 200,000), and `gen` trades per second.
//! The real binary is spawned; clients are reqwest and tokio-tungstenite.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use njord_sim::{DEFAULT_API_KEY, DEFAULT_API_SECRET, auth, tape};
use rust_decimal::Decimal;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_njord-sim");

/// A spawned sim, killed on drop.
struct Sim {
    child: Child,
    rest: String,
    ws: String,
    _dir: tempfile::TempDir,
}

impl Sim {
    fn start(trades: u64, args: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tape.ndjson");
        let spec = tape::GenSpec {
            symbol: "ATOM/USDT".into(),
            count: trades,
            seed: 1,
            start_ns: 1_704_067_200_000_000_000,
            price: Decimal::from(10),
            tick: Decimal::new(1, 3),
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        tape::generate(&spec, &mut f).unwrap();
        drop(f);
        let mut child = Command::new(BIN)
            .env("NJORD__LOGGING__JSON_FILE", "false")
            .arg("serve")
            .arg("--tape")
            .arg(&path)
            .args([
                "-q",
                "--weight-limit",
                "4000000000",
                "--orders-per-10s",
                "4000000000",
            ])
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        Sim {
            child,
            rest: v["rest_url"].as_str().unwrap().into(),
            ws: v["ws_url"].as_str().unwrap().into(),
            _dir: dir,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Signed `POST /api/v3/order/test` requests from `conns` concurrent keep-alive clients.
async fn signed_requests(http: &reqwest::Client, rest: &str, n: usize, conns: usize) {
    let url: Arc<str> = format!("{rest}/api/v3/order/test").into();
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for _ in 0..n / conns {
                    let q = format!(
                        "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&timestamp={}",
                        now_ms()
                    );
                    let sig = auth::sign(DEFAULT_API_SECRET, &q);
                    let r = http
                        .post(format!("{url}?{q}&signature={sig}"))
                        .header("X-MBX-APIKEY", DEFAULT_API_KEY)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut g = c.benchmark_group("sim");
    g.sample_size(10).measurement_time(Duration::from_secs(8));

    let gen_n = 100_000u64;
    g.throughput(Throughput::Elements(gen_n));
    g.bench_function("gen_trades", |b| {
        let spec = tape::GenSpec {
            symbol: "ATOM/USDT".into(),
            count: gen_n,
            seed: 7,
            start_ns: 0,
            price: Decimal::from(10),
            tick: Decimal::new(1, 3),
        };
        let mut out = Vec::with_capacity(16 << 20);
        b.iter(|| {
            out.clear();
            tape::generate(&spec, &mut out).unwrap();
        })
    });

    let sim = Sim::start(1000, &["--speed", "step"]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let n = 4096;
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("signed_rest_requests", |b| {
        b.iter(|| rt.block_on(signed_requests(&http, &sim.rest, n, 16)))
    });
    drop(sim);

    let sim = Sim::start(
        200_000,
        &["--speed", "max", "--loop", "--start-on-subscribe"],
    );
    let (mut ws, _) = rt
        .block_on(tokio_tungstenite::connect_async(format!(
            "{}/ws/atomusdt@trade",
            sim.ws
        )))
        .unwrap();
    let frames = 100_000u64;
    g.throughput(Throughput::Elements(frames));
    g.bench_function("ws_trade_frames", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut got = 0;
                while got < frames {
                    if let Some(Ok(m)) = ws.next().await
                        && m.is_text()
                    {
                        got += 1;
                    }
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
