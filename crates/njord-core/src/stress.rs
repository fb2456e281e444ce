//! What a stress scenario does to a trade tape (`transforms:` of a scenario file): a price
//! shock and its recovery, a gap, a wider spread, thinner liquidity, missing ticks. Times are
//! offsets from the tape's first trade (`30s`, `10m`, `2h`); arithmetic is in exact decimals,
//! each price and quantity rounded back to its own number of decimals (half to even) and kept
//! at least one unit of it, so the same tape and transforms give the same bytes.
//!
//! Transforms apply in the order written, each to the prices the ones before it left.

use crate::event::{Side, Trade};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer};

/// A time offset from the tape's first trade, in ns (`0s`, `90s`, `10m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset(pub i64);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_offset(&s)
            .map(Offset)
            .map_err(serde::de::Error::custom)
    }
}

/// `0s` (or `0`) or a positive interval (`30s`, `5m`, `1h`, `1d`).
pub fn parse_offset(s: &str) -> Result<i64, String> {
    match s.trim() {
        "0" | "0s" | "0m" | "0h" | "0d" | "0w" => Ok(0),
        t => crate::backtest::metrics::parse_interval(t),
    }
}

/// One change to the tape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "transform", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// Prices move by `change` (−0.3 = −30 %) linearly over `over` from `at`, stay there for
    /// `hold`, then come back linearly over `recover` (never, without it).
    Shock {
        at: Offset,
        change: Decimal,
        over: Offset,
        #[serde(default = "no_time")]
        hold: Offset,
        #[serde(default)]
        recover: Option<Offset>,
    },
    /// Prices jump by `change` at `at` and stay there.
    Gap { at: Offset, change: Decimal },
    /// Trades in `[at, at + for)` print `bps` further apart: buys `bps / 2` higher, sells
    /// `bps / 2` lower.
    Spread {
        at: Offset,
        #[serde(rename = "for")]
        span: Offset,
        bps: Decimal,
    },
    /// Trade sizes in `[at, at + for)` are multiplied by `factor` (0 < factor ≤ 1).
    Liquidity {
        at: Offset,
        #[serde(rename = "for")]
        span: Offset,
        factor: Decimal,
    },
    /// Trades in `[at, at + for)` are dropped.
    Missing {
        at: Offset,
        #[serde(rename = "for")]
        span: Offset,
    },
}

fn no_time() -> Offset {
    Offset(0)
}

/// The largest `change` of a shock or a gap (×101).
pub const MAX_CHANGE: u32 = 100;

impl Transform {
    /// Checks the values a transform's arithmetic needs.
    pub fn check(&self) -> Result<(), String> {
        let above_minus_one = |c: Decimal| {
            if c > -Decimal::ONE && c <= Decimal::from(MAX_CHANGE) {
                Ok(())
            } else {
                Err(format!(
                    "change {c} must be above -1 (a price stays positive) and at most {MAX_CHANGE}"
                ))
            }
        };
        match self {
            Transform::Shock { change, over, .. } => {
                above_minus_one(*change)?;
                if over.0 <= 0 {
                    return Err("a shock needs `over` above 0s".into());
                }
                Ok(())
            }
            Transform::Gap { change, .. } => above_minus_one(*change),
            Transform::Spread { bps, .. } => {
                if *bps >= Decimal::ZERO && *bps < Decimal::from(20_000) {
                    Ok(())
                } else {
                    Err(format!("spread bps {bps} must be from 0 to below 20000"))
                }
            }
            Transform::Liquidity { factor, .. } => {
                if *factor > Decimal::ZERO && *factor <= Decimal::ONE {
                    Ok(())
                } else {
                    Err(format!(
                        "liquidity factor {factor} must be above 0 and at most 1"
                    ))
                }
            }
            Transform::Missing { .. } => Ok(()),
        }
    }

    /// The factor on a price at offset `t`, for the transforms that move prices.
    fn price_factor(&self, t: i64, side: Side) -> Decimal {
        let frac = |num: i64, den: i64| Decimal::from(num) / Decimal::from(den);
        match *self {
            Transform::Shock {
                at,
                change,
                over,
                hold,
                recover,
            } => {
                let t = t - at.0;
                if t < 0 {
                    return Decimal::ONE;
                }
                if t < over.0 {
                    return Decimal::ONE + change * frac(t, over.0);
                }
                let back = t - over.0 - hold.0;
                match recover {
                    _ if back < 0 => Decimal::ONE + change,
                    None => Decimal::ONE + change,
                    Some(r) if back < r.0 => {
                        Decimal::ONE + change * (Decimal::ONE - frac(back, r.0))
                    }
                    Some(_) => Decimal::ONE,
                }
            }
            Transform::Gap { at, change } if t >= at.0 => Decimal::ONE + change,
            Transform::Spread { at, span, bps } if within(t, at, span) => {
                let half = bps / Decimal::from(20_000);
                match side {
                    Side::Buy => Decimal::ONE + half,
                    Side::Sell => Decimal::ONE - half,
                }
            }
            _ => Decimal::ONE,
        }
    }
}

fn within(t: i64, at: Offset, span: Offset) -> bool {
    t >= at.0 && t - at.0 < span.0
}

/// `x` rounded to `scale` decimals, at least one unit of that scale.
fn round_positive(x: Decimal, scale: u32) -> Decimal {
    let unit = Decimal::new(1, scale);
    x.round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven)
        .max(unit)
}

