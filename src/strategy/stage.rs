//! The shell of `njord-strat`: reads the strategies file, watches it, and feeds the manager.
//!
//! The file is re-read on SIGHUP and when it changes (a watcher thread polls its size and
//! modification time; the reload itself happens on the stage's thread between two events, so
//! no event is lost and none is seen by half a configuration: on stdio a change is applied
//! before the next event, on a bus also on the runner's tick). An invalid file is reported
//! and the running set is kept.

use super::manager::{self, LoadError, Manager};
use super::registry::Registry;
use crate::config::{Strat, Topics};
use crate::event::Event;
use crate::stage::{Out, Stage, StageError};
use crate::topic::glob_match;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// How often the watcher looks at the strategies file.
const POLL: Duration = Duration::from_millis(200);

/// Sets a flag when a file's size or modification time changes.
struct Watcher {
    changed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Watcher {
    fn spawn(path: PathBuf) -> Self {
        let changed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (changed.clone(), stop.clone());
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        };
        let mut last = stamp(&path);
        let spawned = std::thread::Builder::new()
            .name("strategies-watch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(POLL);
                    let now = stamp(&path);
                    if now != last {
                        last = now;
                        c.store(true, Ordering::Release);
                        tracing::info!(
                            "{} changed; it is applied before the next event",
                            path.display()
                        );
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot watch the strategies file ({e}); reload with SIGHUP");
        }
        Watcher { changed, stop }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `njord-strat`'s stage: the manager plus its strategies file.
pub struct StratStage {
    manager: Manager,
    path: PathBuf,
    watcher: Watcher,
    /// What the bus runner subscribed to (it subscribes once, when it starts).
    subscribed: RefCell<Option<Vec<String>>>,
}

/// Reads and validates a strategies file.
pub fn load(
    path: &Path,
    registry: &Registry,
    topics: &Topics,
) -> Result<Vec<manager::StrategyDef>, LoadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: shown.clone(),
        source: e,
    })?;
    manager::parse(&text, &shown, registry, topics)
}

impl StratStage {
    /// Loads `path` (errors are configuration errors) and starts watching it.
    pub fn open(
        path: &Path,
        registry: Registry,
        topics: Topics,
        limits: &Strat,
    ) -> Result<Self, LoadError> {
        let defs = load(path, &registry, &topics)?;
        if !defs.iter().any(|d| d.enabled) {
            tracing::warn!("{}: no strategy is enabled", path.display());
        }
        let mut manager = Manager::new(registry, topics, defs);
        manager.set_limits(limits);
        tracing::info!(
            "{}: running {}",
            path.display(),
            manager.running().join(", ")
        );
        Ok(StratStage {
            manager,
            path: path.to_path_buf(),
            watcher: Watcher::spawn(path.to_path_buf()),
            subscribed: RefCell::new(None),
        })
    }

    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Re-reads the strategies file; an invalid one is reported and changes nothing.
    pub fn reload(&mut self) -> Result<(), StageError> {
        let loaded = load(&self.path, self.manager.registry(), self.manager.topics());
        let file = self.path.display().to_string();
        let result = match loaded {
            Ok(defs) => {
                let report = self.manager.apply(defs);
                tracing::info!("{}: reloaded: {report}", self.path.display());
                self.warn_unsubscribed();
                format!("reloaded: {report}")
            }
            Err(e) => {
                tracing::error!("{e}; keeping the running strategies");
                format!("kept the running strategies: {e}")
            }
        };
        let fields = crate::audit::fields(serde_json::json!({"file": file, "result": result}));
        crate::audit::record(crate::stage::wall_clock_ns(), "strategy_reload", fields)?;
        Ok(())
    }

    /// On a bus, topics a reloaded file needs beyond the subscription made at start cannot be
    /// received until a restart: say so loudly rather than run deaf.
    fn warn_unsubscribed(&self) {
        let subscribed = self.subscribed.borrow();
        let Some(subscribed) = subscribed.as_ref() else {
            return;
        };
        let missing: Vec<String> = self
            .manager
            .input_patterns()
            .into_iter()
            .filter(|p| !subscribed.iter().any(|s| glob_match(s, p)))
            .collect();
        if !missing.is_empty() {
            tracing::error!(
                "the reloaded strategies need topics this daemon is not subscribed to: {}; \
                 restart njord-strat to receive them",
                missing.join(", ")
            );
        }
    }

    /// Applies a change the watcher saw; one relaxed load per event otherwise.
    fn reload_if_changed(&mut self) -> Result<(), StageError> {
        let changed = &self.watcher.changed;
        if changed.load(Ordering::Relaxed) && changed.swap(false, Ordering::Acquire) {
            self.reload()?;
        }
        Ok(())
    }
}

impl Stage for StratStage {
    fn inputs(&self, _topics: &Topics) -> Vec<String> {
        let patterns = self.manager.input_patterns();
        *self.subscribed.borrow_mut() = Some(patterns.clone());
        patterns
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out) -> Result<(), StageError> {
        self.reload_if_changed()?;
        self.manager.on_event(ev, out);
        Ok(())
    }

    fn on_tick(&mut self, _now_ns: i64, _out: &mut Out) -> Result<(), StageError> {
        self.reload_if_changed()
    }

    fn on_reload(&mut self) -> Result<(), StageError> {
        tracing::info!("SIGHUP: reloading {}", self.path.display());
        self.reload()
    }

    fn on_end(&mut self, _out: &mut Out) -> Result<(), StageError> {
        let (refused, per_strategy) = self.manager.refused();
        if refused > 0 {
            tracing::warn!(
                refused,
                "{refused} events refused: their symbol was beyond strat.max_symbols"
            );
        }
        for (id, n) in per_strategy {
            tracing::warn!(
                strategy = id,
                refused = n,
                "strategy `{id}`: {n} events not run: their symbol was beyond \
                 strat.max_symbols_per_strategy"
            );
        }
        for (id, symbol, summary) in self.manager.summaries() {
            super::report_summary(id, symbol, &summary);
        }
        for (id, symbols) in self.manager.never_fed() {
            super::report_never_fed(id, symbols);
        }
        Ok(())
    }
}
