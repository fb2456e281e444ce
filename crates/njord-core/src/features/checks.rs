//! Properties of the bar, volume and pair features: no look-ahead, bad inputs left out, and
//! each windowed value equal to its formula recomputed from scratch where TA-Lib has no
//! equivalent (VWAP, the imbalances) or gives 0 for an undefined value (correlation, beta).

use super::*;
use crate::event::{Book, Level, Side, Trade};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::fmt::Debug;

/// One step of the generated streams: a bar with its volume, a market price, and a trade.
#[derive(Debug, Clone, Copy)]
struct Tick {
    bar: Ohlc,
    volume: f64,
    market: f64,
    side: Side,
    qty: f64,
}

/// A walk of bars and a market walk, some steps flat, some volumes and quantities 0.
fn ticks() -> impl Strategy<Value = Vec<Tick>> {
    let step = || prop_oneof![1 => Just(0.0), 3 => -0.05f64..0.05];
    let size = || prop_oneof![1 => Just(0.0), 4 => 0.0f64..1000.0];
    let tick = (
        step(),
        0.0f64..0.02,
        0.0f64..0.02,
        size(),
        step(),
        any::<bool>(),
        size(),
    );
    proptest::collection::vec(tick, 1..150).prop_map(|steps| {
        let (mut open, mut market) = (100.0, 20.0);
        steps
            .into_iter()
            .map(|(r, up, down, volume, m, buy, qty)| {
                let close = open * (1.0 + r);
                market *= 1.0 + m;
                let tick = Tick {
                    bar: Ohlc {
                        open,
                        high: open.max(close) * (1.0 + up),
                        low: open.min(close) * (1.0 - down),
                        close,
                    },
                    volume,
                    market,
                    side: if buy { Side::Buy } else { Side::Sell },
                    qty,
                };
                open = close;
                tick
            })
            .collect()
    })
}

/// A step every feature must leave out.
const GARBAGE: Tick = Tick {
    bar: Ohlc {
        open: 1.0,
        high: 2.0,
        low: 0.5,
        close: f64::NAN,
    },
    volume: -1.0,
    market: f64::INFINITY,
    side: Side::Buy,
    qty: f64::NAN,
};

