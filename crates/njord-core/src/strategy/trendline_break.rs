//! `trendline_break`: trade the break of a least-squares trendline.
//!
//! For each price, a line is fitted through the `lookback_periods` prices before it (the
//! window grows from 3 to N, so evaluation starts at the 4th price) and projected one step
//! ahead. `ratio = (price − projection) / projection`: above `breakout_threshold` is a buy,
//! below −`breakout_threshold` a sell. One signal per breakout: after a signal the strategy
//! waits until the price is back within the threshold (|ratio| ≤ threshold) before it can
//! signal again, in either direction. A projection ≤ 0 (a steep fall) gives no signal.

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, Scope};
use super::{Context, Strategy, StrategyError, meta};
use crate::event::{Event, Intent, Side};
use crate::indicators::LinReg;
use rust_decimal::Decimal;

pub const CLASS: Class = Class {
    name: "trendline_break",
    about: "Buy/sell when the price breaks the least-squares line of the prices before it",
    params: &[
        ParamSpec {
            name: "lookback_periods",
            kind: ParamKind::Int { min: 3 },
            default: Some(ParamValue::Int(20)),
            help: "prices before the current one the line is fitted through",
        },
        ParamSpec {
            name: "breakout_threshold",
            kind: ParamKind::Float {
                min: 0.0,
                max: f64::INFINITY,
            },
            default: Some(ParamValue::Float(0.02)),
            help: "distance from the projection, as a fraction of it, that is a breakout",
        },
        QTY,
    ],
    build,
    scope: Scope::PerSymbol,
    open: false,
};

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    Ok(Box::new(TrendlineBreak {
        window: LinReg::new(p.usize("lookback_periods")?),
        threshold: p.float("breakout_threshold")?,
        qty: p.decimal("qty")?,
        armed: true,
    }))
}

pub struct TrendlineBreak {
    window: LinReg,
    threshold: f64,
    qty: Decimal,
    armed: bool,
}

impl Strategy for TrendlineBreak {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let price = ctx.price_f64();
        if self.window.len() >= 3
            && let Some(line) = self.window.line()
            && line.forecast() > 0.0
        {
            let projection = line.forecast();
            let ratio = (price - projection) / projection;
            if ratio.abs() <= self.threshold {
                self.armed = true;
            } else if self.armed {
                self.armed = false;
                let side = if ratio > 0.0 { Side::Buy } else { Side::Sell };
                out.push(ctx.intent(side, self.qty, || {
                    meta([
                        ("projection", projection),
                        ("ratio", ratio),
                        ("slope", line.slope),
                    ])
                }));
            }
        }
        self.window.push(price);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::signals;
    use super::CLASS;

    fn run(prices: &[&str]) -> Vec<(i64, String)> {
        signals(&CLASS, "{qty: 1}", prices)
    }

    #[test]
    fn seed_scenarios_flat_then_break() {
        let mut up = vec!["10.0"; 6];
        up.push("10.22");
        assert_eq!(run(&up), [(6, "buy".into())]);
        let mut down = vec!["10.0"; 6];
        down.push("9.78");
        assert_eq!(run(&down), [(6, "sell".into())]);
        // 10.19 is 1.9% above the flat line: no breakout.
        let mut near = vec!["10.0"; 6];
        near.push("10.19");
        assert!(run(&near).is_empty());
    }

    #[test]
    fn evaluation_starts_once_three_prices_are_known() {
        assert!(run(&["10", "10", "11"]).is_empty());
        assert_eq!(run(&["10", "10", "10", "11"]), [(3, "buy".into())]);
    }

    #[test]
    fn one_signal_per_breakout_then_rearmed_within_threshold() {
        // lookback 3: 10.5 breaks the flat line (buy); 11.2 is still 5% above the next
        // projection (10.667) but the breakout has signalled; 11.75 is within 2% of 11.767
        // (re-armed); 13.0 is 4.8% above 12.4: a new breakout.
        let p = ["10", "10", "10", "10.5", "11.2", "11.75", "13.0"];
        let got = signals(&CLASS, "{qty: 1, lookback_periods: 3}", &p);
        assert_eq!(got, [(3, "buy".into()), (6, "buy".into())]);
        // Without the return within the threshold there is no second signal.
        let p = ["10", "10", "10", "10.5", "11.2", "12.5", "13.0"];
        let got = signals(&CLASS, "{qty: 1, lookback_periods: 3}", &p);
        assert_eq!(got, [(3, "buy".into())]);
    }

    #[test]
    fn the_window_holds_only_the_last_n_prices() {
        // With 3 prices of lookback, an old spike no longer bends the line.
        let p = ["30", "10", "10", "10", "10.3"];
        let three = signals(&CLASS, "{qty: 1, lookback_periods: 3}", &p);
        assert_eq!(three, [(4, "buy".into())]);
        let all = signals(&CLASS, "{qty: 1, lookback_periods: 4}", &p);
        assert!(all.iter().all(|(i, _)| *i != 4), "{all:?}");
    }
}
