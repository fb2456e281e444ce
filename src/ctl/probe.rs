//! What the controller asks a running daemon: `/readyz` (the gate of `up` and the health of
//! `status`) and a few series of `/metrics` (version, trading state, last event age).

use crate::telemetry::scrape::samples;
use std::time::Duration;

/// How long one request may take: a hung daemon must not stall the supervision loop.
const TIMEOUT: Duration = Duration::from_millis(800);

/// A blocking HTTP client for loopback probes.
pub struct Prober {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// `Authorization` for daemons that require `api_keys.metrics.token`.
    auth: Option<String>,
}

/// A daemon's `/readyz` answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Ready {
    Yes,
    /// Start-up finished, but no event has arrived yet: ready as far as `up`'s gate goes
    /// (its upstream may start later), not yet for `status`.
    NoEventYet(String),
    /// Not ready, with the daemon's reason (or why it could not be asked).
    No(String),
}

/// What `status` shows from a daemon's metrics.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Seen {
    pub version: Option<String>,
    /// `active` or `halted`, for stages that read the kill switch.
    pub trading_state: Option<String>,
    /// Wall time since the freshest stream's last event, in seconds.
    pub last_event_age_s: Option<f64>,
}

impl Prober {
    /// `token`: `api_keys.metrics.token`, which the daemons then require on every request.
    pub fn new(token: Option<&str>) -> Result<Prober, String> {
        Ok(Prober {
            rt: crate::venue::blocking_runtime()?,
            http: crate::venue::http_client(TIMEOUT)?,
            auth: crate::venue::bearer(token),
        })
    }

    fn get(&self, addr: &str, path: &str) -> Result<(u16, String), String> {
        self.rt.block_on(async {
            let mut req = self.http.get(format!("http://{addr}{path}"));
            if let Some(a) = &self.auth {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let r = req.send().await.map_err(crate::venue::request_error)?;
            let status = r.status().as_u16();
            let body = r.text().await.map_err(crate::venue::request_error)?;
            Ok((status, body))
        })
    }

    pub fn ready(&self, addr: &str) -> Ready {
        match self.get(addr, "/readyz") {
            Ok((200, _)) => Ready::Yes,
            Ok((_, body)) if body.starts_with("no event yet") => {
                Ready::NoEventYet(body.trim().to_string())
            }
            Ok((status, body)) => Ready::No(format!("{status}: {}", body.trim())),
            Err(e) => Ready::No(e),
        }
    }

    /// A daemon's `/metrics` text, when it answers.
    pub fn metrics_text(&self, addr: &str) -> Option<String> {
        match self.get(addr, "/metrics") {
            Ok((200, text)) => Some(text),
            _ => None,
        }
    }

    pub fn seen(&self, addr: &str) -> Seen {
        let Some(text) = self.metrics_text(addr) else {
            return Seen::default();
        };
        let mut seen = Seen::default();
        for s in samples(&text) {
            match s.name {
                "njord_build_info" => seen.version = s.label("version").map(str::to_string),
                "njord_trading_state" if s.value == 1.0 => {
                    seen.trading_state = s.label("state").map(str::to_string)
                }
                "njord_stream_last_event_age_seconds" => {
                    let age = seen.last_event_age_s.map_or(s.value, |a| a.min(s.value));
                    seen.last_event_age_s = Some(age);
                }
                _ => {}
            }
        }
        seen
    }
}
