//! njord-sim end to end: the real binary on loopback, real HTTP and WebSocket clients.

use futures_util::{SinkExt, StreamExt};
use njord_sim::{DEFAULT_API_KEY, DEFAULT_API_SECRET, auth};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_njord-sim");

/// `njord-sim` with logging kept out of the source tree.
fn sim() -> Command {
    let mut c = Command::new(BIN);
    c.env("NJORD__LOGGING__JSON_FILE", "false");
    c
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running `njord-sim serve`, killed on drop.
struct Sim {
    child: Child,
    rest: String,
    ws: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// The tape a test runs on.
enum TapeSrc<'a> {
    /// `njord-sim gen` arguments.
    Gen(&'a [&'a str]),
    /// Literal trade lines.
    Lines(Vec<String>),
}

fn trade(id: u64, price: &str, qty: &str, side: &str) -> String {
    format!(
        r#"{{"kind":"trade","venue":"binanceus","symbol":"ATOM/USDT","trade_id":"{id}","price":{price},"qty":{qty},"side":"{side}","ts_ns":{}}}"#,
        1_700_000_000_000_000_000i64 + id as i64 * 1_000_000
    )
}

/// A hand-written ATOM/USDT tape: 10.000 twice, then down through 9.995, then a walk.
fn simple_tape() -> Vec<String> {
    let mut v = vec![
        trade(1, "10.000", "5", "sell"),
        trade(2, "10.000", "5", "buy"),
        trade(3, "9.995", "8", "sell"),
        trade(4, "9.995", "100", "sell"),
    ];
    for i in 5..=60u64 {
        let p = format!("{:.3}", 9.990 + (i % 7) as f64 * 0.001);
        v.push(trade(i, &p, "1.5", if i % 2 == 0 { "buy" } else { "sell" }));
    }
    v
}

fn gen_tape(dir: &Path, args: &[&str]) -> PathBuf {
    let out = sim()
        .arg("gen")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = dir.join("tape.ndjson");
    std::fs::write(&p, out.stdout).unwrap();
    p
}

