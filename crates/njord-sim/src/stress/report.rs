//! A scenario's reports: `report.json` (everything the verdict rests on) and `report.html`,
//! one self-contained page in the backtest report's style (inline CSS and SVG, no script, no
//! network): the verdict, the assertions (failed first), the tape with fault bands, holds,
//! venue orders and the halt, the timeline and the counts.

use serde_json::Value;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 900.0;
const H: f64 = 260.0;
const PAD: f64 = 50.0;

/// The price chart: `prices` are (tape ns, price), `orders` (tape ns, price, side, status),
/// `bands` (from, to, label) and `halt` on the same tape clock.
pub struct Chart {
    pub prices: Vec<(i64, f64)>,
    pub bands: Vec<(i64, i64, String)>,
    pub orders: Vec<(i64, f64, String, String)>,
    pub halt: Option<i64>,
}

fn svg(c: &Chart) -> String {
    let (Some(first), Some(last)) = (c.prices.first(), c.prices.last()) else {
        return String::new();
    };
    let (t0, t1) = (first.0, last.0.max(first.0 + 1));
    let lo = c
        .prices
        .iter()
        .map(|p| p.1)
        .chain(c.orders.iter().map(|o| o.1))
        .fold(f64::MAX, f64::min);
    let hi = c
        .prices
        .iter()
        .map(|p| p.1)
        .chain(c.orders.iter().map(|o| o.1))
        .fold(f64::MIN, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let x = |t: i64| PAD + (t.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64 * (W - 2.0 * PAD);
    let y = |p: f64| H - PAD / 2.0 - (p - lo) / (hi - lo) * (H - PAD);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\">\n"
    );
    for (from, to, label) in &c.bands {
        let (a, b) = (x(*from), x(*to).max(x(*from) + 2.0));
        let _ = writeln!(
            s,
            "<rect x=\"{a:.1}\" y=\"10\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f5c2c7\" opacity=\"0.5\"><title>{}</title></rect>",
            b - a,
            H - PAD,
            esc(label)
        );
    }
    let step = (c.prices.len() / 800).max(1);
    let pts: Vec<String> = c
        .prices
        .iter()
        .step_by(step)
        .map(|(t, p)| format!("{:.1},{:.1}", x(*t), y(*p)))
        .collect();
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"{}\"/>",
        pts.join(" ")
    );
    for (t, p, side, status) in &c.orders {
        let colour = match status.as_str() {
            "FILLED" => "#2ca02c",
            "CANCELED" | "EXPIRED" | "REJECTED" => "#999",
            _ => "#ff7f0e",
        };
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\"><title>{} {} at {p}</title></circle>",
            x(*t),
            y(*p),
            esc(side),
            esc(status)
        );
    }
    if let Some(h) = c.halt {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"10\" y2=\"{1:.1}\" stroke=\"#d62728\" stroke-width=\"2\"><title>halt</title></line>",
            x(h),
            H - PAD / 2.0
        );
    }
    let _ = writeln!(
        s,
        "<text class=\"ax\" x=\"4\" y=\"{:.1}\">{lo:.4}</text><text class=\"ax\" x=\"4\" y=\"20\">{hi:.4}</text></svg>",
        H - PAD / 2.0
    );
    s
}

