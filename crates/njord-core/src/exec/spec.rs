//! The `exec` object of a parent intent: which algorithm and its parameters, checked once by
//! njord-risk (a bad one is `invalid_intent` naming `exec.<key>`) and read again by njord-exec.

use crate::backtest::metrics::parse_interval as parse_duration;
use crate::event::{ExecSpec, Map};
use rust_decimal::Decimal;
use serde_json::Value;

/// A checked execution algorithm.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// Equal slices over `duration_ns`, times and sizes jittered by up to `jitter` of a slice.
    Twap {
        duration_ns: i64,
        slices: u32,
        jitter: f64,
        seed: u64,
    },
    /// Slices weighted by the intraday volume profile of the bars seen so far (`timeframe`
    /// buckets by time of day), each at most `max_participation` of the volume traded in its
    /// slice (1 = no cap).
    Vwap {
        duration_ns: i64,
        slices: u32,
        timeframe: String,
        max_participation: Decimal,
    },
    /// Keeps the quantity sent at `rate` of the market volume traded since arrival: sends when
    /// it falls below `min_rate` × volume, up to `rate` × volume, never above `max_rate`.
    Pov {
        rate: Decimal,
        min_rate: Decimal,
        max_rate: Decimal,
    },
    /// A limit parent shown `visible` at a time (± `variance` of it, seeded): the next child
    /// goes out when the one before has filled. `native`: one child for the whole parent,
    /// carrying `visible` as the venue's own `icebergQty`, which refreshes it.
    Iceberg {
        visible: Decimal,
        variance: f64,
        seed: u64,
        native: bool,
    },
    /// A limit parent worked as one child resting at the touch of its own side (the best bid
    /// for a buy, the best ask for a sell), `offset` behind it, never past the parent's limit
    /// (the reprice limit); re-priced, by cancel and replace, when the price it should rest
    /// at moves by at least `min_move`, at most `max_reprices` times.
    Peg {
        offset: Decimal,
        min_move: Decimal,
        max_reprices: u32,
    },
}

/// [`Spec::parse`] remembering the last spec it parsed: a strategy's intents and parents
/// all carry one shared spec, so risk and the execution core parse it once.
#[derive(Debug, Default)]
pub struct Memo(Option<(ExecSpec, Spec)>);

impl Memo {
    pub fn parse(&mut self, m: &ExecSpec) -> Result<Spec, (String, String)> {
        // `Arc`'s equality compares the pointers first: the shared spec costs no more.
        if let Some((seen, spec)) = &self.0
            && seen == m
        {
            return Ok(spec.clone());
        }
        let spec = Spec::parse(m)?;
        self.0 = Some((m.clone(), spec.clone()));
        Ok(spec)
    }
}

/// Every algorithm's name, as [`Spec::algo`] gives it.
pub const ALGOS: [&str; 5] = ["twap", "vwap", "pov", "iceberg", "peg"];