impl Sim {
    fn start(tape: TapeSrc, args: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let path = match tape {
            TapeSrc::Gen(a) => gen_tape(dir.path(), a),
            TapeSrc::Lines(lines) => {
                let p = dir.path().join("tape.ndjson");
                std::fs::write(&p, lines.join("\n") + "\n").unwrap();
                p
            }
        };
        let stderr = std::fs::File::create(dir.path().join("stderr.txt")).unwrap();
        let mut child = sim()
            .arg("serve")
            .arg("--tape")
            .arg(&path)
            .arg("--journal")
            .arg(dir.path().join("journal.ndjson"))
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "no sim_ready line ({line:?}); stderr: {}",
                std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default()
            )
        });
        assert_eq!(ready["kind"], "sim_ready");
        let rest = ready["rest_url"].as_str().unwrap().to_string();
        let ws = ready["ws_url"].as_str().unwrap().to_string();
        assert!(rest.starts_with("http://127.0.0.1:") && ws.starts_with("ws://127.0.0.1:"));
        Sim {
            child,
            rest,
            ws,
            dir,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("journal.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (up to 5 s) for a journal record matching `pred`: the server writes some after
    /// the client has already seen their effect.
    fn wait_journal(&self, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.journal().iter().any(&pred) {
            assert!(Instant::now() < deadline, "no such journal record");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An unsigned request: (status, headers, body as JSON or Null).
    async fn call(
        &self,
        method: &str,
        path_query: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .http
            .request(m, format!("{}{path_query}", self.rest))
            .header("X-MBX-APIKEY", DEFAULT_API_KEY)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&body).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path_query: &str) -> Value {
        let (s, _, v) = self.call("GET", path_query).await;
        assert_eq!(s, 200, "{path_query}: {v}");
        v
    }

    /// A signed request with the current time; `query` without timestamp.
    async fn signed(
        &self,
        method: &str,
        path: &str,
        query: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let q = if query.is_empty() {
            format!("timestamp={}", now_ms())
        } else {
            format!("{query}&timestamp={}", now_ms())
        };
        let sig = auth::sign(DEFAULT_API_SECRET, &q);
        self.call(method, &format!("{path}?{q}&signature={sig}"))
            .await
    }

    async fn ok(&self, method: &str, path: &str, query: &str) -> Value {
        let (s, _, v) = self.signed(method, path, query).await;
        assert_eq!(s, 200, "{method} {path}?{query}: {v}");
        v
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/control/{path}", self.rest))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "control {path}");
        r.json().await.unwrap()
    }

    async fn fault(&self, f: Value) {
        self.control("fault", f).await;
    }

    async fn step(&self, n: u64) {
        assert_eq!(
            self.control("step", json!({"trades": n})).await["played"],
            n
        );
    }

    async fn ws(&self, path: &str) -> Ws {
        let connect = tokio_tungstenite::connect_async(format!("{}{path}", self.ws));
        tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .expect("WebSocket connect timed out")
            .unwrap()
            .0
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

fn err(v: &Value) -> (i64, String) {
    (
        v["code"].as_i64().unwrap_or(0),
        v["msg"].as_str().unwrap_or("").to_string(),
    )
}

/// The next text frame as JSON, skipping pings; None when the connection ends first.
/// The next text frame as JSON, `None` when the connection ends. One deadline for the whole
/// wait: pings keep arriving, so a per-frame timeout would never fire.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("no frame within 5 s"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Whether the server ends the connection within `within`.
async fn closes_within(ws: &mut Ws, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

const DOC_QUERY: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
const DOC_SIG: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
const DOC_SPLIT_SIG: &str = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77";

#[tokio::test]
async fn binance_signature_examples_are_accepted_and_one_character_breaks_them() {
    let sim = Sim::start(
        TapeSrc::Gen(&[
            "--symbol", "LTC/BTC", "--count", "50", "--seed", "3", "--price", "0.1", "--tick",
            "0.00001",
        ]),
        &[
            "--speed",
            "step",
            "--no-timestamp-check",
            "--min-notional",
            "0.0001",
        ],
    );
    // Query string only.
    let (s, _, v) = sim
        .call(
            "POST",
            &format!("/api/v3/order?{DOC_QUERY}&signature={DOC_SIG}"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["symbol"].as_str(), v["status"].as_str()),
        (Some("LTCBTC"), Some("NEW"))
    );
    assert_eq!(v["price"], "0.10000000");
    // Query string and body.
    let r = sim
        .http
        .post(format!(
            "{}/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            sim.rest
        ))
        .header("X-MBX-APIKEY", DEFAULT_API_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature={DOC_SPLIT_SIG}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // One character changed: -1022.
    let tampered = DOC_QUERY.replace("quantity=1", "quantity=2");
    let (s, _, v) = sim
        .call(
            "POST",
            &format!("/api/v3/order?{tampered}&signature={DOC_SIG}"),
        )
        .await;
    assert_eq!(
        (s, err(&v)),
        (
            400,
            (-1022, "Signature for this request is not valid.".into())
        )
    );
    let verdicts: Vec<String> = sim
        .journal()
        .iter()
        .filter(|r| r["type"] == "http_response")
        .map(|r| r["signature"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(verdicts, ["valid", "valid", "invalid"]);
    let j = sim.journal();
    assert!(j.iter().any(
        |r| r["type"] == "http_request" && r["body"].as_str().unwrap().contains(DOC_SPLIT_SIG)
    ));
    assert!(
        !std::fs::read_to_string(sim.dir.path().join("journal.ndjson"))
            .unwrap()
            .contains(DEFAULT_API_KEY)
    );
}

#[tokio::test]
async fn auth_parameter_and_order_errors() {
    let sim = Sim::start(TapeSrc::Lines(simple_tape()), &["--speed", "step"]);
    // Keys.
    let r = sim
        .http
        .get(format!(
            "{}/api/v3/account?timestamp=1&signature=00",
            sim.rest
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        err(&r.json().await.unwrap()),
        (-2014, "API-key format invalid.".into())
    );
    let r = sim
        .http
        .get(format!(
            "{}/api/v3/account?timestamp=1&signature=00",
            sim.rest
        ))
        .header("X-MBX-APIKEY", "A".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(err(&r.json().await.unwrap()).0, -2015);
    // Timestamps.
    let (_, _, v) = sim.call("GET", "/api/v3/account?signature=00").await;
    assert_eq!(
        err(&v),
        (
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.".into()
        )
    );
    let old = format!("recvWindow=5000&timestamp={}", now_ms() - 10_000);
    let sig = auth::sign(DEFAULT_API_SECRET, &old);
    let (_, _, v) = sim
        .call("GET", &format!("/api/v3/account?{old}&signature={sig}"))
        .await;
    assert_eq!(
        err(&v),
        (
            -1021,
            "Timestamp for this request is outside of the recvWindow.".into()
        )
    );
    let ahead = format!("timestamp={}", now_ms() + 5_000);
    let sig = auth::sign(DEFAULT_API_SECRET, &ahead);
    let (_, _, v) = sim
        .call("GET", &format!("/api/v3/account?{ahead}&signature={sig}"))
        .await;
    assert_eq!(
        err(&v),
        (
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.".into()
        )
    );
    let (_, _, v) = sim
        .signed("GET", "/api/v3/account", "recvWindow=70000")
        .await;
    assert_eq!(err(&v).0, -1131);
    let q = format!("timestamp={}", now_ms());
    let (_, _, v) = sim
        .call(
            "GET",
            &format!("/api/v3/account?{q}&signature={}", "ab".repeat(32)),
        )
        .await;
    assert_eq!(err(&v).0, -1022);
    // Parameters.
    let (_, _, v) = sim
        .signed("GET", "/api/v3/openOrders", "symbol=atom%20usdt")
        .await;
    assert_eq!(
        err(&v),
        (
            -1100,
            "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'."
                .into()
        )
    );
    let (_, _, v) = sim
        .signed(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=abc&price=9",
        )
        .await;
    assert_eq!(err(&v).0, -1100);
    let (_, _, v) = sim
        .signed(
            "GET",
            "/api/v3/openOrders",
            "symbol=ATOMUSDT&symbol=ATOMUSDT",
        )
        .await;
    assert_eq!(
        err(&v),
        (-1101, "Duplicate values for a parameter detected.".into())
    );
    let (_, _, v) = sim
        .signed(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&type=LIMIT&timeInForce=GTC&quantity=1&price=9",
        )
        .await;
    assert_eq!(
        err(&v),
        (
            -1102,
            "Mandatory parameter 'side' was not sent, was empty/null, or malformed.".into()
        )
    );
    let (_, _, v) = sim
        .signed("GET", "/api/v3/openOrders", "symbol=ATOMUSDT&foo=bar")
        .await;
    assert_eq!(
        err(&v),
        (
            -1104,
            "Not all sent parameters were read; read '3' parameter(s) but was sent '4'.".into()
        )
    );
    let (_, _, v) = sim
        .signed(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=BUY&type=MARKET&quantity=1&price=9",
        )
        .await;
    assert_eq!(
        err(&v),
        (-1106, "Parameter 'price' sent when not required.".into())
    );
    let (_, _, v) = sim
        .signed("GET", "/api/v3/openOrders", "symbol=NOPEUSDT")
        .await;
    assert_eq!(err(&v), (-1121, "Invalid symbol.".into()));
    // Filters.
    for (q, f) in [
        ("quantity=1&price=9.0005", "PRICE_FILTER"),
        ("quantity=0.55&price=9", "LOT_SIZE"),
        ("quantity=0.1&price=9", "NOTIONAL"),
    ] {
        let (s, _, v) = sim
            .signed(
                "POST",
                "/api/v3/order",
                &format!("symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&{q}"),
            )
            .await;
        assert_eq!(
            (s, err(&v)),
            (400, (-1013, format!("Filter failure: {f}"))),
            "{q}"
        );
    }
    // Orders: duplicate live client id, unknown cancel and query.
    let (_, h, v) = sim
        .signed("POST", "/api/v3/order", "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=dup-1")
        .await;
    assert_eq!(v["status"], "NEW", "{v}");
    assert_eq!(h["x-mbx-order-count-10s"], "1");
    assert_eq!(h["x-mbx-order-count-1d"], "1");
    assert!(h.contains_key("x-mbx-used-weight-1m"));
    let (_, _, v) = sim
        .signed("POST", "/api/v3/order", "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=dup-1")
        .await;
    assert_eq!(err(&v), (-2010, "Duplicate order sent.".into()));
    let (_, _, v) = sim
        .signed("DELETE", "/api/v3/order", "symbol=ATOMUSDT&orderId=999")
        .await;
    assert_eq!(err(&v), (-2011, "Unknown order sent.".into()));
    let (_, _, v) = sim
        .signed(
            "GET",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=nope",
        )
        .await;
    assert_eq!(err(&v), (-2013, "Order does not exist.".into()));
    let (_, _, v) = sim.signed("GET", "/api/v3/order", "symbol=ATOMUSDT").await;
    assert_eq!(err(&v).0, -1102);
    // Once canceled, the client id may be used again; the cancel of a done order is -2011.
    let v = sim
        .ok(
            "DELETE",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=dup-1",
        )
        .await;
    assert_eq!(
        (v["status"].as_str(), v["origClientOrderId"].as_str()),
        (Some("CANCELED"), Some("dup-1"))
    );
    let (_, _, v) = sim
        .signed(
            "DELETE",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=dup-1",
        )
        .await;
    assert_eq!(err(&v).0, -2011);
    sim.ok("POST", "/api/v3/order", "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=dup-1").await;
    let (_, _, v) = sim
        .signed(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=100000&price=9",
        )
        .await;
    assert_eq!(
        err(&v),
        (
            -2010,
            "Account has insufficient balance for requested action.".into()
        )
    );
    let (_, _, v) = sim
        .signed(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=BUY&type=LIMIT_MAKER&quantity=1&price=10.005",
        )
        .await;
    assert_eq!(
        err(&v),
        (-2010, "Order would immediately match and take.".into())
    );
    sim.ok(
        "POST",
        "/api/v3/order/test",
        "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9",
    )
    .await;
    assert_eq!(
        sim.ok("GET", "/api/v3/openOrders", "symbol=ATOMUSDT")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The userDataStream endpoints need a key but no signature.
    let (s, _, v) = sim
        .call("PUT", "/api/v3/userDataStream?listenKey=nope")
        .await;
    assert_eq!(
        (s, err(&v)),
        (400, (-1125, "This listenKey does not exist.".into()))
    );
    let (s, _, _) = sim.call("GET", "/api/v3/nothing").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn request_weight_429_then_418_and_order_counts() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &[
            "--speed",
            "step",
            "--weight-limit",
            "5",
            "--ban-after",
            "2",
            "--orders-per-10s",
            "1",
        ],
    );
    for i in 1..=5 {
        let (s, h, _) = sim.call("GET", "/api/v3/ping").await;
        assert_eq!(
            (s, h["x-mbx-used-weight-1m"].to_str().unwrap()),
            (200, i.to_string().as_str())
        );
    }
    let (s, h, v) = sim.call("GET", "/api/v3/ping").await;
    assert_eq!(s, 429);
    assert_eq!(err(&v).0, -1003);
    assert!(err(&v).1.starts_with(
        "Too much request weight used; current limit is 5 request weight per 1 MINUTE."
    ));
    assert!(h["retry-after"].to_str().unwrap().parse::<u32>().unwrap() <= 60);
    assert_eq!(sim.call("GET", "/api/v3/ping").await.0, 429);
    let (s, h, v) = sim.call("GET", "/api/v3/ping").await;
    assert_eq!(s, 418);
    assert!(
        err(&v)
            .1
            .starts_with("Way too much request weight used; IP banned until ")
    );
    assert!(h.contains_key("retry-after"));
    assert_eq!(sim.call("GET", "/api/v3/time").await.0, 418);

    // A fresh sim for order counts (the weight ban would answer first).
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--orders-per-10s", "1"],
    );
    let mut codes = Vec::new();
    for i in 0..3 {
        let (s, _, v) = sim
            .signed("POST", "/api/v3/order", &format!("symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=c{i}"))
            .await;
        codes.push((s, err(&v)));
    }
    assert!(
        codes.iter().any(|(s, (c, m))| *s == 429
            && *c == -1015
            && m == "Too many new orders; current limit is 1 orders per 10 SECOND."),
        "{codes:?}"
    );
}

#[tokio::test]
async fn market_data_endpoints() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--book-levels", "5"],
    );
    sim.step(4).await;
    let info = sim.get("/api/v3/exchangeInfo?symbol=ATOMUSDT").await;
    let s = &info["symbols"][0];
    assert_eq!(
        (
            s["symbol"].as_str(),
            s["baseAsset"].as_str(),
            s["quoteAsset"].as_str()
        ),
        (Some("ATOMUSDT"), Some("ATOM"), Some("USDT"))
    );
    let filters: Vec<&str> = s["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filterType"].as_str().unwrap())
        .collect();
    assert_eq!(
        filters,
        ["PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "ICEBERG_PARTS"]
    );
    assert_eq!(s["filters"][0]["tickSize"], "0.00100000");
    assert_eq!(info["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
    assert_eq!(
        sim.get("/api/v3/ticker/price?symbol=ATOMUSDT").await["price"],
        "9.99500000"
    );
    let bt = sim.get("/api/v3/ticker/bookTicker?symbol=ATOMUSDT").await;
    assert_eq!(
        (bt["bidPrice"].as_str(), bt["askPrice"].as_str()),
        (Some("9.99400000"), Some("9.99600000"))
    );
    let d = sim.get("/api/v3/depth?symbol=ATOMUSDT&limit=3").await;
    assert_eq!(d["bids"].as_array().unwrap().len(), 3);
    assert_eq!(d["asks"][0], json!(["9.99600000", "100.00000000"]));
    let t = sim.get("/api/v3/trades?symbol=ATOMUSDT&limit=2").await;
    assert_eq!(
        t.as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(t[0]["isBuyerMaker"], true);
    let a = sim
        .get("/api/v3/aggTrades?symbol=ATOMUSDT&fromId=2&limit=2")
        .await;
    assert_eq!(
        (a[0]["a"].as_u64(), a[0]["p"].as_str()),
        (Some(2), Some("10.00000000"))
    );
    // History is the whole tape, played or not: 4 trades played, trade 50 served.
    let a = sim
        .get("/api/v3/aggTrades?symbol=ATOMUSDT&fromId=50&limit=1")
        .await;
    assert_eq!(a[0]["a"].as_u64(), Some(50));
    let k = sim
        .get("/api/v3/klines?symbol=ATOMUSDT&interval=1m&startTime=0")
        .await;
    // All 60 trades fall in the minute opening at 1699999980000.
    assert_eq!(
        k,
        json!([[
            1_699_999_980_000i64,
            "10.00000000",
            "10.00000000",
            "9.99000000",
            "9.99400000",
            "202.00000000",
            1_700_000_039_999i64,
            "2018.87200000",
            60,
            "47.00000000",
            "469.70600000",
            "0"
        ]])
    );
    let (status, _, body) = sim
        .call("GET", "/api/v3/klines?symbol=ATOMUSDT&interval=7m")
        .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(-1100)));
    let day = sim.get("/api/v3/ticker/24hr?symbol=ATOMUSDT").await;
    assert_eq!(
        (day["count"].as_u64(), day["volume"].as_str()),
        (Some(4), Some("118.00000000"))
    );
    assert!(
        sim.get("/api/v3/time").await["serverTime"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert_eq!(sim.get("/api/v3/ping").await, json!({}));
}

#[tokio::test]
async fn partial_fills_keep_their_invariants_and_reach_the_user_stream() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--book-qty", "10"],
    );
    let key = sim.call("POST", "/api/v3/userDataStream").await.2["listenKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(key.len(), 60);
    let mut user = sim.ws(&format!("/ws/{key}")).await;
    // Asks at 10.001 and 10.002 hold 10 each: 20 fill as taker, 15 rest.
    let v = sim
        .ok("POST", "/api/v3/order", "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=35&price=10.002&newClientOrderId=pf-1")
        .await;
    assert_eq!(
        (v["status"].as_str(), v["executedQty"].as_str()),
        (Some("PARTIALLY_FILLED"), Some("20.00000000"))
    );
    assert_eq!(v["fills"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["fills"][0],
        json!({"price": "10.00100000", "qty": "10.00000000", "commission": "0.01000000", "commissionAsset": "ATOM", "tradeId": 1})
    );
    // The tape trades through the limit: 5, 5, then the last 5 of an 8.
    sim.step(3).await;
    let o = sim
        .ok(
            "GET",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=pf-1",
        )
        .await;
    assert_eq!(
        (o["status"].as_str(), o["executedQty"].as_str()),
        (Some("FILLED"), Some("35.00000000"))
    );
    assert_eq!(o["cummulativeQuoteQty"], "350.06000000");
    let trades = sim.ok("GET", "/api/v3/myTrades", "symbol=ATOMUSDT").await;
    let trades = trades.as_array().unwrap();
    let qty: f64 = trades
        .iter()
        .map(|t| t["qty"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(qty, 35.0);
    let makers: Vec<bool> = trades
        .iter()
        .map(|t| t["isMaker"].as_bool().unwrap())
        .collect();
    assert_eq!(makers, [false, false, true, true, true]);
    let acct = sim.ok("GET", "/api/v3/account", "").await;
    let bal = |a: &str| {
        acct["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == a)
            .unwrap()
            .clone()
    };
    assert_eq!(
        bal("USDT"),
        json!({"asset": "USDT", "free": "9649.94000000", "locked": "0.00000000"})
    );
    assert_eq!(
        bal("ATOM"),
        json!({"asset": "ATOM", "free": "134.96500000", "locked": "0.00000000"})
    );
    // The user stream saw every step, and z (cumulative) is the running sum of l (last).
    let mut reports = Vec::new();
    let mut positions = 0;
    while reports
        .last()
        .map(|r: &Value| r["X"] != "FILLED")
        .unwrap_or(true)
    {
        let ev = next_json(&mut user).await.expect("user stream ended");
        match ev["e"].as_str() {
            Some("executionReport") => reports.push(ev),
            Some("outboundAccountPosition") => positions += 1,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(positions >= 1);
    let xs: Vec<&str> = reports.iter().map(|r| r["x"].as_str().unwrap()).collect();
    assert_eq!(xs, ["NEW", "TRADE", "TRADE", "TRADE", "TRADE", "TRADE"]);
    let mut z = 0.0;
    for r in &reports {
        z += r["l"].as_str().unwrap().parse::<f64>().unwrap();
        assert_eq!(r["z"].as_str().unwrap().parse::<f64>().unwrap(), z);
        assert_eq!(r["c"], "pf-1");
    }
    // A terminal order stays terminal.
    let (_, _, v) = sim
        .signed(
            "DELETE",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=pf-1",
        )
        .await;
    assert_eq!(err(&v).0, -2011);
    // IOC fills what the book holds and expires the rest; FOK all or nothing.
    let v = sim
        .ok(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=SELL&type=LIMIT&timeInForce=IOC&quantity=25&price=9.993",
        )
        .await;
    assert_eq!(
        (v["status"].as_str(), v["executedQty"].as_str()),
        (Some("EXPIRED"), Some("20.00000000"))
    );
    let v = sim
        .ok("POST", "/api/v3/order", "symbol=ATOMUSDT&side=SELL&type=LIMIT&timeInForce=FOK&quantity=25&price=9.993&newOrderRespType=RESULT")
        .await;
    assert_eq!(
        (v["status"].as_str(), v["executedQty"].as_str()),
        (Some("EXPIRED"), Some("0.00000000"))
    );
    assert!(v.get("fills").is_none());
    let v = sim
        .ok(
            "POST",
            "/api/v3/order",
            "symbol=ATOMUSDT&side=BUY&type=MARKET&quoteOrderQty=50&newOrderRespType=ACK",
        )
        .await;
    assert!(v.get("status").is_none() && v["orderId"].as_u64().is_some());
    let all = sim.ok("GET", "/api/v3/allOrders", "symbol=ATOMUSDT").await;
    for o in all.as_array().unwrap() {
        assert!(
            ["FILLED", "EXPIRED"].contains(&o["status"].as_str().unwrap()),
            "{o}"
        );
    }
}

#[tokio::test]
async fn subscribe_flows_raw_and_combined() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--ws-msg-limit", "50"],
    );
    let mut ws = sim.ws("/ws").await;
    send(
        &mut ws,
        json!({"method": "SUBSCRIBE", "params": ["atomusdt@trade"], "id": 1}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": null, "id": 1})
    );
    send(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 3})).await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": ["atomusdt@trade"], "id": 3})
    );
    send(
        &mut ws,
        json!({"method": "GET_PROPERTY", "params": ["combined"], "id": 2}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": false, "id": 2})
    );
    sim.step(2).await;
    let t = next_json(&mut ws).await.unwrap();
    assert_eq!(
        (t["e"].as_str(), t["s"].as_str(), t["t"].as_u64()),
        (Some("trade"), Some("ATOMUSDT"), Some(1))
    );
    assert_eq!(
        (t["p"].as_str(), t["q"].as_str(), t["m"].as_bool()),
        (Some("10.00000000"), Some("5.00000000"), Some(true))
    );
    assert_eq!(t["T"], 1_700_000_000_001i64);
    assert_eq!(next_json(&mut ws).await.unwrap()["t"], 2);
    send(
        &mut ws,
        json!({"method": "SET_PROPERTY", "params": ["combined", true], "id": 5}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": null, "id": 5})
    );
    sim.step(1).await;
    let t = next_json(&mut ws).await.unwrap();
    assert_eq!(
        (t["stream"].as_str(), t["data"]["t"].as_u64()),
        (Some("atomusdt@trade"), Some(3))
    );
    send(
        &mut ws,
        json!({"method": "UNSUBSCRIBE", "params": ["atomusdt@trade"], "id": 312}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": null, "id": 312})
    );
    send(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": 4})).await;
    assert_eq!(
        next_json(&mut ws).await.unwrap(),
        json!({"result": [], "id": 4})
    );
    // Errors.
    send(
        &mut ws,
        json!({"method": "SUBSCRIBE", "params": ["atomusdt@trade"], "id": "x"}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()["error"]["msg"],
        "Invalid request: request ID must be an unsigned integer"
    );
    send(
        &mut ws,
        json!({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 6}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()["error"],
        json!({"code": 1, "msg": "Invalid value type: expected Boolean"})
    );
    send(
        &mut ws,
        json!({"method": "GET_PROPERTY", "params": ["colour"], "id": 7}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await.unwrap()["error"],
        json!({"code": 0, "msg": "Unknown property"})
    );
    send(
        &mut ws,
        json!({"method": "SUBSCRIBE", "params": ["nopeusdt@trade"], "id": 8}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["error"]["code"], 2);
    send(&mut ws, json!({"method": "PUBLISH", "id": 9})).await;
    assert!(
        next_json(&mut ws).await.unwrap()["error"]["msg"]
            .as_str()
            .unwrap()
            .contains("unknown variant")
    );

    // Combined streams by URL, raw stream by URL, diff-depth sequencing against the snapshot.
    let mut comb = sim
        .ws("/stream?streams=atomusdt@aggTrade/atomusdt@bookTicker")
        .await;
    let mut raw = sim.ws("/ws/atomusdt@depth").await;
    let mut top = sim.ws("/ws/atomusdt@depth5").await;
    let snap = sim.get("/api/v3/depth?symbol=ATOMUSDT&limit=1000").await;
    let last_id = snap["lastUpdateId"].as_u64().unwrap();
    sim.step(20).await;
    let a = next_json(&mut comb).await.unwrap();
    assert_eq!(
        (
            a["stream"].as_str(),
            a["data"]["e"].as_str(),
            a["data"]["a"].as_u64()
        ),
        (Some("atomusdt@aggTrade"), Some("aggTrade"), Some(4))
    );
    let mut saw_book_ticker = false;
    for _ in 0..5 {
        let f = next_json(&mut comb).await.unwrap();
        if f["stream"] == "atomusdt@bookTicker" {
            saw_book_ticker = true;
            assert!(f["data"]["b"].as_str().is_some() && f["data"]["u"].as_u64().is_some());
        }
    }
    assert!(saw_book_ticker);
    let mut prev_u = None;
    for _ in 0..5 {
        let d = next_json(&mut raw).await.unwrap();
        assert_eq!(d["e"], "depthUpdate");
        let (big_u, u) = (d["U"].as_u64().unwrap(), d["u"].as_u64().unwrap());
        assert!(u > last_id);
        match prev_u {
            None => assert!(big_u <= last_id + 1 && last_id < u),
            Some(p) => assert_eq!(big_u, p + 1),
        }
        prev_u = Some(u);
    }
    let d5 = next_json(&mut top).await.unwrap();
    assert_eq!(d5["bids"].as_array().unwrap().len(), 5);
    assert!(d5["lastUpdateId"].as_u64().unwrap() > last_id);
}

#[tokio::test]
async fn five_messages_per_second_limit() {
    let sim = Sim::start(TapeSrc::Lines(simple_tape()), &["--speed", "step"]);
    let mut ws = sim.ws("/ws").await;
    for i in 0..5 {
        send(&mut ws, json!({"method": "LIST_SUBSCRIPTIONS", "id": i})).await;
        assert_eq!(next_json(&mut ws).await.unwrap()["id"], i);
    }
    // Five answered within the second (or a new second began): send more until cut off.
    for i in 5..20 {
        if ws
            .send(Message::Text(
                json!({"method": "LIST_SUBSCRIPTIONS", "id": i})
                    .to_string()
                    .into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    assert!(closes_within(&mut ws, Duration::from_secs(3)).await);
    sim.wait_journal(|r| r["type"] == "ws_close" && r["reason"] == "too many messages");
}

#[tokio::test]
async fn http_faults_and_order_outcomes() {
    let sim = Sim::start(TapeSrc::Lines(simple_tape()), &["--speed", "step"]);
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/time", "status": 503, "count": 2}))
        .await;
    assert_eq!(sim.call("GET", "/api/v3/time").await.0, 503);
    assert_eq!(sim.call("GET", "/api/v3/time").await.0, 503);
    assert_eq!(sim.call("GET", "/api/v3/time").await.0, 200);
    sim.fault(json!({"fault": "http_error", "path": "*", "status": 429}))
        .await;
    let (s, h, v) = sim.call("GET", "/api/v3/ping").await;
    assert_eq!((s, err(&v).0), (429, -1003));
    assert!(h.contains_key("retry-after"));
    sim.fault(json!({"fault": "http_error", "path": "/api/v3/ping", "status": 418}))
        .await;
    let (s, _, v) = sim.call("GET", "/api/v3/ping").await;
    assert_eq!(s, 418);
    assert!(err(&v).1.contains("IP banned until"));
    // Accepted, then a 5xx: the order exists.
    sim.fault(json!({"fault": "order_then", "outcome": "status", "status": 503}))
        .await;
    let (s, _, v) = sim
        .signed("POST", "/api/v3/order", "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=unk-1")
        .await;
    assert_eq!((s, err(&v).0), (503, -1007));
    assert_eq!(
        sim.ok(
            "GET",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=unk-1"
        )
        .await["status"],
        "NEW"
    );
    // Accepted, then the connection drops without an answer.
    sim.fault(json!({"fault": "order_then", "outcome": "drop"}))
        .await;
    let q = format!(
        "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=unk-2&timestamp={}",
        now_ms()
    );
    let sig = auth::sign(DEFAULT_API_SECRET, &q);
    let r = sim
        .http
        .post(format!("{}/api/v3/order?{q}&signature={sig}", sim.rest))
        .header("X-MBX-APIKEY", DEFAULT_API_KEY)
        .send()
        .await;
    assert!(r.is_err(), "expected a dropped connection, got {r:?}");
    assert_eq!(
        sim.ok(
            "GET",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=unk-2"
        )
        .await["status"],
        "NEW"
    );
    // Delays.
    sim.fault(json!({"fault": "delay", "path": "/api/v3/ping", "ms": 300, "count": 1}))
        .await;
    let t0 = Instant::now();
    assert_eq!(sim.call("GET", "/api/v3/ping").await.0, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    // Clock skew: the server is a minute behind, so a true timestamp is "ahead".
    sim.fault(json!({"fault": "clock_skew", "ms": -60000}))
        .await;
    let server = sim.get("/api/v3/time").await["serverTime"]
        .as_i64()
        .unwrap();
    assert!(server < now_ms() - 50_000);
    let (_, _, v) = sim.signed("GET", "/api/v3/account", "").await;
    assert_eq!(err(&v).0, -1021);
    sim.control("clear", json!({})).await;
    sim.ok("GET", "/api/v3/account", "").await;
    let j = sim.journal();
    assert!(
        j.iter()
            .any(|r| r["type"] == "http_response" && r["dropped"] == true)
    );
}

#[tokio::test]
async fn websocket_faults() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &[
            "--speed",
            "step",
            "--ping-interval-ms",
            "300",
            "--pong-timeout-ms",
            "2000",
            "--ws-msg-limit",
            "50",
        ],
    );
    // Pings arrive; a client that answers them (tungstenite does) stays connected.
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    let got_ping = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => return true,
                None | Some(Err(_)) => return false,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(got_ping);
    assert!(!closes_within(&mut ws, Duration::from_millis(2500)).await);
    // Ignored pongs: the deadline passes and the server drops the connection.
    sim.fault(json!({"fault": "ignore_pongs"})).await;
    assert!(closes_within(&mut ws, Duration::from_secs(8)).await);
    sim.control("clear", json!({})).await;
    // Stopped pings: none arrive.
    sim.fault(json!({"fault": "stop_pings"})).await;
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    let ping = tokio::time::timeout(Duration::from_millis(800), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => return true,
                None | Some(Err(_)) => return false,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(!ping);
    sim.control("clear", json!({})).await;
    // Dropped after N messages.
    sim.fault(json!({"fault": "ws_drop_after", "messages": 3}))
        .await;
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    sim.step(6).await;
    let mut ids = Vec::new();
    while let Some(v) = next_json(&mut ws).await {
        ids.push(v["t"].as_u64().unwrap());
    }
    assert_eq!(ids, [1, 2, 3]);
    sim.control("clear", json!({})).await;
    // Duplicated and reordered trade frames.
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    sim.fault(json!({"fault": "duplicate_trades", "every": 2}))
        .await;
    sim.step(4).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(next_json(&mut ws).await.unwrap()["t"].as_u64().unwrap());
    }
    assert_eq!(ids, [7, 8, 8, 9, 10, 10]);
    sim.control("clear", json!({})).await;
    sim.fault(json!({"fault": "reorder_trades", "every": 2}))
        .await;
    sim.step(5).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(next_json(&mut ws).await.unwrap()["t"].as_u64().unwrap());
    }
    // The mangler counts from the start of the run: trade 12 (the 12th) is held back.
    assert_eq!(ids, [11, 13, 12, 15, 14]);
}

#[tokio::test]
async fn listen_key_expiry_and_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "faults:\n  - {fault: http_error, path: /api/v3/ping, status: 500, count: 1}\n",
    )
    .unwrap();
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--scenario", scenario.to_str().unwrap()],
    );
    let (s, _, v) = sim.call("GET", "/api/v3/ping").await;
    assert_eq!((s, err(&v).0), (500, -1001));
    assert_eq!(sim.call("GET", "/api/v3/ping").await.0, 200);
    let key = sim.call("POST", "/api/v3/userDataStream").await.2["listenKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        sim.call("PUT", &format!("/api/v3/userDataStream?listenKey={key}"))
            .await
            .2,
        json!({})
    );
    let mut user = sim.ws(&format!("/ws/{key}")).await;
    sim.fault(json!({"fault": "listen_key_expire"})).await;
    let ev = next_json(&mut user).await.unwrap();
    assert_eq!(
        (ev["e"].as_str(), ev["listenKey"].as_str()),
        (Some("listenKeyExpired"), Some(key.as_str()))
    );
    assert!(closes_within(&mut user, Duration::from_secs(3)).await);
    let (_, _, v) = sim
        .call("PUT", &format!("/api/v3/userDataStream?listenKey={key}"))
        .await;
    assert_eq!(err(&v).0, -1125);
    let r = tokio_tungstenite::connect_async(format!("{}/ws/{key}", sim.ws)).await;
    assert!(r.is_err(), "an expired key is refused");
    // Closing a key closes its streams.
    let key = sim.call("POST", "/api/v3/userDataStream").await.2["listenKey"]
        .as_str()
        .unwrap()
        .to_string();
    let mut user = sim.ws(&format!("/stream?streams={key}")).await;
    let (s, _, v) = sim
        .call("DELETE", &format!("/api/v3/userDataStream?listenKey={key}"))
        .await;
    assert_eq!((s, v), (200, json!({})));
    assert!(closes_within(&mut user, Duration::from_secs(3)).await);
}

#[test]
fn gen_is_deterministic_and_canonical() {
    let run = |seed: &str| {
        let out = sim()
            .args([
                "gen",
                "--symbol",
                "ATOM/USDT",
                "--count",
                "3000",
                "--seed",
                seed,
                "--start",
                "2024-03-01T12:00:00Z",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let (a, b, c) = (run("42"), run("42"), run("43"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let text = String::from_utf8(a).unwrap();
    assert_eq!(text.lines().count(), 3000);
    let first = njord::event::decode(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        first.to_json(),
        text.lines().next().unwrap(),
        "canonical output"
    );
    assert!(first.ts_ns() >= 1_709_294_400_000_000_000);
    let bad = sim()
        .args(["gen", "--symbol", "ATOMUSDT"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn max_speed_waits_for_a_subscriber_and_loses_nothing() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "max", "--start-on-subscribe", "--loop"],
    );
    // Nothing plays before the first market subscription.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sim.get("/api/v3/ticker/24hr?symbol=ATOMUSDT").await["count"],
        0
    );
    let mut ws = sim.ws("/stream?streams=atomusdt@trade").await;
    // The tape loops: ids keep increasing past its 60 trades, with no gap.
    for want in 1..=150u64 {
        let f = next_json(&mut ws).await.unwrap();
        assert_eq!(f["data"]["t"].as_u64(), Some(want));
    }
}

#[tokio::test]
async fn real_time_speed_and_listen_key_ttl() {
    // Tape times 1 ms apart at 1x: all 60 trades arrive within a few seconds.
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &[
            "--speed",
            "1x",
            "--start-on-subscribe",
            "--listen-key-ttl-secs",
            "1",
        ],
    );
    let key = sim.call("POST", "/api/v3/userDataStream").await.2["listenKey"]
        .as_str()
        .unwrap()
        .to_string();
    let mut user = sim.ws(&format!("/ws/{key}")).await;
    let mut ws = sim.ws("/ws/atomusdt@aggTrade").await;
    for want in 1..=60u64 {
        assert_eq!(next_json(&mut ws).await.unwrap()["a"].as_u64(), Some(want));
    }
    // Not kept alive: the key expires after its TTL.
    let ev = next_json(&mut user).await.unwrap();
    assert_eq!(ev["e"], "listenKeyExpired");
}

#[tokio::test]
async fn sigterm_ends_cleanly() {
    let mut sim = Sim::start(TapeSrc::Lines(simple_tape()), &["--speed", "step"]);
    assert_eq!(sim.get("/api/v3/ping").await, json!({}));
    let pid = sim.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = sim.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "njord-sim did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// An outage answers every REST request but `/control/*` with its status, drops and refuses
/// WebSockets while the venue keeps trading; silence withholds market frames while pings go
/// on; `/control/clear` ends both.
#[tokio::test]
async fn outage_and_silence() {
    let sim = Sim::start(
        TapeSrc::Lines(simple_tape()),
        &["--speed", "step", "--ping-interval-ms", "200"],
    );
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    sim.fault(json!({"fault": "outage", "status": 502})).await;
    assert!(closes_within(&mut ws, Duration::from_secs(3)).await);
    let (status, _, _) = sim.call("GET", "/api/v3/time").await;
    assert_eq!(status, 502);
    let (status, _, _) = sim.signed("GET", "/api/v3/account", "").await;
    assert_eq!(status, 502);
    let refused = tokio_tungstenite::connect_async(format!("{}/ws/atomusdt@trade", sim.ws)).await;
    assert!(refused.is_err(), "a WebSocket opened during the outage");
    // The tape plays on while the venue is down.
    sim.step(2).await;
    sim.control("clear", json!({})).await;
    assert_eq!(
        sim.get("/api/v3/trades?symbol=ATOMUSDT")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Silence: connected, pinged, but no trade frames until it ends.
    let mut ws = sim.ws("/ws/atomusdt@trade").await;
    sim.fault(json!({"fault": "silence"})).await;
    sim.step(1).await;
    let quiet = tokio::time::timeout(Duration::from_millis(800), async {
        let mut pings = 0;
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Text(t))) => return Err(t.to_string()),
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Err("closed".into()),
                _ => {}
            }
            if pings >= 2 {
                return Ok(pings);
            }
        }
    })
    .await;
    assert!(matches!(quiet, Ok(Ok(_))), "{quiet:?}");
    sim.fault(json!({"fault": "silence", "on": false})).await;
    sim.step(1).await;
    assert_eq!(next_json(&mut ws).await.unwrap()["t"], 4);
}

/// A delayed order whose client gives up before the answer is executed all the same, and
/// its answer is journaled: the venue does not cancel what its sender stopped waiting for.
#[tokio::test]
async fn a_delayed_order_executes_after_its_client_gave_up() {
    let sim = Sim::start(TapeSrc::Lines(simple_tape()), &["--speed", "step"]);
    sim.fault(json!({"fault": "delay", "path": "/api/v3/order", "ms": 800, "count": 1}))
        .await;
    let q = format!(
        "symbol=ATOMUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=9&newClientOrderId=late-1&timestamp={}",
        now_ms()
    );
    let sig = auth::sign(DEFAULT_API_SECRET, &q);
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/api/v3/order?{q}&signature={sig}", sim.rest))
        .header("X-MBX-APIKEY", DEFAULT_API_KEY)
        .send()
        .await;
    assert!(sent.is_err(), "the client should have timed out");
    sim.wait_journal(|r| {
        r["type"] == "http_response"
            && r["status"] == 200
            && r["body"].as_str().is_some_and(|b| b.contains("late-1"))
    });
    let v = sim
        .ok(
            "GET",
            "/api/v3/order",
            "symbol=ATOMUSDT&origClientOrderId=late-1",
        )
        .await;
    assert_eq!(v["status"], "NEW");
}
