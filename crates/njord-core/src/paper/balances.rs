//! Optional spot balances of the paper trader (`paper.initial_balances`; the backtester sets
//! them from `--capital`). When set, an order must be paid for when it arrives: a buy needs
//! `qty × price × (1 + fee bps / 10 000)` of the quote asset free, a sell needs `qty` of the
//! base asset free (unless short selling is allowed). What an order needs is locked until it
//! fills or is cancelled, as a venue does, so resting orders cannot spend the same money twice.
//! Fills then move the balances: a buy pays quote and fee and receives base, a sell the reverse.

use crate::event::{Fill, Side};
use crate::reason::Reason;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// `BASE/QUOTE` → (`BASE`, `QUOTE`).
fn assets(symbol: &str) -> Option<(&str, &str)> {
    symbol.split_once('/')
}

/// What an open order has locked.
#[derive(Debug, Clone)]
struct Lock {
    asset: String,
    amount: Decimal,
    /// Quantity of the order still open.
    qty: Decimal,
}

/// Balances per asset, and what open orders lock.
#[derive(Debug, Clone, Default)]
pub struct Balances {
    total: BTreeMap<String, Decimal>,
    locked: BTreeMap<String, Decimal>,
    locks: HashMap<String, Lock>,
    allow_short: bool,
    rejected: u64,
}

impl Balances {
    pub fn new(initial: BTreeMap<String, Decimal>, allow_short: bool) -> Self {
        Balances {
            total: initial,
            allow_short,
            ..Balances::default()
        }
    }

    fn free(&self, asset: &str) -> Decimal {
        let total = self.total.get(asset).copied().unwrap_or_default();
        total - self.locked.get(asset).copied().unwrap_or_default()
    }

    /// Locks what an order needs at `price` with `fee_bps`, or says why it cannot be paid.
    /// `shared` are the open orders of its one-cancels-other group: only one of them can
    /// trade, so it locks only what it needs beyond their largest lock of the same asset.
    #[allow(clippy::too_many_arguments)]
    pub fn reserve(
        &mut self,
        intent_id: &str,
        symbol: &str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee_bps: Decimal,
        shared: &[String],
    ) -> Result<(), (Reason, String)> {
        let Some((base, quote)) = assets(symbol) else {
            return self.reject(
                Reason::InvalidOrder,
                format!("symbol `{symbol}` is not BASE/QUOTE"),
            );
        };
        let (asset, need) = match side {
            Side::Buy => {
                let notional = qty.checked_mul(price);
                let fee = notional
                    .and_then(|n| n.checked_mul(fee_bps))
                    .map(|x| x / Decimal::from(10_000));
                match (notional, fee) {
                    (Some(n), Some(f)) => (quote, n + f),
                    _ => return self.reject(Reason::InvalidOrder, "notional out of range".into()),
                }
            }
            Side::Sell if self.allow_short => return Ok(()),
            Side::Sell => (base, qty),
        };
        let held = shared
            .iter()
            .filter_map(|id| self.locks.get(id))
            .filter(|l| l.asset == asset)
            .map(|l| l.amount)
            .max()
            .unwrap_or_default();
        let need = (need - held).max(Decimal::ZERO);
        let free = self.free(asset);
        if need > free {
            return self.reject(
                Reason::InsufficientBalance,
                format!(
                    "insufficient balance: needs {} {asset}, {} free",
                    need.normalize(),
                    free.normalize()
                ),
            );
        }
        *self.locked.entry(asset.to_string()).or_default() += need;
        self.locks.insert(
            intent_id.to_string(),
            Lock {
                asset: asset.to_string(),
                amount: need,
                qty,
            },
        );
        Ok(())
    }

    fn reject(&mut self, reason: Reason, why: String) -> Result<(), (Reason, String)> {
        self.rejected += 1;
        Err((reason, why))
    }

    /// Unlocks what an order still holds (cancel).
    pub fn release(&mut self, intent_id: &str) {
        if let Some(l) = self.locks.remove(intent_id)
            && let Some(x) = self.locked.get_mut(&l.asset)
        {
            *x -= l.amount;
        }
    }

    /// Applies a fill: unlocks its share of the order's lock and moves the balances.
    pub fn settle(&mut self, f: &Fill<'_>) {
        if let Some(l) = self.locks.get_mut(f.intent_id.as_ref()) {
            let part = if f.qty >= l.qty {
                l.amount
            } else {
                (l.amount * f.qty / l.qty).min(l.amount)
            };
            l.amount -= part;
            l.qty -= f.qty;
            if let Some(x) = self.locked.get_mut(&l.asset) {
                *x -= part;
            }
            if l.qty <= Decimal::ZERO {
                self.release(&f.intent_id);
            }
        }
        let Some((base, quote)) = assets(&f.symbol) else {
            return;
        };
        let notional = f.qty * f.price;
        let (b, q) = match f.side {
            Side::Buy => (f.qty, -notional - f.fee),
            Side::Sell => (-f.qty, notional - f.fee),
        };
        *self.total.entry(base.to_string()).or_default() += b;
        *self.total.entry(quote.to_string()).or_default() += q;
    }

    /// Balance of every asset (free plus locked).
    pub fn totals(&self) -> &BTreeMap<String, Decimal> {
        &self.total
    }

    /// What open orders lock of an asset.
    pub fn locked(&self, asset: &str) -> Decimal {
        self.locked.get(asset).copied().unwrap_or_default()
    }

    /// Orders rejected for want of balance.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}
