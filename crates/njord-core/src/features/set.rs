//! Features from configuration, and the forward labels of training rows.
//!
//! A [`FeatureSet`] is a list of named features read from configuration (a YAML list of
//! `{name, feature, window}`), updated one bar at a time; it gives a row of values, in the
//! list's order, once every feature has one. The same set feeds `njord-strat features` (rows
//! for training) and a model strategy (rows to score), so both see the same numbers.
//!
//! A [`Labeler`] pairs the row of bar t with its [`Label`]s, which look h bars ahead: it holds
//! rows back until bar t + h arrives, so the last h rows of a series never get a label.
//! [`check_leakage`] refuses a set of columns where a label column equals a feature column.

use super::{
    Adx, Atr, CloseToCloseVol, GarmanKlassVol, LogReturns, Macd, Obv, Ohlc, ParkinsonVol, Returns,
    Stochastic, Vwap, ZScore,
};
use crate::indicators::{Ema, EmaSeed, Rsi};
use serde_json::{Map, Value};

/// A bar's prices and volume: what a [`FeatureSet`] is updated with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlcv {
    pub ohlc: Ohlc,
    /// The volume traded in the bar, for volume features.
    pub volume: f64,
}

impl Ohlcv {
    /// A bar event's prices and volume.
    pub fn of_bar(b: &crate::event::Bar<'_>) -> Self {
        use crate::num::nearest_f64;
        Ohlcv {
            ohlc: Ohlc {
                open: nearest_f64(b.open),
                high: nearest_f64(b.high),
                low: nearest_f64(b.low),
                close: nearest_f64(b.close),
            },
            volume: nearest_f64(b.volume),
        }
    }

    /// A bar of one price: a trade.
    pub fn of_price(price: f64, volume: f64) -> Self {
        Ohlcv {
            ohlc: Ohlc {
                open: price,
                high: price,
                low: price,
                close: price,
            },
            volume,
        }
    }
}

/// One configured feature: its state and how a bar updates it.
type Calc = Box<dyn FnMut(&Ohlcv) -> Option<f64> + Send>;

fn calc<S: Send + 'static>(mut state: S, update: fn(&mut S, &Ohlcv) -> Option<f64>) -> Calc {
    Box::new(move |bar| update(&mut state, bar))
}

/// The longest window a feature may have, so a typo cannot ask for terabytes.
pub const MAX_WINDOW: u64 = 1_000_000;

/// Every feature a set can name, as its `feature` key spells it.
pub const FEATURES: [&str; 19] = [
    "returns",
    "log_returns",
    "zscore",
    "close_to_close_vol",
    "parkinson_vol",
    "garman_klass_vol",
    "rsi",
    "ema_gap",
    "atr",
    "macd",
    "macd_signal",
    "macd_hist",
    "stoch_k",
    "stoch_d",
    "adx",
    "plus_di",
    "minus_di",
    "obv",
    "vwap_dev",
];

