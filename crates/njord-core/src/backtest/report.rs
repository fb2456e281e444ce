//! The HTML report (`--report FILE.html`) and the summary rows shared with the stdout table.
//!
//! One self-contained file: inline CSS and SVG, no script, no network, no CDN. It shows the
//! metrics, the equity curve, the drawdown, the price of the first symbol with buy and sell
//! markers, the monthly returns, the configuration used and the fill-model assumptions.
//! Rendering is deterministic: the same run gives the same bytes.

use super::engine::Counts;
use super::metrics::{Account, Sample, Summary};
use crate::event::{Fill, Side};
use crate::num::to_plain_string;
use crate::time::format_human;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::fmt::Write as _;

/// Most points drawn per line; longer series are thinned to every k-th point (keeping the
/// last), which keeps the file small whatever the length of the run.
const MAX_POINTS: usize = 2_000;

/// What the charts need, collected during the run.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Capital, for the drawdown's starting peak.
    capital: f64,
    pub symbol: Option<String>,
    /// (ts_ns, equity).
    pub equity: Vec<(i64, f64)>,
    /// (ts_ns, price of `symbol`).
    pub price: Vec<(i64, f64)>,
    /// (ts_ns, price, buy?) of the fills of `symbol`.
    pub fills: Vec<(i64, f64, bool)>,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl Chart {
    pub fn new(capital: Decimal) -> Self {
        Chart {
            capital: f(capital),
            ..Chart::default()
        }
    }

    pub fn on_sample(&mut self, s: &Sample, account: &Account) {
        self.equity.push((s.point.ts_ns, f(s.point.equity)));
        if self.symbol.is_none() {
            self.symbol = account.first_symbol().map(str::to_string);
        }
        if let Some((_, p)) = self.symbol.as_deref().and_then(|x| account.symbol(x))
            && !p.is_zero()
        {
            self.price.push((s.point.ts_ns, f(p)));
        }
    }

    pub fn on_fill(&mut self, fill: &Fill<'_>) {
        if self.symbol.is_none() {
            self.symbol = Some(fill.symbol.to_string());
        }
        if self.symbol.as_deref() == Some(&*fill.symbol) {
            self.fills
                .push((fill.ts_fill_ns, f(fill.price), fill.side == Side::Buy));
        }
    }

    /// Drawdown `(peak − E) / peak` at every sample, the peak starting at the capital.
    fn drawdown(&self) -> Vec<(i64, f64)> {
        let mut peak = self.capital;
        self.equity
            .iter()
            .map(|&(t, e)| {
                peak = peak.max(e);
                (t, if peak > 0.0 { -(peak - e) / peak } else { 0.0 })
            })
            .collect()
    }

    /// Returns of each UTC calendar month: the last equity of the month over the last of the
    /// month before (the capital for the first month).
    pub fn monthly_returns(&self) -> Vec<(i32, u8, f64)> {
        let mut out = Vec::new();
        let mut prev = self.capital;
        let mut cur: Option<((i32, u8), f64)> = None;
        for &(t, e) in &self.equity {
            let m = month_of(t);
            match cur {
                Some((cm, last)) if cm != m => {
                    out.push((cm.0, cm.1, ratio(last, prev)));
                    prev = last;
                    cur = Some((m, e));
                }
                _ => cur = Some((m, e)),
            }
        }
        if let Some((cm, last)) = cur {
            out.push((cm.0, cm.1, ratio(last, prev)));
        }
        out
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b - 1.0 } else { 0.0 }
}

fn month_of(ts_ns: i64) -> (i32, u8) {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ts_ns as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (t.year(), t.month() as u8)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{:.2} %", v * 100.0))
}

fn num(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.3}"))
}

fn dec(x: Option<Decimal>) -> String {
    x.map_or("—".into(), |d| to_plain_string(&d.round_dp(8)))
}

