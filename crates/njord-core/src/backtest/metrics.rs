//! Equity curve and performance metrics of a backtest (pure cores, no I/O, no clock).
//!
//! Money (cash, positions, fills, fees, round-trip PnL) is exact [`Decimal`]; statistics over
//! returns are `f64`. Everything is computed in one streaming pass, so memory does not grow with
//! the length of the tape.
//!
//! # The equity series
//! Equity `E = cash + Σ position × last price` (positions signed, short < 0; a short sale's
//! proceeds are in cash). The series starts with the capital at the first event's time, then
//! has one sample at the end of every `interval` bucket of event time (buckets aligned to the
//! Unix epoch: `[k·interval, (k+1)·interval)`, including buckets with no events, valued at the
//! prices known then) and one sample at the last event. The duration is last minus first
//! sample time.
//!
//! # Formulas
//! With returns `rᵢ = Eᵢ / Eᵢ₋₁ − 1` over consecutive samples (a return after a non-positive
//! equity is undefined and left out), periods per year `P = 365 days / interval` and the
//! per-period risk-free rate `rf = risk_free / P` (0 by default):
//! - total return = `E_end / capital − 1`
//! - CAGR = `(E_end / capital)^(365 d / duration) − 1` (null for a zero duration or E_end ≤ 0)
//! - annual volatility = `stdev(r) × √P`, sample standard deviation (n − 1)
//! - Sharpe = `(mean(r) − rf) / stdev(r) × √P` (null when stdev is 0 or fewer than 2 returns)
//! - Sortino = `(mean(r) − rf) / √(mean(min(r − rf, 0)²)) × √P` (null without a negative return)
//! - max drawdown = `max over t of (peak − E) / peak`, the peak starting at the capital
//! - max drawdown duration (s) = longest time from the last sample at a peak until equity first
//!   gets back to that peak (or until the end, when it never does)
//! - Calmar = `CAGR / max drawdown` (null when there is no drawdown)
//! - round trips: fills are matched FIFO per (strategy, symbol); every part of a closing fill
//!   matched against an open lot is one round trip with PnL `(exit − entry) × qty` (reversed
//!   for a short) minus its pro-rata share of the entry and exit fees. Win rate = wins / round
//!   trips; profit factor = gross wins / |gross losses| (null when there are no losses);
//!   average and largest win and loss (a loss is negative). A round trip at exactly 0 is
//!   neither a win nor a loss.
//! - exposure = share of equity samples taken with a non-zero position
//! - fees paid = `Σ fee`; turnover = `Σ |qty × price| / capital` over fills.

use crate::event::{Fill, Side};
use crate::num;
use crate::time::NS_PER_DAY;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Nanoseconds in the 365-day year used to annualize.
pub const NS_PER_YEAR: f64 = 365.0 * 86_400.0 * 1e9;

/// Parses a sampling interval: a positive integer and a unit `s`, `m`, `h`, `d` or `w`
/// (`30s`, `15m`, `1h`, `1d`), into nanoseconds.
pub fn parse_interval(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let unit_at = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("interval `{s}` needs a unit: s, m, h, d or w (e.g. 1h)"))?;
    let (n, unit) = t.split_at(unit_at);
    let secs: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "interval `{s}`: unknown unit `{unit}` (s, m, h, d or w)"
            ));
        }
    };
    let n: i64 = n
        .parse()
        .map_err(|_| format!("interval `{s}` must start with a whole number (e.g. 1h)"))?;
    n.checked_mul(secs)
        .and_then(|x| x.checked_mul(1_000_000_000))
        .filter(|ns| *ns > 0)
        .ok_or_else(|| format!("interval `{s}` must be positive and at most a few centuries"))
}

/// One point of the equity curve, written as an `equity` event to `equity.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "equity")]
pub struct EquityPoint {
    pub ts_ns: i64,
    #[serde(with = "num")]
    pub equity: Decimal,
    #[serde(with = "num")]
    pub cash: Decimal,
    #[serde(with = "num")]
    pub position_value: Decimal,
}

