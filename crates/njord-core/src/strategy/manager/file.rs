//! The strategies file: its entries, validated against the registry's classes and the
//! topics, and why a file is refused.

use super::super::exits::{Exits, Stake};
use super::super::registry::{Params, Registry};
use crate::config::Topics;
use crate::event::Kind;
use serde_json::Value;
use std::collections::HashSet;

/// One validated entry of the strategies file.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyDef {
    pub id: String,
    pub class: String,
    pub enabled: bool,
    pub symbols: Vec<String>,
    /// As written in the file.
    pub events: Vec<String>,
    pub params: Params,
    /// Exit rules the manager applies to every entry (`exits:`).
    pub exits: Option<Exits>,
    /// How entries are sized (`stake:`), instead of the strategy's own quantity.
    pub stake: Option<Stake>,
    /// The execution algorithm of the strategy's own intents (`exec:`, as an intent's
    /// `exec`); exits go out at once.
    pub exec: Option<crate::event::ExecSpec>,
}

/// Why a strategies file was refused. Messages name the file, the strategy and the key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {msg}")]
    Syntax { path: String, msg: String },
    #[error("{path}: {place}: key `{key}`: {msg}")]
    Key {
        path: String,
        /// `strategy `id`` or `strategies[i]` when the entry has no usable id.
        place: String,
        key: String,
        msg: String,
    },
}

/// Reads the text of a strategies file; `path` is only used in messages.
pub fn parse(
    text: &str,
    path: &str,
    registry: &Registry,
    topics: &Topics,
) -> Result<Vec<StrategyDef>, LoadError> {
    let key_err = |place: &str, key: &str, msg: String| LoadError::Key {
        path: path.to_owned(),
        place: place.to_owned(),
        key: key.to_owned(),
        msg,
    };
    let root: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str(text).map_err(|e| LoadError::Syntax {
            path: path.to_owned(),
            msg: e.to_string(),
        })?
    };
    let list = match &root {
        Value::Object(m) => {
            if let Some(k) = m.keys().find(|k| k.as_str() != "strategies") {
                return Err(key_err(
                    "top level",
                    k,
                    "unknown key; the file holds one list, `strategies`".into(),
                ));
            }
            match m.get("strategies") {
                Some(Value::Array(a)) => a.as_slice(),
                Some(Value::Null) | None => &[],
                Some(_) => {
                    return Err(key_err(
                        "top level",
                        "strategies",
                        "expected a list of strategies".into(),
                    ));
                }
            }
        }
        Value::Null => &[],
        _ => {
            return Err(key_err(
                "top level",
                "strategies",
                "expected a mapping with a `strategies` list".into(),
            ));
        }
    };
    let mut defs = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (i, entry) in list.iter().enumerate() {
        let def = parse_entry(i, entry, registry, topics)
            .map_err(|(place, key, msg)| key_err(&place, &key, msg))?;
        if !seen.insert(def.id.clone()) {
            return Err(key_err(
                &format!("strategies[{i}]"),
                "id",
                format!("duplicate id `{}`; ids must be unique", def.id),
            ));
        }
        defs.push(def);
    }
    Ok(defs)
}

type EntryError = (String, String, String);

