//! The local order book of one symbol, kept in sync with Binance's `@depth` diff stream and a
//! REST snapshot. I/O-free: the shell fetches snapshots when told and feeds every event in.
//!
//! Binance.US documents how to manage a local order book correctly:
//!
//! > 1. Open a stream to wss://stream.binance.us:9443/ws/bnbbtc@depth
//! > 2. Buffer the events you receive from the stream
//! > 3. Get a depth snapshot from https://api.binance.us/api/v3/depth?symbol=BNBBTC&limit=1000
//! > 4. Drop any event where `u` is <= `lastUpdateId` in the snapshot
//! > 5. The first processed event should have `U` <= `lastUpdateId`+1 AND `u` >= `lastUpdateId`+1
//! > 6. While listening to the stream, each new event's `U` should be equal to the previous
//! >    event's `u`+1
//! > 7. The data in each event is the absolute quantity for a price level
//! > 8. If the quantity is 0, remove the price level
//! > 9. Receiving an event that removes a price level that is not in your local order book
//! >    can happen and is normal.
//!
//! and Binance's current spot documentation adds two rules this sequencer also follows:
//!
//! > If the `lastUpdateId` from the snapshot is strictly less than the `U` from step 2, go
//! > back to step 3.
//!
//! > If the event first update ID (`U`) is greater than the update ID of your local order
//! > book + 1, you have missed some events. Discard your local order book and restart the
//! > process from the beginning.
//!
//! With rule 4 applied first (an event is stale when `u` <= the book's id), rules 5 and 6 both
//! reduce to "`U` <= id + 1", which is why [`BookSync::on_update`] has one test for both.

use crate::event::Level;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

/// A REST depth snapshot (`GET /api/v3/depth`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// One `@depth` event, owned so it can wait in the buffer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// `U`.
    pub first: u64,
    /// `u`.
    pub last: u64,
    /// Event time, ms.
    pub time_ms: i64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// What an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The book changed.
    Applied,
    /// Rule 4: the book already includes it.
    Stale,
    /// Waiting for a snapshot; `fetch` says one must be requested now (rule 3).
    Buffered { fetch: bool },
    /// Events were missed (`U` > id + 1): the book was discarded and a snapshot must be
    /// fetched; the event waits in the buffer.
    Gap { expected: u64, got: u64 },
}

/// What a snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStep {
    /// The book is live; `applied` buffered events were replayed on top.
    Synced { applied: usize },
    /// Older than the first buffered event: fetch another (rule "go back to step 3").
    TooOld {
        last_update_id: u64,
        first_buffered: u64,
    },
    /// A buffered event did not connect to the snapshot: fetch another.
    Gap { expected: u64, got: u64 },
    /// A check of a live book (after a reconnect): the book was current; nothing changed.
    Current,
    /// A check of a live book found it behind (updates were lost with a connection): the
    /// snapshot replaced it.
    CaughtUp { had: u64, now: u64 },
}

/// The depth sequencer and local book of one symbol.
#[derive(Debug, Clone)]
pub struct BookSync {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    /// The book's update id; `None` while waiting for a snapshot.
    id: Option<u64>,
    buffer: VecDeque<Update>,
    /// A snapshot has been asked for and not yet delivered.
    fetching: bool,
    max_buffer: usize,
}

impl BookSync {
    /// `max_buffer` bounds the events kept while a snapshot is on its way; the oldest go
    /// first, which rule 4 would drop anyway once the snapshot is newer.
    pub fn new(max_buffer: usize) -> Self {
        BookSync {
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            id: None,
            buffer: VecDeque::new(),
            fetching: false,
            max_buffer: max_buffer.max(1),
        }
    }

    /// Whether the book is live (a snapshot applied, no gap since).
    pub fn is_synced(&self) -> bool {
        self.id.is_some()
    }

    /// The book's update id, when live.
    pub fn update_id(&self) -> Option<u64> {
        self.id
    }

    /// Handles one diff event.
    pub fn on_update(&mut self, u: Update) -> Step {
        match self.id {
            None => self.buffer_event(u),
            Some(id) => self.step_live(id, u),
        }
    }

    /// Rules 4 to 6 against a live book at update id `id`.
    fn step_live(&mut self, id: u64, u: Update) -> Step {
        if u.last <= id {
            return Step::Stale;
        }
        let expected = id.saturating_add(1);
        if u.first > expected {
            let got = u.first;
            self.discard();
            let _ = self.buffer_event(u);
            return Step::Gap { expected, got };
        }
        self.apply(&u);
        Step::Applied
    }

