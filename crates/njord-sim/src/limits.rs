//! Rate limits as Binance.US enforces them: request weight per minute (429 with
//! `Retry-After`, then a 418 ban for a client that keeps going), order counts per 10 s and
//! per day, and the WebSocket inbound message rate. Time is always an argument.

use super::ApiError;
use njord::venue::binanceus::errors;

#[derive(Debug, Clone, PartialEq)]
pub struct LimitConfig {
    pub weight_per_min: u32,
    pub orders_per_10s: u32,
    pub orders_per_day: u32,
    /// Requests answered 429 in one window before the IP is banned.
    pub ban_after: u32,
    pub ban_ms: i64,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            weight_per_min: 1200,
            orders_per_10s: 100,
            orders_per_day: 200_000,
            ban_after: 5,
            ban_ms: 120_000,
        }
    }
}

/// The verdict on one request's weight.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ok {
        used: u32,
    },
    /// 429: `Retry-After` seconds until the window resets.
    TooMany {
        used: u32,
        retry_after_s: i64,
    },
    /// 418 until `until_ms`.
    Banned {
        until_ms: i64,
        retry_after_s: i64,
    },
}

/// A fixed window counter (Binance resets its counters on interval boundaries).
#[derive(Debug, Clone, Default, PartialEq)]
struct Window {
    start: i64,
    count: u32,
}

impl Window {
    /// Moves to the window holding `now`; true when that is a new window.
    fn roll(&mut self, now: i64, len: i64) -> bool {
        let start = now.div_euclid(len) * len;
        let new = start != self.start;
        if new {
            self.start = start;
            self.count = 0;
        }
        new
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    cfg: LimitConfig,
    weight: Window,
    violations: u32,
    banned_until: i64,
    orders_10s: Window,
    orders_day: Window,
}

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

impl Limits {
    pub fn new(cfg: LimitConfig) -> Self {
        Limits {
            cfg,
            weight: Window::default(),
            violations: 0,
            banned_until: 0,
            orders_10s: Window::default(),
            orders_day: Window::default(),
        }
    }

    pub fn config(&self) -> &LimitConfig {
        &self.cfg
    }

    /// Counts a request of `weight` at `now` (ms).
    pub fn request(&mut self, weight: u32, now: i64) -> Verdict {
        if now < self.banned_until {
            return Verdict::Banned {
                until_ms: self.banned_until,
                retry_after_s: (self.banned_until - now + 999) / 1000,
            };
        }
        if self.weight.roll(now, MINUTE) {
            self.violations = 0;
        }
        self.weight.count = self.weight.count.saturating_add(weight);
        let used = self.weight.count;
        if used <= self.cfg.weight_per_min {
            return Verdict::Ok { used };
        }
        self.violations += 1;
        if self.violations > self.cfg.ban_after {
            self.violations = 0;
            self.banned_until = now + self.cfg.ban_ms;
            return Verdict::Banned {
                until_ms: self.banned_until,
                retry_after_s: (self.cfg.ban_ms + 999) / 1000,
            };
        }
        Verdict::TooMany {
            used,
            retry_after_s: (self.weight.start + MINUTE - now + 999) / 1000,
        }
    }

    /// The weight used in the current minute.
    pub fn used_weight(&mut self, now: i64) -> u32 {
        self.weight.roll(now, MINUTE);
        self.weight.count
    }

    /// Whether `n` more orders fit (an OCO list is two); -1015 when a count is exhausted.
    pub fn check_orders(&mut self, n: u32, now: i64) -> Result<(), ApiError> {
        self.orders_10s.roll(now, 10_000);
        self.orders_day.roll(now, DAY);
        if self.orders_10s.count + n > self.cfg.orders_per_10s {
            return Err(too_many_orders(self.cfg.orders_per_10s, "10 SECOND"));
        }
        if self.orders_day.count + n > self.cfg.orders_per_day {
            return Err(too_many_orders(self.cfg.orders_per_day, "1 DAY"));
        }
        Ok(())
    }

    /// Counts `n` accepted orders (rejected ones do not count).
    pub fn record_orders(&mut self, n: u32, now: i64) {
        self.orders_10s.roll(now, 10_000);
        self.orders_day.roll(now, DAY);
        self.orders_10s.count += n;
        self.orders_day.count += n;
    }

    /// (orders in this 10 s window, orders today), for `X-MBX-ORDER-COUNT-*`.
    pub fn order_counts(&mut self, now: i64) -> (u32, u32) {
        self.orders_10s.roll(now, 10_000);
        self.orders_day.roll(now, DAY);
        (self.orders_10s.count, self.orders_day.count)
    }
}

fn too_many_orders(limit: u32, per: &str) -> ApiError {
    ApiError::new(
        429,
        errors::TOO_MANY_ORDERS,
        format!("Too many new orders; current limit is {limit} orders per {per}."),
    )
}

/// Inbound WebSocket messages per second on one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MsgRate {
    window: Window,
}

impl MsgRate {
    /// Counts one inbound message; false once the connection is over `limit` per second.
    pub fn allow(&mut self, limit: u32, now: i64) -> bool {
        self.window.roll(now, 1000);
        self.window.count += 1;
        self.window.count <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_then_429_then_ban() {
        let mut l = Limits::new(LimitConfig {
            weight_per_min: 10,
            ban_after: 2,
            ..LimitConfig::default()
        });
        let t = 60_000 * 1000 + 5_000;
        assert_eq!(l.request(10, t), Verdict::Ok { used: 10 });
        assert!(matches!(
            l.request(1, t),
            Verdict::TooMany {
                retry_after_s: 55,
                ..
            }
        ));
        assert!(matches!(l.request(1, t), Verdict::TooMany { .. }));
        assert!(matches!(l.request(1, t), Verdict::Banned { .. }));
        assert!(matches!(l.request(1, t + 60_000), Verdict::Banned { .. }));
        assert_eq!(l.request(1, t + 121_000), Verdict::Ok { used: 1 });
    }

    #[test]
    fn orders_and_messages() {
        let mut l = Limits::new(LimitConfig {
            orders_per_10s: 2,
            ..LimitConfig::default()
        });
        for t in [0, 1] {
            l.check_orders(1, t).unwrap();
            l.record_orders(1, t);
        }
        assert_eq!(
            l.check_orders(1, 2).unwrap_err().code,
            errors::TOO_MANY_ORDERS
        );
        assert_eq!(l.order_counts(3), (2, 2));
        assert!(l.check_orders(1, 10_000).is_ok());
        let mut r = MsgRate::default();
        assert!((0..5).all(|i| r.allow(5, 100 + i)));
        assert!(!r.allow(5, 900));
        assert!(r.allow(5, 1000));
    }
}
