//! The outbox: every message is written (and synced) to disk before it is sent, and marked
//! sent once its channel accepted it, so an alert survives a crash, a restart or a channel
//! that is down, and is retried until delivered. One NDJSON file, appended to:
//! `{"op":"queued","item":{…}}`, `{"op":"sent","id":"…"}`, and
//! `{"op":"folded","ids":[…],"into":"…"}` when a rate limit's summary took messages over.
//! Once most of its records are settled, the file is rewritten with the pending messages only
//! (a temporary file, synced, renamed over it), so it does not grow without end.

use super::Notice;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Records the file may hold before it is compacted (when most of them are settled).
const COMPACT_AT: usize = 1_000;

/// One message for one channel. `id` is the idempotency key the receiver sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub channel: String,
    pub notice: Notice,
    /// A summary's messages: what the channel's rate limit held back, sent as one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folded: Vec<Notice>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    Queued { item: Item },
    Sent { id: String },
    Folded { ids: Vec<String>, into: String },
}

pub struct Outbox {
    path: PathBuf,
    file: File,
    /// The messages not yet settled, by id, with their place in the queue.
    pending: BTreeMap<String, (u64, Item)>,
    next: u64,
    /// Records in the file.
    records: usize,
}

impl Outbox {
    /// Opens (creating) the outbox and returns the messages not yet sent, in queue order.
    pub fn open(path: &Path) -> Result<(Outbox, Vec<Item>), String> {
        let shown = path.display();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut pending: BTreeMap<String, (u64, Item)> = BTreeMap::new();
        let mut records = 0;
        if let Ok(f) = File::open(path) {
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| format!("{shown}: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                records += 1;
                match serde_json::from_str::<Record>(&line) {
                    Ok(Record::Queued { item }) => {
                        pending.entry(item.id.clone()).or_insert((n as u64, item));
                    }
                    Ok(Record::Sent { id }) => {
                        pending.remove(&id);
                    }
                    Ok(Record::Folded { ids, .. }) => {
                        for id in ids {
                            pending.remove(&id);
                        }
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
        let next = pending.values().map(|(n, _)| n + 1).max().unwrap_or(0);
        let mut outbox = Outbox {
            path: path.to_path_buf(),
            file,
            pending,
            next,
            records,
        };
        outbox.compact_if_settled()?;
        let items = outbox_items(&outbox.pending);
        Ok((outbox, items))
    }

    fn append(&mut self, r: &Record) -> Result<(), String> {
        let mut line = serde_json::to_vec(r).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.records += 1;
        Ok(())
    }

    /// Records `item` as queued, durably, before anyone may send it.
    pub fn queue(&mut self, item: &Item) -> Result<(), String> {
        self.append(&Record::Queued { item: item.clone() })?;
        self.pending
            .insert(item.id.clone(), (self.next, item.clone()));
        self.next += 1;
        Ok(())
    }

    /// Records that `id`'s channel accepted it.
    pub fn sent(&mut self, id: &str) -> Result<(), String> {
        self.append(&Record::Sent { id: id.to_string() })?;
        self.pending.remove(id);
        self.compact_if_settled()
    }

    /// Records that the summary `into` (queued before) carries the messages `ids`.
    pub fn folded(&mut self, ids: Vec<String>, into: &str) -> Result<(), String> {
        for id in &ids {
            self.pending.remove(id);
        }
        self.append(&Record::Folded {
            ids,
            into: into.to_string(),
        })
    }

    /// Rewrites the file with the pending messages only, once it holds [`COMPACT_AT`]
    /// records and most are settled. A crash leaves either the old file or the new one.
    fn compact_if_settled(&mut self) -> Result<(), String> {
        if self.records < COMPACT_AT || self.records < 4 * self.pending.len() {
            return Ok(());
        }
        let shown = self.path.display();
        let tmp = self.path.with_extension("ndjson.tmp");
        let mut body = Vec::new();
        for item in outbox_items(&self.pending) {
            serde_json::to_writer(&mut body, &Record::Queued { item })
                .map_err(|e| e.to_string())?;
            body.push(b'\n');
        }
        let write = || -> std::io::Result<File> {
            let mut f = File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                File::open(dir)?.sync_all()?;
            }
            OpenOptions::new().append(true).open(&self.path)
        };
        self.file = write().map_err(|e| format!("{shown}: compacting: {e}"))?;
        tracing::info!(
            settled = self.records - self.pending.len(),
            pending = self.pending.len(),
            "{shown}: compacted"
        );
        self.records = self.pending.len();
        Ok(())
    }
}

/// The pending messages in queue order.
fn outbox_items(pending: &BTreeMap<String, (u64, Item)>) -> Vec<Item> {
    let mut items: Vec<&(u64, Item)> = pending.values().collect();
    items.sort_by_key(|(n, _)| *n);
    items.into_iter().map(|(_, i)| i.clone()).collect()
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
            folded: Vec::new(),
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

    #[test]
    fn folded_messages_are_settled_and_a_settled_file_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert.outbox.ndjson");
        let (mut o, _) = Outbox::open(&path).unwrap();
        for id in ["a", "b"] {
            o.queue(&item(id)).unwrap();
        }
        let mut summary = item("s");
        summary.folded = vec![item("a").notice, item("b").notice];
        o.queue(&summary).unwrap();
        o.folded(vec!["a".into(), "b".into()], "s").unwrap();
        drop(o);
        let (mut o, pending) = Outbox::open(&path).unwrap();
        assert_eq!(pending, [summary.clone()]);
        // Many messages sent: the file is rewritten with the pending one only.
        for i in 0..COMPACT_AT {
            let id = format!("m{i}");
            o.queue(&item(&id)).unwrap();
            o.sent(&id).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() < 100, "{} lines", text.lines().count());
        o.queue(&item("late")).unwrap();
        drop(o);
        let (_, pending) = Outbox::open(&path).unwrap();
        let ids: Vec<&str> = pending.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["s", "late"]);
    }
}
