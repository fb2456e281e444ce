//! One configured strategy as the manager runs it: its instances per symbol, its positions,
//! and why it failed.

use super::super::Strategy;
use super::super::ids::IdSeq;
use super::super::registry::Class;
use super::file::{EventFilter, StrategyDef, event_filter};
use crate::config::Topics;
use crate::event::Kind;
use crate::topic::glob_match;
use rust_decimal::Decimal;
use std::collections::HashMap;

pub(super) struct SymbolState {
    pub(super) symbol: String,
    pub(super) strategy: Box<dyn Strategy>,
    pub(super) ids: IdSeq,
}

/// A running (or failed) strategy.
pub(super) struct Entry {
    pub(super) def: StrategyDef,
    class: Class,
    pub(super) filters: Vec<EventFilter>,
    /// The params as `name=value;…`, part of every intent id's key.
    params_text: String,
    pub(super) states: Vec<SymbolState>,
    pub(super) positions: HashMap<String, Decimal>,
    /// Why it was disabled, after a panic or an error.
    pub(super) failed: Option<String>,
}

impl Entry {
    pub(super) fn new(def: StrategyDef, class: Class, topics: &Topics) -> Self {
        Entry {
            // Validated when the file was parsed.
            filters: def
                .events
                .iter()
                .filter_map(|e| event_filter(e, topics).ok())
                .collect(),
            params_text: def
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v};"))
                .collect(),
            def,
            class,
            states: Vec::new(),
            positions: HashMap::new(),
            failed: None,
        }
    }

    pub(super) fn wants(&self, kind: Kind, topic: &str, symbol: &str) -> bool {
        self.failed.is_none()
            && self.def.symbols.iter().any(|s| glob_match(s, symbol))
            && self.filters.iter().any(|f| match f {
                EventFilter::Kind(k) => *k == kind,
                EventFilter::Topic(p) => glob_match(p, topic),
            })
    }

    /// The index of `symbol`'s instance, built on first use.
    pub(super) fn state(&mut self, symbol: &str) -> Result<usize, String> {
        if let Some(i) = self.states.iter().position(|s| s.symbol == symbol) {
            return Ok(i);
        }
        let strategy = (self.class.build)(&self.def.params)
            .map_err(|e| format!("params.{}: {}", e.key, e.msg))?;
        self.states.push(SymbolState {
            symbol: symbol.to_owned(),
            strategy,
            ids: IdSeq::new(&[&self.def.id, symbol, &self.def.class, &self.params_text]),
        });
        Ok(self.states.len() - 1)
    }

    pub(super) fn fail(&mut self, reason: String) {
        tracing::error!(
            strategy = %self.def.id,
            "strategy `{}` failed and is disabled (the others continue): {reason}",
            self.def.id
        );
        self.states.clear();
        self.failed = Some(reason);
    }
}