impl Spec {
    pub fn algo(&self) -> &'static str {
        match self {
            Spec::Twap { .. } => "twap",
            Spec::Vwap { .. } => "vwap",
            Spec::Pov { .. } => "pov",
            Spec::Iceberg { .. } => "iceberg",
            Spec::Peg { .. } => "peg",
        }
    }

    /// Reads and checks an `exec` object. Errors name the key: `("exec.slices", "…")`.
    pub fn parse(m: &Map) -> Result<Spec, (String, String)> {
        let err = |k: &str, msg: String| (format!("exec.{k}"), msg);
        let algo = match m.get("algo") {
            Some(Value::String(s)) => s.as_str(),
            Some(v) => {
                return Err(err(
                    "algo",
                    format!("expected twap, vwap, pov, iceberg or peg, found `{v}`"),
                ));
            }
            None => {
                return Err(err(
                    "algo",
                    "required: twap, vwap, pov, iceberg or peg".into(),
                ));
            }
        };
        let known: &[&str] = match algo {
            "twap" => &["algo", "duration", "slices", "jitter", "seed"],
            "vwap" => &[
                "algo",
                "duration",
                "slices",
                "timeframe",
                "max_participation",
            ],
            "pov" => &["algo", "rate", "min_rate", "max_rate"],
            "iceberg" => &["algo", "visible", "variance", "seed", "native"],
            "peg" => &["algo", "offset", "min_move", "max_reprices"],
            other => {
                return Err(err(
                    "algo",
                    format!("unknown `{other}` (twap, vwap, pov, iceberg or peg)"),
                ));
            }
        };
        if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(err(
                k,
                format!("unknown key for {algo} (known: {})", known.join(", ")),
            ));
        }
        let duration = || -> Result<i64, (String, String)> {
            match m.get("duration") {
                Some(Value::String(s)) => parse_duration(s).map_err(|e| err("duration", e)),
                Some(v) => Err(err(
                    "duration",
                    format!("expected a duration such as \"10m\", found `{v}`"),
                )),
                None => Err(err("duration", "required (such as \"10m\")".into())),
            }
        };
        let slices = || -> Result<u32, (String, String)> {
            match m.get("slices") {
                None => Ok(10),
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=10_000).contains(n))
                    .map(|n| n as u32)
                    .ok_or_else(|| err("slices", format!("expected 1 to 10000, found `{v}`"))),
            }
        };
        let fraction = |k: &str, default: Option<Decimal>| -> Result<Decimal, (String, String)> {
            let v = match (m.get(k), default) {
                (None, Some(d)) => return Ok(d),
                (None, None) => return Err(err(k, "required (a fraction such as 0.1)".into())),
                (Some(v), _) => v,
            };
            crate::num::decimal_of(v)
                .filter(|d| *d > Decimal::ZERO && *d <= Decimal::ONE)
                .map(|d| d.normalize())
                .ok_or_else(|| err(k, format!("expected a fraction in (0, 1], found `{v}`")))
        };
        let jitter = |k: &str| -> Result<f64, (String, String)> {
            match m.get(k) {
                None => Ok(0.0),
                Some(v) => v
                    .as_f64()
                    .filter(|j| (0.0..=0.5).contains(j))
                    .ok_or_else(|| err(k, format!("expected 0 to 0.5, found `{v}`"))),
            }
        };
        let seed = || -> Result<u64, (String, String)> {
            match m.get("seed") {
                None => Ok(0),
                Some(v) => v.as_u64().ok_or_else(|| {
                    err("seed", format!("expected a whole number ≥ 0, found `{v}`"))
                }),
            }
        };
        let distance = |k: &str| -> Result<Decimal, (String, String)> {
            match m.get(k) {
                None => Ok(Decimal::ZERO),
                Some(v) => crate::num::decimal_of(v)
                    .filter(|d| *d >= Decimal::ZERO)
                    .map(|d| d.normalize())
                    .ok_or_else(|| err(k, format!("expected a price distance ≥ 0, found `{v}`"))),
            }
        };
        Ok(match algo {
            "peg" => Spec::Peg {
                offset: distance("offset")?,
                min_move: distance("min_move")?,
                max_reprices: match m.get("max_reprices") {
                    None => 100,
                    Some(v) => v
                        .as_u64()
                        .filter(|n| *n <= 100_000)
                        .map(|n| n as u32)
                        .ok_or_else(|| {
                            err("max_reprices", format!("expected 0 to 100000, found `{v}`"))
                        })?,
                },
            },
            "twap" => Spec::Twap {
                duration_ns: duration()?,
                slices: slices()?,
                jitter: jitter("jitter")?,
                seed: seed()?,
            },
            "iceberg" => {
                let v = m.get("visible");
                let visible = v.and_then(crate::num::decimal_of);
                let Some(visible) = visible.filter(|d| *d > Decimal::ZERO) else {
                    let found = v.map_or("nothing".to_string(), |v| format!("`{v}`"));
                    let msg =
                        format!("required: the quantity shown at a time (> 0), found {found}");
                    return Err(err("visible", msg));
                };
                let native = match m.get("native") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(v) => {
                        return Err(err(
                            "native",
                            format!("expected true or false, found `{v}`"),
                        ));
                    }
                };
                if native && (m.contains_key("variance") || m.contains_key("seed")) {
                    let k = if m.contains_key("variance") {
                        "variance"
                    } else {
                        "seed"
                    };
                    let msg = "not with native: the venue refreshes a native iceberg itself";
                    return Err(err(k, msg.into()));
                }
                Spec::Iceberg {
                    visible: visible.normalize(),
                    variance: jitter("variance")?,
                    seed: seed()?,
                    native,
                }
            }
            "vwap" => {
                let timeframe = match m.get("timeframe") {
                    None => "1m".to_string(),
                    Some(Value::String(s)) if parse_duration(s).is_ok() => s.clone(),
                    Some(v) => {
                        return Err(err(
                            "timeframe",
                            format!("expected a bar timeframe such as \"1m\", found `{v}`"),
                        ));
                    }
                };
                Spec::Vwap {
                    duration_ns: duration()?,
                    slices: slices()?,
                    timeframe,
                    max_participation: fraction("max_participation", Some(Decimal::ONE))?,
                }
            }
            _ => {
                let rate = fraction("rate", None)?;
                let min_rate = fraction("min_rate", Some(rate))?;
                let max_rate = fraction("max_rate", Some(rate))?;
                if min_rate > rate || rate > max_rate {
                    return Err(err(
                        "rate",
                        format!(
                            "need min_rate ≤ rate ≤ max_rate, found {min_rate}, {rate}, {max_rate}"
                        ),
                    ));
                }
                Spec::Pov {
                    rate,
                    min_rate,
                    max_rate,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALGOS` is exactly what the parser knows: each name is taken (its other keys may be
    /// missing) and any other is refused as an unknown algorithm.
    #[test]
    fn algos_are_the_parsers_names() {
        let parse = |algo: &str| {
            let m: Map = serde_json::from_value(serde_json::json!({ "algo": algo })).unwrap();
            Spec::parse(&m)
        };
        for a in ALGOS {
            match parse(a) {
                Ok(spec) => assert_eq!(spec.algo(), a),
                Err((key, msg)) => assert_ne!(key, "exec.algo", "{a}: {msg}"),
            }
        }
        assert_eq!(parse("twapp").unwrap_err().0, "exec.algo");
    }
}