/// Renders `report` (the JSON report) with its chart.
pub fn html(report: &Value, chart: &Chart) -> String {
    let passed = report["passed"] == true;
    let name = report["scenario"].as_str().unwrap_or("");
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Njord stress</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.pass{background:#e6f4ea}.fail{background:#fde8e8}\
.banner{padding:.6em 1em;font-size:1.3em;font-weight:bold}.ax{font-size:11px;fill:#555}\
pre{background:#f6f8fa;padding:.5em;overflow:auto;font-size:11px;white-space:pre-wrap;margin:0}\
table.t{font-size:12px}svg{max-width:100%;height:auto}\
</style></head><body>\n",
    );
    let _ = writeln!(
        s,
        "<h1>Njord stress: {}</h1>\n<p>{}</p>\n<div id=\"verdict\" class=\"banner {}\">{}</div>",
        esc(name),
        esc(report["about"].as_str().unwrap_or("")),
        if passed { "pass" } else { "fail" },
        if passed { "PASSED" } else { "FAILED" }
    );
    if let Some(e) = report["error"].as_str() {
        let _ = writeln!(s, "<p class=\"fail\">{}</p>", esc(e));
    }
    s.push_str("<section id=\"assertions\">\n<h2>Assertions</h2>\n<table class=\"t\">\n<tr><th>assertion</th><th>verdict</th><th>checked</th><th>detail</th><th>evidence</th></tr>\n");
    let mut rows: Vec<&Value> = report["assertions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    rows.sort_by_key(|a| a["passed"] == true);
    for a in rows {
        let ok = a["passed"] == true;
        let ev = match &a["evidence"] {
            Value::Array(v) if v.is_empty() => String::new(),
            v => format!(
                "<pre>{}</pre>",
                esc(&serde_json::to_string_pretty(v).unwrap_or_default())
            ),
        };
        let _ = writeln!(
            s,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{ev}</td></tr>",
            if ok { "pass" } else { "fail" },
            esc(a["name"].as_str().unwrap_or("")),
            if ok { "passed" } else { "FAILED" },
            a["checked"],
            esc(a["detail"].as_str().unwrap_or(""))
        );
    }
    s.push_str("</table>\n</section>\n<section id=\"chart\">\n<h2>Tape, faults and venue orders</h2>\n<p>Blue: the tape's price; red bands: faults and holds; dots: venue orders (green filled, grey cancelled or expired, orange other); red line: the halt.</p>\n");
    s.push_str(&svg(chart));
    s.push_str("</section>\n<section id=\"timeline\">\n<h2>Timeline</h2>\n<table class=\"t\">\n<tr><th>offset</th><th>action</th><th>detail</th></tr>\n");
    for t in report["timeline"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(t["offset"].as_str().unwrap_or("")),
            esc(t["action"].as_str().unwrap_or("")),
            esc(&t["detail"].to_string())
        );
    }
    s.push_str(
        "</table>\n</section>\n<section id=\"counts\">\n<h2>Counts</h2>\n<table class=\"t\">\n",
    );
    for key in ["counts", "barriers", "tape", "stack", "artifacts"] {
        let _ = writeln!(
            s,
            "<tr><th>{key}</th><td><pre>{}</pre></td></tr>",
            esc(&serde_json::to_string_pretty(&report[key]).unwrap_or_default())
        );
    }
    s.push_str("</table>\n");
    // The kept files, beside the report (relative links: nothing leaves the directory).
    let kept: Vec<String> = report["artifacts"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let p = esc(v.as_str()?);
            Some(format!("<li><a href=\"{p}\">{}</a>: {p}</li>", esc(k)))
        })
        .collect();
    if !kept.is_empty() {
        let _ = writeln!(s, "<h3>Artifacts</h3>\n<ul>{}</ul>", kept.join(""));
    }
    s.push_str("</section>\n</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_page_is_self_contained_and_escapes_text() {
        let report = json!({"scenario": "x<y", "passed": false, "about": "a & b",
            "assertions": [{"name": "reconcile", "passed": true, "checked": 2, "detail": "ok", "evidence": []},
                           {"name": "expect", "passed": false, "checked": 0, "detail": "none", "evidence": [{"a": "<b>"}]}],
            "timeline": [{"offset": "1m", "action": "fault", "detail": {}}],
            "artifacts": {"sim_journal": "sim.journal.ndjson"}});
        let chart = Chart {
            prices: vec![(0, 10.0), (1_000, 11.0)],
            bands: vec![(200, 400, "outage".into())],
            orders: vec![(500, 10.5, "BUY".into(), "FILLED".into())],
            halt: Some(800),
        };
        let page = html(&report, &chart);
        assert!(page.contains("x&lt;y") && page.contains("&lt;b&gt;") && page.contains("FAILED"));
        // Failed rows first.
        assert!(page.find(">expect<").unwrap() < page.find(">reconcile<").unwrap());
        for banned in ["<script", "src=", "href=\"http", "@import", "url("] {
            assert!(!page.contains(banned), "{banned}");
        }
        assert!(page.contains("<polyline") && page.contains("<circle") && page.contains("<rect"));
        assert!(page.contains("<a href=\"sim.journal.ndjson\">"));
    }
}
