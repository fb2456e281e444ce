//! What a sweep searches: the parameters of a grid file (`sweep --grid grid.yaml`) and a
//! seeded random sample of their combinations (`--samples N --seed S`).
//!
//! A grid file names each parameter with a list of values or a range, in the order the grid
//! enumerates them (the first varies slowest):
//!
//! ```yaml
//! params:
//!   fast: [5, 8, 13]
//!   ema_atom.slow: {from: 20, to: 60, step: 10}
//! ```
//!
//! A range's values are `from`, `from + step`, … up to `to`, computed in exact decimals, so
//! `{from: 0.1, to: 0.3, step: 0.1}` is `0.1, 0.2, 0.3`.
//!
//! Random search draws combinations of the same grid, each value of each parameter equally
//! likely, skipping a combination already drawn. Trial k is the k-th distinct draw of a
//! ChaCha8 generator seeded with S, so the first N samples of a seed are the same whatever N:
//! asking for more samples later reuses the trials already stored.

use super::sweep::Axis;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::str::FromStr;

/// The most values one range may expand to.
pub const MAX_RANGE_VALUES: usize = 100_000;

/// A YAML mapping read in its written order.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of parameter names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    params: Ordered,
}

/// The parameters of a grid file, in its order; `origin` names the file in errors.
pub fn parse_grid(text: &str, origin: &str) -> Result<Vec<Axis>, String> {
    let file: GridFile = serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    if file.params.0.is_empty() {
        return Err(format!("{origin}: `params` names no parameter"));
    }
    let mut axes = Vec::new();
    for (name, spec) in file.params.0 {
        let at = format!("{origin}: params.{name}");
        let shown = match &spec {
            Value::Array(list) => list.iter().map(scalar_text).collect::<Result<_, _>>(),
            Value::Object(_) => range(&spec),
            _ => Err("expected a list of values or {from, to, step}".to_string()),
        }
        .map_err(|e| format!("{at}: {e}"))?;
        let axis = super::sweep::parse_axis(&format!("{name}={}", shown.join(",")))
            .map_err(|e| format!("{at}: {e}"))?;
        axes.push(axis);
    }
    Ok(axes)
}

/// A list entry as the text `--param` would take.
fn scalar_text(v: &Value) -> Result<String, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(format!("`{v}` is not a number, a string or a boolean")),
    };
    if text.contains(',') || text.trim().is_empty() {
        return Err(format!(
            "`{text}` cannot be a value (empty, or holds a comma)"
        ));
    }
    Ok(text)
}

/// The values of `{from, to, step}`.
fn range(spec: &Value) -> Result<Vec<String>, String> {
    let obj = spec.as_object().expect("called on an object");
    if let Some(k) = obj
        .keys()
        .find(|k| !["from", "to", "step"].contains(&k.as_str()))
    {
        return Err(format!("unknown key `{k}` (a range has from, to and step)"));
    }
    let num = |k: &str| -> Result<Decimal, String> {
        let v = obj.get(k).ok_or(format!("a range needs `{k}`"))?;
        let text = match v {
            Value::Number(n) => n.to_string(),
            _ => return Err(format!("`{k}` must be a number")),
        };
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| format!("`{k}` = {text} is not a decimal number"))
    };
    let (from, to, step) = (num("from")?, num("to")?, num("step")?);
    if step <= Decimal::ZERO || from > to {
        return Err(format!(
            "needs step > 0 and from ≤ to (got from {from}, to {to}, step {step})"
        ));
    }
    let too_large = || format!("from {from}, to {to} and step {step} are beyond exact decimals");
    let count = (to.checked_sub(from).ok_or_else(too_large)?)
        .checked_div(step)
        .ok_or_else(too_large)?
        .floor()
        .checked_add(Decimal::ONE)
        .ok_or_else(too_large)?;
    if count > Decimal::from(MAX_RANGE_VALUES) {
        return Err(format!(
            "expands to {count} values, more than {MAX_RANGE_VALUES}"
        ));
    }
    let mut out = Vec::new();
    let mut v = Some(from);
    while let Some(x) = v.filter(|x| *x <= to) {
        out.push(x.normalize().to_string());
        v = x.checked_add(step);
    }
    Ok(out)
}

