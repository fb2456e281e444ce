//! What the assertions judge, read from the venue's side first: the simulator's request
//! journal and its signed `allOrders`, `myTrades` and `account`; then the kill file, the
//! stages' journals and what the alert webhook received.

use super::stack::{Received, SimProc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One REST request the venue received.
#[derive(Debug, Clone, Serialize)]
pub struct Req {
    pub id: u64,
    pub ts_ns: i64,
    pub method: String,
    pub path: String,
    /// Whether it carried an API key (the broker's requests; ingest sends none).
    pub keyed: bool,
}

/// The venue's answer to one request.
#[derive(Debug, Clone, Serialize)]
pub struct Resp {
    pub ts_ns: i64,
    pub status: u16,
    pub retry_after_s: Option<u64>,
    pub dropped: bool,
}

impl Resp {
    /// The answer's class as the report counts it: `2xx`, `5xx`, `dropped`, or the status.
    pub fn class(&self) -> String {
        match self.status {
            _ if self.dropped => "dropped".into(),
            500.. => "5xx".into(),
            200..300 => "2xx".into(),
            s => s.to_string(),
        }
    }
}

/// The simulator's journal, read as it grows.
#[derive(Debug, Default)]
pub struct Journal {
    path: PathBuf,
    offset: u64,
    partial: String,
    pub requests: Vec<Req>,
    pub responses: HashMap<u64, Resp>,
    /// Open WebSocket connections now.
    pub ws_open: i64,
}

impl Journal {
    pub fn new(path: &Path) -> Journal {
        Journal {
            path: path.to_path_buf(),
            ..Default::default()
        }
    }

    /// Reads what was appended since the last call.
    pub fn refresh(&mut self) -> Result<(), String> {
        let mut f =
            std::fs::File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        f.seek(SeekFrom::Start(self.offset))
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| e.to_string())?;
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let Some(end) = self.partial.rfind('\n') else {
            return Ok(());
        };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            self.line(line);
        }
        Ok(())
    }

    fn line(&mut self, line: &str) {
        // Frames are most of the journal; only requests, answers and connections count here.
        if !line.contains("\"http_")
            && !line.contains("\"ws_open\"")
            && !line.contains("\"ws_close\"")
        {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let ts_ns = v["ts_ns"].as_i64().unwrap_or(0);
        match v["type"].as_str() {
            Some("http_request") => self.requests.push(Req {
                id: v["id"].as_u64().unwrap_or(0),
                ts_ns,
                method: v["method"].as_str().unwrap_or("").to_string(),
                path: v["path"].as_str().unwrap_or("").to_string(),
                keyed: v["api_key_sent"] == true,
            }),
            Some("http_response") => {
                let id = v["id"].as_u64().unwrap_or(0);
                self.responses.insert(
                    id,
                    Resp {
                        ts_ns,
                        status: v["status"].as_u64().unwrap_or(0) as u16,
                        retry_after_s: v["headers"]["retry-after"]
                            .as_str()
                            .and_then(|s| s.parse().ok()),
                        dropped: v["dropped"] == true,
                    },
                );
            }
            Some("ws_open") => self.ws_open += 1,
            Some("ws_close") => self.ws_open -= 1,
            _ => {}
        }
    }

    /// Requests not answered yet.
    pub fn in_flight(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| !self.responses.contains_key(&r.id))
            .count()
    }
}

/// An order as the venue lists it (`allOrders`).
#[derive(Debug, Clone, Serialize)]
pub struct VenueOrder {
    pub order_id: u64,
    pub client_order_id: String,
    pub side: String,
    pub order_type: String,
    pub status: String,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub quote_qty: Decimal,
    pub time_ms: i64,
}

impl VenueOrder {
    /// The most the order could cost: its limit price times its quantity, or for a market
    /// order what it executed for; `None` when that is out of `Decimal`'s range (the venue's
    /// numbers are external data, and the runner checks them before judging).
    pub fn notional(&self) -> Option<Decimal> {
        if self.price > Decimal::ZERO {
            self.price.checked_mul(self.orig_qty)
        } else {
            Some(self.quote_qty)
        }
    }
}

/// A fill the broker published (its `fills` journal).
#[derive(Debug, Clone, Serialize)]
pub struct BrokerFill {
    pub order_id: String,
    pub intent_id: String,
    pub side: String,
    pub qty: Decimal,
    pub price: Decimal,
    pub fee: Decimal,
    pub fee_asset: String,
}

/// A decision of risk or the broker: (intent, allowed, reason).
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub by: String,
    pub intent_id: String,
    pub allowed: bool,
    pub reason: String,
}

/// The kill file's record.
#[derive(Debug, Clone, Serialize)]
pub struct Trip {
    pub ts_ns: i64,
    pub by: String,
    pub reason: String,
}

