//! Looking orders and our trades up.

use super::super::ApiError;
use super::{Exchange, Fill, Order, OrderRef, bad};
use njord::venue::binanceus::errors;

impl Exchange {
    pub(super) fn find(&self, m: usize, r: &OrderRef) -> Option<u64> {
        match r {
            OrderRef::Id(id) => self
                .orders
                .get(id)
                .filter(|o| o.symbol == self.markets[m].spec.name)
                .map(|o| o.id),
            OrderRef::Client(c) => self.any_client.get(&(m, c.clone())).copied(),
        }
    }

    /// `GET /api/v3/order`: -2013 when there is no such order.
    pub fn query(&self, symbol: &str, r: &OrderRef) -> Result<&Order, ApiError> {
        let m = self.market(symbol)?;
        self.find(m, r)
            .and_then(|id| self.orders.get(&id))
            .ok_or_else(|| bad(errors::NO_SUCH_ORDER, "Order does not exist."))
    }

    /// Open orders, of one market or all.
    pub fn open_orders(&self, symbol: Option<&str>) -> Result<Vec<&Order>, ApiError> {
        let ms: Vec<usize> = match symbol {
            Some(s) => vec![self.market(s)?],
            None => (0..self.markets.len()).collect(),
        };
        Ok(ms
            .into_iter()
            .flat_map(|m| self.open[m].iter())
            .filter_map(|id| self.orders.get(id))
            .collect())
    }

    /// Every order of a market, oldest first.
    pub fn all_orders(&self, symbol: &str) -> Result<Vec<&Order>, ApiError> {
        let m = self.market(symbol)?;
        let name = &self.markets[m].spec.name;
        Ok(self.orders.values().filter(|o| &o.symbol == name).collect())
    }

    pub fn my_trades(&self, symbol: &str) -> Result<Vec<&Fill>, ApiError> {
        let m = self.market(symbol)?;
        let name = &self.markets[m].spec.name;
        Ok(self
            .my_trades
            .iter()
            .filter(|f| &f.symbol == name)
            .collect())
    }
}
