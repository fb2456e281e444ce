//! Parameter sweeps: `--param rsi_period=10,14,20 --param bb_std=1.5,2,2.5` runs every
//! combination (the first `--param` varies slowest) and ranks them by one metric.
//!
//! A parameter applies to every strategy whose class has it, or to one strategy when written
//! `id.key=…`. Each combination is an independent, deterministic backtest; they run in
//! parallel and the results are collected in grid order before sorting (a stable sort, ties
//! kept in grid order), so the table and `sweep.csv` are the same whatever the thread count.
//!
//! Every trial keeps its per-period returns ([`Returns`]), so a sweep reports how much its
//! best trial owes to luck: the deflated Sharpe ratio and the probability of backtest
//! overfitting ([`crate::overfit`]).

use super::engine::{RunResult, Sink};
use super::metrics::{Account, Sample};
use crate::event::Fill;
use crate::overfit;
use crate::strategy::registry::Registry;
use serde_json::Value;

/// One `--param`: which strategy (all when `None`), which key, which values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub strategy: Option<String>,
    pub key: String,
    pub values: Vec<Value>,
    /// The values as written, for the table.
    pub shown: Vec<String>,
}

impl Axis {
    /// The column name: `key` or `id.key`.
    pub fn label(&self) -> String {
        match &self.strategy {
            Some(s) => format!("{s}.{}", self.key),
            None => self.key.clone(),
        }
    }
}

/// Parses `key=v1,v2,…` or `id.key=v1,…`; values are read as YAML scalars (`14`, `2.5`, `true`).
pub fn parse_axis(s: &str) -> Result<Axis, String> {
    let (name, values) = s.split_once('=').ok_or_else(|| {
        format!("--param `{s}`: expected NAME=V1,V2,… (e.g. rsi_period=10,14,20)")
    })?;
    let (strategy, key) = match name.trim().rsplit_once('.') {
        Some((id, k)) => (Some(id.to_string()), k.to_string()),
        None => (None, name.trim().to_string()),
    };
    if key.is_empty() {
        return Err(format!("--param `{s}`: empty parameter name"));
    }
    let shown: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if shown.is_empty() {
        return Err(format!("--param `{s}`: no values"));
    }
    let values = shown
        .iter()
        .map(|v| serde_saphyr::from_str::<Value>(v).unwrap_or(Value::String(v.clone())))
        .collect();
    Ok(Axis {
        strategy,
        key,
        values,
        shown,
    })
}

