//! One active broker per venue account: a lease on Redis.
//!
//! The holder of `njord:broker:lease:{account}` may send orders; the value is
//! `{token}:{instance}`, where the fencing token comes from `INCR` on
//! `njord:broker:lease:{account}:token`, so every new holder has a larger one. A standby waits
//! for the key to be free; the holder renews it every third of `broker.lease_ms` and confirms
//! it, in one round trip, right before each order. A holder that finds another token there (it
//! was paused or cut off past the lease, and a standby took over) sends nothing more and stops.
//! A key that merely expired while nobody else took it is taken again under a new token: no
//! other broker can have sent in between.
//!
//! An instance is its host and journal directory, so a broker restarted after `kill -9` takes
//! its own lease back at once instead of waiting for it to expire.

use crate::bus::RedisBus;
use std::time::{Duration, Instant};

/// Takes the key when it is free or held by this instance: `{token, ""}`, else `{0, holder}`.
const ACQUIRE: &str = r"
local held = redis.call('GET', KEYS[1])
if held and string.match(held, '^%d+:(.*)$') ~= ARGV[1] then
  return {0, held}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return {token, ''}
";

/// Extends the key when it holds this value: `{1, ""}`; `{0, ""}` when it is gone, else
/// `{0, holder}`.
const RENEW: &str = r"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, ''}
end
return {0, held or ''}
";

/// Deletes the key when it still holds this value.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// What a confirmation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Still ours, under this fencing token.
    Mine(u64),
    /// Another broker holds it (`token:instance`): this one must send nothing more.
    Lost(String),
    /// Redis did not answer: whether it is ours is unknown.
    Unknown(String),
}

/// The lease of one account, held by this broker.
pub struct BrokerLease {
    redis: RedisBus,
    key: String,
    token_key: String,
    instance: String,
    ttl_ms: u64,
    token: u64,
    renewed: Instant,
}

impl BrokerLease {
    /// Waits, as a standby, until the account's lease is free (or this instance's own), then
    /// holds it. Tries every quarter of the lease.
    pub fn acquire(
        mut redis: RedisBus,
        account: &str,
        instance: &str,
        ttl_ms: u64,
    ) -> Result<BrokerLease, String> {
        let key = format!("njord:broker:lease:{account}");
        let token_key = format!("{key}:token");
        let mut said = false;
        loop {
            let (token, holder): (u64, String) = redis
                .with_conn(|c| {
                    redis::Script::new(ACQUIRE)
                        .key(&key)
                        .key(&token_key)
                        .arg(instance)
                        .arg(ttl_ms)
                        .invoke(c)
                })
                .map_err(|e| format!("broker lease {key}: {e}"))?;
            if token > 0 {
                tracing::info!(
                    token,
                    "broker lease {key} held: this broker is the active one"
                );
                return Ok(BrokerLease {
                    redis,
                    key,
                    token_key,
                    instance: instance.to_string(),
                    ttl_ms,
                    token,
                    renewed: Instant::now(),
                });
            }
            if !said {
                tracing::warn!(holder = %holder, "standby: broker lease {key} is held by another broker; waiting for it");
                said = true;
            }
            std::thread::sleep(Duration::from_millis((ttl_ms / 4).clamp(10, 1000)));
        }
    }

    /// The fencing token this broker holds the lease under.
    pub fn token(&self) -> u64 {
        self.token
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    fn value(&self) -> String {
        format!("{}:{}", self.token, self.instance)
    }

    /// Confirms (and extends) the lease: right before each order, and on ticks when a third of
    /// the lease has passed. A lease that expired with nobody else taking it is taken again.
    pub fn confirm(&mut self) -> Held {
        let value = self.value();
        let (key, ttl) = (self.key.clone(), self.ttl_ms);
        let renewed: Result<(u8, String), _> = self.redis.with_conn(|c| {
            redis::Script::new(RENEW)
                .key(&key)
                .arg(&value)
                .arg(ttl)
                .invoke(c)
        });
        match renewed {
            Ok((1, _)) => {
                self.renewed = Instant::now();
                Held::Mine(self.token)
            }
            Ok((_, holder)) if holder.is_empty() => self.take_again(),
            Ok((_, holder)) => Held::Lost(holder),
            Err(e) => Held::Unknown(e.to_string()),
        }
    }

    fn take_again(&mut self) -> Held {
        let (key, token_key, ttl) = (self.key.clone(), self.token_key.clone(), self.ttl_ms);
        let instance = self.instance.clone();
        let taken: Result<(u64, String), _> = self.redis.with_conn(|c| {
            redis::Script::new(ACQUIRE)
                .key(&key)
                .key(&token_key)
                .arg(&instance)
                .arg(ttl)
                .invoke(c)
        });
        match taken {
            Ok((token, _)) if token > 0 => {
                tracing::warn!(
                    old = self.token,
                    token,
                    "broker lease {key} had expired (this broker was paused or cut off) and nobody took it: held again"
                );
                self.token = token;
                self.renewed = Instant::now();
                Held::Mine(token)
            }
            Ok((_, holder)) => Held::Lost(holder),
            Err(e) => Held::Unknown(e.to_string()),
        }
    }

    /// On a tick: confirms the lease when a third of it has passed since the last time.
    pub fn renew_if_due(&mut self) -> Option<Held> {
        let due = self.renewed.elapsed() >= Duration::from_millis(self.ttl_ms / 3);
        due.then(|| self.confirm())
    }

    /// Frees the lease at a clean stop, so a standby takes over at once.
    pub fn release(&mut self) {
        let (key, value) = (self.key.clone(), self.value());
        let r: Result<i64, _> = self
            .redis
            .with_conn(|c| redis::Script::new(RELEASE).key(&key).arg(&value).invoke(c));
        match r {
            Ok(1) => tracing::info!("broker lease {key} released"),
            Ok(_) => {}
            Err(e) => tracing::warn!("broker lease {key} not released ({e}): it expires by itself"),
        }
    }
}