/// The metrics as (label, value) rows, for the stdout table and the report.
pub fn rows(s: &Summary, c: &Counts) -> Vec<(&'static str, String)> {
    let denied: u64 = c.denied.values().sum();
    vec![
        ("capital", dec(Some(s.capital))),
        ("final equity", dec(Some(s.final_equity))),
        (
            "period",
            match (s.start_ts_ns, s.end_ts_ns) {
                (Some(a), Some(b)) => format!("{} → {}", format_human(a), format_human(b)),
                _ => "—".into(),
            },
        ),
        ("total return", pct(Some(s.total_return))),
        (
            "annualised",
            s.annualised_note.clone().unwrap_or_else(|| "yes".into()),
        ),
        ("CAGR", pct(s.cagr)),
        ("annual volatility", pct(s.annual_volatility)),
        ("Sharpe", num(s.sharpe)),
        ("Sortino", num(s.sortino)),
        ("max drawdown", pct(Some(s.max_drawdown))),
        (
            "max drawdown duration",
            format!("{} s", s.max_drawdown_duration_s),
        ),
        ("Calmar", num(s.calmar)),
        ("round trips", s.round_trips.to_string()),
        ("win rate", pct(s.win_rate)),
        ("profit factor", num(s.profit_factor)),
        ("average win", dec(s.avg_win)),
        ("average loss", dec(s.avg_loss)),
        ("largest win", dec(s.largest_win)),
        ("largest loss", dec(s.largest_loss)),
        ("exposure", pct(Some(s.exposure))),
        ("fees paid", dec(Some(s.fees_paid))),
        ("turnover", format!("{:.3}×", s.turnover)),
        ("events", c.events.to_string()),
        (
            "intents / orders / fills",
            format!("{} / {} / {}", c.intents, c.orders, c.fills),
        ),
        (
            "denied by risk",
            if denied == 0 {
                "0".into()
            } else {
                let by: Vec<String> = c.denied.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("{denied} ({})", by.join(", "))
            },
        ),
        ("rejected: insufficient balance", c.unfunded.to_string()),
    ]
}

/// The summary table printed on stdout.
pub fn table(s: &Summary, c: &Counts) -> String {
    let rows = rows(s, c);
    let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut t = String::new();
    for (k, v) in rows {
        let _ = writeln!(t, "{k:<w$}  {v}");
    }
    t
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn thin<T: Copy>(v: &[T]) -> Vec<T> {
    if v.len() <= MAX_POINTS {
        return v.to_vec();
    }
    let step = v.len().div_ceil(MAX_POINTS);
    let mut out: Vec<T> = v.iter().step_by(step).copied().collect();
    if !(v.len() - 1).is_multiple_of(step)
        && let Some(last) = v.last()
    {
        out.push(*last);
    }
    out
}

const W: f64 = 900.0;
const H: f64 = 220.0;
const PAD: f64 = 60.0;

/// A line chart as inline SVG, with buy (green, up) and sell (red, down) markers.
fn svg(title: &str, pts: &[(i64, f64)], color: &str, marks: &[(i64, f64, bool)]) -> String {
    let mut s = format!("<h2>{}</h2>\n", esc(title));
    if pts.is_empty() {
        s.push_str("<p>No data.</p>\n");
        return s;
    }
    let pts = thin(pts);
    let marks = thin(marks);
    let times = pts.iter().map(|p| p.0).chain(marks.iter().map(|m| m.0));
    let (t0, t1) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let all_y = pts.iter().map(|p| p.1).chain(marks.iter().map(|m| m.1));
    let (mut lo, mut hi) = all_y.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if hi - lo < 1e-12 {
        lo -= 1.0;
        hi += 1.0;
    }
    let x = |t: i64| {
        PAD + (W - 2.0 * PAD)
            * if t1 > t0 {
                (t - t0) as f64 / (t1 - t0) as f64
            } else {
                0.5
            }
    };
    let y = |v: f64| 10.0 + (H - 40.0) * (hi - v) / (hi - lo);
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">\
<rect x=\"{PAD}\" y=\"10\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{:.4}</text>\
<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{:.4}</text>\
<text x=\"{PAD}\" y=\"{}\" class=\"ax\">{}</text>\
<text x=\"{}\" y=\"{}\" class=\"ax\" text-anchor=\"end\">{}</text><polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"",
        W - 2.0 * PAD,
        H - 40.0,
        PAD - 4.0,
        y(hi) + 4.0,
        hi,
        PAD - 4.0,
        y(lo),
        lo,
        H - 12.0,
        format_human(t0),
        W - PAD,
        H - 12.0,
        format_human(t1),
    );
    for (t, v) in &pts {
        let _ = write!(s, "{:.1},{:.1} ", x(*t), y(*v));
    }
    s.push_str("\"/>");
    for (t, v, buy) in &marks {
        let (cx, cy) = (x(*t), y(*v));
        let (path, fill) = if *buy {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    cx,
                    cy - 6.0,
                    cx - 5.0,
                    cy + 3.0,
                    cx + 5.0,
                    cy + 3.0
                ),
                "#1a7f37",
            )
        } else {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    cx,
                    cy + 6.0,
                    cx - 5.0,
                    cy - 3.0,
                    cx + 5.0,
                    cy - 3.0
                ),
                "#cf222e",
            )
        };
        let _ = write!(s, "<polygon points=\"{path}\" fill=\"{fill}\"/>");
    }
    s.push_str("</svg>\n");
    s
}

