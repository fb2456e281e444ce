//! The REST shell: `/api/v3/*` as Binance.US serves it, and the loopback control endpoint
//! `/control/*` (faults, tape stepping). Parameters, weights, authentication and faults are
//! checked here in Binance's order; the venue rules live in the cores.

mod authenticate;
mod control;
mod dispatch;
mod killable;
mod order_params;
mod params;
mod route;
mod weight;

pub use control::apply_fault;
pub use killable::{ConnHandle, KillableListener, KillableStream};

use super::faults::OrderOutcome;
use super::feed::StepCmd;
use super::limits::Verdict;
use super::{ApiError, Sim};
use authenticate::{SigVerdict, authenticate};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use control::control;
use dispatch::dispatch;
use njord::venue::binanceus::errors;
use params::Params;
use route::{Ep, Sec, route};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;
use weight::{banned, too_much_weight, weight, weight_headers};

#[derive(Clone)]
pub struct Ctx {
    sim: Arc<Sim>,
    steps: mpsc::Sender<StepCmd>,
}

pub fn router(sim: Arc<Sim>, steps: mpsc::Sender<StepCmd>) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Ctx { sim, steps })
}

fn response(status: u16, body: String, headers: &[(&'static str, String)]) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    r
}

/// What a handled request answers.
struct Answer {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
    /// Cut the connection instead of answering.
    drop: bool,
}

impl Answer {
    fn ok(v: Value) -> Self {
        Answer {
            status: 200,
            body: v.to_string(),
            headers: Vec::new(),
            drop: false,
        }
    }
    fn err(e: &ApiError) -> Self {
        Answer {
            status: e.status,
            body: e.body(),
            headers: Vec::new(),
            drop: false,
        }
    }
}

async fn handle(
    State(ctx): State<Ctx>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sim = &ctx.sim;
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    if path.starts_with("/control/") {
        return control(&ctx, &method, &path, &query, &body).await;
    }
    let rid = sim.next_id();
    if let Some(j) = &sim.journal {
        j.write(json!({
            "type": "http_request", "id": rid, "method": method.as_str(), "path": path,
            "query": query, "body": body, "api_key_sent": headers.contains_key("x-mbx-apikey"),
        }));
    }
    // The request is handled in its own task: a client that gives up (its timeout) and
    // closes the connection does not cancel it, as a venue executes an order whose sender
    // stopped listening.
    let task = {
        let (sim, path) = (sim.clone(), path.clone());
        tokio::spawn(async move {
            let mut verdict = SigVerdict::NotRequired;
            let answer = answer(&sim, &method, &path, &query, &body, &headers, &mut verdict).await;
            if let Some(j) = &sim.journal {
                j.write(json!({
                    "type": "http_response", "id": rid, "status": answer.status, "body": answer.body,
                    "signature": verdict.as_str(), "dropped": answer.drop,
                    "headers": answer.headers.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                }));
            }
            (answer, method)
        })
    };
    let Ok((answer, method)) = task.await else {
        return response(500, String::new(), &[]);
    };
    if answer.drop {
        conn.kill.store(true, Ordering::Relaxed);
    }
    let known = route(&method, &path).is_some();
    crate::metrics::request(method.as_str(), &path, known, answer.status);
    response(answer.status, answer.body, &answer.headers)
}

/// The answer of an `http_error` fault: Binance's bodies for 429 and 418, an internal error
/// for anything else.
fn fault_answer(status: u16, retry_after_s: Option<u64>, sim: &Sim, now: i64) -> Answer {
    let (e, retry) = match status {
        429 => (
            too_much_weight(sim.settings.limits.weight_per_min),
            Some(60),
        ),
        418 => (banned(now + 120_000), Some(120)),
        _ => (
            ApiError::new(
                status,
                errors::DISCONNECTED,
                "Internal error; unable to process your request. Please try again.",
            ),
            None,
        ),
    };
    let mut a = Answer::err(&e);
    if let Some(r) = retry.map(|r| retry_after_s.unwrap_or(r)) {
        a.headers.push(("retry-after", r.to_string()));
    }
    a
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    sim: &Arc<Sim>,
    method: &Method,
    path: &str,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    verdict: &mut SigVerdict,
) -> Answer {
    let Some((ep, sec)) = route(method, path) else {
        return Answer {
            status: 404,
            body: String::new(),
            headers: Vec::new(),
            drop: false,
        };
    };
    let delay = sim.lock().faults.take_delay(path);
    if let Some(ms) = delay {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let (a, closed) = decide(sim, ep, sec, path, query, body, headers, verdict);
    if let Some(k) = closed {
        sim.hub.close_user(&k, None).await;
    }
    a
}

/// The synchronous part of a request, under the venue lock: faults, weight, auth, dispatch.
/// Returns the answer and, for `DELETE userDataStream`, the listen key whose streams close.
#[allow(clippy::too_many_arguments)]
fn decide(
    sim: &Arc<Sim>,
    ep: Ep,
    sec: Sec,
    path: &str,
    query: &str,
    body: &str,
    headers: &HeaderMap,
    verdict: &mut SigVerdict,
) -> (Answer, Option<String>) {
    let now = sim.now_ms();
    let mut st = sim.lock();
    if let Some(status) = st.faults.outage {
        drop(st);
        return (fault_answer(status, None, sim, now), None);
    }
    if let Some((status, retry_after_s)) = st.faults.take_http(path) {
        drop(st);
        return (fault_answer(status, retry_after_s, sim, now), None);
    }
    let mut params = match Params::parse(query, body) {
        Ok(p) => p,
        Err(e) => {
            let used = st.limits.used_weight(now);
            let mut a = Answer::err(&e);
            a.headers = weight_headers(used);
            return (a, None);
        }
    };
    let w = weight(ep, &params);
    let used = match st.limits.request(w, now) {
        Verdict::Ok { used } => used,
        Verdict::TooMany {
            used,
            retry_after_s,
        } => {
            let mut a = Answer::err(&too_much_weight(st.limits.config().weight_per_min));
            a.headers = weight_headers(used);
            a.headers.push(("retry-after", retry_after_s.to_string()));
            return (a, None);
        }
        Verdict::Banned {
            until_ms,
            retry_after_s,
        } => {
            let mut a = Answer::err(&banned(until_ms));
            a.headers.push(("retry-after", retry_after_s.to_string()));
            return (a, None);
        }
    };
    let mut hdrs = weight_headers(used);
    // An OCO list counts as two orders.
    let orders = match ep {
        Ep::NewOrder => 1,
        Ep::NewOco => 2,
        _ => 0,
    };
    let result =
        authenticate(sim, sec, query, body, headers, &mut params, now, verdict).and_then(|_| {
            if orders > 0 {
                st.limits.check_orders(orders, now)?;
            }
            let v = dispatch(sim, &mut st, ep, &mut params, now)?;
            if orders > 0 {
                st.limits.record_orders(orders, now);
            }
            Ok(v)
        });
    if orders > 0 {
        let (c10, cday) = st.limits.order_counts(now);
        hdrs.push(("x-mbx-order-count-10s", c10.to_string()));
        hdrs.push(("x-mbx-order-count-1d", cday.to_string()));
    }
    let after = if orders > 0 && result.is_ok() {
        st.faults.take_order_then()
    } else {
        None
    };
    // A closed listen key's streams close too, once the lock is released.
    let closed_key = match (ep, &result) {
        (Ep::UdsClose, Ok(_)) => params.peek("listenKey").map(str::to_string),
        _ => None,
    };
    drop(st);
    let mut a = match (result, after) {
        (Ok(_), Some((OrderOutcome::Drop, _))) => Answer {
            drop: true,
            ..Answer::ok(json!({}))
        },
        (Ok(_), Some((OrderOutcome::Status, status))) => Answer::err(&ApiError::new(
            status,
            errors::TIMEOUT,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )),
        (Ok(v), None) => Answer::ok(v),
        (Err(e), _) => Answer::err(&e),
    };
    a.headers = hdrs;
    (a, closed_key)
}
