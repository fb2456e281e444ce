//! Binance's order statuses on the wire (`X` of an executionReport, `status` of an order),
//! mapped to Njord's one [`OrderStatus`].

use crate::event::OrderStatus;

/// Binance's status text; `EXPIRED_IN_MATCH` (self-trade prevention) is an expiry.
pub fn order_status(wire: &str) -> Option<OrderStatus> {
    Some(match wire {
        "PENDING_NEW" => OrderStatus::PendingNew,
        "NEW" => OrderStatus::New,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "PENDING_CANCEL" => OrderStatus::PendingCancel,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_binance_name() {
        // `unknown` is Njord's own word for a lost answer; no venue reports it.
        for s in OrderStatus::ALL
            .into_iter()
            .filter(|s| *s != OrderStatus::Unknown)
        {
            let wire = s.as_str().to_ascii_uppercase();
            assert_eq!(order_status(&wire), Some(s), "{wire}");
        }
        assert_eq!(order_status("EXPIRED_IN_MATCH"), Some(OrderStatus::Expired));
        assert_eq!(order_status("bogus"), None);
    }
}
