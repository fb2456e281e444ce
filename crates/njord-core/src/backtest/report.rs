//! The HTML report (`--report FILE.html`) and the summary rows shared with the stdout table.
//!
//! One self-contained file: inline CSS and SVG, no script, no network, no CDN. It shows the
//! metrics, the equity curve, the drawdown, one price chart per symbol with its buy and sell
//! markers, the round trips (trades), per-strategy and per-symbol summaries, the monthly
//! returns, the fill-model assumptions, the run and the configuration used, and for a
//! portfolio run each strategy's weight and equity over time and its PnL. Every section is
//! a `<section id=…>`, so a test can find it.
//! Rendering is deterministic: the same run gives the same bytes.

use super::engine::{Counts, PortfolioResult};
use super::metrics::{Account, RoundTrip, Sample, Summary, TripMatcher};
use crate::event::{Fill, Side};
use crate::num::to_plain_string;
use crate::time::format_human;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Most points drawn per line; longer series are thinned to every k-th point (keeping the
/// last), which keeps the file small whatever the length of the run.
const MAX_POINTS: usize = 2_000;

/// Round trips listed in the trades table; the summaries count every one.
const MAX_TRIPS_LISTED: usize = 1_000;

/// One symbol's price chart.
#[derive(Debug, Clone, Default)]
pub struct SymbolChart {
    pub symbol: String,
    /// (ts_ns, last price) at each equity sample.
    pub price: Vec<(i64, f64)>,
    /// (ts_ns, price, buy?) of its fills.
    pub fills: Vec<(i64, f64, bool)>,
}

/// Round trips summed over a strategy or a symbol.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TripTotals {
    pub trips: u64,
    pub wins: u64,
    pub pnl: Decimal,
    pub fees: Decimal,
}

impl TripTotals {
    fn add(&mut self, t: &RoundTrip) {
        self.trips += 1;
        self.wins += u64::from(t.pnl > Decimal::ZERO);
        self.pnl += t.pnl;
        self.fees += t.fees;
    }
}

/// What the charts and tables need, collected during the run.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Capital, for the drawdown's starting peak.
    capital: f64,
    /// (ts_ns, equity).
    pub equity: Vec<(i64, f64)>,
    /// Per symbol, in first-seen order.
    pub symbols: Vec<SymbolChart>,
    matcher: TripMatcher,
    /// The first [`MAX_TRIPS_LISTED`] round trips.
    pub trips: Vec<RoundTrip>,
    pub trips_total: u64,
    pub by_strategy: BTreeMap<String, TripTotals>,
    pub by_symbol: BTreeMap<String, TripTotals>,
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

    fn symbol_mut(&mut self, symbol: &str) -> &mut SymbolChart {
        let i = match self.symbols.iter().position(|c| c.symbol == symbol) {
            Some(i) => i,
            None => {
                self.symbols.push(SymbolChart {
                    symbol: symbol.to_string(),
                    ..SymbolChart::default()
                });
                self.symbols.len() - 1
            }
        };
        &mut self.symbols[i]
    }

    pub fn on_sample(&mut self, s: &Sample, account: &Account) {
        self.equity.push((s.point.ts_ns, f(s.point.equity)));
        for (symbol, p) in account.prices() {
            if !p.is_zero() {
                self.symbol_mut(symbol).price.push((s.point.ts_ns, f(p)));
            }
        }
    }

    pub fn on_fill(&mut self, fill: &Fill<'_>) {
        let mark = (fill.ts_fill_ns, f(fill.price), fill.side == Side::Buy);
        self.symbol_mut(&fill.symbol).fills.push(mark);
        let mut closed = Vec::new();
        self.matcher.on_fill(fill, &mut closed);
        for t in closed {
            let strategy = t.strategy_id.clone().unwrap_or_else(|| "—".into());
            self.by_strategy.entry(strategy).or_default().add(&t);
            self.by_symbol.entry(t.symbol.clone()).or_default().add(&t);
            self.trips_total += 1;
            if self.trips.len() < MAX_TRIPS_LISTED {
                self.trips.push(t);
            }
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

/// An axis value short enough for the 60 px margin: about six significant digits.
fn axis_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100_000.0 {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.5}")
    }
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
    let mut s = format!("<h3>{}</h3>\n", esc(title));
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
        axis_num(hi),
        PAD - 4.0,
        y(lo),
        axis_num(lo),
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
    let mut s = String::new();
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
    /// A portfolio run's attribution and series.
    pub portfolio: Option<&'a PortfolioResult>,
    /// The execution costs, when strategies traded through an algorithm.
    pub tca: Option<&'a crate::exec::tca::Report>,
}

