//! The tape that drives the simulated market: reading an NDJSON trade file, and generating a
//! realistic one (`njord-sim gen`) from a seed.

use njord::event::{Event, Side, Trade, compact_symbol};
use njord::journal::JournalReader;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// One trade of the tape, in venue terms.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeTrade {
    /// Index into [`Tape::symbols`].
    pub sym: usize,
    pub id: u64,
    pub price: Decimal,
    pub qty: Decimal,
    /// Taker sold, so the buyer was the maker (Binance's `m`).
    pub buyer_maker: bool,
    pub ts_ms: i64,
}

/// A symbol seen on the tape, with the grid its prices and sizes live on.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeSymbol {
    /// `ATOM/USDT`.
    pub pair: String,
    /// `ATOMUSDT`.
    pub name: String,
    pub tick: Decimal,
    pub step: Decimal,
    pub first_price: Decimal,
}

#[derive(Debug, Clone, Default)]
pub struct Tape {
    pub symbols: Vec<TapeSymbol>,
    pub trades: Vec<TapeTrade>,
    /// Lines skipped as malformed, with their reasons (`file:line: reason`).
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error("cannot read tape {path}: {msg}")]
    Read { path: String, msg: String },
    #[error(
        "symbol {0} is not on the tape; list the tape's symbols with --symbols or omit the flag"
    )]
    MissingSymbol(String),
    #[error("tape {0} has no trades for the selected symbols; generate one with `njord-sim gen`")]
    Empty(String),
    #[error("symbol `{0}` must be written BASE/QUOTE, e.g. ATOM/USDT")]
    BadSymbol(String),
}

/// The grid step of a set of decimals: `10^-scale` of the finest one, between `min_scale`
/// and 8 decimals (Binance's precision).
fn grid(scale: u32, min_scale: u32) -> Decimal {
    Decimal::new(1, scale.clamp(min_scale, 8))
}