/// Every combination, as one value index per axis; the first axis varies slowest.
pub fn grid(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for a in axes {
        out = out
            .into_iter()
            .flat_map(|c| {
                (0..a.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    out
}

/// The strategies file `text` with one combination's values set, as text the strategy loader
/// reads (JSON, which is YAML). Errors name a parameter no strategy has.
pub fn apply(
    text: &str,
    axes: &[Axis],
    combo: &[usize],
    registry: &Registry,
) -> Result<String, String> {
    let mut root: Value = serde_saphyr::from_str(text)
        .map_err(|e| format!("strategies file: not valid YAML: {e}"))?;
    let Some(list) = root.get_mut("strategies").and_then(Value::as_array_mut) else {
        return Err("strategies file: no `strategies` list".into());
    };
    for (axis, &i) in axes.iter().zip(combo) {
        let mut applied = 0;
        for entry in list.iter_mut() {
            let id = entry.get("id").and_then(Value::as_str).unwrap_or("");
            let class = entry.get("class").and_then(Value::as_str).unwrap_or("");
            let knows = registry
                .get(class)
                .is_some_and(|c| c.params.iter().any(|p| p.name == axis.key));
            if !knows || axis.strategy.as_deref().is_some_and(|s| s != id) {
                continue;
            }
            let Some(obj) = entry.as_object_mut() else {
                continue;
            };
            let params = obj
                .entry("params")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(p) = params.as_object_mut() {
                p.insert(axis.key.clone(), axis.values[i].clone());
                applied += 1;
            }
        }
        if applied == 0 {
            return Err(format!(
                "--param {}: no strategy in the file has the parameter `{}`",
                axis.label(),
                axis.key
            ));
        }
    }
    serde_json::to_string(&root).map_err(|e| e.to_string())
}

/// Metrics a sweep can sort by; smaller is better for the ones marked `true`.
pub const SORTABLE: [(&str, bool); 12] = [
    ("sharpe", false),
    ("sortino", false),
    ("calmar", false),
    ("total_return", false),
    ("cagr", false),
    ("annual_volatility", true),
    ("max_drawdown", true),
    ("max_drawdown_duration_s", true),
    ("win_rate", false),
    ("profit_factor", false),
    ("round_trips", false),
    ("exposure", false),
];

/// Checks a `--sort` metric name.
pub fn parse_sort(s: &str) -> Result<String, String> {
    if SORTABLE.iter().any(|(m, _)| *m == s) {
        Ok(s.to_string())
    } else {
        let names: Vec<&str> = SORTABLE.iter().map(|m| m.0).collect();
        Err(format!(
            "cannot sort by `{s}` (use one of {})",
            names.join(", ")
        ))
    }
}

/// One combination's result.
#[derive(Debug, Clone)]
pub struct Row {
    /// Position in the grid.
    pub index: usize,
    /// Values as written, one per axis.
    pub values: Vec<String>,
    pub result: RunResult,
    /// The per-period returns of its equity samples ([`Returns`]).
    pub returns: Vec<f64>,
}

/// A sink that keeps a trial's per-period returns `Eᵢ / Eᵢ₋₁ − 1` of consecutive equity
/// samples, as the metrics compute them, except that a return after a non-positive equity
/// counts as 0 here: every trial of a sweep has one return per sample after the first.
#[derive(Debug, Default)]
pub struct Returns {
    pub returns: Vec<f64>,
    last: Option<f64>,
}

impl Sink for Returns {
    fn on_sample(&mut self, sample: &Sample, _: &Account) {
        let e = f64::try_from(sample.point.equity).unwrap_or(0.0);
        if let Some(prev) = self.last {
            self.returns
                .push(if prev > 0.0 { e / prev - 1.0 } else { 0.0 });
        }
        self.last = Some(e);
    }
    fn on_fill(&mut self, _: &Fill<'_>) {}
}

/// The overfitting statistics of a sweep, over every trial's returns: the deflated Sharpe
/// ratio of the best trial by per-period Sharpe, and PBO over `blocks` blocks. A statistic
/// that cannot be computed (too few trials or returns) is `null`, with the reason.
pub fn overfitting(rows: &[Row], blocks: usize) -> Value {
    let mut by_trial: Vec<&Row> = rows.iter().collect();
    by_trial.sort_by_key(|r| r.index);
    let series: Vec<&[f64]> = by_trial.iter().map(|r| r.returns.as_slice()).collect();
    let returns = series.iter().map(|s| s.len()).min().unwrap_or(0);
    let deflated = match overfit::deflated(&series) {
        Some(d) => serde_json::json!({
            "best_trial": by_trial[d.best].index + 1,
            "sharpe": d.sharpe,
            "psr": d.psr,
            "sharpe_variance": d.variance,
            "expected_max_sharpe": d.sr0,
            "dsr": d.dsr,
        }),
        None => serde_json::json!({
            "error": "needs at least 2 trials of at least 2 returns, with a defined PSR"
        }),
    };
    let pbo = match overfit::pbo(&series, blocks) {
        Ok(p) => serde_json::json!({
            "pbo": p.pbo,
            "blocks": p.blocks,
            "block_returns": p.block_len,
            "splits": p.splits,
            "median_logit": p.median_logit,
        }),
        Err(e) => serde_json::json!({ "error": e, "blocks": blocks }),
    };
    serde_json::json!({
        "trials": rows.len(),
        "returns_per_trial": returns,
        "deflated_sharpe": deflated,
        "pbo": pbo,
    })
}

/// The overfitting statistics as lines for the terminal.
pub fn overfitting_text(report: &Value) -> String {
    let d = &report["deflated_sharpe"];
    let p = &report["pbo"];
    let num = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.4}"));
    let mut out = format!(
        "overfitting: {} trials, {} returns each\n",
        report["trials"], report["returns_per_trial"]
    );
    out += &match d.get("error") {
        Some(e) => format!(
            "  deflated Sharpe: not computed ({})\n",
            e.as_str().unwrap_or("")
        ),
        None => format!(
            "  best trial {} by per-period Sharpe {}: PSR {}, expected max Sharpe of {} trials {}, DSR {}\n",
            d["best_trial"],
            num(&d["sharpe"]),
            num(&d["psr"]),
            report["trials"],
            num(&d["expected_max_sharpe"]),
            num(&d["dsr"])
        ),
    };
    out += &match p.get("error") {
        Some(e) => format!("  PBO: not computed ({})\n", e.as_str().unwrap_or("")),
        None => format!(
            "  PBO {} over {} splits of {} blocks of {} returns (median logit {})\n",
            num(&p["pbo"]),
            p["splits"],
            p["blocks"],
            p["block_returns"],
            num(&p["median_logit"])
        ),
    };
    out
}

/// `sweep_returns.csv`: one line per period, one column per trial (in grid order).
pub fn returns_csv(rows: &[Row]) -> String {
    let mut by_trial: Vec<&Row> = rows.iter().collect();
    by_trial.sort_by_key(|r| r.index);
    let mut out = String::from("period");
    for r in &by_trial {
        out += &format!(",trial_{}", r.index + 1);
    }
    out.push('\n');
    let n = by_trial.iter().map(|r| r.returns.len()).max().unwrap_or(0);
    for i in 0..n {
        out += &(i + 1).to_string();
        for r in &by_trial {
            out.push(',');
            if let Some(x) = r.returns.get(i) {
                out += &x.to_string();
            }
        }
        out.push('\n');
    }
    out
}

/// The value of metric `name` of a row (`None` when missing or not finite).
pub fn metric(r: &Row, name: &str) -> Option<f64> {
    serde_json::to_value(&r.result.metrics)
        .ok()?
        .get(name)?
        .as_f64()
        .filter(|x| x.is_finite())
}

/// Sorts best first by `metric`; missing values last; ties keep grid order.
pub fn sort(rows: &mut [Row], name: &str) {
    let smaller = SORTABLE.iter().any(|(m, s)| *m == name && *s);
    rows.sort_by(|a, b| {
        let (x, y) = (metric(a, name), metric(b, name));
        let ord = match (x, y) {
            (Some(x), Some(y)) if smaller => x.total_cmp(&y),
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        ord.then(a.index.cmp(&b.index))
    });
}

/// Metric columns of the table and the CSV.
const COLUMNS: [&str; 14] = [
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "annual_volatility",
    "max_drawdown",
    "max_drawdown_duration_s",
    "round_trips",
    "win_rate",
    "profit_factor",
    "exposure",
    "fees_paid",
    "final_equity",
];

fn cells(axes: &[Axis], rows: &[Row]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = axes.iter().map(Axis::label).collect();
    head.extend(COLUMNS.iter().map(|c| c.to_string()));
    let body = rows
        .iter()
        .map(|r| {
            let v = serde_json::to_value(&r.result.metrics).unwrap_or(Value::Null);
            let mut line = r.values.clone();
            line.extend(COLUMNS.iter().map(|c| match v.get(*c) {
                Some(Value::Null) | None => String::new(),
                Some(x) => x.to_string(),
            }));
            line
        })
        .collect();
    (head, body)
}

/// `sweep.csv`: a header, then one line per combination in table order.
pub fn csv(axes: &[Axis], rows: &[Row]) -> String {
    let (head, body) = cells(axes, rows);
    let quote = |s: &String| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.clone()
        }
    };
    let mut out = String::new();
    for line in std::iter::once(&head).chain(&body) {
        out.push_str(&line.iter().map(quote).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// `sweep.json`: every combination in table order, with its parameters, metrics and counts.
pub fn json(axes: &[Axis], rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                let params: serde_json::Map<String, Value> = axes
                    .iter()
                    .zip(&r.values)
                    .map(|(a, v)| (a.label(), Value::String(v.clone())))
                    .collect();
                serde_json::json!({
                    "trial": r.index + 1,
                    "params": params,
                    "metrics": r.result.metrics,
                    "counts": r.result.counts,
                })
            })
            .collect(),
    )
}

/// One line per combination that never traded (no fill), for the user to see why its row is
/// empty.
pub fn never_traded(axes: &[Axis], rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.result.counts.fills == 0)
        .map(|r| {
            let params: Vec<String> = axes
                .iter()
                .zip(&r.values)
                .map(|(a, v)| format!("{}={v}", a.label()))
                .collect();
            let c = &r.result.counts;
            let denied: Vec<String> = c.denied.iter().map(|(k, n)| format!("{k} {n}")).collect();
            format!(
                "trial {} ({}) never traded: {} intents, denied: {}, unfunded {}, rejected {}",
                r.index + 1,
                params.join(", "),
                c.intents,
                if denied.is_empty() {
                    "none".into()
                } else {
                    denied.join(", ")
                },
                c.unfunded,
                c.rejected
            )
        })
        .collect()
}

/// A metric as the run summary prints it: percentages for returns and ratios of equity, three
/// decimals for ratios, amounts to 8 decimals.
fn shown(column: &str, v: &Value) -> String {
    let f = v.as_f64();
    match (column, f) {
        (
            "total_return" | "cagr" | "annual_volatility" | "max_drawdown" | "win_rate"
            | "exposure",
            Some(x),
        ) => format!("{:.2}%", x * 100.0),
        ("sharpe" | "sortino" | "calmar" | "profit_factor", Some(x)) => format!("{x:.3}"),
        ("max_drawdown_duration_s", Some(x)) => format!("{x:.0}"),
        _ => match v {
            Value::String(s) => match s.parse::<rust_decimal::Decimal>() {
                Ok(d) => crate::num::to_plain_string(&d.round_dp(8).normalize()),
                Err(_) => s.clone(),
            },
            other => other.to_string(),
        },
    }
}

/// The table printed on stdout, columns aligned, numbers rounded as in the run summary.
pub fn table(axes: &[Axis], rows: &[Row]) -> String {
    let (head, mut body) = cells(axes, rows);
    for (line, r) in body.iter_mut().zip(rows) {
        let v = serde_json::to_value(&r.result.metrics).unwrap_or(Value::Null);
        for (cell, c) in line[axes.len()..].iter_mut().zip(COLUMNS) {
            if let Some(x) = v.get(c).filter(|x| !x.is_null()) {
                *cell = shown(c, x);
            }
        }
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            std::iter::once(&head)
                .chain(&body)
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in std::iter::once(&head).chain(&body) {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::Counts;
    use crate::backtest::metrics::Metrics;
    use rust_decimal::Decimal;

    #[test]
    fn axes_and_grid() {
        let a = parse_axis("rsi_period=10,14,20").unwrap();
        assert_eq!(
            a.values,
            [Value::from(10), Value::from(14), Value::from(20)]
        );
        let b = parse_axis("rsi_atom.bb_std=1.5, 2").unwrap();
        assert_eq!(
            (b.strategy.as_deref(), b.label()),
            (Some("rsi_atom"), "rsi_atom.bb_std".into())
        );
        assert!(parse_axis("x").is_err() && parse_axis("x=").is_err() && parse_axis("=1").is_err());
        let g = grid(&[a, b]);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [0, 0]);
        assert_eq!(g[1], [0, 1]);
        assert_eq!(g[5], [2, 1]);
    }

    #[test]
    fn apply_sets_params_of_matching_strategies() {
        let text = "strategies:\n  - id: a\n    class: ema_cross\n    symbols: [X/USDT]\n    events: [trade]\n    params: {fast: 5, slow: 20, qty: 1}\n  - id: b\n    class: rsi_tema_bb\n    symbols: [X/USDT]\n    events: [trade]\n    params: {qty: 1}\n";
        let reg = Registry::builtin();
        let axes = [
            parse_axis("fast=3,4").unwrap(),
            parse_axis("b.rsi_period=7").unwrap(),
        ];
        let out = apply(text, &axes, &[1, 0], &reg).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["strategies"][0]["params"]["fast"], 4);
        assert_eq!(v["strategies"][1]["params"]["rsi_period"], 7);
        assert!(v["strategies"][1]["params"].get("fast").is_none());
        let topics = crate::config::Topics::default();
        assert!(crate::strategy::manager::parse(&out, "x", &reg, &topics).is_ok());
        let e = apply(text, &[parse_axis("nope=1").unwrap()], &[0], &reg).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn sort_is_stable_and_puts_missing_last() {
        let row = |index: usize, sharpe: Option<f64>, dd: f64| {
            let mut metrics = Metrics::new(Decimal::ONE, 1, 0.0).summary();
            metrics.sharpe = sharpe;
            metrics.max_drawdown = dd;
            Row {
                index,
                values: vec![index.to_string()],
                result: RunResult {
                    metrics,
                    counts: Counts::default(),
                    portfolio: None,
                    tca: None,
                },
                returns: Vec::new(),
            }
        };
        let mut rows = vec![
            row(0, None, 0.3),
            row(1, Some(1.0), 0.1),
            row(2, Some(2.0), 0.1),
            row(3, Some(1.0), 0.2),
        ];
        sort(&mut rows, "sharpe");
        assert_eq!(
            rows.iter().map(|r| r.index).collect::<Vec<_>>(),
            [2, 1, 3, 0]
        );
        sort(&mut rows, "max_drawdown");
        assert_eq!(
            rows.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2, 3, 0]
        );
        let axes = [parse_axis("k=0,1,2,3").unwrap()];
        let c = csv(&axes, &rows);
        assert!(c.starts_with("k,total_return,"));
        assert_eq!(c.lines().count(), 5);
        assert!(parse_sort("sharpe").is_ok() && parse_sort("luck").is_err());
    }
}
