//! `njord-journal download`: history from a Binance-compatible REST API into a journal.
//!
//! Pages through `/api/v3/klines` or `/api/v3/aggTrades` (1000 rows a request), within the
//! venue's request weight: the `X-MBX-USED-WEIGHT-1M` header of each answer says what this
//! IP has used, and a request that would pass the budget waits for the next minute; a 429 or
//! 418 waits its `Retry-After`. Each page is appended and flushed before the next is asked
//! for, so an interrupted download resumes after the last event its journal holds. Rows are
//! converted by the same code as `njord-journal import` (exact decimals, same checks).

use crate::app::Error;
use crate::backoff::RetryPolicy;
use crate::bars::Timeframe;
use crate::event::{Event, compact_symbol};
use crate::import::{AggTrades, Format, Klines};
use crate::journal::{self, JournalReader, Journals};
use serde_json::value::RawValue;
use std::path::Path;
use std::time::Duration;

/// Rows a page asks for (the venue's maximum).
pub const PAGE: usize = 1000;
/// Request weight of one page (Binance spot lists 2 for both endpoints).
const PAGE_WEIGHT: u32 = 2;
const MINUTE_MS: i64 = 60_000;

/// What to download.
#[derive(Debug, Clone)]
pub enum What {
    Klines(Timeframe),
    AggTrades,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub what: What,
    /// `BTC/USDT`.
    pub symbol: String,
    /// Venue written in trade events.
    pub venue: String,
    /// Inclusive start and exclusive end, in ns.
    pub from_ns: i64,
    pub to_ns: i64,
    pub rest_url: url::Url,
    /// Request weight per minute to stay under (default: 90% of the venue's limit).
    pub max_weight: Option<u32>,
    pub journal: crate::config::Journal,
    pub timeout: Duration,
}

/// What a download did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub events: u64,
    pub requests: u64,
    /// The journal's last event time before the download, when it resumed from it.
    pub resumed_after_ns: Option<i64>,
    pub stem: String,
}

/// How long to wait before a request of `cost` when `used` of `budget` has been spent in the
/// minute of `now_ms`: nothing, or until the next minute starts (and a little after).
pub fn pace(used: u32, cost: u32, budget: u32, now_ms: i64) -> Option<Duration> {
    (used.saturating_add(cost) > budget).then(|| {
        let left = MINUTE_MS - now_ms.rem_euclid(MINUTE_MS);
        Duration::from_millis(u64::try_from(left).unwrap_or(0) + 250)
    })
}

/// Where a download starts: at `from`, or after the journal's last event when that is later.
/// For aggTrades the last trade id is returned too, so the next page asks for `fromId`.
pub fn resume_point(
    what: &What,
    venue: &str,
    from_ns: i64,
    last: Option<&Event<'_>>,
) -> (i64, Option<u64>, Option<i64>) {
    match (what, last) {
        (What::Klines(tf), Some(Event::Bar(b)))
            if b.ts_close_ns > from_ns && b.timeframe == tf.label() =>
        {
            (b.ts_close_ns, None, Some(b.ts_open_ns))
        }
        // Ids are only comparable with the same venue's aggregate ids; a journal holding
        // other trades (njord-ingest's) resumes by time instead.
        (What::AggTrades, Some(Event::Trade(t))) if t.ts_ns >= from_ns => {
            let next = (t.venue == venue)
                .then(|| t.trade_id.parse::<u64>().ok())
                .flatten()
                .map(|id| id + 1);
            (t.ts_ns.saturating_add(1), next, Some(t.ts_ns))
        }
        _ => (from_ns, None, None),
    }
}

/// The last event of the journal series `dir/stem`, if any (its last file, read through).
fn last_event(dir: &Path, stem: &str) -> Result<Option<Event<'static>>, Error> {
    let Ok(series) = journal::resolve(&[dir.join(stem)]) else {
        return Ok(None);
    };
    let Some(file) = series.iter().flat_map(|s| &s.files).next_back() else {
        return Ok(None);
    };
    let mut r = JournalReader::open(file).map_err(Error::failed)?;
    let mut last = None;
    r.for_each_event(|ev| last = Some(ev.into_owned()), |_| {});
    Ok(last)
}

