//! The paper trader's shell: journals the orders and cancels it receives and the fills and
//! positions it makes, keeps `njord:pnl:day` on Redis, prints the `--summary` table at exit
//! and, with `--resume`, rebuilds positions and open orders from its journals. All matching
//! and accounting stays in [`PaperEngine`].

use super::{Outcome, PaperEngine};
use crate::bus::RedisBus;
use crate::config::{Loaded, Topics};
use crate::event::{Event, Kind, Order, OrderStatus, compact_symbol};
use crate::journal::{JournalReader, Journals};
use crate::stage::{Out, Stage, StageError};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Journal stem of the orders and cancels received, in arrival order (for `--resume`).
pub const ORDERS_JOURNAL: &str = "paper.orders";

/// `njord-paper` as a stage.
pub struct PaperStage {
    engine: PaperEngine,
    journals: Journals,
    journal_dir: PathBuf,
    redis: Option<RedisBus>,
    summary: bool,
}

impl PaperStage {
    pub fn new(
        loaded: &Loaded,
        partial_fills: bool,
        summary: bool,
        redis: Option<RedisBus>,
    ) -> Self {
        let cfg = &loaded.config;
        PaperStage {
            engine: PaperEngine::from_config(&cfg.paper, partial_fills),
            journals: Journals::from_config(&cfg.journal).audited(),
            journal_dir: cfg.journal.dir.clone(),
            redis,
            summary,
        }
    }

    pub fn engine(&self) -> &PaperEngine {
        &self.engine
    }

    /// Rebuilds positions (by replaying every journaled fill through the FIFO lots) and open
    /// orders (journaled orders not cancelled, less what they filled). Returns (fills, open
    /// orders) restored.
    pub fn resume(&mut self) -> Result<(u64, usize), StageError> {
        resume_from(&mut self.engine, &self.journal_dir)
    }

    fn publish_pnl(&mut self, ts_ns: i64) {
        if let Some(redis) = self.redis.as_mut() {
            crate::risk::publish_pnl_day(redis, self.engine.pnl_day_usd(ts_ns), ts_ns);
        }
    }
}

fn each_event(path: &Path, mut f: impl FnMut(Event<'_>)) -> Result<(), StageError> {
    let mut r = JournalReader::open(path)?;
    r.for_each_event(&mut f, |bad| tracing::warn!("{bad}; skipped"));
    Ok(())
}

/// [`PaperStage::resume`] over the journals in `dir`.
pub fn resume_from(engine: &mut PaperEngine, dir: &Path) -> Result<(u64, usize), StageError> {
    let mut fill_files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("fills.") && n.ends_with(".ndjson"))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    fill_files.sort();
    let mut filled: HashMap<String, Decimal> = HashMap::new();
    let mut n_fills = 0;
    for path in &fill_files {
        each_event(path, |ev| {
            if let Event::Fill(f) = ev {
                engine.replay_fill(&f);
                *filled.entry(f.intent_id.to_string()).or_default() += f.qty;
                n_fills += 1;
            }
        })?;
    }
    let orders_path = dir.join(format!("{ORDERS_JOURNAL}.ndjson"));
    let mut orders: Vec<Option<Order<'static>>> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut triggered: std::collections::HashSet<String> = Default::default();
    if orders_path.exists() {
        each_event(&orders_path, |ev| match ev.into_owned() {
            Event::Order(o) => {
                by_id.insert(o.intent_id.to_string(), orders.len());
                orders.push(Some(o));
            }
            Event::Cancel(c) => {
                if let Some(i) = by_id.remove(c.intent_id.as_ref()) {
                    orders[i] = None;
                }
            }
            // The engine's own: another leg of a group acted, ioc/fok/post_only expired, or
            // an order it could not fill once triggered.
            Event::OrderUpdate(u) if u.status.is_terminal() => {
                if let Some(i) = by_id.remove(u.client_order_id.as_ref()) {
                    orders[i] = None;
                }
            }
            // A stop that triggered and rests at its limit.
            Event::OrderUpdate(u) if u.status == OrderStatus::New => {
                triggered.insert(u.client_order_id.to_string());
            }
            _ => {}
        })?;
    }
    let before = engine.open_orders();
    for o in orders.into_iter().flatten() {
        let left = o.qty
            - filled
                .get(o.intent_id.as_ref())
                .copied()
                .unwrap_or_default();
        if triggered.contains(o.intent_id.as_ref()) {
            engine.restore_triggered(o, left);
        } else {
            engine.restore(o, left);
        }
    }
    Ok((n_fills, engine.open_orders() - before))
}

impl Stage for PaperStage {
    fn inputs(&self, topics: &Topics) -> Vec<String> {
        let mut inputs = vec![
            topics.orders.clone(),
            topics.cancels.clone(),
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar),
        ];
        if self.engine.walks_books() {
            inputs.push(topics.pattern(Kind::Book));
        }
        inputs
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        let start = out.len();
        let outcome = self.engine.on_event(ev, out);
        // Orders delivered after their latency: the core logged and reported them; their
        // outcomes are the backtester's to count, not kept here.
        for late in self.engine.take_delivered() {
            if let Outcome::Duplicate = late {
                tracing::warn!("an order delivered after its latency was already open; ignored");
            }
        }
        match (ev, outcome) {
            // The core logged why and emitted the `rejected` order_update.
            (Event::Order(_), Outcome::Rejected(_) | Outcome::Unfunded) => {}
            (Event::Order(o), Outcome::Duplicate) => {
                tracing::warn!(intent_id = %o.intent_id, "order {} is already open; ignored", o.intent_id);
            }
            (Event::Order(_), _) | (Event::Cancel(_), _) => {
                self.journals.append_event(ORDERS_JOURNAL, ev)?;
            }
            _ => {}
        }
        if out.len() == start {
            return Ok(());
        }
        let mut last_ts = None;
        for e in &out[start..] {
            let stem = match e {
                Event::Fill(f) => {
                    last_ts = Some(f.ts_fill_ns);
                    format!("fills.{}", compact_symbol(&f.symbol))
                }
                Event::Position(p) => format!("positions.{}", compact_symbol(&p.symbol)),
                Event::OrderUpdate(u)
                    if matches!(
                        u.status,
                        OrderStatus::Canceled
                            | OrderStatus::Expired
                            | OrderStatus::Rejected
                            | OrderStatus::New
                    ) =>
                {
                    ORDERS_JOURNAL.to_string()
                }
                _ => continue,
            };
            self.journals.append_event(&stem, e)?;
        }
        if let Some(ts) = last_ts {
            self.publish_pnl(ts);
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Out) -> Result<(), StageError> {
        let refused = self.engine.refused_open_orders();
        if refused > 0 {
            tracing::warn!(
                refused,
                "{refused} orders refused with open_orders_cap: paper.max_open_orders were open"
            );
        }
        if self.summary {
            eprint!("{}", self.engine.summary());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StageError> {
        self.journals.flush()?;
        Ok(())
    }
}