/// The feature named `feature`, its parameters read through `p`. A new feature is one arm
/// here (and its name in [`FEATURES`]).
fn build(feature: &str, p: &mut Params<'_>) -> Result<Calc, (String, String)> {
    Ok(match feature {
        "returns" => calc(Returns::default(), |f, b| f.update(b.ohlc.close)),
        "log_returns" => calc(LogReturns::default(), |f, b| f.update(b.ohlc.close)),
        "zscore" => calc(ZScore::new(p.window(2)?), |f, b| f.update(b.ohlc.close)),
        "close_to_close_vol" => calc(CloseToCloseVol::new(p.window(2)?), |f, b| {
            f.update(b.ohlc.close)
        }),
        "parkinson_vol" => calc(ParkinsonVol::new(p.window(1)?), |f, b| f.update(b.ohlc)),
        "garman_klass_vol" => calc(GarmanKlassVol::new(p.window(1)?), |f, b| f.update(b.ohlc)),
        "rsi" => calc(Rsi::new(p.window(1)?), |f, b| f.update(b.ohlc.close)),
        "ema_gap" => calc(Ema::new(p.window(1)?, EmaSeed::Sma), |f, b| {
            let ema = f.update(b.ohlc.close)?;
            (ema != 0.0).then(|| b.ohlc.close / ema - 1.0)
        }),
        "atr" => calc(Atr::new(p.window(1)?), |f, b| f.update(b.ohlc)),
        "macd" | "macd_signal" | "macd_hist" => {
            let (fast, slow, signal) = (
                p.period("fast", 12)?,
                p.period("slow", 26)?,
                p.period("signal", 9)?,
            );
            let macd = Macd::new(fast, slow, signal);
            match feature {
                "macd" => calc(macd, |f, b| Some(f.update(b.ohlc.close)?.macd)),
                "macd_signal" => calc(macd, |f, b| Some(f.update(b.ohlc.close)?.signal)),
                _ => calc(macd, |f, b| Some(f.update(b.ohlc.close)?.hist)),
            }
        }
        "stoch_k" | "stoch_d" => {
            let stoch = Stochastic::new(
                p.period("fast_k", 5)?,
                p.period("slow_k", 3)?,
                p.period("slow_d", 3)?,
            );
            if feature == "stoch_k" {
                calc(stoch, |f, b| Some(f.update(b.ohlc)?.k))
            } else {
                calc(stoch, |f, b| Some(f.update(b.ohlc)?.d))
            }
        }
        "adx" => calc(Adx::new(p.window(1)?), |f, b| f.update(b.ohlc)?.adx),
        "plus_di" => calc(Adx::new(p.window(1)?), |f, b| {
            Some(f.update(b.ohlc)?.plus_di)
        }),
        "minus_di" => calc(Adx::new(p.window(1)?), |f, b| {
            Some(f.update(b.ohlc)?.minus_di)
        }),
        "obv" => calc(Obv::default(), |f, b| f.update(b.ohlc.close, b.volume)),
        "vwap_dev" => calc(Vwap::new(p.window(1)?), |f, b| {
            Some(f.update(b.ohlc, b.volume)?.deviation)
        }),
        other => {
            return Err((
                p.key("feature"),
                format!("unknown feature `{other}` (known: {})", FEATURES.join(", ")),
            ));
        }
    })
}

/// The keys of one list entry, remembering which the feature read: any other is an error.
struct Params<'a> {
    at: usize,
    obj: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl Params<'_> {
    fn key(&self, k: &str) -> String {
        format!("features[{}].{k}", self.at)
    }

    /// The required `window`: a whole number of bars from `min` to [`MAX_WINDOW`].
    fn window(&mut self, min: u64) -> Result<usize, (String, String)> {
        self.used.push("window");
        let want = format!("a whole number of bars from {min} to {MAX_WINDOW}");
        match self.obj.get("window") {
            None => Err((self.key("window"), format!("required: {want}"))),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=MAX_WINDOW).contains(&n) => Ok(n as usize),
                _ => Err((self.key("window"), format!("expected {want}, found `{v}`"))),
            },
        }
    }

    /// An optional period `key` of a feature with several (MACD's `fast`, `slow`, `signal`):
    /// a whole number of bars from 1 to [`MAX_WINDOW`], `default` when absent.
    fn period(&mut self, key: &'static str, default: usize) -> Result<usize, (String, String)> {
        self.used.push(key);
        match self.obj.get(key) {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=MAX_WINDOW).contains(&n) => Ok(n as usize),
                _ => Err((
                    self.key(key),
                    format!("expected a whole number of bars from 1 to {MAX_WINDOW}, found `{v}`"),
                )),
            },
        }
    }
}

/// Named features from configuration, giving a row of values per bar once all are ready.
pub struct FeatureSet {
    names: Vec<String>,
    calcs: Vec<Calc>,
    row: Vec<f64>,
}

