//! Eight bytes at a time: the scans behind the trade fast path ([`crate::event`]) and plain
//! decimals ([`crate::num`]). Fields of a trade line are short, so testing a `u64` word per
//! step costs a few instructions where a byte loop costs a branch per byte, and a vector
//! search costs its set-up.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `b` at `at`, first byte lowest.
fn word(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .and_then(|c| c.try_into().ok())
        .map(u64::from_le_bytes)
}

/// Flags (high bit) bytes of `w` below `n` (`n` ≤ 0x80). Only the lowest flag is exact — a
/// borrow can flag a byte above a true one — and the lowest is all callers read.
fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Flags bytes of `w` equal to `c`, lowest flag exact as in [`below`].
fn equal(w: u64, c: u8) -> u64 {
    below(w ^ (ONES * u64::from(c)), 1)
}

/// Where a JSON string without escapes ends: the index of the first `"`, `\` or control
/// character (< 0x20) of `b`, whichever comes first.
#[inline(always)]
pub fn string_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = word(b, i) {
        let hit = equal(w, b'"') | equal(w, b'\\') | below(w, 0x20);
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|c| *c == b'"' || *c == b'\\' || *c < 0x20)
        .map(|n| i + n)
}

/// The value of eight digit bytes (`'0'..='9'`, or zero bytes as leading zeros), the first
/// the most significant (simdjson's reduction).
fn eight_digits(w: u64) -> u64 {
    let w = (w & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let w = (w & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (w & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// How many of the bytes of `w`, from the first, are ASCII digits (0 to 8).
fn digit_run(w: u64) -> usize {
    // Digits become 0..=9; a byte from 10 up (or with its high bit set) flags as a non-digit.
    let d = w ^ (ONES * u64::from(b'0'));
    let non_digit = (d.wrapping_add(ONES * 0x76) | d) & HIGHS;
    (non_digit.trailing_zeros() / 8) as usize
}

/// Powers of ten that fit a `u64` with room for a digit more: 10^0 to 10^18.
pub const POW10: [u64; 19] = {
    let mut p = [1u64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The value of the ASCII digits `b` starts with, reading at most `max` (≤ 19, so the value
/// fits a `u64`) of them, and how many were read.
#[inline(always)]
pub fn digits(b: &[u8], max: usize) -> (u64, usize) {
    debug_assert!(max <= 19);
    let mut v = 0u64;
    let mut n = 0;
    while let Some(w) = word(b, n) {
        let k = digit_run(w).min(max - n);
        if k == 0 {
            return (v, n);
        }
        // The run moved to the top of the word: the bytes below read as leading zeros.
        v = v * POW10[k] + eight_digits(w << (64 - 8 * k));
        n += k;
        if k < 8 {
            return (v, n);
        }
    }
    // The last few bytes of the input, one at a time.
    while n < max {
        match b.get(n) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + u64::from(c - b'0');
                n += 1;
            }
            _ => break,
        }
    }
    (v, n)
}

/// `a == b` for short strings (symbols), inline: two overlapping words per side from eight
/// bytes up, where `==` calls `memcmp`, which costs more than the comparison itself on the
/// per-trade symbol lookups.
#[inline]
pub fn same_short(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if !(8..=16).contains(&n) {
        return a == b;
    }
    word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_end(b: &[u8]) -> Option<usize> {
        b.iter()
            .position(|c| *c == b'"' || *c == b'\\' || *c < 0x20)
    }

    fn naive_digits(b: &[u8], max: usize) -> (u64, usize) {
        let n = b
            .iter()
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count();
        (
            b[..n].iter().fold(0, |v, c| v * 10 + u64::from(c - b'0')),
            n,
        )
    }

    #[test]
    fn known_cases() {
        assert_eq!(string_end(b"ATOM/USDT\",\"trade_id\""), Some(9));
        assert_eq!(string_end(b"abc"), None);
        assert_eq!(string_end(b"a\\\"b"), Some(1));
        assert_eq!(string_end(b"\xc3\xa9t\xc3\xa9 \x01"), Some(6));
        assert_eq!(
            digits(b"1700000000016000000,", 19),
            (1_700_000_000_016_000_000, 19)
        );
        assert_eq!(
            digits(b"99999999999999999999", 19),
            (9_999_999_999_999_999_999, 19)
        );
        assert_eq!(digits(b"12345678:", 19), (12_345_678, 8));
        assert_eq!(digits(b"x", 19), (0, 0));
        assert_eq!(digits(b"123456789", 4), (1234, 4));
    }

    proptest! {
        #[test]
        fn same_short_is_equality(a in "[A-Z/]{0,20}", flip in 0usize..20) {
            prop_assert!(same_short(&a, &a.clone()));
            let mut b = a.clone().into_bytes();
            if let Some(c) = b.get_mut(flip) {
                *c = b'x';
            }
            let b = String::from_utf8(b).unwrap();
            prop_assert_eq!(same_short(&a, &b), a == b);
        }

        /// Bytes drawn mostly from the interesting ones, so every branch is hit.
        #[test]
        fn scans_agree_with_byte_loops(
            b in proptest::collection::vec(
                prop_oneof![
                    4 => 0x30u8..0x3a,
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                    1 => 0x80u8..=0xff,
                    2 => any::<u8>(),
                ],
                0..40,
            ),
            max in 0usize..=19,
        ) {
            prop_assert_eq!(string_end(&b), naive_end(&b));
            prop_assert_eq!(digits(&b, max), naive_digits(&b, max));
        }
    }
}
