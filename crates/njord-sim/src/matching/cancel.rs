//! Ending orders: cancels, expiry, and what a finished order gives back.

use super::super::ApiError;
use super::{Exchange, ExecType, Order, OrderRef, Status, bad};
use njord::event::Side;
use njord::venue::binanceus::errors;

impl Exchange {
    /// Forgets a terminal order's live indexes and gives back what it still locks.
    pub(super) fn retire(&mut self, m: usize, id: u64) {
        self.open[m].remove(&id);
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        let key = (m, o.client_id.clone());
        if self.live_client.get(&key) == Some(&id) {
            self.live_client.remove(&key);
        }
        let left = std::mem::take(&mut o.locked);
        let spec = &self.markets[m].spec;
        let asset = match o.side {
            Side::Buy => &spec.quote,
            Side::Sell => &spec.base,
        };
        if let Some(b) = self.balances.get_mut(asset) {
            b.locked -= left;
            b.free += left;
        }
    }

    /// Ends a live order as canceled or expired.
    pub(super) fn close(&mut self, m: usize, id: u64, status: Status, now: i64) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        if o.status.is_terminal() {
            return;
        }
        o.status = status;
        o.update_time = now;
        self.retire(m, id);
        let exec = if status == Status::Canceled {
            ExecType::Canceled
        } else {
            ExecType::Expired
        };
        self.report(id, exec, None, now);
    }

    /// `DELETE /api/v3/order`: -2011 when the order is unknown or already done.
    pub fn cancel(&mut self, symbol: &str, r: &OrderRef, now: i64) -> Result<Order, ApiError> {
        let m = self.market(symbol)?;
        let id = self
            .find(m, r)
            .filter(|id| self.open[m].contains(id))
            .ok_or_else(|| bad(errors::CANCEL_REJECTED, "Unknown order sent."))?;
        // Cancelling one leg of a one-cancels-other list cancels the list.
        match self
            .orders
            .get(&id)
            .and_then(|o| o.list_id)
            .and_then(|l| self.lists.get(&l))
        {
            Some(list) => {
                let list = list.clone();
                self.cancel_legs(m, &list, now);
            }
            None => self.close(m, id, Status::Canceled, now),
        }
        let spec = self.markets[m].spec.clone();
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        self.orders
            .get(&id)
            .cloned()
            .ok_or_else(|| bad(errors::CANCEL_REJECTED, "Unknown order sent."))
    }

    /// `DELETE /api/v3/openOrders`.
    pub fn cancel_all(&mut self, symbol: &str, now: i64) -> Result<Vec<Order>, ApiError> {
        let m = self.market(symbol)?;
        let ids: Vec<u64> = self.open[m].iter().copied().collect();
        if ids.is_empty() {
            return Err(bad(errors::CANCEL_REJECTED, "Unknown order sent."));
        }
        let lists: std::collections::BTreeSet<u64> = ids
            .iter()
            .filter_map(|id| self.orders.get(id).and_then(|o| o.list_id))
            .collect();
        for id in &ids {
            self.close(m, *id, Status::Canceled, now);
        }
        for l in lists {
            self.list_event(l, now);
        }
        let spec = self.markets[m].spec.clone();
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        Ok(ids
            .iter()
            .filter_map(|id| self.orders.get(id).cloned())
            .collect())
    }
}