/// The tape after `transforms` (checked first), offsets counted from its first trade.
pub fn apply(
    trades: Vec<Trade<'static>>,
    transforms: &[Transform],
) -> Result<Vec<Trade<'static>>, String> {
    for (i, t) in transforms.iter().enumerate() {
        t.check().map_err(|e| format!("transforms[{i}]: {e}"))?;
    }
    let Some(first) = trades.iter().map(|t| t.ts_ns).min() else {
        return Ok(trades);
    };
    let mut out = Vec::with_capacity(trades.len());
    'trades: for mut trade in trades {
        // `first` is the smallest time: the difference is only too large for i64 when the
        // tape spans centuries, where every offset has long passed.
        let t = trade.ts_ns.checked_sub(first).unwrap_or(i64::MAX);
        let too_large = |what: &str, v: Decimal| {
            format!(
                "trade {}: its {what} {v} moved by the transforms is beyond exact decimals",
                trade.trade_id
            )
        };
        for tf in transforms {
            match *tf {
                Transform::Missing { at, span } if within(t, at, span) => continue 'trades,
                Transform::Liquidity { at, span, factor } if within(t, at, span) => {
                    let qty = trade
                        .qty
                        .checked_mul(factor)
                        .ok_or_else(|| too_large("size", trade.qty))?;
                    trade.qty = round_positive(qty, trade.qty.scale());
                }
                _ => {
                    let f = tf.price_factor(t, trade.side);
                    if f != Decimal::ONE {
                        let price = trade
                            .price
                            .checked_mul(f)
                            .ok_or_else(|| too_large("price", trade.price))?;
                        trade.price = round_positive(price, trade.price.scale());
                    }
                }
            }
        }
        out.push(trade);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn tape(prices: &[&str]) -> Vec<Trade<'static>> {
        prices
            .iter()
            .enumerate()
            .map(|(i, p)| Trade {
                venue: Cow::Borrowed("sim"),
                symbol: Cow::Borrowed("ATOM/USDT"),
                trade_id: Cow::Owned(i.to_string()),
                price: p.parse().unwrap(),
                qty: "2.50".parse().unwrap(),
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                ts_ns: 1_000 + i as i64 * 1_000_000_000,
                ts_local_ns: None,
            })
            .collect()
    }

    fn parse(yaml: &str) -> Vec<Transform> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn prices(t: &[Trade]) -> Vec<String> {
        t.iter().map(|t| t.price.to_string()).collect()
    }

    #[test]
    fn a_shock_ramps_holds_and_recovers_by_hand() {
        let t = tape(&["10.000"; 9]);
        let tf =
            parse("- {transform: shock, at: 1s, change: -0.3, over: 2s, hold: 1s, recover: 4s}\n");
        // t=0: before; 1: start; 2: half way (−15 %); 3,4: −30 %; 5: a quarter back
        // (−22.5 %); 6: −15 %; 7: −7.5 %; 8: back.
        assert_eq!(
            prices(&apply(t, &tf).unwrap()),
            [
                "10.000", "10.000", "8.500", "7.000", "7.000", "7.750", "8.500", "9.250", "10.000"
            ]
        );
        let never = parse("- {transform: shock, at: 0s, change: 0.5, over: 1s}\n");
        assert_eq!(
            prices(&apply(tape(&["2.00"; 3]), &never).unwrap()),
            ["2.00", "3.00", "3.00"]
        );
    }

    #[test]
    fn gaps_spreads_liquidity_and_missing_ticks() {
        let tf = parse(concat!(
            "- {transform: gap, at: 2s, change: 0.1}\n",
            "- {transform: spread, at: 1s, for: 2s, bps: 100}\n",
            "- {transform: liquidity, at: 3s, for: 1s, factor: 0.1}\n",
            "- {transform: missing, at: 4s, for: 1s}\n",
        ));
        let out = apply(tape(&["10.00"; 6]), &tf).unwrap();
        // t=1 a sell 0.5 % lower; t=2 a buy gapped up 10 % then 0.5 % higher; t=4 dropped.
        assert_eq!(prices(&out), ["10.00", "9.95", "11.06", "11.00", "11.00"]);
        let qty: Vec<String> = out.iter().map(|t| t.qty.to_string()).collect();
        assert_eq!(qty, ["2.50", "2.50", "2.50", "0.25", "2.50"]);
        assert_eq!(out[4].trade_id, "5");
    }

    #[test]
    fn prices_and_sizes_stay_positive_and_bad_values_are_refused() {
        let tf = parse("- {transform: shock, at: 0s, change: -0.999, over: 1s}\n");
        assert_eq!(
            prices(&apply(tape(&["0.01"; 2]), &tf).unwrap()),
            ["0.01", "0.01"]
        );
        let thin = parse("- {transform: liquidity, at: 0s, for: 1h, factor: 0.0001}\n");
        assert!(apply(tape(&["1"]), &thin).unwrap()[0].qty == "0.01".parse().unwrap());
        for (yaml, want) in [
            ("- {transform: gap, at: 0s, change: -1}\n", "above -1"),
            ("- {transform: gap, at: 0s, change: 1e20}\n", "at most 100"),
            (
                "- {transform: shock, at: 0s, change: 0.1, over: 0s}\n",
                "`over` above 0s",
            ),
            (
                "- {transform: spread, at: 0s, for: 1s, bps: -1}\n",
                "from 0",
            ),
            (
                "- {transform: liquidity, at: 0s, for: 1s, factor: 2}\n",
                "at most 1",
            ),
        ] {
            let e = apply(tape(&["1"]), &parse(yaml)).unwrap_err();
            assert!(e.starts_with("transforms[0]: ") && e.contains(want), "{e}");
        }
        let e =
            serde_saphyr::from_str::<Vec<Transform>>("- {transform: gap, at: soon, change: 1}\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("soon"), "{e}");
    }
}
