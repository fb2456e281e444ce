//! Playing a tape trade: the market moves, and the resting limits it crosses fill as makers.

use super::{Exchange, PubTrade, RECENT_TRADES, TapeEffect, floor_to};
use njord::event::Side;
use rust_decimal::Decimal;

impl Exchange {
    /// Plays one tape trade: the market moves, and resting limits it trades through (or
    /// touches, with the knob) fill as makers at their limit, best price then oldest first,
    /// sharing the trade's quantity.
    pub fn on_tape_trade(&mut self, m: usize, t: &PubTrade, now: i64) -> TapeEffect {
        let mk = &mut self.markets[m];
        let prev_last = mk.last;
        mk.last = t.price;
        mk.last_qty = t.qty;
        let st = &mut mk.stats;
        if st.count == 0 {
            st.open = t.price;
            st.high = t.price;
            st.low = t.price;
            st.open_time = t.time;
            st.first_id = Some(t.id);
        }
        st.high = st.high.max(t.price);
        st.low = st.low.min(t.price);
        st.volume = st.volume.saturating_add(t.qty);
        st.quote_volume = st
            .quote_volume
            .saturating_add(t.price.saturating_mul(t.qty));
        st.count += 1;
        st.last_id = Some(t.id);
        st.close_time = t.time;
        if mk.recent.len() == RECENT_TRADES {
            mk.recent.pop_front();
        }
        mk.recent.push_back(t.clone());
        let moved = prev_last != t.price;
        if moved {
            mk.update_id += 1;
        }
        let update_id = mk.update_id;
        let step = mk.spec.step;
        let at_touch = self.knobs.fill_at_touch;
        // One pass: the stops the trade reaches, and the working limits it crosses.
        let mut due = Vec::new();
        let mut crossing: Vec<(Decimal, u64, Side)> = Vec::new();
        for o in self.open[m].iter().filter_map(|id| self.orders.get(id)) {
            if !o.working {
                if o.ord_type.triggers(o.side, o.stop_price, t.price) {
                    due.push(o.id);
                }
                continue;
            }
            let crosses = match o.side {
                Side::Buy => t.price < o.price || (at_touch && t.price == o.price),
                Side::Sell => t.price > o.price || (at_touch && t.price == o.price),
            };
            if crosses {
                crossing.push((o.price, o.id, o.side));
            }
        }
        // Stops first, oldest first; they take from the book, not from this trade.
        let mut touched = !due.is_empty();
        for id in due {
            self.trigger(m, id, now);
        }
        // Best price first: highest bids, lowest asks; then time priority.
        crossing.sort_by(|a, b| {
            let by_price = match a.2 {
                Side::Buy => b.0.cmp(&a.0),
                Side::Sell => a.0.cmp(&b.0),
            };
            by_price.then(a.1.cmp(&b.1))
        });
        let mut avail = t.qty;
        for (price, id, _) in crossing {
            // A leg a trigger just expired is out.
            let rem = self
                .orders
                .get(&id)
                .filter(|o| !o.status.is_terminal())
                .map(|o| o.remaining())
                .unwrap_or_default();
            let q = floor_to(rem.min(avail), step);
            if q <= Decimal::ZERO {
                continue;
            }
            avail -= q;
            self.apply_fill(m, id, price, q, true, now);
            touched = true;
        }
        if touched {
            let spec = self.markets[m].spec.clone();
            self.account_event(&[spec.base.as_str(), spec.quote.as_str()], now);
        }
        TapeEffect {
            prev_last,
            moved,
            update_id,
        }
    }
}