/// The number of combinations of `axes` (saturating).
pub fn size(axes: &[Axis]) -> u128 {
    axes.iter()
        .fold(1u128, |n, a| n.saturating_mul(a.values.len() as u128))
}

/// `n` distinct combinations of `axes` (one value index per axis), drawn with a generator
/// seeded `seed`; fewer than the grid holds, or the whole grid is the search.
pub fn sample(axes: &[Axis], n: usize, seed: u64) -> Result<Vec<Vec<usize>>, String> {
    let total = size(axes);
    if n as u128 >= total {
        return Err(format!(
            "--samples {n} is not below the grid's {total} combinations: drop --samples to run \
             them all"
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let combo: Vec<usize> = axes
            .iter()
            .map(|a| rng.random_range(0..a.values.len()))
            .collect();
        if seen.insert(combo.clone()) {
            out.push(combo);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_file_keeps_its_order_and_expands_ranges_exactly() {
        let text = "params:\n  slow: {from: 0.1, to: 0.3, step: 0.1}\n  b.fast: [5, 8, 13]\n  flag: [true]\n";
        let axes = parse_grid(text, "g.yaml").unwrap();
        let labels: Vec<String> = axes.iter().map(Axis::label).collect();
        assert_eq!(labels, ["slow", "b.fast", "flag"]);
        assert_eq!(axes[0].shown, ["0.1", "0.2", "0.3"]);
        assert_eq!(axes[1].shown, ["5", "8", "13"]);
        assert_eq!(axes[1].values[2], Value::from(13));
        assert_eq!(axes[2].values[0], Value::Bool(true));
        let ints = parse_grid("params:\n  n: {from: 20, to: 65, step: 10}\n", "g").unwrap();
        assert_eq!(ints[0].shown, ["20", "30", "40", "50", "60"]);
        assert_eq!(ints[0].values[0], Value::from(20));
    }

    #[test]
    fn grid_file_errors_name_the_file_and_the_parameter() {
        let bad = [
            ("params:\n  n: 5\n", "params.n: expected a list"),
            (
                "params:\n  n: {from: 5, to: 1, step: 1}\n",
                "params.n: needs step > 0",
            ),
            (
                "params:\n  n: {from: 1, to: 5}\n",
                "params.n: a range needs `step`",
            ),
            (
                "params:\n  n: {from: 1, to: 5, step: 1, by: 2}\n",
                "unknown key `by`",
            ),
            (
                "params:\n  n: {from: 0, to: 1, step: 0.000001}\n",
                "more than 100000",
            ),
            (
                "params:\n  n: {from: 0, to: 1e20, step: 1e-10}\n",
                "beyond exact decimals",
            ),
            (
                "params:\n  n: {from: -5e28, to: 5e28, step: 1e28}\n",
                "beyond exact decimals",
            ),
            (
                "params:\n  n: {from: 0, to: 7e28, step: 0.5}\n",
                "beyond exact decimals",
            ),
            ("params:\n  n: []\n", "params.n: --param"),
            ("params:\n  n: [1]\n  n: [2]\n", "duplicate mapping key"),
            ("params: {}\n", "names no parameter"),
            ("param:\n  n: [1]\n", "g.yaml"),
        ];
        for (text, want) in bad {
            let e = parse_grid(text, "g.yaml").unwrap_err();
            assert!(e.starts_with("g.yaml") && e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn samples_are_distinct_seeded_and_a_prefix_of_more_samples() {
        let axes = parse_grid(
            "params:\n  a: {from: 1, to: 10, step: 1}\n  b: [x, y, z]\n",
            "g",
        )
        .unwrap();
        assert_eq!(size(&axes), 30);
        let s = sample(&axes, 12, 7).unwrap();
        assert_eq!(s.len(), 12);
        let distinct: std::collections::HashSet<_> = s.iter().collect();
        assert_eq!(distinct.len(), 12);
        assert!(s.iter().all(|c| c[0] < 10 && c[1] < 3));
        assert_eq!(s, sample(&axes, 12, 7).unwrap());
        assert_eq!(sample(&axes, 29, 7).unwrap()[..12], s[..]);
        assert_ne!(sample(&axes, 12, 8).unwrap(), s);
        let e = sample(&axes, 30, 7).unwrap_err();
        assert!(e.contains("30 combinations"), "{e}");
    }
}
