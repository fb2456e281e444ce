use super::*;
use crate::backoff::RetryPolicy;
use crate::broker::guard::Denial;
use crate::broker::placement::{Settled, Unresolved, place_once, settle};
use crate::clock::{Clock, ManualClock};
use crate::event::OrderType;
use crate::venue::binanceus::rest_client::RestSettings;
use crate::venue::binanceus::user_stream::StreamSettings;
use crate::venue::binanceus::venue::BinanceUs;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Replies = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback HTTP server answering `METHOD PATH` from canned replies (first match is
/// used once; the last one for a route repeats) and recording every request line.
async fn mock(replies: Vec<(&str, u16, &str)>) -> (String, Replies) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Replies = Arc::default();
    let log = seen.clone();
    let mut replies: Vec<(String, u16, String)> = replies
        .into_iter()
        .map(|(r, s, b)| (r.to_string(), s, b.to_string()))
        .collect();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let line = head.lines().next().unwrap_or("").to_string();
            let mut parts = line.split(' ');
            let (m, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let path = target.split('?').next().unwrap_or("");
            let route = format!("{m} {path}");
            log.lock()
                .unwrap()
                .push((route.clone(), target.to_string()));
            let i = replies.iter().position(|(r, _, _)| *r == route);
            let (status, body) = match i {
                Some(i) if replies.iter().filter(|(r, _, _)| *r == route).count() > 1 => {
                    let (_, s, b) = replies.remove(i);
                    (s, b)
                }
                Some(i) => (replies[i].1, replies[i].2.clone()),
                None => (404, String::new()),
            };
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (base, seen)
}

fn client(base: &str) -> RestClient {
    let settings = RestSettings {
        base_url: base.to_string(),
        recv_window_ms: 5000,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
        },
        timeout: Duration::from_secs(5),
        weight_slowdown_pct: 90,
        symbols: vec!["ATOM/USDT".into()],
    };
    RestClient::new(settings, Some(("k", "s")), false).unwrap()
}

fn venue(c: &RestClient) -> BinanceUs {
    BinanceUs {
        rest: c.clone(),
        stream: StreamSettings {
            ws_url: String::new(),
            keepalive: Duration::from_secs(60),
            reconnect_base: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(1),
        },
    }
}

fn clear() -> Result<(), Denial> {
    Ok(())
}

/// Places as the broker does, once per client order id, over this client (the retry
/// delays pass on a manual clock).
async fn place_as_the_broker(
    c: &RestClient,
    req: &BrokerOrderReq,
) -> Result<BrokerOrderAck, BrokerError> {
    let clock = ManualClock::starting_at(0);
    place_once(&venue(c), &clock, c.settings.retry, req, &mut clear).await
}

fn req() -> BrokerOrderReq {
    BrokerOrderReq {
        intent_id: "i-1".into(),
        client_order_id: "i-1".into(),
        symbol: "ATOM/USDT".into(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: Decimal::from_str("1").unwrap(),
        limit_price: Some(Decimal::from_str("5").unwrap()),
        stop_price: None,
        time_in_force: crate::event::TimeInForce::Gtc,
        post_only: false,
        iceberg_qty: None,
    }
}

const INFO: &str = r#"{"symbols":[{"symbol":"ATOMUSDT","filters":[{"filterType":"LOT_SIZE","minQty":"0.01","maxQty":"1000","stepSize":"0.01"}]}]}"#;
const FOUND: &str = r#"{"symbol":"ATOMUSDT","orderId":42,"clientOrderId":"i-1","status":"NEW","side":"BUY","origQty":"1","executedQty":"0","cummulativeQuoteQty":"0","time":1}"#;
const NOT_FOUND: &str = r#"{"code":-2013,"msg":"Order does not exist."}"#;

fn routes(seen: &Replies) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(r, _)| r.clone())
        .collect()
}

