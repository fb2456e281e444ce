//! `ema_cross`: the classic moving-average crossover every framework ships.
//!
//! Two EMAs with α = 2/(n+1), each seeded with the first price ([`EmaSeed::FirstPrice`]);
//! ready once `slow` prices have been seen. The first ready price only records whether
//! fast > slow; after that each change is a signal: up → buy, down → sell. With `long_only`,
//! a sell is emitted only after a buy (so the strategy never goes short).

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, Scope};
use super::{Context, Strategy, StrategyError, meta};
use crate::event::{Event, Intent, Side};
use crate::indicators::{Ema, EmaSeed};
use rust_decimal::Decimal;

pub const CLASS: Class = Class {
    name: "ema_cross",
    about: "Buy when the fast EMA crosses above the slow one, sell when it crosses below",
    params: &[
        ParamSpec {
            name: "fast",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(20)),
            help: "period of the fast EMA (less than slow)",
        },
        ParamSpec {
            name: "slow",
            kind: ParamKind::Int { min: 2 },
            default: Some(ParamValue::Int(50)),
            help: "period of the slow EMA; prices needed before the first signal",
        },
        QTY,
        ParamSpec {
            name: "long_only",
            kind: ParamKind::Bool,
            default: Some(ParamValue::Bool(true)),
            help: "emit a sell only after a buy (never open a short)",
        },
    ],
    build,
    scope: Scope::PerSymbol,
    open: false,
};

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    let (fast, slow) = (p.usize("fast")?, p.usize("slow")?);
    ParamError::unless_below(("fast", fast), ("slow", slow))?;
    Ok(Box::new(EmaCross {
        fast: Ema::new(fast, EmaSeed::FirstPrice),
        slow: Ema::new(slow, EmaSeed::FirstPrice),
        slow_n: slow,
        seen: 0,
        above: None,
        long: false,
        long_only: p.bool("long_only")?,
        qty: p.decimal("qty")?,
    }))
}

pub struct EmaCross {
    fast: Ema,
    slow: Ema,
    slow_n: usize,
    seen: usize,
    /// Whether fast > slow at the previous ready price.
    above: Option<bool>,
    /// A buy was emitted and no sell since (for `long_only`).
    long: bool,
    long_only: bool,
    qty: Decimal,
}

impl Strategy for EmaCross {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let p = ctx.price_f64();
        let (Some(fast), Some(slow)) = (self.fast.update(p), self.slow.update(p)) else {
            return Ok(());
        };
        self.seen = self.seen.saturating_add(1);
        if self.seen < self.slow_n {
            return Ok(());
        }
        let above = fast > slow;
        let before = self.above.replace(above);
        let side = match before {
            Some(false) if above => Side::Buy,
            Some(true) if !above => Side::Sell,
            _ => return Ok(()),
        };
        if side == Side::Sell && self.long_only && !self.long {
            return Ok(());
        }
        self.long = side == Side::Buy;
        out.push(ctx.intent(side, self.qty, || meta([("fast", fast), ("slow", slow)])));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::signals;
    use super::CLASS;

    #[test]
    fn first_ready_price_sets_state_then_crosses_signal() {
        let p = ["10", "10", "10", "11", "9"];
        let got = signals(&CLASS, "{fast: 2, slow: 3, qty: 1}", &p);
        assert_eq!(got, [(3, "buy".into()), (4, "sell".into())]);
    }

    #[test]
    fn nothing_before_slow_prices_are_seen() {
        let got = signals(&CLASS, "{fast: 2, slow: 3, qty: 1}", &["10", "12"]);
        assert!(got.is_empty());
    }

    #[test]
    fn long_only_sells_only_after_a_buy() {
        // Ready while fast > slow; the first cross is down.
        let p = ["10", "11", "12", "9"];
        let long_only = signals(&CLASS, "{fast: 2, slow: 3, qty: 1}", &p);
        assert!(long_only.is_empty(), "{long_only:?}");
        let both = signals(&CLASS, "{fast: 2, slow: 3, qty: 1, long_only: false}", &p);
        assert_eq!(both, [(3, "sell".into())]);
    }
}