/// The per-strategy attribution printed after the summary of a portfolio run.
pub fn portfolio_table(p: &PortfolioResult) -> String {
    let mut t = format!(
        "\nportfolio {}: PnL by strategy (sums to {})\n{:<24} {:>8} {:>14} {:>14} {:>12}\n",
        p.name,
        p.pnl.round_dp(2),
        "strategy",
        "weight",
        "equity",
        "pnl",
        "fees"
    );
    for r in &p.strategies {
        let _ = writeln!(
            t,
            "{:<24} {:>8} {:>14} {:>14} {:>12}{}",
            r.id,
            r.weight.round_dp(4),
            r.equity.round_dp(2),
            r.pnl.round_dp(2),
            r.fees.round_dp(4),
            if r.halted {
                "  (drawdown: weight 0)"
            } else {
                ""
            }
        );
    }
    let c = &p.counts;
    let _ = writeln!(
        t,
        "intents in {}, out {}, capped {}, refused {}, netted {}, rebalances {} ({} orders dropped), \
         reallocations rejected {}",
        c.intents_in,
        c.intents_out,
        c.capped,
        c.refused,
        c.netted,
        c.rebalances,
        c.rebalance_orders_dropped,
        c.reallocations_rejected
    );
    t
}

/// The portfolio section: the attribution table, then each strategy's weight and equity.
fn portfolio_section(p: &PortfolioResult) -> String {
    let mut s = String::from(
        "<table class=\"t\"><tr><th class=\"l\">strategy</th><th>weight</th><th>equity</th>\
<th>PnL</th><th>realized</th><th>fees</th></tr>\n",
    );
    for r in &p.strategies {
        let _ = writeln!(
            s,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.id),
            r.weight.round_dp(4),
            r.equity.round_dp(2),
            r.pnl.round_dp(2),
            r.realized.round_dp(2),
            r.fees.round_dp(4)
        );
    }
    let _ = writeln!(
        s,
        "<tr><th class=\"l\">portfolio</th><td></td><td></td><td>{}</td><td></td><td></td></tr>\n</table>",
        p.pnl.round_dp(2)
    );
    for (i, r) in p.strategies.iter().enumerate() {
        let weights: Vec<(i64, f64)> = p.series.iter().map(|(t, v)| (*t, v[i].0)).collect();
        let equity: Vec<(i64, f64)> = p.series.iter().map(|(t, v)| (*t, v[i].1)).collect();
        let _ = write!(
            s,
            "<div class=\"strategy\" data-strategy=\"{}\">",
            esc(&r.id)
        );
        s.push_str(&svg(&format!("{}: weight", r.id), &weights, "#8250df", &[]));
        s.push_str(&svg(&format!("{}: equity", r.id), &equity, "#0969da", &[]));
        s.push_str("</div>\n");
    }
    s
}

