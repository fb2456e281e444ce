//! The outbox: every message is written (and synced) to disk before it is sent, and marked
//! sent once its channel accepted it, so an alert survives a crash, a restart or a channel
//! that is down, and is retried until delivered. One NDJSON file, appended only:
//! `{"op":"queued","item":{…}}` and `{"op":"sent","id":"…"}`.

use super::Notice;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One message for one channel. `id` is the idempotency key the receiver sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub channel: String,
    pub notice: Notice,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    Queued { item: Item },
    Sent { id: String },
}

pub struct Outbox {
    path: PathBuf,
    file: File,
}

impl Outbox {
    /// Opens (creating) the outbox and returns the messages not yet sent, in queue order.
    pub fn open(path: &Path) -> Result<(Outbox, Vec<Item>), String> {
        let shown = path.display();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut pending: BTreeMap<String, (usize, Item)> = BTreeMap::new();
        if let Ok(f) = File::open(path) {
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| format!("{shown}: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Record>(&line) {
                    Ok(Record::Queued { item }) => {
                        pending.entry(item.id.clone()).or_insert((n, item));
                    }
                    Ok(Record::Sent { id }) => {
                        pending.remove(&id);
                    }
                    // A line cut short by a crash mid-write: its message was never
                    // acknowledged as queued, so nothing is lost by skipping it.
                    Err(e) => tracing::warn!("{shown}:{}: {e}; skipped", n + 1),
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{shown}: {e}"))?;
        // After a torn last line, start a fresh one: the next record must not join it.
        let torn = std::fs::read(path)
            .map(|b| b.last().is_some_and(|c| *c != b'\n'))
            .unwrap_or(false);
        if torn {
            file.write_all(b"\n").map_err(|e| format!("{shown}: {e}"))?;
        }
        let mut items: Vec<(usize, Item)> = pending.into_values().collect();
        items.sort_by_key(|(n, _)| *n);
        let outbox = Outbox {
            path: path.to_path_buf(),
            file,
        };
        Ok((outbox, items.into_iter().map(|(_, i)| i).collect()))
    }

    fn append(&mut self, r: &Record) -> Result<(), String> {
        let mut line = serde_json::to_vec(r).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Records `item` as queued, durably, before anyone may send it.
    pub fn queue(&mut self, item: &Item) -> Result<(), String> {
        self.append(&Record::Queued { item: item.clone() })
    }

    /// Records that `id`'s channel accepted it.
    pub fn sent(&mut self, id: &str) -> Result<(), String> {
        self.append(&Record::Sent { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::State;

    fn item(id: &str) -> Item {
        Item {
            id: id.into(),
            channel: "ops".into(),
            notice: Notice {
                id: id.into(),
                rule: "r".into(),
                key: String::new(),
                severity: "critical".into(),
                state: State::Firing,
                summary: "s".into(),
                starts_at_ns: 1,
                at_ns: 2,
            },
        }
    }

    #[test]
    fn what_was_queued_and_not_sent_comes_back_in_order_after_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.outbox.ndjson");
        let (mut o, pending) = Outbox::open(&path).unwrap();
        assert!(pending.is_empty());
        for id in ["a", "b", "c"] {
            o.queue(&item(id)).unwrap();
        }
        o.sent("b").unwrap();
        drop(o);
        // A crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"queued","item":{"id":"d""#).unwrap();
        let (mut o, pending) = Outbox::open(&path).unwrap();
        let ids: Vec<&str> = pending.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        // Records after the torn line stand on their own.
        o.sent("a").unwrap();
        let (_, pending) = Outbox::open(&path).unwrap();
        assert_eq!(pending.len(), 1);
    }
}