/// A feature's values over the ticks, printed (so that values compare bit for bit and
/// features of different shapes sit in one table).
type Feature = (&'static str, fn(&[Tick]) -> Vec<String>);

fn each<T: Debug>(ticks: &[Tick], mut f: impl FnMut(&Tick) -> Option<T>) -> Vec<String> {
    ticks.iter().map(|t| format!("{:?}", f(t))).collect()
}

const FEATURES: [Feature; 9] = [
    ("atr", |t| {
        let mut f = Atr::new(5);
        each(t, |x| f.update(x.bar))
    }),
    ("macd", |t| {
        let mut f = Macd::new(3, 6, 4);
        each(t, |x| f.update(x.bar.close))
    }),
    ("stochastic", |t| {
        let mut f = Stochastic::new(4, 3, 2);
        each(t, |x| f.update(x.bar))
    }),
    ("adx", |t| {
        let mut f = Adx::new(4);
        each(t, |x| f.update(x.bar))
    }),
    ("obv", |t| {
        let mut f = Obv::default();
        each(t, |x| f.update(x.bar.close, x.volume))
    }),
    ("vwap", |t| {
        let mut f = Vwap::new(5);
        each(t, |x| f.update(x.bar, x.volume))
    }),
    ("trade_imbalance", |t| {
        let mut f = TradeImbalance::new(5);
        each(t, |x| f.update(x.side, x.qty))
    }),
    ("correlation", |t| {
        let mut f = RollingCorrelation::new(5);
        each(t, |x| f.update(x.bar.close, x.market))
    }),
    ("beta", |t| {
        let mut f = RollingBeta::new(4);
        each(t, |x| f.update(x.market, x.bar.close))
    }),
];

fn near(got: Option<f64>, want: Option<f64>, tol: f64) -> bool {
    match (got, want) {
        (Some(g), Some(w)) => (g - w).abs() <= tol * w.abs().max(1.0),
        (g, w) => g.is_none() && w.is_none(),
    }
}

/// Population mean and the sum of squared deviations, two-pass.
fn spread(xs: &[f64]) -> (f64, f64) {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (mean, xs.iter().map(|x| (x - mean) * (x - mean)).sum())
}

fn covariance(xs: &[f64], ys: &[f64]) -> f64 {
    let (mx, my) = (spread(xs).0, spread(ys).0);
    xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum()
}

fn is_flat(xs: &[f64]) -> bool {
    xs.iter().all(|x| *x == xs[0])
}

proptest! {
    /// A feature's values up to t are the same whether the stream ends at t or goes on.
    #[test]
    fn no_feature_looks_ahead(ticks in ticks(), cut in 0usize..150) {
        let t = cut.min(ticks.len());
        for (name, f) in FEATURES {
            let whole = f(&ticks);
            let cut = f(&ticks[..t]);
            prop_assert_eq!(&whole[..t], &cut[..], "{} at {}", name, t);
        }
    }

    /// A step with a NaN close, a negative volume, an infinite market price and a NaN quantity
    /// gives `None` and changes nothing: the other values are as without it.
    #[test]
    fn bad_inputs_are_left_out(ticks in ticks(), at in proptest::collection::vec(0usize..150, 1..4)) {
        let mut at: Vec<usize> = at.into_iter().map(|i| i.min(ticks.len())).collect();
        at.sort_unstable();
        // Where the garbage lands, each insertion shifting the later ones by one.
        let garbage: Vec<usize> = at.iter().enumerate().map(|(k, i)| i + k).collect();
        let mut dirty = ticks.clone();
        for &g in &garbage {
            dirty.insert(g, GARBAGE);
        }
        for (name, f) in FEATURES {
            let got = f(&dirty);
            for &g in &garbage {
                prop_assert_eq!(&got[g], "None", "{} at {}", name, g);
            }
            let kept: Vec<String> = got
                .into_iter()
                .enumerate()
                .filter(|(j, _)| !garbage.contains(j))
                .map(|(_, v)| v)
                .collect();
            prop_assert_eq!(kept, f(&ticks), "{}", name);
        }
    }

    /// VWAP, the trade imbalance, correlation and beta are their formulas over the window,
    /// recomputed from scratch (correlation and beta two-pass, and `None` exactly where a
    /// window is flat).
    #[test]
    fn windows_are_their_formulas(ticks in ticks()) {
        let n = 5;
        let mut vwap = Vwap::new(n);
        let mut imbalance = TradeImbalance::new(n);
        let mut correl = RollingCorrelation::new(n);
        let mut beta = RollingBeta::new(n);
        let close: Vec<f64> = ticks.iter().map(|t| t.bar.close).collect();
        let market: Vec<f64> = ticks.iter().map(|t| t.market).collect();
        let ret = |xs: &[f64]| -> Vec<f64> { xs.windows(2).map(|w| (w[1] - w[0]) / w[0]).collect() };
        let (rc, rm) = (ret(&close), ret(&market));
        for (i, t) in ticks.iter().enumerate() {
            let v = vwap.update(t.bar, t.volume);
            let m = imbalance.update(t.side, t.qty);
            let c = correl.update(t.bar.close, t.market);
            let b = beta.update(t.market, t.bar.close);
            if i + 1 < n {
                prop_assert!(v.is_none() && m.is_none() && c.is_none() && b.is_none());
                continue;
            }
            let w = &ticks[i + 1 - n..=i];
            let volume: f64 = w.iter().map(|t| t.volume).sum();
            let want = (volume > 0.0).then(|| {
                w.iter()
                    .map(|t| (t.bar.high + t.bar.low + t.bar.close) / 3.0 * t.volume)
                    .sum::<f64>()
                    / volume
            });
            prop_assert!(near(v.map(|v| v.vwap), want, 1e-9), "vwap {}: {:?} vs {:?}", i, v, want);
            let dev = want.map(|vw| (t.bar.close - vw) / vw);
            prop_assert!(near(v.map(|v| v.deviation), dev, 1e-9), "deviation {}", i);

            let qty: f64 = w.iter().map(|t| t.qty).sum();
            let signed: f64 = w
                .iter()
                .map(|t| if t.side == Side::Buy { t.qty } else { -t.qty })
                .sum();
            let want = (qty > 0.0).then(|| signed / qty);
            prop_assert!(near(m, want, 1e-9), "imbalance {}: {:?} vs {:?}", i, m, want);

            let (xs, ys) = (&close[i + 1 - n..=i], &market[i + 1 - n..=i]);
            let want = (!is_flat(xs) && !is_flat(ys))
                .then(|| covariance(xs, ys) / (spread(xs).1 * spread(ys).1).sqrt());
            prop_assert!(near(c, want, 1e-9), "correlation {}: {:?} vs {:?}", i, c, want);

            if i >= n {
                let (xs, ys) = (&rm[i - n..i], &rc[i - n..i]);
                let want = (!is_flat(xs)).then(|| covariance(xs, ys) / spread(xs).1);
                prop_assert!(near(b, want, 1e-9), "beta {}: {:?} vs {:?}", i, b, want);
            } else {
                prop_assert!(b.is_none());
            }
        }
    }

    /// The book imbalance is its formula over the top levels, summed exactly in decimals;
    /// the levels of a book share a scale or (`scale` None) each has its own.
    #[test]
    fn book_imbalance_is_its_formula(
        bids in proptest::collection::vec((-10i64..10_000_000, 0u32..8), 0..12),
        asks in proptest::collection::vec((-10i64..10_000_000, 0u32..8), 0..12),
        depth in 0usize..15,
        scale in proptest::option::of(0u32..8),
    ) {
        let levels = |qs: &[(i64, u32)]| -> Vec<Level> {
            qs.iter()
                .map(|&(m, s)| Level { price: Decimal::ONE, qty: Decimal::new(m, scale.unwrap_or(s)) })
                .collect()
        };
        let book = Book {
            venue: Cow::Borrowed("v"),
            symbol: Cow::Borrowed("X/Y"),
            bids: levels(&bids),
            asks: levels(&asks),
            checksum: None,
            ts_ns: 0,
        };
        let sum = |ls: &[Level]| {
            ls.iter().take(depth).map(|l| l.qty.max(Decimal::ZERO)).sum::<Decimal>()
        };
        let (b, a) = (sum(&book.bids), sum(&book.asks));
        let want = (b + a > Decimal::ZERO)
            .then(|| crate::num::nearest_f64(b - a) / crate::num::nearest_f64(b + a));
        prop_assert!(near(book_imbalance(&book, depth), want, 1e-12));
    }
}

#[test]
fn bars_that_are_not_bars_are_left_out() {
    let bar = |open, high, low, close| Ohlc {
        open,
        high,
        low,
        close,
    };
    let good = bar(10.0, 11.0, 9.0, 10.5);
    let bad = [
        bar(10.0, 10.2, 9.0, 10.5),  // high below the close
        bar(10.0, 11.0, 10.2, 10.5), // low above the open
        bar(10.0, 11.0, 0.0, 10.5),
        bar(-10.0, 11.0, -12.0, 10.5),
        bar(10.0, f64::INFINITY, 9.0, 10.5),
        bar(f64::NAN, 11.0, 9.0, 10.5),
    ];
    for b in bad {
        let mut atr = Atr::new(1);
        atr.update(good);
        assert_eq!(atr.update(b), None, "{b:?}");
        let mut stoch = Stochastic::new(1, 1, 1);
        assert_eq!(stoch.update(b), None, "{b:?}");
        let mut adx = Adx::new(1);
        adx.update(good);
        assert_eq!(adx.update(b), None, "{b:?}");
        assert_eq!(Vwap::new(1).update(b, 1.0), None, "{b:?}");
    }
    assert_eq!(Obv::default().update(10.0, -1.0), None);
    assert_eq!(Obv::default().update(10.0, 3.0), Some(3.0));
}

#[test]
fn undefined_values_give_none() {
    let mut t = TradeImbalance::new(2);
    assert_eq!(t.update(Side::Buy, 0.0), None);
    assert_eq!(t.update(Side::Sell, 0.0), None, "no volume in the window");
    assert_eq!(t.update(Side::Sell, 2.0), Some(-1.0));
    let mut v = Vwap::new(1);
    assert_eq!(
        v.update(
            Ohlc {
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0
            },
            0.0
        ),
        None
    );
    let mut c = RollingCorrelation::new(3);
    let got: Vec<_> = [(1.0, 5.0), (2.0, 5.0), (3.0, 5.0), (4.0, 6.0)]
        .map(|(x, y)| c.update(x, y))
        .into();
    assert_eq!(got[..3], [None, None, None], "y flat");
    assert!(
        (got[3].unwrap() - 0.8660254037844387).abs() < 1e-12,
        "{got:?}"
    );
    // A price of 0 makes a return of 0, as in TA-Lib, and nothing panics.
    let mut b = RollingBeta::new(2);
    let got: Vec<_> = [(0.0, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
        .map(|(x, y)| b.update(x, y))
        .into();
    assert_eq!(got[..2], [None, None]);
    // Returns of x: 0, 1, 1 (flat over the last two); of y: 1, 1, 0.5.
    assert_eq!(got[2], Some(0.0));
    assert_eq!(got[3], None);
    let empty = Book {
        venue: Cow::Borrowed(""),
        symbol: Cow::Borrowed("X/Y"),
        bids: vec![],
        asks: vec![],
        checksum: None,
        ts_ns: 0,
    };
    assert_eq!(book_imbalance(&empty, 5), None);
}

#[test]
fn macd_takes_its_periods_in_either_order() {
    let (mut a, mut b) = (Macd::new(12, 26, 9), Macd::new(26, 12, 9));
    for i in 0..60 {
        let x = 10.0 + (i as f64 / 5.0).sin();
        assert_eq!(a.update(x), b.update(x));
    }
    assert!(a.update(10.0).is_some());
}

#[test]
fn trade_events_count_by_taker_side() {
    let trade = |side, qty: &str| Trade {
        venue: Cow::Borrowed("v"),
        symbol: Cow::Borrowed("X/Y"),
        trade_id: Cow::Borrowed("1"),
        price: Decimal::ONE,
        qty: qty.parse().unwrap(),
        side,
        ts_ns: 0,
        ts_local_ns: None,
    };
    let mut t = TradeImbalance::new(2);
    assert_eq!(t.trade(&trade(Side::Buy, "3")), None);
    assert_eq!(t.trade(&trade(Side::Sell, "1")), Some(0.5));
    assert_eq!(t.trade(&trade(Side::Sell, "1")), Some(-1.0));
}
