//! The status in `order_update` events: one spelling for paper and broker alike. A venue's
//! own spellings (Binance's `PARTIALLY_FILLED`, …) are mapped in that venue's code.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Sent, not yet acknowledged.
    #[serde(alias = "PENDING_NEW")]
    PendingNew,
    #[serde(alias = "NEW")]
    New,
    #[serde(alias = "PARTIALLY_FILLED")]
    PartiallyFilled,
    #[serde(alias = "PENDING_CANCEL")]
    PendingCancel,
    #[serde(alias = "FILLED")]
    Filled,
    #[serde(alias = "CANCELED")]
    Canceled,
    #[serde(alias = "REJECTED")]
    Rejected,
    #[serde(alias = "EXPIRED")]
    Expired,
    /// Sent, but the answer was lost (timeout, 5xx, failed lookup): the venue may or may not
    /// have the order. Reconciliation settles it by the venue's own word; never terminal.
    #[serde(alias = "UNKNOWN")]
    Unknown,
}

impl OrderStatus {
    /// Every status, in the order of the broker's transition table.
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::PendingNew,
        OrderStatus::New,
        OrderStatus::PartiallyFilled,
        OrderStatus::PendingCancel,
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
        OrderStatus::Unknown,
    ];

    /// The status as written in events. (The upper-case spellings that njord-broker wrote
    /// before statuses were unified are still read, so old journals replay.)
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingNew => "pending_new",
            OrderStatus::New => "new",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::PendingCancel => "pending_cancel",
            OrderStatus::Filled => "filled",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
            OrderStatus::Unknown => "unknown",
        }
    }

    /// Whether the order is done: nothing can happen to it any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_str_and_read_in_both_spellings() {
        for s in OrderStatus::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), s);
            let old = format!("\"{}\"", s.as_str().to_ascii_uppercase());
            assert_eq!(serde_json::from_str::<OrderStatus>(&old).unwrap(), s);
        }
    }
}
