//! The WebSocket shell: `/ws`, `/ws/<stream>`, `/stream?streams=a/b`, live subscription
//! control, server pings with a pong deadline, the inbound message limit and the faults
//! that drop connections.

use super::feed::{Batch, Conn, Sub, Target, parse_stream};
use super::limits::MsgRate;
use super::{Sim, journal::Journal};
use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use njord::venue::binanceus::errors;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Streams one connection may hold (Binance's limit).
const MAX_STREAMS: usize = 1024;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/ws", get(raw_root))
        .route("/ws/{stream}", get(raw_one))
        .route("/stream", get(combined))
        .with_state(sim)
}

/// Resolves stream names; a listen key must be live.
fn resolve(sim: &Sim, names: &[&str]) -> Result<Vec<Sub>, String> {
    names
        .iter()
        .map(|n| {
            let target =
                parse_stream(n, &sim.symbols).ok_or_else(|| format!("Invalid stream name: {n}"))?;
            if let Target::User { key } = &target
                && !sim.lock().keys.is_valid(key)
            {
                return Err("This listenKey does not exist.".to_string());
            }
            Ok(Sub {
                name: Arc::from(*n),
                target,
            })
        })
        .collect()
}

fn refuse(msg: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/json")],
        json!({"code": errors::ILLEGAL_CHARS, "msg": msg}).to_string(),
    )
        .into_response()
}

/// During an outage no connection is accepted.
fn outage(sim: &Sim) -> Option<Response> {
    sim.hub.ws_faults.outage.load(Ordering::Relaxed).then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/json")],
            json!({"code": errors::DISCONNECTED, "msg": "Service unavailable."}).to_string(),
        )
            .into_response()
    })
}

async fn raw_root(State(sim): State<Arc<Sim>>, up: WebSocketUpgrade) -> Response {
    if let Some(r) = outage(&sim) {
        return r;
    }
    up.on_upgrade(move |s| run(sim, s, Vec::new(), false, "/ws".into()))
}

async fn raw_one(
    State(sim): State<Arc<Sim>>,
    Path(stream): Path<String>,
    up: WebSocketUpgrade,
) -> Response {
    if let Some(r) = outage(&sim) {
        return r;
    }
    match resolve(&sim, &[stream.as_str()]) {
        Ok(subs) => up.on_upgrade(move |s| run(sim, s, subs, false, format!("/ws/{stream}"))),
        Err(e) => refuse(e),
    }
}

async fn combined(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
    up: WebSocketUpgrade,
) -> Response {
    if let Some(r) = outage(&sim) {
        return r;
    }
    let streams = q.get("streams").cloned().unwrap_or_default();
    let names: Vec<&str> = streams.split('/').filter(|s| !s.is_empty()).collect();
    match resolve(&sim, &names) {
        Ok(subs) => {
            let path = format!("/stream?streams={streams}");
            up.on_upgrade(move |s| run(sim, s, subs, true, path))
        }
        Err(e) => refuse(e),
    }
}

fn error_reply(code: i64, msg: &str, id: &Value) -> String {
    json!({"error": {"code": code, "msg": msg}, "id": id}).to_string()
}

