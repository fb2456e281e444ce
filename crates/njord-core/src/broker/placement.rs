//! One venue order per intent (DESIGN §9.4): an order whose answer was lost is looked up by
//! its client order id before it is sent again, and a client order id the venue already has
//! is looked up, never sent again. Waits between tries are on the injected clock.

use super::venue::Venue;
use super::{BrokerError, BrokerOrderAck, BrokerOrderReq};
use crate::backoff::RetryPolicy;
use crate::clock::Clock;

/// Places `req` at most once at the venue, trying again only after a lookup found nothing,
/// and at most `policy.max_attempts` times. An outcome still unknown after the last try is
/// [`BrokerError::Unknown`]: the caller keeps following the order by its client id.
pub async fn place_once<V: Venue, C: Clock>(
    venue: &V,
    clock: &C,
    policy: RetryPolicy,
    req: &BrokerOrderReq,
) -> Result<BrokerOrderAck, BrokerError> {
    let cid = &req.client_order_id;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let (endpoint, unknown) = match venue.place(req).await {
            Ok(ack) => return Ok(ack),
            Err(BrokerError::ClientOrderIdInUse(_)) => {
                tracing::warn!(client_order_id = %cid, "venue says duplicate; looking the order up");
                return match venue.lookup(&req.symbol, cid).await? {
                    Some(u) => Ok(u.to_ack()),
                    None => Err(BrokerError::DuplicateClientOrderId(cid.clone())),
                };
            }
            Err(BrokerError::Unknown { endpoint, last, .. }) => (endpoint, last),
            Err(e) => return Err(e),
        };
        tracing::warn!(client_order_id = %cid, attempt, reason = %unknown, "order outcome unknown; looking it up before any resend");
        if let Some(d) = policy.delay(attempt, None) {
            clock.sleep(d).await;
        }
        match venue.lookup(&req.symbol, cid).await {
            Ok(Some(u)) => return Ok(u.to_ack()),
            Ok(None) if attempt < policy.max_attempts => {
                tracing::warn!(client_order_id = %cid, "venue has no such order; sending it again");
            }
            Ok(None) => {
                return Err(BrokerError::Unknown {
                    endpoint,
                    attempts: attempt,
                    last: unknown,
                });
            }
            Err(e) => {
                return Err(BrokerError::Unknown {
                    endpoint,
                    attempts: attempt,
                    last: format!("{unknown}; lookup failed too: {e}"),
                });
            }
        }
    }
}
