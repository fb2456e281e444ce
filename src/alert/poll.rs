//! njord-alert's own view of the daemons' health: a thread that polls each daemon's
//! `/livez`, `/readyz` and `/metrics` (docs/metrics.md) and hands what it found to the stage as
//! [`Probe`]s. The daemon rules (down, not ready, reconnect storms, venue errors) are pure, in
//! the core crate; this is only the HTTP.

use super::{Daemons, Probe};
use crossbeam_channel::{Receiver, Sender, bounded};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};

/// How long one endpoint may take to answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Starts polling every daemon of `daemons` every `daemons.every`; the answers arrive on the
/// returned channel as (daemon, probe). The thread ends when the receiver is dropped. `token`
/// is the bearer token of the daemons' metrics endpoints (`api_keys.metrics.token`).
pub fn start(
    daemons: Daemons,
    token: Option<SecretString>,
) -> Result<Receiver<(String, Probe)>, String> {
    // A few rounds of room: a stage that stops reading does not block the polls for long.
    let (tx, rx) = bounded(4 * daemons.urls.len().max(1));
    std::thread::Builder::new()
        .name("alert-poll".into())
        .spawn(move || run(daemons, token, tx))
        .map_err(|e| format!("daemon polling thread: {e}"))?;
    Ok(rx)
}

fn run(daemons: Daemons, token: Option<SecretString>, tx: Sender<(String, Probe)>) {
    use crate::venue::{bearer, blocking_runtime, http_client};
    let (rt, http) = match blocking_runtime().and_then(|rt| Ok((rt, http_client(TIMEOUT)?))) {
        Ok(both) => both,
        Err(e) => return tracing::error!("daemon polling: {e}"),
    };
    let token = bearer(token.as_ref().map(|t| t.expose_secret()));
    let (http, token) = (&http, token.as_deref());
    loop {
        let round = Instant::now();
        let probes =
            rt.block_on(futures_util::future::join_all(daemons.urls.iter().map(
                |(name, url)| async move { (name, probe(http, url, token).await) },
            )));
        for (name, p) in probes {
            if tx.send((name.clone(), p)).is_err() {
                return;
            }
        }
        std::thread::sleep(daemons.every.saturating_sub(round.elapsed()));
    }
}

/// One poll of a daemon at base URL `url`.
async fn probe(http: &reqwest::Client, url: &str, token: Option<&str>) -> Probe {
    let get = |path: &str| {
        let mut r = http.get(format!("{}{path}", url.trim_end_matches('/')));
        if let Some(t) = token {
            r = r.header(reqwest::header::AUTHORIZATION, t);
        }
        async move {
            let resp = r.send().await.map_err(crate::venue::request_error)?;
            let ok = resp.status().is_success();
            let status = resp.status().as_u16();
            let body = resp.text().await.map_err(crate::venue::request_error)?;
            Ok::<_, String>((ok, status, body))
        }
    };
    let (live, ready, metrics) = tokio::join!(get("/livez"), get("/readyz"), get("/metrics"));
    let counters = metrics
        .ok()
        .filter(|(ok, _, _)| *ok)
        .map(|(_, _, text)| counters(&text));
    Probe {
        live: live.is_ok_and(|(ok, _, _)| ok),
        not_ready: match ready {
            Ok((true, _, _)) => None,
            Ok((false, status, body)) => Some(format!("{status}: {}", body.trim())),
            Err(e) => Some(e),
        },
        reconnects: counters.map(|c| c.0),
        venue_errors: counters.map(|c| c.1),
    }
}

/// Reconnects (WebSocket and Redis) and venue errors (requests answered 5xx, 429 or 418, or
/// not answered) summed over a daemon's `/metrics` text.
fn counters(text: &str) -> (f64, f64) {
    let (mut reconnects, mut errors) = (0.0, 0.0);
    for s in crate::telemetry::scrape::samples(text) {
        match s.name {
            "njord_ws_reconnects_total" | "njord_redis_reconnects_total" => reconnects += s.value,
            "njord_http_requests_total" => {
                let code = s.label("code").unwrap_or("");
                if code == "error" || code == "429" || code == "418" || code.starts_with('5') {
                    errors += s.value;
                }
            }
            _ => {}
        }
    }
    (reconnects, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_and_venue_errors_are_summed_from_the_exposition() {
        let text = "# HELP njord_ws_reconnects_total x\n\
# TYPE njord_ws_reconnects_total counter\n\
njord_ws_reconnects_total 3\n\
njord_redis_reconnects_total 2\n\
njord_http_requests_total{endpoint=\"GET /api/v3/depth\",code=\"200\"} 40\n\
njord_http_requests_total{endpoint=\"GET /api/v3/depth\",code=\"503\"} 4\n\
njord_http_requests_total{endpoint=\"POST /api/v3/order\",code=\"429\"} 1\n\
njord_http_requests_total{endpoint=\"POST /api/v3/order\",code=\"error\"} 2\n\
njord_http_requests_total{endpoint=\"POST /api/v3/order\",code=\"400\"} 7\n\
njord_http_rate_limited_total{code=\"429\"} 1\n";
        assert_eq!(counters(text), (5.0, 7.0));
        assert_eq!(counters("garbage\n{\nx y z\n"), (0.0, 0.0));
    }
}