/// Everything the assertions read.
#[derive(Debug, Default, Serialize)]
pub struct Evidence {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    #[serde(skip)]
    pub requests: Vec<Req>,
    #[serde(skip)]
    pub responses: HashMap<u64, Resp>,
    pub orders: Vec<VenueOrder>,
    /// The venue's trades of this account: (orderId, isBuyer, qty, quoteQty, commission,
    /// commissionAsset).
    #[serde(skip)]
    pub venue_trades: Vec<(u64, bool, Decimal, Decimal, Decimal, String)>,
    pub open_orders: usize,
    pub account_before: BTreeMap<String, Decimal>,
    pub account_after: BTreeMap<String, Decimal>,
    #[serde(skip)]
    pub fills: Vec<BrokerFill>,
    /// The broker's last published balance (free + locked) of each asset.
    pub broker_balances: BTreeMap<String, Decimal>,
    /// The broker's last position quantity in the symbol, if it published one.
    pub broker_position: Option<Decimal>,
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    pub trip: Option<Trip>,
    /// Risk's inputs and its trip, in its audit chain's order: ("event" kind or "kill_switch",
    /// realized day PnL of a position).
    #[serde(skip)]
    pub risk_chain: Vec<(String, Option<Decimal>)>,
    /// The daily loss cap risk ran with.
    pub daily_loss_cap: Option<Decimal>,
    /// Alerts the webhook received: (wall ns, alertname).
    pub alerts: Vec<(i64, String)>,
    /// When each fault kind was first applied, and the operator halts (wall ns).
    pub marks: BTreeMap<String, i64>,
    /// Intent ids the runner published.
    pub intents: Vec<String>,
}

pub fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap_or_default(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// `free + locked`, or an error naming the asset when the sum is out of range.
fn total(asset: &str, b: &Value) -> Result<Decimal, String> {
    dec(&b["free"])
        .checked_add(dec(&b["locked"]))
        .ok_or_else(|| format!("the balance of {asset} is out of range: {b}"))
}

/// Total (free + locked) per asset of a signed `account` answer.
pub fn balances(account: &Value) -> Result<BTreeMap<String, Decimal>, String> {
    let mut out = BTreeMap::new();
    for b in account["balances"].as_array().into_iter().flatten() {
        if let Some(asset) = b["asset"].as_str() {
            out.insert(asset.to_string(), total(asset, b)?);
        }
    }
    Ok(out)
}

/// Every line of the journal `stem` in `dir` as JSON, through all of its files in order
/// (the days rotated out, plain or gzipped, then the open one): a run that crosses midnight
/// UTC has its lines in two files. None when the journal does not exist.
pub fn series(dir: &Path, stem: &str) -> Result<Vec<Value>, String> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let want = dir.join(stem).display().to_string();
    let all = njord::journal::list_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for file in all.iter().filter(|s| s.name == want).flat_map(|s| &s.files) {
        let mut r = njord::journal::JournalReader::open(file)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        while let Some(line) = r.next_line() {
            // A torn or bad line is skipped, as a stage that restarts would skip it.
            if let Ok(v) = line.map(|l| serde_json::from_str::<Value>(l.text)) {
                out.extend(v.ok());
            }
        }
    }
    Ok(out)
}

