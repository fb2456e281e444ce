//! `njord-ctl serve`: the control API of a running session, HTTP JSON on loopback by default.
//! Every request needs a bearer token of `api_keys.ctl` (compared in constant time) and is
//! logged with the token's name; requests are rate limited; an address off loopback needs TLS
//! with a configured certificate. The commands go to the controller through its socket, so
//! the API and the command line do the same thing.

use super::control::{self, Wire};
use super::session::{Api, Session, Telegram};
use crate::telemetry::scrape::samples;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Runs njord-kill with these arguments for the session: its output, or why it failed.
pub type KillRunner = Box<dyn Fn(&[String]) -> Result<String, String> + Send + Sync>;

struct Shared {
    socket: PathBuf,
    /// (name, token).
    tokens: Vec<(String, String)>,
    bucket: Mutex<Bucket>,
    /// How to run `njord-ctl kill` for the session.
    kill: KillRunner,
    http: reqwest::Client,
    /// `Authorization` for the daemons' metrics (`api_keys.metrics.token`).
    metrics_auth: Option<String>,
}

/// A token bucket: `per_minute` requests a minute, in bursts of as many.
struct Bucket {
    tokens: f64,
    per_minute: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_minute / 60.0;
        self.tokens = (self.tokens + refill).min(self.per_minute);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The name of the token `headers` carry, compared in constant time with every one.
fn caller(tokens: &[(String, String)], headers: &HeaderMap) -> Option<String> {
    let given = crate::telemetry::bearer_of(headers)?;
    // Every token is compared, so the time does not say which one matched.
    let mut found = None;
    for (name, token) in tokens {
        if crate::telemetry::same_token(given, token) {
            found = Some(name.clone());
        }
    }
    found
}

fn error(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": text.into()}))).into_response()
}

async fn guard(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    // Every request counts, a bad token's too; halting trading is never refused for it.
    let halting = path == "/kill/trip";
    let allowed = halting || s.bucket.lock().unwrap_or_else(|e| e.into_inner()).take();
    if !allowed {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate limited");
        r.headers_mut()
            .insert(header::RETRY_AFTER, "1".parse().expect("static"));
        return r;
    }
    let Some(name) = caller(&s.tokens, req.headers()) else {
        tracing::warn!("api: {method} {path} refused: no valid bearer token");
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "a bearer token of api_keys.ctl is required",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        return r;
    };
    let mut req = req;
    req.extensions_mut().insert(Caller(name.clone()));
    let r = next.run(req).await;
    tracing::info!(token = %name, "api: {method} {path} → {}", r.status().as_u16());
    r
}

#[derive(Clone)]
struct Caller(String);

/// Asks the controller (blocking, so off the async threads).
async fn ask(s: &Shared, req: Wire) -> Result<Value, Response> {
    let socket = s.socket.clone();
    tokio::task::spawn_blocking(move || control::ask(&socket, &req))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| match e {
            None => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the session is not running",
            ),
            Some(e) => error(StatusCode::BAD_REQUEST, e),
        })
}

