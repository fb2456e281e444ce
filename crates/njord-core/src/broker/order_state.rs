//! The venue order state machine, as one table (NautilusTrader style).
//!
//! Reports arrive from the user stream, REST polls and order answers, possibly late, twice or
//! out of order. [`OrderStatus::on_report`] decides each one from the table: apply it, ignore
//! it (stale or repeated), or flag it as impossible. No status leaves a terminal state, so a
//! filled order is never reported as canceled (the Python version did exactly that).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Sent, not yet acknowledged.
    PendingNew,
    New,
    PartiallyFilled,
    PendingCancel,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

/// What to do with a report of `to` while the order is in `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A real change: take it and report it.
    Apply,
    /// Stale or repeated: keep the current state, report nothing.
    Ignore,
    /// Not a transition any venue makes: keep the current state and log it.
    Invalid,
}

use OrderStatus::*;
use Step::{Apply as A, Ignore as I, Invalid as X};

const ALL: [OrderStatus; 8] = [
    PendingNew,
    New,
    PartiallyFilled,
    PendingCancel,
    Filled,
    Canceled,
    Rejected,
    Expired,
];

/// `TABLE[from][to]`, rows and columns in the order of [`ALL`]. A report of the current
/// status again is `Apply` only for PARTIALLY_FILLED (more fills); the caller still drops it
/// when the filled quantity did not grow.
#[rustfmt::skip]
const TABLE: [[Step; 8]; 8] = [
    //              PendNew New PartF PendC Fill Canc Rej Exp
    /* PendingNew */ [I,    A,  A,    A,    A,   A,   A,  A],
    /* New        */ [I,    I,  A,    A,    A,   A,   X,  A],
    /* PartFilled */ [I,    I,  A,    A,    A,   A,   X,  A],
    /* PendCancel */ [I,    I,  A,    I,    A,   A,   X,  A],
    /* Filled     */ [I,    I,  I,    I,    I,   I,   I,  I],
    /* Canceled   */ [I,    I,  I,    I,    I,   I,   I,  I],
    /* Rejected   */ [I,    I,  I,    I,    I,   I,   I,  I],
    /* Expired    */ [I,    I,  I,    I,    I,   I,   I,  I],
];

impl OrderStatus {
    fn index(self) -> usize {
        ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// Whether the order is done: nothing can happen to it any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Filled | Canceled | Rejected | Expired)
    }

    /// The table's verdict on a report of `to`.
    pub fn on_report(self, to: OrderStatus) -> Step {
        TABLE[self.index()][to.index()]
    }

    /// Binance's status text (`EXPIRED_IN_MATCH` is an expiry).
    pub fn from_venue(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "NEW" => New,
            "PARTIALLY_FILLED" => PartiallyFilled,
            "PENDING_CANCEL" => PendingCancel,
            "FILLED" => Filled,
            "CANCELED" => Canceled,
            "REJECTED" => Rejected,
            "EXPIRED" | "EXPIRED_IN_MATCH" => Expired,
            "PENDING_NEW" => PendingNew,
            _ => return None,
        })
    }

    /// The status as written in `order_update` events (Binance's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            PendingNew => "PENDING_NEW",
            New => "NEW",
            PartiallyFilled => "PARTIALLY_FILLED",
            PendingCancel => "PENDING_CANCEL",
            Filled => "FILLED",
            Canceled => "CANCELED",
            Rejected => "REJECTED",
            Expired => "EXPIRED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_exit() {
        for from in ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in ALL {
                assert_eq!(from.on_report(to), Step::Ignore, "{from:?} -> {to:?}");
            }
        }
        assert_eq!(Filled.on_report(Canceled), Step::Ignore);
    }

    #[test]
    fn live_orders_move_forward_only() {
        assert_eq!(PendingNew.on_report(New), Step::Apply);
        assert_eq!(New.on_report(PartiallyFilled), Step::Apply);
        assert_eq!(PartiallyFilled.on_report(PartiallyFilled), Step::Apply);
        assert_eq!(PartiallyFilled.on_report(New), Step::Ignore, "a late NEW");
        assert_eq!(New.on_report(New), Step::Ignore, "a repeat");
        assert_eq!(PartiallyFilled.on_report(Rejected), Step::Invalid);
        for to in ALL.into_iter().filter(|s| s.is_terminal()) {
            assert_ne!(New.on_report(to), Step::Ignore);
        }
    }

    #[test]
    fn venue_names_round_trip() {
        for s in ALL {
            assert_eq!(OrderStatus::from_venue(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::from_venue("EXPIRED_IN_MATCH"), Some(Expired));
        assert_eq!(OrderStatus::from_venue("bogus"), None);
    }
}
