//! Capped exponential backoff: with jitter for reconnects ([`Backoff`]), without for the
//! retries of one request ([`RetryPolicy`]).
//!
//! Pure: the caller supplies the random draw, so the schedule is testable and cores stay
//! deterministic; shells pass `rand::random()`.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
        }
    }

    /// The cap for the current attempt: `base × 2^attempt`, at most `max`.
    pub fn ceiling(&self) -> Duration {
        doubled(self.base, self.attempt, self.max)
    }

    /// The next delay, "equal jitter": half the ceiling plus `unit` (in [0, 1)) of the other
    /// half, so reconnecting clients spread out but never retry at once.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let c = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        c / 2 + c.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }

    /// Attempts made since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Call after a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// How many times to try one request and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), or `None` when out of
    /// attempts. A `Retry-After` from the venue wins over `base × 2^(attempt−1)` (capped).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        Some(retry_after.unwrap_or_else(|| doubled(self.base, attempt.saturating_sub(1), self.max)))
    }
}

/// `base × 2^n`, at most `max`, without overflow.
fn doubled(base: Duration, n: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_cap_and_honour_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        let ds: Vec<_> = (1..=5)
            .map(|a| p.delay(a, None).map(|d| d.as_millis()))
            .collect();
        assert_eq!(ds, [Some(100), Some(200), Some(350), Some(350), None]);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn doubles_up_to_the_cap_with_jitter_in_range() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let lows: Vec<_> = (0..6).map(|_| b.next_delay(0.0).as_millis()).collect();
        assert_eq!(lows, [50, 100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(1.0).as_millis(), 100);
        for _ in 0..100 {
            assert!(b.next_delay(0.999) <= Duration::from_millis(1000));
        }
    }
}
