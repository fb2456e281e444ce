//! One configured strategy as the manager runs it: its instances per symbol, its positions,
//! and why it failed.

use super::super::Strategy;
use super::super::exits::Book;
use super::super::ids::IdSeq;
use super::super::registry::Class;
use super::file::{EventFilter, StrategyDef, event_filter};
use crate::config::Topics;
use crate::event::Kind;
use crate::topic::glob_match;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

pub(super) struct SymbolState {
    pub(super) symbol: String,
    pub(super) strategy: Box<dyn Strategy>,
    pub(super) ids: IdSeq,
    /// The position its intents make, for `exits` and `stake`.
    pub(super) book: Book,
}

/// A running (or failed) strategy.
pub(super) struct Entry {
    pub(super) def: StrategyDef,
    class: Class,
    pub(super) filters: Vec<EventFilter>,
    /// The params as `name=value;…`, part of every intent id's key.
    params_text: String,
    pub(super) states: Vec<SymbolState>,
    /// Index in `states` by symbol: a new symbol costs one lookup, whatever the count.
    pub(super) state_of: FxHashMap<String, usize>,
    pub(super) positions: HashMap<String, Decimal>,
    /// Why it was disabled, after a panic or an error.
    pub(super) failed: Option<String>,
    /// Events that did not reach it: their symbol was beyond `max_symbols_per_strategy`.
    pub(super) refused: u64,
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
            state_of: FxHashMap::default(),
            positions: HashMap::new(),
            failed: None,
            refused: 0,
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

    /// The index of `symbol`'s instance, built on first use; `None` when `max` instances run
    /// already.
    pub(super) fn state(&mut self, symbol: &str, max: usize) -> Result<Option<usize>, String> {
        if let Some(&i) = self.state_of.get(symbol) {
            return Ok(Some(i));
        }
        if self.states.len() >= max {
            return Ok(None);
        }
        let strategy = (self.class.build)(&self.def.params)
            .map_err(|e| format!("params.{}: {}", e.key, e.msg))?;
        self.states.push(SymbolState {
            symbol: symbol.to_owned(),
            strategy,
            ids: IdSeq::new(&[&self.def.id, symbol, &self.def.class, &self.params_text]),
            book: Book::default(),
        });
        self.state_of
            .insert(symbol.to_owned(), self.states.len() - 1);
        Ok(Some(self.states.len() - 1))
    }

    /// Drops the instances of symbols no pattern of `symbols` matches any more.
    pub(super) fn retain_symbols(&mut self, symbols: &[String]) {
        self.states
            .retain(|s| symbols.iter().any(|p| glob_match(p, &s.symbol)));
        self.state_of = self
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol.clone(), i))
            .collect();
    }

    pub(super) fn fail(&mut self, reason: String) {
        tracing::error!(
            strategy = %self.def.id,
            "strategy `{}` failed and is disabled (the others continue): {reason}",
            self.def.id
        );
        self.states.clear();
        self.state_of.clear();
        self.failed = Some(reason);
    }
}