fn monthly_table(months: &[(i32, u8, f64)]) -> String {
    let mut s = String::from("<h2>Monthly returns</h2>\n");
    if months.is_empty() {
        s.push_str("<p>No data.</p>\n");
        return s;
    }
    s.push_str("<table class=\"m\"><tr><th>year</th>");
    for m in [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ] {
        let _ = write!(s, "<th>{m}</th>");
    }
    s.push_str("</tr>\n");
    let mut years: Vec<i32> = months.iter().map(|m| m.0).collect();
    years.dedup();
    for y in years {
        let _ = write!(s, "<tr><th>{y}</th>");
        for m in 1..=12u8 {
            match months.iter().find(|x| x.0 == y && x.1 == m) {
                Some(&(_, _, r)) => {
                    let class = if r > 0.0 {
                        "pos"
                    } else if r < 0.0 {
                        "neg"
                    } else {
                        ""
                    };
                    let _ = write!(s, "<td class=\"{class}\">{:.2} %</td>", r * 100.0);
                }
                None => s.push_str("<td></td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// Everything the report shows beyond the charts.
pub struct ReportInput<'a> {
    pub summary: &'a Summary,
    pub counts: &'a Counts,
    pub chart: &'a Chart,
    /// The effective configuration, as YAML.
    pub config: &'a str,
    /// The strategies file, as read.
    pub strategies: &'a str,
    /// The command line and run settings, as (name, value).
    pub run: &'a [(String, String)],
    /// Fill-model assumptions, one sentence each.
    pub assumptions: &'a [String],
}

/// Renders the report.
pub fn render(r: &ReportInput<'_>) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Njord backtest</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}.pos{background:#e6f4ea}.neg{background:#fde8e8}\
.ax{font-size:11px;fill:#555}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px}\
</style></head><body>\n<h1>Njord backtest</h1>\n<h2>Metrics</h2>\n<table>\n",
    );
    for (k, v) in rows(r.summary, r.counts) {
        let _ = writeln!(
            s,
            "<tr><th class=\"l\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    s.push_str("</table>\n");
    s.push_str(&svg("Equity", &r.chart.equity, "#0969da", &[]));
    s.push_str(&svg("Drawdown", &r.chart.drawdown(), "#cf222e", &[]));
    let title = format!(
        "Price of {} with buys (▲) and sells (▼)",
        r.chart.symbol.as_deref().unwrap_or("—")
    );
    s.push_str(&svg(&title, &r.chart.price, "#555", &r.chart.fills));
    s.push_str(&monthly_table(&r.chart.monthly_returns()));
    s.push_str("<h2>Fill model</h2>\n<ul>\n");
    for a in r.assumptions {
        let _ = writeln!(s, "<li>{}</li>", esc(a));
    }
    s.push_str("</ul>\n<h2>Run</h2>\n<table>\n");
    for (k, v) in r.run {
        let _ = writeln!(
            s,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    let _ = write!(
        s,
        "</table>\n<h2>Strategies</h2>\n<pre>{}</pre>\n<h2>Configuration</h2>\n<pre>{}</pre>\n</body></html>\n",
        esc(r.strategies),
        esc(r.config)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::metrics::Metrics;

    #[test]
    fn monthly_returns_chain_month_ends() {
        let mut c = Chart::new(Decimal::from(100));
        // 2026-01-15, 2026-01-31, 2026-02-10, 2026-03-01 (UTC).
        for (t, e) in [
            (1_768_435_200, 105.0),
            (1_769_817_600, 110.0),
            (1_770_681_600, 99.0),
            (1_772_323_200, 108.9),
        ] {
            c.equity.push((t * 1_000_000_000, e));
        }
        let m = c.monthly_returns();
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].0, m[0].1), (2026, 1));
        assert!((m[0].2 - 0.1).abs() < 1e-12);
        assert!((m[1].2 + 0.1).abs() < 1e-12);
        assert!((m[2].2 - 0.1).abs() < 1e-12);
    }

    #[test]
    fn report_is_self_contained_and_escaped() {
        let mut c = Chart::new(Decimal::from(100));
        c.equity = (0..5000)
            .map(|i| (i * 1_000_000_000, 100.0 + i as f64))
            .collect();
        c.price = c.equity.clone();
        c.fills = vec![(0, 100.0, true), (10_000_000_000, 110.0, false)];
        let summary = Metrics::new(Decimal::from(100), 1_000_000_000, 0.0).summary();
        let html = render(&ReportInput {
            summary: &summary,
            counts: &Counts::default(),
            chart: &c,
            config: "risk: <b>",
            strategies: "",
            run: &[("tape".into(), "a&b".into())],
            assumptions: &["fees".into()],
        });
        for fetch in ["src=", "href=", "<link", "<script", "@import", "url("] {
            assert!(!html.contains(fetch), "{fetch}");
        }
        assert!(html.contains("risk: &lt;b&gt;") && html.contains("a&amp;b"));
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.matches(',').count() < 3 * MAX_POINTS + 200, "thinned");
    }
}