/// Answers one control message (`SUBSCRIBE`, …), changing the subscriptions and the
/// `combined` property as asked.
pub fn control(
    text: &str,
    subs: &mut Vec<Sub>,
    combined: &mut bool,
    resolve: impl Fn(&[&str]) -> Result<Vec<Sub>, String>,
) -> String {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return error_reply(3, &format!("Invalid JSON: {e}"), &Value::Null),
    };
    let Some(obj) = v.as_object() else {
        return error_reply(2, "Invalid request: expected an object", &Value::Null);
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if !id.is_u64() {
        return error_reply(
            2,
            "Invalid request: request ID must be an unsigned integer",
            &id,
        );
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.as_str(),
        Some(_) => return error_reply(2, "Invalid request: method must be a string", &id),
        None => return error_reply(2, "Invalid request: missing field `method`", &id),
    };
    let params = obj.get("params");
    let names = || -> Result<Vec<&str>, String> {
        match params {
            Some(Value::Array(a)) => a
                .iter()
                .map(|p| {
                    p.as_str()
                        .ok_or_else(|| "Invalid request: stream names must be strings".to_string())
                })
                .collect(),
            _ => Err("Invalid request: params must be an array of stream names".into()),
        }
    };
    match method {
        "SUBSCRIBE" | "UNSUBSCRIBE" => {
            let names = match names() {
                Ok(n) => n,
                Err(e) => return error_reply(2, &e, &id),
            };
            if method == "UNSUBSCRIBE" {
                subs.retain(|s| !names.contains(&&*s.name));
                return json!({"result": null, "id": id}).to_string();
            }
            let new = match resolve(&names) {
                Ok(n) => n,
                Err(e) => return error_reply(2, &format!("Invalid request: {e}"), &id),
            };
            for s in new {
                if !subs.iter().any(|x| x.name == s.name) {
                    if subs.len() >= MAX_STREAMS {
                        return error_reply(
                            2,
                            "Invalid request: too many streams (1024 at most)",
                            &id,
                        );
                    }
                    subs.push(s);
                }
            }
            json!({"result": null, "id": id}).to_string()
        }
        "LIST_SUBSCRIPTIONS" => {
            let list: Vec<&str> = subs.iter().map(|s| &*s.name).collect();
            json!({"result": list, "id": id}).to_string()
        }
        "SET_PROPERTY" | "GET_PROPERTY" => {
            let p = params.and_then(Value::as_array);
            let name = p.and_then(|a| a.first());
            match name {
                Some(Value::String(n)) if n == "combined" => {}
                Some(Value::String(_)) => return error_reply(0, "Unknown property", &id),
                _ => return error_reply(2, "Invalid request: property name must be a string", &id),
            }
            if method == "GET_PROPERTY" {
                return json!({"result": *combined, "id": id}).to_string();
            }
            match p.and_then(|a| a.get(1)) {
                Some(Value::Bool(b)) => {
                    *combined = *b;
                    json!({"result": null, "id": id}).to_string()
                }
                _ => error_reply(1, "Invalid value type: expected Boolean", &id),
            }
        }
        other => error_reply(
            2,
            &format!(
                "Invalid request: unknown variant `{other}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
            ),
            &id,
        ),
    }
}

fn frame_text(combined: bool, stream: &str, payload: &Utf8Bytes) -> Utf8Bytes {
    if combined {
        let mut s = String::with_capacity(payload.len() + stream.len() + 22);
        s.push_str("{\"stream\":\"");
        s.push_str(stream);
        s.push_str("\",\"data\":");
        s.push_str(payload);
        s.push('}');
        s.into()
    } else {
        payload.clone()
    }
}

fn journal(j: &Option<Journal>, conn: u64, dir: &str, text: &str) {
    if let Some(j) = j {
        j.ws(conn, dir, text);
    }
}

/// Why a connection ended, for the journal and the log.
async fn run(sim: Arc<Sim>, socket: WebSocket, subs: Vec<Sub>, combined: bool, path: String) {
    let id = sim.next_id();
    if let Some(j) = &sim.journal {
        j.write(json!({"type": "ws_open", "conn": id, "path": path}));
    }
    let (tx, rx) = mpsc::channel::<Batch>(64);
    let conn = Arc::new(Conn::new(id, subs, tx));
    sim.hub.register(conn.clone());
    crate::metrics::connection_opened();
    let reason = serve_conn(&sim, &conn, socket, rx, combined).await;
    crate::metrics::connection_closed();
    sim.hub.unregister(id);
    tracing::debug!(conn = id, reason, "websocket closed");
    if let Some(j) = &sim.journal {
        j.write(json!({"type": "ws_close", "conn": id, "reason": reason}));
    }
}

