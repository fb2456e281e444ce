//! The user data stream: listenKey, WebSocket, `executionReport` and
//! `outboundAccountPosition`.
//!
//! [`parse_user_event`] is pure. [`run`] is the shell: it creates a listen key, connects,
//! keeps the key alive, re-creates it on `-1125` or `listenKeyExpired`, reconnects with
//! backoff, and tells the service after every (re)connect so it reconciles over REST. The
//! service reads it as a [`Subscription`].

use super::errors;
use super::rest_client::RestClient;
use super::status;
use crate::backoff::Backoff;
use crate::broker::reconcile::VenueFill;
use crate::broker::{
    AssetBalance, BalanceSnapshot, BrokerError, BrokerOrderUpdate, StreamMsg, UserStream,
};
use crate::event::Side;
use crate::num::parse_decimal;
use futures_util::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// What one user-stream payload says.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Order(BrokerOrderUpdate),
    Fill(VenueFill),
    Balances(BalanceSnapshot),
    /// The listen key expired: the stream is over, a new key is needed.
    ListenKeyExpired,
}

/// The running stream task and what it sends.
pub struct Subscription {
    messages: UnboundedReceiver<StreamMsg>,
    task: JoinHandle<()>,
}

impl Subscription {
    /// Starts [`run`] on the current tokio runtime.
    pub fn start(client: RestClient, settings: StreamSettings) -> Subscription {
        let (tx, messages) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, settings, tx));
        Subscription { messages, task }
    }
}

impl UserStream for Subscription {
    fn try_next(&mut self) -> Option<StreamMsg> {
        self.messages.try_recv().ok()
    }

    fn close(&mut self) {
        self.task.abort();
    }
}

fn dec(v: &Value, k: &str) -> Decimal {
    v.get(k)
        .and_then(Value::as_str)
        .and_then(|s| parse_decimal(s).ok())
        .unwrap_or_default()
}

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn ms(v: &Value, k: &str) -> i64 {
    v.get(k)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .saturating_mul(1_000_000)
}

/// Parses one payload (plain or wrapped as `{"stream":…,"data":…}`). Unknown events give
/// nothing; a malformed report gives nothing rather than a guess.
pub fn parse_user_event(payload: &str, pair_of: impl Fn(&str) -> String) -> Vec<UserEvent> {
    let Ok(v) = serde_json::from_str::<Value>(payload) else {
        return Vec::new();
    };
    let v = v.get("data").cloned().unwrap_or(v);
    match v.get("e").and_then(Value::as_str) {
        Some("executionReport") => {
            let Some(status) = v
                .get("X")
                .and_then(Value::as_str)
                .and_then(status::order_status)
            else {
                return Vec::new();
            };
            let symbol = pair_of(&text(&v, "s"));
            let side = if text(&v, "S") == "SELL" {
                Side::Sell
            } else {
                Side::Buy
            };
            // A cancel report carries the cancel request's id in `c` and the order's in `C`.
            let orig = text(&v, "C");
            let client_order_id = if orig.is_empty() { text(&v, "c") } else { orig };
            let exchange_order_id = text(&v, "i");
            let ts = ms(&v, "T").max(ms(&v, "E"));
            let mut out = vec![UserEvent::Order(BrokerOrderUpdate {
                symbol: symbol.clone(),
                exchange_order_id: exchange_order_id.clone(),
                client_order_id,
                side,
                status,
                orig_qty: dec(&v, "q"),
                filled_qty: dec(&v, "z"),
                cum_quote: dec(&v, "Z"),
                ts_ns: ts,
            })];
            let trade_id = v.get("t").and_then(Value::as_i64).unwrap_or(-1);
            if text(&v, "x") == "TRADE" && trade_id >= 0 {
                out.push(UserEvent::Fill(VenueFill {
                    symbol,
                    exchange_order_id,
                    trade_id: trade_id as u64,
                    side,
                    qty: dec(&v, "l"),
                    price: dec(&v, "L"),
                    fee: dec(&v, "n"),
                    fee_asset: text(&v, "N"),
                    maker: v.get("m").and_then(Value::as_bool).unwrap_or(false),
                    ts_ns: ts,
                }));
            }
            out
        }
        Some("outboundAccountPosition") => {
            let balances = v
                .get("B")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|b| AssetBalance {
                    asset: text(b, "a"),
                    free: dec(b, "f"),
                    locked: dec(b, "l"),
                })
                .collect();
            vec![UserEvent::Balances(BalanceSnapshot {
                balances,
                ts_ns: ms(&v, "E"),
            })]
        }
        Some("listenKeyExpired") => vec![UserEvent::ListenKeyExpired],
        _ => Vec::new(),
    }
}

/// Settings of the stream task.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub ws_url: String,
    pub keepalive: Duration,
    pub reconnect_base: Duration,
    pub reconnect_max: Duration,
}

/// Runs the user stream until the receiver is gone. Never returns an error: every failure
/// is reported as [`StreamMsg::Down`] and followed by a reconnect with backoff.
pub async fn run(client: RestClient, settings: StreamSettings, tx: UnboundedSender<StreamMsg>) {
    let mut backoff = Backoff::new(settings.reconnect_base, settings.reconnect_max);
    let mut connected_before = false;
    loop {
        let reason =
            match session(&client, &settings, &tx, &mut connected_before, &mut backoff).await {
                Ok(reason) => reason,
                Err(e) => e.to_string(),
            };
        if tx.send(StreamMsg::Down(reason)).is_err() {
            return;
        }
        tokio::time::sleep(backoff.next_delay(rand::random())).await;
    }
}

