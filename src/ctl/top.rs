//! `njord-ctl top`: a terminal dashboard of a running session, refreshed about once a second
//! from the controller's status and the stages' metrics, with the latest decisions and fills
//! read off the bus. Keys trip or clear the kill switch and restart or stop a stage, each
//! after a confirmation.

use super::control::{self, Wire};
use crate::telemetry::scrape::samples;
use crossbeam_channel::{Receiver, Sender, unbounded};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Clear, List, Paragraph, Row, Table, TableState};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// Decisions and fills kept for the dashboard.
const RECENT: usize = 12;

/// One refresh: the controller's status and, per process, its metrics' samples we show.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub status: Value,
    /// (process, metric, labels, value).
    pub series: Vec<(String, String, String, f64)>,
    /// njord-alert's latest messages, newest first.
    pub alerts: Vec<String>,
}

/// What a key asks for, once confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Trip,
    Clear,
    Restart(String),
    Stop(String),
}

impl Action {
    fn question(&self) -> String {
        match self {
            Action::Trip => "Trip the kill switch: halt all trading?".into(),
            Action::Clear => "Clear the kill switch: allow trading again?".into(),
            Action::Restart(s) => format!("Restart {s}?"),
            Action::Stop(s) => format!("Stop {s} (it stays stopped until restarted)?"),
        }
    }
}

/// The dashboard's state: what it shows and what the keys did.
#[derive(Debug, Default)]
pub struct Model {
    pub snap: Snapshot,
    pub recent: VecDeque<String>,
    pub selected: usize,
    pub confirm: Option<Action>,
    pub message: String,
}

/// What a key press means.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Nothing,
    Quit,
    Do(Action),
}

impl Model {
    fn processes(&self) -> Vec<&Value> {
        self.snap.status["processes"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    fn selected_name(&self) -> Option<String> {
        self.processes()
            .get(self.selected)
            .and_then(|p| p["name"].as_str().map(str::to_string))
    }

    /// A key, pure: moves the selection, asks for a confirmation, or confirms.
    pub fn key(&mut self, code: KeyCode) -> Outcome {
        if let Some(action) = self.confirm.take() {
            return match code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Outcome::Do(action),
                _ => {
                    self.message = "cancelled".into();
                    Outcome::Nothing
                }
            };
        }
        let n = self.processes().len();
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return Outcome::Quit,
            KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                self.selected = (self.selected + 1).min(n - 1)
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('t') => self.confirm = Some(Action::Trip),
            KeyCode::Char('c') => self.confirm = Some(Action::Clear),
            KeyCode::Char('r') => self.confirm = self.selected_name().map(Action::Restart),
            KeyCode::Char('s') => self.confirm = self.selected_name().map(Action::Stop),
            _ => {}
        }
        Outcome::Nothing
    }

    /// The samples of `metric`, each named by its process and labels.
    fn rows(&self, metric: &str) -> Vec<(String, f64)> {
        self.snap
            .series
            .iter()
            .filter(|(_, m, _, _)| m == metric)
            .map(|(p, _, l, v)| (format!("{p} {l}"), *v))
            .collect()
    }