fn now_ms() -> i64 {
    crate::stage::wall_clock_ns() / 1_000_000
}

/// Runs a download to its end.
pub fn run(req: Request) -> Result<Outcome, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the runtime: {e}")))?;
    rt.block_on(download(req))
}

struct Client {
    http: reqwest::Client,
    base: url::Url,
    used: u32,
    budget: u32,
    requests: u64,
}

impl Client {
    /// One GET, paced and retried; the body on success.
    async fn get(&mut self, path: &str, query: &[(&str, String)]) -> Result<String, Error> {
        let policy = RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        };
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::usage(format!("--rest-url: {e}")))?;
        url.query_pairs_mut().extend_pairs(query);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(wait) = pace(self.used, PAGE_WEIGHT, self.budget, now_ms()) {
                tracing::info!(
                    used = self.used,
                    budget = self.budget,
                    "request weight near its limit; waiting {} ms",
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
                self.used = 0;
            }
            self.requests += 1;
            let (why, retry_after) = match self.http.get(url.clone()).send().await {
                Ok(resp) => {
                    let header = |n: &str| {
                        resp.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    };
                    if let Some(w) = header("x-mbx-used-weight-1m") {
                        self.used = u32::try_from(w).unwrap_or(u32::MAX);
                    }
                    let retry_after = header("retry-after").map(Duration::from_secs);
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        return Ok(body);
                    }
                    let why = format!("{path}: HTTP {}: {}", status.as_u16(), body.trim());
                    if status.as_u16() == 429 || status.as_u16() == 418 {
                        (why, retry_after.or(Some(Duration::from_secs(60))))
                    } else if status.is_client_error() {
                        return Err(Error::Failed(why));
                    } else {
                        (why, None)
                    }
                }
                Err(e) => (format!("{path}: {}", crate::venue::with_causes(&e)), None),
            };
            match policy.delay(attempt, retry_after) {
                Some(d) => {
                    tracing::warn!("{why}; retrying in {} ms", d.as_millis());
                    tokio::time::sleep(d).await;
                    if retry_after.is_some() {
                        self.used = 0;
                    }
                }
                None => {
                    return Err(Error::Failed(format!(
                        "{why} (gave up after {attempt} tries; run the same command again to resume)"
                    )));
                }
            }
        }
    }
}

