//! Placing an order: the symbol's filters and venue rules, the taker fills the book gives,
//! locks, and executing fills with their commission.

use super::super::ApiError;
use super::{
    Exchange, ExecType, Fill, Levels, NewOrder, OrdType, Order, Status, Tif, bad, floor_to,
};
use njord::event::Side;
use njord::venue::binanceus::errors;
use rust_decimal::Decimal;

fn filter(name: &str) -> ApiError {
    bad(errors::FILTER_FAILURE, &format!("Filter failure: {name}"))
}

fn on_grid(x: Decimal, origin: Decimal, step: Decimal) -> bool {
    step.is_zero() || ((x - origin) % step).is_zero()
}

impl Exchange {
    /// Checks an order against the symbol's filters and the venue rules, without effects.
    pub(super) fn validate(&self, m: usize, req: &NewOrder) -> Result<(), ApiError> {
        let spec = &self.markets[m].spec;
        for p in [req.price, req.stop_price].into_iter().flatten() {
            if p <= Decimal::ZERO {
                return Err(bad(errors::FILTER_FAILURE, "Invalid price."));
            }
            if p < spec.min_price || p > spec.max_price || !on_grid(p, spec.min_price, spec.tick) {
                return Err(filter("PRICE_FILTER"));
            }
        }
        if let Some(shown) = req.iceberg_qty {
            let gtc = req.tif.unwrap_or(Tif::Gtc) == Tif::Gtc;
            if !gtc {
                return Err(bad(
                    errors::NEW_ORDER_REJECTED,
                    "Iceberg orders must be GTC.",
                ));
            }
            let qty = req.qty.unwrap_or_default();
            let too_many = |parts: Decimal| parts.ceil() > Decimal::from(super::ICEBERG_PARTS);
            if shown <= Decimal::ZERO
                || shown >= qty
                || !on_grid(shown, spec.min_qty, spec.step)
                || qty.checked_div(shown).is_none_or(too_many)
            {
                return Err(filter("ICEBERG_PARTS"));
            }
        }
        if let Some(stop) = req.stop_price
            && req.ord_type.triggers(req.side, stop, self.markets[m].last)
        {
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "Order would trigger immediately.",
            ));
        }
        if let Some(q) = req.qty {
            if q <= Decimal::ZERO {
                return Err(bad(errors::FILTER_FAILURE, "Invalid quantity."));
            }
            if q < spec.min_qty || q > spec.max_qty || !on_grid(q, spec.min_qty, spec.step) {
                return Err(filter("LOT_SIZE"));
            }
        }
        if let Some(qq) = req.quote_qty
            && qq <= Decimal::ZERO
        {
            return Err(bad(errors::FILTER_FAILURE, "Invalid quantity."));
        }
        let px = req.price.unwrap_or(self.markets[m].last);
        let notional = match (req.qty, req.quote_qty) {
            (Some(q), _) => q * px,
            (None, Some(qq)) => qq,
            (None, None) => Decimal::ZERO,
        };
        if notional < spec.min_notional || notional > spec.max_notional {
            return Err(filter("NOTIONAL"));
        }
        if self.live_client.contains_key(&(m, req.client_id.clone())) {
            return Err(bad(errors::NEW_ORDER_REJECTED, "Duplicate order sent."));
        }
        Ok(())
    }

    /// The taker fills an order would get from the book now: `(price, qty)` per level.
    fn taker_fills(&self, m: usize, req: &NewOrder) -> Levels {
        if req.ord_type.is_conditional() {
            return Levels::new();
        }
        self.book_fills(m, req.side, req.price, req.qty, req.quote_qty)
    }

    /// What the book gives a taker on `side` now, up to `limit`, for `qty` (or `quote_qty`).
    pub(super) fn book_fills(
        &self,
        m: usize,
        side: Side,
        limit: Option<Decimal>,
        qty: Option<Decimal>,
        quote_qty: Option<Decimal>,
    ) -> Levels {
        let (bids, asks) = self.book(m, usize::MAX);
        let levels = match side {
            Side::Buy => asks,
            Side::Sell => bids,
        };
        let step = self.markets[m].spec.step;
        let mut out = Vec::new();
        let mut left_qty = qty;
        let mut left_quote = quote_qty;
        for (p, lq) in levels {
            let acceptable = match (limit, side) {
                (None, _) => true,
                (Some(lim), Side::Buy) => p <= lim,
                (Some(lim), Side::Sell) => p >= lim,
            };
            if !acceptable {
                break;
            }
            let q = match (left_qty, left_quote) {
                (Some(l), _) => l.min(lq),
                (None, Some(lq2)) => floor_to(lq2 / p, step).min(lq),
                (None, None) => Decimal::ZERO,
            };
            if q <= Decimal::ZERO {
                break;
            }
            out.push((p, q));
            if let Some(l) = &mut left_qty {
                *l -= q;
                if l.is_zero() {
                    break;
                }
            }
            if let Some(l) = &mut left_quote {
                *l -= p * q;
            }
        }
        out
    }

    /// Places an order. `test_only` validates everything and changes nothing (`order/test`).
    pub fn new_order(
        &mut self,
        req: NewOrder,
        now: i64,
        test_only: bool,
    ) -> Result<Order, ApiError> {
        let m = self.market(&req.symbol)?;
        self.validate(m, &req)?;
        let fills = self.taker_fills(m, &req);
        let fill_qty: Decimal = fills.iter().map(|(_, q)| *q).sum();
        let fill_cost: Decimal = fills.iter().map(|(p, q)| p * q).sum();
        if req.ord_type == OrdType::LimitMaker && !fills.is_empty() {
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "Order would immediately match and take.",
            ));
        }
        // A conditional order takes nothing when placed: its FOK applies once it triggers.
        let fok_fails = req.tif == Some(Tif::Fok)
            && !req.ord_type.is_conditional()
            && req.qty.is_some_and(|q| fill_qty < q);
        let spec = self.markets[m].spec.clone();
        // A conditional order waits for its trigger whatever its time in force.
        let rests = req.ord_type.is_conditional()
            || (req.ord_type != OrdType::Market && req.tif.unwrap_or(Tif::Gtc) == Tif::Gtc);
        // What the order locks while it lives: limit buys lock the whole qty at the limit.
        let lock = match (req.side, req.price) {
            (Side::Buy, Some(p)) if rests => p * req.qty.unwrap_or_default(),
            (Side::Buy, _) => fill_cost,
            (Side::Sell, _) if rests => req.qty.unwrap_or_default(),
            (Side::Sell, _) => fill_qty,
        };
        let lock = if fok_fails { Decimal::ZERO } else { lock };
        let asset = match req.side {
            Side::Buy => &spec.quote,
            Side::Sell => &spec.base,
        };
        if self.balances.get(asset).map(|b| b.free).unwrap_or_default() < lock {
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "Account has insufficient balance for requested action.",
            ));
        }
        if req.ord_type == OrdType::Market && fills.is_empty() && !fok_fails {
            // Nothing in the book on that side (a price near zero): Binance refuses too.
            return Err(bad(
                errors::NEW_ORDER_REJECTED,
                "Order book liquidity is less than LOT_SIZE filter minimum quantity.",
            ));
        }
        if test_only {
            return Ok(Order::new(0, spec.name, &req, fill_qty, Decimal::ZERO, now));
        }
        if let Some(b) = self.balances.get_mut(asset) {
            b.free -= lock;
            b.locked += lock;
        }
        let id = self.book_order(m, &req, fill_qty, lock, None, now);
        self.report(id, ExecType::New, None, now);
        if !fok_fails {
            for (p, q) in fills {
                self.apply_fill(m, id, p, q, false, now);
            }
        }
        let left = self.orders.get(&id).map(|o| o.status);
        if !rests && matches!(left, Some(Status::New | Status::PartiallyFilled)) {
            self.close(m, id, Status::Expired, now);
        }
        self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        self.orders.get(&id).cloned().ok_or_else(|| {
            bad(
                errors::UNKNOWN,
                "An unknown error occurred while processing the request.",
            )
        })
    }

    /// Puts a new order on market `m`'s books (open, and found by its client id), under the
    /// next order id, which it returns.
    pub(super) fn book_order(
        &mut self,
        m: usize,
        req: &NewOrder,
        fill_qty: Decimal,
        locked: Decimal,
        list_id: Option<u64>,
        now: i64,
    ) -> u64 {
        let id = self.next_order_id;
        self.next_order_id += 1;
        let symbol = self.markets[m].spec.name.clone();
        let mut order = Order::new(id, symbol, req, fill_qty, locked, now);
        order.list_id = list_id;
        self.orders.insert(id, order);
        self.live_client.insert((m, req.client_id.clone()), id);
        self.any_client.insert((m, req.client_id.clone()), id);
        self.open[m].insert(id);
        id
    }

    /// Executes `q` of order `id` at `p`, moving balances and commission.
    pub(super) fn apply_fill(
        &mut self,
        m: usize,
        id: u64,
        p: Decimal,
        q: Decimal,
        maker: bool,
        now: i64,
    ) {
        let spec = &self.markets[m].spec;
        let (base, quote) = (spec.base.clone(), spec.quote.clone());
        let rate = if maker {
            self.knobs.maker_fee
        } else {
            self.knobs.taker_fee
        };
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        if o.status.is_terminal() || q <= Decimal::ZERO {
            return;
        }
        let (commission, commission_asset) = match o.side {
            Side::Buy => ((q * rate).round_dp(8), base.clone()),
            Side::Sell => ((p * q * rate).round_dp(8), quote.clone()),
        };
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let fill = Fill {
            trade_id,
            order_id: id,
            symbol: o.symbol.clone(),
            side: o.side,
            price: p,
            qty: q,
            commission,
            commission_asset,
            maker,
            time: now,
        };
        o.executed += q;
        o.cum_quote += p * q;
        o.update_time = now;
        let list = o.list_id;
        o.fills.push(fill.clone());
        o.status = if o.remaining().is_zero() {
            Status::Filled
        } else {
            Status::PartiallyFilled
        };
        let released = match o.side {
            Side::Buy if o.ord_type != OrdType::Market => o.price * q,
            Side::Buy => p * q,
            Side::Sell => q,
        };
        let released = released.min(o.locked);
        o.locked -= released;
        let (side, done) = (o.side, o.status == Status::Filled);
        let bal = &mut self.balances;
        match side {
            Side::Buy => {
                let qb = bal.entry(quote).or_default();
                qb.locked -= released;
                qb.free += released - p * q;
                bal.entry(base).or_default().free += q - commission;
            }
            Side::Sell => {
                bal.entry(base).or_default().locked -= released;
                bal.entry(quote).or_default().free += p * q - commission;
            }
        }
        self.my_trades.push(fill.clone());
        self.report(id, ExecType::Trade, Some(fill), now);
        if let Some(l) = list {
            // Any fill of one leg ends the other.
            self.expire_other_legs(m, l, id, now);
        }
        if done {
            self.retire(m, id);
        }
    }
}