    /// Handles the snapshot asked for by [`Step::Buffered`] or [`Step::Gap`], or one fetched
    /// to check a live book after a reconnect: updates lost with the old connection only
    /// show as a gap at the next update, which a quiet market may not send for a long time.
    pub fn on_snapshot(&mut self, s: Snapshot) -> SnapshotStep {
        if let Some(id) = self.id {
            if s.last_update_id <= id {
                return SnapshotStep::Current;
            }
            // Rules 4 to 6 hold from the snapshot on: updates up to its id are stale.
            self.load(&s);
            return SnapshotStep::CaughtUp {
                had: id,
                now: s.last_update_id,
            };
        }
        self.fetching = false;
        if let Some(first) = self.buffer.front().map(|u| u.first)
            && s.last_update_id < first
        {
            self.fetching = true;
            return SnapshotStep::TooOld {
                last_update_id: s.last_update_id,
                first_buffered: first,
            };
        }
        self.load(&s);
        let mut applied = 0;
        while let (Some(id), Some(u)) = (self.id, self.buffer.pop_front()) {
            match self.step_live(id, u) {
                Step::Applied => applied += 1,
                Step::Gap { expected, got } => {
                    self.fetching = true;
                    return SnapshotStep::Gap { expected, got };
                }
                Step::Stale | Step::Buffered { .. } => {}
            }
        }
        SnapshotStep::Synced { applied }
    }

    /// Forgets the book and starts over from rule 2 (after a snapshot request failed, say).
    pub fn reset(&mut self) {
        self.discard();
        self.buffer.clear();
    }

    /// The snapshot request failed; the next event asks again.
    pub fn snapshot_failed(&mut self) {
        self.fetching = false;
    }

    /// The best `n` levels a side: bids high to low, asks low to high.
    pub fn top(&self, n: usize) -> (Vec<Level>, Vec<Level>) {
        let lv = |(p, q): (&Decimal, &Decimal)| Level { price: *p, qty: *q };
        (
            self.bids.iter().rev().take(n).map(lv).collect(),
            self.asks.iter().take(n).map(lv).collect(),
        )
    }

    fn load(&mut self, s: &Snapshot) {
        self.bids.clear();
        self.asks.clear();
        for l in s.bids.iter().filter(|l| !l.qty.is_zero()) {
            self.bids.insert(l.price, l.qty);
        }
        for l in s.asks.iter().filter(|l| !l.qty.is_zero()) {
            self.asks.insert(l.price, l.qty);
        }
        self.id = Some(s.last_update_id);
    }

    fn discard(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.id = None;
    }

    fn buffer_event(&mut self, u: Update) -> Step {
        if self.buffer.len() == self.max_buffer {
            self.buffer.pop_front();
        }
        self.buffer.push_back(u);
        let fetch = !self.fetching;
        self.fetching = true;
        Step::Buffered { fetch }
    }

