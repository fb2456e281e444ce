//! `pairs`: trades the spread of two symbols when it strays from its rolling fit, and only
//! while the pair tests as cointegrated.
//!
//! A sample is taken when both legs have a price of the same time, so the strategy runs on
//! bars (both legs' bars of one close time make one sample); a trade tape rarely gives two
//! legs one timestamp. At each sample, over the last `window` samples:
//! - a rolling OLS of `y` on `x` gives the hedge ratio β and the intercept α
//!   ([`RollingOls`]); the spread is `y − β·x − α`, and its z-score is over the last `window`
//!   spreads;
//! - every `retest` samples the Engle–Granger test runs on the window
//!   ([`engle_granger`], `adf_lags` lags); entries need its p-value ≤ `max_p`.
//!
//! Flat and z ≥ `entry_z`: the spread is rich, sell `qty` of y and buy β·`qty` of x (rounded
//! down to `step`; a negative β makes both legs one side). z ≤ −`entry_z`: the opposite.
//! Holding and |z| ≤ `exit_z`: both legs are closed with the quantities they were opened
//! with. Both legs of a trade share a `group_id` with `group_size` 2, so risk allows both
//! or neither. Each leg's `meta` has z, β, α, the ADF statistic and p-value and its `leg`.

use super::registry::{
    Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, STEP, Scope,
};
use super::{Context, Strategy, StrategyError, meta};
use crate::coint::{RollingOls, engle_granger};
use crate::event::{Event, Intent, Side};
use crate::features::ZScore;
use rust_decimal::Decimal;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::VecDeque;

pub const CLASS: Class = Class {
    name: "pairs",
    about: "Trades the spread of two cointegrated symbols (params y and x: the symbols) on its \
            z-score against a rolling OLS hedge",
    params: &[
        ParamSpec {
            name: "window",
            kind: ParamKind::Int { min: 10 },
            default: Some(ParamValue::Int(100)),
            help: "samples of the hedge fit, the z-score and the cointegration test",
        },
        ParamSpec {
            name: "entry_z",
            kind: ParamKind::Float {
                min: 0.0,
                max: f64::INFINITY,
            },
            default: Some(ParamValue::Float(2.0)),
            help: "|z| that opens a trade",
        },
        ParamSpec {
            name: "exit_z",
            kind: ParamKind::Float {
                min: 0.0,
                max: f64::INFINITY,
            },
            default: Some(ParamValue::Float(0.5)),
            help: "|z| that closes it (less than entry_z)",
        },
        ParamSpec {
            name: "max_p",
            kind: ParamKind::Float { min: 0.0, max: 1.0 },
            default: Some(ParamValue::Float(0.05)),
            help: "largest Engle-Granger p-value that allows an entry",
        },
        ParamSpec {
            name: "adf_lags",
            kind: ParamKind::Int { min: 0 },
            default: Some(ParamValue::Int(1)),
            help: "lagged differences in the ADF regression",
        },
        ParamSpec {
            name: "retest",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(20)),
            help: "samples between two cointegration tests",
        },
        QTY,
        STEP,
    ],
    build,
    scope: Scope::Shared,
    open: true,
};

/// The symbol named by the open param `key` (`y` or `x`).
fn leg(p: &Params, key: &'static str) -> Result<String, ParamError> {
    match p.extra().get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(v) => Err(ParamError {
            key,
            msg: format!("expected a symbol such as \"ETH/USDT\", found `{v}`"),
        }),
        None => Err(ParamError {
            key,
            msg: "required: the symbol of this leg".into(),
        }),
    }
}

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    if let Some(k) = p.extra().keys().find(|k| !matches!(k.as_str(), "y" | "x")) {
        return Err(ParamError {
            key: "",
            msg: format!("unknown parameter `{k}` for class `pairs`"),
        });
    }
    let (y, x) = (leg(p, "y")?, leg(p, "x")?);
    if y == x {
        return Err(ParamError {
            key: "x",
            msg: format!("the two legs are the same symbol `{y}`"),
        });
    }
    let (entry_z, exit_z) = (p.float("entry_z")?, p.float("exit_z")?);
    ParamError::unless_below(("exit_z", exit_z), ("entry_z", entry_z))?;
    let window = p.usize("window")?;
    let lags = p.usize("adf_lags")?;
    if window < 2 * lags + 8 {
        return Err(ParamError {
            key: "adf_lags",
            msg: format!("{lags} lags need a window of at least {}", 2 * lags + 8),
        });
    }
    Ok(Box::new(Pairs {
        legs: [Leg::new(y), Leg::new(x)],
        ols: RollingOls::new(window),
        z: ZScore::new(window),
        samples: VecDeque::with_capacity(window),
        window,
        lags,
        retest: p.usize("retest")?,
        since_test: 0,
        test: None,
        entry_z,
        exit_z,
        max_p: p.float("max_p")?,
        qty: p.decimal("qty")?,
        step: p.decimal("step")?,
        open: None,
        last_sample_ts: i64::MIN,
    }))
}

