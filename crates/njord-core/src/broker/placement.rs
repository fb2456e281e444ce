//! One venue order per intent (DESIGN §9.4) and the kill switch before every send (§9.2).
//!
//! [`place_once`] sends an order and reads the kill switch right before every attempt,
//! including each resend after a rate-limit wait, and during such a wait. An answer that was
//! lost is not retried there: the order becomes [`Unresolved`], published as `unknown`, and
//! [`settle`] decides it later by the venue's own word, so one lost answer never blocks the
//! orders behind it. Waits are on the injected clock.

use super::guard::Denial;
use super::venue::Venue;
use super::{BrokerError, BrokerOrderAck, BrokerOrderReq, BrokerOrderUpdate};
use crate::backoff::RetryPolicy;
use crate::clock::Clock;
use std::future::Future;
use std::time::Duration;

/// How often the kill switch is read again while a send waits out a rate limit.
pub const KILL_POLL: Duration = Duration::from_millis(250);

/// Sleeps `wait` on `clock`, reading the kill switch before each slice of [`KILL_POLL`].
async fn wait_allowed<C: Clock>(
    clock: &C,
    wait: Duration,
    allowed: &mut impl FnMut() -> Result<(), Denial>,
) -> Result<(), BrokerError> {
    let end = clock.monotonic() + wait;
    loop {
        allowed().map_err(BrokerError::Halted)?;
        let now = clock.monotonic();
        if now >= end {
            return Ok(());
        }
        clock.sleep((end - now).min(KILL_POLL)).await;
    }
}

/// Makes one send of `cid`, reading `allowed` (the kill switch) before every attempt; a
/// rate limit or ban is waited out, the switch read all along, up to `policy.max_attempts`
/// tries. Any other answer, or a lost one, is the caller's.
async fn send_when_allowed<T, F: Future<Output = Result<T, BrokerError>>, C: Clock>(
    clock: &C,
    policy: RetryPolicy,
    cid: &str,
    allowed: &mut impl FnMut() -> Result<(), Denial>,
    mut send: impl FnMut() -> F,
) -> Result<T, BrokerError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        allowed().map_err(BrokerError::Halted)?;
        match send().await {
            Err(BrokerError::Throttled { endpoint, wait }) if attempt < policy.max_attempts => {
                tracing::warn!(client_order_id = %cid, %endpoint, wait_ms = wait.as_millis() as u64, "not sent: rate limited; waiting, kill switch watched");
                wait_allowed(clock, wait, allowed).await?;
            }
            r => return r,
        }
    }
}

/// Sends `req` once, reading `allowed` (the kill switch) before every attempt. A rate limit
/// or ban is waited out, the switch read all along, up to `policy.max_attempts` tries; a
/// client order id the venue already has is looked up, never sent again. A lost answer is
/// [`BrokerError::Unknown`] at once: the caller follows the order as [`Unresolved`].
pub async fn place_once<V: Venue, C: Clock>(
    venue: &V,
    clock: &C,
    policy: RetryPolicy,
    req: &BrokerOrderReq,
    allowed: &mut impl FnMut() -> Result<(), Denial>,
) -> Result<BrokerOrderAck, BrokerError> {
    let cid = &req.client_order_id;
    match send_when_allowed(clock, policy, cid, allowed, || venue.place(req)).await {
        Err(BrokerError::ClientOrderIdInUse(_)) => {
            tracing::warn!(client_order_id = %cid, "venue says duplicate; looking the order up");
            match venue.lookup(&req.symbol, cid).await? {
                Some(u) => Ok(u.to_ack()),
                None => Err(BrokerError::DuplicateClientOrderId(cid.clone())),
            }
        }
        r => r,
    }
}

/// Sends a one-cancels-other list once, as [`place_once`] sends an order: a leg's client
/// order id the venue already has means the list is there, and both legs are looked up.
pub async fn place_oco_once<V: Venue, C: Clock>(
    venue: &V,
    clock: &C,
    policy: RetryPolicy,
    limit: &BrokerOrderReq,
    stop: &BrokerOrderReq,
    allowed: &mut impl FnMut() -> Result<(), Denial>,
) -> Result<Vec<BrokerOrderAck>, BrokerError> {
    let cid = &limit.client_order_id;
    match send_when_allowed(clock, policy, cid, allowed, || venue.place_oco(limit, stop)).await {
        Err(BrokerError::ClientOrderIdInUse(_)) => {
            tracing::warn!(client_order_id = %cid, "venue says duplicate; looking the list's legs up");
            let mut acks = Vec::new();
            for leg in [limit, stop] {
                match venue.lookup(&leg.symbol, &leg.client_order_id).await? {
                    Some(u) => acks.push(u.to_ack()),
                    None => {
                        return Err(BrokerError::DuplicateClientOrderId(
                            leg.client_order_id.clone(),
                        ));
                    }
                }
            }
            Ok(acks)
        }
        r => r,
    }
}

/// An order sent without an answer: the venue may or may not have it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    pub req: BrokerOrderReq,
    /// Sends so far.
    pub sends: u32,
    /// When the last send went out, on the clock's monotonic time.
    pub sent_at: Duration,
}

/// What [`settle`] found out.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The venue has the order: follow it from this report.
    Found(BrokerOrderUpdate),
    /// Sent again, after the window proved the first send dead, and acknowledged.
    Placed(BrokerOrderAck),
    /// Still open: ask again later.
    Pending,
    /// The kill switch tripped before a resend: never placed.
    Halted(Denial),
    /// Never placed, and not sent again (out of attempts, or refused): why.
    NotPlaced(BrokerError),
}

/// The time after a send when a venue that has not seen the order never will: its
/// `recvWindow` (a request arriving later is refused) and one second of clock error.
pub fn resend_window(recv_window: Duration) -> Duration {
    recv_window + Duration::from_secs(1)
}

/// One reconciliation step of an [`Unresolved`] order: looks it up by client order id, and
/// sends it again only once `window` has passed since the last send without the venue having
/// it (a request that late would be refused by the venue, so two orders cannot both live).
pub async fn settle<V: Venue, C: Clock>(
    venue: &V,
    clock: &C,
    policy: RetryPolicy,
    window: Duration,
    u: &mut Unresolved,
    allowed: &mut impl FnMut() -> Result<(), Denial>,
) -> Settled {
    let cid = &u.req.client_order_id;
    match venue.lookup(&u.req.symbol, cid).await {
        Ok(Some(found)) => return Settled::Found(found),
        Ok(None) if clock.monotonic() >= u.sent_at + window => {}
        Ok(None) => return Settled::Pending,
        Err(e) => {
            tracing::warn!(client_order_id = %cid, "lookup of an unknown order failed: {e}");
            return Settled::Pending;
        }
    }
    if u.sends >= policy.max_attempts {
        return Settled::NotPlaced(BrokerError::Unknown {
            endpoint: "POST /api/v3/order".into(),
            attempts: u.sends,
            last: "the venue never had the order".into(),
        });
    }
    tracing::warn!(client_order_id = %cid, sends = u.sends, "venue has no such order after the window; sending it again");
    u.sends += 1;
    u.sent_at = clock.monotonic();
    match place_once(venue, clock, policy, &u.req, allowed).await {
        Ok(ack) => Settled::Placed(ack),
        Err(BrokerError::Unknown { .. }) => {
            u.sent_at = clock.monotonic();
            Settled::Pending
        }
        Err(BrokerError::Halted(d)) => Settled::Halted(d),
        Err(e) => Settled::NotPlaced(e),
    }
}