/// One listen key's life. Returns why it ended.
async fn session(
    client: &RestClient,
    settings: &StreamSettings,
    tx: &UnboundedSender<StreamMsg>,
    connected_before: &mut bool,
    backoff: &mut Backoff,
) -> Result<String, BrokerError> {
    let key = client.create_listen_key().await?;
    crate::telemetry::session().listen_key_renewed(crate::stage::wall_clock_ns());
    let url = format!("{}/ws/{key}", settings.ws_url.trim_end_matches('/'));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|e| BrokerError::Transport {
            endpoint: "user data stream".into(),
            msg: e.to_string().replace(&key, "<listenKey>"),
        })?;
    backoff.reset();
    let reconnect = std::mem::replace(connected_before, true);
    tracing::info!(reconnect, "user data stream connected");
    if tx.send(StreamMsg::Connected { reconnect }).is_err() {
        return Ok("service gone".into());
    }
    let mut keepalive = tokio::time::interval(settings.keepalive);
    keepalive.tick().await;
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    for ev in parse_user_event(t.as_str(), |s| client.pair_of(s)) {
                        let msg = match ev {
                            UserEvent::Order(u) => StreamMsg::Order(u),
                            UserEvent::Fill(f) => StreamMsg::Fill(f),
                            UserEvent::Balances(b) => StreamMsg::Balances(b),
                            UserEvent::ListenKeyExpired => {
                                let _ = ws.close(None).await;
                                return Ok("listen key expired".into());
                            }
                        };
                        if tx.send(msg).is_err() {
                            return Ok("service gone".into());
                        }
                    }
                }
                Some(Ok(Message::Ping(p))) => {
                    ws.send(Message::Pong(p)).await.map_err(|e| BrokerError::Transport {
                        endpoint: "user data stream".into(),
                        msg: e.to_string(),
                    })?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok("stream closed by the venue".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ok(format!("stream error: {e}")),
            },
            _ = keepalive.tick() => match client.keepalive_listen_key(&key).await {
                Ok(()) => {
                    crate::telemetry::session().listen_key_renewed(crate::stage::wall_clock_ns());
                    tracing::debug!("listen key kept alive")
                }
                Err(BrokerError::Venue {
                    code: errors::INVALID_LISTEN_KEY,
                    ..
                }) => {
                    let _ = ws.close(None).await;
                    return Ok("listen key unknown to the venue (-1125)".into());
                }
                Err(e) => tracing::warn!(error = %e, "listen key keepalive failed"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::OrderStatus;
    use std::str::FromStr;

    fn pair(s: &str) -> String {
        if s == "ATOMUSDT" {
            "ATOM/USDT".into()
        } else {
            s.into()
        }
    }

    #[test]
    fn trade_report_gives_update_and_fill_with_its_own_fee_fields() {
        let r = r#"{"e":"executionReport","E":1700000000123,"s":"ATOMUSDT","c":"i1","S":"BUY","o":"LIMIT","q":"2.00000000","p":"5.00000000","C":"","x":"TRADE","X":"PARTIALLY_FILLED","i":77,"l":"0.50000000","z":"0.50000000","L":"4.99000000","n":"0.00050000","N":"ATOM","T":1700000000120,"t":901,"m":true,"Z":"2.49500000"}"#;
        let evs = parse_user_event(r, pair);
        let UserEvent::Order(u) = &evs[0] else {
            panic!()
        };
        assert_eq!(
            (
                u.symbol.as_str(),
                u.client_order_id.as_str(),
                u.exchange_order_id.as_str()
            ),
            ("ATOM/USDT", "i1", "77")
        );
        assert_eq!(
            (u.status, u.filled_qty),
            (
                OrderStatus::PartiallyFilled,
                Decimal::from_str("0.5").unwrap()
            )
        );
        let UserEvent::Fill(f) = &evs[1] else {
            panic!()
        };
        assert_eq!(
            (f.trade_id, f.fee_asset.as_str(), f.maker),
            (901, "ATOM", true)
        );
        assert_eq!(f.price, Decimal::from_str("4.99").unwrap());
        assert_eq!(f.ts_ns, 1_700_000_000_123_000_000);
    }

    #[test]
    fn cancel_report_is_matched_by_original_client_id() {
        let r = r#"{"e":"executionReport","E":5,"s":"ATOMUSDT","c":"cancel-xyz","C":"i1","S":"SELL","x":"CANCELED","X":"CANCELED","i":77,"q":"1","z":"0","Z":"0","l":"0","L":"0","n":"0","N":null,"t":-1,"m":false}"#;
        let evs = parse_user_event(r, pair);
        assert_eq!(evs.len(), 1);
        let UserEvent::Order(u) = &evs[0] else {
            panic!()
        };
        assert_eq!(
            (u.client_order_id.as_str(), u.status),
            ("i1", OrderStatus::Canceled)
        );
    }

    #[test]
    fn balances_expiry_and_junk() {
        let b = r#"{"e":"outboundAccountPosition","E":9,"u":9,"B":[{"a":"USDT","f":"95.5","l":"4.5"}]}"#;
        let UserEvent::Balances(s) = &parse_user_event(b, pair)[0] else {
            panic!()
        };
        assert_eq!(s.balances[0].locked, Decimal::from_str("4.5").unwrap());
        assert_eq!(
            parse_user_event(r#"{"e":"listenKeyExpired","E":1,"listenKey":"k"}"#, pair),
            vec![UserEvent::ListenKeyExpired]
        );
        assert!(parse_user_event("not json", pair).is_empty());
        assert!(parse_user_event(r#"{"e":"executionReport","X":"WHAT"}"#, pair).is_empty());
    }
}