/// An equity point and whether any position was open when it was taken (for exposure).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub point: EquityPoint,
    pub exposed: bool,
}

/// Cash, net positions and last prices of the whole account, from trades and fills.
/// All symbols are assumed quoted in the capital's asset.
#[derive(Debug, Clone)]
pub struct Account {
    cash: Decimal,
    /// symbol → (net signed position, last price). A short list: backtests trade few symbols.
    symbols: Vec<(String, Decimal, Decimal)>,
}

impl Account {
    pub fn new(capital: Decimal) -> Self {
        Account {
            cash: capital,
            symbols: Vec::new(),
        }
    }

    fn slot(&mut self, symbol: &str) -> &mut (String, Decimal, Decimal) {
        let i = match self
            .symbols
            .iter()
            .position(|s| crate::swar::same_short(&s.0, symbol))
        {
            Some(i) => i,
            None => {
                self.symbols
                    .push((symbol.to_string(), Decimal::ZERO, Decimal::ZERO));
                self.symbols.len() - 1
            }
        };
        &mut self.symbols[i]
    }

    /// Records the last traded price of a symbol.
    pub fn on_price(&mut self, symbol: &str, price: Decimal) {
        self.slot(symbol).2 = price;
    }

    /// Applies a fill: a buy pays `qty × price + fee`, a sell receives `qty × price − fee`.
    /// A symbol never traded before is valued at the fill price until its next trade.
    pub fn on_fill(&mut self, f: &Fill<'_>) {
        let notional = f.qty.saturating_mul(f.price);
        let slot = self.slot(&f.symbol);
        if slot.2.is_zero() {
            slot.2 = f.price;
        }
        let cash = match f.side {
            Side::Buy => {
                slot.1 = slot.1.saturating_add(f.qty);
                self.cash.saturating_sub(notional)
            }
            Side::Sell => {
                slot.1 = slot.1.saturating_sub(f.qty);
                self.cash.saturating_add(notional)
            }
        };
        self.cash = cash.saturating_sub(f.fee);
    }

    pub fn cash(&self) -> Decimal {
        self.cash
    }

    /// `Σ position × last price`.
    pub fn position_value(&self) -> Decimal {
        self.symbols.iter().fold(Decimal::ZERO, |acc, (_, q, p)| {
            acc.saturating_add(q.saturating_mul(*p))
        })
    }

    /// Whether any position is open.
    pub fn exposed(&self) -> bool {
        self.symbols.iter().any(|(_, q, _)| !q.is_zero())
    }

    /// The net position and last price of a symbol.
    pub fn symbol(&self, symbol: &str) -> Option<(Decimal, Decimal)> {
        self.symbols
            .iter()
            .find(|s| s.0 == symbol)
            .map(|s| (s.1, s.2))
    }

    /// Every symbol the account saw, in first-seen order, with its last price.
    pub fn prices(&self) -> impl Iterator<Item = (&str, Decimal)> {
        self.symbols.iter().map(|s| (s.0.as_str(), s.2))
    }

    /// The account valued now, at time `ts_ns`.
    pub fn sample(&self, ts_ns: i64) -> Sample {
        let position_value = self.position_value().normalize();
        let cash = self.cash.normalize();
        Sample {
            point: EquityPoint {
                ts_ns,
                equity: cash.saturating_add(position_value).normalize(),
                cash,
                position_value,
            },
            exposed: self.exposed(),
        }
    }
}

/// Decides when to sample the equity: call [`EquitySampler::before_event`] with every event's
/// time *before* the event changes the account, and [`EquitySampler::finish`] at the end.
#[derive(Debug, Clone)]
pub struct EquitySampler {
    interval_ns: i64,
    /// Time of the latest event seen (events earlier than it count at its time).
    last_ts: Option<i64>,
    /// End of the bucket the latest event is in (`None` past the last representable one),
    /// kept so that an event inside it costs a comparison, not a division.
    bucket_end: Option<i64>,
}