struct Leg {
    symbol: String,
    price: f64,
    ts_ns: i64,
}

impl Leg {
    fn new(symbol: String) -> Self {
        Leg {
            symbol,
            price: f64::NAN,
            ts_ns: i64::MIN,
        }
    }
}

/// An open trade: the side of y and the quantities of both legs.
#[derive(Debug, Clone, Copy)]
struct Open {
    y_side: Side,
    x_side: Side,
    y_qty: Decimal,
    x_qty: Decimal,
}

pub struct Pairs {
    /// y, then x.
    legs: [Leg; 2],
    ols: RollingOls,
    z: ZScore,
    /// The last `window` (y, x) samples, for the cointegration test.
    samples: VecDeque<(f64, f64)>,
    window: usize,
    lags: usize,
    retest: usize,
    since_test: usize,
    /// The latest (ADF statistic, p-value).
    test: Option<(f64, f64)>,
    entry_z: f64,
    exit_z: f64,
    max_p: f64,
    qty: Decimal,
    step: Decimal,
    open: Option<Open>,
    last_sample_ts: i64,
}

impl Strategy for Pairs {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == ctx.symbol()) else {
            return Ok(());
        };
        leg.price = ctx.price_f64();
        leg.ts_ns = ctx.ts_ns();
        let [y, x] = &self.legs;
        if y.ts_ns != x.ts_ns || y.ts_ns == self.last_sample_ts {
            return Ok(());
        }
        self.last_sample_ts = y.ts_ns;
        let (py, px) = (y.price, x.price);
        if self.samples.len() == self.window {
            self.samples.pop_front();
        }
        self.samples.push_back((py, px));
        let fit = self.ols.update(py, px);
        self.since_test += 1;
        if self.samples.len() == self.window
            && (self.test.is_none() || self.since_test >= self.retest)
        {
            self.since_test = 0;
            let (ys, xs): (Vec<f64>, Vec<f64>) = self.samples.iter().copied().unzip();
            self.test = engle_granger(&ys, &xs, self.lags).map(|c| (c.adf_stat, c.p_value));
        }
        let Some(fit) = fit else {
            return Ok(());
        };
        let Some(z) = self.z.update(py - fit.beta * px - fit.alpha) else {
            return Ok(());
        };
        let (stat, p) = self.test.unwrap_or((f64::NAN, f64::NAN));
        let values = [
            ("z", z),
            ("beta", fit.beta),
            ("alpha", fit.alpha),
            ("adf_stat", stat),
            ("p_value", p),
        ];
        let trade = match self.open {
            Some(open) if z.abs() <= self.exit_z => Open {
                y_side: open.y_side.opposite(),
                x_side: open.x_side.opposite(),
                ..open
            },
            None if z.abs() >= self.entry_z && p <= self.max_p => {
                let y_side = if z > 0.0 { Side::Sell } else { Side::Buy };
                let x_side = if fit.beta > 0.0 {
                    y_side.opposite()
                } else {
                    y_side
                };
                let x_qty = Decimal::from_f64_retain(fit.beta.abs())
                    .and_then(|b| b.checked_mul(self.qty))
                    .and_then(|q| q.checked_div(self.step))
                    .map(|steps| steps.floor() * self.step)
                    .unwrap_or_default();
                if x_qty <= Decimal::ZERO {
                    return Ok(());
                }
                Open {
                    y_side,
                    x_side,
                    y_qty: self.qty,
                    x_qty,
                }
            }
            _ => return Ok(()),
        };
        self.open = match self.open {
            Some(_) => None,
            None => Some(trade),
        };
        let group: Cow<'static, str> = Cow::Owned(format!("{}:{}", ctx.strategy_id(), ctx.ts_ns()));
        let legs = [
            (0, trade.y_side, trade.y_qty, "y"),
            (1, trade.x_side, trade.x_qty, "x"),
        ];
        for (i, side, qty, name) in legs {
            let mut intent = ctx.intent_on(&self.legs[i].symbol, side, qty, || {
                let mut m = meta(values);
                m.insert("leg".into(), Value::from(name));
                m
            });
            intent.group_id = Some(group.clone());
            intent.group_size = Some(2);
            out.push(intent);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::super::testing::{T0, manager};
    use crate::event::Event;

    fn bar(symbol: &str, close: f64, i: i64) -> Event<'static> {
        super::super::testing::bar(symbol, "1m", &format!("{close:.6}"), i)
    }

    const YAML: &str = "strategies:\n  - {id: p, class: pairs, symbols: [Y/USDT, X/USDT], events: [bar], params: {y: Y/USDT, x: X/USDT, window: 40, entry_z: 2, exit_z: 0.5, qty: 1, step: 0.001}}\n";

    /// A generator of uniform numbers in [−0.5, 0.5), seeded.
    fn uniform(mut s: u64) -> impl FnMut() -> f64 {
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        }
    }

    /// y = 2·x + 5 + AR(1) noise, with one shock that opens a trade and its end that closes
    /// it.
    #[test]
    fn trades_both_legs_of_a_shock_and_closes_them() {
        let mut m = manager(Registry::builtin(), YAML);
        let mut out = Vec::new();
        let mut u = uniform(7);
        let mut noise = 0.0;
        for i in 1..=200i64 {
            let x = 50.0 + 3.0 * (i as f64 / 9.0).sin();
            noise = 0.3 * noise + 0.4 * u();
            let shock = if (150..154).contains(&i) { 4.0 } else { 0.0 };
            let y = 2.0 * x + 5.0 + noise + shock;
            m.on_event(&bar("X/USDT", x, i), &mut out);
            m.on_event(&bar("Y/USDT", y, i), &mut out);
        }
        let legs: Vec<(String, String, String, String)> = out
            .iter()
            .map(|e| match e {
                Event::Intent(i) => (
                    i.symbol.to_string(),
                    i.side.to_string(),
                    i.qty.to_string(),
                    i.group_id.as_deref().unwrap_or("").to_string(),
                ),
                _ => unreachable!(),
            })
            .collect();
        // Trades of two legs sharing a group, opening and closing in turn: a close mirrors
        // its open, with the same quantities.
        assert!(legs.len() >= 4 && legs.len().is_multiple_of(4), "{legs:?}");
        for pair in legs.chunks(2) {
            assert_eq!(
                (pair[0].0.as_str(), pair[1].0.as_str()),
                ("Y/USDT", "X/USDT")
            );
            assert_ne!(pair[0].1, pair[1].1, "β > 0: the legs go opposite ways");
            assert_eq!(pair[0].3, pair[1].3, "one group per trade");
        }
        for trade in legs.chunks(4) {
            assert_ne!(trade[0].1, trade[2].1, "{trade:?}");
            assert_eq!((&trade[1].2, &trade[0].2), (&trade[3].2, &trade[2].2));
            assert_ne!(trade[0].3, trade[2].3);
        }
        // The shock makes the spread rich: sell y, buy about 2 of x.
        let shock = format!("p:{}", T0 + 150 * 60_000_000_000);
        let at = legs
            .iter()
            .position(|l| l.3 == shock)
            .expect("a trade at the shock");
        assert_eq!(
            (legs[at].1.as_str(), legs[at + 1].1.as_str()),
            ("sell", "buy")
        );
        let x_qty: f64 = legs[at + 1].2.parse().unwrap();
        assert!((1.7..2.3).contains(&x_qty), "{x_qty}");
    }

    #[test]
    fn independent_walks_do_not_trade() {
        let mut m = manager(Registry::builtin(), YAML);
        let mut out = Vec::new();
        let (mut x, mut y) = (50.0f64, 100.0f64);
        let mut step = uniform(1);
        for i in 1..=300i64 {
            x += step();
            y += step() * 2.0;
            m.on_event(&bar("X/USDT", x, i), &mut out);
            m.on_event(&bar("Y/USDT", y, i), &mut out);
        }
        assert!(out.is_empty(), "{} intents", out.len());
    }

    #[test]
    fn bad_params_name_their_key() {
        let reg = Registry::builtin();
        let topics = crate::config::Topics::default();
        let parse = |params: &str| {
            let yaml = format!(
                "strategies:\n  - {{id: p, class: pairs, symbols: ['*'], events: [bar], params: {params}}}\n"
            );
            super::super::manager::parse(&yaml, "t.yaml", &reg, &topics)
                .unwrap_err()
                .to_string()
        };
        assert!(parse("{x: A, qty: 1}").contains("`params.y`: required"));
        assert!(parse("{y: A, x: A, qty: 1}").contains("same symbol"));
        assert!(parse("{y: A, x: B, qty: 1, z: 3}").contains("unknown parameter `z`"));
        assert!(parse("{y: A, x: B, qty: 1, entry_z: 1, exit_z: 1}").contains("params.exit_z"));
    }
}
