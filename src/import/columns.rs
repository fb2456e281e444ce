//! Any CSV with a header row, through a column mapping: `--columns ts=open_time,open=o,…`.
//!
//! Trades map `ts`, `price`, `qty` and either `side` (buy/sell) or `buyer_maker`
//! (true/false), optionally `id` (else the line number) and `symbol` (else `--symbol`).
//! Bars map `ts` (the open time), `open`, `high`, `low`, `close`, `volume`, optionally
//! `trades` and `symbol`; their timeframe comes from `--timeframe`. Times are integers or
//! decimals in `--ts-unit` (s, ms, us, ns; `auto` judges by size), or dates such as
//! `2024-01-02 03:04:05+00:00` (RFC 3339, a space allowed for the `T`, UTC when no offset).

use super::{Format, check_ohlc, dec};
use crate::bars::Timeframe;
use crate::event::{Bar, Event, Side, Trade};
use rust_decimal::Decimal;
use std::borrow::Cow;

/// The unit of numeric times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TsUnit {
    /// By size: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17.
    Auto,
    S,
    Ms,
    Us,
    Ns,
}

impl TsUnit {
    /// A time column to ns, exactly (decimal seconds keep their fraction).
    pub fn to_ns(self, text: &str) -> Result<i64, String> {
        let t = text.trim().trim_matches('"');
        if t.contains(':') {
            return date_ns(t);
        }
        let d: Decimal = crate::num::parse_decimal(t)
            .map_err(|_| format!("time `{t}` is neither a number nor a date"))?;
        let per = match self {
            TsUnit::S => 1_000_000_000i64,
            TsUnit::Ms => 1_000_000,
            TsUnit::Us => 1_000,
            TsUnit::Ns => 1,
            TsUnit::Auto => {
                let a = d.abs();
                if a < Decimal::from(100_000_000_000i64) {
                    1_000_000_000
                } else if a < Decimal::from(100_000_000_000_000i64) {
                    1_000_000
                } else if a < Decimal::from(100_000_000_000_000_000i64) {
                    1_000
                } else {
                    1
                }
            }
        };
        d.checked_mul(Decimal::from(per))
            .filter(|ns| ns.fract().is_zero())
            .and_then(|ns| i64::try_from(ns).ok())
            .ok_or_else(|| format!("time `{t}` is out of range or finer than a nanosecond"))
    }
}

