//! The clock trait of the core, and the real clock the binaries run on.

pub use njord_core::clock::{Clock, ManualClock};

use std::time::{Duration, Instant};

/// The system's clocks: wall time for stamps, `Instant` for schedules, tokio for waiting (so
/// its sleeps must be awaited on a tokio runtime).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        crate::stage::wall_clock_ns()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    // The timer is made when first polled, so the future may be created off the runtime.
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}
