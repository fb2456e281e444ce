//! Time as the shells read it, injected: the system clock in production, a [`ManualClock`] in
//! tests, so code that stamps events, keeps schedules or waits is tested without waiting.
//!
//! The trait lives here so cores and shells share it; reading the real clock is the shells'
//! business (`njord::clock::SystemClock`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub trait Clock {
    /// Wall time in ns since the Unix epoch: what events are stamped with.
    fn now_ns(&self) -> i64;
    /// Time since a fixed origin. It never steps back, unlike wall time, so schedules and
    /// deadlines use it.
    fn monotonic(&self) -> Duration;
    /// Waits `d`. A manual clock moves forward by `d` instead.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// A clock that moves only when advanced or slept on. Clones share one time, so a test keeps
/// a clone to move the clock of the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start_ns: i64,
    elapsed_ns: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock whose wall time reads `now_ns` until it moves.
    pub fn starting_at(now_ns: i64) -> Self {
        ManualClock {
            start_ns: now_ns,
            elapsed_ns: Arc::default(),
        }
    }

    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.elapsed_ns.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        let elapsed = i64::try_from(self.elapsed_ns.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
        self.start_ns.saturating_add(elapsed)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.elapsed_ns.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        self.advance(d);
        std::future::ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Waker};

    #[test]
    fn manual_time_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::starting_at(1_000);
        let seen_by_code = clock.clone();
        assert_eq!((clock.now_ns(), clock.monotonic()), (1_000, Duration::ZERO));
        clock.advance(Duration::from_nanos(500));
        // Sleeping moves the clock; the future has nothing left to wait for.
        let mut slept = std::pin::pin!(seen_by_code.sleep(Duration::from_secs(2)));
        let poll = slept.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll.is_ready());
        assert_eq!(seen_by_code.now_ns(), 2_000_001_500);
        assert_eq!(clock.monotonic(), Duration::from_nanos(2_000_000_500));
    }
}