/// `2024-01-02T03:04:05Z`, `2024-01-02 03:04:05+00:00`, or without an offset (UTC).
fn date_ns(t: &str) -> Result<i64, String> {
    let mut s = t.replacen(' ', "T", 1);
    let has_offset = s.ends_with('Z')
        || s.get(19..)
            .is_some_and(|tail| tail.contains('+') || tail.contains('-'));
    if !has_offset {
        s.push('Z');
    }
    crate::time::parse_time(&s)
        .map_err(|_| format!("time `{t}` is not a date (2024-01-02 03:04:05)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Ts,
    Price,
    Qty,
    Side,
    BuyerMaker,
    Id,
    Symbol,
    Open,
    High,
    Low,
    Close,
    Volume,
    Trades,
}

const FIELDS: [(&str, Field); 13] = [
    ("ts", Field::Ts),
    ("price", Field::Price),
    ("qty", Field::Qty),
    ("side", Field::Side),
    ("buyer_maker", Field::BuyerMaker),
    ("id", Field::Id),
    ("symbol", Field::Symbol),
    ("open", Field::Open),
    ("high", Field::High),
    ("low", Field::Low),
    ("close", Field::Close),
    ("volume", Field::Volume),
    ("trades", Field::Trades),
];

/// A parsed `--columns` mapping, before the header resolves it to positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    map: Vec<(Field, String)>,
}

impl Columns {
    /// Parses `ts=open_time,open=o,…`; says which fields are missing for trades or bars.
    pub fn parse(s: &str) -> Result<Columns, String> {
        let mut map = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not FIELD=COLUMN (e.g. ts=open_time)"))?;
            let field = FIELDS
                .iter()
                .find(|(n, _)| *n == k.trim())
                .map(|f| f.1)
                .ok_or_else(|| {
                    let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
                    format!("unknown field `{k}` (use {})", names.join(", "))
                })?;
            if map.iter().any(|(f, _)| *f == field) {
                return Err(format!("field `{k}` is mapped twice"));
            }
            map.push((field, v.trim().to_string()));
        }
        let c = Columns { map };
        let need: &[(&str, Field)] = if c.bars() {
            &[
                ("ts", Field::Ts),
                ("open", Field::Open),
                ("high", Field::High),
                ("low", Field::Low),
                ("close", Field::Close),
                ("volume", Field::Volume),
            ]
        } else {
            &[
                ("ts", Field::Ts),
                ("price", Field::Price),
                ("qty", Field::Qty),
            ]
        };
        let missing: Vec<&str> = need
            .iter()
            .filter(|(_, f)| !c.has(*f))
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            let what = if c.bars() { "bars" } else { "trades" };
            return Err(format!(
                "--columns maps no {} (needed for {what})",
                missing.join(", ")
            ));
        }
        if !c.bars() && !c.has(Field::Side) && !c.has(Field::BuyerMaker) {
            return Err("--columns maps neither side nor buyer_maker (needed for trades)".into());
        }
        Ok(c)
    }

    fn has(&self, f: Field) -> bool {
        self.map.iter().any(|(g, _)| *g == f)
    }

    /// Whether the mapping describes bars (it maps `open`) rather than trades.
    pub fn bars(&self) -> bool {
        self.has(Field::Open)
    }

    /// Whether a symbol comes from a column (else `--symbol` is needed).
    pub fn has_symbol(&self) -> bool {
        self.has(Field::Symbol)
    }
}

/// A generic CSV import: the mapping, resolved against the header.
pub struct GenericCsv {
    columns: Columns,
    /// Column position of each mapped field, once the header is read.
    pos: Vec<(Field, usize)>,
    width: usize,
    unit: TsUnit,
    timeframe: Option<Timeframe>,
    symbol: String,
    venue: String,
}

impl GenericCsv {
    /// `timeframe` is required for bars; `symbol` is used when no column names one.
    pub fn new(
        columns: Columns,
        unit: TsUnit,
        timeframe: Option<Timeframe>,
        symbol: &str,
        venue: &str,
    ) -> Result<Self, String> {
        if columns.bars() && timeframe.is_none() {
            return Err("--timeframe is required for bars (e.g. --timeframe 1m)".into());
        }
        if !columns.has_symbol() && symbol.is_empty() {
            return Err("--symbol is required unless --columns maps symbol".into());
        }
        Ok(GenericCsv {
            columns,
            pos: Vec::new(),
            width: 0,
            unit,
            timeframe,
            symbol: symbol.into(),
            venue: venue.into(),
        })
    }

    fn col<'a>(&self, cells: &[&'a str], f: Field) -> Option<&'a str> {
        self.pos
            .iter()
            .find(|(g, _)| *g == f)
            .map(|&(_, i)| cells[i])
    }

    fn need<'a>(&self, cells: &[&'a str], f: Field) -> &'a str {
        self.col(cells, f).unwrap_or_default()
    }
}

fn cells(row: &str) -> Vec<&str> {
    row.split(',').map(|c| c.trim().trim_matches('"')).collect()
}