impl EquitySampler {
    /// `interval_ns` must be positive (see [`parse_interval`]).
    pub fn new(interval_ns: i64) -> Self {
        EquitySampler {
            interval_ns: interval_ns.max(1),
            last_ts: None,
            bucket_end: None,
        }
    }

    /// Emits the samples due before an event at `ts_ns`: the capital at the first event, then
    /// one at the end of every bucket that closes before `ts_ns` (one at a time, so a long gap
    /// in the tape costs time, never memory).
    pub fn before_event(&mut self, ts_ns: i64, account: &Account, mut emit: impl FnMut(Sample)) {
        let iv = self.interval_ns;
        match self.last_ts {
            None => {
                emit(account.sample(ts_ns));
                self.last_ts = Some(ts_ns);
                self.bucket_end = ts_ns
                    .div_euclid(iv)
                    .checked_add(1)
                    .and_then(|b| b.checked_mul(iv));
            }
            Some(last) if ts_ns > last => {
                while let Some(end) = self.bucket_end.filter(|end| *end <= ts_ns) {
                    emit(account.sample(end));
                    self.bucket_end = end.checked_add(iv);
                }
                self.last_ts = Some(ts_ns);
            }
            Some(_) => {}
        }
    }

    /// The closing sample at the last event, when there was any event.
    pub fn finish(&self, account: &Account) -> Option<Sample> {
        self.last_ts.map(|ts| account.sample(ts))
    }
}

/// An open lot of a (strategy, symbol) position, for round-trip matching.
#[derive(Debug, Clone)]
struct Lot {
    qty: Decimal,
    price: Decimal,
    /// Entry fee not yet charged to a round trip.
    fee: Decimal,
    ts_ns: i64,
}

#[derive(Debug, Clone, Default)]
struct Book {
    long: bool,
    lots: VecDeque<Lot>,
}

/// One closed round trip: a lot (or part of one) opened by a fill and closed by a later one.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrip {
    pub strategy_id: Option<String>,
    pub symbol: String,
    /// Long (bought first) or short.
    pub long: bool,
    pub qty: Decimal,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    pub entry_ts_ns: i64,
    pub exit_ts_ns: i64,
    /// Entry and exit fees, pro rata by quantity.
    pub fees: Decimal,
    /// Net of `fees`.
    pub pnl: Decimal,
}

/// FIFO matching of fills per (strategy, symbol) into round trips: the metrics count them,
/// the report lists them.
#[derive(Debug, Clone, Default)]
pub struct TripMatcher {
    books: BTreeMap<(Option<String>, String), Book>,
}

impl TripMatcher {
    /// Adds a fill; pushes the round trips it closes onto `closed`.
    pub fn on_fill(&mut self, fill: &Fill<'_>, closed: &mut Vec<RoundTrip>) {
        let key = (
            fill.strategy_id.as_deref().map(str::to_string),
            fill.symbol.to_string(),
        );
        let book = self.books.entry(key).or_default();
        let buying = fill.side == Side::Buy;
        let mut left = fill.qty;
        let mut exit_fee = fill.fee;
        if !book.lots.is_empty() && book.long != buying {
            while left > Decimal::ZERO {
                let Some(lot) = book.lots.front_mut() else {
                    break;
                };
                let m = left.min(lot.qty);
                let entry_fee = if m == lot.qty {
                    lot.fee
                } else {
                    share(lot.fee, m, lot.qty)
                };
                let out_fee = if m == left {
                    exit_fee
                } else {
                    share(exit_fee, m, left)
                };
                let gross = if book.long {
                    m.saturating_mul(fill.price - lot.price)
                } else {
                    m.saturating_mul(lot.price - fill.price)
                };
                closed.push(RoundTrip {
                    strategy_id: fill.strategy_id.as_deref().map(str::to_string),
                    symbol: fill.symbol.to_string(),
                    long: book.long,
                    qty: m,
                    entry_price: lot.price,
                    exit_price: fill.price,
                    entry_ts_ns: lot.ts_ns,
                    exit_ts_ns: fill.ts_fill_ns,
                    fees: entry_fee + out_fee,
                    pnl: (gross - entry_fee - out_fee).normalize(),
                });
                lot.qty -= m;
                lot.fee -= entry_fee;
                left -= m;
                exit_fee -= out_fee;
                if lot.qty.is_zero() {
                    book.lots.pop_front();
                }
            }
        }
        if left > Decimal::ZERO {
            book.long = buying;
            book.lots.push_back(Lot {
                qty: left,
                price: fill.price,
                fee: exit_fee,
                ts_ns: fill.ts_fill_ns,
            });
        }
    }
}