fn parse_entry(
    i: usize,
    entry: &Value,
    registry: &Registry,
    topics: &Topics,
) -> Result<StrategyDef, EntryError> {
    let mut place = format!("strategies[{i}]");
    let err = |place: &str, key: &str, msg: String| (place.to_owned(), key.to_owned(), msg);
    let Value::Object(m) = entry else {
        return Err(err(&place, "(entry)", "expected a mapping".into()));
    };
    let id = match m.get("id") {
        Some(Value::String(s)) if valid_id(s) => s.clone(),
        Some(v) => {
            return Err(err(
                &place,
                "id",
                format!("expected 1 to 64 characters of [A-Za-z0-9_.:-], found `{v}`"),
            ));
        }
        None => return Err(err(&place, "id", "required".into())),
    };
    place = format!("strategy `{id}`");
    const KEYS: [&str; 9] = [
        "id", "class", "enabled", "symbols", "events", "params", "exits", "stake", "exec",
    ];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(
            &place,
            k,
            format!("unknown key (known: {})", KEYS.join(", ")),
        ));
    }
    let class_name = match m.get("class") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(err(
                &place,
                "class",
                format!("expected a name, found `{v}`"),
            ));
        }
        None => return Err(err(&place, "class", "required".into())),
    };
    let Some(class) = registry.get(&class_name) else {
        let known: Vec<_> = registry.classes().iter().map(|c| c.name).collect();
        return Err(err(
            &place,
            "class",
            format!(
                "unknown class `{class_name}` (known: {}; see njord-strat --list)",
                known.join(", ")
            ),
        ));
    };
    let enabled = match m.get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(err(
                &place,
                "enabled",
                format!("expected true or false, found `{v}`"),
            ));
        }
    };
    let list = |key: &str| -> Result<Vec<String>, EntryError> {
        match m.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(j, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                    _ => Err(err(
                        &place,
                        &format!("{key}[{j}]"),
                        format!("expected a non-empty string, found `{v}`"),
                    )),
                })
                .collect(),
            Some(Value::Array(_)) => Err(err(&place, key, "the list is empty".into())),
            Some(v) => Err(err(&place, key, format!("expected a list, found `{v}`"))),
            None => Err(err(&place, key, "required (a non-empty list)".into())),
        }
    };
    let symbols = list("symbols")?;
    let events = list("events")?;
    for (j, e) in events.iter().enumerate() {
        event_filter(e, topics).map_err(|msg| err(&place, &format!("events[{j}]"), msg))?;
    }
    let empty = serde_json::Map::new();
    let raw = match m.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(v) => {
            return Err(err(
                &place,
                "params",
                format!("expected a mapping, found `{v}`"),
            ));
        }
    };
    let params = class.params(raw).map_err(|e| {
        let key = if e.key.is_empty() {
            "params".to_owned()
        } else {
            format!("params.{}", e.key)
        };
        err(&place, &key, e.msg)
    })?;
    let exits = m
        .get("exits")
        .filter(|v| !v.is_null())
        .map(Exits::parse)
        .transpose()
        .map_err(|(key, msg)| err(&place, &key, msg))?;
    let stake = m
        .get("stake")
        .filter(|v| !v.is_null())
        .map(Stake::parse)
        .transpose()
        .map_err(|(key, msg)| err(&place, &key, msg))?;
    if class.scope == super::super::registry::Scope::Shared
        && let Some(key) = ["exits", "stake"]
            .into_iter()
            .find(|k| m.get(*k).is_some_and(|v| !v.is_null()))
    {
        let msg = format!(
            "class `{class_name}` runs one instance for all its symbols and manages its own \
             positions; `{key}` applies to strategies of one symbol"
        );
        return Err(err(&place, key, msg));
    }
    let exec = match m.get("exec") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            crate::exec::spec::Spec::parse(e).map_err(|(key, msg)| err(&place, &key, msg))?;
            Some(e.clone().into())
        }
        Some(v) => {
            let msg =
                format!("expected a mapping such as {{algo: twap, duration: 10m}}, found `{v}`");
            return Err(err(&place, "exec", msg));
        }
    };
    Ok(StrategyDef {
        id,
        class: class_name,
        enabled,
        symbols,
        events,
        params,
        exits,
        stake,
        exec,
    })
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// What an `events` entry selects.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum EventFilter {
    /// `trade` or `bar`: every topic of that kind (subscriptions narrowed to the symbols).
    Kind(Kind),
    /// A topic glob.
    Topic(String),
}

pub(super) fn event_filter(e: &str, topics: &Topics) -> Result<EventFilter, String> {
    match e {
        "trade" => return Ok(EventFilter::Kind(Kind::Trade)),
        "bar" => return Ok(EventFilter::Kind(Kind::Bar)),
        _ => {}
    }
    let wild = e.find(['*', '?', '[', '\\']);
    let ok = match wild {
        None => matches!(topics.kind_of(e), Some(Kind::Trade | Kind::Bar)),
        Some(w) => [Kind::Trade, Kind::Bar].into_iter().any(|k| {
            let pat = topics.pattern(k);
            let fixed = &pat[..pat.find('*').unwrap_or(pat.len())];
            let head = &e[..w];
            fixed.starts_with(head) || head.starts_with(fixed)
        }),
    };
    if ok {
        Ok(EventFilter::Topic(e.to_owned()))
    } else {
        Err(format!(
            "`{e}` matches no trade or bar topic; use `trade`, `bar` or a topic pattern such \
             as `{}` or `{}`",
            topics.pattern(Kind::Trade),
            topics.pattern(Kind::Bar)
        ))
    }
}