    /// Draws the dashboard on the whole frame.
    pub fn draw(&self, f: &mut ratatui::Frame) {
        let area = f.area();
        let n = self.processes().len() as u16;
        let [head, stages, middle, bottom, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(n + 3),
            Constraint::Min(4),
            Constraint::Min(4),
            Constraint::Length(1),
        ])
        .areas(area);
        let st = &self.snap.status;
        let halted = self
            .processes()
            .iter()
            .any(|p| p["trading_state"] == "halted");
        let state = if halted { "HALTED" } else { "active" };
        f.render_widget(
            Paragraph::new(format!(
                "session {}  controller pid {}  up {:.0} s  trading {state}",
                st["session"].as_str().unwrap_or("?"),
                st["controller_pid"],
                st["uptime_s"].as_f64().unwrap_or(0.0)
            ))
            .style(Style::default().add_modifier(Modifier::BOLD)),
            head,
        );
        let text = |v: &Value| v.as_str().map_or("-".to_string(), str::to_string);
        let rows: Vec<Row> = self
            .processes()
            .iter()
            .map(|p| {
                Row::new(vec![
                    Cell::from(text(&p["name"])),
                    Cell::from(text(&p["state"])),
                    Cell::from(if p["ready"] == true {
                        "ready"
                    } else {
                        "NOT READY"
                    }),
                    Cell::from(p["restarts"].to_string()),
                    Cell::from(
                        p["last_event_age_s"]
                            .as_f64()
                            .map_or("-".into(), |a| format!("{a:.1}s")),
                    ),
                    Cell::from(text(&p["trading_state"])),
                    Cell::from(p["reason"].as_str().unwrap_or("").to_string()),
                ])
            })
            .collect();
        let table = Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(11),
                Constraint::Length(10),
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Min(10),
            ],
        )
        .header(Row::new(vec![
            "STAGE", "STATE", "HEALTH", "RST", "LAST EV", "TRADING", "WHY",
        ]))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .block(Block::default().borders(Borders::ALL).title("stages"));
        let mut sel = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, stages, &mut sel);
        let [streams, pnl] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(middle);
        let lines = |v: Vec<(String, f64)>, unit: &str| -> Vec<Line> {
            v.into_iter()
                .map(|(k, x)| Line::from(format!("{k}  {x:.3}{unit}")))
                .collect()
        };
        f.render_widget(
            Paragraph::new(lines(
                self.rows("njord_stream_last_event_age_seconds"),
                " s",
            ))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("streams: last event age"),
            ),
            streams,
        );
        let mut money = self.rows("njord_position_qty");
        for m in [
            "njord_pnl_realized_usd",
            "njord_pnl_unrealized_usd",
            "njord_pnl_today_usd",
        ] {
            money.extend(
                self.rows(m)
                    .into_iter()
                    .map(|(k, v)| (format!("{} {k}", m.trim_start_matches("njord_pnl_")), v)),
            );
        }
        f.render_widget(
            Paragraph::new(lines(money, "")).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("positions and PnL"),
            ),
            pnl,
        );
        let [decisions, orders] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(bottom);
        f.render_widget(
            List::new(self.recent.iter().map(|s| s.as_str())).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("recent decisions and fills"),
            ),
            decisions,
        );
        let mut counts = self.rows("njord_orders_total");
        counts.extend(self.rows("njord_rejects_total"));
        counts.extend(self.rows("njord_fills_total"));
        f.render_widget(
            Paragraph::new(lines(counts, "")).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title("orders, rejects, fills"),
            ),
            orders,
        );
        f.render_widget(
            Paragraph::new(format!(
                "↑↓ select  t trip  c clear  r restart  s stop  q quit   {}",
                self.message
            )),
            foot,
        );
        if let Some(a) = &self.confirm {
            let w = (a.question().len() as u16 + 4).min(area.width);
            let pop = Rect {
                x: area.width.saturating_sub(w) / 2,
                y: area.height / 2,
                width: w,
                height: 3.min(area.height),
            };
            f.render_widget(Clear, pop);
            f.render_widget(
                Paragraph::new(format!("{} y/n", a.question()))
                    .block(Block::default().borders(Borders::ALL).title("confirm")),
                pop,
            );
        }
    }
}

/// Reads decisions and fills off the bus into `tx`, as one line each.
fn feed(url: String, topics: Vec<String>, tx: Sender<String>) {
    let Ok(client) = crate::bus::client(&url) else {
        return;
    };
    let Ok(mut con) = client.get_connection() else {
        return;
    };
    let mut ps = con.as_pubsub();
    for t in &topics {
        if ps.subscribe(t).is_err() {
            return;
        }
    }
    while let Ok(msg) = ps.get_message() {
        let Ok(text) = msg.get_payload::<String>() else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let line = match v["kind"].as_str() {
            Some("decision") => format!(
                "decision {} {}",
                if v["allowed"] == true {
                    "allowed"
                } else {
                    "DENIED"
                },
                v["reason"].as_str().unwrap_or("")
            ),
            Some("fill") => format!(
                "fill {} {} {} @ {}",
                v["symbol"].as_str().unwrap_or(""),
                v["side"].as_str().unwrap_or(""),
                v["qty"],
                v["price"]
            ),
            _ => continue,
        };
        if tx.send(line).is_err() {
            return;
        }
    }
}

/// njord-alert's latest messages in its outbox at `path`, newest first (at most [`RECENT`]).
pub fn recent_alerts(path: &std::path::Path) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    // The tail is enough: a message is a line of well under a kilobyte.
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    // The tail may start inside a character: read bytes, and let the first line go.
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["op"] == "queued")
        .filter_map(|v| {
            serde_json::from_value::<crate::alert::outbox::Item>(v["item"].clone()).ok()
        })
        .map(|item| format!("{} → {}", crate::alert::text(&item.notice), item.channel))
        .collect();
    out.dedup();
    out.reverse();
    out.truncate(RECENT);
    out
}

/// Runs the dashboard until `q`. `act` carries out a confirmed action and says how it went.
/// `outbox`: njord-alert's outbox, for the recent alerts; `token`: `api_keys.metrics.token`.
pub fn run(
    socket: PathBuf,
    outbox: PathBuf,
    token: Option<String>,
    topics: Vec<String>,
    act: impl Fn(&Action) -> Result<String, String>,
) -> Result<(), String> {
    let first = control::ask(&socket, &Wire::Status)
        .map_err(|e| e.unwrap_or_else(|| "the session is not running".into()))?;
    let (snap_tx, snap_rx) = unbounded();
    let (feed_tx, feed_rx) = unbounded();
    if let Some(bus) = first["bus"].as_str() {
        let bus = bus.to_string();
        std::thread::spawn(move || feed(bus, topics, feed_tx));
    }
    let s2 = socket.clone();
    std::thread::spawn(move || refresh_loop(s2, outbox, token, snap_tx));
    let mut model = Model {
        snap: Snapshot {
            status: first,
            ..Snapshot::default()
        },
        ..Model::default()
    };
    let mut terminal = ratatui::init();
    let result = ui_loop(&mut terminal, &mut model, &snap_rx, &feed_rx, &act);
    ratatui::restore();
    result
}

