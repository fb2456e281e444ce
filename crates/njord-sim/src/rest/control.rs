//! The loopback control endpoint `/control/*`: faults and tape stepping.

use super::{Ctx, response};
use crate::faults::{Effect, FaultSpec};
use crate::feed::StepCmd;
use crate::{Sim, Speed};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::oneshot;

fn control_answer(status: u16, v: Value) -> Response {
    response(status, v.to_string(), &[])
}

/// `POST /control/fault` (a [`FaultSpec`] as JSON), `POST /control/clear`,
/// `POST /control/step` (`{"trades":N}`, with `--speed step`).
pub(super) async fn control(
    ctx: &Ctx,
    method: &Method,
    path: &str,
    query: &str,
    body: &str,
) -> Response {
    let sim = &ctx.sim;
    if let Some(j) = &sim.journal {
        j.write(json!({"type": "control", "path": path, "query": query, "body": body}));
    }
    if method != Method::POST {
        return control_answer(405, json!({"error": "use POST"}));
    }
    match path {
        "/control/fault" => {
            let spec: FaultSpec = match serde_json::from_str(body) {
                Ok(s) => s,
                Err(e) => return control_answer(400, json!({"error": format!("bad fault: {e}")})),
            };
            apply_fault(sim, spec).await;
            control_answer(200, json!({"ok": true}))
        }
        "/control/clear" => {
            sim.lock().faults.clear(&sim.hub.ws_faults);
            sim.set_skew(sim.settings.initial_skew_ms);
            control_answer(200, json!({"ok": true}))
        }
        "/control/step" => {
            if sim.settings.speed != Speed::Step {
                return control_answer(
                    409,
                    json!({"error": "the tape only steps with --speed step"}),
                );
            }
            let n = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("trades").and_then(Value::as_u64))
                .unwrap_or(1);
            let (tx, rx) = oneshot::channel();
            if ctx.steps.send(StepCmd { n, reply: tx }).await.is_err() {
                return control_answer(500, json!({"error": "the player has stopped"}));
            }
            match rx.await {
                Ok(played) => control_answer(200, json!({"played": played})),
                Err(_) => control_answer(500, json!({"error": "the player has stopped"})),
            }
        }
        _ => control_answer(
            404,
            json!({"error": "unknown control endpoint; use /control/fault, /control/clear or /control/step"}),
        ),
    }
}

/// Applies a fault from a scenario file or the control endpoint.
pub async fn apply_fault(sim: &Arc<Sim>, spec: FaultSpec) {
    let effect = sim.lock().faults.apply(spec, &sim.hub.ws_faults);
    match effect {
        Effect::None => {}
        Effect::SetSkew(ms) => sim.set_skew(ms),
        Effect::DropConnections => sim.hub.drop_all(),
        Effect::ExpireListenKeys => {
            let now = sim.now_ms();
            let keys = sim.lock().keys.expire(now, true);
            for k in keys {
                sim.hub.expire_listen_key(&k, now).await;
            }
        }
    }
}
