//! Token bucket in event time (`risk.orders_per_min_cap`).
//!
//! Kept in integer units of 1/60e9 token so that a refill of `cap/60` tokens per second is
//! exactly `cap` units per nanosecond: no rounding, no floats, the same answer on every run.

use crate::time::NS_PER_SEC;
use rust_decimal::Decimal;

/// Units per token: one minute in nanoseconds.
const UNITS_PER_TOKEN: u128 = 60 * NS_PER_SEC as u128;

/// One symbol's bucket. Starts full; time that goes backwards refills nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    units: u128,
    last_ns: i64,
}

impl TokenBucket {
    /// A full bucket of `cap` tokens at `now_ns`.
    pub fn full(cap: u32, now_ns: i64) -> Self {
        TokenBucket {
            units: u128::from(cap) * UNITS_PER_TOKEN,
            last_ns: now_ns,
        }
    }

    /// Refills for the event time elapsed since the last call, clamped to `cap` (which may
    /// have been lowered by a reload).
    fn refill(&mut self, cap: u32, now_ns: i64) {
        let max = u128::from(cap) * UNITS_PER_TOKEN;
        if now_ns > self.last_ns {
            let dt = (now_ns - self.last_ns) as u128;
            self.units = self.units.saturating_add(dt * u128::from(cap));
            self.last_ns = now_ns;
        }
        self.units = self.units.min(max);
    }

    /// Whether a token is available at `now_ns`, without spending it.
    pub fn has_token(&mut self, cap: u32, now_ns: i64) -> bool {
        self.refill(cap, now_ns);
        self.units >= UNITS_PER_TOKEN
    }

    /// The event time from which a token is available: now or past when one is, else when
    /// the refill of `cap` per minute brings the next.
    pub fn ready_at(&self, cap: u32) -> i64 {
        if self.units >= UNITS_PER_TOKEN || cap == 0 {
            return self.last_ns;
        }
        let missing = UNITS_PER_TOKEN - self.units;
        let wait = missing.div_ceil(u128::from(cap));
        self.last_ns
            .saturating_add(i64::try_from(wait).unwrap_or(i64::MAX))
    }

    /// Spends one token; call only after [`has_token`](Self::has_token) said yes.
    pub fn spend(&mut self) {
        self.units = self.units.saturating_sub(UNITS_PER_TOKEN);
    }

    /// Tokens left (after the last refill), to 6 decimals, for `caps`.
    pub fn tokens(&self) -> Decimal {
        let units = i128::try_from(self.units).unwrap_or(i128::MAX);
        (Decimal::from_i128_with_scale(units, 0) / Decimal::from(UNITS_PER_TOKEN as u64))
            .round_dp(6)
            .normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NS_PER_SEC;

    #[test]
    fn starts_full_and_refills_in_event_time() {
        let mut b = TokenBucket::full(2, 0);
        for _ in 0..2 {
            assert!(b.has_token(2, 0));
            b.spend();
        }
        assert!(!b.has_token(2, 0));
        assert_eq!(b.ready_at(2), 30 * S);
        // cap/60 = 1/30 token per second: one token after 30 s, not before.
        assert!(!b.has_token(2, 30 * S - 1));
        assert!(b.has_token(2, 30 * S));
        b.spend();
        // Going back in time refills nothing.
        assert!(!b.has_token(2, 10 * S));
        assert!(b.has_token(2, 60 * S));
        // Never above the cap, however long the pause.
        assert!(b.has_token(2, 1_000_000 * S));
        assert_eq!(b.tokens(), Decimal::from(2));
    }

    #[test]
    fn zero_cap_never_allows_and_lower_cap_clamps() {
        let mut b = TokenBucket::full(0, 0);
        assert!(!b.has_token(0, i64::MAX));
        let mut b = TokenBucket::full(10, 0);
        assert!(b.has_token(1, 0));
        assert_eq!(b.tokens(), Decimal::ONE);
    }

    #[test]
    fn fractional_tokens_are_shown() {
        let mut b = TokenBucket::full(1, 0);
        b.spend();
        assert!(!b.has_token(1, 20 * S));
        assert_eq!(b.tokens().to_string(), "0.333333");
    }
}