impl std::fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureSet")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl FeatureSet {
    /// Reads a list of `{name, feature, window}` (the value of a `features` key). Errors name
    /// the entry and key: `("features[2].window", "…")`. Names are unique and not empty;
    /// unknown features and keys a feature does not take are errors.
    pub fn parse(list: &Value) -> Result<FeatureSet, (String, String)> {
        let shape = "a list of {name, feature, window}";
        let items = match list {
            Value::Array(items) if !items.is_empty() => items,
            Value::Array(_) => return Err(("features".into(), format!("empty: expected {shape}"))),
            other => {
                return Err((
                    "features".into(),
                    format!("expected {shape}, found `{other}`"),
                ));
            }
        };
        let mut set = FeatureSet {
            names: Vec::with_capacity(items.len()),
            calcs: Vec::with_capacity(items.len()),
            row: vec![0.0; items.len()],
        };
        for (at, item) in items.iter().enumerate() {
            let Value::Object(obj) = item else {
                return Err((
                    format!("features[{at}]"),
                    format!("expected {{name, feature, window}}, found `{item}`"),
                ));
            };
            let mut p = Params {
                at,
                obj,
                used: vec!["name", "feature"],
            };
            let text = |k: &str| match obj.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.as_str()),
                Some(v) => Err((p.key(k), format!("expected a name, found `{v}`"))),
                None => Err((p.key(k), "required".to_string())),
            };
            let name = text("name")?;
            let feature = text("feature")?;
            if set.names.iter().any(|n| n == name) {
                return Err((p.key("name"), format!("`{name}` is named twice")));
            }
            let calc = build(feature, &mut p)?;
            if let Some(k) = obj.keys().find(|k| !p.used.contains(&k.as_str())) {
                return Err((
                    p.key(k),
                    format!("unknown key for {feature} (known: {})", p.used.join(", ")),
                ));
            }
            set.names.push(name.to_string());
            set.calcs.push(calc);
        }
        Ok(set)
    }

    /// The features' names, in configuration order: the order of a row's values.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Updates every feature with the next bar; the row of values once each feature has a
    /// finite one for this bar, else `None` (warming up, or a bar a feature leaves out).
    pub fn update(&mut self, bar: &Ohlcv) -> Option<&[f64]> {
        let mut whole = true;
        for (calc, slot) in self.calcs.iter_mut().zip(self.row.iter_mut()) {
            match calc(bar) {
                Some(x) if x.is_finite() => *slot = x,
                _ => whole = false,
            }
        }
        whole.then_some(&self.row[..])
    }
}

/// What a label measures from the close of bar t to the close of bar t + h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// close[t+h] / close[t] − 1.
    ForwardReturn,
    /// ln(close[t+h] / close[t]).
    ForwardLogReturn,
    /// The sign of close[t+h] − close[t]: −1, 0 or 1.
    ForwardDirection,
}

impl Label {
    pub const ALL: [Label; 3] = [
        Label::ForwardReturn,
        Label::ForwardLogReturn,
        Label::ForwardDirection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::ForwardReturn => "forward_return",
            Label::ForwardLogReturn => "forward_log_return",
            Label::ForwardDirection => "forward_direction",
        }
    }

    pub fn parse(s: &str) -> Result<Label, String> {
        Label::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
                format!("unknown label `{s}` (known: {})", known.join(", "))
            })
    }

    /// The label's column for horizon `h`: `fwd_ret_5`, `fwd_logret_5`, `fwd_dir_5`.
    pub fn column(self, h: usize) -> String {
        let short = match self {
            Label::ForwardReturn => "ret",
            Label::ForwardLogReturn => "logret",
            Label::ForwardDirection => "dir",
        };
        format!("fwd_{short}_{h}")
    }

    /// The label of a bar closing at `now` whose close h bars later is `later`; `None` unless
    /// both closes are positive and finite.
    pub fn value(self, now: f64, later: f64) -> Option<f64> {
        let ok = |x: f64| x.is_finite() && x > 0.0;
        if !ok(now) || !ok(later) {
            return None;
        }
        Some(match self {
            Label::ForwardReturn => later / now - 1.0,
            Label::ForwardLogReturn => (later / now).ln(),
            Label::ForwardDirection => {
                if later > now {
                    1.0
                } else if later < now {
                    -1.0
                } else {
                    0.0
                }
            }
        })
    }
}