/// Streaming accumulator of every metric; see the module documentation for the formulas.
#[derive(Debug, Clone)]
pub struct Metrics {
    capital: Decimal,
    periods_per_year: f64,
    rf: f64,
    /// Fewest return samples for annualised figures.
    min_returns: u64,
    // Equity samples.
    samples: u64,
    exposed: u64,
    first: Option<EquityPoint>,
    last: Option<EquityPoint>,
    // Returns (Welford).
    n: u64,
    mean: f64,
    m2: f64,
    downside_sq: f64,
    // Drawdown.
    peak: Decimal,
    peak_ts: i64,
    underwater: bool,
    max_dd: f64,
    max_dd_dur_ns: i64,
    // Fills and round trips.
    matcher: TripMatcher,
    closed: Vec<RoundTrip>,
    fills: u64,
    fees: Decimal,
    traded: Decimal,
    trips: u64,
    wins: u64,
    losses: u64,
    gross_win: Decimal,
    gross_loss: Decimal,
    largest_win: Option<Decimal>,
    largest_loss: Option<Decimal>,
}

/// The metrics of a run, as written to `metrics.json`. Ratios are fractions (0.05 = 5 %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(with = "num")]
    pub capital: Decimal,
    #[serde(with = "num")]
    pub final_equity: Decimal,
    pub start_ts_ns: Option<i64>,
    pub end_ts_ns: Option<i64>,
    pub duration_s: f64,
    pub samples: u64,
    pub total_return: f64,
    pub cagr: Option<f64>,
    /// Why CAGR, volatility, Sharpe, Sortino and Calmar are null (too short a run); `None`
    /// when they are computed.
    pub annualised_note: Option<String>,
    pub annual_volatility: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub max_drawdown: f64,
    pub max_drawdown_duration_s: f64,
    pub calmar: Option<f64>,
    pub fills: u64,
    pub round_trips: u64,
    pub wins: u64,
    pub losses: u64,
    pub win_rate: Option<f64>,
    pub profit_factor: Option<f64>,
    #[serde(with = "num::opt")]
    pub avg_win: Option<Decimal>,
    #[serde(with = "num::opt")]
    pub avg_loss: Option<Decimal>,
    #[serde(with = "num::opt")]
    pub largest_win: Option<Decimal>,
    #[serde(with = "num::opt")]
    pub largest_loss: Option<Decimal>,
    pub exposure: f64,
    #[serde(with = "num")]
    pub fees_paid: Decimal,
    pub turnover: f64,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// `a × b / c` exactly enough for money, never panicking (c ≠ 0 is checked by callers).
fn share(a: Decimal, b: Decimal, c: Decimal) -> Decimal {
    a.checked_mul(b)
        .and_then(|x| x.checked_div(c))
        .unwrap_or(Decimal::ZERO)
}

/// Fewest return samples (equity samples − 1) for annualised figures by default: fewer give
/// a Sharpe of −2001 from a 46-second run.
pub const MIN_RETURNS: u64 = 30;

