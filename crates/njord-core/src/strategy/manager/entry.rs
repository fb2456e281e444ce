//! One configured strategy as the manager runs it: its instances per symbol, its positions,
//! and why it failed.

use super::super::Strategy;
use super::super::exits::Book;
use super::super::ids::IdSeq;
use super::super::registry::{Class, Scope};
use super::file::{EventFilter, StrategyDef, event_filter};
use crate::config::Topics;
use crate::event::Kind;
use crate::topic::glob_match;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// One instance: of a symbol, or of every symbol for a [`Scope::Shared`] class.
pub(super) struct SymbolState {
    /// The symbol, or `*` for a shared instance.
    pub(super) symbol: String,
    pub(super) strategy: Box<dyn Strategy>,
    pub(super) ids: Ids,
    /// The position its intents make, for `exits` and `stake`.
    pub(super) book: Book,
}

/// The intent ids of an instance: a sequence per symbol of the events that cause intents (one
/// for a per-symbol instance). Each symbol's events come in time order, so a shared instance
/// fed several symbols at interleaved times never repeats an id, whatever symbols its intents
/// name.
pub(super) struct Ids {
    /// Strategy id, class and params text: with the symbol, the key of every id.
    parts: [String; 3],
    seqs: FxHashMap<String, IdSeq>,
}

impl Ids {
    /// The id of the next intent caused by an event of `symbol` at `ts_ns`.
    pub(super) fn next(&mut self, symbol: &str, ts_ns: i64) -> String {
        if let Some(seq) = self.seqs.get_mut(symbol) {
            return seq.next_id(ts_ns);
        }
        let [id, class, params] = &self.parts;
        let mut seq = IdSeq::new(&[id, symbol, class, params]);
        let next = seq.next_id(ts_ns);
        self.seqs.insert(symbol.to_owned(), seq);
        next
    }
}

/// A running (or failed) strategy.
pub(super) struct Entry {
    pub(super) def: StrategyDef,
    class: Class,
    pub(super) filters: Vec<EventFilter>,
    /// The params as `name=value;…`, part of every intent id's key.
    params_text: String,
    pub(super) states: Vec<SymbolState>,
    /// Index in `states` by symbol: a new symbol costs one lookup, whatever the count. Every
    /// symbol of a shared class points at its one instance.
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
            params_text: {
                let mut text: String = def
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}={v};"))
                    .collect();
                // An open class's own keys (a pair's legs, a program's params) count too.
                let extra = def.params.extra();
                if !extra.is_empty() {
                    text += &format!("extra={};", serde_json::Value::Object(extra.clone()));
                }
                text
            },
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

    /// The index of `symbol`'s instance, built on first use; `None` when the strategy runs on
    /// `max` symbols already.
    pub(super) fn state(&mut self, symbol: &str, max: usize) -> Result<Option<usize>, String> {
        if let Some(&i) = self.state_of.get(symbol) {
            return Ok(Some(i));
        }
        if self.state_of.len() >= max {
            return Ok(None);
        }
        let shared = self.class.scope == Scope::Shared;
        let i = if shared && !self.states.is_empty() {
            0
        } else {
            let strategy = (self.class.build)(&self.def.params)
                .map_err(|e| format!("params.{}: {}", e.key, e.msg))?;
            let symbol = if shared { "*" } else { symbol };
            self.states.push(SymbolState {
                symbol: symbol.to_owned(),
                strategy,
                ids: Ids {
                    parts: [
                        self.def.id.clone(),
                        self.def.class.clone(),
                        self.params_text.clone(),
                    ],
                    seqs: FxHashMap::default(),
                },
                book: Book::default(),
            });
            self.states.len() - 1
        };
        self.state_of.insert(symbol.to_owned(), i);
        Ok(Some(i))
    }

    /// Drops the instances of symbols no pattern of `symbols` matches any more (a shared
    /// instance stays, and stops receiving them).
    pub(super) fn retain_symbols(&mut self, symbols: &[String]) {
        let kept = |s: &str| symbols.iter().any(|p| glob_match(p, s));
        if self.class.scope == Scope::Shared {
            self.state_of.retain(|s, _| kept(s));
            return;
        }
        self.states.retain(|s| kept(&s.symbol));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared instance fed events of A at 100, B at 99, then A at 100 again (as a bus may
    /// interleave symbols) gives three ids, whatever symbols its intents name: the same as
    /// separate instances of A and B would.
    #[test]
    fn ids_count_per_symbol_whatever_the_interleaving() {
        let parts = || ["s".to_owned(), "exec".to_owned(), "p=1;".to_owned()];
        let mut shared = Ids {
            parts: parts(),
            seqs: FxHashMap::default(),
        };
        let got = [
            shared.next("A/USDT", 100),
            shared.next("B/USDT", 99),
            shared.next("A/USDT", 100),
        ];
        let mut a = IdSeq::new(&["s", "A/USDT", "exec", "p=1;"]);
        let mut b = IdSeq::new(&["s", "B/USDT", "exec", "p=1;"]);
        assert_eq!(got, [a.next_id(100), b.next_id(99), a.next_id(100)]);
        assert!(got[0] != got[2] && got[2].ends_with("-1"));
    }
}