impl Format for GenericCsv {
    fn command(&self) -> &'static str {
        "csv"
    }
    fn what(&self) -> String {
        let names: Vec<&str> = self.columns.map.iter().map(|(_, c)| c.as_str()).collect();
        format!("a CSV with the columns {}", names.join(", "))
    }
    fn header(&mut self, row: &str) -> Result<bool, String> {
        let head = cells(row);
        for (f, name) in &self.columns.map {
            let i = head.iter().position(|h| h == name).ok_or_else(|| {
                format!(
                    "the header has no column `{name}` (it has: {}); a CSV import needs a header row",
                    head.join(", ")
                )
            })?;
            self.pos.push((*f, i));
        }
        self.width = head.len();
        Ok(true)
    }
    fn row<'a>(&'a self, row: &'a str, lineno: u64) -> Result<Option<Event<'a>>, String> {
        let c = cells(row);
        if c.len() != self.width {
            return Err(format!(
                "expected {} columns as in the header, found {}",
                self.width,
                c.len()
            ));
        }
        let ts = self.unit.to_ns(self.need(&c, Field::Ts))?;
        let symbol = match self.col(&c, Field::Symbol) {
            Some(s) if !s.is_empty() => Cow::Borrowed(s),
            Some(_) => return Err("symbol is empty".into()),
            None => Cow::Borrowed(self.symbol.as_str()),
        };
        if let Some(tf) = self.timeframe.filter(|_| self.columns.bars()) {
            if tf.bucket_start(ts) != ts {
                return Err(format!("time {ts} ns is not on a {tf} boundary"));
            }
            let g = |f: Field, n: &str| dec(self.need(&c, f), n);
            let (open, high, low, close, volume) = (
                g(Field::Open, "open")?,
                g(Field::High, "high")?,
                g(Field::Low, "low")?,
                g(Field::Close, "close")?,
                g(Field::Volume, "volume")?,
            );
            check_ohlc(open, high, low, close, volume)?;
            let trades = match self.col(&c, Field::Trades) {
                Some(t) => t
                    .parse::<u64>()
                    .map_err(|_| format!("trades `{t}` is not a whole number"))?,
                None => 0,
            };
            return Ok(Some(Event::Bar(Bar {
                symbol,
                timeframe: Cow::Borrowed(tf.label()),
                ts_open_ns: ts,
                ts_close_ns: ts.saturating_add(tf.ns()),
                open,
                high,
                low,
                close,
                volume,
                trades,
            })));
        }
        let side = match (self.col(&c, Field::Side), self.col(&c, Field::BuyerMaker)) {
            (Some(s), _) => match s.to_ascii_lowercase().as_str() {
                "buy" | "b" => Side::Buy,
                "sell" | "s" => Side::Sell,
                _ => return Err(format!("side `{s}` is not buy or sell")),
            },
            (None, Some(m)) => match m.to_ascii_lowercase().as_str() {
                "true" | "1" => Side::Sell,
                "false" | "0" => Side::Buy,
                _ => return Err(format!("buyer_maker `{m}` is not true or false")),
            },
            (None, None) => return Err("no side column".into()),
        };
        let trade_id = match self.col(&c, Field::Id) {
            Some(id) if !id.is_empty() => Cow::Borrowed(id),
            Some(_) => return Err("id is empty".into()),
            None => Cow::Owned(lineno.to_string()),
        };
        Ok(Some(Event::Trade(Trade {
            venue: Cow::Borrowed(&self.venue),
            symbol,
            trade_id,
            price: dec(self.need(&c, Field::Price), "price")?,
            qty: dec(self.need(&c, Field::Qty), "qty")?,
            side,
            ts_ns: ts,
            ts_local_ns: None,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_dates() {
        assert_eq!(
            TsUnit::S.to_ns("1700000000.5"),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(
            TsUnit::Ms.to_ns("1700000000123"),
            Ok(1_700_000_000_123_000_000)
        );
        assert_eq!(
            TsUnit::Us.to_ns("1700000000123456"),
            Ok(1_700_000_000_123_456_000)
        );
        assert_eq!(TsUnit::Ns.to_ns("17"), Ok(17));
        assert_eq!(
            TsUnit::Auto.to_ns("1700000000"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            TsUnit::Auto.to_ns("1700000000123"),
            Ok(1_700_000_000_123_000_000)
        );
        let t = 1_704_164_645_000_000_000; // 2024-01-02T03:04:05Z
        for d in [
            "2024-01-02 03:04:05+00:00",
            "2024-01-02T03:04:05Z",
            "2024-01-02 03:04:05",
        ] {
            assert_eq!(TsUnit::Ms.to_ns(d), Ok(t), "{d}");
        }
        assert!(TsUnit::Ns.to_ns("0.5").unwrap_err().contains("finer"));
        assert!(TsUnit::S.to_ns("soon").unwrap_err().contains("neither"));
    }

    #[test]
    fn mappings_say_what_is_missing() {
        assert!(
            Columns::parse("ts=t,open=o")
                .unwrap_err()
                .contains("high, low, close, volume")
        );
        assert!(
            Columns::parse("ts=t,price=p,qty=q")
                .unwrap_err()
                .contains("neither side")
        );
        assert!(
            Columns::parse("ts=t,colour=c")
                .unwrap_err()
                .contains("unknown field `colour`")
        );
        assert!(Columns::parse("ts=a,ts=b").unwrap_err().contains("twice"));
        assert!(Columns::parse("ts").unwrap_err().contains("FIELD=COLUMN"));
    }

    fn csv(cols: &str, tf: Option<&str>, header: &str) -> GenericCsv {
        let mut f = GenericCsv::new(
            Columns::parse(cols).unwrap(),
            TsUnit::Ms,
            tf.map(|t| Timeframe::parse(t).unwrap()),
            "A/B",
            "v",
        )
        .unwrap();
        assert_eq!(f.header(header), Ok(true));
        f
    }

    #[test]
    fn bars_and_trades_through_a_mapping() {
        let f = csv(
            "ts=date,open=o,high=h,low=l,close=c,volume=v",
            Some("1m"),
            "date,o,h,l,c,v",
        );
        let ev = f
            .row("1704067200000,1.10,1.3,1.0,1.2,7.50", 2)
            .unwrap()
            .unwrap();
        assert_eq!(
            ev.to_json(),
            r#"{"kind":"bar","symbol":"A/B","timeframe":"1m","ts_open_ns":1704067200000000000,"ts_close_ns":1704067260000000000,"open":1.1,"high":1.3,"low":1,"close":1.2,"volume":7.5,"trades":0}"#
        );
        assert!(
            f.row("1704067200000,1,1", 3)
                .unwrap_err()
                .contains("expected 6 columns")
        );
        let f = csv(
            "ts=time,price=p,qty=q,side=s,symbol=sym",
            None,
            "sym,time,p,q,s",
        );
        let ev = f.row("C/D,1704067200000,0.3,2,SELL", 9).unwrap().unwrap();
        assert_eq!(
            ev.to_json(),
            r#"{"kind":"trade","venue":"v","symbol":"C/D","trade_id":"9","price":0.3,"qty":2,"side":"sell","ts_ns":1704067200000000000}"#
        );
        assert!(
            f.row("C/D,1,0.3,2,up", 9)
                .unwrap_err()
                .contains("side `up`")
        );
    }

    #[test]
    fn a_header_without_the_columns_is_refused() {
        let mut f = GenericCsv::new(
            Columns::parse("ts=t,price=p,qty=q,side=s").unwrap(),
            TsUnit::Ms,
            None,
            "A/B",
            "v",
        )
        .unwrap();
        let e = f.header("time,price,qty,side").unwrap_err();
        assert!(
            e.contains("no column `t` (it has: time, price, qty, side)"),
            "{e}"
        );
        let e = GenericCsv::new(
            Columns::parse("ts=t,open=o,high=h,low=l,close=c,volume=v").unwrap(),
            TsUnit::Ms,
            None,
            "A/B",
            "v",
        );
        assert!(e.err().unwrap().contains("--timeframe is required"));
    }
}
