//! The TA-Lib features against TA-Lib itself: `tests/golden/features_talib_*.csv`, written by
//! `scripts/ta_golden.py` from a generated bar series (with a flat stretch) and a market series.

use super::*;
use crate::indicators::tests::{check, golden};

/// Where TA-Lib writes 0 for a value that is undefined because a window is flat, the feature
/// gives `None`: counts those places, and reads them as TA-Lib's 0 for the check.
fn undefined_as_zero(
    got: &[Option<f64>],
    flat: impl Fn(usize) -> bool,
) -> (Vec<Option<f64>>, usize) {
    let mut count = 0;
    let got = got
        .iter()
        .enumerate()
        .map(|(i, g)| match g {
            None if flat(i) => {
                count += 1;
                Some(0.0)
            }
            g => *g,
        })
        .collect();
    (got, count)
}

/// Whether the `n` values of `xs` that end at `i` are all equal.
fn flat(xs: &[f64], i: usize, n: usize) -> bool {
    i + 1 >= n && xs[i + 1 - n..=i].iter().all(|x| *x == xs[i])
}

fn against_talib(text: &str) {
    let (p, cols) = golden(text);
    let n = |k: &str| p[k] as usize;
    let col = |k: &str| -> Vec<f64> { cols[k].iter().map(|v| v.unwrap()).collect() };
    let (open, high, low, close) = (col("open"), col("high"), col("low"), col("close"));
    let (volume, market) = (col("volume"), col("market"));
    let bars: Vec<Ohlc> = (0..close.len())
        .map(|i| Ohlc {
            open: open[i],
            high: high[i],
            low: low[i],
            close: close[i],
        })
        .collect();
    let each = |f: &mut dyn FnMut(usize) -> Option<f64>| (0..bars.len()).map(f).collect::<Vec<_>>();

    let mut atr = Atr::new(n("atr"));
    check("atr", &each(&mut |i| atr.update(bars[i])), &cols["atr"]);

    let mut macd = Macd::new(n("macd_fast"), n("macd_slow"), n("macd_signal"));
    let m: Vec<_> = close.iter().map(|&c| macd.update(c)).collect();
    check("macd", &each(&mut |i| m[i].map(|v| v.macd)), &cols["macd"]);
    check(
        "macd_signal",
        &each(&mut |i| m[i].map(|v| v.signal)),
        &cols["macd_signal"],
    );
    check(
        "macd_hist",
        &each(&mut |i| m[i].map(|v| v.hist)),
        &cols["macd_hist"],
    );

    let mut stoch = Stochastic::new(n("stoch_k"), n("stoch_slowk"), n("stoch_slowd"));
    let s: Vec<_> = bars.iter().map(|&b| stoch.update(b)).collect();
    check("slowk", &each(&mut |i| s[i].map(|v| v.k)), &cols["slowk"]);
    check("slowd", &each(&mut |i| s[i].map(|v| v.d)), &cols["slowd"]);

    let mut adx = Adx::new(n("adx"));
    let d: Vec<_> = bars.iter().map(|&b| adx.update(b)).collect();
    check(
        "adx",
        &each(&mut |i| d[i].and_then(|v| v.adx)),
        &cols["adx"],
    );
    check(
        "plus_di",
        &each(&mut |i| d[i].map(|v| v.plus_di)),
        &cols["plus_di"],
    );
    check(
        "minus_di",
        &each(&mut |i| d[i].map(|v| v.minus_di)),
        &cols["minus_di"],
    );

    let mut obv = Obv::default();
    check(
        "obv",
        &each(&mut |i| obv.update(close[i], volume[i])),
        &cols["obv"],
    );

    let k = n("correl");
    let mut correl = RollingCorrelation::new(k);
    let (got, flats) = undefined_as_zero(&each(&mut |i| correl.update(close[i], market[i])), |i| {
        flat(&close, i, k) || flat(&market, i, k)
    });
    assert!(flats > 0, "the golden has flat windows for CORREL");
    check("correl", &got, &cols["correl"]);

    // n returns need n + 1 prices: the market's returns are flat where its prices are.
    let k = n("beta");
    let mut beta = RollingBeta::new(k);
    let (got, flats) = undefined_as_zero(&each(&mut |i| beta.update(market[i], close[i])), |i| {
        flat(&market, i, k + 1)
    });
    assert!(flats > 0, "the golden has flat windows for BETA");
    check("beta", &got, &cols["beta"]);

    let mut returns = Returns::default();
    check(
        "rocp",
        &each(&mut |i| returns.update(close[i])),
        &cols["rocp"],
    );
}

#[test]
fn agrees_with_talib_on_generated_bars() {
    against_talib(include_str!(
        "../../../../tests/golden/features_talib_a.csv"
    ));
    against_talib(include_str!(
        "../../../../tests/golden/features_talib_b.csv"
    ));
}