impl Metrics {
    /// Annualised figures need at least `n` return samples (default [`MIN_RETURNS`]).
    pub fn with_min_returns(mut self, n: u64) -> Self {
        self.min_returns = n;
        self
    }

    /// `capital` > 0; `interval_ns` the equity sampling interval; `risk_free` an annual rate.
    pub fn new(capital: Decimal, interval_ns: i64, risk_free: f64) -> Self {
        let periods_per_year = NS_PER_YEAR / interval_ns.max(1) as f64;
        Metrics {
            capital,
            periods_per_year,
            rf: risk_free / periods_per_year,
            min_returns: MIN_RETURNS,
            samples: 0,
            exposed: 0,
            first: None,
            last: None,
            n: 0,
            mean: 0.0,
            m2: 0.0,
            downside_sq: 0.0,
            peak: capital,
            peak_ts: 0,
            underwater: false,
            max_dd: 0.0,
            max_dd_dur_ns: 0,
            matcher: TripMatcher::default(),
            closed: Vec::new(),
            fills: 0,
            fees: Decimal::ZERO,
            traded: Decimal::ZERO,
            trips: 0,
            wins: 0,
            losses: 0,
            gross_win: Decimal::ZERO,
            gross_loss: Decimal::ZERO,
            largest_win: None,
            largest_loss: None,
        }
    }

    /// Adds the next equity sample.
    pub fn on_sample(&mut self, s: &Sample) {
        let p = &s.point;
        self.samples += 1;
        self.exposed += u64::from(s.exposed);
        if let Some(prev) = &self.last
            && prev.equity > Decimal::ZERO
        {
            let r = f(p.equity) / f(prev.equity) - 1.0;
            self.n += 1;
            let d = r - self.mean;
            self.mean += d / self.n as f64;
            self.m2 += d * (r - self.mean);
            let down = (r - self.rf).min(0.0);
            self.downside_sq += down * down;
        }
        if self.first.is_none() {
            self.first = Some(p.clone());
            self.peak_ts = p.ts_ns;
        }
        if p.equity >= self.peak {
            if self.underwater {
                self.max_dd_dur_ns = self.max_dd_dur_ns.max(p.ts_ns - self.peak_ts);
                self.underwater = false;
            }
            self.peak = p.equity;
            self.peak_ts = p.ts_ns;
        } else {
            self.underwater = true;
            if self.peak > Decimal::ZERO {
                let dd = f(self.peak - p.equity) / f(self.peak);
                self.max_dd = self.max_dd.max(dd);
            }
        }
        self.last = Some(p.clone());
    }

    /// Adds a fill: fees, turnover and FIFO round trips.
    pub fn on_fill(&mut self, fill: &Fill<'_>) {
        if fill.qty <= Decimal::ZERO {
            return;
        }
        self.fills += 1;
        self.fees = self.fees.saturating_add(fill.fee);
        self.traded = self
            .traded
            .saturating_add(fill.qty.saturating_mul(fill.price).abs());
        let mut closed = std::mem::take(&mut self.closed);
        self.matcher.on_fill(fill, &mut closed);
        for t in closed.drain(..) {
            self.trip(t.pnl);
        }
        self.closed = closed;
    }

    fn trip(&mut self, pnl: Decimal) {
        self.trips += 1;
        if pnl > Decimal::ZERO {
            self.wins += 1;
            self.gross_win = self.gross_win.saturating_add(pnl);
            self.largest_win = Some(self.largest_win.map_or(pnl, |w| w.max(pnl)));
        } else if pnl < Decimal::ZERO {
            self.losses += 1;
            self.gross_loss = self.gross_loss.saturating_add(pnl);
            self.largest_loss = Some(self.largest_loss.map_or(pnl, |l| l.min(pnl)));
        }
    }