fn ui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    model: &mut Model,
    snaps: &Receiver<Snapshot>,
    feed: &Receiver<String>,
    act: &impl Fn(&Action) -> Result<String, String>,
) -> Result<(), String> {
    loop {
        while let Ok(s) = snaps.try_recv() {
            model.snap = s;
        }
        while let Ok(line) = feed.try_recv() {
            model.recent.push_front(line);
            model.recent.truncate(RECENT);
        }
        terminal
            .draw(|f| model.draw(f))
            .map_err(|e| format!("terminal: {e}"))?;
        if !event::poll(Duration::from_millis(250)).map_err(|e| e.to_string())? {
            continue;
        }
        let Event::Key(k) = event::read().map_err(|e| e.to_string())? else {
            continue;
        };
        if k.kind != KeyEventKind::Press {
            continue;
        }
        match model.key(k.code) {
            Outcome::Quit => return Ok(()),
            Outcome::Do(a) => {
                model.message = match act(&a) {
                    Ok(done) => done,
                    Err(e) => format!("failed: {e}"),
                };
            }
            Outcome::Nothing => {}
        }
    }
}

/// Status and metrics every second until the dashboard is gone.
fn refresh_loop(socket: PathBuf, outbox: PathBuf, token: Option<String>, tx: Sender<Snapshot>) {
    let Ok(prober) = super::probe::Prober::new(token.as_deref()) else {
        return;
    };
    loop {
        let Ok(status) = control::ask(&socket, &Wire::Status) else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        let mut series = Vec::new();
        for p in status["processes"].as_array().into_iter().flatten() {
            let (Some(name), Some(addr)) = (p["name"].as_str(), p["metrics"].as_str()) else {
                continue;
            };
            let Some(text) = prober.metrics_text(addr) else {
                continue;
            };
            for s in samples(&text) {
                if SHOWN.contains(&s.name) {
                    series.push((
                        name.to_string(),
                        s.name.to_string(),
                        s.labels.to_string(),
                        s.value,
                    ));
                }
            }
        }
        let alerts = recent_alerts(&outbox);
        if tx
            .send(Snapshot {
                status,
                series,
                alerts,
            })
            .is_err()
        {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The metrics the dashboard shows.
const SHOWN: [&str; 8] = [
    "njord_stream_last_event_age_seconds",
    "njord_position_qty",
    "njord_pnl_realized_usd",
    "njord_pnl_unrealized_usd",
    "njord_pnl_today_usd",
    "njord_orders_total",
    "njord_rejects_total",
    "njord_fills_total",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_alerts_come_from_the_outbox_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.outbox.ndjson");
        let notice = |id: &str, state: &str| {
            format!(
                r#"{{"op":"queued","item":{{"id":"{id}@ops","channel":"ops","notice":{{"id":"{id}","rule":"halted","key":"","severity":"critical","state":"{state}","summary":"trading is halted","starts_at_ns":1,"at_ns":2}}}}}}"#
            )
        };
        let text = [
            notice("a", "firing"),
            r#"{"op":"sent","id":"a@ops"}"#.to_string(),
            notice("b", "resolved"),
            "torn".into(),
        ]
        .join("\n");
        std::fs::write(&path, text).unwrap();
        let got = recent_alerts(&path);
        assert_eq!(
            got,
            [
                "[RESOLVED] critical halted: trading is halted → ops",
                "[FIRING] critical halted: trading is halted → ops"
            ]
        );
        assert!(recent_alerts(&dir.path().join("none")).is_empty());
    }

    #[test]
    fn keys_ask_before_they_act() {
        let mut m = Model::default();
        m.snap.status = serde_json::json!({"processes": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(m.key(KeyCode::Down), Outcome::Nothing);
        assert_eq!(m.key(KeyCode::Char('r')), Outcome::Nothing);
        assert_eq!(m.confirm, Some(Action::Restart("b".into())));
        assert_eq!(
            m.key(KeyCode::Char('y')),
            Outcome::Do(Action::Restart("b".into()))
        );
        assert_eq!(m.key(KeyCode::Char('t')), Outcome::Nothing);
        assert_eq!(m.key(KeyCode::Char('x')), Outcome::Nothing);
        assert_eq!(m.message, "cancelled");
        assert_eq!(m.key(KeyCode::Char('q')), Outcome::Quit);
    }
}