async fn download(req: Request) -> Result<Outcome, Error> {
    let venue_symbol = compact_symbol(&req.symbol);
    let stem = match &req.what {
        What::Klines(tf) => format!("ohlcv.{tf}.{venue_symbol}"),
        What::AggTrades => format!("md.trades.{venue_symbol}"),
    };
    let http = reqwest::Client::builder()
        .timeout(req.timeout)
        .build()
        .map_err(|e| Error::Failed(format!("cannot build the HTTP client: {e}")))?;
    let mut client = Client {
        http,
        base: req.rest_url.clone(),
        used: 0,
        budget: req.max_weight.unwrap_or(u32::MAX),
        requests: 0,
    };
    // The symbol must exist, and the venue says its weight limit.
    let info = client
        .get("/api/v3/exchangeInfo", &[("symbol", venue_symbol.clone())])
        .await?;
    if req.max_weight.is_none() {
        let limit = serde_json::from_str(&info)
            .ok()
            .and_then(|v| crate::venue::binanceus::filters::parse_exchange_info(&v).weight_per_min);
        client.budget = limit.map_or(1_000, |l| l / 10 * 9);
    }
    let last = last_event(&req.journal.dir, &stem)?;
    let (mut cursor_ns, mut from_id, resumed) =
        resume_point(&req.what, &req.venue, req.from_ns, last.as_ref());
    // Trades before this are in the journal already (or before --from); paging by id needs
    // no such filter, and trades of the same millisecond must not be lost to one.
    let start_ns = if from_id.is_some() {
        req.from_ns
    } else {
        cursor_ns
    };
    let mut out = Outcome {
        resumed_after_ns: resumed,
        stem: req.journal.dir.join(&stem).display().to_string(),
        ..Outcome::default()
    };
    if let Some(t) = resumed {
        tracing::info!(
            "{}: resuming after {}",
            out.stem,
            crate::time::format_rfc3339(t)
        );
    }
    let mut journals = Journals::from_config(&req.journal);
    let name = format!(
        "{}{}",
        req.rest_url,
        match req.what {
            What::Klines(_) => "api/v3/klines",
            What::AggTrades => "api/v3/aggTrades",
        }
    );
    let to_ms = req.to_ns.div_euclid(1_000_000);
    loop {
        if cursor_ns >= req.to_ns {
            break;
        }
        let cursor_ms =
            cursor_ns.div_euclid(1_000_000) + i64::from(cursor_ns.rem_euclid(1_000_000) != 0);
        let body = match &req.what {
            What::Klines(tf) => {
                let q = [
                    ("symbol", venue_symbol.clone()),
                    ("interval", tf.label().to_string()),
                    ("startTime", cursor_ms.to_string()),
                    ("endTime", (to_ms - 1).to_string()),
                    ("limit", PAGE.to_string()),
                ];
                client.get("/api/v3/klines", &q).await?
            }
            What::AggTrades => {
                let mut q = vec![
                    ("symbol", venue_symbol.clone()),
                    ("limit", PAGE.to_string()),
                ];
                match from_id {
                    Some(id) => q.push(("fromId", id.to_string())),
                    None => q.push(("startTime", cursor_ms.to_string())),
                }
                client.get("/api/v3/aggTrades", &q).await?
            }
        };
        let rows =
            page_to_csv(&req.what, &body).map_err(|e| Error::Failed(format!("{name}: {e}")))?;
        let now_ns = now_ms().saturating_mul(1_000_000);
        let mut written = 0u64;
        let mut done = rows.len() < PAGE;
        let klines = match &req.what {
            What::Klines(tf) => Some(Klines::new(&req.symbol, Some(*tf))),
            What::AggTrades => None,
        };
        let trades = AggTrades::new(&req.symbol, &req.venue);
        for (i, row) in rows.iter().enumerate() {
            let ev = match &klines {
                Some(k) => k.row(row, i as u64 + 1),
                None => trades.row(row, i as u64 + 1),
            }
            .map_err(|e| Error::Failed(format!("{name}: row {}: {e}", i + 1)))?;
            let Some(ev) = ev else { continue };
            match &ev {
                Event::Bar(b) => {
                    // The bar still open on the venue is not history yet.
                    if b.ts_open_ns >= req.to_ns || b.ts_close_ns > now_ns {
                        done = true;
                        break;
                    }
                    if b.ts_open_ns < cursor_ns {
                        continue;
                    }
                    cursor_ns = b.ts_close_ns;
                }
                Event::Trade(t) => {
                    if t.ts_ns >= req.to_ns {
                        done = true;
                        break;
                    }
                    if t.ts_ns < start_ns {
                        continue;
                    }
                    from_id = t.trade_id.parse::<u64>().ok().map(|id| id + 1);
                    cursor_ns = t.ts_ns;
                }
                _ => continue,
            }
            journals
                .append_event(&stem, &ev)
                .map_err(|e| Error::Failed(e.to_string()))?;
            written += 1;
        }
        journals.flush().map_err(|e| Error::Failed(e.to_string()))?;
        out.events += written;
        tracing::info!(
            events = out.events,
            "{}: {written} events written, up to {}",
            out.stem,
            crate::time::format_rfc3339(cursor_ns)
        );
        // A page that moved nothing forward would be asked for again and again.
        if done || written == 0 {
            break;
        }
        if from_id.is_none() && matches!(req.what, What::AggTrades) {
            return Err(Error::Failed(format!(
                "{name}: trade ids are not integers; cannot page with fromId"
            )));
        }
    }
    out.requests = client.requests;
    Ok(out)
}