    /// The metrics so far.
    pub fn summary(&self) -> Summary {
        let final_equity = self.last.as_ref().map_or(self.capital, |p| p.equity);
        let start = self.first.as_ref().map(|p| p.ts_ns);
        let end = self.last.as_ref().map(|p| p.ts_ns);
        let duration_ns = match (start, end) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => 0,
        };
        let growth = f(final_equity) / f(self.capital);
        // Annualising a run shorter than a day, or from a handful of returns, gives numbers
        // that mean nothing: they are null, and the note says why.
        let annualised_note = if duration_ns < NS_PER_DAY {
            Some("not annualised: the run spans less than a day".to_string())
        } else if self.n < self.min_returns {
            Some(format!(
                "not annualised: {} return samples, fewer than {} (shorten --equity-interval)",
                self.n, self.min_returns
            ))
        } else {
            None
        };
        let annualise = annualised_note.is_none();
        let cagr = (annualise && duration_ns > 0 && growth > 0.0)
            .then(|| growth.powf(NS_PER_YEAR / duration_ns as f64) - 1.0)
            .filter(|x| x.is_finite());
        let sd = (annualise && self.n >= 2).then(|| (self.m2 / (self.n - 1) as f64).sqrt());
        let ann = self.periods_per_year.sqrt();
        let excess = self.mean - self.rf;
        let sharpe = sd.filter(|s| *s > 0.0).map(|s| excess / s * ann);
        let downside = (annualise && self.n > 0).then(|| (self.downside_sq / self.n as f64).sqrt());
        let sortino = downside.filter(|d| *d > 0.0).map(|d| excess / d * ann);
        let mut dd_dur = self.max_dd_dur_ns;
        if self.underwater
            && let Some(e) = end
        {
            dd_dur = dd_dur.max(e - self.peak_ts);
        }
        let calmar = cagr.filter(|_| self.max_dd > 0.0).map(|c| c / self.max_dd);
        let avg = |sum: Decimal, n: u64| {
            (n > 0).then(|| {
                sum.checked_div(Decimal::from(n))
                    .unwrap_or_default()
                    .normalize()
            })
        };
        Summary {
            capital: self.capital.normalize(),
            final_equity: final_equity.normalize(),
            start_ts_ns: start,
            end_ts_ns: end,
            duration_s: duration_ns as f64 / 1e9,
            samples: self.samples,
            total_return: growth - 1.0,
            cagr,
            annual_volatility: sd.map(|s| s * ann),
            sharpe,
            sortino,
            max_drawdown: self.max_dd,
            max_drawdown_duration_s: dd_dur as f64 / 1e9,
            calmar,
            annualised_note,
            fills: self.fills,
            round_trips: self.trips,
            wins: self.wins,
            losses: self.losses,
            win_rate: (self.trips > 0).then(|| self.wins as f64 / self.trips as f64),
            profit_factor: (self.losses > 0).then(|| f(self.gross_win) / f(self.gross_loss).abs()),
            avg_win: avg(self.gross_win, self.wins),
            avg_loss: avg(self.gross_loss, self.losses),
            largest_win: self.largest_win,
            largest_loss: self.largest_loss,
            exposure: if self.samples > 0 {
                self.exposed as f64 / self.samples as f64
            } else {
                0.0
            },
            fees_paid: self.fees.normalize(),
            turnover: f(self.traded) / f(self.capital),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equity samples of a run: one per `step_ns`, alternating gains and losses.
    fn run(n: u64, step_ns: i64, min_returns: u64) -> Summary {
        let mut m = Metrics::new(d("100"), step_ns, 0.0).with_min_returns(min_returns);
        for i in 0..n {
            let e = if i % 2 == 0 { d("100") } else { d("101") };
            m.on_sample(&Sample {
                point: EquityPoint {
                    ts_ns: i as i64 * step_ns,
                    equity: e,
                    cash: e,
                    position_value: Decimal::ZERO,
                },
                exposed: false,
            });
        }
        m.summary()
    }

    #[test]
    fn short_runs_are_not_annualised() {
        let minute = 60_000_000_000;
        // 82 minutes of minute samples: under a day, whatever the count.
        let s = run(83, minute, 30);
        assert_eq!((s.sharpe, s.cagr, s.annual_volatility), (None, None, None));
        assert!(s.annualised_note.unwrap().contains("less than a day"));
        // Two days of 12-hour samples: 4 returns, fewer than 30.
        let s = run(5, 720 * minute, 30);
        assert_eq!((s.sharpe, s.sortino, s.calmar), (None, None, None));
        assert!(s.annualised_note.unwrap().contains("4 return samples"));
        // Two days of hourly samples: 48 returns, annualised.
        let s = run(49, 60 * minute, 30);
        assert!(s.sharpe.is_some() && s.annual_volatility.is_some());
        assert_eq!(s.annualised_note, None);
        assert_eq!(s.total_return, 0.0, "unaffected");
    }
    use crate::event::Liquidity;
    use std::borrow::Cow;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn fill(side: Side, qty: &str, price: &str, fee: &str) -> Fill<'static> {
        Fill {
            order_id: Cow::Borrowed("o"),
            intent_id: Cow::Borrowed("i"),
            strategy_id: Some(Cow::Borrowed("s")),
            symbol: Cow::Borrowed("X/USDT"),
            side,
            qty: d(qty),
            price: d(price),
            fee: d(fee),
            fee_asset: Cow::Borrowed("USDT"),
            liquidity: Liquidity::Taker,
            ts_fill_ns: 0,
        }
    }