async fn serve_conn(
    sim: &Arc<Sim>,
    conn: &Arc<Conn>,
    socket: WebSocket,
    mut rx: mpsc::Receiver<Batch>,
    mut combined: bool,
) -> &'static str {
    let s = &sim.settings;
    let faults = &sim.hub.ws_faults;
    let (mut sink, mut stream) = socket.split();
    let mut sent: u64 = 0;
    let mut rate = MsgRate::default();
    let far = || Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    let mut next_ping = Instant::now() + s.ping_interval;
    let mut pong_deadline = far();
    let mut ping_seq: u64 = 0;
    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(mut batch) = batch else { return "hub closed" };
                loop {
                    if batch.is_empty() {
                        let _ = sink.send(Message::Close(None)).await;
                        return "listen key closed";
                    }
                    for out in batch {
                        let text = frame_text(combined, &out.stream, &out.payload);
                        journal(&sim.journal, conn.id, "ws_out", &text);
                        if sink.feed(Message::Text(text)).await.is_err() {
                            return "write failed";
                        }
                        sent += 1;
                        let limit = faults.drop_after.load(Ordering::Relaxed);
                        if limit > 0 && sent >= limit {
                            let _ = sink.flush().await;
                            return "fault: ws_drop_after";
                        }
                    }
                    match rx.try_recv() {
                        Ok(b) => batch = b,
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    return "write failed";
                }
            }
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { return "client gone" };
                if !rate.allow(s.ws_msgs_per_sec, sim.now_ms()) {
                    let _ = sink.send(Message::Close(None)).await;
                    return "too many messages";
                }
                match msg {
                    Message::Text(t) => {
                        journal(&sim.journal, conn.id, "ws_in", &t);
                        let reply = {
                            let mut subs = conn.subs();
                            control(&t, &mut subs, &mut combined, |n| resolve(sim, n))
                        };
                        sim.hub.subscriptions_changed();
                        journal(&sim.journal, conn.id, "ws_out", &reply);
                        if sink.send(Message::Text(reply.into())).await.is_err() {
                            return "write failed";
                        }
                    }
                    Message::Pong(_) => {
                        journal(&sim.journal, conn.id, "ws_in", "<pong>");
                        if !faults.ignore_pongs.load(Ordering::Relaxed) {
                            pong_deadline = far();
                        }
                    }
                    Message::Ping(_) => journal(&sim.journal, conn.id, "ws_in", "<ping>"),
                    Message::Close(_) => return "client closed",
                    Message::Binary(_) => {}
                }
            }
            _ = sleep_until(next_ping) => {
                next_ping = Instant::now() + s.ping_interval;
                if !faults.stop_pings.load(Ordering::Relaxed) {
                    ping_seq += 1;
                    journal(&sim.journal, conn.id, "ws_out", "<ping>");
                    if sink.send(Message::Ping(ping_seq.to_string().into_bytes().into())).await.is_err() {
                        return "write failed";
                    }
                    if pong_deadline > Instant::now() + s.pong_timeout {
                        pong_deadline = Instant::now() + s.pong_timeout;
                    }
                }
            }
            _ = sleep_until(pong_deadline) => {
                return "no pong before the deadline";
            }
            _ = conn.kill.notified() => return "killed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(names: &[&str]) -> Result<Vec<Sub>, String> {
        Ok(names
            .iter()
            .map(|n| Sub {
                name: Arc::from(*n),
                target: Target::User { key: n.to_string() },
            })
            .collect())
    }

    #[test]
    fn control_messages() {
        let (mut subs, mut comb) = (Vec::new(), false);
        let r = control(
            r#"{"method":"SUBSCRIBE","params":["a@trade"],"id":1}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert_eq!(r, r#"{"id":1,"result":null}"#);
        let r = control(
            r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert_eq!(r, r#"{"id":3,"result":["a@trade"]}"#);
        let r = control(
            r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert!(r.contains("null") && comb);
        let r = control(
            r#"{"method":"SET_PROPERTY","params":["combined",1],"id":5}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert!(r.contains("expected Boolean"));
        let r = control(
            r#"{"method":"GET_PROPERTY","params":["nope"],"id":2}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert!(r.contains("Unknown property"));
        let r = control(
            r#"{"method":"SUBSCRIBE","params":[],"id":"x"}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert!(r.contains("request ID must be an unsigned integer"));
        let r = control("{", &mut subs, &mut comb, ok);
        assert!(r.contains("\"code\":3"));
        let r = control(
            r#"{"method":"UNSUBSCRIBE","params":["a@trade"],"id":4}"#,
            &mut subs,
            &mut comb,
            ok,
        );
        assert!(r.contains("null") && subs.is_empty());
    }
}
