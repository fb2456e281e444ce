//! The venue order state machine, as one table (NautilusTrader style).
//!
//! Reports arrive from the user stream, REST polls and order answers, possibly late, twice or
//! out of order. [`on_report`] decides each one from the table: apply it, ignore
//! it (stale or repeated), or flag it as impossible. No status leaves a terminal state, so a
//! filled order is never reported as canceled (the Python version did exactly that).

pub use crate::event::OrderStatus;

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

use Step::{Apply as A, Ignore as I, Invalid as X};

/// `TABLE[from][to]`, rows and columns in the declaration order of [`OrderStatus`] (that of
/// [`OrderStatus::ALL`]), so a status is its own index. A report of the current
/// status again is `Apply` only for PARTIALLY_FILLED (more fills); the caller still drops it
/// when the filled quantity did not grow.
#[rustfmt::skip]
const TABLE: [[Step; 9]; 9] = [
    //              PendNew New PartF PendC Fill Canc Rej Exp Unkn
    /* PendingNew */ [I,    A,  A,    A,    A,   A,   A,  A,  A],
    /* New        */ [I,    I,  A,    A,    A,   A,   X,  A,  I],
    /* PartFilled */ [I,    I,  A,    A,    A,   A,   X,  A,  I],
    /* PendCancel */ [I,    I,  A,    I,    A,   A,   X,  A,  I],
    /* Filled     */ [I,    I,  I,    I,    I,   I,   I,  I,  I],
    /* Canceled   */ [I,    I,  I,    I,    I,   I,   I,  I,  I],
    /* Rejected   */ [I,    I,  I,    I,    I,   I,   I,  I,  I],
    /* Expired    */ [I,    I,  I,    I,    I,   I,   I,  I,  I],
    /* Unknown    */ [I,    A,  A,    A,    A,   A,   A,  A,  I],
];

/// The table's verdict on a report of `to` while the order is in `from`.
pub fn on_report(from: OrderStatus, to: OrderStatus) -> Step {
    TABLE[from as usize][to as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    const ALL: [OrderStatus; 9] = OrderStatus::ALL;

    #[test]
    fn statuses_index_the_table_in_declaration_order() {
        for (i, s) in ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i, "{s:?}");
        }
    }

    #[test]
    fn terminal_states_have_no_exit() {
        for from in ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in ALL {
                assert_eq!(on_report(from, to), Step::Ignore, "{from:?} -> {to:?}");
            }
        }
        assert_eq!(on_report(Filled, Canceled), Step::Ignore);
    }

    #[test]
    fn an_unknown_outcome_is_settled_by_the_venue_word() {
        assert_eq!(on_report(PendingNew, Unknown), Step::Apply);
        for to in ALL
            .into_iter()
            .filter(|s| !matches!(s, PendingNew | Unknown))
        {
            assert_eq!(on_report(Unknown, to), Step::Apply, "{to:?}");
        }
        // Once the venue has spoken, a late "unknown" of our own changes nothing.
        assert_eq!(on_report(New, Unknown), Step::Ignore);
        assert_eq!(on_report(Filled, Unknown), Step::Ignore);
    }

    #[test]
    fn live_orders_move_forward_only() {
        assert_eq!(on_report(PendingNew, New), Step::Apply);
        assert_eq!(on_report(New, PartiallyFilled), Step::Apply);
        assert_eq!(on_report(PartiallyFilled, PartiallyFilled), Step::Apply);
        assert_eq!(on_report(PartiallyFilled, New), Step::Ignore, "a late NEW");
        assert_eq!(on_report(New, New), Step::Ignore, "a repeat");
        assert_eq!(on_report(PartiallyFilled, Rejected), Step::Invalid);
        for to in ALL.into_iter().filter(|s| s.is_terminal()) {
            assert_ne!(on_report(New, to), Step::Ignore);
        }
    }
}
