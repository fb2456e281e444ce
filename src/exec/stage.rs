//! The execution engine's shell: reads the kill switch before every event while a parent is
//! worked or may still have a child resting (a trip halts them all: their open children are
//! cancelled), journals the parents it
//! takes and everything it sends, and with `--resume` rebuilds the parents still worked from
//! that journal. All scheduling stays in [`ExecEngine`].

use super::ExecEngine;
use crate::config::{Loaded, Topics};
use crate::event::{Event, Kind, Order};
use crate::journal::{JournalReader, Journals};
use crate::kill::KillSwitch;
use crate::reason::Reason;
use crate::stage::{Out, Stage, StageError};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Journal stem of the parents taken, the children and cancels sent, the fills of children
/// seen and the `exec_status` events: `{journal_dir}/exec.orders.ndjson`.
pub const EXEC_JOURNAL: &str = "exec.orders";

/// `njord-exec` as a stage.
pub struct ExecStage {
    engine: ExecEngine,
    kill: KillSwitch,
    /// Whether the last read of the kill switch found it tripped (halts once per trip).
    halted: bool,
    journals: Journals,
    journal_dir: PathBuf,
}

impl ExecStage {
    pub fn new(loaded: &Loaded, kill_file: Option<PathBuf>, redis: Option<String>) -> Self {
        let cfg = &loaded.config;
        ExecStage {
            engine: ExecEngine::new(&cfg.exec).with_rate_cap(cfg.risk.orders_per_min_cap),
            kill: KillSwitch::new(
                kill_file.unwrap_or_else(|| cfg.risk.kill_switch_file.clone()),
                redis,
                cfg.risk.kill_switch_key.clone(),
            ),
            halted: false,
            journals: Journals::from_config(&cfg.journal).audited(),
            journal_dir: cfg.journal.dir.clone(),
        }
    }

    pub fn engine(&self) -> &ExecEngine {
        &self.engine
    }

    /// Rebuilds the parents still worked from the journal; returns how many.
    pub fn resume(&mut self) -> Result<usize, StageError> {
        resume_from(
            &mut self.engine,
            &self.journal_dir.join(format!("{EXEC_JOURNAL}.ndjson")),
        )
    }
}

/// What the journal says of one parent.
#[derive(Default)]
struct Journaled {
    parent: Option<Order<'static>>,
    children: Vec<(String, Decimal)>,
    last_sent_ns: i64,
    fills: Vec<(String, Decimal, Decimal)>,
    ended: bool,
}

/// [`ExecStage::resume`] over one journal file.
pub fn resume_from(engine: &mut ExecEngine, path: &Path) -> Result<usize, StageError> {
    if !path.exists() {
        return Ok(0);
    }
    let mut parents: BTreeMap<usize, Journaled> = BTreeMap::new();
    let mut order_of: HashMap<String, usize> = HashMap::new();
    let mut child_of: HashMap<String, usize> = HashMap::new();
    let mut r = JournalReader::open(path)?;
    r.for_each_event(
        |ev| match ev.into_owned() {
            Event::Order(o) if o.exec.is_some() => {
                // A parent id seen again was ignored by the engine: so is it here.
                if order_of.contains_key(o.intent_id.as_ref()) {
                    return;
                }
                let n = parents.len();
                order_of.insert(o.intent_id.to_string(), n);
                parents.entry(n).or_default().parent = Some(o);
            }
            Event::Order(o) => {
                // A child is `{parent}-{n}`.
                let Some((parent, _)) = o.intent_id.rsplit_once('-') else {
                    return;
                };
                if let Some(&n) = order_of.get(parent)
                    && let Some(j) = parents.get_mut(&n)
                {
                    child_of.insert(o.intent_id.to_string(), n);
                    j.children.push((o.intent_id.to_string(), o.qty));
                    j.last_sent_ns = j.last_sent_ns.max(o.ts_accepted_ns);
                }
            }
            Event::Fill(f) => {
                if let Some(j) = child_of
                    .get(f.intent_id.as_ref())
                    .and_then(|n| parents.get_mut(n))
                {
                    j.fills.push((f.intent_id.to_string(), f.qty, f.price));
                }
            }
            Event::ExecStatus(s) if !matches!(s.state.as_ref(), "working" | "sent") => {
                if let Some(j) = order_of
                    .get(s.parent_id.as_ref())
                    .and_then(|n| parents.get_mut(n))
                {
                    j.ended = true;
                }
            }
            _ => {}
        },
        |bad| tracing::warn!("{bad}; skipped"),
    );
    let before = engine.working();
    for j in parents.into_values().filter(|j| !j.ended) {
        if let Some(p) = &j.parent {
            engine.resume(p, &j.children, &j.fills, j.last_sent_ns);
        }
    }
    Ok(engine.working().saturating_sub(before))
}

impl Stage for ExecStage {
    fn inputs(&self, topics: &Topics) -> Vec<String> {
        vec![
            topics.exec_parents.clone(),
            topics.cancels.clone(),
            topics.fills.clone(),
            topics.order_updates.clone(),
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar),
            topics.pattern(Kind::Ticker),
            topics.pattern(Kind::Book),
        ]
    }

    /// A parent is replaced by its children: paper and the broker never see it.
    fn consumes(&self, ev: &Event<'_>) -> bool {
        matches!(ev, Event::Order(o) if o.exec.is_some())
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        let start = out.len();
        let parent = matches!(ev, Event::Order(o) if o.exec.is_some());
        let mut refused = false;
        if self.engine.watching() || parent || self.halted {
            match self.kill.check() {
                Ok(()) => self.halted = false,
                Err(d) => {
                    if !self.halted {
                        tracing::warn!(reason = d.reason.as_str(), caps = ?d.caps, "kill switch tripped: every parent stops and its open children are cancelled");
                    }
                    self.halted = true;
                    self.engine.halt(ev.ts_ns(), out);
                    if let Event::Order(o) = ev
                        && parent
                    {
                        out.push(self.engine.refused(
                            o,
                            Reason::Halted,
                            "the kill switch is tripped",
                        ));
                        refused = true;
                    }
                }
            }
        }
        let ours = match ev {
            Event::Fill(f) => self.engine.is_ours(&f.intent_id),
            _ => false,
        };
        if !refused {
            self.engine.on_event(ev, out);
        }
        if parent || ours {
            self.journals.append_event(EXEC_JOURNAL, ev)?;
        }
        for e in &out[start..] {
            self.journals.append_event(EXEC_JOURNAL, e)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StageError> {
        Ok(self.journals.flush()?)
    }
}