/// A row with its labels, as [`Labeler::push`] gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labeled<'a> {
    /// The time of the row's bar.
    pub ts_ns: i64,
    pub row: &'a [f64],
    /// One per label, in the order the labeler was given them.
    pub labels: &'a [f64],
}

/// Holds each bar's row back until the bar h bars later arrives, then gives it with its
/// labels. Rows are copied into a ring of h + 1 slots made once: nothing is allocated per bar.
#[derive(Debug, Clone)]
pub struct Labeler {
    labels: Vec<Label>,
    width: usize,
    slots: usize,
    ts: Vec<i64>,
    closes: Vec<f64>,
    /// Whether the slot's bar had a row (the features had warmed up).
    whole: Vec<bool>,
    rows: Vec<f64>,
    head: usize,
    len: usize,
    out: Vec<f64>,
    undefined: u64,
}

impl Labeler {
    /// Labels rows of `width` values with `labels` over `horizon` bars (at least 1; 0 is
    /// taken as 1).
    pub fn new(horizon: usize, labels: Vec<Label>, width: usize) -> Labeler {
        let slots = horizon.max(1) + 1;
        Labeler {
            out: vec![0.0; labels.len()],
            labels,
            width,
            slots,
            ts: vec![0; slots],
            closes: vec![0.0; slots],
            whole: vec![false; slots],
            rows: vec![0.0; slots * width],
            head: 0,
            len: 0,
            undefined: 0,
        }
    }

    /// Bar t: its time, close and row (`None` while the features warm up; a row's length is
    /// the width). Gives the row of bar t − h with its labels, when that bar had a row and
    /// its labels are defined (see [`Label::value`]).
    pub fn push(&mut self, ts_ns: i64, close: f64, row: Option<&[f64]>) -> Option<Labeled<'_>> {
        let at = (self.head + self.len) % self.slots;
        self.ts[at] = ts_ns;
        self.closes[at] = close;
        self.whole[at] = row.is_some();
        if let Some(row) = row {
            self.rows[at * self.width..(at + 1) * self.width].copy_from_slice(row);
        }
        self.len += 1;
        if self.len < self.slots {
            return None;
        }
        let old = self.head;
        self.head = (self.head + 1) % self.slots;
        self.len -= 1;
        if !self.whole[old] {
            return None;
        }
        for (out, label) in self.out.iter_mut().zip(&self.labels) {
            match label.value(self.closes[old], close) {
                Some(v) => *out = v,
                None => {
                    self.undefined += 1;
                    return None;
                }
            }
        }
        Some(Labeled {
            ts_ns: self.ts[old],
            row: &self.rows[old * self.width..(old + 1) * self.width],
            labels: &self.out,
        })
    }

    /// Rows still waiting for the bar h bars after them: at the end of a series, the rows
    /// that never get a label.
    pub fn pending(&self) -> usize {
        (0..self.len)
            .filter(|i| self.whole[(self.head + i) % self.slots])
            .count()
    }

    /// Rows left out because a close was not positive and finite, so a label had no value.
    pub fn undefined(&self) -> u64 {
        self.undefined
    }
}

