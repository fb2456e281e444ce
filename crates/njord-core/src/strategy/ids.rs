//! Deterministic intent ids (DESIGN §6).
//!
//! Format: `{key:016x}-{ts:013}-{seq}` where
//! - `key` is FNV-1a 64 (16 hex digits) of the strategy id, the symbol, the class and the
//!   params (`name=value;` in name order), NUL-separated: the same configuration on the same
//!   event gives the same id, a changed configuration never reuses one,
//! - `ts` is the triggering event's `ts_ns` (as an unsigned 64-bit value) in base 36, zero
//!   padded to 13 digits, so ids of one (strategy, symbol) sort by time,
//! - `seq` counts, in base 36, the intents of that (strategy, symbol) at that same `ts_ns`
//!   (0 for the first), since several trades may share a timestamp.
//!
//! Example: `6f1c0d8c2a3b4e5f-0e2xnk9bw0c00-0`. Ids are 32 characters while `seq` < 36 and
//! at most 36 while `seq` < 36⁵, all of `[0-9a-z-]`, so they are valid Binance client order
//! ids as they are. The same tape gives the same ids in every run; a restart cannot reuse an
//! id for a different intent, because an id names the event time that caused it (replaying the
//! same event gives the same id again, which the risk engine treats as a duplicate).

/// FNV-1a 64 of `parts` joined by NUL bytes: the stable part of every id of a (strategy,
/// symbol) instance.
pub fn key(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        let sep = (i > 0).then_some(0u8);
        for b in sep.into_iter().chain(part.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// The id of the `seq`-th intent of the pair `key` at `ts_ns`.
pub fn intent_id(key: u64, ts_ns: i64, seq: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = String::with_capacity(36);
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{key:016x}-"));
    let mut ts = [b'0'; 13];
    // Two's complement keeps a (nonsensical) negative time distinct and well formed.
    let mut v = ts_ns as u64;
    for d in ts.iter_mut().rev() {
        *d = DIGITS[(v % 36) as usize];
        v /= 36;
    }
    s.extend(ts.iter().map(|&b| b as char));
    s.push('-');
    let mut seq_digits = Vec::with_capacity(4);
    let mut q = seq;
    loop {
        seq_digits.push(DIGITS[(q % 36) as usize]);
        q /= 36;
        if q == 0 {
            break;
        }
    }
    s.extend(seq_digits.iter().rev().map(|&b| b as char));
    s
}

/// Numbers the intents of one (strategy, symbol) pair within each event time.
#[derive(Debug, Clone)]
pub struct IdSeq {
    key: u64,
    last_ts: i64,
    next: u64,
}

impl IdSeq {
    /// Ids for the instance named by `parts` (strategy id, symbol, class, params).
    pub fn new(parts: &[&str]) -> Self {
        IdSeq {
            key: key(parts),
            last_ts: i64::MIN,
            next: 0,
        }
    }
    /// The id of the next intent caused by an event at `ts_ns`.
    pub fn next_id(&mut self, ts_ns: i64) -> String {
        if ts_ns != self.last_ts {
            self.last_ts = ts_ns;
            self.next = 0;
        }
        let id = intent_id(self.key, ts_ns, self.next);
        self.next += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= 36
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn ids_are_short_valid_sorted_and_distinct() {
        let mut s = IdSeq::new(&["rsi_tema_bb_atom", "ATOM/USDT"]);
        let a = s.next_id(1_700_000_000_000_000_000);
        let b = s.next_id(1_700_000_000_000_000_000);
        let c = s.next_id(1_700_000_000_000_000_001);
        assert!(a.ends_with("-0") && b.ends_with("-1") && c.ends_with("-0"));
        assert!(a < c && a != b);
        for id in [&a, &b, &c, &intent_id(u64::MAX, -1, 36u64.pow(5) - 1)] {
            assert!(valid(id), "{id}");
        }
        assert_eq!(a.len(), 32);
        let mut again = IdSeq::new(&["rsi_tema_bb_atom", "ATOM/USDT"]);
        assert_eq!(again.next_id(1_700_000_000_000_000_000), a);
        assert_ne!(
            IdSeq::new(&["x", "ATOM/USDT"]).next_id(1),
            IdSeq::new(&["x", "BTC/USDT"]).next_id(1)
        );
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
    }
}