    fn point(ts_ns: i64, equity: &str) -> Sample {
        Sample {
            point: EquityPoint {
                ts_ns,
                equity: d(equity),
                cash: d(equity),
                position_value: Decimal::ZERO,
            },
            exposed: false,
        }
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_interval("30s"), Ok(30_000_000_000));
        assert_eq!(parse_interval("2d"), Ok(172_800_000_000_000));
        for bad in ["", "h", "1", "0h", "1y", "-1h", "99999999999999w"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sampler_marks_bucket_ends_and_last_event() {
        let acc = Account::new(d("100"));
        let mut s = EquitySampler::new(10);
        let mut out = Vec::new();
        for ts in [3, 5, 9, 10, 34, 20, 35] {
            s.before_event(ts, &acc, |x| out.push(x));
        }
        out.extend(s.finish(&acc));
        let ts: Vec<i64> = out.iter().map(|s| s.point.ts_ns).collect();
        assert_eq!(ts, [3, 10, 20, 30, 35]);
        assert!(EquitySampler::new(10).finish(&acc).is_none());
    }

    #[test]
    fn account_values_longs_and_shorts() {
        let mut a = Account::new(d("1000"));
        a.on_price("X/USDT", d("10"));
        a.on_fill(&fill(Side::Buy, "10", "10", "0.1"));
        a.on_price("X/USDT", d("12"));
        let s = a.sample(1).point;
        assert_eq!(
            (s.cash, s.position_value, s.equity),
            (d("899.9"), d("120"), d("1019.9"))
        );
        a.on_fill(&fill(Side::Sell, "15", "12", "0.18"));
        a.on_price("X/USDT", d("11"));
        let s = a.sample(2).point;
        assert_eq!((s.cash, s.position_value), (d("1079.72"), d("-55")));
        assert_eq!(s.equity, d("1024.72"));
        assert!(a.exposed());
    }

    #[test]
    fn fifo_round_trips_net_of_fees() {
        let mut m = Metrics::new(d("1000"), 3_600_000_000_000, 0.0);
        m.on_fill(&fill(Side::Buy, "1", "10", "0.01"));
        m.on_fill(&fill(Side::Buy, "1", "12", "0.012"));
        // Closes the 10 lot (+5 − 0.01 − 0.01) and half the 12 lot (+1.5 − 0.006 − 0.005).
        m.on_fill(&fill(Side::Sell, "1.5", "15", "0.015"));
        // Closes the last half at 9 (−1.5 − 0.006 − 0.0045), then opens a 1-unit short.
        m.on_fill(&fill(Side::Sell, "1.5", "9", "0.0135"));
        // Covers the short at 10: −1 − 0.009 − 0.01.
        m.on_fill(&fill(Side::Buy, "1", "10", "0.01"));
        let s = m.summary();
        assert_eq!((s.round_trips, s.wins, s.losses), (4, 2, 2));
        assert_eq!(s.largest_win, Some(d("4.98")));
        assert_eq!(s.largest_loss, Some(d("-1.5105")));
        assert_eq!(s.avg_win, Some(d("3.2345")));
        assert_eq!(s.avg_loss, Some(d("-1.26475")));
        assert_eq!(s.fees_paid, d("0.0605"));
        let pf = 6.469 / 2.5295;
        assert!((s.profit_factor.unwrap() - pf).abs() < 1e-12);
        assert!((s.turnover - (10.0 + 12.0 + 22.5 + 13.5 + 10.0) / 1000.0).abs() < 1e-12);
        assert_eq!(s.win_rate, Some(0.5));
    }

    #[test]
    fn drawdown_and_its_duration() {
        let mut m = Metrics::new(d("100"), 1_000_000_000, 0.0);
        for (ts, e) in [
            (0, "100"),
            (1, "90"),
            (2, "110"),
            (3, "99"),
            (4, "88"),
            (5, "100"),
        ] {
            m.on_sample(&point(ts * 1_000_000_000, e));
        }
        let s = m.summary();
        assert!((s.max_drawdown - 0.2).abs() < 1e-12);
        // Under water from 2 s (peak 110) to the end at 5 s: 3 s, longer than 0 → 2 s.
        assert_eq!(s.max_drawdown_duration_s, 3.0);
        // Five seconds are not annualised: no CAGR, so no Calmar (return_statistics has one).
        assert_eq!((s.calmar, s.cagr), (None, None));
    }

    #[test]
    fn no_drawdown_no_calmar_no_losses_no_profit_factor() {
        let mut m = Metrics::new(d("100"), 1_000_000_000, 0.0);
        m.on_sample(&point(0, "100"));
        m.on_sample(&point(1_000_000_000, "100"));
        let s = m.summary();
        assert_eq!(
            (s.max_drawdown, s.calmar, s.profit_factor),
            (0.0, None, None)
        );
        assert_eq!(
            (s.sharpe, s.sortino, s.annual_volatility),
            (None, None, None)
        );
        assert_eq!(s.total_return, 0.0);
        let empty = Metrics::new(d("100"), 1, 0.0).summary();
        assert_eq!(
            (empty.cagr, empty.samples, empty.final_equity),
            (None, 0, d("100"))
        );
    }

    #[test]
    fn return_statistics() {
        let day = 86_400_000_000_000i64;
        let mut m = Metrics::new(d("100"), day, 0.0).with_min_returns(3);
        for (i, e) in ["100", "110", "99", "108.9"].iter().enumerate() {
            m.on_sample(&point(i as i64 * day, e));
        }
        let s = m.summary();
        let r = [0.1, -0.1, 0.1];
        let mean = (0.1f64 - 0.1 + 0.1) / 3.0;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0;
        let p = 365f64;
        assert!((s.annual_volatility.unwrap() - var.sqrt() * p.sqrt()).abs() < 1e-12);
        assert!((s.sharpe.unwrap() - mean / var.sqrt() * p.sqrt()).abs() < 1e-12);
        let dd = (0.01f64 / 3.0).sqrt();
        assert!((s.sortino.unwrap() - mean / dd * p.sqrt()).abs() < 1e-12);
        let cagr = 1.089f64.powf(365.0 / 3.0) - 1.0;
        assert!((s.cagr.unwrap() - cagr).abs() / cagr < 1e-12);
        assert!((s.calmar.unwrap() - cagr / 0.1).abs() / cagr < 1e-9);
    }
}
