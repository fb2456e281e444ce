//! User data stream keys: created, kept alive, closed, and expired after their TTL.

use super::{ApiError, Sim};
use njord::venue::binanceus::errors;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct ListenKeys {
    ttl_ms: i64,
    /// key → expiry (ms).
    keys: BTreeMap<String, i64>,
    created: u64,
}

fn unknown() -> ApiError {
    ApiError::bad(errors::INVALID_LISTEN_KEY, "This listenKey does not exist.")
}

impl ListenKeys {
    pub fn new(ttl_ms: i64) -> Self {
        ListenKeys {
            ttl_ms,
            keys: BTreeMap::new(),
            created: 0,
        }
    }

    /// A new 60-character key, derived from a counter so runs are reproducible.
    pub fn create(&mut self, now: i64) -> String {
        self.created += 1;
        let digest = Sha256::digest(format!("njord-sim listen key {}", self.created));
        let key: String = hex::encode(digest)
            .chars()
            .zip("pqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".chars().cycle())
            .map(|(h, l)| if h.is_ascii_digit() { h } else { l })
            .take(60)
            .collect();
        self.keys.insert(key.clone(), now + self.ttl_ms);
        key
    }

    pub fn keepalive(&mut self, key: &str, now: i64) -> Result<(), ApiError> {
        let exp = self.keys.get_mut(key).ok_or_else(unknown)?;
        *exp = now + self.ttl_ms;
        Ok(())
    }

    pub fn close(&mut self, key: &str) -> Result<(), ApiError> {
        self.keys.remove(key).map(|_| ()).ok_or_else(unknown)
    }

    pub fn is_valid(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// Removes and returns the keys expired at `now` (all of them with `all`).
    pub fn expire(&mut self, now: i64, all: bool) -> Vec<String> {
        let gone: Vec<String> = self
            .keys
            .iter()
            .filter(|(_, exp)| all || **exp <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.keys.remove(k);
        }
        gone
    }
}

/// Expires keys once a second and tells their streams.
pub async fn expiry_task(sim: Arc<Sim>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let now = sim.now_ms();
        let gone = sim.lock().keys.expire(now, false);
        for k in gone {
            sim.hub.expire_listen_key(&k, now).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let mut k = ListenKeys::new(1000);
        let a = k.create(0);
        assert_eq!(a.len(), 60);
        assert_ne!(a, k.create(0));
        k.keepalive(&a, 500).unwrap();
        assert_eq!(k.expire(1200, false).len(), 1);
        assert!(k.is_valid(&a));
        assert_eq!(
            k.keepalive("nope", 0).unwrap_err().code,
            errors::INVALID_LISTEN_KEY
        );
        k.close(&a).unwrap();
        assert!(!k.is_valid(&a));
    }
}
