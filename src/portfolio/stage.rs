//! `njord-portfolio` as a stage: it replaces each strategy intent by its sized (or netted)
//! version, journals what it decides, keeps its drawdown latches on disk across restarts,
//! and lifts them when `njord-portfolio clear` (or `njord-kill clear --portfolio`) asks.
//! All allocation and accounting stays in [`PortfolioEngine`].

use super::engine::PortfolioEngine;
use crate::config::Topics;
use crate::event::{Event, Kind};
use crate::journal::{self, Journals};
use crate::stage::{Out, Stage, StageError};
use std::path::{Path, PathBuf};

/// Where the latches and the clear requests of a portfolio live: beside the kill file.
#[derive(Debug, Clone)]
pub struct ControlFiles {
    /// Written when a latch trips, removed when cleared: `{"reduce_only":…,"halted":[…]}`.
    pub latched: PathBuf,
    /// `njord-portfolio clear` writes a new stamp here; the stage clears when it changes.
    pub clear: PathBuf,
}

impl ControlFiles {
    pub fn new(kill_file: &Path, portfolio: &str) -> Self {
        let dir = kill_file.parent().unwrap_or(Path::new("."));
        ControlFiles {
            latched: dir.join(format!("portfolio.{portfolio}.latched")),
            clear: dir.join(format!("portfolio.{portfolio}.clear")),
        }
    }

    /// Asks every running stage of this portfolio to clear its latches.
    pub fn request_clear(&self, stamp: i64) -> std::io::Result<()> {
        journal::write_atomic(&self.clear, &format!("{stamp}\n"))?;
        journal::remove_if_present(&self.latched)
    }
}

pub struct PortfolioStage {
    engine: PortfolioEngine,
    journals: Journals,
    journal: String,
    files: ControlFiles,
    /// The clear file's content when last read.
    clear_seen: Option<String>,
    latches: (bool, Vec<String>),
    /// The topic the strategies publish on (the stage publishes on another).
    intents_in: String,
    summary: bool,
}

impl PortfolioStage {
    pub fn new(
        mut engine: PortfolioEngine,
        journals: Journals,
        files: ControlFiles,
        intents_in: String,
        summary: bool,
    ) -> Result<Self, StageError> {
        if let Ok(text) = std::fs::read_to_string(&files.latched) {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| StageError::Fatal(format!("{}: {e}", files.latched.display())))?;
            let reduce_only = v["reduce_only"].as_bool().unwrap_or(false);
            let halted: Vec<String> = v["halted"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            tracing::warn!(
                reduce_only,
                ?halted,
                "latched before the restart ({}): kept until `njord-portfolio clear`",
                files.latched.display()
            );
            engine.restore_latches(reduce_only, &halted);
        }
        let journal = format!("portfolio.{}", engine.config().name);
        Ok(PortfolioStage {
            latches: engine.latches(),
            clear_seen: std::fs::read_to_string(&files.clear).ok(),
            engine,
            journals,
            journal,
            files,
            intents_in,
            summary,
        })
    }

    pub fn engine(&self) -> &PortfolioEngine {
        &self.engine
    }

    fn check_clear(&mut self, out: &mut Out) -> Result<(), StageError> {
        let now = std::fs::read_to_string(&self.files.clear).ok();
        if now.is_some() && now != self.clear_seen {
            self.clear_seen = now;
            if self.engine.clear(out) {
                tracing::warn!("portfolio latches cleared on request");
            }
        }
        Ok(())
    }

    /// Keeps the latch file in step with the engine's latches.
    fn persist_latches(&mut self) -> Result<(), StageError> {
        let now = self.engine.latches();
        if now == self.latches {
            return Ok(());
        }
        self.latches = now.clone();
        let io =
            |e: std::io::Error| StageError::Fatal(format!("{}: {e}", self.files.latched.display()));
        if !now.0 && now.1.is_empty() {
            return journal::remove_if_present(&self.files.latched).map_err(io);
        }
        let text = serde_json::json!({"reduce_only": now.0, "halted": now.1}).to_string();
        journal::write_atomic(&self.files.latched, &(text + "\n")).map_err(io)
    }

    fn journal_out(&mut self, out: &Out, from: usize) -> Result<(), StageError> {
        for ev in &out[from..] {
            self.journals.append_event(&self.journal, ev)?;
        }
        self.persist_latches()
    }
}

impl Stage for PortfolioStage {
    fn inputs(&self, topics: &Topics) -> Vec<String> {
        vec![
            self.intents_in.clone(),
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar),
            topics.fills.clone(),
            topics.decisions.clone(),
            topics.balances.clone(),
        ]
    }

    /// Intents are replaced by their sized version, never forwarded as they came.
    fn consumes(&self, ev: &Event<'_>) -> bool {
        matches!(ev, Event::Intent(_))
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        let start = out.len();
        if matches!(ev, Event::Intent(_)) {
            self.check_clear(out)?;
        }
        self.engine.on_event(ev, out);
        self.journal_out(out, start)
    }

    fn on_tick(&mut self, _now_ns: i64, out: &mut Out) -> Result<(), StageError> {
        // On a bus the next event may be far away: intents wait at most one tick. (The
        // engine dates everything by event time, never by this clock.)
        let start = out.len();
        self.check_clear(out)?;
        self.engine.flush(out);
        self.journal_out(out, start)
    }

    fn on_end(&mut self, out: &mut Out) -> Result<(), StageError> {
        let start = out.len();
        self.engine.flush(out);
        self.journal_out(out, start)?;
        let c = self.engine.counts();
        tracing::info!(
            intents_in = c.intents_in,
            intents_out = c.intents_out,
            capped = c.capped,
            refused = c.refused,
            netted = c.netted,
            rebalances = c.rebalances,
            rebalance_orders_dropped = c.rebalance_orders_dropped,
            reallocations_rejected = c.reallocations_rejected,
            fills_unattributed = c.fills_unattributed,
            "portfolio {}: done",
            self.engine.config().name
        );
        if self.summary {
            eprint!("{}", summary(&self.engine));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StageError> {
        self.journals.flush()?;
        Ok(())
    }
}

/// The per-strategy table printed by `--summary`.
pub fn summary(engine: &PortfolioEngine) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<24} {:>8} {:>14} {:>14} {:>14} {:>12}",
        "strategy", "weight", "equity", "pnl", "realized", "fees"
    );
    for r in engine.report() {
        let _ = writeln!(
            s,
            "{:<24} {:>8} {:>14} {:>14} {:>14} {:>12}{}",
            r.id,
            r.weight.round_dp(4),
            r.equity.round_dp(2),
            r.pnl.round_dp(2),
            r.realized.round_dp(2),
            r.fees.round_dp(4),
            if r.halted {
                "  (drawdown: weight 0)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        s,
        "{:<24} {:>8} {:>14}{}",
        "portfolio",
        "",
        engine.equity().round_dp(2),
        if engine.reduce_only() {
            "  (reduce-only)"
        } else {
            ""
        }
    );
    s
}
