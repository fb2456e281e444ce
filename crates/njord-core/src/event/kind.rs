//! The name of an event's kind, as `kind` writes it.

use std::fmt;

/// The name of an event's kind, as written in `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Trade,
    Book,
    Ticker,
    Bar,
    Intent,
    Decision,
    Order,
    Cancel,
    Fill,
    Position,
    Echo,
    Ack,
    OrderUpdate,
    Balance,
    Allocation,
    AllocationRejected,
    ReconcileBreak,
    ExecStatus,
    Regime,
}

impl Kind {
    pub const ALL: [Kind; 19] = [
        Kind::Trade,
        Kind::Book,
        Kind::Ticker,
        Kind::Bar,
        Kind::Intent,
        Kind::Decision,
        Kind::Order,
        Kind::Cancel,
        Kind::Fill,
        Kind::Position,
        Kind::Echo,
        Kind::Ack,
        Kind::OrderUpdate,
        Kind::Balance,
        Kind::Allocation,
        Kind::AllocationRejected,
        Kind::ReconcileBreak,
        Kind::ExecStatus,
        Kind::Regime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Trade => "trade",
            Kind::Book => "book",
            Kind::Ticker => "ticker",
            Kind::Bar => "bar",
            Kind::Intent => "intent",
            Kind::Decision => "decision",
            Kind::Order => "order",
            Kind::Cancel => "cancel",
            Kind::Fill => "fill",
            Kind::Position => "position",
            Kind::Echo => "echo",
            Kind::Ack => "ack",
            Kind::OrderUpdate => "order_update",
            Kind::Balance => "balance",
            Kind::Allocation => "allocation",
            Kind::AllocationRejected => "allocation_rejected",
            Kind::ReconcileBreak => "reconcile_break",
            Kind::ExecStatus => "exec_status",
            Kind::Regime => "regime",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