/// The leakage guard: fails when a label column equals a feature column element by element
/// over every row, which a feature can only do by seeing the future. Columns without rows
/// are not compared.
pub fn check_leakage(features: &[(&str, &[f64])], labels: &[(&str, &[f64])]) -> Result<(), String> {
    for (label, l) in labels {
        for (feature, f) in features {
            if !l.is_empty() && l.len() == f.len() && l.iter().zip(f.iter()).all(|(a, b)| a == b) {
                return Err(format!(
                    "label `{label}` equals feature `{feature}` — a feature that sees the future"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Every feature, window 5.
    fn every_feature() -> FeatureSet {
        let list: Vec<Value> = FEATURES
            .iter()
            .map(|f| match *f {
                "returns" | "log_returns" | "obv" => json!({"name": f, "feature": f}),
                "macd" | "macd_signal" | "macd_hist" => {
                    json!({"name": f, "feature": f, "fast": 3, "slow": 6, "signal": 2})
                }
                "stoch_k" | "stoch_d" => json!({"name": f, "feature": f, "fast_k": 4}),
                _ => json!({"name": f, "feature": f, "window": 5}),
            })
            .collect();
        FeatureSet::parse(&Value::Array(list)).unwrap()
    }

    /// Bars of a random walk with their volumes, some flat.
    fn bars() -> impl Strategy<Value = Vec<Ohlcv>> {
        proptest::collection::vec(
            (-0.05f64..0.05, 0.0f64..0.02, 0.0f64..0.02, 0.0f64..10.0),
            1..120,
        )
        .prop_map(|steps| {
            let mut open = 100.0;
            steps
                .into_iter()
                .map(|(r, up, down, volume)| {
                    let close = if r.abs() < 0.005 {
                        open
                    } else {
                        open * (1.0 + r)
                    };
                    let ohlc = Ohlc {
                        open,
                        high: open.max(close) * (1.0 + up),
                        low: open.min(close) * (1.0 - down),
                        close,
                    };
                    open = close;
                    Ohlcv { ohlc, volume }
                })
                .collect()
        })
    }

    fn rows(set: &mut FeatureSet, bars: &[Ohlcv]) -> Vec<Option<Vec<f64>>> {
        bars.iter()
            .map(|b| set.update(b).map(<[f64]>::to_vec))
            .collect()
    }

    /// A labelled row: its bar's index, its values, its labels.
    type Row = (i64, Vec<f64>, Vec<f64>);

    /// The labelled rows of `bars`, and the rows left waiting.
    fn labelled(bars: &[Ohlcv], h: usize) -> (Vec<Row>, usize) {
        let mut set = every_feature();
        let mut labeler = Labeler::new(h, Label::ALL.to_vec(), FEATURES.len());
        let mut out = Vec::new();
        for (t, b) in bars.iter().enumerate() {
            let row = set.update(b);
            if let Some(l) = labeler.push(t as i64, b.ohlc.close, row) {
                out.push((l.ts_ns, l.row.to_vec(), l.labels.to_vec()));
            }
        }
        (out, labeler.pending())
    }

    proptest! {
        /// The rows up to t are the same whether the bars end at t or go on.
        #[test]
        fn a_feature_set_does_not_look_ahead(bars in bars(), cut in 0usize..120) {
            let t = cut.min(bars.len());
            let whole = rows(&mut every_feature(), &bars);
            let cut = rows(&mut every_feature(), &bars[..t]);
            prop_assert_eq!(&whole[..t], &cut[..]);
        }

        /// Each column is its feature run alone over the bars, and a row comes once all are
        /// ready.
        #[test]
        fn each_column_is_its_feature(bars in bars()) {
            let got = rows(&mut every_feature(), &bars);
            let mut ret = Returns::default();
            let mut log = LogReturns::default();
            let mut z = ZScore::new(5);
            let mut c2c = CloseToCloseVol::new(5);
            let mut park = ParkinsonVol::new(5);
            let mut gk = GarmanKlassVol::new(5);
            let mut rsi = Rsi::new(5);
            let mut ema = Ema::new(5, EmaSeed::Sma);
            let mut atr = Atr::new(5);
            let mut macd = Macd::new(3, 6, 2);
            let mut stoch = Stochastic::new(4, 3, 3);
            let mut adx = Adx::new(5);
            let mut obv = Obv::default();
            let mut vwap = Vwap::new(5);
            for (b, got) in bars.iter().zip(got) {
                let c = b.ohlc.close;
                let (m, st, dx) = (macd.update(c), stoch.update(b.ohlc), adx.update(b.ohlc));
                let want = [
                    ret.update(c),
                    log.update(c),
                    z.update(c),
                    c2c.update(c),
                    park.update(b.ohlc),
                    gk.update(b.ohlc),
                    rsi.update(c),
                    ema.update(c).map(|e| c / e - 1.0),
                    atr.update(b.ohlc),
                    m.map(|m| m.macd),
                    m.map(|m| m.signal),
                    m.map(|m| m.hist),
                    st.map(|s| s.k),
                    st.map(|s| s.d),
                    dx.and_then(|d| d.adx),
                    dx.map(|d| d.plus_di),
                    dx.map(|d| d.minus_di),
                    obv.update(c, b.volume),
                    vwap.update(b.ohlc, b.volume).map(|v| v.deviation),
                ];
                let want = want.map(|v| v.filter(|x| x.is_finite()));
                let want: Option<Vec<f64>> = want.into_iter().collect();
                prop_assert_eq!(got, want);
            }
        }

        /// Row t comes with close[t+h]/close[t] − 1 (and its log and sign) once bar t + h is
        /// in; the last h rows wait for ever; cutting the bars only cuts the labelled rows.
        #[test]
        fn labels_look_exactly_h_bars_ahead(bars in bars(), h in 1usize..8, cut in 0usize..120) {
            let (got, pending) = labelled(&bars, h);
            let all = rows(&mut every_feature(), &bars);
            let want: Vec<usize> = (0..bars.len().saturating_sub(h))
                .filter(|&t| all[t].is_some())
                .collect();
            prop_assert_eq!(got.len(), want.len());
            let tail = bars.len().saturating_sub(h);
            prop_assert_eq!(pending, all[tail..].iter().filter(|r| r.is_some()).count());
            for ((ts, row, labels), t) in got.iter().zip(want) {
                prop_assert_eq!(*ts, t as i64);
                prop_assert_eq!(Some(row), all[t].as_ref());
                let (now, later) = (bars[t].ohlc.close, bars[t + h].ohlc.close);
                prop_assert_eq!(labels[0], later / now - 1.0);
                prop_assert_eq!(labels[1], (later / now).ln());
                prop_assert_eq!(labels[2], (later - now).signum() * f64::from(later != now));
            }
            let t = cut.min(bars.len());
            let (part, _) = labelled(&bars[..t], h);
            prop_assert_eq!(&got[..part.len()], &part[..]);
        }
    }

    #[test]
    fn the_guard_names_a_label_that_a_feature_equals() {
        let closes = [100.0, 101.0, 99.5, 102.0, 103.0, 101.0, 104.0];
        let h = 2;
        let label: Vec<f64> = closes.windows(h + 1).map(|w| w[h] / w[0] - 1.0).collect();
        let past: Vec<f64> = closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let past = &past[..label.len()];
        // A "feature" that peeks: the return h bars ahead, as the label is.
        let peek = label.clone();
        let features = [("ret_1", past), ("peek", &peek[..])];
        assert_eq!(
            check_leakage(&features, &[("fwd_ret_2", &label[..])]),
            Err("label `fwd_ret_2` equals feature `peek` — a feature that sees the future".into())
        );
        assert_eq!(
            check_leakage(&features[..1], &[("fwd_ret_2", &label[..])]),
            Ok(())
        );
        // Equal but for one row: not a leak.
        let mut almost = label.clone();
        almost[3] += 1e-12;
        assert_eq!(
            check_leakage(&[("almost", &almost[..])], &[("fwd_ret_2", &label[..])]),
            Ok(())
        );
        assert_eq!(
            check_leakage(&[("x", &[][..])], &[("fwd_ret_2", &[][..])]),
            Ok(())
        );
    }

    /// On closes that double every bar, the one-bar return is the one-bar forward return,
    /// exactly: the guard sees it in the rows a set and a labeler make.
    #[test]
    fn the_guard_catches_a_set_column_equal_to_the_label() {
        let mut set = FeatureSet::parse(&json!([
            {"name": "ret_1", "feature": "returns"},
            {"name": "z3", "feature": "zscore", "window": 3},
        ]))
        .unwrap();
        let mut labeler = Labeler::new(1, vec![Label::ForwardReturn], 2);
        let (mut ret, mut z, mut label) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..12 {
            let close = f64::from(1u32 << i);
            let ohlc = Ohlc {
                open: close / 2.0,
                high: close,
                low: close / 2.0,
                close,
            };
            let row = set.update(&Ohlcv { ohlc, volume: 1.0 });
            if let Some(l) = labeler.push(i.into(), close, row) {
                ret.push(l.row[0]);
                z.push(l.row[1]);
                label.push(l.labels[0]);
            }
        }
        assert_eq!(label.len(), 12 - 2 - 1);
        let err = check_leakage(
            &[("z3", &z[..]), ("ret_1", &ret[..])],
            &[("fwd_ret_1", &label[..])],
        );
        assert_eq!(
            err.unwrap_err(),
            "label `fwd_ret_1` equals feature `ret_1` — a feature that sees the future"
        );
    }

    #[test]
    fn bad_configurations_name_the_entry_and_key() {
        let err = |v: Value| FeatureSet::parse(&v).unwrap_err();
        let (k, m) =
            err(json!([{"name": "a", "feature": "returns"}, {"name": "b", "feature": "zscore"}]));
        assert_eq!(k, "features[1].window");
        assert!(m.starts_with("required"), "{m}");
        let (k, m) = err(json!([{"name": "a", "feature": "zscore", "window": 1}]));
        assert_eq!(
            (k.as_str(), m.contains("from 2")),
            ("features[0].window", true)
        );
        let (k, _) = err(json!([{"name": "a", "feature": "rsi", "window": 14.5}]));
        assert_eq!(k, "features[0].window");
        let (k, m) = err(json!([{"name": "a", "feature": "returns", "window": 3}]));
        assert_eq!(k, "features[0].window");
        assert!(
            m.contains("unknown key for returns (known: name, feature)"),
            "{m}"
        );
        let (k, m) = err(json!([{"name": "a", "feature": "rsi", "window": 3, "windw": 4}]));
        assert_eq!(
            (k.as_str(), m.contains("known: name, feature, window")),
            ("features[0].windw", true)
        );
        let (k, m) = err(json!([{"name": "a", "feature": "moon"}]));
        assert_eq!(k, "features[0].feature");
        assert!(
            m.contains("unknown feature `moon`") && m.contains("vwap_dev"),
            "{m}"
        );
        let (k, _) = err(json!([{"name": "a", "feature": "macd", "slow": 0}]));
        assert_eq!(k, "features[0].slow");
        let (k, m) = err(
            json!([{"name": "a", "feature": "returns"}, {"name": "a", "feature": "log_returns"}]),
        );
        assert_eq!(
            (k.as_str(), m.as_str()),
            ("features[1].name", "`a` is named twice")
        );
        assert_eq!(err(json!([{"feature": "returns"}])).0, "features[0].name");
        assert_eq!(
            err(json!([{"name": "", "feature": "returns"}])).0,
            "features[0].name"
        );
        assert_eq!(err(json!(["returns"])).0, "features[0]");
        assert_eq!(err(json!([])).0, "features");
        assert_eq!(err(json!({"name": "a"})).0, "features");
    }

    #[test]
    fn every_listed_feature_builds_and_labels_parse_back() {
        let set = every_feature();
        assert_eq!(set.names(), FEATURES);
        for l in Label::ALL {
            assert_eq!(Label::parse(l.as_str()), Ok(l));
        }
        assert!(
            Label::parse("fwd")
                .unwrap_err()
                .contains("forward_direction")
        );
        assert_eq!(Label::ForwardLogReturn.column(5), "fwd_logret_5");
        assert_eq!(Label::ForwardReturn.value(0.0, 1.0), None);
        assert_eq!(Label::ForwardDirection.value(2.0, 2.0), Some(0.0));
    }

    #[test]
    fn a_row_without_a_defined_label_is_counted_and_left_out() {
        let mut labeler = Labeler::new(1, vec![Label::ForwardReturn], 1);
        assert!(labeler.push(0, 0.0, Some(&[1.0])).is_none());
        assert!(labeler.push(1, 2.0, Some(&[2.0])).is_none(), "close 0 at t");
        let l = labeler.push(2, 3.0, Some(&[3.0])).unwrap();
        assert_eq!((l.ts_ns, l.row, l.labels), (1, &[2.0][..], &[0.5][..]));
        assert_eq!((labeler.undefined(), labeler.pending()), (1, 1));
    }
}