/// How long the venue may take to answer what a stopping broker sent before it stopped.
const LAST_ANSWERS: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the venue's side once the stack has stopped (`down`), so what the broker sent while
/// it stopped is judged too; the simulator still runs. The faults are cleared by now. Waits
/// (at most [`LAST_ANSWERS`]) until every request in the journal has its answer.
pub fn venue(ev: &mut Evidence, sim: &SimProc, journal: &mut Journal) -> Result<(), String> {
    let deadline = std::time::Instant::now() + LAST_ANSWERS;
    loop {
        journal.refresh()?;
        if journal.in_flight() == 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    ev.requests = journal.requests.clone();
    ev.responses = journal.responses.clone();
    let compact = format!("{}{}", ev.base, ev.quote);
    let sym = [("symbol", compact.as_str())];
    let orders = sim.signed("/api/v3/allOrders", &sym)?;
    ev.orders = orders
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| VenueOrder {
            order_id: o["orderId"].as_u64().unwrap_or(0),
            client_order_id: o["clientOrderId"].as_str().unwrap_or("").to_string(),
            side: o["side"].as_str().unwrap_or("").to_string(),
            order_type: o["type"].as_str().unwrap_or("").to_string(),
            status: o["status"].as_str().unwrap_or("").to_string(),
            price: dec(&o["price"]),
            orig_qty: dec(&o["origQty"]),
            executed_qty: dec(&o["executedQty"]),
            quote_qty: dec(&o["cummulativeQuoteQty"]),
            time_ms: o["time"].as_i64().unwrap_or(0),
        })
        .collect();
    let trades = sim.signed("/api/v3/myTrades", &[sym[0], ("limit", "1000")])?;
    ev.venue_trades = trades
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["orderId"].as_u64().unwrap_or(0),
                t["isBuyer"] == true,
                dec(&t["qty"]),
                dec(&t["quoteQty"]),
                dec(&t["commission"]),
                t["commissionAsset"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    ev.open_orders = sim
        .signed("/api/v3/openOrders", &sym)?
        .as_array()
        .map_or(0, Vec::len);
    ev.account_after = balances(&sim.signed("/api/v3/account", &[])?)?;
    for o in &ev.orders {
        if o.notional().is_none() {
            return Err(format!(
                "venue order {}: its notional is out of range (price {} x quantity {})",
                o.order_id, o.price, o.orig_qty
            ));
        }
    }
    Ok(())
}

/// Reads the stack's files once it has stopped and flushed them: the broker's and risk's
/// journals, the kill file, risk's audit chain, and what the alert webhook received.
pub fn files(ev: &mut Evidence, dir: &Path, alerts: Option<&Received>) -> Result<(), String> {
    let j = dir.join("journal");
    ev.fills = series(&j, "broker.fills")?
        .iter()
        .filter(|f| f["kind"] == "fill")
        .map(|f| BrokerFill {
            order_id: f["order_id"].as_str().unwrap_or("").to_string(),
            intent_id: f["intent_id"].as_str().unwrap_or("").to_string(),
            side: f["side"].as_str().unwrap_or("").to_string(),
            qty: dec(&f["qty"]),
            price: dec(&f["price"]),
            fee: dec(&f["fee"]),
            fee_asset: f["fee_asset"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    for b in series(&j, "broker.balances")? {
        if let Some(asset) = b["asset"].as_str() {
            ev.broker_balances
                .insert(asset.to_string(), total(asset, &b)?);
        }
    }
    ev.broker_position = series(&j, "broker.positions")?
        .iter()
        .rfind(|p| p["kind"] == "position" && p["symbol"] == ev.symbol.as_str())
        .map(|p| dec(&p["qty"]));
    for (by, file) in [("risk", "risk.decisions"), ("broker", "broker.orders")] {
        ev.decisions.extend(
            series(&j, file)?
                .iter()
                .filter(|d| d["kind"] == "decision")
                .map(|d| Decision {
                    by: by.into(),
                    intent_id: d["intent_id"].as_str().unwrap_or("").to_string(),
                    allowed: d["allowed"] == true,
                    reason: d["reason"].as_str().unwrap_or("").to_string(),
                }),
        );
    }
    ev.trip = std::fs::read_to_string(dir.join("halt"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(t.lines().next()?).ok())
        .map(|v| Trip {
            ts_ns: v["ts_ns"].as_i64().unwrap_or(0),
            by: v["by"].as_str().unwrap_or("").to_string(),
            reason: v["reason"].as_str().unwrap_or("").to_string(),
        });
    if let Some(t) = &ev.trip {
        ev.marks.entry("trip".into()).or_insert(t.ts_ns);
    }
    ev.risk_chain = series(&dir.join("audit"), "audit.njord-risk")?
        .iter()
        .filter_map(|r| {
            let kind = r["kind"].as_str()?;
            if kind == "kill_switch" {
                return Some(("kill_switch".to_string(), None));
            }
            // The input as the stage read it: a line of text, or the object itself.
            let e = match &r["event"] {
                Value::String(line) => serde_json::from_str(line).ok()?,
                other => other.clone(),
            };
            let pnl = (kind == "position")
                .then(|| e.get("realized_pnl_day").map(dec))
                .flatten();
            Some((kind.to_string(), pnl))
        })
        .collect();
    if let Some(a) = alerts {
        for (ts, payload) in a.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for alert in payload["alerts"].as_array().into_iter().flatten() {
                if alert["status"] != "resolved"
                    && let Some(name) = alert["labels"]["alertname"].as_str()
                {
                    ev.alerts.push((*ts, name.to_string()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_journal_is_read_across_its_rotated_days() {
        let d = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(d.path().join(name), text).unwrap();
        w("broker.fills.20261207.ndjson", "{\"n\":1}\n{\"n\":2}\n");
        w("broker.fills.ndjson", "{\"n\":3}\n");
        w("broker.fills.20261206.ndjson", "{\"n\":0}\n");
        w("broker.orders.ndjson", "{\"n\":9}\n");
        let got: Vec<i64> = super::series(d.path(), "broker.fills")
            .unwrap()
            .iter()
            .map(|v| v["n"].as_i64().unwrap())
            .collect();
        assert_eq!(got, [0, 1, 2, 3]);
        assert!(
            super::series(d.path(), "risk.decisions")
                .unwrap()
                .is_empty()
        );
        assert!(
            super::series(&d.path().join("none"), "x")
                .unwrap()
                .is_empty()
        );
    }
}
