//! freqtrade's candle files (`user_data/data/<exchange>/<PAIR>-<tf>.json`, or `.json.gz`):
//! one JSON array `[[ts_ms, open, high, low, close, volume], …]`. The numbers are read from
//! their JSON text, so a decimal stays exactly as written. freqtrade does not store the
//! timeframe in the file: it is `--timeframe`.

use super::{ImportError, ImportStats, Tally, check_ohlc, dec};
use crate::bars::Timeframe;
use crate::event::{Bar, Event};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io;

const WHAT: &str = "freqtrade candle JSON ([[ts_ms, open, high, low, close, volume], …])";

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    1 + text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// Converts one candle; its values borrow nothing, the symbol is the caller's.
fn candle<'a>(raw: &RawValue, symbol: &'a str, tf: Timeframe) -> Result<Bar<'a>, String> {
    let v: Vec<&RawValue> = serde_json::from_str(raw.get())
        .map_err(|_| "a candle must be an array [ts_ms, open, high, low, close, volume]")?;
    if v.len() != 6 {
        return Err(format!(
            "a candle has 6 values [ts_ms, open, high, low, close, volume], found {}",
            v.len()
        ));
    }
    let ts_ms = dec(v[0].get(), "ts_ms")?;
    let ts_open_ns = ts_ms
        .checked_mul(1_000_000.into())
        .filter(|ns| ns.fract().is_zero())
        .and_then(|ns| i64::try_from(ns).ok())
        .filter(|ns| *ns >= 0)
        .ok_or_else(|| format!("ts_ms `{ts_ms}` is out of range"))?;
    if tf.bucket_start(ts_open_ns) != ts_open_ns {
        return Err(format!(
            "ts_ms {ts_ms} is not on a {tf} boundary (is --timeframe right?)"
        ));
    }
    let (open, high, low, close, volume) = (
        dec(v[1].get(), "open")?,
        dec(v[2].get(), "high")?,
        dec(v[3].get(), "low")?,
        dec(v[4].get(), "close")?,
        dec(v[5].get(), "volume")?,
    );
    check_ohlc(open, high, low, close, volume)?;
    Ok(Bar {
        symbol: Cow::Borrowed(symbol),
        timeframe: Cow::Borrowed(tf.label()),
        ts_open_ns,
        ts_close_ns: ts_open_ns + tf.ns(),
        open,
        high,
        low,
        close,
        volume,
        trades: 0,
    })
}

/// Converts a whole freqtrade file (`text`, named `name` in messages) into `bar` events.
pub fn freqtrade_candles(
    name: &str,
    text: &str,
    symbol: &str,
    tf: Timeframe,
    mut emit: impl FnMut(&Event<'_>) -> io::Result<()>,
    mut on_bad: impl FnMut(String),
) -> Result<ImportStats, ImportError> {
    let wrong = |reason: String| {
        ImportError::WrongFormat(format!(
            "{name}: this does not look like {WHAT}; first problem: {reason}"
        ))
    };
    let candles: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        let reason = if e.line() > 0 {
            format!("{name}:{}: {e}", e.line())
        } else {
            e.to_string()
        };
        wrong(reason)
    })?;
    let mut tally = Tally::new();
    for (i, raw) in candles.iter().enumerate() {
        match candle(raw, symbol, tf) {
            Ok(bar) => {
                emit(&Event::Bar(bar))?;
                tally.good(&mut on_bad);
            }
            Err(reason) => {
                let at = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                let msg = format!("{name}:{}: candle {}: {reason}", line_of(text, at), i + 1);
                tally.bad(msg, &mut on_bad).map_err(wrong)?;
            }
        }
    }
    tally.finish().map_err(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, tf: &str) -> (Result<ImportStats, String>, Vec<String>, Vec<String>) {
        let (mut out, mut bad) = (Vec::new(), Vec::new());
        let r = freqtrade_candles(
            "f.json",
            text,
            "A/B",
            Timeframe::parse(tf).unwrap(),
            |e| {
                out.push(e.to_json());
                Ok(())
            },
            |b| bad.push(b),
        )
        .map_err(|e| e.to_string());
        (r, out, bad)
    }

    #[test]
    fn candles_become_bars_exactly() {
        let text = "[[1704067200000,0.1,0.30000000000000004,0.1,0.2,1e-5],\n[1704067260000,\"x\",1,1,1,1],\n[1704067320000,1,1,1,1,0]]";
        let (r, out, bad) = run(text, "1m");
        assert_eq!(r, Ok(ImportStats { events: 2, bad: 1 }));
        assert_eq!(
            out[0],
            r#"{"kind":"bar","symbol":"A/B","timeframe":"1m","ts_open_ns":1704067200000000000,"ts_close_ns":1704067260000000000,"open":0.1,"high":0.30000000000000004,"low":0.1,"close":0.2,"volume":0.00001,"trades":0}"#
        );
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with("f.json:2: candle 2: open:"),
            "{}",
            bad[0]
        );
    }

    #[test]
    fn other_files_are_refused_at_once() {
        let (r, _, _) = run("1,2,3\n", "1m");
        assert!(r.unwrap_err().contains("this does not look like freqtrade"));
        let (r, _, _) = run("[[1704067230000,1,1,1,1,1]]", "1m");
        assert!(r.unwrap_err().contains("not on a 1m boundary"));
        let (r, _, _) = run(r#"[{"date":1}]"#, "1m");
        assert!(r.unwrap_err().contains("must be an array"));
    }
}