    fn apply(&mut self, u: &Update) {
        fn set(side: &mut BTreeMap<Decimal, Decimal>, levels: &[Level]) {
            for l in levels {
                if l.qty.is_zero() {
                    side.remove(&l.price);
                } else {
                    side.insert(l.price, l.qty);
                }
            }
        }
        set(&mut self.bids, &u.bids);
        set(&mut self.asks, &u.asks);
        self.id = Some(u.last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(p: i64, q: i64) -> Level {
        Level {
            price: Decimal::from(p),
            qty: Decimal::from(q),
        }
    }

    fn upd(first: u64, last: u64, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Update {
        Update {
            first,
            last,
            time_ms: 0,
            bids: bids.iter().map(|&(p, q)| lv(p, q)).collect(),
            asks: asks.iter().map(|&(p, q)| lv(p, q)).collect(),
        }
    }

    fn snap(id: u64) -> Snapshot {
        Snapshot {
            last_update_id: id,
            bids: vec![lv(9, 1), lv(8, 2)],
            asks: vec![lv(11, 1), lv(12, 2)],
        }
    }

    #[test]
    fn buffers_until_the_snapshot_and_asks_for_it_once() {
        let mut b = BookSync::new(100);
        assert_eq!(
            b.on_update(upd(99, 100, &[], &[])),
            Step::Buffered { fetch: true }
        );
        assert_eq!(
            b.on_update(upd(101, 101, &[(10, 5)], &[])),
            Step::Buffered { fetch: false }
        );
        assert!(!b.is_synced());
    }

    #[test]
    fn drops_events_the_snapshot_includes_and_applies_the_first_straddling_one() {
        let mut b = BookSync::new(100);
        b.on_update(upd(95, 98, &[(7, 7)], &[]));
        b.on_update(upd(99, 101, &[(9, 0)], &[(13, 3)]));
        b.on_update(upd(102, 102, &[(10, 5)], &[]));
        // Rule 4 drops 95..98; rule 5: 99..101 straddles 100 + 1.
        assert_eq!(
            b.on_snapshot(snap(100)),
            SnapshotStep::Synced { applied: 2 }
        );
        assert_eq!(b.update_id(), Some(102));
        let (bids, asks) = b.top(10);
        assert_eq!(bids, vec![lv(10, 5), lv(8, 2)]);
        assert_eq!(asks, vec![lv(11, 1), lv(12, 2), lv(13, 3)]);
        assert_eq!(b.top(1).0, vec![lv(10, 5)]);
    }

    #[test]
    fn first_event_must_straddle_the_snapshot() {
        let mut b = BookSync::new(100);
        b.on_update(upd(100, 100, &[], &[]));
        b.on_update(upd(103, 104, &[], &[]));
        assert_eq!(
            b.on_snapshot(snap(101)),
            SnapshotStep::Gap {
                expected: 102,
                got: 103
            }
        );
        assert!(!b.is_synced());
        // The event that did not connect waits for the next snapshot.
        assert_eq!(
            b.on_snapshot(snap(103)),
            SnapshotStep::Synced { applied: 1 }
        );
        assert_eq!(b.update_id(), Some(104));
    }

    #[test]
    fn snapshot_older_than_the_first_buffered_event_is_refetched() {
        let mut b = BookSync::new(100);
        b.on_update(upd(50, 51, &[], &[]));
        assert_eq!(
            b.on_snapshot(snap(49)),
            SnapshotStep::TooOld {
                last_update_id: 49,
                first_buffered: 50
            }
        );
        assert_eq!(b.on_snapshot(snap(50)), SnapshotStep::Synced { applied: 1 });
    }

    #[test]
    fn live_sequencing_stale_gap_and_zero_quantities() {
        let mut b = BookSync::new(100);
        assert_eq!(b.on_snapshot(snap(10)), SnapshotStep::Synced { applied: 0 });
        assert_eq!(
            b.on_update(upd(11, 12, &[(8, 0), (6, 0)], &[])),
            Step::Applied
        );
        assert_eq!(
            b.top(5).0,
            vec![lv(9, 1)],
            "qty 0 removes; unknown level is fine"
        );
        assert_eq!(b.on_update(upd(12, 12, &[(1, 1)], &[])), Step::Stale);
        assert_eq!(b.on_update(upd(5, 9, &[], &[])), Step::Stale);
        assert_eq!(b.on_update(upd(13, 13, &[], &[(20, 1)])), Step::Applied);
        assert_eq!(
            b.on_update(upd(15, 16, &[], &[])),
            Step::Gap {
                expected: 14,
                got: 15
            }
        );
        assert!(!b.is_synced() && b.top(5).0.is_empty());
        assert_eq!(
            b.on_update(upd(17, 17, &[], &[])),
            Step::Buffered { fetch: false },
            "the gap already asked for a snapshot"
        );
        assert_eq!(b.on_snapshot(snap(16)), SnapshotStep::Synced { applied: 1 });
    }

    #[test]
    fn a_live_book_checked_after_a_reconnect_catches_up_or_stays() {
        let mut b = BookSync::new(10);
        b.on_snapshot(snap(10));
        b.on_update(upd(11, 12, &[(10, 1)], &[]));
        assert_eq!(b.on_snapshot(snap(12)), SnapshotStep::Current);
        assert_eq!(b.top(1).0, vec![lv(10, 1)]);
        assert_eq!(
            b.on_snapshot(snap(20)),
            SnapshotStep::CaughtUp { had: 12, now: 20 }
        );
        assert_eq!(b.top(1).0, vec![lv(9, 1)]);
        assert_eq!(b.on_update(upd(15, 20, &[], &[])), Step::Stale);
        assert_eq!(b.on_update(upd(21, 21, &[], &[])), Step::Applied);
    }

    #[test]
    fn buffer_is_bounded_and_failed_fetches_are_retried() {
        let mut b = BookSync::new(2);
        for i in 1..=5 {
            b.on_update(upd(i, i, &[], &[]));
        }
        b.snapshot_failed();
        assert_eq!(
            b.on_update(upd(6, 6, &[], &[])),
            Step::Buffered { fetch: true }
        );
        assert_eq!(b.on_snapshot(snap(5)), SnapshotStep::Synced { applied: 1 });
        b.reset();
        assert!(!b.is_synced());
    }
}
