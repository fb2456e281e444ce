//! Venue client order ids derived from intent ids (DESIGN §6, §9.4).
//!
//! The same intent always maps to the same id, so a resend after a lost answer is recognised
//! by the venue; different intents never share one. Binance accepts `^[a-zA-Z0-9-_]{1,36}$`.
//! An intent id that already fits is used as is (readable in the venue's UI); any other is
//! replaced by `njh-` and 128 bits of its SHA-256 in hex. Truncation is never used: the
//! Python version cut ids to 36 characters, so two intents sharing a prefix collided. Ids
//! that fit but start with `njh-` are hashed too, so the two forms can never meet.

use sha2::{Digest, Sha256};

/// Longest client order id the venue accepts.
pub const MAX_LEN: usize = 36;
/// Marks a hashed id.
pub const HASH_PREFIX: &str = "njh-";

/// Whether `s` is a valid venue client order id.
pub fn is_valid(s: &str) -> bool {
    (1..=MAX_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client order id of an intent.
pub fn client_order_id(intent_id: &str) -> String {
    hashed(intent_id).unwrap_or_else(|| intent_id.to_string())
}

/// The client order id of an intent when it is not the intent id itself: the hashed form.
pub fn hashed(intent_id: &str) -> Option<String> {
    if is_valid(intent_id) && !intent_id.starts_with(HASH_PREFIX) {
        return None;
    }
    let digest = Sha256::digest(intent_id.as_bytes());
    let mut id = String::with_capacity(MAX_LEN);
    id.push_str(HASH_PREFIX);
    id.push_str(&hex::encode(&digest[..(MAX_LEN - HASH_PREFIX.len()) / 2]));
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_ids_pass_long_ids_hash_without_collisions() {
        assert_eq!(client_order_id("ema-ATOMUSDT-42"), "ema-ATOMUSDT-42");
        let a = "strategy-with-a-long-name:ATOM/USDT:000000001";
        let b = "strategy-with-a-long-name:ATOM/USDT:000000002";
        let (ca, cb) = (client_order_id(a), client_order_id(b));
        assert_ne!(ca, cb, "a shared 36-char prefix must not collide");
        assert!(is_valid(&ca) && ca.len() == MAX_LEN && ca.starts_with(HASH_PREFIX));
        assert_eq!(ca, client_order_id(a), "deterministic");
        // Invalid characters and the empty id are hashed, as is a forged hash-looking id.
        assert!(is_valid(&client_order_id("a/b")));
        assert!(is_valid(&client_order_id("")));
        assert_ne!(client_order_id(&ca), ca);
    }

    proptest! {
        #[test]
        fn always_valid_and_injective(a in ".{0,60}", b in ".{0,60}") {
            let (ca, cb) = (client_order_id(&a), client_order_id(&b));
            prop_assert!(is_valid(&ca));
            prop_assert_eq!(a == b, ca == cb);
        }
    }
}