#[tokio::test]
async fn duplicate_not_found_is_an_error_and_other_2010s_are_plain_rejections() {
    let dup = r#"{"code":-2010,"msg":"Duplicate order sent."}"#;
    let (base, seen) = mock(vec![
        ("GET /api/v3/exchangeInfo", 200, INFO),
        ("POST /api/v3/order", 400, dup),
        ("GET /api/v3/order", 400, NOT_FOUND),
    ])
    .await;
    let c = client(&base);
    c.load_exchange_info().await.unwrap();
    assert_eq!(
        place_as_the_broker(&c, &req()).await,
        Err(BrokerError::DuplicateClientOrderId("i-1".into()))
    );
    assert_eq!(
        routes(&seen),
        [
            "GET /api/v3/exchangeInfo",
            "POST /api/v3/order",
            "GET /api/v3/order"
        ]
    );

    let other = r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#;
    let (base, seen) = mock(vec![
        ("GET /api/v3/exchangeInfo", 200, INFO),
        ("POST /api/v3/order", 400, other),
    ])
    .await;
    let c = client(&base);
    c.load_exchange_info().await.unwrap();
    let e = place_as_the_broker(&c, &req()).await.unwrap_err();
    assert!(matches!(e, BrokerError::Venue { code: -2010, .. }), "{e}");
    assert_eq!(routes(&seen).len(), 2, "no lookup, no resend");
}

#[tokio::test]
async fn unknown_outcome_is_looked_up_and_resent_only_after_the_window() {
    // 503 twice. The send returns at once as unknown; a lookup inside the window finds
    // nothing and waits; after the window the order is sent again; the next lookup finds it.
    let (base, seen) = mock(vec![
        ("GET /api/v3/exchangeInfo", 200, INFO),
        ("POST /api/v3/order", 503, "{}"),
        ("POST /api/v3/order", 503, "{}"),
        ("GET /api/v3/order", 400, NOT_FOUND),
        ("GET /api/v3/order", 400, NOT_FOUND),
        ("GET /api/v3/order", 200, FOUND),
    ])
    .await;
    let c = client(&base);
    c.load_exchange_info().await.unwrap();
    let (venue, clock, policy) = (venue(&c), ManualClock::starting_at(0), c.settings.retry);
    let e = place_once(&venue, &clock, policy, &req(), &mut clear).await;
    assert!(matches!(e, Err(BrokerError::Unknown { .. })), "{e:?}");
    let window = Duration::from_secs(6);
    let mut u = Unresolved {
        req: req(),
        sends: 1,
        sent_at: clock.monotonic(),
    };
    let step = settle(&venue, &clock, policy, window, &mut u, &mut clear).await;
    assert_eq!(step, Settled::Pending, "inside the window: no resend");
    clock.advance(window);
    let step = settle(&venue, &clock, policy, window, &mut u, &mut clear).await;
    assert_eq!(step, Settled::Pending, "resent, answer lost again");
    assert_eq!(u.sends, 2);
    let step = settle(&venue, &clock, policy, window, &mut u, &mut clear).await;
    assert!(matches!(step, Settled::Found(f) if f.exchange_order_id == "42"));
    assert_eq!(
        routes(&seen),
        [
            "GET /api/v3/exchangeInfo",
            "POST /api/v3/order",
            "GET /api/v3/order",
            "GET /api/v3/order",
            "POST /api/v3/order",
            "GET /api/v3/order"
        ]
    );
    let signed = seen.lock().unwrap()[1].1.clone();
    assert!(signed.contains("newClientOrderId=i-1") && signed.contains("&signature="));
}

#[tokio::test]
async fn a_trip_during_a_rate_limit_wait_drops_the_send() {
    let (base, seen) = mock(vec![
        ("GET /api/v3/exchangeInfo", 200, INFO),
        ("POST /api/v3/order", 429, "{}"),
    ])
    .await;
    let c = client(&base);
    c.load_exchange_info().await.unwrap();
    let clock = ManualClock::starting_at(0);
    let mut reads = 0;
    let mut kill = || {
        reads += 1;
        if reads == 1 {
            Ok(())
        } else {
            Err(Denial {
                reason: crate::reason::Reason::Halted,
                caps: Default::default(),
            })
        }
    };
    let e = place_once(&venue(&c), &clock, c.settings.retry, &req(), &mut kill).await;
    assert!(matches!(e, Err(BrokerError::Halted(_))), "{e:?}");
    assert_eq!(
        routes(&seen),
        ["GET /api/v3/exchangeInfo", "POST /api/v3/order"],
        "read before the first send, then during the wait: never sent again"
    );
}

#[tokio::test]
async fn read_only_sends_nothing() {
    let (base, seen) = mock(vec![]).await;
    let settings = client(&base).settings.as_ref().clone();
    let c = RestClient::new(settings, Some(("k", "s")), true).unwrap();
    assert_eq!(c.place(&req()).await, Err(BrokerError::ReadOnly("place")));
    assert_eq!(
        c.cancel("ATOM/USDT", "i-1").await,
        Err(BrokerError::ReadOnly("cancel"))
    );
    assert!(seen.lock().unwrap().is_empty());
}
