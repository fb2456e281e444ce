//! Reloads: switching a running manager to a new strategies file, and the report of what
//! changed.

use super::entry::Entry;
use super::{Manager, StrategyDef};
use std::collections::HashMap;

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub recreated: Vec<String>,
    pub kept: Vec<String>,
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let l = |v: &[String]| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                v.join(",")
            }
        };
        write!(
            f,
            "added {}; removed {}; re-created {}; kept {}",
            l(&self.added),
            l(&self.removed),
            l(&self.recreated),
            l(&self.kept)
        )
    }
}

impl Manager {
    /// Switches to a new set of definitions (already validated): new ones start, missing
    /// ones stop, a changed class, params or events re-creates that strategy, and the others
    /// keep their state (a change of symbols only drops the instances no longer matched).
    /// A strategy disabled by a failure stays disabled unless its entry changed.
    pub fn apply(&mut self, defs: Vec<StrategyDef>) -> ReloadReport {
        let mut report = ReloadReport::default();
        let mut old: HashMap<String, Entry> = self
            .entries
            .drain(..)
            .map(|e| (e.def.id.clone(), e))
            .collect();
        for def in defs.into_iter().filter(|d| d.enabled) {
            let Some(class) = self.registry.get(&def.class).copied() else {
                continue;
            };
            let entry = match old.remove(&def.id) {
                Some(mut e)
                    if e.def.class == def.class
                        && e.def.params == def.params
                        && e.def.events == def.events =>
                {
                    if e.def.symbols != def.symbols {
                        e.retain_symbols(&def.symbols);
                        e.def.symbols = def.symbols;
                    }
                    // New exit rules and sizing apply to the positions kept.
                    e.def.exits = def.exits;
                    e.def.stake = def.stake;
                    e.def.exec = def.exec;
                    report.kept.push(e.def.id.clone());
                    e
                }
                Some(e) => {
                    report.recreated.push(def.id.clone());
                    let mut fresh = Entry::new(def, class, &self.topics);
                    fresh.positions = e.positions;
                    fresh
                }
                None => {
                    report.added.push(def.id.clone());
                    Entry::new(def, class, &self.topics)
                }
            };
            self.entries.push(entry);
        }
        let mut removed: Vec<String> = old.into_keys().collect();
        removed.sort();
        report.removed = removed;
        self.forget_routes();
        report
    }
}
