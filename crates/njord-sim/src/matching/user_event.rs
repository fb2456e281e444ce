//! What the user data stream reports: execution reports and account updates.

use super::{Balance, Exchange, ExecType, Fill, Order, OrderList};

/// What the user data stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Execution {
        order: Box<Order>,
        exec: ExecType,
        last: Option<Fill>,
        time: i64,
    },
    Account {
        time: i64,
        balances: Vec<(String, Balance)>,
    },
    /// A one-cancels-other list changed (`listStatus`).
    List {
        list: OrderList,
        legs: Vec<Order>,
        /// At most one leg is left: the list has done its work (`ALL_DONE`).
        done: bool,
        time: i64,
    },
}

impl Exchange {
    pub(super) fn report(&mut self, id: u64, exec: ExecType, last: Option<Fill>, now: i64) {
        if let Some(o) = self.orders.get(&id) {
            let mut snapshot = o.clone();
            snapshot.fills.clear();
            self.events.push(UserEvent::Execution {
                order: Box::new(snapshot),
                exec,
                last,
                time: now,
            });
        }
    }

    pub(super) fn account_event(&mut self, assets: &[&str], now: i64) {
        let balances = assets
            .iter()
            .map(|a| {
                (
                    a.to_string(),
                    self.balances.get(*a).copied().unwrap_or_default(),
                )
            })
            .collect();
        self.events.push(UserEvent::Account {
            time: now,
            balances,
        });
    }
}