/// Reads a tape. `only` keeps the listed symbols (`ATOM/USDT`); every one must be present.
pub fn load(path: &Path, only: &[String]) -> Result<Tape, TapeError> {
    for s in only {
        if !s.contains('/') {
            return Err(TapeError::BadSymbol(s.clone()));
        }
    }
    let mut reader = JournalReader::open(path).map_err(|e| TapeError::Read {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    let mut tape = Tape::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut scales: Vec<(u32, u32)> = Vec::new();
    let mut next_id: Vec<u64> = Vec::new();
    let mut skipped = Vec::new();
    let mut out_of_range = Vec::new();
    let (max_price, max_qty) = (
        Decimal::from(1_000_000_000u64),
        Decimal::from(1_000_000_000_000u64),
    );
    reader.for_each_event(
        |ev| {
            let Event::Trade(t) = ev else { return };
            if !only.is_empty() && !only.iter().any(|s| *s == t.symbol) {
                return;
            }
            // The venue multiplies prices and sizes: keep them where that cannot overflow.
            let in_range = |d: Decimal, max: Decimal| d > Decimal::ZERO && d <= max;
            if !in_range(t.price, max_price) || !in_range(t.qty, max_qty) {
                out_of_range.push(format!(
                    "{}: trade {} skipped: price and qty must be > 0, price <= 1e9, qty <= 1e12",
                    path.display(),
                    t.trade_id
                ));
                return;
            }
            let sym = match index.get(t.symbol.as_ref()) {
                Some(i) => *i,
                None => {
                    let i = tape.symbols.len();
                    index.insert(t.symbol.to_string(), i);
                    tape.symbols.push(TapeSymbol {
                        pair: t.symbol.to_string(),
                        name: compact_symbol(&t.symbol),
                        tick: Decimal::ONE,
                        step: Decimal::ONE,
                        first_price: t.price,
                    });
                    scales.push((0, 0));
                    next_id.push(1);
                    i
                }
            };
            let (ps, qs) = &mut scales[sym];
            *ps = (*ps).max(t.price.normalize().scale());
            *qs = (*qs).max(t.qty.normalize().scale());
            let id = t.trade_id.parse::<u64>().unwrap_or(next_id[sym]);
            next_id[sym] = id.saturating_add(1);
            tape.trades.push(TapeTrade {
                sym,
                id,
                price: t.price,
                qty: t.qty,
                buyer_maker: t.side == Side::Sell,
                ts_ms: t.ts_ns.div_euclid(1_000_000),
            });
        },
        |bad| skipped.push(bad.to_string()),
    );
    skipped.extend(out_of_range);
    tape.skipped = skipped;
    for s in only {
        if !index.contains_key(s) {
            return Err(TapeError::MissingSymbol(s.clone()));
        }
    }
    if tape.trades.is_empty() {
        return Err(TapeError::Empty(path.display().to_string()));
    }
    for (s, (ps, qs)) in tape.symbols.iter_mut().zip(scales) {
        s.tick = grid(ps, 2);
        s.step = grid(qs, 0);
    }
    Ok(tape)
}

/// What `gen` writes.
#[derive(Debug, Clone)]
pub struct GenSpec {
    pub symbol: String,
    pub count: u64,
    pub seed: u64,
    pub start_ns: i64,
    pub price: Decimal,
    pub tick: Decimal,
}

impl GenSpec {
    /// The price grid: `tick`, or 0.001 when it is not above 0.
    fn tick(&self) -> Decimal {
        if self.tick > Decimal::ZERO {
            self.tick
        } else {
            Decimal::new(1, 3)
        }
    }
}

/// The market's mood: how often trades arrive (mean gap in ms).
#[derive(Clone, Copy)]
enum Regime {
    Quiet,
    Normal,
    Burst,
}

impl Regime {
    fn mean_gap_ms(self) -> f64 {
        match self {
            Regime::Quiet => 3_000.0,
            Regime::Normal => 250.0,
            Regime::Burst => 4.0,
        }
    }
}

/// Writes `count` trades as NDJSON: a random walk on the tick grid with bursts and quiet
/// spells, log-normal sizes and momentum in the taker side. Same spec, same bytes.
pub fn generate(spec: &GenSpec, out: &mut impl Write) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let tick = spec.tick();
    // Prices are whole ticks so the walk never leaves the grid.
    let mut ticks: i64 = (spec.price / tick).trunc().try_into().unwrap_or(10_000);
    let floor = 10;
    ticks = ticks.max(floor);
    let mut ts_ms = spec.start_ns.div_euclid(1_000_000);
    let mut regime = Regime::Normal;
    let mut last_up = true;
    let mut buf = Vec::with_capacity(1 << 16);
    for i in 0..spec.count {
        // Regime switches are rare, so spells last.
        let r: f64 = rng.random();
        regime = match regime {
            Regime::Normal if r < 0.01 => Regime::Burst,
            Regime::Normal if r < 0.015 => Regime::Quiet,
            Regime::Burst if r < 0.03 => Regime::Normal,
            Regime::Quiet if r < 0.2 => Regime::Normal,
            other => other,
        };
        let u: f64 = rng.random();
        let gap = -regime.mean_gap_ms() * (1.0 - u).ln();
        ts_ms += gap as i64;
        // Price: mostly unchanged, sometimes a tick or a few, with a little momentum.
        let m: f64 = rng.random();
        if m < 0.35 {
            let size = 1 + i64::from(rng.random_range(0u8..3) == 0) * rng.random_range(1..4);
            let up = if rng.random_bool(0.55) {
                last_up
            } else {
                !last_up
            };
            last_up = up;
            ticks = if up {
                ticks + size
            } else {
                (ticks - size).max(floor)
            };
        }
        let side = if rng.random_bool(0.6) == last_up {
            Side::Buy
        } else {
            Side::Sell
        };
        let trade = (
            tick * Decimal::from(ticks),
            side,
            ts_ms.saturating_mul(1_000_000),
        );
        write_trade(spec, i, trade, &mut rng, &mut buf, out)?;
    }
    out.write_all(&buf)?;
    out.flush()
}

/// Writes trade `i` of a generated tape at (price, side, time), with a log-normal size
/// (Box–Muller, in hundredths) from `sizes`, through `buf`.
fn write_trade(
    spec: &GenSpec,
    i: u64,
    (price, side, ts_ns): (Decimal, Side, i64),
    sizes: &mut ChaCha8Rng,
    buf: &mut Vec<u8>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let (u1, u2): (f64, f64) = (sizes.random(), sizes.random());
    let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let cents = ((z * 1.1 + 1.5).exp() * 100.0).clamp(1.0, 5_000_000.0) as i64;
    let id = (i + 1).to_string();
    let ev = Event::Trade(Trade {
        venue: Cow::Borrowed("binanceus"),
        symbol: Cow::Borrowed(&spec.symbol),
        trade_id: Cow::Borrowed(&id),
        price,
        qty: Decimal::new(cents, 2),
        side,
        ts_ns,
        ts_local_ns: None,
    });
    ev.write_line(buf);
    if buf.len() > (1 << 16) - 512 {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

/// The trade-to-trade log returns of `symbol` on a tape, for a block bootstrap.
pub fn log_returns(path: &Path, symbol: &str) -> Result<Vec<f64>, TapeError> {
    let tape = load(path, &[symbol.to_owned()])?;
    let prices: Vec<f64> = tape
        .trades
        .iter()
        .filter_map(|t| f64::try_from(t.price).ok())
        .filter(|p| *p > 0.0)
        .collect();
    Ok(prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect())
}

/// Writes `count` trades of a model's path as NDJSON, one every `interval_ns` from the start:
/// the price is the start price times the exponential of the summed log returns, rounded to
/// the tick (and kept between one tick and 10¹²), the taker side follows the return's sign,
/// sizes are log-normal (from their own stream, so the path is the model's alone).
pub fn generate_model(
    spec: &GenSpec,
    path: &mut njord::synth::Path,
    interval_ns: i64,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let tick = spec.tick();
    let (low, high) = (f64::try_from(tick).unwrap_or(1e-3).ln(), 1e12f64.ln());
    let mut log_price = f64::try_from(spec.price).unwrap_or(10.0).max(1e-300).ln();
    let mut sizes = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5EED_517E);
    let mut buf = Vec::with_capacity(1 << 16);
    for i in 0..spec.count {
        let r = path.next_return();
        log_price = (log_price + r).clamp(low, high);
        let ticks = (Decimal::try_from(log_price.exp()).unwrap_or(tick) / tick)
            .round()
            .max(Decimal::ONE);
        let ts = spec
            .start_ns
            .saturating_add(interval_ns.saturating_mul(i as i64));
        let side = if r >= 0.0 { Side::Buy } else { Side::Sell };
        write_trade(
            spec,
            i,
            ((tick * ticks).normalize(), side, ts),
            &mut sizes,
            &mut buf,
            out,
        )?;
    }
    out.write_all(&buf)?;
    out.flush()
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.fff][Z]` (UTC) into nanoseconds.
pub fn parse_iso(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not an ISO date (e.g. 2024-01-01 or 2024-01-01T09:30:00Z)");
    let s2 = s.trim_end_matches('Z');
    let (date, clock) = s2.split_once(['T', ' ']).unwrap_or((s2, "00:00:00"));
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        return Err(bad());
    };
    let (y, mo, da): (i32, u8, u8) = (
        y.parse().map_err(|_| bad())?,
        mo.parse().map_err(|_| bad())?,
        da.parse().map_err(|_| bad())?,
    );
    let month = time::Month::try_from(mo).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(y, month, da).map_err(|_| bad())?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let c: Vec<&str> = hms.split(':').collect();
    let nums: Vec<u8> = c
        .iter()
        .map(|x| x.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (h, mi, se) = match nums.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad()),
    };
    let t = time::Time::from_hms(h, mi, se).map_err(|_| bad())?;
    let mut ns = date.with_time(t).assume_utc().unix_timestamp_nanos();
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let digits: i128 = frac.parse().map_err(|_| bad())?;
        ns += digits * 10i128.pow(9 - frac.len() as u32);
    }
    i64::try_from(ns).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> GenSpec {
        GenSpec {
            symbol: "ATOM/USDT".into(),
            count: 2000,
            seed,
            start_ns: parse_iso("2024-01-01").unwrap(),
            price: Decimal::new(10_000, 3),
            tick: Decimal::new(1, 3),
        }
    }

    #[test]
    fn same_seed_same_bytes_and_on_grid() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        generate(&spec(7), &mut a).unwrap();
        generate(&spec(7), &mut b).unwrap();
        generate(&spec(8), &mut c).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let text = String::from_utf8(a).unwrap();
        let mut prev = 0;
        for line in text.lines() {
            let Event::Trade(t) = njord::event::decode(line).unwrap() else {
                panic!()
            };
            assert!(t.price.normalize().scale() <= 3 && t.price > Decimal::ZERO);
            assert!(t.ts_ns >= prev);
            prev = t.ts_ns;
        }
        assert_eq!(text.lines().count(), 2000);
    }

    #[test]
    fn load_infers_grids_and_skips_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.ndjson");
        std::fs::write(
            &p,
            concat!(
                r#"{"kind":"trade","venue":"x","symbol":"ATOM/USDT","trade_id":"7","price":10.25,"qty":1.5,"side":"sell","ts_ns":5000000}"#, "\n",
                "not json\n",
                r#"{"kind":"trade","venue":"x","symbol":"ATOM/USDT","trade_id":"8","price":1e30,"qty":1,"side":"buy","ts_ns":6000000}"#, "\n",
                r#"{"kind":"trade","venue":"x","symbol":"BTC/USDT","trade_id":"x","price":100,"qty":0.001,"side":"buy","ts_ns":7000000}"#, "\n",
            ),
        )
        .unwrap();
        let t = load(&p, &[]).unwrap();
        assert_eq!(t.trades.len(), 2);
        assert_eq!(t.skipped.len(), 2);
        assert_eq!(
            (t.symbols[0].tick, t.symbols[0].step),
            (Decimal::new(1, 2), Decimal::new(1, 1))
        );
        assert_eq!(
            (t.trades[0].id, t.trades[0].buyer_maker, t.trades[0].ts_ms),
            (7, true, 5)
        );
        assert_eq!((t.symbols[1].name.as_str(), t.trades[1].id), ("BTCUSDT", 1));
        assert!(matches!(
            load(&p, &["ETH/USDT".into()]),
            Err(TapeError::MissingSymbol(_))
        ));
        assert!(matches!(
            load(&p, &["ETHUSDT".into()]),
            Err(TapeError::BadSymbol(_))
        ));
    }

    #[test]
    fn iso_dates() {
        assert_eq!(parse_iso("1970-01-01").unwrap(), 0);
        assert_eq!(
            parse_iso("2024-01-01T00:00:01.5Z").unwrap(),
            1_704_067_201_500_000_000
        );
        assert!(parse_iso("2024-13-01").is_err());
        assert!(parse_iso("yesterday").is_err());
    }
}