/// A page of the REST API as rows of the dump's CSV layout, so the import code converts them:
/// klines are arrays in the CSV's column order; aggTrades objects `{a,p,q,f,l,T,m,M}`.
pub fn page_to_csv(what: &What, body: &str) -> Result<Vec<String>, String> {
    let items: Vec<&RawValue> =
        serde_json::from_str(body).map_err(|e| format!("the answer is not a JSON array: {e}"))?;
    let text = |v: &RawValue| v.get().trim_matches('"').to_string();
    items
        .iter()
        .map(|item| match what {
            What::Klines(_) => {
                let cols: Vec<&RawValue> = serde_json::from_str(item.get())
                    .map_err(|e| format!("a kline is not an array: {e}"))?;
                Ok(cols.iter().map(|c| text(c)).collect::<Vec<_>>().join(","))
            }
            What::AggTrades => {
                let o: std::collections::HashMap<&str, &RawValue> =
                    serde_json::from_str(item.get())
                        .map_err(|e| format!("an aggTrade is not an object: {e}"))?;
                ["a", "p", "q", "f", "l", "T", "m", "M"]
                    .iter()
                    .map(|k| {
                        o.get(k)
                            .map(|v| text(v))
                            .ok_or_else(|| format!("an aggTrade without `{k}`"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|c| c.join(","))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Bar, Side, Trade};
    use std::borrow::Cow;

    #[test]
    fn pacing_waits_for_the_next_minute() {
        assert_eq!(pace(10, 2, 100, 5_000), None);
        assert_eq!(pace(99, 2, 100, 5_000), Some(Duration::from_millis(55_250)));
        assert_eq!(pace(100, 2, 100, 59_999), Some(Duration::from_millis(251)));
    }

    #[test]
    fn resumes_after_the_last_event() {
        let tf = Timeframe::parse("1m").unwrap();
        let bar = Event::Bar(Bar {
            symbol: Cow::Borrowed("A/B"),
            timeframe: Cow::Borrowed("1m"),
            ts_open_ns: 600_000_000_000,
            ts_close_ns: 660_000_000_000,
            open: 1.into(),
            high: 1.into(),
            low: 1.into(),
            close: 1.into(),
            volume: 1.into(),
            trades: 1,
        });
        assert_eq!(
            resume_point(&What::Klines(tf), "", 0, Some(&bar)),
            (660_000_000_000, None, Some(600_000_000_000))
        );
        // A journal older than --from is no place to resume.
        assert_eq!(
            resume_point(&What::Klines(tf), "", 700_000_000_000, Some(&bar)),
            (700_000_000_000, None, None)
        );
        let trade = Event::Trade(Trade {
            venue: Cow::Borrowed("v"),
            symbol: Cow::Borrowed("A/B"),
            trade_id: Cow::Borrowed("41"),
            price: 1.into(),
            qty: 1.into(),
            side: Side::Buy,
            ts_ns: 5,
            ts_local_ns: None,
        });
        assert_eq!(
            resume_point(&What::AggTrades, "v", 0, Some(&trade)),
            (6, Some(42), Some(5))
        );
        // Another venue's trade ids say nothing about aggregate ids: resume by time.
        assert_eq!(
            resume_point(&What::AggTrades, "binance", 0, Some(&trade)),
            (6, None, Some(5))
        );
        assert_eq!(
            resume_point(&What::AggTrades, "v", 0, None),
            (0, None, None)
        );
    }

    #[test]
    fn pages_become_dump_rows() {
        let k = r#"[[1704067200000,"1.5","2.0","1.0","1.25","10.0",1704067259999,"15.0",3,"5.0","7.5","0"]]"#;
        assert_eq!(
            page_to_csv(&What::Klines(Timeframe::parse("1m").unwrap()), k).unwrap(),
            ["1704067200000,1.5,2.0,1.0,1.25,10.0,1704067259999,15.0,3,5.0,7.5,0"]
        );
        let a = r#"[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,"m":true,"M":true}]"#;
        assert_eq!(
            page_to_csv(&What::AggTrades, a).unwrap(),
            ["26129,0.01633102,4.70443515,27781,27781,1498793709153,true,true"]
        );
        assert!(page_to_csv(&What::AggTrades, r#"{"code":-1}"#).is_err());
        assert!(
            page_to_csv(&What::AggTrades, r#"[{"a":1}]"#)
                .unwrap_err()
                .contains("`p`")
        );
    }
}
