//! Conditional orders and one-cancels-other lists, as Binance.US runs them.
//!
//! A STOP_LOSS_LIMIT or TAKE_PROFIT_LIMIT order locks its funds when placed and waits, out of
//! the book, until a trade reaches its `stopPrice` ([`super::OrdType::triggers`]); it then
//! works as a limit order at its `price`: it takes what the book gives up to that price at
//! once, and the rest rests (GTC) or expires (IOC, FOK). A market that gaps through the stop
//! fills at the book after the gap, never at the stop.
//!
//! An OCO list is a LIMIT_MAKER leg above the market and a STOP_LOSS_LIMIT leg below it (a
//! sell; a buy the other way round). The first leg that fills, in part or in full, or
//! triggers expires the other; cancelling either leg cancels both. The list locks its
//! quantity once: on the limit leg, moved to the stop leg when that one triggers.

use super::super::ApiError;
use super::{Exchange, ExecType, NewOco, NewOrder, OrdType, Order, OrderList, Status, Tif, bad};
use njord::event::Side;
use njord::venue::binanceus::errors;
use rust_decimal::Decimal;

impl Exchange {
    /// Triggers a conditional order a trade reached: it works from now, as a limit that
    /// takes from the book at once (not from the trade that triggered it).
    pub(super) fn trigger(&mut self, m: usize, id: u64, now: i64) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        if o.working || o.status.is_terminal() {
            return;
        }
        o.working = true;
        o.update_time = now;
        let (side, price, left, tif, list) = (o.side, o.price, o.remaining(), o.tif, o.list_id);
        if let Some(l) = list {
            self.expire_other_legs(m, l, id, now);
        }
        let fills = self.book_fills(m, side, Some(price), Some(left), None);
        let got: Decimal = fills.iter().map(|(_, q)| *q).sum();
        if !(tif == Tif::Fok && got < left) {
            for (p, q) in fills {
                self.apply_fill(m, id, p, q, false, now);
            }
        }
        let live = self
            .orders
            .get(&id)
            .is_some_and(|o| !o.status.is_terminal());
        if tif != Tif::Gtc && live {
            self.close(m, id, Status::Expired, now);
        }
    }

    /// Expires the legs of list `l` other than `keep`, moving what they lock onto `keep`.
    pub(super) fn expire_other_legs(&mut self, m: usize, l: u64, keep: u64, now: i64) {
        let Some(list) = self.lists.get(&l) else {
            return;
        };
        let mut expired = false;
        for other in list.legs.into_iter().filter(|&x| x != keep) {
            let live = self
                .orders
                .get(&other)
                .is_some_and(|o| !o.status.is_terminal());
            if !live {
                continue;
            }
            expired = true;
            let moved = self
                .orders
                .get_mut(&other)
                .map(|o| std::mem::take(&mut o.locked))
                .unwrap_or_default();
            if let Some(k) = self.orders.get_mut(&keep) {
                k.locked += moved;
            }
            self.close(m, other, Status::Expired, now);
        }
        if expired {
            self.list_event(l, now);
        }
    }

    /// `POST /api/v3/order/oco`.
    pub fn new_oco(&mut self, req: NewOco, now: i64) -> Result<OrderList, ApiError> {
        let m = self.market(&req.symbol)?;
        let last = self.markets[m].last;
        let prices_ok = match req.side {
            Side::Sell => req.price > last && last > req.stop_price,
            Side::Buy => req.price < last && last < req.stop_price,
        };
        if !prices_ok {
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "The relationship of the prices for the orders is not correct.",
            ));
        }
        let limit = NewOrder {
            symbol: req.symbol.clone(),
            side: req.side,
            ord_type: OrdType::LimitMaker,
            tif: None,
            qty: Some(req.qty),
            quote_qty: None,
            price: Some(req.price),
            stop_price: None,
            iceberg_qty: None,
            client_id: req.limit_client_id.clone(),
        };
        let stop = NewOrder {
            ord_type: OrdType::StopLossLimit,
            tif: Some(req.stop_tif),
            price: Some(req.stop_limit_price),
            stop_price: Some(req.stop_price),
            client_id: req.stop_client_id.clone(),
            ..limit.clone()
        };
        self.validate(m, &limit)?;
        self.validate(m, &stop)?;
        if req.limit_client_id == req.stop_client_id
            || self
                .list_client
                .contains_key(&(m, req.list_client_id.clone()))
        {
            return Err(bad(errors::NEW_ORDER_REJECTED, "Duplicate order sent."));
        }
        let spec = self.markets[m].spec.clone();
        let (asset, lock) = match req.side {
            Side::Sell => (&spec.base, req.qty),
            Side::Buy => (&spec.quote, req.price.max(req.stop_limit_price) * req.qty),
        };
        if self.balances.get(asset).map(|b| b.free).unwrap_or_default() < lock {
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "Account has insufficient balance for requested action.",
            ));
        }
        if let Some(b) = self.balances.get_mut(asset) {
            b.free -= lock;
            b.locked += lock;
        }
        let l = self.next_list_id;
        self.next_list_id += 1;
        let mut legs = [0u64; 2];
        for (i, (leg, locked)) in [(limit, lock), (stop, Decimal::ZERO)]
            .into_iter()
            .enumerate()
        {
            legs[i] = self.book_order(m, &leg, req.qty, locked, Some(l), now);
        }
        let list = OrderList {
            id: l,
            client_id: req.list_client_id.clone(),
            symbol: spec.name.clone(),
            legs,
            time: now,
        };
        self.lists.insert(l, list.clone());
        self.list_client.insert((m, req.list_client_id), l);
        self.list_event(l, now);
        for id in legs {
            self.report(id, ExecType::New, None, now);
        }
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        Ok(list)
    }

    /// The list `l` refers to on market `m`: by id or by its client id.
    fn find_list(&self, m: usize, r: &ListRef) -> Option<u64> {
        match r {
            ListRef::Id(id) => self
                .lists
                .get(id)
                .filter(|l| self.index.get(&l.symbol) == Some(&m))
                .map(|l| l.id),
            ListRef::Client(c) => self.list_client.get(&(m, c.clone())).copied(),
        }
    }

    /// `GET /api/v3/orderList`: the list and its legs as they are now.
    pub fn query_list(&self, r: &ListRef) -> Result<(OrderList, Vec<&Order>), ApiError> {
        let found = match r {
            ListRef::Id(id) => self.lists.get(id),
            ListRef::Client(c) => self
                .list_client
                .iter()
                .find(|((_, k), _)| k == c)
                .and_then(|(_, id)| self.lists.get(id)),
        };
        let list = found.ok_or_else(|| bad(errors::NO_SUCH_ORDER, "Order list does not exist."))?;
        Ok((list.clone(), self.legs(list)))
    }

    fn legs(&self, list: &OrderList) -> Vec<&Order> {
        list.legs
            .iter()
            .filter_map(|id| self.orders.get(id))
            .collect()
    }

    /// Whether the list has done its work (`ALL_DONE`): at most one leg is still live, so
    /// nothing is left to cancel on the other's behalf.
    pub fn list_done(&self, list: &OrderList) -> bool {
        self.legs(list)
            .iter()
            .filter(|o| !o.status.is_terminal())
            .count()
            < 2
    }

    /// `DELETE /api/v3/orderList`: cancels both legs.
    pub fn cancel_list(
        &mut self,
        symbol: &str,
        r: &ListRef,
        now: i64,
    ) -> Result<(OrderList, Vec<Order>), ApiError> {
        let m = self.market(symbol)?;
        let l = self
            .find_list(m, r)
            .ok_or_else(|| bad(errors::CANCEL_REJECTED, "Unknown order list sent."))?;
        let list = self
            .lists
            .get(&l)
            .cloned()
            .ok_or_else(|| bad(errors::CANCEL_REJECTED, "Unknown order list sent."))?;
        if self.legs(&list).iter().all(|o| o.status.is_terminal()) {
            return Err(bad(errors::CANCEL_REJECTED, "Unknown order list sent."));
        }
        self.cancel_legs(m, &list, now);
        let spec = self.markets[m].spec.clone();
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        let legs = self.legs(&list).into_iter().cloned().collect();
        Ok((list, legs))
    }

    /// Cancels every live leg of `list`.
    pub(super) fn cancel_legs(&mut self, m: usize, list: &OrderList, now: i64) {
        for id in list.legs {
            self.close(m, id, Status::Canceled, now);
        }
        self.list_event(list.id, now);
    }

    /// Reports the list's status on the user stream (`listStatus`).
    pub(super) fn list_event(&mut self, l: u64, now: i64) {
        if let Some(list) = self.lists.get(&l) {
            let done = self.list_done(list);
            let legs = self.legs(list).into_iter().cloned().collect();
            self.events.push(super::UserEvent::List {
                list: list.clone(),
                legs,
                done,
                time: now,
            });
        }
    }
}

/// Selects an order list by id or client id.
#[derive(Debug, Clone, PartialEq)]
pub enum ListRef {
    Id(u64),
    Client(String),
}