async fn status(State(s): State<Arc<Shared>>) -> Response {
    match ask(&s, Wire::Status).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

/// The series named `names` of every process's metrics, as `{process, metric, labels…,
/// value}` rows: positions, PnL and orders are read where the stages report them.
async fn series(s: &Shared, names: &[&str]) -> Result<Value, Response> {
    let st = ask(s, Wire::Status).await?;
    let mut rows = Vec::new();
    for p in st["processes"].as_array().into_iter().flatten() {
        let (Some(name), Some(addr)) = (p["name"].as_str(), p["metrics"].as_str()) else {
            continue;
        };
        let mut req = s.http.get(format!("http://{addr}/metrics"));
        if let Some(a) = &s.metrics_auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let Ok(r) = req.send().await else {
            continue;
        };
        let Ok(text) = r.text().await else { continue };
        for x in samples(&text).filter(|x| names.contains(&x.name)) {
            let mut row = json!({"process": name, "metric": x.name, "value": x.value});
            for l in x.labels.split(',').filter(|l| !l.is_empty()) {
                if let Some((k, v)) = l.split_once('=') {
                    row[k] = Value::String(v.trim_matches('"').to_string());
                }
            }
            rows.push(row);
        }
    }
    Ok(Value::Array(rows))
}

/// The read-only views of the stages' metrics: the route's name and the series it shows.
const VIEWS: [(&str, &[&str]); 3] = [
    ("positions", &["njord_position_qty"]),
    (
        "pnl",
        &[
            "njord_pnl_realized_usd",
            "njord_pnl_unrealized_usd",
            "njord_pnl_today_usd",
            "njord_equity_usd",
            "njord_drawdown_usd",
        ],
    ),
    (
        "orders",
        &[
            "njord_orders_total",
            "njord_rejects_total",
            "njord_fills_total",
        ],
    ),
];

/// `GET /{view}`: `{"<view>": [rows]}`.
async fn view(
    State(s): State<Arc<Shared>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let Some((key, names)) = VIEWS.iter().find(|(k, _)| *k == name) else {
        return error(
            StatusCode::NOT_FOUND,
            "GET /status, /positions, /pnl or /orders",
        );
    };
    match series(&s, names).await {
        Ok(v) => axum::Json(json!({ *key: v })).into_response(),
        Err(r) => r,
    }
}

async fn kill_switch(
    State(s): State<Arc<Shared>>,
    axum::Extension(who): axum::Extension<Caller>,
    axum::extract::Path(action): axum::extract::Path<String>,
    body: Option<axum::Json<Value>>,
) -> Response {
    let mut args = match action.as_str() {
        "trip" => vec!["trip".to_string()],
        "clear" => vec!["clear".to_string()],
        _ => return error(StatusCode::NOT_FOUND, "POST /kill/trip or /kill/clear"),
    };
    if action == "trip" {
        let why = body
            .as_ref()
            .and_then(|b| b["reason"].as_str())
            .unwrap_or("no reason given");
        args.push("--reason".into());
        args.push(format!("control API, token {}: {why}", who.0));
    }
    args.push("--source".into());
    args.push(format!("control API token {}", who.0));
    let s2 = s.clone();
    match tokio::task::spawn_blocking(move || (s2.kill)(&args)).await {
        Ok(Ok(text)) => axum::Json(json!({"ok": true, "kill": text})).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn reload(State(s): State<Arc<Shared>>) -> Response {
    match ask(&s, Wire::Reload).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

async fn stop(State(s): State<Arc<Shared>>) -> Response {
    match ask(&s, Wire::Down).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => r,
    }
}

/// The one-line state of the session, as `/status` over Telegram says it.
fn summary(v: &Value) -> String {
    let procs: Vec<&Value> = v["processes"].as_array().into_iter().flatten().collect();
    let ready = procs.iter().filter(|p| p["ready"] == true).count();
    let halted = procs.iter().any(|p| p["trading_state"] == "halted");
    let mut text = format!(
        "session {}: {ready} of {} processes ready; trading {}",
        v["session"].as_str().unwrap_or("?"),
        procs.len(),
        if halted { "HALTED" } else { "active" }
    );
    for p in procs.iter().filter(|p| p["ready"] != true) {
        text += &format!(
            "\n{}: {}",
            p["name"].as_str().unwrap_or("?"),
            p["reason"].as_str().unwrap_or("not ready")
        );
    }
    text
}

/// A Telegram command, through the same handlers as the HTTP API.
async fn command(s: &Arc<Shared>, chat: i64, text: &str) -> String {
    let (cmd, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    // `/status@my_bot` in groups.
    let cmd = cmd.split('@').next().unwrap_or(cmd);
    let answer = |r: Result<Value, Response>| match r {
        Ok(_) => None,
        Err(e) => Some(format!("failed: HTTP {}", e.status().as_u16())),
    };
    match cmd {
        "/status" => match ask(s, Wire::Status).await {
            Ok(v) => summary(&v),
            Err(r) => format!("failed: HTTP {}", r.status().as_u16()),
        },
        "/kill" => {
            let why = if rest.is_empty() {
                "no reason given"
            } else {
                rest
            };
            let args = vec![
                "trip".to_string(),
                "--reason".to_string(),
                format!("Telegram chat {chat}: {why}"),
                "--source".to_string(),
                format!("Telegram chat {chat}"),
            ];
            let s2 = s.clone();
            match tokio::task::spawn_blocking(move || (s2.kill)(&args)).await {
                Ok(Ok(_)) => "kill switch tripped: trading is halted".into(),
                Ok(Err(e)) => format!("failed: {e}"),
                Err(e) => format!("failed: {e}"),
            }
        }
        "/stop" => answer(ask(s, Wire::Down).await).unwrap_or_else(|| "session stopped".into()),
        _ => "commands: /status, /kill REASON, /stop".into(),
    }
}

/// Polls the Telegram Bot API for commands from the allowed chats and answers each.
async fn telegram(s: Arc<Shared>, t: Telegram, token: String) {
    let base = format!("{}/bot{token}", t.url.trim_end_matches('/'));
    // Longer than getUpdates' own 25 s wait.
    let http = match crate::venue::http_client(std::time::Duration::from_secs(35)) {
        Ok(c) => c,
        Err(e) => return tracing::error!("telegram: {e}"),
    };
    let mut offset = 0i64;
    let mut backoff = std::time::Duration::from_secs(1);
    loop {
        let got = http
            .get(format!("{base}/getUpdates?timeout=25&offset={offset}"))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let updates: Result<Value, reqwest::Error> = match got {
            Ok(r) => r.json().await,
            Err(e) => Err(e),
        };
        let updates = match updates {
            Ok(v) => v,
            Err(e) => {
                // The URL holds the bot token: never log it.
                tracing::warn!(
                    "telegram: getUpdates failed ({}); retrying",
                    crate::venue::request_error(e.without_url())
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                continue;
            }
        };
        backoff = std::time::Duration::from_secs(1);
        for u in updates["result"].as_array().into_iter().flatten() {
            offset = offset.max(u["update_id"].as_i64().unwrap_or(0) + 1);
            let msg = &u["message"];
            let (Some(chat), Some(text)) = (msg["chat"]["id"].as_i64(), msg["text"].as_str())
            else {
                continue;
            };
            if !t.chat_ids.contains(&chat) {
                tracing::warn!(
                    chat,
                    "telegram: a command from a chat not in api.telegram.chat_ids, ignored"
                );
                continue;
            }
            let reply = command(&s, chat, text).await;
            tracing::info!(token = %format!("telegram:{chat}"), "api: telegram {text}");
            let sent = http
                .post(format!("{base}/sendMessage"))
                .json(&json!({"chat_id": chat, "text": reply}))
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(
                    "telegram: sendMessage failed ({})",
                    crate::venue::request_error(e.without_url())
                );
            }
        }
    }
}

/// Serves the control API of `session` until SIGTERM or SIGINT. `tokens`: api_keys.ctl;
/// `kill`: runs `njord-kill` with these arguments for the session; `bot_token`: the Telegram
/// bot's token, when `api.telegram` is set.
pub fn serve(
    session: &Session,
    tokens: Vec<(String, String)>,
    kill: KillRunner,
    bot_token: Option<String>,
    metrics_token: Option<String>,
) -> Result<(), String> {
    let api: &Api = &session.api;
    if tokens.is_empty() {
        return Err(
            "the control API needs at least one token in api_keys.ctl (secrets file)".into(),
        );
    }
    let addr: SocketAddr = api
        .addr
        .parse()
        .map_err(|e| format!("api.addr `{}`: {e}", api.addr))?;
    if !addr.ip().is_loopback() && api.tls.is_none() {
        return Err(format!(
            "api.addr {addr} is off loopback: it needs TLS (api.tls_cert and api.tls_key)"
        ));
    }
    let shared = Arc::new(Shared {
        socket: session.state_dir.join("ctl.sock"),
        tokens,
        bucket: Mutex::new(Bucket {
            tokens: f64::from(api.rate_per_minute),
            per_minute: f64::from(api.rate_per_minute),
            at: Instant::now(),
        }),
        kill,
        metrics_auth: crate::venue::bearer(metrics_token.as_deref()),
        http: crate::venue::http_client(std::time::Duration::from_secs(2))?,
    });
    let bot = match (&api.telegram, bot_token) {
        (Some(t), Some(token)) => Some((t.clone(), token)),
        (Some(t), None) => {
            return Err(format!(
                "api.telegram: api_keys.alerts.{} is not set (secrets file)",
                t.token_secret
            ));
        }
        (None, _) => None,
    };
    let app = Router::new()
        .route("/status", get(status))
        .route("/{view}", get(view))
        .route("/kill/{action}", post(kill_switch))
        .route("/reload", post(reload))
        .route("/stop", post(stop))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("api runtime: {e}"))?;
    rt.block_on(async move {
        if let Some((t, token)) = bot {
            tracing::info!(chats = ?t.chat_ids, "telegram commands: /status, /kill, /stop");
            tokio::spawn(telegram(shared, t, token));
        }
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        let announce = handle.clone();
        let scheme = if api.tls.is_some() { "https" } else { "http" };
        tokio::spawn(async move {
            if let Some(a) = announce.listening().await {
                tracing::info!("control API on {scheme}://{a}/status");
            }
        });
        let service = app.into_make_service();
        match &api.tls {
            Some((cert, key)) => {
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(|e| format!("api TLS {} / {}: {e}", cert.display(), key.display()))?;
                axum_server::bind_rustls(addr, tls)
                    .handle(handle)
                    .serve(service)
                    .await
            }
            None => axum_server::bind(addr).handle(handle).serve(service).await,
        }
        .map_err(|e| format!("api on {addr}: {e}"))
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