/// Renders the report.
pub fn render(r: &ReportInput<'_>) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Njord backtest</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}.pos{background:#e6f4ea}.neg{background:#fde8e8}\
.ax{font-size:11px;fill:#555}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px;\
white-space:pre-wrap}table.t{font-size:12px}svg{max-width:100%;height:auto}\
</style></head><body>\n<h1>Njord backtest</h1>\n<section id=\"metrics\">\n<h2>Metrics</h2>\n<table>\n",
    );
    for (k, v) in rows(r.summary, r.counts) {
        let _ = writeln!(
            s,
            "<tr><th class=\"l\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    s.push_str("</table>\n</section>\n");
    section(
        &mut s,
        "equity",
        "Equity",
        &svg("Equity", &r.chart.equity, "#0969da", &[]),
    );
    section(
        &mut s,
        "drawdown",
        "Drawdown",
        &svg("Drawdown", &r.chart.drawdown(), "#cf222e", &[]),
    );
    let mut prices = String::new();
    if r.chart.symbols.is_empty() {
        prices.push_str("<p>No data.</p>\n");
    }
    for c in &r.chart.symbols {
        let title = format!("{} with buys (▲) and sells (▼)", c.symbol);
        let _ = write!(
            prices,
            "<div class=\"price\" data-symbol=\"{}\">",
            esc(&c.symbol)
        );
        prices.push_str(&svg(&title, &c.price, "#555", &c.fills));
        prices.push_str("</div>\n");
    }
    section(&mut s, "prices", "Prices", &prices);
    section(&mut s, "trades", "Trades", &trades_table(r.chart));
    section(
        &mut s,
        "by-strategy",
        "Per strategy",
        &totals_table("strategy", &r.chart.by_strategy),
    );
    section(
        &mut s,
        "by-symbol",
        "Per symbol",
        &totals_table("symbol", &r.chart.by_symbol),
    );
    if let Some(p) = r.portfolio {
        section(&mut s, "portfolio", "Portfolio", &portfolio_section(p));
    }
    if let Some(t) = r.tca {
        section(&mut s, "tca", "Execution costs", &tca_table(t));
    }
    section(
        &mut s,
        "monthly",
        "Monthly returns",
        &monthly_table(&r.chart.monthly_returns()),
    );
    let mut fm = String::from("<ul>\n");
    for a in r.assumptions {
        let _ = writeln!(fm, "<li>{}</li>", esc(a));
    }
    fm.push_str("</ul>\n");
    section(&mut s, "fill-model", "Fill model", &fm);
    let mut run = String::from("<table>\n");
    for (k, v) in r.run {
        let _ = writeln!(
            run,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    run.push_str("</table>\n");
    section(&mut s, "run", "Run", &run);
    section(
        &mut s,
        "strategies",
        "Strategies",
        &format!("<pre>{}</pre>\n", esc(r.strategies)),
    );
    section(
        &mut s,
        "configuration",
        "Configuration",
        &format!("<pre>{}</pre>\n", esc(r.config)),
    );
    s.push_str("</body></html>\n");
    s
}

/// Implementation shortfall by algorithm, strategy and symbol, in bps of the decision
/// notional (see `njord_core::exec::tca`).
fn tca_table(t: &crate::exec::tca::Report) -> String {
    let mut s = String::from(
        "<p>Implementation shortfall of the parent orders, in bps of their decision notional \
(positive hurts): delay (decision to arrival), impact (arrival to fills), fees, and the \
opportunity cost of what did not fill.</p>\n<table class=\"t\">\n<tr><th class=\"l\">by</th>\
<th class=\"l\">key</th><th>parents</th><th>decision notional</th><th>delay</th><th>impact</th>\
<th>fees</th><th>opportunity</th><th>total</th></tr>\n",
    );
    for (by, rows) in [
        ("algorithm", &t.by_algo),
        ("strategy", &t.by_strategy),
        ("symbol", &t.by_symbol),
    ] {
        for g in rows {
            let c = &g.cost;
            let _ = writeln!(
                s,
                "<tr><td class=\"l\">{by}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>\
<td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
                esc(&g.key),
                g.parents,
                c.decision_notional.round_dp(2),
                c.delay_bps,
                c.impact_bps,
                c.fees_bps,
                c.opportunity_bps,
                c.total_bps
            );
        }
    }
    s.push_str("</table>\n");
    s
}

fn section(s: &mut String, id: &str, title: &str, body: &str) {
    let _ = write!(
        s,
        "<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n",
        esc(title)
    );
}

/// Whole seconds as `1d 2h 3m 4s`, the largest units first.
fn duration(ns: i64) -> String {
    let mut left = ns.max(0) / 1_000_000_000;
    let mut out = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if left >= size {
            out.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if left > 0 || out.is_empty() {
        out.push(format!("{left}s"));
    }
    out.join(" ")
}

fn trades_table(c: &Chart) -> String {
    if c.trips.is_empty() {
        return "<p>No round trip closed.</p>\n".into();
    }
    let mut s = String::new();
    if c.trips_total > c.trips.len() as u64 {
        let _ = writeln!(
            s,
            "<p>The first {} of {} round trips.</p>",
            c.trips.len(),
            c.trips_total
        );
    }
    s.push_str(
        "<table class=\"t\"><tr><th class=\"l\">strategy</th><th class=\"l\">symbol</th>\
<th class=\"l\">side</th><th class=\"l\">entry</th><th class=\"l\">exit</th><th>qty</th>\
<th>entry price</th><th>exit price</th><th>PnL</th><th>fees</th><th>duration</th></tr>\n",
    );
    for t in &c.trips {
        let class = if t.pnl > Decimal::ZERO {
            "pos"
        } else if t.pnl < Decimal::ZERO {
            "neg"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
<td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(t.strategy_id.as_deref().unwrap_or("—")),
            esc(&t.symbol),
            if t.long { "long" } else { "short" },
            format_human(t.entry_ts_ns),
            format_human(t.exit_ts_ns),
            dec(Some(t.qty)),
            dec(Some(t.entry_price)),
            dec(Some(t.exit_price)),
            dec(Some(t.pnl)),
            dec(Some(t.fees)),
            duration(t.exit_ts_ns - t.entry_ts_ns),
        );
    }
    s.push_str("</table>\n");
    s
}

fn totals_table(what: &str, totals: &BTreeMap<String, TripTotals>) -> String {
    if totals.is_empty() {
        return "<p>No round trip closed.</p>\n".into();
    }
    let mut s = format!(
        "<table><tr><th class=\"l\">{what}</th><th>round trips</th><th>win rate</th>\
<th>net PnL</th><th>fees</th></tr>\n"
    );
    for (name, t) in totals {
        let _ = writeln!(
            s,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            t.trips,
            pct(Some(t.wins as f64 / t.trips.max(1) as f64)),
            dec(Some(t.pnl)),
            dec(Some(t.fees)),
        );
    }
    s.push_str("</table>\n");
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

    fn fill(strategy: &str, symbol: &str, side: &str, price: &str, ts_s: i64) -> Fill<'static> {
        crate::event::decode(&format!(
            r#"{{"kind":"fill","order_id":"o","intent_id":"i{ts_s}","strategy_id":"{strategy}","symbol":"{symbol}","side":"{side}","qty":2,"price":{price},"fee":0.01,"fee_asset":"USDT","liquidity":"taker","ts_fill_ns":{}}}"#,
            ts_s * 1_000_000_000
        ))
        .map(|e| match e.into_owned() {
            crate::event::Event::Fill(f) => f,
            other => panic!("{other:?}"),
        })
        .unwrap()
    }

    #[test]
    fn report_is_self_contained_and_escaped() {
        let mut c = Chart::new(Decimal::from(100));
        c.equity = (0..5000)
            .map(|i| (i * 1_000_000_000, 100.0 + i as f64))
            .collect();
        for (strategy, symbol, side, price, ts) in [
            ("ema", "A/USDT", "buy", "10", 0),
            ("ema", "A/USDT", "sell", "11", 3_700),
            ("rsi", "B/USDT", "sell", "5", 10),
            ("rsi", "B/USDT", "buy", "6", 70),
        ] {
            c.on_fill(&fill(strategy, symbol, side, price, ts));
        }
        for sc in &mut c.symbols {
            sc.price = (0..5000).map(|i| (i * 1_000_000_000, 10.0)).collect();
        }
        let summary = Metrics::new(Decimal::from(100), 1_000_000_000, 0.0).summary();
        let html = render(&ReportInput {
            summary: &summary,
            counts: &Counts::default(),
            chart: &c,
            config: "risk: <b>",
            strategies: "",
            run: &[("tape".into(), "a&b".into())],
            assumptions: &["fees".into()],
            portfolio: None,
            tca: None,
        });
        for fetch in ["src=", "href=", "<link", "<script", "@import", "url("] {
            assert!(!html.contains(fetch), "{fetch}");
        }
        assert!(html.contains("risk: &lt;b&gt;") && html.contains("a&amp;b"));
        for id in [
            "metrics",
            "equity",
            "drawdown",
            "prices",
            "trades",
            "by-strategy",
            "by-symbol",
            "monthly",
            "fill-model",
            "run",
            "strategies",
            "configuration",
        ] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert_eq!(
            html.matches("<svg").count(),
            4,
            "equity, drawdown, one per symbol"
        );
        assert!(html.contains("data-symbol=\"A/USDT\"") && html.contains("data-symbol=\"B/USDT\""));
        // A long of 2 from 10 to 11 (1 h 1 m 40 s), a short of 2 from 5 to 6: net of 0.02 fees.
        assert!(html.contains("<td class=\"pos\">1.98</td>") && html.contains("1h 1m 40s"));
        assert!(html.contains("<td class=\"neg\">-2.02</td>") && html.contains(">short<"));
        assert_eq!(
            (c.by_strategy["ema"].trips, c.by_symbol["B/USDT"].wins),
            (1, 0)
        );
        assert!(html.matches(',').count() < 4 * MAX_POINTS + 200, "thinned");
    }

    #[test]
    fn axis_labels_stay_short() {
        for v in [10257.414628111312, -0.2, 0.000123456, 12345678.9, 99.99] {
            assert!(axis_num(v).len() <= 10, "{v}: {}", axis_num(v));
        }
    }
}
