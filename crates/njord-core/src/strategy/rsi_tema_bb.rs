//! `rsi_tema_bb`: mean reversion confirmed by momentum.
//!
//! Buy when RSI < `rsi_oversold`, the price is below the lower Bollinger band and TEMA is
//! rising (above its previous value); sell when RSI > `rsi_overbought`, the price is above the
//! upper band and TEMA is falling. Every price that meets a condition signals. Indicators are
//! TA-Lib's: Wilder's RSI, TEMA = 3·EMA1 − 3·EMA2 + EMA3 (SMA-seeded EMAs), Bollinger bands
//! on an SMA ± `bb_std` population standard deviations; each is O(1) per price. Nothing is
//! evaluated until all three are ready and TEMA has a previous value.

use super::registry::{Class, ParamError, ParamKind, ParamSpec, ParamValue, Params, QTY, Scope};
use super::{Context, Strategy, StrategyError, meta};
use crate::event::{Event, Intent, Side};
use crate::indicators::{Bands, Bollinger, Rsi, Tema};
use rust_decimal::Decimal;

const PCT: ParamKind = ParamKind::Float {
    min: 0.0,
    max: 100.0,
};

pub const CLASS: Class = Class {
    name: "rsi_tema_bb",
    about: "Buy oversold below the lower Bollinger band on a rising TEMA; sell the mirror image",
    params: &[
        ParamSpec {
            name: "rsi_period",
            kind: ParamKind::Int { min: 2 },
            default: Some(ParamValue::Int(14)),
            help: "period of Wilder's RSI",
        },
        ParamSpec {
            name: "tema_period",
            kind: ParamKind::Int { min: 1 },
            default: Some(ParamValue::Int(9)),
            help: "period of each EMA in TEMA",
        },
        ParamSpec {
            name: "bb_period",
            kind: ParamKind::Int { min: 2 },
            default: Some(ParamValue::Int(20)),
            help: "period of the Bollinger SMA",
        },
        ParamSpec {
            name: "bb_std",
            kind: ParamKind::Float {
                min: 0.0,
                max: f64::INFINITY,
            },
            default: Some(ParamValue::Float(2.0)),
            help: "band width in population standard deviations",
        },
        ParamSpec {
            name: "rsi_oversold",
            kind: PCT,
            default: Some(ParamValue::Float(30.0)),
            help: "buy only below this RSI",
        },
        ParamSpec {
            name: "rsi_overbought",
            kind: PCT,
            default: Some(ParamValue::Float(70.0)),
            help: "sell only above this RSI",
        },
        QTY,
    ],
    build,
    scope: Scope::PerSymbol,
    open: false,
};

fn build(p: &Params) -> Result<Box<dyn Strategy>, ParamError> {
    Ok(Box::new(RsiTemaBb::new(p)?))
}

pub struct RsiTemaBb {
    rsi: Rsi,
    tema: Tema,
    bb: Bollinger,
    prev_tema: Option<f64>,
    oversold: f64,
    overbought: f64,
    qty: Decimal,
}

/// What the indicators say about one price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub rsi: f64,
    pub tema: f64,
    pub prev_tema: f64,
    pub bands: Bands,
}

impl RsiTemaBb {
    /// An instance from validated params ([`Class::params`]).
    pub fn new(p: &Params) -> Result<Self, ParamError> {
        let (oversold, overbought) = (p.float("rsi_oversold")?, p.float("rsi_overbought")?);
        ParamError::unless_below(("rsi_oversold", oversold), ("rsi_overbought", overbought))?;
        Ok(RsiTemaBb {
            rsi: Rsi::new(p.usize("rsi_period")?),
            tema: Tema::new(p.usize("tema_period")?),
            bb: Bollinger::new(p.usize("bb_period")?, p.float("bb_std")?),
            prev_tema: None,
            oversold,
            overbought,
            qty: p.decimal("qty")?,
        })
    }

    /// Feeds one price to every indicator; the reading once all are ready.
    pub fn update(&mut self, price: f64) -> Option<Reading> {
        let rsi = self.rsi.update(price);
        let bands = self.bb.update(price);
        let tema = self.tema.update(price)?;
        let prev_tema = self.prev_tema.replace(tema)?;
        Some(Reading {
            rsi: rsi?,
            tema,
            prev_tema,
            bands: bands?,
        })
    }

    /// The signal a reading gives at `price`.
    pub fn signal(&self, price: f64, r: &Reading) -> Option<Side> {
        if r.rsi < self.oversold && price < r.bands.lower && r.tema > r.prev_tema {
            Some(Side::Buy)
        } else if r.rsi > self.overbought && price > r.bands.upper && r.tema < r.prev_tema {
            Some(Side::Sell)
        } else {
            None
        }
    }
}

impl Strategy for RsiTemaBb {
    fn on_event(
        &mut self,
        _ev: &Event<'_>,
        ctx: &Context<'_>,
        out: &mut Vec<Intent<'static>>,
    ) -> Result<(), StrategyError> {
        let price = ctx.price_f64();
        let Some(r) = self.update(price) else {
            return Ok(());
        };
        if let Some(side) = self.signal(price, &r) {
            out.push(ctx.intent(side, self.qty, || {
                meta([
                    ("rsi", r.rsi),
                    ("tema", r.tema),
                    ("tema_prev", r.prev_tema),
                    ("bb_lower", r.bands.lower),
                    ("bb_middle", r.bands.middle),
                    ("bb_upper", r.bands.upper),
                ])
            }));
        }
        Ok(())
    }
}
